r"""Classic nonconvex test functions with their stationary points listed as data.

Every problem lists ``stationary_points``: location, kind (minimum, saddle, maximum), value and
Hessian eigenvalues.  The two-dimensional tables were computed once by solving the polynomial
gradient system (resultants), refining each root with mpmath at 40 digits and evaluating the
Hessian there; they are given to 19 significant digits (beyond float64's 17).  Rosenbrock's and
Styblinski–Tang's points depend on the dimension and are computed at construction (closed
forms refined by Newton on the host).

Global minima are ``x_star``/``f_star`` when unique; functions with several global minima
(Himmelblau, six-hump camel) set ``x_star = None`` and keep ``f_star``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .._checks import check_int, check_range
from .._xp import array_namespace
from ._util import kind_from_eigenvalues, newton_refine, resolve_dtype, to_xp
from .base import AbstractProblem, ArrayBacked, StationaryPoint

__all__ = [
    "Rosenbrock", "ThreeHumpCamel", "SixHumpCamel", "Himmelblau", "StyblinskiTang",
    "make_rosenbrock", "make_three_hump_camel", "make_six_hump_camel", "make_himmelblau", "make_styblinski_tang",
]

Array = Any


def _sp(x: float, y: float, kind: str, value: float, e1: float, e2: float) -> StationaryPoint:
    return StationaryPoint(x=(x, y), kind=kind, value=value, hessian_eigenvalues=(e1, e2))


# (x, y, kind, f, lambda_min, lambda_max), 19 significant digits (see module docstring)
_HIMMELBLAU = tuple(_sp(*r) for r in (
    (3.0, 2.0, "minimum", 0.0, 25.71572875253809902, 82.28427124746190098),
    (3.584428340330491745, -1.848126526964403554, "minimum", 0.0, 28.69067715675524401, 105.4189083363160505),
    (-2.805118086952744853, 3.131312518250572966, "minimum", 0.0, 64.84037277068419289, 80.5500717789331822),
    (-3.779310253377746892, -3.283185991286169412, "minimum", 0.0, 70.71435474424424947, 133.785615213067081),
    (3.385154183607020938, 0.07385187983774928772, "saddle", 13.31192627040558989, -14.13517848545048903,
     97.54787810260179935),
    (0.08667750455539635182, 2.884254701174776113, "saddle", 67.71915008752614023, -31.70662236277434434,
     75.50760923823200789),
    (-3.07302575076438961, -0.08135304428796751155, "saddle", 104.0151629175581059, -39.65149625621665047,
     72.43524806811874697),
    (-0.1279613467306800663, -1.953714980244576426, "saddle", 178.33723920192746, -50.61023932036576307,
     20.28404997593507688),
    (-0.270844590667347613, -0.9230385564799814631, "maximum", 181.616521522582704, -45.60522929278951585,
     -16.06601966729086832),
))


def _pm(x: float, y: float, kind: str, value: float, e1: float, e2: float) -> tuple[StationaryPoint, ...]:
    """A point and its mirror image (-x, -y) (the camels are odd-symmetric)."""
    if x == 0.0 and y == 0.0:
        return (_sp(x, y, kind, value, e1, e2),)
    return _sp(x, y, kind, value, e1, e2), _sp(-x, -y, kind, value, e1, e2)


_SIX_HUMP = tuple(itertools.chain.from_iterable(_pm(*r) for r in (
    (0.08984201310031806242, -0.7126564030207396334, "minimum", -1.03162845348987735, 7.682251413369076388,
     16.49319523222773067),
    (1.703606714969980849, -0.796083568672625119, "minimum", -0.2154638243837176376, 18.81713863516046149,
     22.69751500692889555),
    (1.60710475292019723, 0.5686514548841313714, "minimum", 2.104250310311258275, 7.121512120207151415,
     10.02160251618324962),
    (0.0, 0.0, "saddle", 0.0, -8.062257748298549652, 8.062257748298549652),
    (1.109205336804786447, -0.7682680925095398418, "saddle", 0.5437186009781851354, -7.902619119987386844,
     20.36673973912799957),
    (1.638067984189778564, 0.22867406904439407, "saddle", 2.229357197530714721, -5.545775017246524453,
     12.43666443635838723),
    (1.296070267167109183, 0.6050843880386584968, "saddle", 2.229470818029859923, -6.177182126967409031,
     9.637588488012841754),
    (1.230229876516652627, 0.16233458445899497, "maximum", 2.496295351023576934, -8.014907156539828521,
     -5.953724166834644825),
)))

_THREE_HUMP = tuple(itertools.chain.from_iterable(_pm(*r) for r in (
    (0.0, 0.0, "minimum", 0.0, 1.585786437626904951, 4.414213562373095049),
    (1.747552345830288899, -0.8737761729151444493, "minimum", 0.2986384422368598198, 1.902445154992816808,
     12.25064413690952665),
    (1.070542291823659973, -0.5352711459118299865, "saddle", 0.8773615577631401802, -4.038688172234972236,
     2.165598880332628784),
)))


@dataclass(frozen=True, kw_only=True, eq=False)
class _TestFunction(ArrayBacked, AbstractProblem):

    _data: ClassVar[str] = "ref"
    ref: Array  # default start on xp (fixes namespace, dtype and dim)
    x_star: Array | None = None
    f_star: Any = None
    stationary_points: tuple = ()
    name: str = "test_function"
    params: dict = field(default_factory=dict)

    def default_x0(self) -> Array:
        return self.ref


class _TwoD(_TestFunction):
    """f(x, y) given by ``_f``, ``_g`` (gradient pair) and ``_h`` (fxx, fxy, fyy)."""

    def _split(self, x: Array) -> tuple[Array, Array, Any]:
        return x[..., 0], x[..., 1], array_namespace(x)

    def value(self, x: Array) -> Array:
        a, b, xp = self._split(x)
        return self._f(a, b)

    def grad(self, x: Array) -> Array:
        a, b, xp = self._split(x)
        return xp.stack(self._g(a, b), axis=-1)

    def hvp(self, x: Array, v: Array) -> Array:
        a, b, xp = self._split(x)
        fxx, fxy, fyy = self._h(a, b)
        return xp.stack([fxx * v[..., 0] + fxy * v[..., 1], fxy * v[..., 0] + fyy * v[..., 1]], axis=-1)


@dataclass(frozen=True, kw_only=True, eq=False)
class ThreeHumpCamel(_TwoD):
    r"""Three-hump camel: :math:`f(x,y) = 2x^2 - 1.05x^4 + x^6/6 + xy + y^2`.

    Global minimum 0 at the origin, two local minima at :math:`\approx(\pm1.7476, \mp0.8738)`
    and two saddles at :math:`\approx(\pm1.0705, \mp0.5353)`; stationary points satisfy
    :math:`y = -x/2`, :math:`x^2 \in \{0, 2.1 \pm \sqrt{0.91}\}`.  Default start (-1.5, 1.5).
    Not globally L-smooth (degree 6).

    References
    ----------
    .. [1] M. Jamil, X.-S. Yang, "A literature survey of benchmark functions for global
           optimisation problems", Int. J. Math. Model. Numer. Optim. 4(2), 2013, no. 29.
    """

    name: str = "three_hump_camel"

    def _f(self, x, y):
        x2 = x * x
        return 2 * x2 - 1.05 * x2 * x2 + x2 * x2 * x2 / 6 + x * y + y * y

    def _g(self, x, y):
        x2 = x * x
        return [4 * x - 4.2 * x2 * x + x2 * x2 * x + y, x + 2 * y]

    def _h(self, x, y):
        x2 = x * x
        return 4 - 12.6 * x2 + 5 * x2 * x2, 1.0, 2.0


@dataclass(frozen=True, kw_only=True, eq=False)
class SixHumpCamel(_TwoD):
    r"""Six-hump camel: :math:`f(x,y) = (4 - 2.1x^2 + x^4/3)x^2 + xy + (4y^2 - 4)y^2`.

    Fifteen stationary points: six minima (two global, :math:`f^\star \approx -1.0316` at
    :math:`\approx(\pm0.0898, \mp0.7127)`), seven saddles (one at the origin) and two maxima.
    ``x_star = None`` (two global minima).  Default start (0, 0.5).

    References
    ----------
    .. [1] L. C. W. Dixon, G. P. Szegö, "The global optimization problem: an introduction",
           Towards Global Optimisation 2, North-Holland, 1978.
    """

    name: str = "six_hump_camel"

    def _f(self, x, y):
        x2, y2 = x * x, y * y
        return (4 - 2.1 * x2 + x2 * x2 / 3) * x2 + x * y + (4 * y2 - 4) * y2

    def _g(self, x, y):
        x2, y2 = x * x, y * y
        return [8 * x - 8.4 * x2 * x + 2 * x2 * x2 * x + y, x - 8 * y + 16 * y2 * y]

    def _h(self, x, y):
        x2 = x * x
        return 8 - 25.2 * x2 + 10 * x2 * x2, 1.0, -8 + 48 * y * y


@dataclass(frozen=True, kw_only=True, eq=False)
class Himmelblau(_TwoD):
    r"""Himmelblau: :math:`f(x,y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2`.

    Four global minima (value 0; one at (3, 2)), four saddles and one local maximum
    (:math:`\approx 181.617` at :math:`\approx(-0.2708, -0.9230)`).  ``x_star = None``.
    Default start (0, 0).

    References
    ----------
    .. [1] D. M. Himmelblau, *Applied Nonlinear Programming*, McGraw-Hill, 1972.
    """

    name: str = "himmelblau"

    def _f(self, x, y):
        p, q = x * x + y - 11, x + y * y - 7
        return p * p + q * q

    def _g(self, x, y):
        p, q = x * x + y - 11, x + y * y - 7
        return [4 * x * p + 2 * q, 2 * p + 4 * y * q]

    def _h(self, x, y):
        return 12 * x * x + 4 * y - 42, 4 * (x + y), 12 * y * y + 4 * x - 26


def _two_d(cls: type, points: tuple, x0: tuple, x_star: Any, f_star: float, xp: Any, dtype: Any) -> Any:
    dt = resolve_dtype(xp, dtype)
    return cls(ref=to_xp(np.asarray(x0), xp, dt), x_star=None if x_star is None else to_xp(x_star, xp, dt),
               f_star=f_star, stationary_points=points, params={})


def make_three_hump_camel(*, xp: Any = np, dtype: Any = None) -> ThreeHumpCamel:
    """The three-hump camel (see :class:`ThreeHumpCamel`)."""
    return _two_d(ThreeHumpCamel, _THREE_HUMP, (-1.5, 1.5), np.zeros(2), 0.0, xp, dtype)


def make_six_hump_camel(*, xp: Any = np, dtype: Any = None) -> SixHumpCamel:
    """The six-hump camel (see :class:`SixHumpCamel`)."""
    return _two_d(SixHumpCamel, _SIX_HUMP, (0.0, 0.5), None, _SIX_HUMP[0].value, xp, dtype)


def make_himmelblau(*, xp: Any = np, dtype: Any = None) -> Himmelblau:
    """Himmelblau's function (see :class:`Himmelblau`)."""
    return _two_d(Himmelblau, _HIMMELBLAU, (0.0, 0.0), None, 0.0, xp, dtype)


