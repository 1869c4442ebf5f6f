"""The paper figure style, checked on the saved files: sizes, fonts, formats, step 0, diverged
runs, the round-off floor, RECON marking, one line per swept hyperparameter value."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from precond_theory import rules, run
from precond_theory.plotting import (WIDTHS, law_math, plot_convergence, plot_rate_check, round_off_floor,
                                     save_figure)
from precond_theory.problems import make_quadratic


def _table(lrs=(0.05, 0.1), diverge_one=False, rule="sgd", steps=60, seeds=4, index=0):
    """Batched run: lrs x seeds from distinct starts; optionally one run with a diverging step."""
    p = make_quadratic(6, 10.0, rotate=True, seed=1)
    x0 = np.asarray(p.x_star) + np.random.default_rng(0).standard_normal((1, seeds, 6))
    lr = np.repeat(np.asarray(lrs, dtype=float).reshape(-1, 1, 1), seeds, axis=1)
    if diverge_one:
        lr[0, 0, 0] = 1e6 / float(p.L)  # |1 - lr L| ~ 1e6 per step: overflows within about 50 steps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr = run(rules.make(rule, lr=lr), p, steps=steps, x0=x0, record="all")
    f = tr.to_frame()
    f["rule_index"] = index
    if diverge_one:  # the swept value is the nominal one: the outlier is one bad seed of it
        f["p_solver_lr"] = np.asarray(lrs, dtype=float)[np.unravel_index(f.run.to_numpy(), (len(lrs), seeds))[0]]
    return f


def _svg_font_sizes(svg: str) -> list[float]:
    return [float(v) for v in re.findall(r"font(?:-size)?:\s*(?:[a-z]+\s+)*([0-9.]+)px", svg)]


def _png_inches(path):
    from PIL import Image

    with Image.open(path) as im:
        dpi = im.info["dpi"]
        return im.size[0] / dpi[0], im.size[1] / dpi[1]


def _pdf_inches(path):
    m = re.search(rb"/MediaBox\s*\[\s*0 0 ([0-9.]+) ([0-9.]+)\s*\]", path.read_bytes())
    return float(m.group(1)) / 72, float(m.group(2)) / 72


@pytest.mark.parametrize("width", ["single", "double"])
def test_saved_files_have_paper_size_fonts_and_all_formats(tmp_path, width):
    ax = plot_convergence(_table(), metric="f_gap", width=width)
    out = save_figure(ax, tmp_path / "fig.png")
    assert out == tmp_path / "fig.png"
    for ext in ("pdf", "svg", "png"):
        assert (tmp_path / f"fig.{ext}").stat().st_size > 1000
    w = WIDTHS[width]
    assert _png_inches(tmp_path / "fig.png")[0] == pytest.approx(w, abs=0.01)
    pw, ph = _pdf_inches(tmp_path / "fig.pdf")
    assert pw == pytest.approx(w, abs=0.01) and 0.4 * w < ph < 1.5 * w
    svg = (tmp_path / "fig.svg").read_text()
    assert re.search(r'width="([0-9.]+)pt"', svg).group(1) == pytest.approx(w * 72, abs=0.5) or \
        float(re.search(r'width="([0-9.]+)pt"', svg).group(1)) == pytest.approx(w * 72, abs=0.5)
    sizes = _svg_font_sizes(svg)
    assert sizes, "SVG text must stay text (svg.fonttype = none) so fonts can be checked and edited"
    # print size: labels, ticks and legend at 8 pt, nothing above 9 pt, super/subscripts >= 5.5 pt
    values, counts = np.unique(sizes, return_counts=True)
    assert values[np.argmax(counts)] == pytest.approx(8.0)
    assert max(sizes) <= 9.0 and min(sizes) >= 5.5
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporary files


def test_step_zero_at_its_true_x():
    t = _table()
    ax = plot_convergence(t, metric="f_gap")  # log x: drawn against k + 1, and the axis says so
    x0 = min(float(np.asarray(line.get_xdata())[0]) for line in ax.get_lines() if len(line.get_xdata()) > 1)
    assert x0 == 1.0 and "k + 1" in ax.get_xlabel() and ax.get_xscale() == "log"
    ax = plot_convergence(t, metric="f_gap", logx=False)
    x0 = min(float(np.asarray(line.get_xdata())[0]) for line in ax.get_lines() if len(line.get_xdata()) > 1)
    assert x0 == 0.0 and "k + 1" not in ax.get_xlabel()


def test_diverged_run_is_marked_and_keeps_median_and_axis(tmp_path):
    t = _table(lrs=(0.1,), diverge_one=True)
    assert (t.groupby("run").diverged_at.first() >= 0).sum() == 1
    ax = plot_convergence(t, metric="f_gap")
    marks = [ln for ln in ax.get_lines() if ln.get_gid() == "diverged"]
    assert len(marks) == 1
    d = int(t.diverged_at.max())
    assert float(np.asarray(marks[0].get_xdata())[0]) == d + 1
    med = [ln for ln in ax.get_lines() if ln.get_gid() != "diverged"][0]
    y = np.asarray(med.get_ydata(), dtype=float)
    assert np.isfinite(y[-1]) and y[-1] < y[0]  # 3 of 4 runs converge: the median is drawn to the end
    lo, hi = ax.get_ylim()
    assert hi < 1e3 * y[0] and ax.get_xlim()[1] > 50  # neither the axis nor the x range collapses
    legend = ax.figure.legends[0] if ax.figure.legends else ax.get_legend()
    texts = [tx.get_text() for tx in legend.get_texts()]
    assert any("1/4 diverged" in s for s in texts) and any("diverged" == s.split(" (")[0] for s in texts)
    save_figure(ax, tmp_path / "div.svg")
    assert 'id="diverged' in (tmp_path / "div.svg").read_text()
    # a table without any diverged run has no mark
    ax = plot_convergence(_table(lrs=(0.1,)), metric="f_gap")
    assert not [ln for ln in ax.get_lines() if ln.get_gid() == "diverged"]


def test_log_axis_cut_at_round_off_floor():
    t = _table(lrs=(0.1,), steps=400)
    y = t.objective_f_gap.to_numpy()
    ymin = np.nanmin(y[y > 0])
    fl = round_off_floor(t.pivot(index="stop_val", columns="run", values="objective_f_gap").to_numpy())
    eps = np.finfo(np.float64).eps
    s = np.median(t[t.stop_val == 0].objective_f_gap)
    assert fl == pytest.approx(1e3 * eps ** 2 * s) and ymin < fl / 10  # the runs go below round-off
    ax = plot_convergence(t, metric="f_gap")
    assert ax.get_ylim()[0] == pytest.approx(fl / 2)
    ax = plot_convergence(t, metric="f_gap", floor=None)  # explicitly uncut
    assert ax.get_ylim()[0] == pytest.approx(ymin / 2)
    ax = plot_convergence(t, metric="f_gap", dtype="float32")
    assert ax.get_ylim()[0] > 1e-12


def test_recon_rule_dashed_and_labelled_and_sweep_lines_per_value():
    t = pd.concat([_table(lrs=(0.05, 0.1, 0.2), index=0),
                   _table(lrs=(0.01,), rule="adamrag", index=1, steps=30)], ignore_index=True)
    ax = plot_convergence(t, metric="f_gap")
    legend = ax.figure.legends[0] if ax.figure.legends else ax.get_legend()
    texts = [tx.get_text() for tx in legend.get_texts()]
    assert texts == ["sgd, lr = 0.05", "sgd, lr = 0.1", "sgd, lr = 0.2", "adamrag (RECON)"]
    lines = [ln for ln in ax.get_lines() if ln.get_label() in texts]
    styles = [ln.get_linestyle() for ln in lines]
    assert styles[-1] == "--" and "--" not in styles[:-1] and len(set(styles[:-1])) == 3
    assert len({ln.get_color() for ln in lines}) == 4
    # explicit grouping: nothing swept -> one line per rule, the median over all its runs
    ax = plot_convergence(t, metric="f_gap", group_by=[])
    assert len([ln for ln in ax.get_lines() if ln.get_gid() != "diverged"]) == 2


def test_bad_arguments_are_refused(tmp_path):
    t = _table()
    with pytest.raises(ValueError, match="metric 'nope'"):
        plot_convergence(t, metric="nope")
    with pytest.raises(ValueError, match="group_by"):
        plot_convergence(t, group_by=["p_solver_missing"])
    with pytest.raises(TypeError, match="group_by"):
        plot_convergence(t, group_by="p_solver_lr")
    with pytest.raises(ValueError, match="width"):
        plot_convergence(t, width="triple")
    with pytest.raises(ValueError, match="quantiles"):
        plot_convergence(t, quantiles=(0.7, 0.3))
    ax = plot_convergence(t)
    with pytest.raises(ValueError, match="path must end"):
        save_figure(ax, tmp_path / "fig.jpg")
    with pytest.raises(ValueError, match="formats"):
        save_figure(ax, tmp_path / "fig.png", formats=("eps",))
    with pytest.raises(TypeError, match="Figure or Axes"):
        save_figure("not a figure", tmp_path / "fig.png")


def _legend_texts(ax):
    legend = ax.figure.legends[0] if ax.figure.legends else ax.get_legend()
    return [tx.get_text() for tx in legend.get_texts()]


def test_rate_check_figure_clips_laws_and_uses_math_text(tmp_path):
    from precond_theory.claims import get_claim
    from precond_theory.rates import check_claim

    rc = check_claim("heavy_ball_quadratic", steps=700)
    ax = plot_rate_check(rc)
    lo, hi = ax.get_ylim()
    assert lo > 1e-40 and hi < 1e3  # the claimed line does not drag the axis to 1e-80
    legend = ax.figure.legends[0] if ax.figure.legends else ax.get_legend()
    texts = [tx.get_text() for tx in legend.get_texts()]
    assert not any("**" in s for s in texts) and any(r"\sqrt{\kappa}" in s for s in texts)
    save_figure(ax, tmp_path / "hb.pdf")
    assert {p.suffix for p in tmp_path.iterdir()} == {".pdf", ".svg", ".png"}
    assert law_math(get_claim("gd_convex")) == "$O(k^{-1})$"
    assert any(s.startswith("fit: order") for s in _legend_texts(plot_rate_check(check_claim("sgd_nonconvex"))))
    # decided by the explicit bound (attained at k = 100): the fit is labelled as not deciding
    tight = check_claim("gd_convex_tight")
    assert "(not deciding)" in tight.reason
    assert any(s.startswith("fit (not deciding): order") for s in _legend_texts(plot_rate_check(tight)))
    assert law_math(get_claim("adam_type_nonconvex")) == r"$O(k^{-0.5}\,(\log k))$"
    assert law_math(get_claim("adagrad_regret")) == "$O(T^{0.5})$"


def test_line_styles_stay_distinct_beyond_the_palette():
    """Eight regularization kinds in one legend: the eighth line must not repeat the first (the
    palette has seven colours); in greyscale, line style and marker tell the first 24 apart."""
    from precond_theory.plotting import line_style

    def key(st, *fields):
        return tuple(str(st[f]) for f in fields)

    styles = [line_style(i) for i in range(56)]
    assert len({key(s, "color", "marker") for s in styles}) == 56
    assert len({key(s, "ls", "marker") for s in styles[:24]}) == 24
    assert all(s["ls"] != "--" for s in styles)  # dashed is RECON's
    assert line_style(3, "RECON")["ls"] == "--"


def test_gaps_at_round_off_keep_the_log_axis_and_real_negatives_do_not():
    """A gap f - f* that reaches f* in floating point records 0 or a tiny negative number; when
    that is 12% of the records (soaa_faster_than_adam's logistic regression) the axis stays
    logarithmic.  Values that are negative beyond round-off still give a linear axis."""
    t = _table(lrs=(0.1,), steps=200)
    last = t.stop_val >= t.stop_val.quantile(0.85)
    s = float(np.median(t[t.stop_val == 0].objective_f_gap))
    eps = np.finfo(np.float64).eps
    at_f_star = t.copy()
    at_f_star.loc[last, "objective_f_gap"] = np.where(np.arange(last.sum()) % 2, 0.0, -3 * eps * s)
    assert (at_f_star.objective_f_gap <= 0).mean() > 0.1
    assert plot_convergence(at_f_star, metric="f_gap").get_yscale() == "log"
    below = t.copy()
    below.loc[last, "objective_f_gap"] = -1e-3 * s  # a wrong f*, not round-off
    assert plot_convergence(below, metric="f_gap").get_yscale() == "linear"
