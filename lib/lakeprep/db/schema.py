"""PostgreSQL schema of the text pipeline, as SQLAlchemy models (the serving side of the lake).

Final tables hold the contract (documents, chunks, rejected_chunks, pipeline_runs); staging tables
receive the bulk JDBC write and are merged into the final tables in one transaction
(lakeprep.db.load). Design choices, also explained in README:

- ``chunks.content_tsv`` is a stored generated ``tsvector`` with a GIN index: full-text search
  without triggers, always in sync with ``content``.
- ``pii_types`` is ``text[]`` with a GIN index, so "chunks with an e-mail" is an index lookup
  (``pii_types @> '{email}'``).
- CHECK constraints keep the data consistent: token counts within the chunk limit, scores in
  [0, 1], a reject reason present exactly when a row is rejected.
- Chunks reference their document (ON DELETE CASCADE), so deleting a document removes its chunks.
- A document deleted at its source is a tombstone: its row stays with ``deleted_at`` set (the
  lineage of what was once served), its chunks are deleted.
- Staging tables are UNLOGGED: they are rebuilt from the lake on any rerun, so WAL for them is
  wasted I/O.
"""
from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy import text as sa_text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID

# The contract allows extending but not renaming: these are the names users query.
DOCUMENTS, CHUNKS, REJECTED_CHUNKS, RUNS = "documents", "chunks", "rejected_chunks", "pipeline_runs"
STG_DOCUMENTS, STG_CHUNKS = "stg_documents", "stg_chunks"
# Shared by both jobs (lakeprep.lineage, lakeprep.db.audit).
LINEAGE, AUDIT = "lineage", "audit_log"


