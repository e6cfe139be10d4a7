"""Lineage of every run: the OpenLineage listener's Spark configuration, and the ``lineage``
table in PostgreSQL (what a run read and wrote, in which versions, by which code and config).

Two complementary records. The openlineage-spark listener (a jar from scripts/jvm/pom.xml)
emits an event per Spark action with the datasets the plan read and wrote: fine-grained, in the
standard format lineage backends (Marquez, DataHub, ...) understand, but keyed by Spark's own
run ids and blind to what happens outside Spark (the PostgreSQL merge, the API pages). The
``lineage`` table is the job's own summary, one row per dataset per run, written with the run's
end: the run id, each input with its version (a digest of the documents read, the API's data
timestamp), each output table with its Delta version and the rows written, the code version and
the configuration hash. The report and the dashboard read it.
"""
from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import sqlalchemy as sa

from lakeprep.config import OpenLineageSettings
from lakeprep.db import schema as S

log = logging.getLogger("lakeprep.lineage")

LISTENER = "io.openlineage.spark.agent.OpenLineageSparkListener"


def local_path(uri: str) -> str | None:
    """The local path of a ``file:`` URI or plain path; None for remote stores (s3a:, hdfs:)."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return parsed.path if parsed.scheme else uri
    return None


def default_events_file(lake_uri: str) -> str | None:
    lake = local_path(lake_uri)
    # Absolute: the JVM resolves it, and a relative lake (.lake) means the job's directory.
    return None if lake is None else str(Path(lake).resolve() / "_lineage" / "openlineage.jsonl")


def openlineage_conf(settings: OpenLineageSettings, lake_uri: str, job: str) -> dict[str, str]:
    """Spark properties that register the listener with its transport ({} when disabled).

    Read by the SparkContext at start-up, so they go into the session builder. The file
    transport appends one JSON event per line; with no location configured it writes beside the
    lake, which only works for a local lake: on S3 the events go to the driver log instead."""
    if not settings.enabled:
        return {}
    conf = {"spark.extraListeners": LISTENER,
            "spark.openlineage.namespace": settings.namespace,
            # Event job names are <application>.<action>.<dataset>: naming the application after
            # the job tells the two jobs' events apart.
            "spark.openlineage.appName": job}
    transport = settings.transport
    location = settings.location or (default_events_file(lake_uri) if transport == "file"
                                     else "") or ""
    if transport == "file" and not location:
        log.warning("lineage: the lake %s is not local and lineage.openlineage.location is empty: "
                    "OpenLineage events go to the driver log (console transport)", lake_uri)
        transport = "console"
    conf["spark.openlineage.transport.type"] = transport
    if transport == "file":
        Path(location).parent.mkdir(parents=True, exist_ok=True)
        conf["spark.openlineage.transport.location"] = location
    elif transport == "http":
        conf["spark.openlineage.transport.url"] = settings.url
        conf["spark.openlineage.transport.endpoint"] = settings.endpoint
    return conf


def code_version() -> str:
    """LAKEPREP_CODE_VERSION when set (images and cluster packages stamp it at build time),
    else the git commit of the checkout the package runs from (``+dirty`` with local changes),
    else the package version."""
    stamped = os.environ.get("LAKEPREP_CODE_VERSION")
    if stamped:
        return stamped
    from lakeprep import __version__

    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        if sha.returncode == 0 and sha.stdout.strip():
            dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain",
                                    "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=10).stdout.strip()
            return f"{__version__}+g{sha.stdout.strip()}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        pass  # no git on the machine: the package version is all there is
    return __version__


@dataclass(frozen=True)
class Dataset:
    """One dataset a run read (``direction`` "input") or wrote ("output")."""
    direction: str
    namespace: str  # where it lives: a URI scheme + authority, "postgresql://host:port/db", ...
    name: str       # the table or path within it
    version: str | None = None  # Delta version, content digest, API data timestamp
    rows: int | None = None


def record(engine: sa.Engine, md: sa.MetaData, schema: str, run_id: str, job: str,
           datasets: list[Dataset], config_hash: str, version: str | None = None) -> int:
    """Write the run's lineage rows (replacing any of an earlier attempt of the same run, so a
    retried call never duplicates them). Returns the rows written."""
    table = md.tables[f"{schema}.{S.LINEAGE}"]
    version = version or code_version()
    now = datetime.now(timezone.utc)
    rows = [{"run_id": run_id, "job": job, "direction": d.direction, "namespace": d.namespace,
             "name": d.name, "version": d.version, "row_count": d.rows,
             "code_version": version, "config_hash": config_hash, "recorded_at": now}
            for d in datasets]
    with engine.begin() as conn:
        conn.execute(table.delete().where(table.c.run_id == run_id))
        if rows:
            conn.execute(table.insert(), rows)
    log.info("lineage: %d input(s), %d output(s) recorded for run %s (code %s, config %s)",
             sum(d.direction == "input" for d in datasets),
             sum(d.direction == "output" for d in datasets), run_id, version, config_hash)
    return len(rows)


def for_report(datasets: list[Dataset], config_hash: str, version: str) -> dict:
    """The lineage section of a run report (same facts as the table)."""
    return {"code_version": version, "config_hash": config_hash,
            "inputs": [_describe(d) for d in datasets if d.direction == "input"],
            "outputs": [_describe(d) for d in datasets if d.direction == "output"]}


def _describe(d: Dataset) -> dict:
    return {"namespace": d.namespace, "name": d.name, "version": d.version, "rows": d.rows}


def split_uri(uri: str) -> tuple[str, str]:
    """(namespace, name) of a storage URI the way OpenLineage names datasets: scheme://authority
    and the path (``file`` for local paths)."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return "file", parsed.path if parsed.scheme else uri
    return f"{parsed.scheme}://{parsed.netloc}", parsed.path


def render_markdown(section: dict) -> list[str]:
    """The report's lineage section (both jobs' Markdown reports)."""
    lines = ["## Lineage", "",
             f"Code `{section['code_version']}`, configuration hash `{section['config_hash']}`.",
             "", "| direction | dataset | version | rows |", "| --- | --- | --- | ---: |"]
    for direction in ("inputs", "outputs"):
        for d in section[direction]:
            rows = "" if d["rows"] is None else f"{d['rows']:,}"
            lines.append(f"| {direction[:-1]} | `{d['namespace']}` `{d['name']}` | "
                         f"{d['version'] or ''} | {rows} |")
    return lines + [""]
