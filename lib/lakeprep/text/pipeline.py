"""The text pipeline, wired: ingest -> select (incremental) -> bronze -> documents -> chunks ->
PostgreSQL -> state -> report.

Called by jobs/text_pipeline.py. Each stage is a lakeprep function; this module only orders them,
keeps the lake layout in one place, times the stages and records the run in ``pipeline_runs``
(including failed runs, with the error). Only new and changed inputs are processed
(lakeprep.text.incremental); the incremental state is written after the PostgreSQL merge, so a
run killed at any earlier point is simply redone by the next one. Every database step is retried
on connection errors (lakeprep.db.retry) and one run at a time holds the database's run lock.
"""
from __future__ import annotations

import logging
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep import delta_io, monitoring
from lakeprep import lineage as lin
from lakeprep.background import Background, join_all
from lakeprep.config import Settings
from lakeprep.db import load as pg
from lakeprep.db.connection import PgTarget, resolve_target
from lakeprep.db.retry import call_with_retry
from lakeprep.faults import pause_point
from lakeprep.text import dedup
from lakeprep.text import incremental as inc
from lakeprep.text import report as rpt
from lakeprep.text.ingest import read_inputs
from lakeprep.text.transforms import chunk_documents, process_documents
from lakeprep.timing import add_seconds

log = logging.getLogger("lakeprep.text")

JOB_NAME = "text_pipeline"
# Columns whose change makes a lake row "changed"; timestamps and run ids are not among them.
BRONZE_COMPARED = ["content_sha256", "ingest_error", "size_bytes"]
# Dedup decisions depend on other documents, so they are compared too: a document whose first
# copy disappeared is kept on the next run although its own bytes did not change.
DOCUMENT_COMPARED = ["content_sha256", "ingest_error", "rules_version", "status", "reject_reason",
                     "duplicate_of", "near_dup_cluster", "deleted_at"]
CHUNK_COMPARED = ["doc_content_sha256", "content", "char_start", "char_end", "token_count",
                  "status", "reject_reason", "pii_counts", "quality_score"]


@dataclass(frozen=True)
class LakeLayout:
    root: str

    @property
    def bronze_documents(self) -> str:
        return f"{self.root}/bronze/raw_documents"

    @property
    def silver_documents(self) -> str:
        return f"{self.root}/silver/documents"

    @property
    def silver_chunks(self) -> str:
        return f"{self.root}/silver/chunks"

    @property
    def state_documents(self) -> str:
        return f"{self.root}/_state/text_documents"

    def report_dir(self, report_subdir: str, run_id: str) -> str:
        return f"{self.root}/{report_subdir}/{run_id}"


def to_uri(location: str) -> str:
    """Local paths become absolute ``file:/...`` URIs; anything with a scheme is kept as given.

    ``file:/path`` (not ``file:///path``) is the spelling Hadoop's Path uses when it qualifies a
    local path; Delta compares table locations as strings, so the lake root must match it.
    """
    if "://" in location or location.startswith("file:"):
        if location.startswith("file:///"):
            location = "file:/" + location[len("file:///"):]
        return location.rstrip("/")
    return "file:" + str(Path(location).expanduser().resolve())


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


@contextmanager
def timed_stage(name: str, timings: dict[str, float]):
    """Log a stage's start and end and record its seconds in ``timings`` (both jobs' reports)."""
    log.info("stage %s: started", name)
    with add_seconds(timings, name):
        yield
    log.info("stage %s: done in %.1f s", name, timings[name])


def _use_reliable_checkpoints(spark: SparkSession, layout: LakeLayout, run_id: str) -> None:
    """On a cluster, dedup's iterative clustering checkpoints to the lake: local checkpoints
    live on executors and are lost when dynamic allocation removes one. Locally they are fine
    (one process) and much cheaper."""
    if not spark.sparkContext.master.startswith("local"):
        spark.sparkContext.setCheckpointDir(f"{layout.root}/_checkpoints/{run_id}")


