"""Load the lake's silver tables into PostgreSQL: JDBC bulk write to staging, then one merge.

Last step of the text pipeline. Spark writes the run's rows in parallel into UNLOGGED staging
tables tagged with the run id; a single transaction then upserts them into the final tables and
removes chunks a changed document no longer has. Readers see either the old state or the new one,
never half a load, and replaying a run changes nothing (rows are only updated when a compared
column differs, so even ``processed_at`` keeps its first value).

Each database step is retried on connection-level errors (lakeprep.db.retry): a staging write
first deletes what an earlier attempt of the same run wrote, the merge is one transaction. One
run at a time holds a session advisory lock (:func:`acquire_run_lock`); a ``running`` row found
while holding it belongs to a process that died, and is marked failed as abandoned.
"""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone

import sqlalchemy as sa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakeprep.background import Background, join_all
from lakeprep.config import JdbcSettings, RetrySettings
from lakeprep.db import audit
from lakeprep.db import schema as S
from lakeprep.db.connection import PgTarget
from lakeprep.db.retry import call_with_retry
from lakeprep.faults import pause_point
from lakeprep.timing import add_seconds

log = logging.getLogger("lakeprep.db")

_DOC_COLUMNS = ["doc_id", "source_uri", "record_key", "source_format", "status", "reject_reason",
                "quality_score", "encoding", "size_bytes", "n_words", "content_sha256",
                "modified_at", "language", "language_confidence", "language_reliable",
                "failed_rules", "warnings", "boilerplate_removed", "content_hash", "duplicate_of",
                "near_dup_cluster", "near_dup_similarity", "processed_at", "deleted_at"]
_CHUNK_COLUMNS = ["chunk_id", "doc_id", "source_uri", "chunk_index", "char_start", "char_end",
                  "content", "token_count", "non_alnum_ratio", "quality_score", "pii_types",
                  "pii_counts", "processed_at"]
# Produced only by optional steps (dedup), with their Spark types for a NULL stand-in.
_OPTIONAL_DOC_COLUMNS = {"content_hash": "string", "duplicate_of": "string",
                         "near_dup_cluster": "string", "near_dup_similarity": "double",
                         "deleted_at": "timestamp"}
# Columns whose change means the row changed; processed_at and run_id record *when*, not *what*.
_DOC_COMPARED = [c for c in _DOC_COLUMNS if c not in ("doc_id", "processed_at")]
_CHUNK_COMPARED = [c for c in _CHUNK_COLUMNS if c not in ("chunk_id", "processed_at")]


def create_schema(engine: sa.Engine, schema: str, max_tokens: int,
                  roles=None) -> sa.MetaData:
    """Create missing tables, add columns that a newer version of the models introduced, and
    create / grant the loader and analyst roles (lakeprep.db.roles; ``roles`` is
    ``settings.postgres.roles``, None = the default names).

    Only additive changes are applied automatically (new nullable or defaulted columns), so a
    database created by an earlier release keeps working; anything else needs a deliberate
    migration and fails loudly in the merge instead of being guessed at here. On a database
    that is already complete nothing here needs more than read access to the catalog, so a
    member of the loader role (who may not create schemas or tables) passes through it.
    """
    from lakeprep.config import RolesSettings, validate_identifier
    from lakeprep.db.roles import ensure_roles

    schema = validate_identifier(schema, "postgres.schema")
    md = S.build_metadata(schema, max_tokens)
    with engine.begin() as conn:
        # Checked first: CREATE SCHEMA IF NOT EXISTS still demands CREATE on the database.
        if conn.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :schema"),
                        {"schema": schema}).first() is None:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        md.create_all(conn, checkfirst=True)
        inspector = sa.inspect(conn)
        for table in md.sorted_tables:
            existing = {c["name"] for c in inspector.get_columns(table.name, schema=schema)}
            for column in table.columns:
                if column.name in existing or column.computed is not None:
                    continue
                ddl = column.type.compile(dialect=conn.dialect)
                default = ""
                if column.server_default is not None:
                    arg = column.server_default.arg
                    # A plain string default is a literal (as CREATE TABLE renders it); a text()
                    # default is SQL.
                    literal = "'" + arg.replace("'", "''") + "'" if isinstance(arg, str) \
                        else str(arg)
                    default = f" DEFAULT {literal}"
                null = "" if column.nullable or default else " NOT NULL"
                conn.execute(sa.text(f'ALTER TABLE "{schema}".{table.name} ADD COLUMN IF NOT '
                                     f'EXISTS "{column.name}" {ddl}{default}{null}'))
        ensure_roles(conn, schema, roles or RolesSettings())
    return md


