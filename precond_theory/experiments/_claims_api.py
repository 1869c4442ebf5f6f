"""The one place the experiments touch the claim-checking API (``claims`` and ``rates``).

Everything the experiments need from a claim check goes through :func:`get_claim`,
:func:`check` and :func:`record`, so a change of that API is a change here only.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["get_claim", "catalog", "check", "record", "VERDICTS"]

VERDICTS = ("consistent", "violated", "inconclusive")


def catalog() -> dict[str, Any]:
    from ..claims import catalog as _catalog

    return _catalog()


def get_claim(name: str) -> Any:
    from ..claims import get_claim as _get

    return _get(name)


def check(claim: Any, **kw: Any) -> tuple[Any, Any]:
    """Run the claim's check; returns ``(RateCheck, Trace or list of Traces)``."""
    from ..rates import check_claim

    return check_claim(claim, return_trace=True, **kw)


def record(rc: Any) -> dict[str, Any]:
    """The verdict of a claim check as plain data (for verdict.json and the report)."""
    c = rc.claim
    fitted = rc.order if c.shape == "power" else rc.rate
    verdict = str(rc.verdict).split(":")[0].strip()
    if verdict not in VERDICTS:
        raise ValueError(f"unexpected verdict {rc.verdict!r} from the claim check")
    return {
        "verdict": verdict, "reason": str(rc.reason), "claim": c.name, "law": c.law(),
        "claim_fidelity": str(c.fidelity).upper(), "statement": c.statement, "source": c.source,
        "fitted": None if fitted is None or (isinstance(fitted, float) and math.isnan(fitted)) else float(fitted),
        "interval": rc.interval_text, "claimed": None if rc.claimed is None else float(rc.claimed),
        "n_runs": int(getattr(rc, "n_runs", 0)),
    }
