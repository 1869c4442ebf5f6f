r"""Normalization as preconditioning: regression models with and without input standardization,
BatchNorm, LayerNorm and WeightNorm, with exact gradients and Hessian-vector products.

Ye (2024) and Lange, Helfrich & Ye (2022) read normalization layers as implicit
preconditioners: for an affine unit :math:`y = w^\top h + b` fed by inputs of mean
:math:`\mu` and standard deviations :math:`S=\mathrm{diag}(\sigma)`, BatchNorm's
reparameterization :math:`[w; b] = P[w'; b']` with

.. math:: P = \begin{pmatrix} S^{-1} & 0 \\ -\mu^\top S^{-1} & 1\end{pmatrix}

turns gradient descent on :math:`(w', b')` into preconditioned gradient descent on
:math:`(w, b)` with :math:`M = PP^\top` (:func:`bn_preconditioner`,
:func:`check_bn_preconditioning`).  This module provides the objects to measure that:

* :func:`make_regression_data`: synthetic inputs with controlled means, scales and
  correlations (optionally with *exact* sample moments) and a teacher target;
* :class:`NormalizedModel` / :func:`make_normalized_model`: linear regression (``hidden=()``)
  and one- or two-hidden-layer tanh networks, each a
  :class:`~precond_theory.problems.base.AbstractProblem` (so :func:`precond_theory.run` trains
  them), in the variants of :data:`VARIANTS`;
* exact gradients (hand-written reverse mode, BatchNorm's gradient through the batch
  statistics included) and exact Hessian-vector products (forward-mode dual numbers pushed
  through that reverse pass, "forward-over-reverse"), plus Gauss–Newton products;
* :meth:`NormalizedModel.conditioning`: Hessian or Gauss–Newton spectra, optionally on the
  quotient by the exact continuous symmetries that normalization creates (scale invariance);
* :func:`mean_shift_spectrum` / :func:`mean_shift_kappa`: the closed-form spectrum of least
  squares with mean-shifted iid features;
* :func:`conditioning_by_variant`: one table row per variant.

References
----------
.. [1] Q. Ye, "Preconditioning for accelerated gradient descent optimization and
       regularization", arXiv:2410.00232, 2024.
.. [2] S. Lange, K. Helfrich, Q. Ye, "Batch normalization preconditioning for neural network
       training", JMLR 23(72):1-41, 2022, arXiv:2108.01110, §3 (BN as preconditioning of
       the extended hidden variables).
.. [3] S. Ioffe, C. Szegedy, "Batch normalization", ICML 2015, arXiv:1502.03167, Alg. 1-2.
.. [4] J. L. Ba, J. R. Kiros, G. E. Hinton, "Layer normalization", arXiv:1607.06450, 2016, eq. (3).
.. [5] T. Salimans, D. P. Kingma, "Weight normalization", NeurIPS 2016, arXiv:1602.07868, eq. (2)-(3).
.. [6] B. A. Pearlmutter, "Fast exact multiplication by the Hessian", Neural Computation 6(1), 1994
       (the R-operator, which the dual numbers below implement).
"""

from __future__ import annotations

from ._shared import VARIANTS
from .bn import (
    BNPreconditioningCheck,
    bn_preconditioner,
    check_bn_preconditioning,
    mean_shift_kappa,
    mean_shift_spectrum,
)
from .data import RegressionData, input_statistics, make_regression_data
from .models import NormalizedModel, make_normalized_model
from .tables import conditioning_by_variant

__all__ = [
    "VARIANTS",
    "BNPreconditioningCheck",
    "NormalizedModel",
    "RegressionData",
    "bn_preconditioner",
    "check_bn_preconditioning",
    "conditioning_by_variant",
    "input_statistics",
    "make_normalized_model",
    "make_regression_data",
    "mean_shift_kappa",
    "mean_shift_spectrum",
]
