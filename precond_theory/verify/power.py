r"""Power of a claim's check: how often it rejects each declared mutant, and how often it accepts
the unmutated rule, over independent replicates of the experiment.

For a claim with a stochastic oracle, ``replicates`` copies of the whole experiment (each with the
setup's number of seeds) run in **one** batched call per rule (:func:`check_claim` with
``replicates=``); the rejection rate of a mutant is the fraction of replicates whose verdict is
``violated``, with an exact (Clopper–Pearson) interval.  Exact runs without an oracle are
deterministic: one run decides, and the row says so (no interval is claimed).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .claims import Claim
from .mutants import MutantNotApplicable, MutantRefused, check_names
from .runner import check_claim
from .verdict import as_claim

__all__ = ["PowerRow", "power", "clopper_pearson", "lower_bound", "replicates_for", "TRUE_RULE", "TARGET"]

#: Label of the unmutated rule's row.
TRUE_RULE = "(unmutated)"
#: Target power (rejection of each declared mutant, acceptance of the true rule).
TARGET = 0.95


def clopper_pearson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact two-sided interval of a binomial proportion."""
    from scipy import stats

    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    a = 1 - level
    lo = 0.0 if successes == 0 else float(stats.beta.ppf(a / 2, successes, n - successes + 1))
    hi = 1.0 if successes == n else float(stats.beta.ppf(1 - a / 2, successes + 1, n - successes))
    return lo, hi


def lower_bound(successes: int, n: int, level: float = 0.95) -> float:
    """One-sided exact (Clopper–Pearson) lower confidence bound of a binomial proportion:
    ``n`` of ``n`` gives ``(1 - level) ** (1 / n)`` (0.9505 at n = 59, level 0.95)."""
    from scipy import stats

    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must lie in [0, n]; got successes={successes!r}, n={n!r}")
    return 0.0 if successes == 0 else float(stats.beta.ppf(1 - level, successes, n - successes + 1))


def replicates_for(target: float = 0.95, level: float = 0.95) -> int:
    """The fewest replicates whose all-successes one-sided lower bound reaches ``target``
    (59 for 0.95 at level 0.95): fewer cannot support power >= target, whatever they show."""
    return int(math.ceil(math.log(1 - level) / math.log(target)))


@dataclass(frozen=True)
class PowerRow:
    """One claim x rule row: ``rate`` is the rejection rate (``violated``) of a declared mutant, the
    rate of ``inconclusive: assumption ... does not hold`` of a mutant ``outside`` the theorem, or
    the acceptance rate (``consistent``) of the unmutated rule (its refutation rate for a known-false
    claim); ``ci`` its two-sided exact interval and ``lower`` its one-sided exact lower bound at the
    same level (what supports "power >= 0.95"); ``status`` is ``"ok"``, ``"insensitive"`` (declared
    by the claim, with the reason in ``note``; not run), ``"not applicable"``, ``"refused"`` (the
    rule's validation refuses the mutant) or ``"error"``."""

    claim: str
    mutant: str
    status: str
    expect: str = "violated"
    n: int = 0
    deterministic: bool = False
    rate: float = math.nan
    ci: tuple[float, float] = (math.nan, math.nan)
    counts: dict[str, int] = field(default_factory=dict)
    note: str = ""
    lower: float = math.nan

    @property
    def meets_target(self) -> bool:
        """Deterministic rows: the one run hits; stochastic rows: the one-sided lower bound reaches
        :data:`TARGET` (needs at least :func:`replicates_for` replicates)."""
        if self.status != "ok":
            return False
        return self.rate >= TARGET if self.deterministic else self.lower >= TARGET

    def cells(self) -> list[str]:
        """Table cells: claim, rule, n, rate, interval, one-sided lower bound, target, verdict counts, note."""
        if self.status != "ok":
            target = "cannot detect" if self.status == "insensitive" else "-"
            return [self.claim, self.mutant, "-", self.status, "-", "-", target, "-", self.note]
        what = {"consistent": "accepts", "violated": "rejects", "outside": "flags outside"}[self.expect]
        if self.mutant == TRUE_RULE and self.expect == "violated":
            what = "refutes (false claim)"
        ci = "deterministic" if self.deterministic else f"[{self.ci[0]:.3f}, {self.ci[1]:.3f}]"
        lower = "-" if self.deterministic else f"{self.lower:.3f}"
        target = ("met" if self.meets_target else "NOT met") + (f" (>= {TARGET:g})" if not self.deterministic else "")
        counts = ", ".join(f"{v} {k}" for k, v in sorted(self.counts.items()))
        return [self.claim, self.mutant, str(self.n), f"{what} {self.rate:.2f}", ci, lower, target, counts, self.note]


