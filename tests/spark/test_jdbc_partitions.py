"""One partition per JDBC connection, without shuffling a frame that already has enough."""
from __future__ import annotations

from lakeprep.db.load import per_connection


def _plan(df) -> str:
    return df._jdf.queryExecution().executedPlan().toString()


def test_a_frame_with_enough_partitions_is_coalesced_in_place(spark):
    df = spark.range(0, 1000, numPartitions=8).cache()
    out = per_connection(df, 2)
    assert out.rdd.getNumPartitions() == 2
    assert "Exchange" not in _plan(out) and "Coalesce" in _plan(out)
    assert sorted(r.id for r in out.collect()) == list(range(1000))


def test_a_frame_with_fewer_partitions_is_spread_by_a_shuffle(spark):
    out = per_connection(spark.range(0, 1000, numPartitions=1), 3)
    assert out.rdd.getNumPartitions() == 3
    assert "Exchange" in _plan(out)
    assert out.count() == 1000
