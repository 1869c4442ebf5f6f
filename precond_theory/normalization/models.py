"""Linear models and small networks with input standardisation, BatchNorm, LayerNorm or WeightNorm."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .._checks import check_choice, check_int, check_range
from .._xp import array_namespace, asarray, to_numpy
from ..conditioning import ConditioningReport, spectrum
from ..problems.base import AbstractProblem
from ._dual import _concat, _Dual, _lift, _mm, _mT, _reduce, _reshape
from ._shared import VARIANTS, Array, Variant
from .data import RegressionData, input_statistics


# ==================================================================================== models
@dataclass(frozen=True)
class _Layer:
    """Static description of one affine layer (width ``h``, input width ``d``)."""

    h: int
    d: int
    norm: str | None  # None | "bn" | "bn_eval" | "ln"
    weightnorm: bool
    bias: bool
    act: str  # "tanh" | "identity"


@dataclass(frozen=True, kw_only=True, eq=False)
class NormalizedModel(AbstractProblem):
    r"""Squared-loss regression model with a normalization variant; a problem for :func:`run`.

    .. math:: f(\theta) = \frac{1}{2N}\sum_{i=1}^N \big(F_\theta(x_i) - y_i\big)^2

    Architecture: ``len(hidden)`` hidden layers :math:`z_l = \phi(\mathcal N_l(W_l z_{l-1} + b_l))`
    with :math:`\phi = \tanh` (or identity), then a scalar affine output.  ``hidden=()`` is
    linear regression.  Variants (``variant``):

    ========================= =============================================================================
    ``raw``                   plain network on the raw inputs
    ``standardize``           inputs replaced by :math:`(x-\hat\mu)/\hat\sigma` (full-batch statistics)
    ``batchnorm``             BN after every hidden affine map, train mode: batch statistics of the N
                              samples, differentiated through [3]_; no bias before BN (β replaces it).
                              With ``hidden=()`` BN acts on the output unit:
                              :math:`F = \gamma\,\mathrm{BN}(w^\top x) + \beta`.
    ``batchnorm_eval``        the same layers in eval mode: fixed running statistics ``running``
                              (default: the batch statistics at :meth:`default_x0`)
    ``layernorm``             LN over the units of every hidden layer [4]_ (needs ``hidden != ()``)
    ``weightnorm``            every weight row :math:`w_j = g_j v_j/\|v_j\|` [5]_
    ========================= =============================================================================

    Normalization maps: :math:`\mathrm{BN}(a)_{ij} = \gamma_j (a_{ij}-\mu_j)/\sqrt{\sigma_j^2+\epsilon}+\beta_j`
    with :math:`\mu_j,\sigma_j^2` the (1/N) mean and variance over samples i;
    :math:`\mathrm{LN}` the same over units j for each sample.

    Gradients are exact (reverse mode written by hand, Notes); :meth:`hvp` is exact
    (forward mode over that reverse pass, :class:`_Dual`); :meth:`gnvp` is the Gauss–Newton
    product :math:`J^\top J v/N`.  Parameters are one flat vector, layer by layer, each
    layer's entries in the order ``W`` (or ``V, g``), ``b``, ``gamma``, ``beta``;
    :meth:`unpack` names them.

    Notes
    -----
    Backward formulas (``da'`` the gradient at the normalized pre-activation, means over the
    normalized axis; :math:`\hat a` the normalized value, :math:`s=\sqrt{\sigma^2+\epsilon}`):

    .. math::
        d\gamma = \textstyle\sum \hat a\odot da',\quad d\beta = \sum da',\quad
        d\hat a = \gamma\odot da',\quad
        da = \big(d\hat a - \overline{d\hat a} - \hat a\odot\overline{d\hat a\odot\hat a}\big)/s

    (train-mode BN and LN; eval-mode BN: :math:`da = d\hat a/s_{\text{run}}`), and for
    WeightNorm :math:`dg_j = dw_j\cdot\hat v_j`,
    :math:`dv_j = (g_j/\|v_j\|)(dw_j - dg_j\hat v_j)`.
    """

    data: RegressionData
    hidden: tuple[int, ...] = ()
    variant: str = "raw"
    activation: str = "tanh"
    eps: float = 1e-5
    init_seed: int = 0
    running: tuple[tuple[Array, Array], ...] | None = None
    name: str = "normalized_model"
    params: dict = field(default_factory=dict)
    layers: tuple[_Layer, ...] = ()
    layout: tuple[tuple[str, tuple[int, ...]], ...] = ()
    X_in: Array = None
    x_star: Array | None = None
    f_star: Any = None
    L: Any = None
    mu: Any = None

    # ------------------------------------------------------------------ attributes
    @property
    def dim(self) -> int:  # type: ignore[override]
        return int(sum(math.prod(s) for _, s in self.layout))

    @property
    def xp(self) -> Any:  # type: ignore[override]
        return array_namespace(self.data.X)

    @property
    def dtype(self) -> Any:  # type: ignore[override]
        return self.data.X.dtype

    @property
    def depth(self) -> int:
        """Number of hidden layers."""
        return len(self.hidden)

    # ------------------------------------------------------------------ parameters
    def unpack(self, theta: Any) -> dict[str, Any]:
        """Flat ``(*batch, n)`` parameters -> dict name -> ``(*batch, *shape)`` (names like ``W1``, ``g2``)."""
        xp = self.xp
        batch = tuple(theta.shape[:-1])
        out, off = {}, 0
        for nm, shp in self.layout:
            size = math.prod(shp)
            out[nm] = _reshape(xp, theta[..., off:off + size], (*batch, *shp))
            off += size
        return out

    def pack(self, parts: dict[str, Any], batch: tuple[int, ...]) -> Any:
        """Inverse of :meth:`unpack` (missing names are zeros)."""
        xp = self.xp
        flat = []
        for nm, shp in self.layout:
            a = parts.get(nm)
            if a is None:
                a = xp.zeros((*batch, math.prod(shp)), dtype=self.dtype)
            else:
                a = _reshape(xp, a, (*batch, math.prod(shp)))
            flat.append(a)
        return _concat(xp, flat)

    def default_x0(self) -> Array:
        r"""Seeded initialization: :math:`W \sim N(0, 1/d_{\text{in}})`, b = β = 0, γ = 1, g = ‖v‖."""
        rng = np.random.default_rng(self.init_seed)
        parts = {}
        for i, lay in enumerate(self.layers, start=1):
            W = rng.standard_normal((lay.h, lay.d)) / math.sqrt(lay.d)
            if lay.weightnorm:
                parts[f"V{i}"] = W
                parts[f"g{i}"] = np.linalg.norm(W, axis=1)
            else:
                parts[f"W{i}"] = W
            if lay.norm is not None:
                parts[f"gamma{i}"] = np.ones(lay.h)
        flat = np.concatenate([np.asarray(parts.get(nm, np.zeros(shp)), dtype=np.float64).ravel()
                               for nm, shp in self.layout])
        return asarray(flat, self.xp, self.dtype)

    # ------------------------------------------------------------------ forward / backward
    def _forward(self, theta: Any) -> tuple[Any, list[dict[str, Any]]]:
        xp = self.xp
        P = self.unpack(theta)
        z = self.X_in
        caches = []
        for i, lay in enumerate(self.layers, start=1):
            c: dict[str, Any] = {"z_prev": z}
            if lay.weightnorm:
                V, g = P[f"V{i}"], P[f"g{i}"]
                r = _lift(xp, "sqrt", _reduce(xp, "sum", V * V, -1, True))
                vhat = V / r
                W = vhat * g[..., :, None]
                c.update(r=r, vhat=vhat, g=g)
            else:
                W = P[f"W{i}"]
            c["W"] = W
            a = _mm(z, _mT(xp, W))  # (*batch, N, h)
            if lay.bias:
                a = a + P[f"b{i}"][..., None, :]
            if lay.norm is not None:
                gamma, beta = P[f"gamma{i}"][..., None, :], P[f"beta{i}"][..., None, :]
                if lay.norm == "bn_eval":
                    m, var = self.running[i - 1]
                    s = xp.sqrt(var + self.eps)
                    ahat = (a - m) / s
                else:
                    axis = -2 if lay.norm == "bn" else -1
                    cen = a - _reduce(xp, "mean", a, axis, True)
                    s = _lift(xp, "sqrt", _reduce(xp, "mean", cen * cen, axis, True) + self.eps)
                    ahat = cen / s
                c.update(ahat=ahat, s=s, gamma=gamma)
                a = ahat * gamma + beta
            z = _lift(xp, "tanh", a) if lay.act == "tanh" else a
            c["z"] = z
            caches.append(c)
        return z[..., 0], caches  # (*batch, N)

    def _backward(self, caches: list[dict[str, Any]], d_out: Any) -> Any:
        xp = self.xp
        grads: dict[str, Any] = {}
        dz = d_out[..., None]  # (*batch, N, 1)
        for i in range(len(self.layers), 0, -1):
            lay, c = self.layers[i - 1], caches[i - 1]
            da = dz * (1 - c["z"] * c["z"]) if lay.act == "tanh" else dz
            if lay.norm is not None:
                ahat = c["ahat"]
                grads[f"gamma{i}"] = _reduce(xp, "sum", da * ahat, -2, False)
                grads[f"beta{i}"] = _reduce(xp, "sum", da, -2, False)
                dhat = da * c["gamma"]
                if lay.norm == "bn_eval":
                    da = dhat / c["s"]
                else:  # [3] Alg. 1 backward (train-mode BN) / LN over units
                    axis = -2 if lay.norm == "bn" else -1
                    da = (dhat - _reduce(xp, "mean", dhat, axis, True)
                          - ahat * _reduce(xp, "mean", dhat * ahat, axis, True)) / c["s"]
            if lay.bias:
                grads[f"b{i}"] = _reduce(xp, "sum", da, -2, False)
            dW = _mm(_mT(xp, da), c["z_prev"])  # (*batch, h, d)
            if lay.weightnorm:  # [5] eq. (3)
                vhat, g, r = c["vhat"], c["g"], c["r"]
                dg = _reduce(xp, "sum", dW * vhat, -1, False)
                grads[f"g{i}"] = dg
                grads[f"V{i}"] = (dW - vhat * dg[..., :, None]) * (g[..., :, None] / r)
            else:
                grads[f"W{i}"] = dW
            if i > 1:
                dz = _mm(da, c["W"])
        batch = tuple(d_out.shape[:-1])
        return self.pack(grads, batch)

    # ------------------------------------------------------------------ problem interface
    def _check_x(self, x: Any) -> None:
        if not hasattr(x, "shape") or len(x.shape) == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape (*batch, {self.dim}) for {self.name}; got "
                             f"{tuple(x.shape) if hasattr(x, 'shape') else type(x).__name__}")

    def outputs(self, x: Array) -> Array:
        r"""Model outputs :math:`F_\theta(x_i)`, shape ``(*batch, N)``."""
        self._check_x(x)
        return self._forward(x)[0]

    def value(self, x: Array) -> Array:
        self._check_x(x)
        xp = self.xp
        r = self._forward(x)[0] - self.data.y
        return 0.5 * xp.mean(r * r, axis=-1)

    def grad(self, x: Array) -> Array:
        self._check_x(x)
        out, caches = self._forward(x)
        return self._backward(caches, (out - self.data.y) / self.data.n_samples)

    def hvp(self, x: Array, v: Array) -> Array:
        r"""Exact :math:`\nabla^2 f(x)\,v`: the tangent of :meth:`grad` along ``v`` (dual numbers)."""
        self._check_x(x)
        xp = self.xp
        shape = tuple(np.broadcast_shapes(tuple(x.shape), tuple(v.shape)))
        out, caches = self._forward(_Dual(xp.broadcast_to(x, shape), xp.broadcast_to(v, shape)))
        g = self._backward(caches, (out - self.data.y) / self.data.n_samples)
        return g.t

    def gnvp(self, x: Array, v: Array) -> Array:
        r"""Gauss–Newton product :math:`J^\top J v / N` (J the Jacobian of the N outputs)."""
        self._check_x(x)
        xp = self.xp
        shape = tuple(np.broadcast_shapes(tuple(x.shape), tuple(v.shape)))
        out, _ = self._forward(_Dual(xp.broadcast_to(x, shape), xp.broadcast_to(v, shape)))
        _, caches = self._forward(xp.broadcast_to(x, shape))
        return self._backward(caches, out.t / self.data.n_samples)

    def _dense(self, x: Array, product: Any) -> Array:
        xp = self.xp
        n = self.dim
        batch = tuple(x.shape[:-1])
        xb = xp.broadcast_to(x[..., None, :], (*batch, n, n))
        E = xp.broadcast_to(xp.eye(n, dtype=self.dtype), (*batch, n, n))
        H = product(xb, E)  # row i = product with e_i
        return (H + xp.matrix_transpose(H)) / 2

    def hessian(self, x: Array) -> Array:
        """Dense exact Hessian ``(*batch, n, n)`` (all n HVPs in one batched pass)."""
        self._check_x(x)
        return self._dense(x, self.hvp)

    def gauss_newton(self, x: Array) -> Array:
        r"""Dense Gauss–Newton matrix :math:`J^\top J/N` ``(*batch, n, n)`` (PSD; equals the Hessian
        for linear least squares and at zero-residual minima)."""
        self._check_x(x)
        return self._dense(x, self.gnvp)

    # ------------------------------------------------------------------ symmetries and conditioning
    def symmetry_directions(self, x: Array) -> Array:
        r"""Tangent directions of the exact continuous symmetries at ``x``, shape ``(*batch, k, n)``.

        * train-mode BN unit j of layer l: :math:`W_{l,j}\mapsto cW_{l,j}` (scale invariance;
          exact for ``eps = 0``, up to :math:`O(\epsilon/\sigma^2)` otherwise);
        * eval-mode BN unit j: :math:`(w_j, \gamma_j, \beta_j) \mapsto (cw_j, \gamma_j/c,
          \beta_j + \gamma_j m_j(1 - 1/c)/s_j)`, tangent :math:`(w_j, -\gamma_j, -\gamma_j m_j/s_j)`;
        * WeightNorm unit j: :math:`v_j \mapsto cv_j`;
        * LN layer: joint scaling of :math:`(W, b)`, and the shifts
          :math:`W \mapsto W + \mathbf 1u^\top`, :math:`b \mapsto b + t\mathbf 1` (d + 1 directions).

        ``k = 0`` (shape ``(*batch, 0, n)``) for ``raw`` and ``standardize``.  The gradient is
        orthogonal to each direction, and at a minimizer each is a null vector of the Hessian.
        """
        self._check_x(x)
        xp = self.xp
        batch = tuple(x.shape[:-1])
        P = self.unpack(x)
        dirs = []
        for i, lay in enumerate(self.layers, start=1):
            if lay.norm == "bn":
                W = P[f"W{i}"]
                for j in range(lay.h):
                    mask = xp.reshape(xp.asarray([1.0 if r == j else 0.0 for r in range(lay.h)], dtype=self.dtype),
                                      (lay.h, 1))
                    dirs.append(self.pack({f"W{i}": W * mask}, batch))
            elif lay.norm == "bn_eval":
                W, gam = P[f"W{i}"], P[f"gamma{i}"]
                m, var = self.running[i - 1]
                s = xp.sqrt(var + self.eps)
                for j in range(lay.h):
                    e = xp.asarray([1.0 if r == j else 0.0 for r in range(lay.h)], dtype=self.dtype)
                    dirs.append(self.pack({f"W{i}": W * e[:, None], f"gamma{i}": -gam * e,
                                           f"beta{i}": -gam * e * m / s}, batch))
            elif lay.norm == "ln":
                W, b = P[f"W{i}"], P[f"b{i}"]
                dirs.append(self.pack({f"W{i}": W, f"b{i}": b}, batch))
                for k in range(lay.d):
                    col = xp.zeros((lay.h, lay.d), dtype=self.dtype) + xp.asarray(
                        [1.0 if c == k else 0.0 for c in range(lay.d)], dtype=self.dtype)
                    dirs.append(self.pack({f"W{i}": xp.broadcast_to(col, (*batch, lay.h, lay.d))}, batch))
                dirs.append(self.pack({f"b{i}": xp.ones((*batch, lay.h), dtype=self.dtype)}, batch))
            if lay.weightnorm:
                V = P[f"V{i}"]
                for j in range(lay.h):
                    e = xp.reshape(xp.asarray([1.0 if r == j else 0.0 for r in range(lay.h)], dtype=self.dtype),
                                   (lay.h, 1))
                    dirs.append(self.pack({f"V{i}": V * e}, batch))
        if not dirs:
            return xp.zeros((*batch, 0, self.dim), dtype=self.dtype)
        return xp.stack(dirs, axis=-2)

    def conditioning(self, x: Array | None = None, *, matrix: Literal["hessian", "gauss_newton"] = "hessian",
                     quotient: bool = True) -> ConditioningReport:
        r"""Spectrum and :math:`\kappa` of the Hessian (or Gauss–Newton matrix) at ``x``.

        With ``quotient=True`` the matrix is restricted to the orthogonal complement of
        :meth:`symmetry_directions` (:math:`Q_\perp^\top H Q_\perp`, :math:`Q_\perp` an
        orthonormal basis from a complete QR), so that the zero eigenvalues forced by
        normalization's scale invariance do not make every normalized model look singular.
        Cut-offs as in :func:`precond_theory.conditioning.spectrum`.
        """
        check_choice("matrix", matrix, ("hessian", "gauss_newton"))
        x = self.default_x0() if x is None else x
        H = self.hessian(x) if matrix == "hessian" else self.gauss_newton(x)
        return spectrum(self.quotient(H, x) if quotient else H, check=False)

    def quotient(self, H: Array, x: Array) -> Array:
        r"""Restriction :math:`Q_\perp^\top H Q_\perp` of ``H`` ``(*batch, n, n)`` to the orthogonal
        complement of :meth:`symmetry_directions` at ``x`` (``H`` itself when there are none)."""
        xp = self.xp
        S = self.symmetry_directions(x)
        k = S.shape[-2]
        if not k:
            return H
        Q, _ = xp.linalg.qr(xp.matrix_transpose(S), mode="complete")
        Qc = Q[..., :, k:]
        return xp.matrix_transpose(Qc) @ H @ Qc

    def with_running_statistics(self, x: Array) -> NormalizedModel:
        """Copy whose eval-mode BN statistics are the batch statistics at ``x`` (shape ``(n,)``)."""
        self._check_x(x)
        if len(x.shape) != 1:
            raise ValueError("with_running_statistics needs a single parameter vector of shape (n,)")
        return dataclasses.replace(self, running=_batch_statistics(self, x))


def _batch_statistics(model: NormalizedModel, x: Array) -> tuple[tuple[Array, Array], ...]:
    """Per-layer (mean, var) over the samples of each BN layer's pre-activation at ``x``, as
    the running averages converge to them at a fixed ``x`` (the train-mode forward pass)."""
    xp = model.xp
    train_layers = tuple(dataclasses.replace(l, norm="bn" if l.norm == "bn_eval" else l.norm) for l in model.layers)
    train = dataclasses.replace(model, layers=train_layers, running=None)
    P = train.unpack(x)
    z = train.X_in
    stats = []
    for i, lay in enumerate(train.layers, start=1):
        a = z @ xp.matrix_transpose(P[f"W{i}"] if not lay.weightnorm else P[f"V{i}"])
        if lay.bias:
            a = a + P[f"b{i}"][None, :]
        if lay.norm == "bn":
            m = xp.mean(a, axis=0)
            stats.append((m, xp.mean((a - m) ** 2, axis=0)))
            a = (a - m) / xp.sqrt(stats[-1][1] + train.eps) * P[f"gamma{i}"] + P[f"beta{i}"]
        else:
            stats.append((None, None))
        z = xp.tanh(a) if lay.act == "tanh" else a
    return tuple(stats)


def make_normalized_model(
    data: RegressionData,
    variant: Variant = "raw",
    *,
    hidden: tuple[int, ...] | list[int] = (),
    activation: Literal["tanh", "identity"] = "tanh",
    eps: float = 1e-5,
    seed: int = 0,
) -> NormalizedModel:
    r"""Linear regression (``hidden=()``) or a 1-2 hidden-layer network on ``data``, as a problem.

    Parameters
    ----------
    data : RegressionData
    variant : one of :data:`VARIANTS`
    hidden : tuple of int
        Hidden widths (0, 1 or 2 layers).
    activation : {"tanh", "identity"}
    eps : float
        BN/LN variance offset :math:`\epsilon` (torch's default 1e-5; 0 makes scale
        invariance exact).
    seed : int
        Initialization seed (:meth:`NormalizedModel.default_x0`).

    Returns
    -------
    NormalizedModel
        For ``raw`` and ``standardize`` linear regression, ``x_star``, ``f_star``, ``L`` and
        ``mu`` are exact (least squares, Hessian :math:`\tfrac1N\hat X^\top\hat X`); otherwise None.

    Raises
    ------
    ValueError
        Unknown variant, more than two hidden layers, non-positive widths, or ``layernorm``
        with ``hidden=()`` (LN over a single output unit is constant).
    """
    if not isinstance(data, RegressionData):
        raise TypeError(f"data must be a RegressionData (make_regression_data); got {type(data).__name__}")
    check_choice("variant", variant, VARIANTS)
    check_choice("activation", activation, ("tanh", "identity"))
    hidden = tuple(hidden)
    if len(hidden) > 2:
        raise ValueError(f"hidden must have 0, 1 or 2 layers; got {hidden!r}")
    for h in hidden:
        check_int("hidden width", h, 1)
    check_range("eps", eps, 0.0)
    seed = check_int("seed", seed, 0)
    if variant == "layernorm" and not hidden:
        raise ValueError("variant='layernorm' needs at least one hidden layer (LN of a single output unit is constant)")
    xp = array_namespace(data.X)
    X = data.X
    if variant == "standardize":
        m, s = input_statistics(X)
        if not bool(xp.all(s > 0)):
            raise ValueError("a constant input feature cannot be standardized")
        X = (X - m) / s
    d = data.dim
    widths = (*hidden, 1)
    norm_hidden = {"batchnorm": "bn", "batchnorm_eval": "bn_eval", "layernorm": "ln"}.get(variant)
    layers, layout = [], []
    d_prev = d
    for i, h in enumerate(widths, start=1):
        last = i == len(widths)
        norm = norm_hidden if not last else ("bn" if variant == "batchnorm" and not hidden else
                                              "bn_eval" if variant == "batchnorm_eval" and not hidden else None)
        wn = variant == "weightnorm"
        bias = norm not in ("bn", "bn_eval")
        lay = _Layer(h=h, d=d_prev, norm=norm, weightnorm=wn, bias=bias, act="identity" if last else activation)
        layers.append(lay)
        if wn:
            layout += [(f"V{i}", (h, d_prev)), (f"g{i}", (h,))]
        else:
            layout.append((f"W{i}", (h, d_prev)))
        if bias:
            layout.append((f"b{i}", (h,)))
        if norm is not None:
            layout += [(f"gamma{i}", (h,)), (f"beta{i}", (h,))]
        d_prev = h
    kind = "linreg" if not hidden else f"mlp{len(hidden)}"
    params = {**data.params, "variant": variant, "hidden": "x".join(map(str, hidden)) or "none",
              "depth": len(hidden), "activation": activation, "eps": float(eps), "init_seed": seed}
    model = NormalizedModel(data=data, hidden=hidden, variant=variant, activation=activation, eps=float(eps),
                            init_seed=seed, name=f"{kind}_{variant}", params=params, layers=tuple(layers),
                            layout=tuple(layout), X_in=X)
    if variant == "batchnorm_eval":
        model = model.with_running_statistics(model.default_x0())
    if not hidden and variant in ("raw", "standardize"):
        model = _with_least_squares_constants(model)
    return model


def _with_least_squares_constants(model: NormalizedModel) -> NormalizedModel:
    """Exact minimizer and constants of a linear least-squares model (host float64)."""
    Xh = to_numpy(model.X_in).astype(np.float64)
    yh = to_numpy(model.data.y).astype(np.float64)
    N = Xh.shape[0]
    A = np.concatenate([Xh, np.ones((N, 1))], axis=1)
    H = A.T @ A / N
    w = np.linalg.eigvalsh(H)
    theta = np.linalg.lstsq(A, yh, rcond=None)[0]
    r = A @ theta - yh
    return dataclasses.replace(model, x_star=asarray(theta, model.xp, model.dtype), f_star=float(0.5 * np.mean(r * r)),
                               L=float(w[-1]), mu=float(max(w[0], 0.0)))