class RunInProgress(RuntimeError):
    """Another run of the same job holds the database's run lock."""


ABANDONED = "abandoned: the process ended without finishing the run (killed or crashed)"


def _lock_key(job: str, schema: str) -> int:
    # pg_advisory_lock takes a signed bigint; derived from the names so that jobs (and schemas)
    # do not block each other.
    return int.from_bytes(hashlib.sha256(f"lakeprep:{job}:{schema}".encode()).digest()[:8],
                          "big", signed=True)


def acquire_run_lock(engine: sa.Engine, schema: str, job: str) -> sa.Connection:
    """A connection holding the job's session advisory lock, released when it closes or its
    process dies (a SIGKILLed run cannot leave it behind). Raises RunInProgress if it is held."""
    conn = engine.connect()
    try:
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"),
                           {"k": _lock_key(job, schema)}).scalar()
        conn.commit()
    except BaseException:
        conn.close()
        raise
    if not got:
        conn.close()
        raise RunInProgress(f"another {job} run is in progress on this database (schema "
                            f"{schema}); runs of one job are serialized, try again when it ends")
    return conn


def release_run_lock(conn: sa.Connection) -> None:
    # Closing the session releases the lock too; an explicit unlock returns the pooled
    # connection clean. A broken connection has already lost the lock: nothing to do.
    try:
        conn.execute(sa.text("SELECT pg_advisory_unlock_all()"))
        conn.commit()
    except Exception:
        pass
    finally:
        try:
            conn.close()
        except Exception:
            pass


def abandon_stale_runs(engine: sa.Engine, md: sa.MetaData, schema: str, job: str) -> list[str]:
    """Mark ``running`` rows of ``job`` failed (as abandoned). Call only while holding the run
    lock: then no live process owns them. Returns their run ids."""
    runs = md.tables[f"{schema}.{S.RUNS}"]
    with engine.begin() as conn:
        rows = conn.execute(
            runs.update().where((runs.c.job == job) & (runs.c.status == "running"))
            .values(status="failed", finished_at=datetime.now(timezone.utc), error=ABANDONED)
            .returning(runs.c.run_id)).fetchall()
    return [r[0] for r in rows]


def start_run(engine: sa.Engine, md: sa.MetaData, schema: str, run_id: str, job: str,
              input_uris: list[str], lake_uri: str, config_path: str, rules_version: str,
              full_refresh: bool = False) -> None:
    runs = md.tables[f"{schema}.{S.RUNS}"]
    with engine.begin() as conn:
        # A retried start whose first INSERT committed but lost its reply must not fail on the
        # primary key: the row is already there.
        exists = conn.execute(sa.select(runs.c.run_id).where(runs.c.run_id == run_id)).first()
        if exists is None:
            conn.execute(runs.insert().values(
                run_id=run_id, job=job, started_at=datetime.now(timezone.utc), status="running",
                input_uris=input_uris, lake_uri=lake_uri, config_path=config_path,
                rules_version=rules_version, full_refresh=full_refresh))


def finish_run(engine: sa.Engine, md: sa.MetaData, schema: str, run_id: str, status: str,
               counts: dict | None = None, report_uri: str | None = None,
               error: str | None = None) -> None:
    runs = md.tables[f"{schema}.{S.RUNS}"]
    values = {"finished_at": datetime.now(timezone.utc), "status": status, "report_uri": report_uri,
              "error": error[:4000] if error else None, **(counts or {})}
    with engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.run_id == run_id).values(**values))


