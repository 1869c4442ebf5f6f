r"""The project's one figure style for papers, and saving figures as PDF + SVG + PNG.

The base style is SciencePlots' ``science`` + ``no-latex`` (no LaTeX needed at runtime; math
text through matplotlib's mathtext) with Paul Tol's colour-blind-safe ``bright`` palette.  On top
of it, the few settings a paper figure needs and SciencePlots leaves open:

* widths of one column (3.25 in) and of a full page (6.75 in), :data:`WIDTHS`;
* fonts at print size: 8 pt everywhere, 9 pt for titles (:data:`FONT_PT`, :data:`TITLE_PT`);
* constrained layout and no ``bbox_inches="tight"`` on save, so a saved figure has exactly the
  size asked for;
* SVG text kept as text (``svg.fonttype = "none"``) and TrueType fonts embedded in PDFs.

Each line of a figure gets a colour, a line style and a marker from :func:`line_style` (so that
lines stay distinguishable in greyscale); the dashed style is reserved for rules whose fidelity
is RECON (reconstructed from an abstract), which also get "(RECON)" in their label.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["WIDTHS", "FONT_PT", "TITLE_PT", "PALETTE", "FORMATS", "paper_style", "paper_figure", "line_style",
           "fidelity_label", "metric_label", "machine_eps", "metric_scale", "round_off_floor", "save_figure",
           "format_value"]

#: Figure widths in inches: one column and a full page (two columns) of a two-column paper.
WIDTHS = {"single": 3.25, "double": 6.75}
#: Font size (points) of labels, ticks and legends; titles use :data:`TITLE_PT`.
FONT_PT = 8.0
TITLE_PT = 9.0
#: Paul Tol's "bright" scheme (colour-blind safe), the order of SciencePlots' ``bright`` style.
PALETTE = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB")
#: Line styles for non-RECON lines (dashed is reserved for RECON rules) and markers.  The three
#: periods (7 colours, 6 line styles, 8 markers) are coprime in pairs up to a factor 2, so no two
#: of the first 56 lines share a colour and a marker, and none of the first 168 all three.
_LINESTYLES = ("-", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (3, 1, 1, 1)), (0, (1, 2)))
_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*")
#: Formats :func:`save_figure` writes.
FORMATS = ("pdf", "svg", "png")

_RC = {
    "font.size": FONT_PT, "axes.labelsize": FONT_PT, "axes.titlesize": TITLE_PT, "xtick.labelsize": FONT_PT,
    "ytick.labelsize": FONT_PT, "legend.fontsize": FONT_PT, "legend.title_fontsize": FONT_PT,
    "figure.titlesize": TITLE_PT, "figure.constrained_layout.use": True, "savefig.bbox": None,
    "svg.fonttype": "none", "pdf.fonttype": 42, "ps.fonttype": 42, "legend.handlelength": 2.6,
    "lines.markersize": 3.0, "axes.grid": False, "figure.dpi": 100,
}


def _mpl() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def paper_style() -> Iterator[None]:
    """Context in which every figure, axes, line and legend gets the project's paper style."""
    plt = _mpl()
    with plt.style.context(_science_styles()), plt.rc_context(_RC):
        yield


def _science_styles() -> list[str]:
    """Paths of SciencePlots' ``science``, ``no-latex`` and ``bright`` style files.

    Read by path: importing ``scienceplots`` would register every style through a matplotlib
    function deprecated in matplotlib 3.11.
    """
    import importlib.util

    spec = importlib.util.find_spec("scienceplots")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the paper figure style needs SciencePlots: pip install SciencePlots")
    root = Path(list(spec.submodule_search_locations)[0]) / "styles"
    paths = [root / "science.mplstyle", root / "misc" / "no-latex.mplstyle", root / "color" / "bright.mplstyle"]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ImportError(f"SciencePlots is installed without its style files {missing}; reinstall it")
    return [str(p) for p in paths]


