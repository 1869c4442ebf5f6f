r"""Spectra and condition numbers of Hessians, dense and matrix-free, raw and preconditioned.

Why this module exists: a diagonal preconditioner :math:`P` turns gradient descent on
:math:`f` into gradient descent on :math:`z \mapsto f(P^{1/2} z)`, whose Hessian is
:math:`P^{1/2} H P^{1/2}` (Ye 2024, docs/spec/ye_preconditioning.md).  The local linear rate of the
preconditioned method is governed by :math:`\kappa(P^{1/2} H P^{1/2})`, so comparing it with
:math:`\kappa(H)` along a run says how much a rule's preconditioner helps.

Contents

* Dense, batched over leading axes, on any array-API backend: :func:`spectrum`,
  :func:`condition_number`, :func:`preconditioned_spectrum` (diagonal ``p`` or dense SPD ``M``),
  all returning or using a :class:`ConditioningReport`.
* Matrix-free: :func:`eigenvalue_bracket` (anytime bracket of both ends within a budget of
  products or seconds, O(n) memory) and :func:`extreme_eigenvalues` (both ends of the spectrum from Hessian-vector
  products only; Lanczos with full reorthogonalization and thick restarts by default, SciPy /
  cupyx ARPACK or LOBPCG on request).
* Along a run: :func:`tracking_metrics` gives the ``metrics=`` mapping of
  :func:`precond_theory.run` (``kappa_H``, ``kappa_PHP``; ``run`` records ``precond_spread`` itself).
* Reference diagonal scalings to compare a learned preconditioner with:
  :func:`jacobi_scaling`, :func:`row_norm_scaling`, :func:`ruiz_scaling` and
  :func:`optimal_diagonal_scaling` (certified optimum for small n), dispatched by
  :func:`diagonal_scaling`.

Cut-offs (all in terms of :math:`\varepsilon` = ``finfo(dtype).eps``; see
``docs/conditioning.md``)

* **Symmetry.** A matrix is accepted as symmetric when
  :math:`\max|H - H^\top| \le \text{symmetry\_rtol}\cdot\max|H|` with default
  ``symmetry_rtol`` :math:`=\sqrt{\varepsilon}` (1.5e-8 in float64).  Hessians assembled from
  an analytic formula are symmetric to a few :math:`\varepsilon`, and those assembled from
  central differences to :math:`O(\varepsilon^{2/3})` (:func:`~precond_theory.problems.base.central_difference_hvp`);
  :math:`\sqrt\varepsilon` accepts both and rejects genuinely non-symmetric input.  The
  symmetric part :math:`(H + H^\top)/2` is what is decomposed.
* **Zero.** An eigenvalue with :math:`|\lambda| \le \text{tol} = n\,\varepsilon\,\max_i|\lambda_i|`
  counts as zero.  This is NumPy's ``matrix_rank`` threshold ``S.max() * max(M, N) * eps`` for
  the singular values :math:`|\lambda_i|` of a symmetric matrix: a backward-stable symmetric
  eigensolver returns the exact eigenvalues of :math:`H + E` with
  :math:`\|E\|_2 \lesssim p(n)\,\varepsilon\,\|H\|_2` (Golub & Van Loan, §8.3), so by Weyl's
  inequality eigenvalues below that level are indistinguishable from 0 [1]_ [2]_.
* **Infinite kappa.** :math:`\kappa = \lambda_{\max}/\lambda_{\min}` is reported when
  :math:`\lambda_{\min} > \text{tol}`, and ``inf`` otherwise: for singular matrices
  (:math:`|\lambda_{\min}| \le \text{tol}`) and for indefinite ones (saddles, where Ye's local
  analysis, which needs :math:`H \succ 0`, does not apply).  ``neg_count`` counts eigenvalues
  :math:`< -\text{tol}` (the Morse index at a saddle) and ``zero_count`` those within tol of 0.
  A matrix with a non-finite entry (only reachable with ``check=False``, e.g. a diverged run)
  gets ``kappa = nan``.

References
----------
.. [1] NumPy, ``numpy.linalg.matrix_rank``, Notes (threshold ``S.max() * max(M, N) * eps``),
       after W. H. Press et al., *Numerical Recipes*, 3rd ed., 2007, §2.6.
.. [2] G. H. Golub, C. F. Van Loan, *Matrix Computations*, 4th ed., Johns Hopkins, 2013,
       §8.1.2 (Weyl) and §8.3 (backward stability of the symmetric QR algorithm).
.. [3] Q. Ye, "Preconditioning for accelerated gradient descent optimization and
       regularization", arXiv:2410.00232, 2024, §2 (condition number of the transformed Hessian).
"""

from __future__ import annotations

from ._shared import SCALINGS, ConvergenceWarning
from .bracket import EigenvalueBracket, eigenvalue_bracket
from .dense import ConditioningReport, condition_number, preconditioned_spectrum, spectrum
from .matrix_free import ExtremeEigenvalues, extreme_eigenvalues
from .scalings import (
    OptimalScaling,
    diagonal_scaling,
    jacobi_scaling,
    optimal_diagonal_scaling,
    row_norm_scaling,
    ruiz_scaling,
)
from .tracking import tracking_metrics

__all__ = [
    "SCALINGS",
    "ConditioningReport",
    "ConvergenceWarning",
    "EigenvalueBracket",
    "ExtremeEigenvalues",
    "OptimalScaling",
    "condition_number",
    "diagonal_scaling",
    "eigenvalue_bracket",
    "extreme_eigenvalues",
    "jacobi_scaling",
    "optimal_diagonal_scaling",
    "preconditioned_spectrum",
    "row_norm_scaling",
    "ruiz_scaling",
    "spectrum",
    "tracking_metrics",
]