def _hit(rc: Any, expect: str) -> bool:
    if expect == "outside":
        return rc.verdict == "inconclusive" and rc.reason.startswith("assumption ")
    return rc.verdict == expect


def _row(name: str, mutant: str, rcs: list[Any], level: float, expect: str) -> PowerRow:
    counts = Counter(rc.verdict for rc in rcs)
    k, n = sum(_hit(rc, expect) for rc in rcs), len(rcs)
    deterministic = n == 1
    ci = (k / n, k / n) if deterministic else clopper_pearson(k, n, level)
    lower = k / n if deterministic else lower_bound(k, n, level)
    note = ""
    if k < n:  # the first verdict that missed, in words
        miss = next(rc for rc in rcs if not _hit(rc, expect))
        note = f"{miss.verdict}: {miss.reason[:160]}"
    elif expect == "outside":
        note = rcs[0].reason[:160]
    return PowerRow(name, mutant, "ok", expect, n, deterministic, k / n, ci, dict(counts), note, lower)


def power(claim: Claim | str, *, mutants: Sequence[str] | None = None, replicates: int = 20, level: float = 0.95,
          seed: int = 0, **overrides: Any) -> list[PowerRow]:
    """Rejection rate of each mutant (default: the claim's declared ``mutants``), rate at which each
    mutant ``outside`` the theorem is flagged inconclusive by a failed assumption, and acceptance
    rate of the unmutated rule on the claim's setup, over ``replicates`` independent replicates;
    the claim's declared ``insensitive`` mutants are listed (status ``"insensitive"``, the reason
    as note) without running.

    ``overrides`` (``steps``, ``seeds``, ``horizons``) are passed to :func:`check_claim`.
    """
    c = as_claim(claim)
    if c.setup is None:
        raise ValueError(f"claim {c.name or '(unnamed)'} has no setup to run; power needs one")
    names = check_names(c.mutants if mutants is None else tuple(mutants), "mutants")
    outside = () if mutants is not None else c.outside
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise ValueError(f"replicates must be a positive integer; got replicates={replicates!r}")
    rows = []
    # a known-false claim must be refuted on its setup: its unmutated row counts 'violated'
    plan = [(None, "violated" if c.fidelity == "false" else "consistent")]
    plan += [(m, "violated") for m in names] + [(m, "outside") for m in outside]
    for m, expect in plan:
        label = TRUE_RULE if m is None else m
        try:
            rcs = check_claim(c, mutant=m, replicates=replicates, level=level, seed=seed, **overrides)
        except MutantNotApplicable as exc:
            rows.append(PowerRow(c.name, label, "not applicable", expect, note=str(exc)))
            continue
        except MutantRefused as exc:
            rows.append(PowerRow(c.name, label, "refused", expect, note=str(exc)))
            continue
        except (ValueError, TypeError, FloatingPointError) as exc:
            rows.append(PowerRow(c.name, label, "error", expect, note=str(exc)[:200]))
            continue
        rows.append(_row(c.name, label, rcs, level, expect))
    if mutants is None:
        rows += [PowerRow(c.name, m, "insensitive", "consistent", note=why) for m, why in c.insensitive.items()]
    return rows