def _materialize_counted(df: DataFrame, cached: list, what: str) -> tuple[DataFrame, int]:
    """Compute ``df`` once into Spark's disk cache, so the MERGE, the next stage, the load and
    the report reuse it instead of recomputing the Python UDFs; the count is the progress line
    (and makes each stage's time its own). Returns the cached frame and its rows."""
    df = df.persist(StorageLevel.DISK_ONLY)
    cached.append(df)
    n = df.count()
    log.info("%s: %d rows", what, n)
    return df, n


def _materialize(df: DataFrame, cached: list, what: str) -> DataFrame:
    return _materialize_counted(df, cached, what)[0]


def _prepare_database(engine, target: PgTarget, settings: Settings, run_id: str,
                      input_uris: list[str], lake_root: str, full_refresh: bool, where: str,
                      sleep):
    """Schema, run lock, stale runs and staging, run row: every step retried on connection
    errors. Returns (metadata, lock connection)."""
    retry = settings.postgres.retry
    md = call_with_retry(lambda: pg.create_schema(engine, target.schema,
                                                  settings.chunking.max_tokens,
                                                  roles=settings.postgres.roles),
                         retry, "schema creation", where, sleep=sleep)
    lock = call_with_retry(lambda: pg.acquire_run_lock(engine, target.schema, JOB_NAME),
                           retry, "taking the run lock", where, sleep=sleep)
    try:
        # With the lock held no other run is alive: a "running" row is a killed run's.
        abandoned = call_with_retry(
            lambda: pg.abandon_stale_runs(engine, md, target.schema, JOB_NAME),
            retry, "closing abandoned runs", where, sleep=sleep)
        if abandoned:
            log.warning("runs %s never finished (killed or crashed): marked failed as "
                        "abandoned; this run redoes their unfinished work", ", ".join(abandoned))
        call_with_retry(lambda: pg.clear_stale_staging(engine, target.schema), retry,
                        "clearing stale staging rows", where, sleep=sleep)
        call_with_retry(lambda: pg.start_run(engine, md, target.schema, run_id, JOB_NAME,
                                             input_uris, lake_root, settings.source_path,
                                             settings.rules_fingerprint(), full_refresh),
                        retry, "recording the run start", where, sleep=sleep)
    except BaseException:
        pg.release_run_lock(lock)
        raise
    return md, lock


def _record_failure(engine, md, target: PgTarget, settings: Settings, run_id: str,
                    exc: BaseException, where: str, sleep) -> None:
    """Mark the run failed; if the database stays unreachable, say so in the log (the next run
    marks the row as abandoned) and let the original error through."""
    try:
        call_with_retry(lambda: pg.finish_run(engine, md, target.schema, run_id, "failed",
                                              error=f"{type(exc).__name__}: {exc}"),
                        settings.postgres.retry, "recording the failure", where, sleep=sleep)
    except Exception as finish_exc:
        log.error("run %s could not be marked failed (%s); the next run will mark it abandoned",
                  run_id, finish_exc)


def input_versions(ingested: DataFrame, input_uris: list[str]) -> list[lin.Dataset]:
    """One lineage input per input URI: the records read under it and a digest of their ids and
    content hashes (the same bytes give the same version, any changed, added or removed
    document a different one). One aggregation over the materialized inputs."""
    digest = F.xxhash64("doc_id", "content_sha256") % F.lit(1_000_000_007)
    aggs = []
    for i, uri in enumerate(input_uris):
        under = (F.col("source_uri") == uri) | F.col("source_uri").startswith(uri.rstrip("/") + "/")
        aggs += [F.sum(F.when(under, 1).otherwise(0)).alias(f"n{i}"),
                 # Bounded terms: the sum of up to ~9e9 records cannot overflow a long (ANSI).
                 F.sum(F.when(under, digest).otherwise(0)).alias(f"d{i}")]
    row = ingested.agg(*aggs).first()
    assert row is not None  # an aggregate without grouping always has its one row
    out = []
    for i, uri in enumerate(input_uris):
        namespace, name = lin.split_uri(uri)
        n = int(row[f"n{i}"] or 0)
        out.append(lin.Dataset("input", namespace, name, f"{n}:{int(row[f'd{i}'] or 0):x}", n))
    return out