def delete_staging(engine: sa.Engine, schema: str, table: str, run_id: str) -> int:
    with engine.begin() as conn:
        return conn.execute(sa.text(f'DELETE FROM "{schema}".{table} WHERE run_id = :run_id'),
                            {"run_id": run_id}).rowcount


def per_connection(df: DataFrame, connections: int) -> DataFrame:
    """``df`` in ``connections`` partitions, one per JDBC connection. A frame with at least that
    many partitions (the pipeline's cached frames) is coalesced: each writer reads its share of
    cached partitions in place, where a repartition would first shuffle every row, content
    included (1.6x the rows/s on 100,000 chunk rows, docs/BENCHMARKS.md). Only a frame with
    fewer partitions is spread by a shuffle."""
    if df.rdd.getNumPartitions() >= connections:
        return df.coalesce(connections)
    return df.repartition(connections)


# The project's COPY writer (scripts/jvm/src, installed next to Spark's jars by make setup).
COPY_WRITER = "io.lakeprep.pg.CopyWriter"


def copy_writer_loaded(spark) -> bool:
    """Whether the driver's JVM can load the COPY writer (executors get the same jars)."""
    return bool(spark.sparkContext._jvm.org.apache.spark.util.Utils.classIsLoadable(COPY_WRITER))


def write_rows(df: DataFrame, target: PgTarget, table: str, jdbc: JdbcSettings) -> int | None:
    """Parallel write of ``df``'s rows into ``table`` (in ``target.schema``; columns matched by
    name) over ``jdbc.num_partitions`` connections, the way ``jdbc.writer`` says. Returns the rows
    the server reported copied (COPY), None for Spark's JDBC writer (which reports nothing)."""
    rows = per_connection(df, jdbc.num_partitions)
    spark = df.sparkSession
    if jdbc.writer == "copy":
        jvm = spark.sparkContext._jvm
        if jvm is not None and copy_writer_loaded(spark):
            return int(jvm.io.lakeprep.pg.CopyWriter.write(
                rows._jdf, target.jdbc_url(), target.jdbc_properties(),
                f'"{target.schema}"."{table}"'))
        log.warning("postgres.jdbc.writer is copy but %s is not on the classpath (run make setup, "
                    "or add lakeprep-jvm.jar to the cluster's jars): staging through batched "
                    "INSERTs instead", COPY_WRITER)
    (rows.write.format("jdbc")
     .option("url", target.jdbc_url())
     .option("dbtable", f"{target.schema}.{table}")
     .option("batchsize", jdbc.batchsize)
     # Staging columns are typed (text[], timestamptz); let the server cast strings it receives.
     .option("stringtype", "unspecified")
     .options(**target.jdbc_properties())
     .mode("append")
     .save())
    return None


def write_staging(df: DataFrame, target: PgTarget, table: str, run_id: str,
                  jdbc: JdbcSettings) -> int | None:
    """Parallel append of the run's rows into a staging table (see write_rows)."""
    return write_rows(df.withColumn("run_id", F.lit(run_id)), target, table, jdbc)


def _distinct(cols: list[str], left: str, right: str) -> str:
    return "(" + ", ".join(f"{left}.{c}" for c in cols) + ") IS DISTINCT FROM (" + \
        ", ".join(f"{right}.{c}" for c in cols) + ")"


def _upsert_sql(schema: str, table: str, source: str, key: str, columns: list[str],
                compared: list[str], where: str, casts: dict[str, str] | None = None) -> str:
    casts = casts or {}
    select = ", ".join(f"s.{c}{casts.get(c, '')}" for c in columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns + ["run_id"] if c != key)
    return (
        f'INSERT INTO "{schema}".{table} AS t ({", ".join(columns)}, run_id) '
        f'SELECT {select}, s.run_id FROM "{schema}".{source} s WHERE {where} '
        f"ON CONFLICT ({key}) DO UPDATE SET {updates} "
        f"WHERE {_distinct(compared, 't', 'EXCLUDED')}"
    )


