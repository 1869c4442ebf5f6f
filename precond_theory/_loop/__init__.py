"""Internals of :func:`precond_theory.run`, the project's one stepping loop.

* :mod:`.setup` — batch shape, per-run seeds and starts, projection onto a feasible set, kernel
  choice (reference array-API step, a compiled step or compiled segments from
  :mod:`precond_theory.fast`);
* :mod:`.memory` — the memory estimate checked before anything is allocated;
* :mod:`.core` — the loop: what happens every step (query, oracle, step, ``x += dx``) and, at
  record points only, one call of the recorder and of the health checks;
* :mod:`.record` — what is recorded at record points, into preallocated buffers;
* :mod:`.health` — divergence (non-finite values, monotone blow-up), 0/0 at a zero gradient,
  negative gaps.
"""