@dataclass(frozen=True, kw_only=True, eq=False)
class Rosenbrock(_TestFunction):
    r"""n-dimensional Rosenbrock function (the chained form).

    Notes
    -----
    .. math:: f(x) = \sum_{i=1}^{n-1} b\,(x_{i+1} - x_i^2)^2 + (a - x_i)^2

    Global minimum 0 at :math:`x_i = a^{2^{i-1}}` (all ones for a = 1).  For
    :math:`4 \le n \le 7` (a = 1, b = 100) there is exactly one more local minimum, near
    :math:`(-1, 1, \dots, 1)` [2]; it is found at construction by Newton's method from that
    guess and listed when its Hessian is positive definite.  The Hessian is tridiagonal:
    :math:`H_{ii} = 2 - 4b(x_{i+1} - 3x_i^2)\,[i<n] + 2b\,[i>1]`, :math:`H_{i,i+1} = -4b x_i`.
    Not globally L-smooth (quartic).  Default start :math:`(-1.2, 1, -1.2, 1, \dots)`.

    References
    ----------
    .. [1] H. H. Rosenbrock, "An automatic method for finding the greatest or least value of a
           function", Comput. J. 3(3):175-184, 1960.
    .. [2] S. Kok, C. Sandrock, "Locating and characterizing the stationary points of the
           extended Rosenbrock function", Evol. Comput. 17(3):437-453, 2009.
    """

    a: float = 1.0
    b: float = 100.0
    name: str = "rosenbrock"

    def value(self, x: Array) -> Array:
        xp = array_namespace(x)
        lo, hi = x[..., :-1], x[..., 1:]
        d, e = hi - lo * lo, self.a - lo
        return xp.sum(self.b * d * d + e * e, axis=-1)

    def grad(self, x: Array) -> Array:
        xp = array_namespace(x)
        lo, hi = x[..., :-1], x[..., 1:]
        d = hi - lo * lo
        zero = xp.zeros_like(x[..., :1])
        left = -4 * self.b * lo * d - 2 * (self.a - lo)  # d/dx_i of the i-th term, i < n
        right = 2 * self.b * d  # d/dx_{i+1} of the i-th term
        return xp.concat([left, zero], axis=-1) + xp.concat([zero, right], axis=-1)

    def hvp(self, x: Array, v: Array) -> Array:
        xp = array_namespace(x, v)
        lo, hi = x[..., :-1], x[..., 1:]
        zero = xp.zeros_like(x[..., :1])
        diag = (xp.concat([2 - 4 * self.b * (hi - 3 * lo * lo), zero], axis=-1)
                + xp.concat([zero, 2 * self.b + 0 * hi], axis=-1))
        off = -4 * self.b * lo  # H_{i,i+1}
        up = xp.concat([off * v[..., 1:], zero], axis=-1)  # H_{i,i+1} v_{i+1}
        down = xp.concat([zero, off * v[..., :-1]], axis=-1)  # H_{i+1,i} v_i
        return diag * v + up + down


