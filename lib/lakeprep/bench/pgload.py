"""PostgreSQL load: the job's path (Spark JDBC into staging) versus parallel COPY of the same rows
over the same number of connections.

Both write the same rows into an identical, empty UNLOGGED table, so the ratio isolates the
transport: the job's staging write from Spark partitions (postgres.jdbc.writer: COPY through the
PostgreSQL JDBC driver, or Spark's batched INSERTs) against psycopg2 COPY FROM STDIN streams;
with the COPY writer, the INSERT writer is timed too. The rows are the chunks of a benchmark run
(content, offsets, counts, PII JSON), read from the lake's silver table.

Each write's CPU seconds are counted too, the client's (Spark's JVM; for COPY this Python
process) and the server's: on a machine the client and the server share, the JDBC write cannot
take less wall time than its total CPU spread over the cores, which bounds the ratio whatever
the writer's options are.
"""
from __future__ import annotations

import dataclasses
import io
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg2
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.bench.memory import children, descendants, kind, tree_cpu_seconds
from lakeprep.config import JdbcSettings
from lakeprep.db.connection import PgTarget
from lakeprep.db.load import write_rows

COLUMNS = ["chunk_id", "doc_id", "chunk_index", "char_start", "char_end", "content",
           "token_count", "pii_counts"]
DDL = ("CREATE UNLOGGED TABLE {table} (chunk_id text, doc_id text, chunk_index int, "
       "char_start int, char_end int, content text, token_count int, pii_counts text)")


def _reset(db: dict, table: str) -> None:
    conn = psycopg2.connect(**db)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(DDL.format(table=table))
    conn.close()


def jdbc_write(df: DataFrame, target: PgTarget, table: str, jdbc: JdbcSettings) -> float:
    """The job's own staging write (lakeprep.db.load.write_rows) with its settings: COPY through
    the JDBC driver, or batched INSERTs, as ``jdbc.writer`` says."""
    t0 = time.monotonic()
    write_rows(df, target, table, jdbc)
    return time.monotonic() - t0


def _to_copy_buffers(rows: list[tuple], parts: int) -> list[bytes]:
    """Rows as PostgreSQL text-format COPY payloads, one per connection (built before timing)."""
    def field(v) -> str:
        if v is None:
            return r"\N"
        s = str(v)
        return (s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r"))
    buffers = []
    for i in range(parts):
        lines = ["\t".join(field(v) for v in row) for row in rows[i::parts]]
        buffers.append(("\n".join(lines) + "\n").encode("utf-8"))
    return buffers


def copy_write(buffers: list[bytes], db: dict, table: str) -> float:
    def one(buf: bytes) -> None:
        conn = psycopg2.connect(**db)
        with conn, conn.cursor() as cur:
            cur.copy_expert(f"COPY {table} FROM STDIN", io.BytesIO(buf))
        conn.close()
    t0 = time.monotonic()
    with ThreadPoolExecutor(len(buffers)) as pool:
        list(pool.map(one, buffers))
    return time.monotonic() - t0


def repeated(df: DataFrame, times: int) -> DataFrame:
    """``df``'s rows ``times`` over, each copy's chunk_id suffixed with its number (distinct keys
    as a bigger run's rows would have; every other value as the job wrote it)."""
    if times == 1:
        return df
    copies = df.sparkSession.range(times).withColumnRenamed("id", "_copy")
    return (df.crossJoin(copies)
            .withColumn("chunk_id", F.concat("chunk_id", F.lit("#"), F.col("_copy").cast("string")))
            .select(*df.columns))


class CpuMeter:
    """CPU seconds of a write's client and of the PostgreSQL server (``server_pid`` = the
    postmaster; None: not counted) spent in ``timed(fn)``."""

    def __init__(self, server_pid: int | None, client_pid: int) -> None:
        self.server_pid, self.client_pid = server_pid, client_pid

    @staticmethod
    def _settle(server_pid: int, before: set[int]) -> None:
        # A closed connection's backend exits (and is reaped, its CPU then in the postmaster's
        # reaped total) a moment after the client returns: wait for the backends started during
        # the write to be gone, at most 2 s, so their last work counts too.
        started = set(children(server_pid)) - before
        deadline = time.monotonic() + 2
        while started & set(children(server_pid)) and time.monotonic() < deadline:
            time.sleep(0.01)

    def timed(self, fn: Callable[[], float]) -> tuple[float, dict[str, float]]:
        before = set(children(self.server_pid)) if self.server_pid else set()
        s0 = tree_cpu_seconds(self.server_pid) if self.server_pid else 0.0
        c0 = tree_cpu_seconds(self.client_pid)
        wall = fn()
        c1 = tree_cpu_seconds(self.client_pid)
        cpu = {"client": c1 - c0}
        if self.server_pid:
            self._settle(self.server_pid, before)
            cpu["server"] = tree_cpu_seconds(self.server_pid) - s0
        return wall, cpu


def session_jvm() -> int:
    """The pid of this process's Spark JVM (the in-process session's gateway)."""
    jvms = [p for p in descendants(os.getpid()) if kind(p) == "jvm"]
    if not jvms:
        raise RuntimeError("no Spark JVM below this process to count the JDBC write's CPU of")
    return jvms[0]


def _cpu_median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]}


