"""Load the lake's silver tables into PostgreSQL: JDBC bulk write to staging, then one merge.

Last step of the text pipeline. Spark writes the run's rows in parallel into UNLOGGED staging
tables tagged with the run id; a single transaction then upserts them into the final tables and
removes chunks a changed document no longer has. Readers see either the old state or the new one,
never half a load, and replaying a run changes nothing (rows are only updated when a compared
column differs, so even ``processed_at`` keeps its first value).
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakeprep.config import JdbcSettings
from lakeprep.db import schema as S
from lakeprep.db.connection import PgTarget

_DOC_COLUMNS = ["doc_id", "source_uri", "record_key", "source_format", "status", "reject_reason",
                "quality_score", "encoding", "size_bytes", "n_words", "content_sha256",
                "modified_at", "language", "language_confidence", "language_reliable",
                "failed_rules", "warnings", "boilerplate_removed", "content_hash", "duplicate_of",
                "near_dup_cluster", "near_dup_similarity", "processed_at"]
_CHUNK_COLUMNS = ["chunk_id", "doc_id", "source_uri", "chunk_index", "char_start", "char_end",
                  "content", "token_count", "non_alnum_ratio", "quality_score", "pii_types",
                  "pii_counts", "processed_at"]
# Produced only by optional steps (dedup), with their Spark types for a NULL stand-in.
_OPTIONAL_DOC_COLUMNS = {"content_hash": "string", "duplicate_of": "string",
                         "near_dup_cluster": "string", "near_dup_similarity": "double"}
# Columns whose change means the row changed; processed_at and run_id record *when*, not *what*.
_DOC_COMPARED = [c for c in _DOC_COLUMNS if c not in ("doc_id", "processed_at")]
_CHUNK_COMPARED = [c for c in _CHUNK_COLUMNS if c not in ("chunk_id", "processed_at")]


def create_schema(engine: sa.Engine, schema: str, max_tokens: int) -> sa.MetaData:
    """Create missing tables and add columns that a newer version of the models introduced.

    Only additive changes are applied automatically (new nullable or defaulted columns), so a
    database created by an earlier release keeps working; anything else needs a deliberate
    migration and fails loudly in the merge instead of being guessed at here.
    """
    md = S.build_metadata(schema, max_tokens)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
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
    return md


def start_run(engine: sa.Engine, md: sa.MetaData, schema: str, run_id: str, job: str,
              input_uris: list[str], lake_uri: str, config_path: str, rules_version: str) -> None:
    runs = md.tables[f"{schema}.{S.RUNS}"]
    with engine.begin() as conn:
        conn.execute(runs.insert().values(
            run_id=run_id, job=job, started_at=datetime.now(timezone.utc), status="running",
            input_uris=input_uris, lake_uri=lake_uri, config_path=config_path,
            rules_version=rules_version))


def finish_run(engine: sa.Engine, md: sa.MetaData, schema: str, run_id: str, status: str,
               counts: dict | None = None, report_uri: str | None = None,
               error: str | None = None) -> None:
    runs = md.tables[f"{schema}.{S.RUNS}"]
    values = {"finished_at": datetime.now(timezone.utc), "status": status, "report_uri": report_uri,
              "error": error[:4000] if error else None, **(counts or {})}
    with engine.begin() as conn:
        conn.execute(runs.update().where(runs.c.run_id == run_id).values(**values))


def write_staging(df: DataFrame, target: PgTarget, table: str, run_id: str,
                  jdbc: JdbcSettings) -> None:
    """Parallel JDBC append of the run's rows into a staging table."""
    (df.withColumn("run_id", F.lit(run_id))
     .repartition(jdbc.num_partitions)
     .write.format("jdbc")
     .option("url", target.jdbc_url())
     .option("dbtable", f"{target.schema}.{table}")
     .option("batchsize", jdbc.batchsize)
     # Staging columns are typed (text[], timestamptz); let the server cast strings it receives.
     .option("stringtype", "unspecified")
     .options(**target.jdbc_properties())
     .mode("append")
     .save())


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


def merge_run(engine: sa.Engine, schema: str, run_id: str) -> dict[str, int]:
    """Apply one run's staging rows to the final tables in a single transaction."""
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
        for name, sql in statements.items():
            counts[name] = conn.execute(sa.text(sql), {"run_id": run_id}).rowcount
        for stg in (S.STG_DOCUMENTS, S.STG_CHUNKS):
            conn.execute(sa.text(f"DELETE FROM {q}.{stg} WHERE run_id = :run_id"),
                         {"run_id": run_id})
    return counts


def clear_stale_staging(engine: sa.Engine, schema: str) -> None:
    """Staging rows of runs that are no longer running (crashed before their merge) are garbage."""
    q = f'"{schema}"'
    with engine.begin() as conn:
        for stg in (S.STG_DOCUMENTS, S.STG_CHUNKS):
            conn.execute(sa.text(
                f"DELETE FROM {q}.{stg} s WHERE NOT EXISTS (SELECT 1 FROM {q}.{S.RUNS} r "
                f"WHERE r.run_id = s.run_id AND r.status = 'running')"))


def load_run(documents: DataFrame, chunks: DataFrame, target: PgTarget, engine: sa.Engine,
             run_id: str, jdbc: JdbcSettings) -> dict[str, int]:
    """Staging write of the run's documents and chunks, then the transactional merge."""
    # Columns a step may not have produced (dedup switched off) are loaded as NULL.
    doc_cols = [F.col(c) if c in documents.columns
                else F.lit(None).cast(_OPTIONAL_DOC_COLUMNS[c]).alias(c) for c in _DOC_COLUMNS]
    write_staging(documents.select(*doc_cols), target, S.STG_DOCUMENTS, run_id, jdbc)
    write_staging(chunks.select(*_CHUNK_COLUMNS, "status", "reject_reason"), target,
                  S.STG_CHUNKS, run_id, jdbc)
    return merge_run(engine, target.schema, run_id)
