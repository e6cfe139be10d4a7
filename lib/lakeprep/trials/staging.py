"""Staging of raw API pages: the bytes exactly as the API sent them, before any parsing.

Second step of the clinical-trials job (after lakeprep.trials.api fetched a page, before
lakeprep.trials.bronze parses it). One folder per staging run under ``TrialsLayout.staging_root``
(local folder, ``s3a://`` prefix or any Hadoop filesystem; written through Spark's Hadoop
FileSystem so every environment uses one code path):

    <root>/<staging_id>/run.json                       what was asked for (params, mode, since,
                                                        API version), written first
    <root>/<staging_id>/pages/page-000000.json         raw response body, untouched
    <root>/<staging_id>/pages/page-000000.request.json sidecar: URL, request parameters (with the
                                                        pageToken), nextPageToken, size, SHA-256,
                                                        study count, attempts, fetch time
    <root>/<staging_id>/_COMPLETE                      the last page was staged
    <root>/<staging_id>/_CONSUMED                      a run loaded it and succeeded
    <root>/<staging_id>/_ABANDONED                     the API refused its page token on resume

A page counts as staged only once its sidecar exists (written after the body), so a crash in
between refetches that page. Resuming: the newest staging run that was never consumed, asked
for exactly the same parameters, continues after its last staged page with that page's
nextPageToken; if it is complete, nothing is fetched at all.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from pyspark.sql import SparkSession

from lakeprep.trials.api import ApiError, CtgovClient, Page

log = logging.getLogger("lakeprep.trials.staging")

PAGE_GLOB = "page-??????.json"
_PAGE_NAME = re.compile(r"^page-(\d{6})\.json$")
_SIDECAR = re.compile(r"^page-(\d{6})\.request\.json$")


class HadoopFiles:
    """Small byte-level file access through the JVM's Hadoop FileSystem (file:, s3a:, hdfs:)."""

    def __init__(self, spark: SparkSession):
        self._jvm = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _fs(self, uri: str):
        path = self._jvm.org.apache.hadoop.fs.Path(uri)
        return path, path.getFileSystem(self._conf)

    def write(self, uri: str, data: bytes) -> None:
        path, fs = self._fs(uri)
        out = fs.create(path, True)
        try:
            out.write(bytearray(data))
        finally:
            out.close()

    def read(self, uri: str) -> bytes:
        path, fs = self._fs(uri)
        stream = fs.open(path)
        try:
            return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
        finally:
            stream.close()

    def exists(self, uri: str) -> bool:
        path, fs = self._fs(uri)
        return bool(fs.exists(path))

    def list_names(self, uri: str, directories: bool | None = None) -> list[str]:
        path, fs = self._fs(uri)
        if not fs.exists(path):
            return []
        names = []
        for status in fs.listStatus(path):
            if directories is None or bool(status.isDirectory()) == directories:
                names.append(status.getPath().getName())
        return sorted(names)

    def qualify(self, uri: str) -> str:
        path, fs = self._fs(uri)
        return str(fs.makeQualified(path).toString())


def _json_bytes(obj) -> bytes:
    return json.dumps(obj, indent=1, sort_keys=True).encode("utf-8")