def output_datasets(layout: LakeLayout, delta_versions: dict[str, int | None],
                    delta_rows: dict[str, int], target: PgTarget,
                    pg_rows: dict[str, int]) -> list[lin.Dataset]:
    """The run's outputs: the Delta tables with the version this run left them at and the rows it
    wrote, and the PostgreSQL tables with the rows the merge changed."""
    out = []
    for name, path in (("bronze.raw_documents", layout.bronze_documents),
                       ("silver.documents", layout.silver_documents),
                       ("silver.chunks", layout.silver_chunks),
                       ("state.text_documents", layout.state_documents)):
        if name in delta_versions:
            namespace, table_path = lin.split_uri(path)
            version = delta_versions[name]
            out.append(lin.Dataset("output", namespace, table_path,
                                   None if version is None else str(version),
                                   delta_rows.get(name)))
    pg_namespace = f"postgresql://{target.host}:{target.port}/{target.database}"
    for table, rows in pg_rows.items():
        out.append(lin.Dataset("output", pg_namespace, f"{target.schema}.{table}", None, rows))
    return out


def run_text_pipeline(spark: SparkSession, settings: Settings, inputs: list[str],
                      lake: str | None = None, target: PgTarget | None = None,
                      full_refresh: bool = False, sleep=time.sleep,
                      allow_mass_delete: bool = False) -> dict:
    """Run the pipeline once over the new and changed inputs (all of them with
    ``full_refresh``); returns the report (also written to the lake). ``sleep`` is the retry
    backoff's (injectable for tests). Raises incremental.MassDeletion (before any write) when
    most documents under the inputs vanished, unless ``allow_mass_delete``."""
    input_uris = [to_uri(u) for u in inputs]
    layout = LakeLayout(to_uri(lake or settings.lake_uri))
    run_id = new_run_id()
    started = datetime.now(timezone.utc)
    target = target or resolve_target(settings.postgres)
    where = f"{target.host}:{target.port}"
    rules_version = settings.rules_fingerprint()
    log.info("run %s: %d input(s) -> lake %s -> %s%s", run_id, len(input_uris), layout.root,
             target.describe(), " (full refresh)" if full_refresh else "")

    engine = target.engine()
    try:
        md, lock = _prepare_database(engine, target, settings, run_id, input_uris, layout.root,
                                     full_refresh, where, sleep)
    except BaseException:
        engine.dispose()
        raise
    timings: dict[str, float] = {}
    # Delta writes (and the report's aggregations) run on their own threads while the next
    # stage computes (lakeprep.background); their own seconds are kept apart from the stages.
    background: dict[str, float] = {}
    # The postgres stage split: staging writes and each merge statement (lakeprep.db.load).
    pg_seconds: dict[str, float] = {}
    pending: list[Background] = []
    cached = []
    try:
        _use_reliable_checkpoints(spark, layout, run_id)
        with timed_stage("ingest", timings):
            # Read and hash the sources once; only new and changed documents go further.
            ingested = _materialize(read_inputs(spark, input_uris, settings.input), cached,
                                    "inputs")
            # Frozen snapshots: this run's own writes must not change what it selected.
            state = inc.read_snapshot(spark, layout.state_documents, inc.STATE_SCHEMA.names)
            silver_docs = inc.read_snapshot(spark, layout.silver_documents, inc.SILVER_META)
            deleted = inc.deleted_at_source(state, ingested, input_uris)
            if deleted is not None:
                deleted = _materialize(deleted, cached, "documents deleted at source")
            requeue = inc.duplicates_to_requeue(silver_docs, state, ingested, deleted)
            classified = inc.classify(ingested, state, rules_version, full_refresh, requeue)
            if state is not None:
                # Joined with the state: computed once for the counts, the bronze write and the
                # documents. Without a state (a first run) it is the cached inputs with two
                # constant columns, and caching the content twice cost ~1 s per 8,000
                # documents (docs/BENCHMARKS.md).
                classified = _materialize(classified, cached, "inputs classified")
            changes = inc.counts(classified, deleted)
            inc.check_deletions(state, changes["deleted_at_source"], input_uris,
                                settings.input.max_deleted_fraction,
                                settings.input.min_deleted_to_guard, allow_mass_delete)
            log.info("inputs: %(new)d new, %(changed)d changed, %(unchanged)d unchanged, "
                     "%(deleted_at_source)d deleted at source; processing %(processed)d", changes)
            selected = classified.filter(F.col("process")).drop("change", "process")
            pending.append(Background("bronze_write", lambda: delta_io.upsert(
                spark, selected, layout.bronze_documents, "doc_id", BRONZE_COMPARED), background))
        with timed_stage("documents", timings):
            documents, n_processed = _materialize_counted(process_documents(selected, settings),
                                                          cached, "documents")
        with timed_stage("dedup", timings):
            # Called even when switched off: it then only adds the (null) dedup columns, so the
            # lake and database schemas do not depend on the setting.
            documents = dedup.deduplicate(documents, settings.dedup, rows=n_processed)
            if settings.dedup.enabled:
                documents = inc.dedup_against_kept(documents, silver_docs, rules_version, deleted)
            documents, n_documents = _materialize_counted(
                documents.withColumn("deleted_at", F.lit(None).cast("timestamp")), cached,
                "documents after dedup")
        with timed_stage("documents_merge", timings):
            # Deleted documents travel with the processed ones as tombstones (deleted_at set):
            # the same MERGEs update their rows and drop their chunks.
            gone = inc.tombstones(inc.read_table(spark, layout.silver_documents), deleted,
                                  documents.columns)
            if gone is None:  # already cached and counted: caching it again only warns
                written, n_written = documents, n_documents
            else:
                written, n_written = _materialize_counted(
                    documents.unionByName(inc.freeze(gone)), cached, "document rows to write")
            pending.append(Background("documents_write", lambda: delta_io.upsert(
                spark, written, layout.silver_documents, "doc_id", DOCUMENT_COMPARED,
                evolve_schema=True), background))
        with timed_stage("chunks", timings):
            chunks, n_chunks = _materialize_counted(chunk_documents(documents, settings), cached,
                                                    "chunks")

            def write_chunks() -> None:
                first_write = delta_io.upsert(spark, chunks, layout.silver_chunks, "chunk_id",
                                              CHUNK_COMPARED, evolve_schema=True)
                if not first_write:  # a table that held nothing before holds no stale chunk
                    delta_io.delete_stale_children(spark, layout.silver_chunks, chunks, "doc_id",
                                                   "chunk_id", written)
            pending.append(Background("chunks_write", write_chunks, background))
        with timed_stage("postgres", timings):
            # The report's aggregations read the same cached frames; they run while PostgreSQL
            # computes the merge (full-text vectors, indexes), when Spark's cores are idle.
            summary = Background("report_aggregations", lambda: (
                rpt.build_report(documents, chunks, {
                    "run_id": run_id,
                    "input_uris": input_uris,
                    "lake_uri": layout.root,
                    "rules_version": rules_version,
                    "config_path": settings.source_path,
                    "started_at": started.isoformat(timespec="seconds"),
                    "postgres_target": target.describe(),
                    "full_refresh": full_refresh,
                }), dedup.dedup_stats(documents)), background)
            pending.append(summary)
            pg_counts = pg.load_run(written, chunks, target, engine, run_id,
                                    settings.postgres.jdbc, settings.postgres.retry, sleep=sleep,
                                    rows=(n_written, n_chunks), timings=pg_seconds)
        with timed_stage("writes_wait", timings):
            # Every Delta write must be done before the state says these documents are.
            join_all(pending)
        with timed_stage("state", timings):
            # Last data write: only now are these documents done everywhere (see incremental).
            pause_point("state")
            inc.write_state(spark, layout.state_documents, selected, deleted, rules_version,
                            run_id)
        with timed_stage("report", timings):
            report, dedup_counts = summary.result()
            report["dedup"] = dedup_counts
            report["incremental"] = changes
            report["postgres"] = pg_counts
            report["delta_versions"] = {
                name: delta_io.table_version(spark, path) for name, path in (
                    ("bronze.raw_documents", layout.bronze_documents),
                    ("silver.documents", layout.silver_documents),
                    ("silver.chunks", layout.silver_chunks),
                    ("state.text_documents", layout.state_documents))
                if inc.read_table(spark, path) is not None}
            datasets = input_versions(ingested, input_uris) + output_datasets(
                layout, report["delta_versions"],
                {"bronze.raw_documents": changes["processed"],
                 "silver.documents": report["documents"]["documents"]
                 + changes["deleted_at_source"],
                 "silver.chunks": report["chunks"]["chunks"],
                 "state.text_documents": changes["processed"] + changes["deleted_at_source"]},
                target, {pg_table: pg_counts.get(f"{pg_table}_upserted", 0) for pg_table in
                         ("documents", "chunks", "rejected_chunks")})
            config_hash, code = settings.config_hash(), lin.code_version()
            report["lineage"] = lin.for_report(datasets, config_hash, code)
            call_with_retry(lambda: lin.record(engine, md, target.schema, run_id, JOB_NAME,
                                               datasets, config_hash, code),
                            settings.postgres.retry, "recording the lineage", where, sleep=sleep)
        # Written after its stage has closed, so that the report's stage times include its own
        # (all but the write itself, which duration_s covers).
        report["stage_seconds"] = timings
        report["background_seconds"] = background
        report["postgres_seconds"] = pg_seconds
        report["duration_s"] = round((datetime.now(timezone.utc) - started).total_seconds(), 1)
        report_uri = rpt.write_report(spark, report, layout.report_dir(settings.report.dir, run_id))
        report["report_uri"] = report_uri
        d, c = report["documents"], report["chunks"]
        counts = {
            "documents_in": d["documents"], "documents_accepted": d["accepted"],
            "documents_rejected": d["rejected"], "chunks_accepted": c["accepted"],
            "chunks_rejected": c["rejected"], "documents_new": changes["new"],
            "documents_changed": changes["changed"], "documents_unchanged": changes["unchanged"],
            "documents_deleted": changes["deleted_at_source"],
            "documents_processed": changes["processed"]}
        call_with_retry(lambda: pg.finish_run(engine, md, target.schema, run_id, "succeeded",
                                              counts=counts, report_uri=report_uri),
                        settings.postgres.retry, "recording the run's end", where, sleep=sleep)
        monitoring.push(settings.monitoring, _run_metrics(report, pg_counts))
        return report
    except BaseException as exc:
        for work in pending:  # nothing may still be writing once the run is marked failed
            work.wait_quietly()
        _record_failure(engine, md, target, settings, run_id, exc, where, sleep)
        monitoring.push(settings.monitoring, monitoring.RunMetrics(
            JOB_NAME, run_id, False,
            round((datetime.now(timezone.utc) - started).total_seconds(), 1), dict(timings)))
        raise
    finally:
        for df in cached:
            df.unpersist()
        pg.release_run_lock(lock)
        engine.dispose()


def _run_metrics(report: dict, pg_counts: dict) -> monitoring.RunMetrics:
    d, c = report["documents"], report["chunks"]
    return monitoring.RunMetrics(
        JOB_NAME, report["run_id"], True, report["duration_s"], dict(report["stage_seconds"]),
        rows_in=d["input_records"],
        rows_out={"silver.documents": d["documents"], "silver.chunks": c["chunks"],
                  **{f"postgres.{k.removesuffix('_upserted')}": v for k, v in pg_counts.items()
                     if k.endswith("_upserted")}},
        rejected={"documents": dict(d["rejected_by_reason"]),
                  "chunks": dict(c["rejected_by_reason"])},
        reject_ratio=round(d["rejected"] / d["documents"], 6) if d["documents"] else None,
        retries={})
