"""Thin re-export of :mod:`precond_theory.verify.claims` (the claim schema and the catalog)."""

from .verify.claims import (
    DECAYING_METRICS,
    KNOWN_METRICS,
    Claim,
    Setup,
    catalog,
    claims_from_dict,
    evaluate_expression,
    get_claim,
    load_claims,
)

__all__ = ["Claim", "Setup", "KNOWN_METRICS", "DECAYING_METRICS", "catalog", "get_claim", "load_claims",
           "claims_from_dict", "evaluate_expression"]
