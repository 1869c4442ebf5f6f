"""Figures from stored records (tidy tables, Traces, claim checks) in one paper style.

Plotting never computes results.  :func:`plot_convergence` and :func:`plot_rate_check` draw in
the style of :mod:`precond_theory.plotting.style` (SciencePlots ``science`` + ``no-latex`` +
``bright``; 3.25 in / 6.75 in wide; 8 pt fonts); :func:`save_figure` writes PDF, SVG and PNG.
"""

from __future__ import annotations

from .convergence import plot_convergence
from .rate_check import law_math, plot_rate_check
from .sensitivity import plot_sensitivity
from .style import (FORMATS, PALETTE, WIDTHS, line_style, metric_label, paper_figure, paper_style, round_off_floor,
                    save_figure)

__all__ = ["plot_convergence", "plot_rate_check", "plot_sensitivity", "save_figure", "paper_style", "paper_figure", "line_style",
           "metric_label", "round_off_floor", "law_math", "WIDTHS", "FORMATS", "PALETTE"]