def _host_hessian(problem: AbstractProblem, x: np.ndarray) -> np.ndarray:
    return np.asarray(problem.hessian(np.asarray(x, dtype=np.float64)), dtype=np.float64)


def _point(problem: AbstractProblem, x: np.ndarray) -> StationaryPoint:
    eigs = np.linalg.eigvalsh(_host_hessian(problem, x))
    return StationaryPoint(x=tuple(float(v) for v in x), kind=kind_from_eigenvalues(eigs),
                           value=float(problem.value(np.asarray(x))), hessian_eigenvalues=tuple(float(e) for e in eigs))


def make_rosenbrock(dim: int = 2, *, a: float = 1.0, b: float = 100.0, xp: Any = np, dtype: Any = None) -> Rosenbrock:
    """Rosenbrock in ``dim >= 2`` variables (see :class:`Rosenbrock`); stationary points are
    computed on the host at construction."""
    dim = check_int("dim", dim, 2)
    check_range("a", a)
    check_range("b", b, 0.0, lo_open=True)
    x0 = np.where(np.arange(dim) % 2 == 0, -1.2, 1.0)
    host = Rosenbrock(ref=np.asarray(x0), a=float(a), b=float(b))
    xs = float(a) ** (2.0 ** np.arange(dim))
    points = [_point(host, xs)]
    if 4 <= dim <= 7 and a == 1.0 and b == 100.0:
        guess = np.ones(dim)
        guess[0] = -1.0
        local = newton_refine(host.grad, lambda z: _host_hessian(host, z), guess)
        p = _point(host, local)
        if p.kind == "minimum" and np.linalg.norm(host.grad(local)) < 1e-8:
            points.append(p)
    dt = resolve_dtype(xp, dtype)
    return Rosenbrock(ref=to_xp(x0, xp, dt), x_star=to_xp(xs, xp, dt), f_star=0.0, stationary_points=tuple(points),
                      a=float(a), b=float(b), params=dict(dim=dim, a=float(a), b=float(b)))


