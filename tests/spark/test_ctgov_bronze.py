"""Staging -> bronze on the committed fixtures served by the replay server: raw pages staged
untouched with their sidecars, one bronze row per NCT ID with the latest version (also across
pages and runs), rejects with reasons, idempotent reruns, and resumption after a failed fetch."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from lakeprep.config import load_settings
from lakeprep.trials import bronze, staging
from lakeprep.trials.api import ApiError, CtgovClient, studies_params
from lakeprep.trials.layout import TrialsLayout
from lakeprep.trials.replay import ReplayServer

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ctgov"
API = dataclasses.replace(load_settings().trials.api, page_size=20, requests_per_minute=60000,
                          max_attempts=2, backoff_base_s=0.0, backoff_max_s=0.0,
                          read_timeout_s=5.0)
STUDIES = json.loads((FIXTURES / "studies.json").read_text())


def nct(study):
    return ((study.get("protocolSection") or {}).get("identificationModule") or {}).get("nctId")


def lup(study):
    return study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]


@pytest.fixture
def server():
    with ReplayServer(FIXTURES) as srv:
        yield srv


def client(server):
    return CtgovClient(API, server.base_url, sleep=lambda s: None, rng=random.Random(0))


def stage(spark, server, layout, run_id, params=None):
    c = client(server)
    version = c.version()
    params = params or studies_params(API, None)
    files = staging.HadoopFiles(spark)
    run = staging.open_staging(files, layout.staging_root, run_id, params, "full", None, version,
                               server.base_url)
    counts = staging.stage_all(c, run, version)
    return run, counts


def layout_for(tmp_path) -> TrialsLayout:
    return TrialsLayout("file:" + str(tmp_path / "lake"))


def bronze_rows(spark, layout):
    return {r["nct_id"]: r.asDict() for r in
            spark.read.format("delta").load(layout.bronze_studies).collect()}


def test_split_page_reasons():
    good = {"protocolSection": {"identificationModule": {"nctId": " NCT00000001 "},
                                "statusModule": {"lastUpdatePostDateStruct": {"date": "2020-05"}}}}
    body = json.dumps({"studies": [good, {"protocolSection": {"identificationModule": {}}},
                                   ["not", "a", "study"],
                                   {"protocolSection": {"identificationModule": {"nctId": ""}}}]})
    rows = bronze.split_page(body.encode())
    assert rows[0][:2] == (0, "NCT00000001") and rows[0][3] == "2020-05" and rows[0][4] is None
    assert json.loads(rows[0][2]) == good
    assert [r[4] for r in rows[1:]] == [bronze.MISSING_NCT_ID, bronze.NOT_AN_OBJECT,
                                        bronze.MISSING_NCT_ID]
    [(index, _, text, _, reason, _)] = bronze.split_page(b'{"studies": [{"a": 1}')
    assert (index, reason) == (-1, bronze.MALFORMED_PAGE) and text.startswith('{"studies"')


def test_pages_are_staged_untouched_with_their_request(spark, server, tmp_path):
    layout = layout_for(tmp_path)
    run, counts = stage(spark, server, layout, "20260101T000000Z-aaaa0001")
    n_pages = -(-len(STUDIES) // API.page_size)
    assert counts["pages"] == n_pages and counts["studies_staged"] == len(STUDIES)
    pages_dir = tmp_path / "lake" / "_staging" / "ctgov" / "20260101T000000Z-aaaa0001" / "pages"
    sidecar = json.loads((pages_dir / "page-000001.request.json").read_text())
    body = (pages_dir / "page-000001.json").read_bytes()
    assert hashlib.sha256(body).hexdigest() == sidecar["sha256"]
    assert sidecar["params"]["pageToken"] == sidecar["page_token"]
    assert sidecar["params"]["pageSize"] == str(API.page_size)
    assert sidecar["api_version"] == "2.0.5" and sidecar["n_studies"] == API.page_size
    assert json.loads(body)["studies"] == STUDIES[API.page_size:2 * API.page_size]
    assert (pages_dir.parent / "_COMPLETE").exists()


@pytest.fixture(scope="module")
def loaded(spark, tmp_path_factory):
    """Fixtures staged once (page size 20) and loaded twice into one lake."""
    tmp_path = tmp_path_factory.mktemp("bronze")
    layout = layout_for(tmp_path)
    with ReplayServer(FIXTURES) as srv:
        run, _ = stage(spark, srv, layout, "20260101T000000Z-aaaa0002")
    first, fetched = bronze.load_bronze(spark, layout, run, "run-1")
    rows = bronze_rows(spark, layout)
    n_fetched = fetched.count()
    second, _ = bronze.load_bronze(spark, layout, run, "run-2")
    return {"layout": layout, "first": first, "second": second, "rows": rows,
            "rows_after_second": bronze_rows(spark, layout), "n_fetched": n_fetched}


def test_bronze_keeps_latest_version_and_rejects_with_reason(spark, loaded):
    layout, counts, rows = loaded["layout"], loaded["first"], loaded["rows"]
    valid = [s for s in STUDIES if isinstance(nct(s), str) and nct(s).strip()]
    latest = {}
    for s in valid:  # fixture order = page order: a later copy with a later date wins
        if nct(s) not in latest or lup(s) >= lup(latest[nct(s)]):
            latest[nct(s)] = s
    assert set(rows) == set(latest)
    assert counts["distinct_studies"] == len(latest) == counts["bronze_inserted"]
    assert counts["superseded_in_run"] == len(valid) - len(latest) >= 2
    assert counts["rejected_by_reason"] == {bronze.MISSING_NCT_ID: len(STUDIES) - len(valid)}
    assert counts["records"] == len(STUDIES)
    # Duplicated across pages (positions 1 and 21 with page size 20): the later date is kept.
    for dup in ("NCT03286019", "NCT01200020"):
        assert rows[dup]["last_update_posted"] == lup(latest[dup])
        assert json.loads(rows[dup]["study_json"]) == latest[dup]
    row = rows["NCT03286019"]
    assert row["content_sha256"] == hashlib.sha256(row["study_json"].encode()).hexdigest()
    assert row["api_version"] == "2.0.5" and row["data_timestamp"] and row["run_id"] == "run-1"
    assert row["page_uri"].endswith("/pages/page-000001.json")
    assert Path(row["page_uri"].removeprefix("file:")).exists()
    rejected = spark.read.format("delta").load(layout.bronze_rejected).collect()
    assert [r["reason"] for r in rejected] == [bronze.MISSING_NCT_ID]
    assert rejected[0]["record_index"] == 15 and "nctId is absent" in rejected[0]["detail"]
    assert json.loads(rejected[0]["record_json"]) == STUDIES[15]
    assert loaded["n_fetched"] == len(latest)
    # Schema is the agreed contract, in order.
    assert spark.read.format("delta").load(layout.bronze_studies).schema.fieldNames() == \
        bronze.BRONZE_SCHEMA.fieldNames()


def test_rerun_changes_nothing(spark, loaded):
    counts = loaded["second"]
    assert (counts["bronze_inserted"], counts["bronze_updated"]) == (0, 0)
    assert counts["bronze_unchanged"] == counts["distinct_studies"]
    assert loaded["rows_after_second"] == loaded["rows"]
    assert spark.read.format("delta").load(loaded["layout"].bronze_rejected).count() == 1
    # The first load went into a table it created: appended, not merged; the rerun merged.
    ops = [r.operation for r in DeltaTable.forPath(spark, loaded["layout"].bronze_studies)
           .history().orderBy("version").collect()]
    assert ops == ["CREATE TABLE", "WRITE", "MERGE"], ops


def test_older_version_never_replaces_newer_and_same_date_correction_does(spark, tmp_path):
    layout = layout_for(tmp_path)

    def row(version, date, title, run):
        study = {"protocolSection": {"identificationModule": {"nctId": "NCT00000042",
                                                               "briefTitle": title}}}
        text = json.dumps(study)
        return ("NCT00000042", text, date, hashlib.sha256(text.encode()).hexdigest(), "2.0.5",
                "ts", f"page-{version}", run, None)

    def merge(*rows):
        df = spark.createDataFrame(list(rows), bronze.BRONZE_SCHEMA)
        return bronze.merge_bronze(spark, df, layout.bronze_studies)

    def current():
        return spark.read.format("delta").load(layout.bronze_studies).first()

    assert merge(row(1, "2024-05", "v1", "r1"))["inserted"] == 1
    # "2024-05" is May 1st: a study updated on 2024-05-20 is newer.
    assert merge(row(2, "2024-05-20", "v2", "r2"))["updated"] == 1
    assert merge(row(3, "2023-12-31", "old", "r3"))["updated"] == 0
    assert json.loads(current()["study_json"])["protocolSection"]["identificationModule"][
        "briefTitle"] == "v2"
    # Same date, corrected content: the later run wins.
    assert merge(row(4, "2024-05-20", "v2-fixed", "r4"))["updated"] == 1
    assert current()["run_id"] == "r4"


def test_failed_fetch_resumes_from_the_last_staged_page(spark, server, tmp_path):
    layout = layout_for(tmp_path)
    params = studies_params(API, None)
    server.set_faults(["500:from_page=4,times=-1"])
    with pytest.raises(ApiError, match="studies page 4"):
        stage(spark, server, layout, "20260101T000000Z-aaaa0004", params)
    server.set_faults([])
    server.state.requests.clear()
    run, counts = stage(spark, server, layout, "20260101T000000Z-aaaa0005", params)
    assert run.staging_id == "20260101T000000Z-aaaa0004" and counts["resumed"]
    assert counts["pages_resumed"] == 4
    assert [r["page"] for r in server.requests("studies")] == list(range(4, counts["pages"]))
    # The resumed staging equals an uninterrupted one.
    fresh_layout = TrialsLayout("file:" + str(tmp_path / "fresh"))
    fresh, _ = stage(spark, server, fresh_layout, "20260101T000000Z-aaaa0006", params)
    resumed_pages = Path(run.uri.removeprefix("file:")) / "pages"
    fresh_pages = Path(fresh.uri.removeprefix("file:")) / "pages"
    for body in sorted(fresh_pages.glob(staging.PAGE_GLOB)):
        assert (resumed_pages / body.name).read_bytes() == body.read_bytes()
    # Once consumed, a staging run is never resumed again: the next run stages afresh.
    run.mark_consumed("run-x")
    again, _ = stage(spark, server, layout, "20260101T000000Z-aaaa0007", params)
    assert again.staging_id == "20260101T000000Z-aaaa0007"


def test_staging_with_other_parameters_is_not_resumed(spark, server, tmp_path):
    layout = layout_for(tmp_path)
    server.set_faults(["500:from_page=1,times=-1"])
    with pytest.raises(ApiError):
        stage(spark, server, layout, "20260101T000000Z-aaaa0008")
    server.set_faults([])
    other = {**studies_params(API, None), "query.cond": "asthma"}
    run, counts = stage(spark, server, layout, "20260101T000000Z-aaaa0009", other)
    assert run.staging_id == "20260101T000000Z-aaaa0009" and not counts["resumed"]


def test_corrupted_staged_page_is_quarantined(spark, server, tmp_path):
    layout = layout_for(tmp_path)
    run, _ = stage(spark, server, layout, "20260101T000000Z-aaaa0010")
    # Truncated after staging (a partial copy, a bad disk); written through Hadoop so its
    # checksum file agrees and the damage reaches the parser.
    uri = run.page_uri(2)
    run.files.write(uri, run.files.read(uri)[:500])
    counts, _ = bronze.load_bronze(spark, layout, run, "run-1")
    assert counts["rejected_by_reason"][bronze.MALFORMED_PAGE] == 1
    rejected = spark.read.format("delta").load(layout.bronze_rejected)
    [bad] = rejected.where(F.col("reason") == bronze.MALFORMED_PAGE).collect()
    assert bad["page_uri"].endswith("page-000002.json") and bad["record_index"] == -1


def test_run_without_rejects_still_creates_the_rejected_table(spark, server, tmp_path):
    layout = layout_for(tmp_path)
    server.state.studies = STUDIES[:10]  # all with an NCT ID
    run, _ = stage(spark, server, layout, "20260101T000000Z-aaaa0011")
    counts, _ = bronze.load_bronze(spark, layout, run, "run-1")
    assert counts["rejected"] == 0 and counts["bronze_inserted"] == 10
    rejected = spark.read.format("delta").load(layout.bronze_rejected)
    assert rejected.count() == 0 and rejected.schema.fieldNames() == \
        bronze.REJECTED_SCHEMA.fieldNames()


def test_rejected_resume_token_abandons_the_staging(spark, server, tmp_path):
    layout = layout_for(tmp_path)
    params = studies_params(API, None)
    server.set_faults(["500:from_page=2,times=-1"])
    with pytest.raises(ApiError):
        stage(spark, server, layout, "20260101T000000Z-aaaa0012", params)
    server.set_faults([])
    # The token the API handed out no longer works (expired upstream).
    files = staging.HadoopFiles(spark)
    sidecar_uri = (f"{layout.staging_root}/20260101T000000Z-aaaa0012/pages/"
                   "page-000001.request.json")
    sidecar = json.loads(files.read(sidecar_uri))
    files.write(sidecar_uri, json.dumps({**sidecar, "next_page_token": "expired"}).encode())
    with pytest.raises(ApiError, match="cannot resume staging .*abandoned") as err:
        stage(spark, server, layout, "20260101T000000Z-aaaa0013", params)
    assert "\n" not in str(err.value)
    run, counts = stage(spark, server, layout, "20260101T000000Z-aaaa0014", params)
    assert run.staging_id == "20260101T000000Z-aaaa0014" and not counts["resumed"]
    assert counts["studies_staged"] == len(STUDIES)