class StagingIncomplete(RuntimeError):
    """The run's staging rows are not all there (a server crash empties UNLOGGED tables, a
    merge whose COMMIT reply was lost already consumed them): stage again, then merge."""


def merge_run(engine: sa.Engine, schema: str, run_id: str,
              expected: dict[str, int] | None = None, job: str = "text_pipeline",
              timings: dict[str, float] | None = None) -> dict[str, int]:
    """Apply one run's staging rows to the final tables in a single transaction.

    ``expected`` (staging table -> rows written) is checked first, inside the transaction:
    merging an incomplete staging set would silently drop rows. ``timings`` receives each
    statement's seconds under its count's name (adding up over retried merges): the stage's
    time, split so the costly statement shows (the chunks upsert computes ``content_tsv``).
    """
    q = f'"{schema}"'
    run = "s.run_id = :run_id"
    statements = {
        "documents_upserted": _upsert_sql(schema, S.DOCUMENTS, S.STG_DOCUMENTS, "doc_id",
                                          _DOC_COLUMNS, _DOC_COMPARED, run,
                                          {"boilerplate_removed": "::jsonb"}),
        # A re-processed document replaces its chunks: drop the ones it no longer produces, in
        # either final table, before inserting (a chunk can move from accepted to rejected).
        "chunks_removed": (
            f"DELETE FROM {q}.{S.CHUNKS} c USING {q}.{S.STG_DOCUMENTS} d "
            f"WHERE d.run_id = :run_id AND c.doc_id = d.doc_id AND NOT EXISTS ("
            f"SELECT 1 FROM {q}.{S.STG_CHUNKS} s WHERE s.run_id = :run_id "
            f"AND s.chunk_id = c.chunk_id AND s.status = 'accepted')"),
        "rejected_chunks_removed": (
            f"DELETE FROM {q}.{S.REJECTED_CHUNKS} c USING {q}.{S.STG_DOCUMENTS} d "
            f"WHERE d.run_id = :run_id AND c.doc_id = d.doc_id AND NOT EXISTS ("
            f"SELECT 1 FROM {q}.{S.STG_CHUNKS} s WHERE s.run_id = :run_id "
            f"AND s.chunk_id = c.chunk_id AND s.status = 'rejected')"),
        "chunks_upserted": _upsert_sql(
            schema, S.CHUNKS, S.STG_CHUNKS, "chunk_id", _CHUNK_COLUMNS, _CHUNK_COMPARED,
            f"{run} AND s.status = 'accepted'", {"pii_counts": "::jsonb"}),
        "rejected_chunks_upserted": _upsert_sql(
            schema, S.REJECTED_CHUNKS, S.STG_CHUNKS, "chunk_id", _CHUNK_COLUMNS + ["reject_reason"],
            _CHUNK_COMPARED + ["reject_reason"], f"{run} AND s.status = 'rejected'",
            {"pii_counts": "::jsonb"}),
    }
    counts = {}
    with engine.begin() as conn:
        for table, rows in (expected or {}).items():
            found = conn.execute(sa.text(f"SELECT count(*) FROM {q}.{table} WHERE run_id = :r"),
                                 {"r": run_id}).scalar()
            if found != rows:
                raise StagingIncomplete(f"{table}: {found} of {rows} rows of run {run_id}")
        for name, sql in statements.items():
            with add_seconds(timings, name):
                counts[name] = conn.execute(sa.text(sql), {"run_id": run_id}).rowcount
        # Same transaction as the change: the audit rows exist exactly when the change does.
        audit.record(conn, schema, run_id, job, [
            ("upsert", S.DOCUMENTS, counts["documents_upserted"]),
            ("delete", S.CHUNKS, counts["chunks_removed"]),
            ("delete", S.REJECTED_CHUNKS, counts["rejected_chunks_removed"]),
            ("upsert", S.CHUNKS, counts["chunks_upserted"]),
            ("upsert", S.REJECTED_CHUNKS, counts["rejected_chunks_upserted"])])
        for stg in (S.STG_DOCUMENTS, S.STG_CHUNKS):
            conn.execute(sa.text(f"DELETE FROM {q}.{stg} WHERE run_id = :run_id"),
                         {"run_id": run_id})
        # Test hook (no-op unless LAKEPREP_FAULT_PAUSE_AT=merge): everything is applied but not
        # committed, the moment where a crash must leave no trace.
        pause_point("merge")
    return counts