@dataclass(frozen=True, kw_only=True, eq=False)
class StyblinskiTang(_TestFunction):
    r"""Styblinski–Tang function: :math:`f(x) = \tfrac12\sum_i (x_i^4 - 16x_i^2 + 5x_i)`.

    Separable: each coordinate sits at a root of :math:`4t^3 - 32t + 5 = 0`
    (:math:`t \approx -2.9035, 0.1567, 2.7468`), so there are :math:`3^n` stationary points; the
    Hessian is diagonal with entries :math:`6x_i^2 - 16` (positive at the outer roots, negative
    at the middle one).  Global minimum :math:`\approx -39.166\,n` at all :math:`t_1`.  All
    :math:`3^n` points are listed for n <= 4, otherwise the global minimum and the maximum.

    References
    ----------
    .. [1] M. A. Styblinski, T.-S. Tang, "Experiments in nonconvex optimization: stochastic
           approximation with function smoothing and simulated annealing", Neural Networks
           3(4):467-483, 1990.
    """

    name: str = "styblinski_tang"

    def value(self, x: Array) -> Array:
        xp = array_namespace(x)
        x2 = x * x
        return 0.5 * xp.sum(x2 * x2 - 16 * x2 + 5 * x, axis=-1)

    def grad(self, x: Array) -> Array:
        return 2 * x * x * x - 16 * x + 2.5

    def hvp(self, x: Array, v: Array) -> Array:
        return (6 * x * x - 16) * v


