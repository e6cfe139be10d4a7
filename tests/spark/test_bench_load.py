"""The bench's PostgreSQL load section (lakeprep.bench.pgload) against a real server: the run's
chunk rows and the same rows repeated, each written by the job's writer, by Spark's INSERT writer
and by parallel COPY."""
from __future__ import annotations

import os

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
    out = pgload.measure(spark, path, db, target, settings.postgres.jdbc, repeats=1, volume=4,
                         server_pid=pg_server.pid())
    assert out["rows"] == 30 and out["volume"]["rows"] == 120 and out["volume"]["times"] == 4
    for load in (out, out["volume"]):
        assert load["ratio"] > 0 and len(load["jdbc_s_runs"]) == len(load["copy_s_runs"]) == 1
        # The job's writer (COPY through the JDBC driver), with Spark's INSERT writer beside it.
        assert load["writer"] == "copy" and load["insert_rows_per_s"] > 0
        # Spark plans and runs the JDBC write in its JVM: CPU there, none of it this process's.
        assert load["jdbc_cpu_s"]["client"] > 0
        assert set(load["copy_cpu_s"]) == {"client", "server"}
        assert load["ratio_cpu_bound"] >= load["ratio"] * 0.5
    # The last repeat's tables hold every row of the bigger load, tabs and newlines intact.
    with psycopg2.connect(**db) as conn, conn.cursor() as cur:
        for table in ("bench_jdbc", "bench_copy", "bench_insert"):
            cur.execute(f"SELECT count(DISTINCT chunk_id), min(content) FROM {table}")
            assert cur.fetchone() == (120, "text\t0\nline")
    assert "volume" not in pgload.measure(spark, path, db, target, settings.postgres.jdbc,
                                          repeats=1)


def test_cpu_meter_counts_the_servers_backend_after_the_connection_closed(pg_server):
    # One connection's backend does ~0.3 s of work and exits when the client closes it; the
    # meter waits for it to be reaped and counts it, and not as the client's.
    db = job.fresh_database(pg_server.params(), "bench_cpu_meter")

    def query() -> float:
        with psycopg2.connect(**db) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM generate_series(1, 4000000) g WHERE g % 7 = 1")
        conn.close()
        return 0.0

    meter = pgload.CpuMeter(pg_server.pid(), os.getpid())
    _, cpu = meter.timed(query)
    assert cpu["server"] >= 0.15 and cpu["client"] < cpu["server"]
    assert "server" not in pgload.CpuMeter(None, os.getpid()).timed(lambda: 0.0)[1]
