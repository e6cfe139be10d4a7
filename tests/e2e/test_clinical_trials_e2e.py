"""End to end, the way a user runs it: `spark-submit jobs/clinical_trials.py` against the local
replay API (committed fixtures) into a temporary lake and a real PostgreSQL database.

The runs build on each other:
  1. interrupted: the API fails for good from page 3 on; the job stops with one line;
  2. resumed: the same command continues from the last staged page (pages 0-2 are not asked
     for again) and ends with the same bronze as an uninterrupted load, PostgreSQL and dbt marts;
  3. --since: after some studies were updated upstream, only those are fetched and changed;
  4. default: incremental from the last successful run minus the safety margin.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg2
import pytest
import yaml
from prom_helpers import metric, pushed_metrics
from submit_helpers import spark_submit_prefix

from lakeprep.trials.replay import ReplayServer

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ctgov"
STUDIES = json.loads((FIXTURES / "studies.json").read_text())
PAGE_SIZE = 25
SECRET = "ctgov-e2e-Secret-91c2"


def nct(study):
    return ((study.get("protocolSection") or {}).get("identificationModule") or {}).get("nctId")


def lup(study):
    return study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]


def latest_versions(studies) -> dict:
    latest = {}
    for s in studies:
        n = nct(s)
        if isinstance(n, str) and n.strip() and (n not in latest or lup(s) >= lup(latest[n])):
            latest[n] = s
    return latest


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    """conf/local.yaml with small pages (so there is something to resume) and a fast retry
    budget (so the interrupted run gives up quickly)."""
    path = tmp_path_factory.mktemp("conf") / "ctgov-e2e.yaml"
    path.write_text(yaml.safe_dump({
        "extends": str(ROOT / "conf" / "local.yaml"),
        "trials": {"api": {"page_size": PAGE_SIZE, "requests_per_minute": 6000,
                           "max_attempts": 2, "backoff_base_s": 0.1, "backoff_max_s": 0.2,
                           "read_timeout_s": 30}},
    }))
    return path


@pytest.fixture(scope="module")
def server():
    with ReplayServer(FIXTURES) as srv:
        yield srv


@pytest.fixture(scope="module")
def pg(pg_database):
    return pg_database("ctgov_e2e")


def submit(config: Path, lake: Path, pg, server, *args: str,
           pushgateway: str = "") -> subprocess.CompletedProcess:
    # No LLM key from the developer's shell: this test exercises the offline standardizer.
    env = {**{k: v for k, v in os.environ.items()
              if k not in ("LAKEPREP_LLM_API_KEY", "OPENAI_API_KEY")},
           "PGHOST": pg.host, "PGPORT": str(pg.port), "PGDATABASE": pg.database,
           "PGUSER": pg.user, "PGPASSWORD": SECRET, "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable, "LAKEPREP_PUSHGATEWAY_URL": pushgateway}
    cmd = [*spark_submit_prefix(), str(ROOT / "jobs" / "clinical_trials.py"), "--api-base-url", server.base_url,
           "--lake", str(lake), "--config", str(config), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500, cwd=ROOT)


def report_of(proc: subprocess.CompletedProcess) -> dict:
    # spark-submit relays the Python driver's stderr on its stdout: show both on failure.
    assert proc.returncode == 0, proc.stdout[-4000:] + "\n--- stderr ---\n" + proc.stderr[-3000:]
    uri = re.search(r"report written to (\S+)", proc.stdout).group(1)
    return json.loads(Path(uri.removeprefix("file:")).with_name("report.json").read_text())


def query(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def studies_schema(conn) -> str:
    [(schema,)] = query(conn, "SELECT table_schema FROM information_schema.tables "
                              "WHERE table_name = 'studies' AND table_type = 'BASE TABLE'")
    return schema


@pytest.fixture(scope="module")
def interrupted(config, tmp_path_factory, pg, server, pushgateway):
    """Run 1: the API fails for good from page 3 on."""
    lake = tmp_path_factory.mktemp("lake") / "lake"
    server.set_faults(["500:from_page=3,times=-1"])
    try:
        proc = submit(config, lake, pg, server, pushgateway=pushgateway)
        return {"lake": lake, "proc": proc, "metrics": pushed_metrics(pushgateway)}
    finally:
        server.set_faults([])


@pytest.fixture(scope="module")
def runs(interrupted, config, pg, server, pushgateway):
    lake = interrupted["lake"]
    out: dict = {"lake": lake, "interrupted": interrupted["proc"],
                 "interrupted_metrics": interrupted["metrics"]}
    server.state.requests.clear()
    # 2. resumed
    resumed = submit(config, lake, pg, server, pushgateway=pushgateway)
    out["resumed_metrics"] = pushed_metrics(pushgateway)
    out["resumed_requests"] = server.requests("studies")
    out["resumed"] = report_of(resumed)
    out["resumed_stdout"] = resumed.stdout + resumed.stderr
    conn = psycopg2.connect(**pg.params())
    conn.autocommit = True
    out["conn"] = conn
    schema = studies_schema(conn)
    out["schema"] = schema
    out["titles_before"] = dict(query(conn, f"SELECT nct_id, brief_title FROM {schema}.studies"))
    # 3. three studies updated upstream, fetched with --since
    loaded = set(out["titles_before"])
    updated = [json.loads(json.dumps(s)) for s in latest_versions(STUDIES).values()
               if nct(s) in loaded][:3]
    for s in updated:
        s["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2026-11-01"
        s["protocolSection"]["identificationModule"]["briefTitle"] += " (amended)"
    out["updated_ids"] = {nct(s) for s in updated}
    server.state.studies = STUDIES + updated
    server.state.requests.clear()
    out["since"] = report_of(submit(config, lake, pg, server, "--since", "2026-10-25"))
    out["since_requests"] = server.requests("studies")
    # 4. default run: incremental from the last success; one study updated today
    today = datetime.now(timezone.utc).date().isoformat()
    fresh = json.loads(json.dumps(updated[0]))
    fresh["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = today
    fresh["protocolSection"]["identificationModule"]["briefTitle"] += " again"
    out["fresh_id"] = nct(fresh)
    server.state.studies = STUDIES + updated + [fresh]
    server.state.requests.clear()
    default = submit(config, lake, pg, server)
    out["default"] = report_of(default)
    out["default_output"] = default.stdout + default.stderr
    out["default_requests"] = server.requests("studies")
    yield out
    conn.close()


def test_help_lists_the_contract_flags():
    proc = subprocess.run([sys.executable, str(ROOT / "jobs" / "clinical_trials.py"), "--help"],
                          capture_output=True, text=True, check=True)
    for flag in ("--api-base-url", "--lake", "--since", "--full", "--config"):
        assert flag in proc.stdout


def test_interrupted_run_fails_with_one_line(interrupted, pg):
    proc = interrupted["proc"]
    assert proc.returncode == 1
    # spark-submit passes the Python driver's stderr through its own stdout.
    output = proc.stdout + proc.stderr
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "studies page 3" in errors[0] and "failed after 2 attempts" in errors[0]
    assert "Traceback" not in output
    conn = psycopg2.connect(**pg.params())
    try:
        [(status, error)] = query(conn, "SELECT status, error FROM pipeline_runs WHERE "
                                        "job = 'clinical_trials' ORDER BY started_at LIMIT 1")
    finally:
        conn.close()
    assert status == "failed" and "HTTP 500" in error


def test_rerun_resumes_from_the_last_staged_page(runs):
    staging = runs["resumed"]["staging"]
    assert staging["resumed"] and staging["pages_resumed"] == 3
    n_pages = -(-len(STUDIES) // PAGE_SIZE)
    assert staging["pages"] == n_pages and staging["studies_staged"] == len(STUDIES)
    # Pages 0-2 came from staging, not from the API.
    assert [r["page"] for r in runs["resumed_requests"]] == list(range(3, n_pages))
    assert runs["resumed"]["mode"] == "initial"


def test_resumed_load_equals_an_uninterrupted_one(runs, spark):
    latest = latest_versions(STUDIES)
    rows = spark.read.format("delta").load(str(runs["lake"] / "bronze" / "ctgov_studies")) \
        .select("nct_id", "study_json").collect()
    by_id = {r["nct_id"]: json.loads(r["study_json"]) for r in rows}
    # After runs 3 and 4 three studies carry amended titles; everything else is the fixture.
    for n, study in latest.items():
        if n not in runs["updated_ids"]:
            assert by_id[n] == study
    assert set(by_id) == set(latest)
    assert runs["resumed"]["bronze"]["rejected_by_reason"] == {"missing_nct_id": 1}
    # Silver's intermediate files are gone once each run ended (failed runs included).
    work = runs["lake"] / "_work" / "ctgov"
    assert not work.exists() or not any(work.iterdir()), list(work.iterdir())


def test_postgres_holds_the_contract_tables(runs):
    conn, schema = runs["conn"], runs["schema"]
    latest = latest_versions(STUDIES)
    quarantined = {n for (n,) in query(conn, f"SELECT DISTINCT nct_id FROM {schema}.quarantine "
                                             "WHERE table_name = 'studies'")}
    loaded = set(runs["titles_before"])
    assert loaded and loaded <= set(latest)
    # Every study with an NCT ID is either loaded or quarantined with a reason: none vanished.
    assert set(latest) - loaded <= quarantined
    study = next(s for n, s in latest.items() if n in loaded and
                 s["protocolSection"].get("conditionsModule") and
                 s["protocolSection"].get("armsInterventionsModule"))
    n = nct(study)
    ps = study["protocolSection"]
    [(status, phases, study_type, enrollment)] = query(
        conn, f"SELECT overall_status, phases, study_type, enrollment FROM {schema}.studies "
              "WHERE nct_id = %s", n)
    assert status == ps["statusModule"]["overallStatus"].strip().upper()
    assert phases == ps["designModule"].get("phases")
    assert study_type == ps["designModule"]["studyType"]
    assert enrollment == (ps["designModule"].get("enrollmentInfo") or {}).get("count")
    names = sorted(name for (name,) in query(conn, f"SELECT name FROM {schema}.conditions "
                                                   "WHERE nct_id = %s", n))
    assert len(names) == len(ps["conditionsModule"]["conditions"])
    interventions = query(conn, f"SELECT type, name FROM {schema}.interventions WHERE nct_id = %s",
                          n)
    assert sorted(t for t, _ in interventions) == sorted(
        i["type"] for i in ps["armsInterventionsModule"]["interventions"])
    [(run_status, job)] = query(conn, "SELECT status, job FROM pipeline_runs WHERE run_id = %s",
                                runs["resumed"]["run_id"])
    assert (run_status, job) == ("succeeded", "clinical_trials")


def test_dbt_marts_were_built(runs):
    dbt = runs["resumed"]["dbt"]
    assert dbt["tests"]["pass"] > 0 and not dbt["failures"]
    marts = {t for (t,) in query(runs["conn"], "SELECT table_name FROM information_schema.tables "
                                               "WHERE table_name LIKE 'dim\\_%%' OR "
                                               "table_name LIKE 'agg\\_%%'")}
    assert {"dim_studies", "dim_conditions", "dim_interventions", "dim_sponsors",
            "dim_sites", "agg_participants_eligibility"} <= marts


def test_since_fetches_only_updated_studies(runs):
    report = runs["since"]
    assert report["mode"] == "since" and report["since"] == "2026-10-25"
    assert all(r["params"]["filter.advanced"] == "AREA[LastUpdatePostDate]RANGE[2026-10-25,MAX]"
               for r in runs["since_requests"])
    assert report["bronze"]["distinct_studies"] == 3
    assert report["bronze"]["bronze_updated"] == 3 and report["bronze"]["bronze_inserted"] == 0
    titles = dict(query(runs["conn"], f"SELECT nct_id, brief_title FROM {runs['schema']}.studies"))
    changed = {n for n in titles if titles[n] != runs["titles_before"].get(n)}
    assert changed == runs["updated_ids"]
    assert all(titles[n].endswith("(amended) again") or titles[n].endswith("(amended)")
               for n in changed)


def test_default_run_is_incremental_from_the_last_success(runs):
    report = runs["default"]
    expected_since = (datetime.now(timezone.utc).date() - timedelta(days=2)).isoformat()
    assert report["mode"] == "incremental" and report["since"] == expected_since
    assert all(f"RANGE[{expected_since},MAX]" in r["params"]["filter.advanced"]
               for r in runs["default_requests"])
    assert report["bronze"]["distinct_studies"] == 1
    [(title,)] = query(runs["conn"], f"SELECT brief_title FROM {runs['schema']}.studies "
                                     "WHERE nct_id = %s", runs["fresh_id"])
    assert title.endswith("(amended) again")
    assert not report["staging"]["resumed"]


def test_password_never_printed(runs):
    assert SECRET not in runs["resumed_stdout"] and SECRET not in runs["default_output"]


def _metric(metrics: dict, name: str, **labels) -> float | None:
    return metric(metrics, "clinical_trials", name, **labels)


def test_failed_and_successful_runs_push_their_metrics(runs):
    failed, ok = runs["interrupted_metrics"], runs["resumed_metrics"]
    assert _metric(failed, "lakeprep_run_success") == 0
    assert _metric(failed, "lakeprep_run_last_failure_timestamp_seconds",
                   record="last_outcome") > 0
    # The interrupted run retried the failing page before giving up.
    assert _metric(failed, "lakeprep_retries", kind="ctgov_api") >= 1
    assert _metric(ok, "lakeprep_run_success") == 1
    # A success updates the last success time only: the failure time stays.
    assert (_metric(ok, "lakeprep_run_last_failure_timestamp_seconds", record="last_outcome")
            == _metric(failed, "lakeprep_run_last_failure_timestamp_seconds",
                       record="last_outcome"))
    [(studies,)] = query(runs["conn"], f"SELECT count(*) FROM {runs['schema']}.studies")
    assert _metric(ok, "lakeprep_rows_out", table="postgres.studies") == studies
    assert _metric(ok, "lakeprep_rows_in") == runs["resumed"]["bronze"]["records"]


def test_lineage_and_audit_of_the_trials_runs(runs, server):
    conn, resumed = runs["conn"], runs["resumed"]
    rows = query(conn, "SELECT direction, namespace, name, version, row_count FROM lineage "
                       "WHERE run_id = %s AND job = 'clinical_trials'", resumed["run_id"])
    [(_, namespace, name, version, staged)] = [r for r in rows if r[0] == "input"]
    assert server.base_url.startswith(namespace) and name.startswith("/api/v2/studies?")
    assert resumed["api"]["data_timestamp"] in version
    assert staged == resumed["staging"]["studies_staged"]
    outputs = {r[2]: r for r in rows if r[0] == "output"}
    bronze = str(runs["lake"] / "bronze" / "ctgov_studies")
    assert bronze in outputs and outputs[bronze][3] is not None
    [(studies,)] = query(conn, f"SELECT count(*) FROM {runs['schema']}.studies")
    assert outputs[f"{runs['schema']}.studies"][4] == studies
    # Audit: the resumed run inserted every study; the --since run changed exactly the three
    # amended ones (and audited nothing it did not change).
    audit = dict(((run, table, action), n) for run, table, action, n in query(
        conn, "SELECT run_id, table_name, action, rows FROM audit_log WHERE job = "
              "'clinical_trials'"))
    assert audit[(resumed["run_id"], f"{runs['schema']}.studies", "upsert")] == studies
    assert audit[(runs["since"]["run_id"], f"{runs['schema']}.studies", "upsert")] == 3
    assert "## Lineage" in runs["resumed_stdout"]