def clear_stale_staging(engine: sa.Engine, schema: str) -> None:
    """Staging rows of runs that are no longer running (crashed before their merge) are garbage."""
    q = f'"{schema}"'
    with engine.begin() as conn:
        for stg in (S.STG_DOCUMENTS, S.STG_CHUNKS):
            conn.execute(sa.text(
                f"DELETE FROM {q}.{stg} s WHERE NOT EXISTS (SELECT 1 FROM {q}.{S.RUNS} r "
                f"WHERE r.run_id = s.run_id AND r.status = 'running')"))


def stage_rows(df: DataFrame, target: PgTarget, engine: sa.Engine, table: str, run_id: str,
               jdbc: JdbcSettings) -> None:
    """One attempt of a staging write, safe to repeat: the rows an earlier attempt of this run
    wrote before its connection broke are deleted first, so a retry never duplicates them."""
    removed = delete_staging(engine, target.schema, table, run_id)
    if removed:
        log.info("%s: removed %d rows of an earlier attempt",
                                              table, removed)
    write_staging(df, target, table, run_id, jdbc)


def load_run(documents: DataFrame, chunks: DataFrame, target: PgTarget, engine: sa.Engine,
             run_id: str, jdbc: JdbcSettings, retry: RetrySettings | None = None,
             sleep: Callable[[float], None] = time.sleep,
             rows: tuple[int, int] | None = None,
             timings: dict[str, float] | None = None) -> dict[str, int]:
    """Staging write of the run's documents and chunks, then the transactional merge, each step
    retried on connection errors (``retry``; None = one attempt). ``rows``: the row counts of
    ``documents`` and ``chunks`` when the caller has them (the pipeline counted both when it
    materialized them), else they are counted here. ``timings`` receives the seconds of the
    staging writes (``staging``, every attempt) and of each merge statement (``merge_run``)."""
    retry = retry or RetrySettings(1, 0.0, 0.0)
    where = f"{target.host}:{target.port}"
    # Columns a step may not have produced (dedup switched off) are loaded as NULL.
    doc_cols = [F.col(c) if c in documents.columns
                else F.lit(None).cast(_OPTIONAL_DOC_COLUMNS[c]).alias(c) for c in _DOC_COLUMNS]
    staged = ((documents.select(*doc_cols), S.STG_DOCUMENTS),
              (chunks.select(*_CHUNK_COLUMNS, "status", "reject_reason"), S.STG_CHUNKS))
    # What the merge must find staged; the selects above keep every row.
    if rows is None:
        rows = (documents.count(), chunks.count())
    expected = {table: n for (_, table), n in zip(staged, rows)}

    def stage(df: DataFrame, table: str) -> None:
        call_with_retry(lambda: stage_rows(df, target, engine, table, run_id, jdbc), retry,
                        f"the staging write ({table})", where, sleep=sleep)

    for attempt in (1, 2):
        # Both staging writes at once, each on its own thread and connections: while one
        # waits on PostgreSQL inserting, the other keeps the JVM busy (docs/BENCHMARKS.md).
        with add_seconds(timings, "staging"):
            # Bound as defaults: B023 cannot see that Background calls the lambda at once.
            join_all([Background(f"staging_{table}", lambda df=df, table=table: stage(df, table),
                                 {}) for df, table in staged])
        try:
            return call_with_retry(lambda: merge_run(engine, target.schema, run_id, expected,
                                                     timings=timings),
                                   retry, "the merge", where, sleep=sleep)
        except StagingIncomplete as exc:
            if attempt == 2:
                raise
            # Re-staging is safe: stage_rows replaces the run's rows, the merge is idempotent.
            log.warning("staging incomplete before the merge (%s); staging again", exc)
    raise AssertionError("unreachable: the loop returns or raises")
