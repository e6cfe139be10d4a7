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
from pyspark.sql import SparkSession

from lakeprep import delta_io
from lakeprep.config import Settings
from lakeprep.db import load as pg
from lakeprep.db.connection import PgTarget, resolve_target
from lakeprep.text import report as rpt
from lakeprep.text.ingest import read_inputs
from lakeprep.text.transforms import chunk_documents, process_documents

log = logging.getLogger("lakeprep.text")

JOB_NAME = "text_pipeline"
# Columns whose change makes a lake row "changed"; timestamps and run ids are not among them.
BRONZE_COMPARED = ["content_sha256", "ingest_error", "size_bytes"]
DOCUMENT_COMPARED = ["content_sha256", "ingest_error", "rules_version"]
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
            ingested = read_inputs(spark, input_uris, settings.input).persist(StorageLevel.DISK_ONLY)
            cached.append(ingested)
            delta_io.upsert(spark, ingested, layout.bronze_documents, "doc_id", BRONZE_COMPARED)
        with _stage("documents", timings):
            documents = process_documents(ingested, settings).persist(StorageLevel.DISK_ONLY)
            cached.append(documents)
            delta_io.upsert(spark, documents, layout.silver_documents, "doc_id", DOCUMENT_COMPARED,
                            evolve_schema=True)
        with _stage("chunks", timings):
            chunks = chunk_documents(documents, settings).persist(StorageLevel.DISK_ONLY)
            cached.append(chunks)
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
