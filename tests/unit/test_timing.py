"""Named seconds of blocks of work (lakeprep.timing)."""
from __future__ import annotations

import time

import pytest

from lakeprep.timing import add_seconds


def test_seconds_add_up_over_repeats_and_a_failed_block_records_nothing():
    timings: dict[str, float] = {}
    for _ in range(2):
        with add_seconds(timings, "staging"):
            time.sleep(0.06)
    assert 0.11 <= timings["staging"] < 1.0
    with pytest.raises(ValueError), add_seconds(timings, "merge"):
        raise ValueError("connection lost")
    assert "merge" not in timings
    with add_seconds(None, "ignored"):  # no dict: nothing to record, no error
        pass
