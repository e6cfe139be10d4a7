"""Background work of the pipeline: really concurrent, results and failures reach the caller."""
from __future__ import annotations

import threading

import pytest

from lakeprep.background import Background, join_all


def test_work_runs_while_the_caller_goes_on(spark):
    go = threading.Event()
    timings: dict[str, float] = {}
    # Waits for the caller: run on the caller's own thread, it would time out and say False.
    work = Background("waits", lambda: go.wait(30), timings)
    go.set()
    assert work.result() is True
    assert "waits" in timings


def test_spark_jobs_run_in_the_background(spark):
    timings: dict[str, float] = {}
    work = Background("count", lambda: spark.range(1000).count(), timings)
    assert work.result() == 1000
    assert timings["count"] >= 0


def test_failures_reach_the_caller_after_everything_stopped(spark):
    done = threading.Event()
    timings: dict[str, float] = {}

    def slow():
        done.wait(0.5)
        return "finished"

    def boom():
        raise ValueError("disk full")

    pending = [Background("boom", boom, timings), Background("slow", slow, timings)]
    with pytest.raises(ValueError, match="disk full"):
        join_all(pending)
    # The slow one was waited for before the failure was raised.
    assert pending[1].result() == "finished"
    assert set(timings) == {"boom", "slow"}