@dataclass
class StagingRun:
    """One staging folder and what is in it."""
    files: HadoopFiles
    uri: str
    staging_id: str
    manifest: dict
    sidecars: list[dict]
    complete: bool
    resumed: bool = False

    @property
    def pages_uri(self) -> str:
        return f"{self.uri}/pages"

    def page_uri(self, index: int) -> str:
        return f"{self.pages_uri}/page-{index:06d}.json"

    @property
    def next_index(self) -> int:
        return len(self.sidecars)

    @property
    def next_token(self) -> str | None:
        return self.sidecars[-1].get("next_page_token") if self.sidecars else None

    def stage_page(self, page: Page, version: dict) -> dict:
        """Write the raw body, then its sidecar (the sidecar marks the page as staged)."""
        if page.index != self.next_index:
            raise ValueError(f"page {page.index} staged out of order (expected {self.next_index})")
        body_uri = self.page_uri(page.index)
        self.files.write(body_uri, page.body)
        sidecar = {
            "page_index": page.index,
            "page_file": body_uri.rsplit("/", 1)[1],
            "url": page.url,
            "params": page.params,
            "page_token": page.params.get("pageToken"),
            "next_page_token": page.next_page_token,
            "n_studies": len(page.studies),
            "total_count": page.data.get("totalCount"),
            "bytes": len(page.body),
            "sha256": hashlib.sha256(page.body).hexdigest(),
            "fetched_at": page.fetched_at,
            "elapsed_s": page.elapsed_s,
            "attempts": page.attempts,
            "api_version": version.get("api_version"),
            "data_timestamp": version.get("data_timestamp"),
        }
        self.files.write(f"{self.pages_uri}/page-{page.index:06d}.request.json",
                         _json_bytes(sidecar))
        self.sidecars.append(sidecar)
        return sidecar

    def mark_complete(self) -> None:
        self.files.write(f"{self.uri}/_COMPLETE", _json_bytes({
            "pages": len(self.sidecars), "studies": sum(s["n_studies"] for s in self.sidecars),
            "completed_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}))
        self.complete = True

    def mark_consumed(self, run_id: str) -> None:
        self.files.write(f"{self.uri}/_CONSUMED", _json_bytes({
            "run_id": run_id,
            "consumed_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}))

    @property
    def studies_staged(self) -> int:
        return sum(s["n_studies"] for s in self.sidecars)


def _load(files: HadoopFiles, uri: str, staging_id: str) -> StagingRun | None:
    if not files.exists(f"{uri}/run.json"):
        return None
    manifest = json.loads(files.read(f"{uri}/run.json"))
    indexes = sorted(int(m.group(1)) for n in files.list_names(f"{uri}/pages", directories=False)
                     if (m := _SIDECAR.match(n)))
    sidecars = []
    # Only the unbroken run of pages from 0 counts: a gap means a later page cannot be trusted
    # to follow from the earlier ones.
    for expected, index in enumerate(indexes):
        if index != expected:
            break
        sidecars.append(json.loads(files.read(f"{uri}/pages/page-{index:06d}.request.json")))
    return StagingRun(files, uri, staging_id, manifest, sidecars,
                      complete=files.exists(f"{uri}/_COMPLETE"))


def find_resumable(files: HadoopFiles, root: str, params: dict[str, str]) -> StagingRun | None:
    """The newest staging run that no successful run consumed, if it asked for ``params``."""
    for staging_id in reversed(files.list_names(root, directories=True)):
        uri = f"{root}/{staging_id}"
        if files.exists(f"{uri}/_CONSUMED") or files.exists(f"{uri}/_ABANDONED"):
            # Newer runs are consumed first; anything older was superseded by this one.
            return None
        run = _load(files, uri, staging_id)
        if run is None:
            continue
        if run.manifest.get("params") != params:
            log.info("staging %s was left unfinished with other parameters; starting afresh",
                     staging_id)
            return None
        run.resumed = True
        return run
    return None


def open_staging(files: HadoopFiles, root: str, run_id: str, params: dict[str, str],
                 mode: str, since: str | None, version: dict, base_url: str) -> StagingRun:
    """Resume an unfinished staging run with the same parameters, or start ``<root>/<run_id>``."""
    previous = find_resumable(files, root, params)
    if previous is not None:
        if previous.manifest.get("data_timestamp") != version.get("data_timestamp"):
            # Tokens of a refreshed registry may shift studies between pages; the MERGE keeps the
            # latest version of each and the next incremental run's margin catches up.
            log.warning("staging %s was started on registry data %s, the API now serves %s",
                        previous.staging_id, previous.manifest.get("data_timestamp"),
                        version.get("data_timestamp"))
        log.info("resuming staging %s: %d page(s), %d studies already staged%s",
                 previous.staging_id, len(previous.sidecars), previous.studies_staged,
                 " (complete)" if previous.complete else "")
        return previous
    uri = f"{root}/{run_id}"
    manifest = {"staging_id": run_id, "params": params, "mode": mode, "since": since,
                "base_url": base_url, "api_version": version.get("api_version"),
                "data_timestamp": version.get("data_timestamp"),
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    files.write(f"{uri}/run.json", _json_bytes(manifest))
    return StagingRun(files, uri, run_id, manifest, [], complete=False)


def stage_all(client: CtgovClient, run: StagingRun, version: dict) -> dict:
    """Fetch and stage every page still missing from ``run``; returns counts for the report."""
    fetched = 0
    if not run.complete:
        if run.sidecars and not run.next_token:
            # The last staged page was the final one; only the marker was lost in the crash.
            run.mark_complete()
        else:
            try:
                for page in client.iter_pages(run.manifest["params"], run.next_index,
                                              run.next_token):
                    run.stage_page(page, version)
                    fetched += 1
            except ApiError as exc:
                if not (run.resumed and fetched == 0 and exc.status == 400):
                    raise
                # The API refuses the staged pageToken (tokens expire): this staging can never
                # be finished, so the next run must not try again but start afresh.
                run.files.write(f"{run.uri}/_ABANDONED", _json_bytes({"error": str(exc)}))
                raise ApiError(f"cannot resume staging {run.staging_id}: the API rejected its "
                               f"page token ({exc}); it is abandoned, the next run starts "
                               "afresh", exc.status) from exc
            run.mark_complete()
    return {"staging_id": run.staging_id, "staging_uri": run.uri, "resumed": run.resumed,
            "pages": len(run.sidecars), "pages_fetched_this_run": fetched,
            "pages_resumed": len(run.sidecars) - fetched,
            "studies_staged": run.studies_staged, "bytes": sum(s["bytes"] for s in run.sidecars),
            "requests": client.requests_made, "retries": client.retries}