def _styblinski_roots() -> np.ndarray:
    """The three real roots of 4t^3 - 32t + 5, refined by Newton to round-off."""
    roots = np.sort(np.real(np.roots([4.0, 0.0, -32.0, 5.0])))
    for _ in range(3):
        roots = roots - (4 * roots**3 - 32 * roots + 5) / (12 * roots**2 - 32)
    return roots


def make_styblinski_tang(dim: int = 2, *, xp: Any = np, dtype: Any = None) -> StyblinskiTang:
    """Styblinski–Tang in ``dim >= 1`` variables (see :class:`StyblinskiTang`).  Default start 0."""
    dim = check_int("dim", dim, 1)
    t = _styblinski_roots()
    phi = 0.5 * (t**4 - 16 * t**2 + 5 * t)
    curv = 6 * t**2 - 16
    combos = itertools.product(range(3), repeat=dim) if dim <= 4 else [(0,) * dim, (1,) * dim]
    points = []
    for c in combos:
        idx = np.asarray(c)
        eig = np.sort(curv[idx])
        points.append(StationaryPoint(x=tuple(float(v) for v in t[idx]), kind=kind_from_eigenvalues(eig),
                                      value=float(np.sum(phi[idx])), hessian_eigenvalues=tuple(float(e) for e in eig)))
    points.sort(key=lambda p: p.value)
    dt = resolve_dtype(xp, dtype)
    return StyblinskiTang(ref=to_xp(np.zeros(dim), xp, dt), x_star=to_xp(np.full(dim, t[0]), xp, dt),
                          f_star=float(dim * phi[0]), stationary_points=tuple(points), params=dict(dim=dim))
