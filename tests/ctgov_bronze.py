"""Test helper: bronze-shaped rows (the bronze/ctgov_studies columns) straight from the committed
fixture studies, so the warehouse tests do not depend on the API client or the replay server."""
from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ctgov"
BRONZE_SCHEMA = ("nct_id string not null, study_json string not null, last_update_posted string, "
                 "content_sha256 string, api_version string, data_timestamp string, page_uri string, "
                 "run_id string, ingested_at timestamp")


def fixture_studies() -> list[dict]:
    return json.loads((FIXTURES / "studies.json").read_text(encoding="utf-8"))


def edge_cases() -> dict:
    return json.loads((FIXTURES / "edge_cases.json").read_text(encoding="utf-8"))


def bronze_row(study: dict | str, run_id: str = "run-1", page: int = 0,
               ingested_at: dt.datetime | None = None) -> tuple:
    """One bronze row; ``study`` may be a raw JSON string (then nct_id is taken from a dict parse
    when possible, else 'NCT99999999')."""
    text = study if isinstance(study, str) else json.dumps(study, separators=(",", ":"))
    try:
        obj = json.loads(text)
        nct = obj["protocolSection"]["identificationModule"]["nctId"]
        last = obj["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]
    except (ValueError, KeyError, TypeError):
        nct, last = "NCT99999999", None
    return (nct, text, last, hashlib.sha256(text.encode()).hexdigest(), "2.0.5",
            "2025-06-01T00:00:00", f"_staging/ctgov/{run_id}/page-{page:05d}.json", run_id,
            ingested_at or dt.datetime(2025, 6, 2, 12, 0, 0))


def bronze_df(spark, studies: list, run_id: str = "run-1"):
    rows = [bronze_row(s, run_id, page=i // 50) for i, s in enumerate(studies)
            if isinstance(s, str) or "nctId" in s["protocolSection"]["identificationModule"]]
    return spark.createDataFrame(rows, BRONZE_SCHEMA)


def silver_work() -> str:
    """A fresh directory for build_silver's materialized frames (the job uses <lake>/_work),
    removed when the test session ends (each holds ~1 MB of Parquet; dozens a session)."""
    path = tempfile.mkdtemp(prefix="lakeprep-silver-work-")
    atexit.register(shutil.rmtree, path, True)
    return path
