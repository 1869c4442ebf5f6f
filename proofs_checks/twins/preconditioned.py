r"""Twin of preconditioned (Ye's p = Pz view): :math:`p \leftarrow p - \eta M\nabla L(p)`.

From ``docs/spec/ye_preconditioning.md`` ("Preconditioned GD ≡ GD in z"): M fixed (a diagonal or a
dense matrix, given as numbers in the case), the identity, or the diagonal preconditioner of a
source rule advanced with the same gradient — RMSProp's :math:`1/(\sqrt{v_t}+\epsilon)` or
Adam's :math:`1/(\sqrt{v_t/(1-\beta_2^t)}+\epsilon)` (§0), written here again from the spec.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import sympy as sp

from .base import Case, Twin, V, register_twin, sqrt

_DIAG = np.array([0.5, 2.0, 1.25])
_A = np.array([[1.0, 0.3, -0.2], [0.0, 0.8, 0.4], [0.0, 0.0, 1.5]])
_MATRIX = _A @ _A.T  # SPD


def _sources():
    from precond_theory.rules import make

    return make("rmsprop", lr=0.5, alpha=0.8, eps=0.05), make("adam", lr=0.5, b1=0.7, b2=0.9, eps=0.05)


def _cases():
    rms, adam = _sources()
    return (
        Case(label="identity (gradient descent)"),
        Case(options={"diag": _DIAG}, label="fixed diagonal"),
        Case(options={"matrix": _MATRIX}, label="fixed dense SPD matrix"),
        Case(options={"source": rms}, label="RMSProp's diagonal"),
        Case(options={"source": adam}, label="Adam's diagonal"),
    )


@register_twin("preconditioned")
class PreconditionedTwin(Twin):
    r""":math:`p_{k+1} = p_k - \eta M_k g_k`, M the identity, a fixed diag/matrix, or a source's diagonal."""

    source = "docs/spec/ye_preconditioning.md (preconditioned GD) and §0 (RMSProp, Adam)"
    hyper: ClassVar[dict[str, Any]] = {"lr": (0.05, 0.5)}
    cases = _cases()
    display_n = 3  # the fixed diagonal and matrix of the cases are 3-dimensional

    def init(self, x, P):
        n = len(x)
        src = P.source
        if src is None:
            if P.matrix is not None:
                p = V(np.diag(P.matrix))
            else:
                p = V(P.diag) if P.diag is not None else V.full(n, 1)
            return {"p": p, "source": None}
        z = V.full(n, 0)
        if src.name == "rmsprop":
            return {"p": None, "source.v": z, "source.gbar": None, "source.b": None}
        return {"p": None, "source.m": z, "source.v": z, "source.vmax": None}

    def step(self, t, g, state, x, P, value=None, hvp=None):
        src = P.source
        if src is None:
            if P.matrix is not None:
                M = sp.Matrix(P.matrix.tolist())
                Mg = M * sp.Matrix(g.e)
                return -P.lr * V(list(Mg)), {"p": state["p"], "source": None}
            return -P.lr * state["p"] * g, {"p": state["p"], "source": None}
        if src.name == "rmsprop":  # v_t = alpha v + (1-alpha) g^2; P = 1/(sqrt(v_t) + eps)
            a, eps = sp.Float(src.alpha), sp.Float(src.eps)
            v = a * state["source.v"] + (1 - a) * g * g
            M = 1 / (sqrt(v) + eps)
            P.note("M_t", M)
            return -P.lr * M * g, {"p": None, "source.v": v, "source.gbar": None, "source.b": None}
        b1, b2, eps = sp.Float(src.b1), sp.Float(src.b2), sp.Float(src.eps)
        m = b1 * state["source.m"] + (1 - b1) * g
        v = b2 * state["source.v"] + (1 - b2) * g * g
        M = 1 / (sqrt(v / (1 - b2**t)) + eps)  # Adam's preconditioner of m-hat, applied to g
        P.note("M_t", M)
        return -P.lr * M * g, {"p": None, "source.m": m, "source.v": v, "source.vmax": None}