def _side_by_side(df: DataFrame, db: dict, target: PgTarget, jdbc: JdbcSettings,
                  repeats: int, server_pid: int | None) -> dict:
    """Median seconds (and CPU seconds) of the JDBC write and of parallel COPY of the cached
    ``df``'s rows."""
    df = df.cache()
    n = df.count()
    # COPY is fed from memory, so the comparison is transport against transport; collecting is
    # fine here (a benchmark of a few hundred MB at most, never the pipeline).
    buffers = _to_copy_buffers([tuple(r) for r in df.collect()], jdbc.num_partitions)
    jvm, here = CpuMeter(server_pid, session_jvm()), CpuMeter(server_pid, os.getpid())
    # The job's writer and, when that is COPY, Spark's INSERT writer too: the gain measured in
    # the same runs.
    insert = dataclasses.replace(jdbc, writer="insert") if jdbc.writer != "insert" else None
    jdbc_runs, copy_runs, insert_runs, jdbc_cpu, copy_cpu = [], [], [], [], []
    for _ in range(repeats):
        _reset(db, "bench_jdbc")
        wall, cpu = jvm.timed(lambda: jdbc_write(df, target, "bench_jdbc", jdbc))
        jdbc_runs.append(wall)
        jdbc_cpu.append(cpu)
        _reset(db, "bench_copy")
        wall, cpu = here.timed(lambda: copy_write(buffers, db, "bench_copy"))
        copy_runs.append(wall)
        copy_cpu.append(cpu)
        if insert is not None:
            _reset(db, "bench_insert")
            insert_runs.append(jdbc_write(df, target, "bench_insert", insert))
    df.unpersist()
    j, c = statistics.median(jdbc_runs), statistics.median(copy_runs)
    jdbc_cpu_s = _cpu_median(jdbc_cpu)
    out: dict = {"rows": n, "writer": jdbc.writer, "jdbc_s_runs": [round(x, 2) for x in jdbc_runs],
                 "copy_s_runs": [round(x, 2) for x in copy_runs],
                 "jdbc_rows_per_s": round(n / j), "copy_rows_per_s": round(n / c),
                 "ratio": round(c / j, 3),
                 "jdbc_cpu_s": jdbc_cpu_s, "copy_cpu_s": _cpu_median(copy_cpu)}
    if insert_runs:
        out["insert_s_runs"] = [round(x, 2) for x in insert_runs]
        out["insert_rows_per_s"] = round(n / statistics.median(insert_runs))
    if server_pid:
        # Client and server share this machine's cores: the JDBC write takes at least its CPU
        # spread over all of them, so no writer option or connection count can lift the ratio
        # above this (with its per-row CPU as measured).
        floor = (jdbc_cpu_s["client"] + jdbc_cpu_s["server"]) / (os.cpu_count() or 1)
        out["ratio_cpu_bound"] = round(c / max(floor, 1e-9), 3)
    return out


def measure(spark: SparkSession, chunks_path: str, db: dict, target: PgTarget,
            jdbc: JdbcSettings, repeats: int, volume: int = 1,
            server_pid: int | None = None) -> dict:
    """The job's chunk rows as they are and, with ``volume`` > 1, repeated ``volume`` times:
    a Spark JDBC write has a fixed cost (planning, tasks, connections) that a run's rows alone
    may not outweigh, which the bigger load separates from the per-row cost. ``server_pid``
    (the postmaster, when it runs on this machine) adds the server's CPU seconds."""
    df = spark.read.format("delta").load(chunks_path).select(*COLUMNS)
    out = {**_side_by_side(df, db, target, jdbc, repeats, server_pid),
           "connections": jdbc.num_partitions}
    if volume > 1:
        out["volume"] = {"times": volume,
                         **_side_by_side(repeated(df, volume), db, target, jdbc, repeats,
                                           server_pid)}
    return out
