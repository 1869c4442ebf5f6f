"""No silent no-ops, proved over the whole registry (issue 14, part 1).

For every registered rule (and every wrapper around Adam), every field and every alternative
value of it, in the default configuration and in each configuration one field away from it:
giving the value explicitly either changes the trajectory on a small problem (not bitwise
equal over ``STEPS`` updates) or is refused with an error that names the field.  The fields,
their types and their defaults come from the dataclasses, so a new rule is covered as soon as
it is registered; a field whose alternative values cannot be derived from its type and
default makes the test fail (add it to ``ALTERNATIVES``), never skip.

Some fields are read only once the run reaches a state: a switch that has happened (SWATS's
``nesterov``), a second moment that has fallen (``amsgrad``), a schedule factor other than 1
(``rescale_final_lr``).  When the plain comparison shows no change, the same comparison is
repeated in other *regimes*: under ``with_schedule(..., "inverse_sqrt")``, on a persistently
noisy gradient sequence, and with the per-rule settings in ``REGIMES``.  A regime never
sets a field that decides what is read (a field named in the rule's ``reads`` conditions:
``momentum`` for SGD's ``dampening``, ``wd`` for ``decoupled_wd``, ...), so a configuration
no-op stays ignored in every regime and is reported.

A second test keeps the first from passing vacuously: every field changes the trajectory in
at least one configuration (default, one or two fields away), so the alternatives are values
the rules accept and read.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import typing

import numpy as np
import pytest

from precond_theory import rules
from precond_theory.rules.base import _is_hyper
from precond_theory.rules.wrappers import WithProjection, WithSchedule, WithWeightDecay, make_schedule

STEPS = 30
_Q = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))[0]
A = (_Q * np.array([0.5, 1.0, 3.0, 10.0])) @ _Q.T  # SPD, not diagonal (Hutchinson's probe matters)
C = np.array([0.3, -1.0, 2.0, 0.1])
X0 = np.array([1.0, -0.5, 0.2, 2.0])
#: Gradient scale per update: large for three updates, then small, so that second moments fall
#: (AMSGrad's running max matters) and old momentum outweighs new gradients (sign methods).
SCALE = np.where(np.arange(STEPS) < 3, 10.0, 0.3)
#: A fixed decaying perturbation of the gradients (sign flips, non-monotone moments) and, for
#: the "noisy" regime, a persistent one.
NOISE = 2.0 * np.random.default_rng(1).standard_normal((STEPS, 4)) * 0.8 ** np.arange(STEPS)[:, None]
NOISY = 3.0 * np.random.default_rng(2).standard_normal((STEPS, 4))


def _field(y, k, noisy=False):
    """f = (y-c)^T A (y-c)/2 + sum(y^4)/40: value, gradient (scaled and perturbed at update k), HVP."""
    r = y - C
    value = 0.5 * r @ A @ r + 0.025 * np.sum(y**4)
    g = SCALE[k] * (A @ r + 0.1 * y**3) + (NOISY[k] if noisy else NOISE[k])
    return value, g, (lambda v: A @ v + 0.3 * y**2 * v)


#: Alternatives that cannot be derived from a field's type and default: by (class, field) or field.
ALTERNATIVES = {
    ("WithSchedule", "schedule"): [make_schedule("inverse_sqrt")],
    "switch_tol": [1.0],  # a loose switch test, so that the switch happens within STEPS
    "switch_atol": [1e-7],  # switches within STEPS on the plain problem, not on the noisy one
    "step_min": [0.005],  # a floor reached after two shrinks
    "step_max": [0.02],  # a cap that binds within STEPS
    "power": [1.0, 0.5],
    "delta": [3.0, 100.0],
    ("AGD", "delta"): [20.0],
    ("SOAA", "gamma"): [0.45],
    ("AdaRem", "b1"): [0.99],
    ("AdaRem", "resilience"): [0.5, 0.0],  # a small m, so that normalizer="none" does not saturate its clip
    "cap": [8.0],
    "total_steps": [10],
    "switch_at": [5, 0],
    "blocks": [2, (3, 1)],
    "warmup_steps": [5, 0],
    "n_sma_threshold": [8],
    "diag": [np.array([1.0, 2.0, 0.5, 3.0])],
    "matrix": [np.diag([1.0, 2.0, 0.5, 3.0]) + 0.1],
    "source": [rules.make("rmsprop", lr=0.05)],
    "box": [(-0.3, 0.3), (-0.5, 0.5)],
    "ball": [0.5, 0.8],
    "seed": [1],
}
#: Values that need a companion to be valid: (class, field, value) -> extra keywords.
COMPANIONS = {("SOAA", "fisher_sums", "per_block"): {"blocks": 2}}
#: Per-rule settings in which value-dependent branches are reached within STEPS (a switch that
#: happens, a warmup that ends, bounds that bind); used only to tell a value-dependent read from
#: a no-op, and never containing a field that decides what is read (checked below).
REGIMES = {
    "apollo": [{"lr": 5.0}, {"init_lr": 1.0}],
    "adabound": [{"lr": 0.05, "gamma": 1e-5}],
    "swats": [{"switch_atol": 1.0, "b2": 0.5}, {"b2": 0.5}],
    "hadapgradm": [{"lr": 0.1, "gamma": 0.3}, {"lr": 0.1, "delta": 0.5, "b1": 0.5}, {"lr": 0.1, "switch_tol": 1.0}],
    "adapgradm": [{"lr": 0.1, "delta": 0.5}],
    "soaa": [{"lr": 0.05, "d0": 0.01}, {"b1": 0.5}],
    "lion": [{"lr": 0.05}],
    "signsgd": [{"lr": 0.05}],
    "rprop": [{"eta_plus": 3.0}, {"eta_minus": 0.1}],
}


def _numeric_alternative(d: float) -> float:
    if d == 0:
        return 0.3
    if d == math.inf:
        return 1.0
    if d < 1e-3:
        return d * 1e4  # eps-like: a change visible above round-off
    if d < 1:
        return d / 2
    return d * 2


def alternatives(cls, f: dataclasses.Field) -> list:
    """Explicit values for field ``f`` other than its default."""
    for key in ((cls.__name__, f.name), f.name):
        if key in ALTERNATIVES:
            return [v for v in ALTERNATIVES[key] if not _same(v, f.default)]
    hint = typing.get_type_hints(cls, include_extras=True)[f.name]
    d = f.default
    if hint is bool:
        out = [not d]
    elif typing.get_origin(hint) is typing.Literal:
        out = [v for v in typing.get_args(hint) if v != d]
    elif (_is_hyper(hint) or hint in (float, int)) and isinstance(d, (int, float)) and not isinstance(d, bool):
        alt = _numeric_alternative(float(d))
        out = [int(alt) if hint is int else alt]
    else:
        raise AssertionError(f"{cls.__name__}.{f.name}: no alternative value known for type {hint!r} and default "
                             f"{d!r}; add one to ALTERNATIVES in {__name__}")
    return out


def _same(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray) or callable(a) or callable(b):
        return False
    return type(a) is type(b) and a == b


# --------------------------------------------------------------------- the rules under test
def _wrapped(wrapper):
    return lambda **kw: wrapper(inner=rules.make("adam", lr=0.05), **kw)


#: name -> (factory(**kwargs), class whose fields are walked, fields not walked)
SUBJECTS = {name: (functools.partial(rules.make, name), rules.get(name), ()) for name in rules.available()}
SUBJECTS.update({
    "with_weight_decay(adam)": (_wrapped(WithWeightDecay), WithWeightDecay, ("inner",)),
    "with_schedule(adam)": (_wrapped(WithSchedule), WithSchedule, ("inner",)),
    "with_projection(adam)": (_wrapped(WithProjection), WithProjection, ("inner",)),
})


def _cls(subject):
    return SUBJECTS[subject][1]


def _fields(subject):
    _, cls, skip = SUBJECTS[subject]
    return [f for f in dataclasses.fields(cls) if f.name not in skip]


def _alts(subject, f):
    return alternatives(_cls(subject), f)


def _setting(subject, field, value):
    """``{field: value}`` plus the companions that value needs."""
    key = (_cls(subject).__name__, field, _hashable(value))
    return {field: value, **COMPANIONS.get(key, {})}


def _regimes(subject):
    """("plain", None) first, then every (problem variant, REGIMES index) pair."""
    return [(kind, i) for i in (None, *range(len(REGIMES.get(subject, [])))) for kind in ("plain", "schedule", "noisy")]


def _build(subject, kwargs, regime=("plain", None)):
    """(rule, None) or (None, error) for the subject with ``kwargs`` in ``regime``."""
    factory, cls, _ = SUBJECTS[subject]
    kind, i = regime
    extra = {} if i is None else REGIMES[subject][i]
    unread = cls.unread({**extra, **kwargs})  # a regime sets its fields only where they are read
    extra = {k: v for k, v in extra.items() if k not in unread or k in kwargs}
    try:
        rule = factory(**{**extra, **kwargs})
    except (TypeError, ValueError) as err:
        return None, err
    return (rules.with_schedule(rule, "inverse_sqrt") if kind == "schedule" else rule), None


_TRAJECTORIES: dict = {}


def trajectory(subject, kwargs, regime=("plain", None)):
    """Iterates x_1..x_STEPS of the rule on the test objective (cached)."""
    key = (subject, regime, tuple(sorted((k, _hashable(v)) for k, v in kwargs.items())))
    if key not in _TRAJECTORIES:
        rule, err = _build(subject, kwargs, regime)
        assert err is None, err
        x, st, out = X0.copy(), rule.init(X0.copy()), []
        with np.errstate(all="ignore"):
            for k in range(STEPS):
                value, g, hvp = _field(rule.query(x, st), k, noisy=regime[0] == "noisy")
                dx, st = rule.update(g, st, x, value=value, hvp=hvp)
                x = x + dx
                out.append(x)
        _TRAJECTORIES[key] = np.stack(out)
    return _TRAJECTORIES[key]


def _hashable(v):
    if isinstance(v, np.ndarray):
        return ("array", v.tobytes(), v.shape)
    if callable(v) or isinstance(v, rules.AbstractRule):
        return ("object", id(v))  # the module-level alternatives above live as long as the cache
    return v


def configurations(subject):
    """The default configuration and every configuration one field away from it, where they build."""
    out = [{}] if _build(subject, {})[1] is None else []
    for f in _fields(subject):
        for v in _alts(subject, f):
            if _build(subject, _setting(subject, f.name, v))[1] is None:
                out.append(_setting(subject, f.name, v))
    return out


def outcome(subject, config, field, value):
    """'changed', 'refused' (naming the field), 'ignored' (bitwise-equal trajectories in every
    regime) or 'error: ...' (a refusal that does not name the field)."""
    kwargs = {**config, **_setting(subject, field, value)}
    rule, err = _build(subject, kwargs)
    if err is not None:
        return "refused" if field in str(err) else f"error: {type(err).__name__}: {err}"
    for regime in _regimes(subject):
        if _build(subject, kwargs, regime)[1] is not None or _build(subject, config, regime)[1] is not None:
            continue
        if not np.array_equal(trajectory(subject, kwargs, regime), trajectory(subject, config, regime),
                              equal_nan=True):
            return "changed"
    return "ignored"


def _effective(subject, config, field):
    """The value the rule built from ``config`` holds for ``field`` (after options it selects)."""
    rule, _ = _build(subject, config)
    if rule is None:
        return config.get(field, next(f.default for f in _fields(subject) if f.name == field))
    return getattr(rule, field)


def findings(subject):
    """Every (configuration, field, value) whose explicit value is ignored or refused unclearly."""
    bad = []
    for config in configurations(subject):
        for f in _fields(subject):
            current = _effective(subject, config, f.name)
            alts = [v for v in _alts(subject, f) if not _same(v, current)]
            results = [outcome(subject, config, f.name, v) for v in alts]
            if f.default is None:  # resolved from the configuration: one value may be the resolved one
                if results and all(o == "ignored" for o in results):
                    bad.append((config, f.name, "every alternative", "ignored"))
                results = [o if o != "ignored" else "changed" for o in results]
            bad += [(config, f.name, v, o) for v, o in zip(alts, results) if o not in ("changed", "refused")]
    return bad


@pytest.mark.parametrize("subject", list(SUBJECTS))
def test_every_explicit_value_changes_the_trajectory_or_is_refused(subject):
    bad = findings(subject)
    assert not bad, f"{subject}: {len(bad)} silent no-op(s) or unclear refusal(s):\n" + "\n".join(
        f"  config {c}: {field}={v!r} -> {o}" for c, field, v, o in bad)


@pytest.mark.parametrize("subject", list(SUBJECTS))
def test_every_field_is_read_somewhere(subject):
    """Non-vacuity: each field (except one fixed by a preset) changes the trajectory in some
    configuration (default, one or two fields away), so the alternatives above are values the
    rule accepts and reads."""
    cls = _cls(subject)
    singles = configurations(subject)
    pairs = None
    unread = []
    for f in _fields(subject):
        if f.name in cls.preset:
            continue

        def read_in(config, f=f):
            current = _effective(subject, config, f.name)
            values = [v for v in [f.default, *_alts(subject, f)] if not _same(v, current)]
            return any(outcome(subject, config, f.name, v) == "changed" for v in values)

        if any(read_in(c) for c in singles):
            continue
        if pairs is None:  # two fields away, built only when needed
            option_alts = [(g.name, v) for g in _fields(subject) for v in _alts(subject, g)]
            pairs = [{**_setting(subject, a, u), **_setting(subject, b, w)}
                     for (a, u), (b, w) in itertools.combinations(option_alts, 2) if a != b]
            pairs = [c for c in pairs if _build(subject, c)[1] is None]
        if not any(read_in(c) for c in pairs):
            unread.append(f.name)
    assert not unread, f"{subject}: field(s) {unread} never change the trajectory; fix ALTERNATIVES or the rule"


@pytest.mark.parametrize("subject", sorted(REGIMES))
def test_regimes_never_set_a_field_that_decides_what_is_read(subject):
    deciding = {name for need in _cls(subject).reads.values() for name in need.fields}
    for regime in REGIMES[subject]:
        assert not deciding & set(regime), f"{subject}: regime {regime} sets {deciding & set(regime)}"
