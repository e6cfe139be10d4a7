"""Seconds of a block of work, recorded by name: stage times, the PostgreSQL steps."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def add_seconds(timings: dict[str, float] | None, name: str) -> Iterator[None]:
    """Add the block's seconds to ``timings[name]`` when it finishes without an error (a step
    repeated after a retry adds up); ``timings`` None: nothing is recorded."""
    t0 = time.monotonic()
    yield
    if timings is not None:
        timings[name] = round(timings.get(name, 0.0) + time.monotonic() - t0, 2)
