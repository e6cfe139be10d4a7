"""The text pipeline, wired: ingest -> bronze -> documents -> chunks -> PostgreSQL -> report.

Called by jobs/text_pipeline.py. Each stage is a lakeprep function; this module only orders them,
keeps the lake layout in one place, times the stages and records the run in ``pipeline_runs``
(including failed runs, with the error).
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

from lakeprep import delta_io
from lakeprep.config import Settings
from lakeprep.db import load as pg
from lakeprep.db.connection import PgTarget, resolve_target
from lakeprep.text import dedup
from lakeprep.text import report as rpt
from lakeprep.text.ingest import read_inputs
from lakeprep.text.transforms import chunk_documents, process_documents

log = logging.getLogger("lakeprep.text")

JOB_NAME = "text_pipeline"
# Columns whose change makes a lake row "changed"; timestamps and run ids are not among them.
BRONZE_COMPARED = ["content_sha256", "ingest_error", "size_bytes"]
# Dedup decisions depend on other documents, so they are compared too: a document whose first
# copy disappeared is kept on the next run although its own bytes did not change.
DOCUMENT_COMPARED = ["content_sha256", "ingest_error", "rules_version", "status", "reject_reason",
                     "duplicate_of", "near_dup_cluster"]
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
def _stage(name: str, timings: dict[str, float]):
    log.info("stage %s: started", name)
    t0 = time.monotonic()
    yield
    timings[name] = round(time.monotonic() - t0, 2)
    log.info("stage %s: done in %.1f s", name, timings[name])


def _use_reliable_checkpoints(spark: SparkSession, layout: LakeLayout, run_id: str) -> None:
    """On a cluster, dedup's iterative clustering checkpoints to the lake: local checkpoints
    live on executors and are lost when dynamic allocation removes one. Locally they are fine
    (one process) and much cheaper."""
    if not spark.sparkContext.master.startswith("local"):
        spark.sparkContext.setCheckpointDir(f"{layout.root}/_checkpoints/{run_id}")


def _materialize(df: DataFrame, cached: list, what: str) -> DataFrame:
    """Compute ``df`` once into Spark's disk cache, so the MERGE, the next stage, the load and
    the report reuse it instead of recomputing the Python UDFs; the count is the progress line
    (and makes each stage's time its own)."""
    df = df.persist(StorageLevel.DISK_ONLY)
    cached.append(df)
    log.info("%s: %d rows", what, df.count())
    return df


def run_text_pipeline(spark: SparkSession, settings: Settings, inputs: list[str],
                      lake: str | None = None, target: PgTarget | None = None) -> dict:
    """Run the whole pipeline once; returns the report (also written to the lake)."""
    input_uris = [to_uri(u) for u in inputs]
    layout = LakeLayout(to_uri(lake or settings.lake_uri))
    run_id = new_run_id()
    started = datetime.now(timezone.utc)
    target = target or resolve_target(settings.postgres)
    log.info("run %s: %d input(s) -> lake %s -> %s", run_id, len(input_uris), layout.root,
             target.describe())

    engine = target.engine()
    md = pg.create_schema(engine, target.schema, settings.chunking.max_tokens)
    pg.clear_stale_staging(engine, target.schema)
    pg.start_run(engine, md, target.schema, run_id, JOB_NAME, input_uris, layout.root,
                 settings.source_path, settings.rules_fingerprint())
    timings: dict[str, float] = {}
    cached = []
    try:
        with _stage("ingest", timings):
            # Read the sources once: the bronze MERGE and the document stage both use the rows.
            ingested = _materialize(read_inputs(spark, input_uris, settings.input), cached, "inputs")
            delta_io.upsert(spark, ingested, layout.bronze_documents, "doc_id", BRONZE_COMPARED)
        with _stage("documents", timings):
            documents = _materialize(process_documents(ingested, settings), cached, "documents")
        with _stage("dedup", timings):
            # Called even when switched off: it then only adds the (null) dedup columns, so the
            # lake and database schemas do not depend on the setting.
            _use_reliable_checkpoints(spark, layout, run_id)
            documents = _materialize(dedup.deduplicate(documents, settings.dedup), cached,
                                     "documents after dedup")
        with _stage("documents_merge", timings):
            delta_io.upsert(spark, documents, layout.silver_documents, "doc_id", DOCUMENT_COMPARED,
                            evolve_schema=True)
        with _stage("chunks", timings):
            chunks = _materialize(chunk_documents(documents, settings), cached, "chunks")
            delta_io.upsert(spark, chunks, layout.silver_chunks, "chunk_id", CHUNK_COMPARED,
                            evolve_schema=True)
            delta_io.delete_stale_children(spark, layout.silver_chunks, chunks, "doc_id",
                                           "chunk_id", documents)
        with _stage("postgres", timings):
            pg_counts = pg.load_run(documents, chunks, target, engine, run_id,
                                    settings.postgres.jdbc)
        with _stage("report", timings):
            report = rpt.build_report(documents, chunks, {
                "run_id": run_id,
                "input_uris": input_uris,
                "lake_uri": layout.root,
                "rules_version": settings.rules_fingerprint(),
                "config_path": settings.source_path,
                "started_at": started.isoformat(timespec="seconds"),
                "postgres_target": target.describe(),
            })
            report["postgres"] = pg_counts
            report["dedup"] = dedup.dedup_stats(documents)
            report["delta_versions"] = {
                name: delta_io.table_version(spark, path) for name, path in (
                    ("bronze.raw_documents", layout.bronze_documents),
                    ("silver.documents", layout.silver_documents),
                    ("silver.chunks", layout.silver_chunks))}
            report["stage_seconds"] = timings
            report["duration_s"] = round((datetime.now(timezone.utc) - started).total_seconds(), 1)
            report_uri = rpt.write_report(spark, report, layout.report_dir(settings.report.dir, run_id))
            report["report_uri"] = report_uri
        d, c = report["documents"], report["chunks"]
        pg.finish_run(engine, md, target.schema, run_id, "succeeded", counts={
            "documents_in": d["documents"], "documents_accepted": d["accepted"],
            "documents_rejected": d["rejected"], "chunks_accepted": c["accepted"],
            "chunks_rejected": c["rejected"]}, report_uri=report_uri)
        return report
    except BaseException as exc:
        pg.finish_run(engine, md, target.schema, run_id, "failed",
                      error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        for df in cached:
            df.unpersist()
        engine.dispose()