def paper_figure(nrows: int = 1, ncols: int = 1, *, width: str | float = "single", aspect: float | None = None,
                 **kw: Any) -> tuple[Any, Any]:
    """``plt.subplots`` at a paper width; call inside :func:`paper_style`.

    ``width`` is ``"single"`` (3.25 in), ``"double"`` (6.75 in) or inches; the height is
    ``width * aspect / ncols * nrows`` (``aspect`` of one panel, default 0.75).
    """
    plt = _mpl()
    w = _width(width)
    aspect = 0.75 if aspect is None else float(aspect)
    if not math.isfinite(aspect) or aspect <= 0:
        raise ValueError(f"aspect must be a positive number; got {aspect!r}")
    h = w / ncols * aspect * nrows
    return plt.subplots(nrows, ncols, figsize=(w, h), layout="constrained", squeeze=kw.pop("squeeze", True), **kw)


def _width(width: str | float) -> float:
    if isinstance(width, str):
        if width not in WIDTHS:
            raise ValueError(f"width must be one of {sorted(WIDTHS)} or a number of inches; got {width!r}")
        return WIDTHS[width]
    if isinstance(width, bool) or not isinstance(width, (int, float)) or not 0 < width <= 20:
        raise ValueError(f"width must be one of {sorted(WIDTHS)} or a number of inches in (0, 20]; got {width!r}")
    return float(width)


def line_style(i: int, fidelity: str | None = None) -> dict[str, Any]:
    """Colour, line style and marker of the i-th line; RECON rules are dashed."""
    st = {"color": PALETTE[i % len(PALETTE)], "ls": _LINESTYLES[i % len(_LINESTYLES)],
          "marker": _MARKERS[i % len(_MARKERS)]}
    if str(fidelity).lower() == "recon":
        st["ls"] = "--"
    return st


def format_value(v: Any) -> str:
    """A hyperparameter value for labels: ``f"{v:g}"`` when that reads back as the same number,
    else the shortest exact form (``repr``), so distinct values never share a label."""
    if isinstance(v, (float, np.floating)) and not isinstance(v, bool):
        v = float(v)
        short = f"{v:g}"
        return short if float(short) == v or v != v else repr(v)
    return str(v)


def fidelity_label(label: str, fidelity: str | None) -> str:
    """``label`` with " (RECON)" appended for RECON rules."""
    return f"{label} (RECON)" if str(fidelity).lower() == "recon" else label


_METRIC_LABELS = {
    "f_gap": r"$f(x_k) - f^\star$",
    "f": r"$f(x_k)$",
    "grad_norm_sq": r"$\|\nabla f(x_k)\|^2$",
    "min_grad_norm_sq": r"$\min_{t \leq k}\, \|\nabla f(x_t)\|^2$",
    "dist_sq": r"$\|x_k - x^\star\|^2$",
    "regret": r"regret $R_T$",
    "loss_sum": r"$\sum_{t < T} f_t(x_t)$",
    "precond_spread": r"$\max P_k / \min P_k$",
    "precond_min": r"$\min P_k$",
    "precond_max": r"$\max P_k$",
}


def metric_label(metric: str) -> str:
    """Axis label (mathtext) of a recorded metric; unknown names are shown with spaces."""
    return _METRIC_LABELS.get(metric, metric.replace("_", " "))


def machine_eps(dtype: Any) -> float:
    """Machine epsilon of a floating ``dtype``; a ValueError naming ``dtype`` otherwise."""
    try:
        return float(np.finfo(np.dtype(dtype)).eps)
    except TypeError:
        raise ValueError(f"dtype must be a floating dtype (e.g. 'float64'); got {dtype!r}") from None


