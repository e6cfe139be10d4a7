"""Work a job runs on a thread of its own while its main thread goes on.

A Spark job on two cores leaves them idle whenever the driver works alone: planning, a Delta
commit, a table creation, PostgreSQL computing a merge. The text pipeline overlaps such steps
with the next stage's work (docs/BENCHMARKS.md, optimizations): each Delta write runs here while
the next stage computes, and everything is joined before the incremental state is written, so
the crash-safety order (all data written, then the state) is kept.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from pyspark import InheritableThread

log = logging.getLogger(__name__)

T = TypeVar("T")


class Background(Generic[T]):
    """``fn()`` on its own thread (PySpark's InheritableThread: Spark jobs it starts carry the
    caller's local properties); ``result()`` waits for it and raises what it raised. Its
    seconds go to ``timings[name]``."""

    def __init__(self, name: str, fn: Callable[[], T], timings: dict[str, float]) -> None:
        self.name = name
        self._value: T | None = None
        self._error: BaseException | None = None

        def run() -> None:
            t0 = time.monotonic()
            try:
                self._value = fn()
            except BaseException as exc:  # handed to whoever waits, in its thread
                self._error = exc
            finally:
                timings[name] = round(time.monotonic() - t0, 2)
                log.info("%s: done in %.1f s (in the background)%s", name, timings[name],
                         "" if self._error is None else f", failed: {self._error!r}")

        log.info("%s: started in the background", name)
        self._thread = InheritableThread(target=run, name=f"lakeprep-{name}", daemon=True)
        self._thread.start()

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    def wait_quietly(self) -> None:
        """Wait without raising: on the way out of a failed run, so no write is still going
        when the caches are dropped and the run lock is released."""
        self._thread.join()


def join_all(pending: list[Background]) -> None:
    """Wait for every piece of work; the first failure (in start order) is raised once all
    have stopped."""
    for work in pending:
        work.wait_quietly()
    for work in pending:
        work.result()
