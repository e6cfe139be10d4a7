"""Incremental runs: which input documents a run must process, and which vanished at the source.

Sits between ingest and the document stage of the text pipeline (lakeprep.text.pipeline). Every
run still lists and hashes its inputs (``read_inputs``: URI + SHA-256 of the bytes), then compares
them with the **state table** ``<lake>/_state/text_documents`` (Delta, one row per doc_id: the
content hash and rules version it was last processed with, the run that did it, ``deleted_at``).

The state table is written **last**, after the PostgreSQL merge committed, so "in the state with
this hash and these rules" means "processed successfully, everywhere". A run killed anywhere
before that (during ingest, the Delta writes, the JDBC load, the merge) leaves the state as it
was, and the next run processes the same documents again; the MERGEs make that repetition
harmless. A run killed after it only lost its report and its run row's final status.

Per input document (``change``):

- ``new``: doc_id not in the state (or tombstoned there and back at the source);
- ``changed``: in the state with another content hash: processed again, its chunks replaced;
- ``unchanged``: same hash: skipped, unless the rules fingerprint differs from the one it was
  processed with (a config change reprocesses everything), ``--full-refresh`` was given, or it
  is a duplicate whose kept copy changed or was deleted (its dedup decision is re-made).

Deleted at source: live state rows under one of this run's input URIs (the URI itself or below
it, so input ``a/`` never touches ``ab/`` nor another input) that the run did not find. They are
**tombstoned**: silver and PostgreSQL documents keep the row with ``deleted_at`` set, their chunks
are deleted from silver.chunks and from PostgreSQL ``chunks`` / ``rejected_chunks``.

Dedup across runs: an incremental run deduplicates its processed documents among themselves
(exact and near) and then **exactly** against the documents already kept in silver (same
content hash, same rules version): an existing kept copy wins over a new one. Near duplicates of
already-kept documents are not looked for (that would need the MinHash signatures of the whole
corpus every run); ``--full-refresh`` re-runs dedup over everything.
"""
from __future__ import annotations

from functools import reduce

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep import delta_io
from lakeprep.text.dedup import REASON_EXACT
from lakeprep.text.transforms import STATUS_ACCEPTED, STATUS_REJECTED

CHANGE_NEW, CHANGE_CHANGED, CHANGE_UNCHANGED = "new", "changed", "unchanged"

STATE_SCHEMA = T.StructType([
    T.StructField("doc_id", T.StringType(), False),
    T.StructField("source_uri", T.StringType(), False),
    T.StructField("content_sha256", T.StringType(), False),
    T.StructField("rules_version", T.StringType(), False),
    T.StructField("run_id", T.StringType(), False),
    T.StructField("updated_at", T.TimestampType(), False),
    T.StructField("deleted_at", T.TimestampType(), True),
])
# A state row changes when the document was processed or tombstoned by another run.
STATE_COMPARED = ["content_sha256", "rules_version", "run_id", "deleted_at"]
# What the selection and cross-run dedup need from silver.documents (no text: cheap to freeze).
SILVER_META = ["doc_id", "status", "content_hash", "duplicate_of", "rules_version", "deleted_at"]


def freeze(df: DataFrame) -> DataFrame:
    """Compute ``df`` now and cut it loose from the Delta tables it was read from.

    Spark's cache is keyed by plan, and every Delta commit re-caches the DataFrames that read
    the committed path: without this, writing silver or the state later in the run would
    silently recompute the selection against the *new* table versions (e.g. find every document
    "unchanged" once the state is written). A checkpoint has no path in its plan. Reliable when a
    checkpoint directory is set (clusters), executor-local otherwise."""
    try:
        if df.sparkSession.sparkContext.getCheckpointDir():
            return df.checkpoint(eager=True)
    except Exception:  # no SparkContext (Spark Connect): local checkpoints still work
        pass
    return df.localCheckpoint(eager=True)


def read_snapshot(spark: SparkSession, path: str, columns: list[str]) -> DataFrame | None:
    """``columns`` (those the table has) of the Delta table at ``path`` as of now, frozen;
    None before the table's first write."""
    df = read_table(spark, path)
    if df is None:
        return None
    return freeze(df.select(*[c for c in columns if c in df.columns]))


def read_table(spark: SparkSession, path: str) -> DataFrame | None:
    """The Delta table at ``path``, or None before its first write."""
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    return DeltaTable.forPath(spark, path).toDF()


def _live(df: DataFrame) -> DataFrame:
    # Silver tables written before tombstones existed have no deleted_at: every row is live.
    return df.filter(F.col("deleted_at").isNull()) if "deleted_at" in df.columns else df


