"""Executors: run a function over many items, locally or on a Dask cluster, with a cache.

One small API serves sweeps, claims' power studies and adversarial searches::

    from precond_theory.executors import get_executor

    with get_executor("local:2") as ex:                 # None: in this process
        outcomes = ex.map(fn, items, keys=keys, store=store)

``fn(item)`` must be a picklable top-level function (it runs in another process under Dask).
``store`` (optional) is any object with ``load(key, item) -> (value, reason)`` — ``(value,
None)`` for a valid cached result, ``(None, reason)`` otherwise (``"missing"`` when absent) —
and ``save(key, item, value)``.  Cached items are not recomputed; every computed result is
saved **by the caller's process** (the client), once, as soon as it arrives, so a killed
client loses only unfinished items and a result is never written twice (a retried task's
duplicate result is never delivered twice by Dask).  A failing item does not stop the others:
its :class:`Outcome` carries the exception.  An error while saving (disk full) stops the map.

Schedulers: ``None`` runs in this process; ``"local"`` or ``"local:N"`` starts a Dask
``LocalCluster`` of N single-threaded worker processes (default: one per core) listening on
127.0.0.1 only, closed on exit; ``"tcp://HOST:PORT"`` (or ``tls://``) connects to a running
scheduler, failing with :class:`ConnectionError` after ``timeout`` seconds.  Under Dask, a task
that raises is retried ``retries`` times, and a task whose worker dies is rescheduled on another
worker (Dask's ``allowed-failures``).
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["get_executor", "parse_scheduler", "local_cluster", "Outcome", "Store", "LocalExecutor", "DaskExecutor"]


class Store:
    """What ``map`` expects of a store (duck-typed: any object with these two methods will do)."""

    def load(self, key: str, item: Any) -> tuple[Any, str | None]:
        """``(value, None)`` for a valid stored result; ``(None, reason)`` otherwise (``"missing"``)."""
        raise NotImplementedError

    def save(self, key: str, item: Any, value: Any) -> None:
        """Store ``value`` (called once per computed item, in the calling process)."""
        raise NotImplementedError


@dataclass
class Outcome:
    """Result of one item: ``status`` is ``"cached"``, ``"done"`` or ``"failed"``.

    ``reason`` says why a stored result was not reused (``None`` when there was nothing stored
    or it was reused); ``error`` is the exception of a failed item.
    """

    key: str
    item: Any
    status: Literal["cached", "done", "failed"]
    value: Any = None
    error: BaseException | None = None
    reason: str | None = None


def parse_scheduler(scheduler: str | None) -> tuple[str, Any]:
    """``(kind, arg)``: ``("inline", None)``, ``("local", n_workers)`` or ``("address", address)``."""
    if scheduler is None:
        return "inline", None
    if not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be None, 'local[:N]' or 'tcp://HOST:PORT'; got {scheduler!r}")
    m = re.fullmatch(r"local(?::(\d+))?", scheduler)
    if m:
        n = int(m.group(1)) if m.group(1) else (os.cpu_count() or 1)
        if n < 1:
            raise ValueError(f"scheduler 'local:N' needs N >= 1 workers; got {scheduler!r}")
        return "local", n
    if re.fullmatch(r"(tcp|tls)://[^\s/:]+:\d{1,5}", scheduler):
        return "address", scheduler
    raise ValueError(f"scheduler must be 'local', 'local:N' or 'tcp://HOST:PORT'; got {scheduler!r}")


class _Base:
    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release workers and connections (no-op for the inline executor)."""

    def _prepare(self, items: Sequence[Any], keys: Sequence[str] | None, store: Store | None,
                 on_outcome: Callable[[Outcome], None] | None) -> tuple[list[str], list[Outcome | None], list[int],
                                                                        dict[int, str | None]]:
        keys = [str(i) for i in range(len(items))] if keys is None else [str(k) for k in keys]
        if len(keys) != len(items):
            raise ValueError(f"keys has {len(keys)} entries for {len(items)} items")
        if len(set(keys)) != len(keys):
            raise ValueError("keys must be unique (each is one stored result)")
        outcomes: list[Outcome | None] = [None] * len(items)
        todo, reasons = [], {}
        for i, (k, it) in enumerate(zip(keys, items)):
            if store is not None:
                value, reason = store.load(k, it)
                if reason is None:
                    outcomes[i] = Outcome(k, it, "cached", value)
                    if on_outcome:
                        on_outcome(outcomes[i])
                    continue
                reasons[i] = None if reason == "missing" else reason
            todo.append(i)
        return keys, outcomes, todo, reasons

    @staticmethod
    def _finish(i: int, keys: list[str], items: Sequence[Any], value: Any, error: BaseException | None,
                store: Store | None, reasons: dict[int, str | None], keep: bool) -> Outcome:
        if error is not None:
            return Outcome(keys[i], items[i], "failed", error=error, reason=reasons.get(i))
        if store is not None:
            store.save(keys[i], items[i], value)
        return Outcome(keys[i], items[i], "done", value if keep else None, reason=reasons.get(i))


