"""Sweeps: a declared grid of rules x hyperparameters x seeds on a problem, run batched in
chunks (locally or on Dask), cached as verified Parquet parts, merged into one tidy table.

See ``docs/sweeps.md`` (config format, cache key, failure behaviour) and
``docs/distributed.md`` (Dask).  Modules: :mod:`.config` (reading and validation),
:mod:`.plan` (chunks, one batched ``run`` each), :mod:`.store` (cache keys, atomic verified
parts), :mod:`.runner` (``run_sweep``), :mod:`.summary` (per-configuration summaries).
"""

from .config import SweepConfig, default_config_path, load_config, problem_from_spec, rule_from_spec, swept_keys
from .plan import Chunk, compute_chunk, configurations, plan_chunks
from .runner import SweepError, SweepWriteError, run_sweep
from .summary import configuration_labels, summarize

__all__ = ["SweepConfig", "load_config", "default_config_path", "run_sweep", "rule_from_spec", "problem_from_spec",
           "swept_keys", "Chunk", "plan_chunks", "compute_chunk", "configurations", "SweepError", "SweepWriteError",
           "summarize", "configuration_labels"]