def under_inputs(uri: Column, input_uris: list[str]) -> Column:
    """``uri`` is one of the inputs or inside one of them (path-segment aware)."""
    tests = []
    for u in input_uris:
        base = u.rstrip("/")
        tests.append((uri == F.lit(base)) | uri.startswith(base + "/"))
    return reduce(lambda a, b: a | b, tests, F.lit(False))


def classify(ingested: DataFrame, state: DataFrame | None, rules_version: str,
             full_refresh: bool, requeue: DataFrame | None = None) -> DataFrame:
    """``ingested`` + ``change`` (new / changed / unchanged) + ``process`` (this run must
    process the row). ``requeue``: doc_ids (column doc_id) to process although unchanged."""
    if state is None:
        return ingested.withColumn("change", F.lit(CHANGE_NEW)).withColumn("process", F.lit(True))
    known = _live(state).select("doc_id", F.col("content_sha256").alias("_state_sha"),
                                F.col("rules_version").alias("_state_rules"))
    df = ingested.join(known, on="doc_id", how="left")
    if requeue is not None:
        df = df.join(requeue.select("doc_id").distinct().withColumn("_requeued", F.lit(True)),
                     on="doc_id", how="left")
    else:
        df = df.withColumn("_requeued", F.lit(None).cast("boolean"))
    change = (F.when(F.col("_state_sha").isNull(), F.lit(CHANGE_NEW))
              .when(F.col("_state_sha") != F.col("content_sha256"), F.lit(CHANGE_CHANGED))
              .otherwise(F.lit(CHANGE_UNCHANGED)))
    rules_changed = F.col("_state_rules") != F.lit(rules_version)
    process = ((change != F.lit(CHANGE_UNCHANGED)) | F.lit(full_refresh) | rules_changed
               | F.coalesce(F.col("_requeued"), F.lit(False)))
    return (df.withColumn("change", change).withColumn("process", process)
            .drop("_state_sha", "_state_rules", "_requeued"))


def deleted_at_source(state: DataFrame | None, ingested: DataFrame,
                      input_uris: list[str]) -> DataFrame | None:
    """Live state rows under this run's inputs that the run did not find (doc_id, source_uri,
    content_sha256, rules_version); None without a state."""
    if state is None:
        return None
    return (_live(state).filter(under_inputs(F.col("source_uri"), input_uris))
            .join(ingested.select("doc_id"), on="doc_id", how="left_anti")
            .select("doc_id", "source_uri", "content_sha256", "rules_version"))


class MassDeletion(RuntimeError):
    """An incremental run would tombstone most of the documents under its inputs."""


def check_deletions(state: DataFrame | None, deleted_count: int, input_uris: list[str],
                    max_fraction: float, min_documents: int, allow: bool) -> None:
    """Raise MassDeletion when at least ``min_documents`` documents and more than
    ``max_fraction`` of the live documents under this run's inputs vanished at the source,
    unless ``allow`` (--allow-mass-delete). Checked before anything is written."""
    if allow or state is None or deleted_count < min_documents:
        return
    live = _live(state).filter(under_inputs(F.col("source_uri"), input_uris)).count()
    if live and deleted_count / live > max_fraction:
        raise MassDeletion(
            f"{deleted_count:,} of the {live:,} documents under the inputs are gone at the source "
            f"(more than {max_fraction:.0%}); nothing was changed. Check that the inputs are "
            "mounted and spelled right, or rerun with --allow-mass-delete to tombstone them")


def duplicates_to_requeue(silver_documents: DataFrame | None, state: DataFrame | None,
                          ingested: DataFrame, deleted: DataFrame | None) -> DataFrame | None:
    """Duplicates whose kept copy changed or was deleted at source: their dedup decision pointed
    at content that is gone, so they are processed again (and may become the kept copy)."""
    if silver_documents is None or state is None or "duplicate_of" not in silver_documents.columns:
        return None
    changed = (ingested.select("doc_id", "content_sha256")
               .join(_live(state).select("doc_id", F.col("content_sha256").alias("_old")),
                     on="doc_id", how="inner")
               .filter(F.col("_old") != F.col("content_sha256")).select("doc_id"))
    gone = changed if deleted is None else changed.unionByName(deleted.select("doc_id"))
    gone = gone.withColumnRenamed("doc_id", "duplicate_of")
    return (_live(silver_documents).filter(F.col("duplicate_of").isNotNull())
            .join(gone, on="duplicate_of", how="left_semi").select("doc_id"))