class LocalExecutor(_Base):
    """Runs every item in this process, in order (the default; no Dask needed)."""

    name = "inline"

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], *, keys: Sequence[str] | None = None,
            store: Store | None = None, on_outcome: Callable[[Outcome], None] | None = None,
            keep_values: bool = True) -> list[Outcome]:
        """Apply ``fn`` to each item not already in ``store``; outcomes in item order."""
        items = list(items)
        keys, outcomes, todo, reasons = self._prepare(items, keys, store, on_outcome)
        for i in todo:
            try:
                value, error = fn(items[i]), None
            except Exception as exc:  # one failing item does not stop the others
                value, error = None, exc
            outcomes[i] = self._finish(i, keys, items, value, error, store, reasons, keep_values)
            if on_outcome:
                on_outcome(outcomes[i])
        return outcomes  # type: ignore[return-value]


class DaskExecutor(_Base):
    """Submits items as Dask tasks; results are saved by this (the client's) process."""

    def __init__(self, client: Any, cluster: Any = None, retries: int = 2):
        self.client, self.cluster, self.retries = client, cluster, retries
        self.name = f"dask {client.scheduler.address}"

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any], *, keys: Sequence[str] | None = None,
            store: Store | None = None, on_outcome: Callable[[Outcome], None] | None = None,
            keep_values: bool = True) -> list[Outcome]:
        """Like :meth:`LocalExecutor.map`; outcomes in item order, computed in parallel."""
        from distributed import as_completed

        items = list(items)
        keys, outcomes, todo, reasons = self._prepare(items, keys, store, on_outcome)
        tag = uuid.uuid4().hex[:8]
        attempts = dict.fromkeys(todo, 0)

        def submit(i: int) -> Any:
            attempts[i] += 1
            return self.client.submit(fn, items[i], key=f"precond-{tag}-{attempts[i]}-{keys[i]}",
                                      retries=self.retries, pure=False)

        futures = {submit(i): i for i in todo}
        pending = as_completed(list(futures))
        try:
            for fut in pending:
                i = futures.pop(fut)
                value, error = None, None
                if fut.status == "error":  # the task itself raised (after its retries)
                    error = fut.exception()
                else:
                    try:
                        value = fut.result()
                    except Exception as exc:  # result lost with its worker, cancelled: infrastructure
                        fut.release()
                        if attempts[i] <= self.retries + 2:
                            new = submit(i)
                            futures[new] = i
                            pending.add(new)
                            continue
                        error = exc
                fut.release()
                outcomes[i] = self._finish(i, keys, items, value, error, store, reasons, keep_values)
                if on_outcome:
                    on_outcome(outcomes[i])
        except BaseException:
            self.client.cancel(list(futures))
            raise
        return outcomes  # type: ignore[return-value]


def local_cluster(n_workers: int) -> Any:
    """A Dask ``LocalCluster`` of ``n_workers`` single-threaded processes, every server on 127.0.0.1.

    No dashboard; the scheduler's HTTP endpoint (health, metrics) listens on an ephemeral
    127.0.0.1 port, so several clusters can run side by side.
    """
    from distributed import LocalCluster

    return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=None, silence_logs=logging.ERROR,
                        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})


def get_executor(scheduler: str | None = None, *, timeout: float = 10.0,
                 retries: int = 2) -> LocalExecutor | DaskExecutor:
    """The executor for ``scheduler`` (see the module docstring); use it as a context manager."""
    kind, arg = parse_scheduler(scheduler)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0; got {retries!r}")
    if kind == "inline":
        return LocalExecutor()
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("a Dask scheduler needs dask[distributed]: pip install 'precond-theory[dask]'") from None
    if kind == "local":
        cluster = local_cluster(arg)
        try:
            return DaskExecutor(Client(cluster, timeout=timeout), cluster, retries)
        except BaseException:
            cluster.close()
            raise
    try:
        client = Client(arg, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ConnectionError(f"cannot reach the Dask scheduler at {arg} within {timeout:g} s "
                              f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]})") from None
    return DaskExecutor(client, None, retries)