def build_metadata(schema: str, max_tokens: int) -> MetaData:
    md = MetaData(schema=schema)

    Table(
        DOCUMENTS, md,
        Column("doc_id", String(64), primary_key=True),
        Column("source_uri", Text, nullable=False),
        Column("record_key", Text),
        Column("source_format", String(16), nullable=False),
        Column("status", String(16), nullable=False),
        Column("reject_reason", Text),
        Column("quality_score", Float, nullable=False),
        Column("encoding", String(64)),
        Column("size_bytes", BigInteger, nullable=False),
        Column("n_words", BigInteger, nullable=False),
        Column("content_sha256", String(64), nullable=False),
        Column("modified_at", DateTime(timezone=True)),
        Column("language", String(32)),
        Column("language_confidence", Float),
        Column("language_reliable", Boolean),
        Column("failed_rules", ARRAY(Text), nullable=False, server_default="{}"),
        Column("warnings", ARRAY(Text), nullable=False, server_default="{}"),
        Column("boilerplate_removed", JSONB, nullable=False, server_default="{}"),
        Column("content_hash", String(64)),
        Column("duplicate_of", String(64)),
        Column("near_dup_cluster", String(64)),
        Column("near_dup_similarity", Float),
        Column("processed_at", DateTime(timezone=True), nullable=False),
        Column("run_id", String(64), nullable=False),
        # Set when the source file or record disappeared (incremental runs); NULL = live.
        Column("deleted_at", DateTime(timezone=True)),
        CheckConstraint("status IN ('accepted', 'rejected')", name="documents_status_valid"),
        CheckConstraint("language_confidence BETWEEN 0 AND 1", name="documents_language_conf_range"),
        CheckConstraint("(status = 'rejected') = (reject_reason IS NOT NULL)",
                        name="documents_reason_iff_rejected"),
        CheckConstraint("quality_score BETWEEN 0 AND 1", name="documents_score_range"),
        Index("documents_status_reason_idx", "status", "reject_reason"),
        Index("documents_source_uri_idx", "source_uri"),
        Index("documents_processed_at_idx", "processed_at"),
        Index("documents_language_idx", "language"),
        Index("documents_duplicate_of_idx", "duplicate_of"),
        Index("documents_warnings_idx", "warnings", postgresql_using="gin"),
    )

    def chunk_columns() -> list:
        return [
            Column("chunk_id", String(64), primary_key=True),
            Column("doc_id", String(64), ForeignKey(f"{schema}.{DOCUMENTS}.doc_id",
                                                     ondelete="CASCADE"), nullable=False),
            Column("source_uri", Text, nullable=False),
            Column("chunk_index", Integer, nullable=False),
            Column("char_start", Integer, nullable=False),
            Column("char_end", Integer, nullable=False),
            Column("content", Text, nullable=False),
            Column("token_count", Integer, nullable=False),
            Column("non_alnum_ratio", Float, nullable=False),
            Column("quality_score", Float, nullable=False),
            Column("pii_types", ARRAY(Text), nullable=False, server_default="{}"),
            Column("pii_counts", JSONB, nullable=False, server_default="{}"),
            Column("processed_at", DateTime(timezone=True), nullable=False),
            Column("run_id", String(64), nullable=False),
        ]

    Table(
        CHUNKS, md, *chunk_columns(),
        Column("content_tsv", TSVECTOR, Computed("to_tsvector('english', content)", persisted=True)),
        CheckConstraint(f"token_count BETWEEN 1 AND {max_tokens}", name="chunks_token_limit"),
        CheckConstraint("quality_score BETWEEN 0 AND 1", name="chunks_score_range"),
        CheckConstraint("char_start >= 0 AND char_end > char_start", name="chunks_offsets_valid"),
        Index("chunks_doc_idx", "doc_id", "chunk_index", unique=True),
        Index("chunks_quality_idx", "quality_score"),
        Index("chunks_token_count_idx", "token_count"),
        Index("chunks_pii_types_idx", "pii_types", postgresql_using="gin"),
        Index("chunks_content_tsv_idx", "content_tsv", postgresql_using="gin"),
    )

    Table(
        REJECTED_CHUNKS, md, *chunk_columns(),
        Column("reject_reason", Text, nullable=False),
        Index("rejected_chunks_doc_idx", "doc_id", "chunk_index", unique=True),
        Index("rejected_chunks_reason_idx", "reject_reason"),
    )

    Table(
        RUNS, md,
        Column("run_id", String(64), primary_key=True),
        Column("job", String(64), nullable=False),
        Column("started_at", DateTime(timezone=True), nullable=False),
        Column("finished_at", DateTime(timezone=True)),
        Column("status", String(16), nullable=False),
        Column("input_uris", ARRAY(Text), nullable=False),
        Column("lake_uri", Text, nullable=False),
        Column("config_path", Text),
        Column("rules_version", String(32)),
        Column("documents_in", BigInteger),
        Column("documents_accepted", BigInteger),
        Column("documents_rejected", BigInteger),
        Column("chunks_accepted", BigInteger),
        Column("chunks_rejected", BigInteger),
        Column("report_uri", Text),
        Column("error", Text),
        # Incremental runs: input documents by what happened to their source since the last
        # successful run, and how many this run processed (new + changed, or all on a full
        # refresh or a rules change); documents_in/accepted/rejected count the processed ones.
        Column("full_refresh", Boolean),
        Column("documents_new", BigInteger),
        Column("documents_changed", BigInteger),
        Column("documents_unchanged", BigInteger),
        Column("documents_deleted", BigInteger),
        Column("documents_processed", BigInteger),
        CheckConstraint("status IN ('running', 'succeeded', 'failed')", name="runs_status_valid"),
        Index("pipeline_runs_started_idx", "started_at"),
    )

    # One row per dataset a run read or wrote (lakeprep.lineage): rewritten whole by a retried
    # run, so (run_id, direction, namespace, name) is its key.
    Table(
        LINEAGE, md,
        Column("run_id", String(64), primary_key=True),
        Column("direction", String(8), primary_key=True),
        Column("namespace", Text, primary_key=True),
        Column("name", Text, primary_key=True),
        Column("job", String(64), nullable=False),
        # Delta table version, content digest of the documents read, or the API's data date.
        Column("version", Text),
        Column("row_count", BigInteger),
        Column("code_version", Text, nullable=False),
        Column("config_hash", String(32), nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
        CheckConstraint("direction IN ('input', 'output')", name="lineage_direction_valid"),
        Index("lineage_job_recorded_idx", "job", "recorded_at"),
    )

    # Who changed which table, how and how much (lakeprep.db.audit), written in the same
    # transaction as the change itself. Append-only for the loader (roles.py revokes UPDATE
    # and DELETE), so a job cannot rewrite its own history.
    Table(
        AUDIT, md,
        Column("audit_id", UUID(as_uuid=False), primary_key=True,
               server_default=sa_text("gen_random_uuid()")),
        Column("run_id", String(64), nullable=False),
        Column("job", String(64), nullable=False),
        # session_user: the login; current_user: the role the statements ran as (SET ROLE).
        Column("db_user", Text, nullable=False),
        Column("db_role", Text, nullable=False),
        Column("action", String(16), nullable=False),
        Column("table_name", Text, nullable=False),
        Column("rows", BigInteger, nullable=False),
        Column("changed_at", DateTime(timezone=True), nullable=False,
               server_default=sa_text("now()")),
        CheckConstraint("action IN ('upsert', 'insert', 'delete')", name="audit_action_valid"),
        CheckConstraint("rows >= 0", name="audit_rows_non_negative"),
        Index("audit_log_run_idx", "run_id"),
        Index("audit_log_table_changed_idx", "table_name", "changed_at"),
    )

    # Staging: same columns as Spark writes them (arrays as text[], JSON as text), no constraints:
    # validation happens in the merge, where a failure rolls back as a whole.
    Table(
        STG_DOCUMENTS, md,
        Column("run_id", String(64), nullable=False),
        *[Column(c.name, Text if isinstance(c.type, JSONB) else c.type)
          for c in md.tables[f"{schema}.{DOCUMENTS}"].columns if c.name != "run_id"],
        prefixes=["UNLOGGED"],
    )
    Table(
        STG_CHUNKS, md,
        Column("run_id", String(64), nullable=False),
        *[Column(c.name, Text if c.name == "pii_counts" else c.type, nullable=True)
          for c in chunk_columns() if c.name != "run_id"],
        Column("status", String(16)),
        Column("reject_reason", Text),
        prefixes=["UNLOGGED"],
    )
    return md
