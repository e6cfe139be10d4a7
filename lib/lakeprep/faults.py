"""Test-only fault injection: pause the text pipeline at a named point so a test can kill it there.

The crash-recovery tests (tests/e2e/test_crash_recovery.py) set ``LAKEPREP_FAULT_PAUSE_AT`` to a
point name; when the pipeline reaches that point it logs ``fault pause at <name>`` and sleeps
``LAKEPREP_FAULT_PAUSE_SECONDS`` (default 600), long enough for the test to SIGKILL it or to stop
the database under it. Points: ``merge`` (inside the PostgreSQL merge transaction, before COMMIT)
and ``state`` (after the merge committed, before the incremental state is written).

Unset (always, outside tests), :func:`pause_point` is one dictionary lookup and does nothing.
"""
from __future__ import annotations

import logging
import os
import time

log = logging.getLogger("lakeprep.faults")

ENV_POINT = "LAKEPREP_FAULT_PAUSE_AT"
ENV_SECONDS = "LAKEPREP_FAULT_PAUSE_SECONDS"


def pause_point(name: str) -> None:
    if os.environ.get(ENV_POINT) != name:
        return
    seconds = float(os.environ.get(ENV_SECONDS, "600"))
    log.warning("fault pause at %s: sleeping %.0f s (%s is a test hook)", name, seconds, ENV_POINT)
    time.sleep(seconds)