def metric_scale(y: Any) -> float:
    """A recorded metric's scale: the median over runs of each run's first positive finite record
    (0.0 when there is none).  ``y``: an array ``(n_records, n_runs)`` or a list of such arrays."""
    blocks = y if isinstance(y, list) else [y]
    firsts = []
    for b in blocks:
        b = np.asarray(b, dtype=float)
        b = b[:, None] if b.ndim == 1 else b
        for j in range(b.shape[1]):
            col = b[:, j]
            pos = col[np.isfinite(col) & (col > 0)]
            if pos.size:
                firsts.append(pos[0])
    return float(np.median(firsts)) if firsts else 0.0


def round_off_floor(y: Any, dtype: Any = "float64") -> float:
    r"""The level below which a recorded metric reflects round-off: ``FLOOR_FACTOR·ε²·s``.

    ``y`` is an array ``(n_records, n_runs)`` or a list of such arrays (runs of different lengths).
    ``s`` is the metric's scale (:func:`metric_scale`: median over runs of its first positive
    record) and ε the machine epsilon of ``dtype``; the same rule :mod:`precond_theory.rates` uses
    to exclude records from fits.  Returns 0.0 when there is no positive record.
    """
    from ..rates import FLOOR_FACTOR

    eps = machine_eps(dtype)
    return float(FLOOR_FACTOR * eps * eps * metric_scale(y))


def save_figure(fig_or_ax: Any, path: str | os.PathLike, *, formats: Sequence[str] = FORMATS, dpi: int = 300) -> Path:
    """Save a figure as PDF, SVG and PNG beside each other, atomically, and close it.

    ``path`` names the files: ``out/fig.png`` writes ``out/fig.pdf``, ``out/fig.svg`` and
    ``out/fig.png`` (each through a temporary file renamed into place, so an interrupted save
    leaves no truncated file).  ``formats`` chooses a subset of :data:`FORMATS`.  The figure keeps
    the size it was made with (no tight bounding box).  Returns ``path`` (with ``.png`` added
    when it has no suffix).
    """
    plt = _mpl()
    fig = getattr(fig_or_ax, "figure", fig_or_ax)
    if not hasattr(fig, "savefig"):
        raise TypeError(f"save_figure needs a matplotlib Figure or Axes; got {type(fig_or_ax).__name__}")
    fmts = tuple(formats)
    bad = [f for f in fmts if f not in FORMATS]
    if bad or not fmts:
        raise ValueError(f"formats must be a non-empty subset of {list(FORMATS)}; got {list(fmts)!r}")
    path = Path(path)
    if path.suffix == "":
        path = path.with_suffix(".png")
    if path.suffix[1:] not in FORMATS:
        raise ValueError(f"path must end in one of {['.' + f for f in FORMATS]} (or have no suffix); got {str(path)!r}")
    if path.suffix[1:] not in fmts:
        fmts = (*fmts, path.suffix[1:])
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"pdf": {"Creator": "precond-theory"}, "svg": {"Creator": "precond-theory"},
            "png": {"Software": "precond-theory"}}
    import logging

    ft_log = logging.getLogger("fontTools")
    ft_level = ft_log.level
    ft_log.setLevel(logging.ERROR)  # font subsetting for the PDF logs harmless notes about font dates
    try:
        import matplotlib

        with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42, "svg.hashsalt": "precond-theory"}):
            order = sorted(fmts, key=lambda f: f != "png")  # the layout is computed by the first save
            for i, fmt in enumerate(order):
                if i == 1 and fig.get_layout_engine() is not None:
                    # keep the positions the first save found: no layout engine at all (its
                    # placeholder, set_layout_engine("none"), still makes savefig draw twice)
                    with matplotlib.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
                        fig.set_layout_engine(None)
                target = path.with_suffix("." + fmt)
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
                os.close(fd)
                try:
                    fig.savefig(tmp, format=fmt, dpi=dpi, metadata=meta[fmt])
                    os.chmod(tmp, 0o644)
                    os.replace(tmp, target)
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
    finally:
        ft_log.setLevel(ft_level)
        plt.close(fig)
    return path
