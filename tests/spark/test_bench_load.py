"""The bench's PostgreSQL load section (lakeprep.bench.pgload) against a real server: the run's
chunk rows and the same rows repeated, each written by Spark JDBC and by parallel COPY."""
from __future__ import annotations

import psycopg2
from pyspark.sql import Row

from lakeprep.bench import job, pgload
from lakeprep.db.connection import PgTarget


def _chunks(spark, n):
    return spark.createDataFrame([
        Row(chunk_id=f"c{i}", doc_id=f"d{i // 3}", chunk_index=i % 3, char_start=0, char_end=5,
            content=f"text\t{i}\nline", token_count=3, pii_counts='{"email": 1}')
        for i in range(n)]).select(*pgload.COLUMNS)


def test_repeated_rows_get_distinct_keys_and_keep_their_values(spark):
    df = _chunks(spark, 4)
    rows = pgload.repeated(df, 3).collect()
    assert len(rows) == 12 and len({r.chunk_id for r in rows}) == 12
    assert sorted(r.content for r in rows) == sorted([r.content for r in df.collect()] * 3)
    assert pgload.repeated(df, 1) is df


def test_measure_writes_both_loads_in_full(spark, settings, pg_server, tmp_path):
    path = str(tmp_path / "chunks")
    _chunks(spark, 30).write.format("delta").save(path)
    db = job.fresh_database(pg_server.params(), "bench_load_test")
    target = PgTarget(db["host"], int(db["port"]), db["dbname"], db["user"], "public", False)
    out = pgload.measure(spark, path, db, target, settings.postgres.jdbc, repeats=1, volume=4)
    assert out["rows"] == 30 and out["volume"]["rows"] == 120 and out["volume"]["times"] == 4
    for load in (out, out["volume"]):
        assert load["ratio"] > 0 and len(load["jdbc_s_runs"]) == len(load["copy_s_runs"]) == 1
    # The last repeat's tables hold every row of the bigger load, tabs and newlines intact.
    with psycopg2.connect(**db) as conn, conn.cursor() as cur:
        for table in ("bench_jdbc", "bench_copy"):
            cur.execute(f"SELECT count(DISTINCT chunk_id), min(content) FROM {table}")
            assert cur.fetchone() == (120, "text\t0\nline")
    assert "volume" not in pgload.measure(spark, path, db, target, settings.postgres.jdbc,
                                          repeats=1)