def counts(classified: DataFrame, deleted: DataFrame | None) -> dict[str, int]:
    """new / changed / unchanged / deleted_at_source / processed, in one aggregation (+ one)."""
    row = classified.agg(
        F.count(F.when(F.col("change") == CHANGE_NEW, 1)).alias(CHANGE_NEW),
        F.count(F.when(F.col("change") == CHANGE_CHANGED, 1)).alias(CHANGE_CHANGED),
        F.count(F.when(F.col("change") == CHANGE_UNCHANGED, 1)).alias(CHANGE_UNCHANGED),
        F.count(F.when(F.col("process"), 1)).alias("processed"),
    ).first()
    out = {k: int(row[k]) for k in (CHANGE_NEW, CHANGE_CHANGED, CHANGE_UNCHANGED, "processed")}
    out["deleted_at_source"] = 0 if deleted is None else deleted.count()
    # Unchanged but processed: a rules change, --full-refresh or a requeued duplicate.
    out["reprocessed_unchanged"] = out["processed"] - out[CHANGE_NEW] - out[CHANGE_CHANGED]
    return out


def dedup_against_kept(documents: DataFrame, silver_documents: DataFrame | None,
                       rules_version: str, deleted: DataFrame | None = None) -> DataFrame:
    """Reject processed documents whose content an already-kept document (not processed in
    this run, not deleted at source, same rules) has, as ``exact_duplicate`` of it: the
    existing copy wins."""
    if (silver_documents is None or "content_hash" not in documents.columns
            or "content_hash" not in silver_documents.columns):
        return documents
    candidates = _live(silver_documents).join(documents.select("doc_id"), on="doc_id",
                                               how="left_anti")
    if deleted is not None:
        # Tombstoned by this very run: no longer a copy anyone can keep.
        candidates = candidates.join(deleted.select("doc_id"), on="doc_id", how="left_anti")
    kept = (candidates
            .filter((F.col("status") == STATUS_ACCEPTED) & F.col("content_hash").isNotNull()
                    & (F.col("rules_version") == F.lit(rules_version)))
            .groupBy("content_hash").agg(F.min("doc_id").alias("_kept_id")))
    joined = documents.join(kept, on="content_hash", how="left")
    is_dup = (F.col("status") == STATUS_ACCEPTED) & F.col("_kept_id").isNotNull()
    replaced = {
        "status": F.when(is_dup, F.lit(STATUS_REJECTED)).otherwise(F.col("status")),
        "reject_reason": F.when(is_dup, F.lit(REASON_EXACT)).otherwise(F.col("reject_reason")),
        "duplicate_of": F.when(is_dup, F.col("_kept_id")).otherwise(F.col("duplicate_of")),
    }
    if "failed_rules" in documents.columns:
        replaced["failed_rules"] = F.when(
            is_dup, F.concat(F.col("failed_rules"), F.array(F.lit(REASON_EXACT)))
        ).otherwise(F.col("failed_rules"))
    return joined.select(*[replaced[c].alias(c) if c in replaced else F.col(c)
                           for c in documents.columns])


def tombstones(silver_documents: DataFrame | None, deleted: DataFrame | None,
               columns: list[str]) -> DataFrame | None:
    """Silver rows of the deleted documents with ``deleted_at`` = now, in ``columns`` order
    (columns silver lacks come out NULL). Freeze the result before silver is written."""
    if silver_documents is None or deleted is None:
        return None
    rows = silver_documents.join(deleted.select("doc_id"), on="doc_id", how="left_semi")
    rows = rows.withColumn("deleted_at", F.current_timestamp())
    types = {f.name: f.dataType for f in rows.schema.fields}
    return rows.select(*[F.col(c) if c in types else F.lit(None).alias(c) for c in columns])


def write_state(spark: SparkSession, path: str, processed: DataFrame, deleted: DataFrame | None,
                rules_version: str, run_id: str) -> None:
    """Record what this run finished: processed documents (hash, rules, run) and tombstones.
    Called after the PostgreSQL merge committed; one MERGE, so the state moves atomically."""
    now = F.current_timestamp()
    rows = processed.select(
        "doc_id", "source_uri", "content_sha256", F.lit(rules_version).alias("rules_version"),
        F.lit(run_id).alias("run_id"), now.alias("updated_at"),
        F.lit(None).cast("timestamp").alias("deleted_at"))
    if deleted is not None:
        rows = rows.unionByName(deleted.select(
            "doc_id", "source_uri", "content_sha256", "rules_version",
            F.lit(run_id).alias("run_id"), now.alias("updated_at"), now.alias("deleted_at")))
    rows = rows.select(*[F.col(f.name).cast(f.dataType) for f in STATE_SCHEMA.fields])
    delta_io.upsert(spark, rows, path, "doc_id", STATE_COMPARED)
