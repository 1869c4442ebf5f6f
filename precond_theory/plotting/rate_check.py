"""Figure of a claim check: the data, the fitted law with its interval, the claimed law."""

from __future__ import annotations

from typing import Any

import numpy as np

from .convergence import place_legend
from .style import PALETTE, metric_label, paper_figure, paper_style, round_off_floor

__all__ = ["plot_rate_check", "law_math"]


def _expr_math(expr: Any) -> str:
    """A number or an expression string (``"((kappa-1)/(kappa+1))**2"``) as mathtext (no ``$``)."""
    if not isinstance(expr, str):
        return f"{float(expr):.4g}"
    import sympy

    try:
        e = sympy.sympify(expr, locals={"L": sympy.Symbol("L"), "mu": sympy.Symbol("mu"),
                                        "kappa": sympy.Symbol("kappa"), "T": sympy.Symbol("T")})
    except (sympy.SympifyError, SyntaxError, TypeError):
        return expr.replace("**", "^")
    return sympy.latex(e).replace(r"\left(", "(").replace(r"\right)", ")")


def law_math(claim: Any) -> str:
    """The claimed law as mathtext, e.g. ``$O(k^{-1})$`` or ``$\\rho^k,\\ \\rho = (...)^{2}$``."""
    op = {"upper_bound": "O", "rate": r"\Theta", "limit": ""}.get(claim.kind, "O")
    if claim.kind == "limit" and claim.order is None:
        return r"$\to 0$"
    if claim.shape == "linear":
        if claim.rate is None:
            return r"$\rho^k,\ \rho < 1$"
        return rf"$\rho^k,\ \rho = {_expr_math(claim.rate)}$"
    var = "T" if claim.metric == "regret" or claim.horizon == "per_horizon" else "k"
    body = f"{var}^{{{claim.order:g}}}"
    if claim.log_power:
        body += rf"\,(\log {var})" + (f"^{{{claim.log_power:g}}}" if claim.log_power != 1 else "")
    return f"${op}({body})$" if op else f"$\\sim {body}$"


def plot_rate_check(rc: Any, *, ax: Any = None, title: str | None = None, width: str | float = "single",
                    dtype: Any = "float64") -> Any:
    """Figure of a :class:`~precond_theory.rates.RateCheck`: metric against k (or T).

    The median over runs (with the inter-quartile band when there are several), the fitted law
    over its window with the band of laws whose order (or rate) lies in the confidence interval,
    the claimed law anchored to the median at the start of the window (dashed), the theorem's
    explicit bound (dotted) when the claim has one, and a floor met by the data (vertical line).
    The y-axis covers the data (cut at the dtype's round-off floor): laws are clipped to it, never
    stretch it.  Returns the Axes.
    """
    with paper_style():
        own = ax is None
        if own:
            _, ax = paper_figure(width=width)
        _draw(ax, rc, title, own, dtype)
    return ax


def _draw(ax: Any, rc: Any, title: str | None, own: bool, dtype: Any) -> None:
    claim = rc.claim
    k = np.asarray(rc.k, dtype=float)
    y = np.asarray(rc.y, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    pos = k > 0
    kk, yy = k[pos], np.where(y[pos] > 0, y[pos], np.nan)
    c_data, c_fit, c_claim = PALETTE[0], PALETTE[1], PALETTE[2]
    logx = claim.shape != "linear"
    if kk.size:
        med = np.nanmedian(yy, axis=1) if yy.shape[1] > 1 else yy[:, 0]
        if yy.shape[1] > 1:
            ax.fill_between(kk, np.nanquantile(yy, 0.25, axis=1), np.nanquantile(yy, 0.75, axis=1), color=c_data,
                            alpha=0.2, lw=0)
        ax.plot(kk, med, color=c_data, lw=1.2, label=f"median of {yy.shape[1]} run{'s' * (yy.shape[1] > 1)}")
    fit = rc.fit
    if fit is not None:
        lo, hi = fit.window
        kw = np.geomspace(lo, hi, 100) if lo > 0 else np.linspace(lo, hi, 100)
        ax.plot(kw, fit.predict(kw), color=c_fit, ls="-.", lw=1.2, label=_fit_label(rc))
        kc = float(np.sqrt(lo * hi)) if lo > 0 else (lo + hi) / 2
        yc = float(fit.predict(kc))
        if hasattr(fit, "order"):
            shape = (kw / kc) ** np.asarray(fit.ci)[:, None]
        else:
            shape = np.asarray(fit.ci)[:, None] ** (kw - kc)
        band = yc * shape
        ax.fill_between(kw, band.min(axis=0), band.max(axis=0), color=c_fit, alpha=0.25, lw=0,
                        label=f"{100 * fit.level:.0f}% interval")
        claimed = rc.claimed
        if claimed is not None and kk.size:
            i0 = min(int(np.searchsorted(kk, lo)), kk.size - 1)
            y0 = float(np.nanmedian(yy[i0]))
            kl = kk[kk >= kk[i0]]
            if claim.shape == "linear":
                law = y0 * claimed ** (kl - kk[i0])
            else:
                qp = claim.log_power
                law = y0 * (kl / kk[i0]) ** claimed * ((np.log(kl) / np.log(kk[i0])) ** qp if qp else 1.0)
            ax.plot(kl, law, color=c_claim, ls="--", lw=1.2, label="claimed: " + law_math(claim))
    bound = getattr(rc, "bound", None)
    if bound is not None and kk.size:
        b = np.asarray(bound, dtype=float)[pos]
        ax.plot(kk, b, color="0.3", ls=(0, (1, 1)), lw=1.0, label="theorem's bound")
    if rc.floor is not None:
        ax.axvline(rc.floor.start, color="0.4", ls=":", lw=0.8, label=f"{rc.floor.kind} floor")
    data = yy[np.isfinite(yy)]
    if data.size and (data > 0).all():
        fl = round_off_floor(yy, dtype)
        bottom = max(float(data.min()), fl) if fl else float(data.min())
        top = max(float(data.max()), bottom * 10)
        ax.set_ylim(bottom / 2, top * 2)
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("horizon $T$" if claim.horizon == "per_horizon" or claim.metric == "regret" else "step $k$")
    ax.set_ylabel(metric_label(claim.metric))
    ax.set_title(title or f"{claim.name or 'claim'}: {rc.verdict}")
    h, lab = ax.get_legend_handles_labels()
    place_legend(ax, h, lab, own_figure=own)


def _fit_label(rc: Any) -> str:
    """The fit's legend entry; "not deciding" when the claim's explicit bound decided the verdict
    (``rc.bound`` is set exactly then)."""
    lo, hi = rc.fit.ci
    head = "fit" if rc.bound is None else "fit (not deciding)"
    if hasattr(rc.fit, "order"):
        return f"{head}: order {rc.fit.order:.3g} [{lo:.3g}, {hi:.3g}]"
    return f"{head}: rate {rc.fit.rate:.5g} [{lo:.5g}, {hi:.5g}]"
