"""Executors: where a campaign's work units run.

An executor takes a function and its inputs and yields each input's index with its result, or
with the exception the function raised, as each finishes (in any order). The campaign does the
bookkeeping (checkpoints, summary) in this process; the executor only runs units.

Executors are chosen by ``--scheduler`` through a small registry keyed by the value's scheme:
``serial`` (the default: one after the other in this process), ``local`` / ``local:N`` (a Dask
``LocalCluster`` of N worker processes on loopback) and ``tcp://HOST:PORT`` / ``tls://...`` (a
running Dask scheduler). Dask (``distributed``, the ``[dask]`` extra) is imported only when a Dask
executor is made, so the command line starts without it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from evaltool.errors import EvaltoolError, ExitCode, UsageError

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

T = TypeVar("T")
R = TypeVar("R")

CONNECT_TIMEOUT_S = 10.0
"""How long to wait for a remote Dask scheduler before giving up (exit 2)."""


class SchedulerUnreachableError(EvaltoolError):
    """The Dask scheduler named by ``--scheduler`` cannot be reached (exit 2)."""

    exit_code = ExitCode.USAGE


class Executor(Protocol):
    """Runs work units and hands back each outcome as it finishes."""

    description: str
    """Shown in the campaign summary: ``serial``, ``dask local:2``, ``dask tcp://host:8786``."""

    def run(self, fn: Callable[[T], R], items: Sequence[T]
            ) -> Iterator[tuple[int, R | Exception]]:
        """Yield ``(index, fn(items[index]))``, or ``(index, exception)``, as each finishes."""
        ...

    def close(self) -> None:
        """Release the workers this executor started (a remote cluster is left running)."""
        ...


ExecutorFactory = Callable[[str], Executor]
_SCHEMES: dict[str, ExecutorFactory] = {}


def scheduler_scheme(*schemes: str) -> Callable[[ExecutorFactory], ExecutorFactory]:
    """Register a factory for ``--scheduler`` values of the given schemes (the part before
    ``:``); the factory must say in its docstring what it starts."""
    def register(factory: ExecutorFactory) -> ExecutorFactory:
        if not (factory.__doc__ or "").strip():
            raise TypeError(f"executor factory {factory.__name__} needs a docstring")
        for scheme in schemes:
            if scheme in _SCHEMES:
                raise TypeError(f"scheduler scheme {scheme!r} registered twice")
            _SCHEMES[scheme] = factory
        return factory
    return register


def schemes() -> dict[str, ExecutorFactory]:
    """The registered ``--scheduler`` schemes and their factories."""
    return dict(_SCHEMES)


def executor_for(scheduler: str | None) -> Executor:
    """The executor a ``--scheduler`` value names (None: serial)."""
    value = scheduler if scheduler else "serial"
    scheme = value.split(":", 1)[0]
    factory = _SCHEMES.get(scheme)
    if factory is None:
        known = ", ".join(sorted(_SCHEMES))
        raise UsageError(f"--scheduler {value!r}: unknown scheme {scheme!r} (use serial, "
                         f"local[:N] or tcp://HOST:PORT; registered: {known})")
    return factory(value)


class SerialExecutor:
    """Every unit in this process, one after the other, in order."""

    description = "serial"

    def run(self, fn: Callable[[T], R], items: Sequence[T]
            ) -> Iterator[tuple[int, R | Exception]]:
        """Run each item in turn (an exception is yielded, not raised; an interrupt propagates)."""
        for i, item in enumerate(items):
            try:
                result: R | Exception = fn(item)
            except Exception as exc:
                result = exc
            yield i, result

    def close(self) -> None:
        """Nothing to release."""


@scheduler_scheme("serial")
def _serial(value: str) -> Executor:
    """Run units one after the other in this process (no Dask needed)."""
    if value != "serial":
        raise UsageError(f"--scheduler {value!r}: 'serial' takes no argument")
    return SerialExecutor()


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError("Dask executors need the 'dask' extra: pip install 'evaltool[dask]'"
                         ) from None
    return distributed


class DaskExecutor:
    """Units as Dask tasks: a lost worker's task is run again elsewhere by the scheduler."""

    def __init__(self, client: Client, *, cluster: LocalCluster | None = None,
                 description: str) -> None:
        self.client = client
        self.cluster = cluster
        self.description = description

    @classmethod
    def local(cls, n_workers: int) -> DaskExecutor:
        """A ``LocalCluster`` of ``n_workers`` single-threaded processes on loopback."""
        d = _distributed()
        # The scheduler always serves HTTP (health, metrics): on a free loopback port, so two
        # campaigns on one machine never collide on Dask's default 8787. The cluster's own log
        # is silenced: a unit's error is reported in the summary, a lost worker is retried.
        cluster = d.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                 host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                 memory_limit=0, silence_logs=logging.CRITICAL)
        return cls(d.Client(cluster), cluster=cluster, description=f"dask local:{n_workers}")

    @classmethod
    def connect(cls, address: str, *, timeout: float | None = None) -> DaskExecutor:
        """A client of the running scheduler at ``address``; exit 2 if it cannot be reached
        within ``timeout`` seconds (default :data:`CONNECT_TIMEOUT_S`)."""
        d = _distributed()
        try:
            client = d.Client(address, timeout=CONNECT_TIMEOUT_S if timeout is None else timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SchedulerUnreachableError(f"cannot reach the Dask scheduler at {address} "
                                       f"({reason})") from None
        return cls(client, description=f"dask {address}")

    def run(self, fn: Callable[[T], R], items: Sequence[T]
            ) -> Iterator[tuple[int, R | Exception]]:
        """Submit every item, then yield outcomes as they complete; on an interrupt the
        remaining tasks are cancelled."""
        d = _distributed()
        index: dict[Any, int] = {}
        for i, item in enumerate(items):
            # pure=False: a unit writes files, so the scheduler must never skip it as a duplicate.
            index[self.client.submit(fn, item, pure=False)] = i
        pending = set(index)
        try:
            for future in d.as_completed(list(index)):
                pending.discard(future)
                try:
                    result: R | Exception = future.result()
                except Exception as exc:
                    result = exc
                yield index[future], result
        finally:
            if pending:
                self.client.cancel(list(pending))

    def close(self) -> None:
        """Close the client, and the local cluster if this executor started it."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


@scheduler_scheme("local")
def _local(value: str) -> Executor:
    """A Dask LocalCluster on loopback: ``local`` (one worker per CPU) or ``local:N``."""
    _, _, count = value.partition(":")
    if not count:
        n = os.cpu_count() or 1
    elif count.isdigit() and int(count) >= 1:
        n = int(count)
    else:
        raise UsageError(f"--scheduler {value!r}: expected local or local:N with N >= 1")
    return DaskExecutor.local(n)


@scheduler_scheme("tcp", "tls")
def _remote(value: str) -> Executor:
    """A running Dask scheduler, ``tcp://HOST:PORT`` (``dask scheduler``, docs/campaigns.md)."""
    if not value.split("://", 1)[-1] or "://" not in value:
        raise UsageError(f"--scheduler {value!r}: expected tcp://HOST:PORT")
    return DaskExecutor.connect(value)
