"""PostgreSQL load: the job's path (Spark JDBC into staging) versus parallel COPY of the same rows
over the same number of connections.

Both write the same rows into an identical, empty UNLOGGED table, so the ratio isolates the
transport: JDBC batched INSERTs from Spark partitions against psycopg2 COPY FROM STDIN streams.
The rows are the chunks of a benchmark run (content, offsets, counts, PII JSON), read from the
lake's silver table.
"""
from __future__ import annotations

import io
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.config import JdbcSettings
from lakeprep.db.connection import PgTarget
from lakeprep.db.load import per_connection

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
    """The same writer options the job's staging write uses (lakeprep.db.load.write_staging)."""
    t0 = time.monotonic()
    (per_connection(df, jdbc.num_partitions).write.format("jdbc")
     .option("url", target.jdbc_url()).option("dbtable", table)
     .option("batchsize", jdbc.batchsize).option("stringtype", "unspecified")
     .options(**target.jdbc_properties()).mode("append").save())
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


def _side_by_side(df: DataFrame, db: dict, target: PgTarget, jdbc: JdbcSettings,
                  repeats: int) -> dict:
    """Median seconds of the JDBC write and of parallel COPY of the cached ``df``'s rows."""
    df = df.cache()
    n = df.count()
    # COPY is fed from memory, so the comparison is transport against transport; collecting is
    # fine here (a benchmark of a few hundred MB at most, never the pipeline).
    buffers = _to_copy_buffers([tuple(r) for r in df.collect()], jdbc.num_partitions)
    jdbc_runs, copy_runs = [], []
    for _ in range(repeats):
        _reset(db, "bench_jdbc")
        jdbc_runs.append(jdbc_write(df, target, "bench_jdbc", jdbc))
        _reset(db, "bench_copy")
        copy_runs.append(copy_write(buffers, db, "bench_copy"))
    df.unpersist()
    j, c = statistics.median(jdbc_runs), statistics.median(copy_runs)
    return {"rows": n, "jdbc_s_runs": [round(x, 2) for x in jdbc_runs],
            "copy_s_runs": [round(x, 2) for x in copy_runs],
            "jdbc_rows_per_s": round(n / j), "copy_rows_per_s": round(n / c),
            "ratio": round(c / j, 3)}


def measure(spark: SparkSession, chunks_path: str, db: dict, target: PgTarget,
            jdbc: JdbcSettings, repeats: int, volume: int = 1) -> dict:
    """The job's chunk rows as they are and, with ``volume`` > 1, repeated ``volume`` times:
    a Spark JDBC write has a fixed cost (planning, tasks, connections) that a run's rows alone
    may not outweigh, which the bigger load separates from the per-row cost."""
    df = spark.read.format("delta").load(chunks_path).select(*COLUMNS)
    out = {**_side_by_side(df, db, target, jdbc, repeats), "connections": jdbc.num_partitions}
    if volume > 1:
        out["volume"] = {"times": volume,
                         **_side_by_side(repeated(df, volume), db, target, jdbc, repeats)}
    return out
