"""End to end, issue 9: `spark-submit jobs/clinical_trials.py` against the replay API and the local
chat-completions server (an API key in the environment, as a user sets it), into a temporary lake
and a real PostgreSQL; then the same command again.

Run 1 (--full): the standardize stage asks the LLM about every distinct condition name (one batch
is answered with a MeSH id nobody derived and falls back to the offline rules, one request is
throttled with 429 and retried), dbt builds, the outcome model trains on the closed trials and
scores the open ones. Run 2 (--full, same data): no name is asked again, no second model is
trained, and the contract tables do not change. The key appears nowhere: not in the output, the
report, PostgreSQL or the lake.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
import yaml
from submit_helpers import spark_submit_prefix

from lakeprep.trials.chat_server import ChatServer
from lakeprep.trials.replay import ReplayServer

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ctgov"
API_KEY = "sk-e2e-sentinel-5c9e7a"
PG_PASSWORD = "llm-e2e-pg-Secret-77"


@pytest.fixture(scope="module")
def chat():
    with ChatServer(api_key=API_KEY) as srv:
        yield srv


@pytest.fixture(scope="module")
def replay():
    with ReplayServer(FIXTURES) as srv:
        yield srv


@pytest.fixture(scope="module")
def config(tmp_path_factory, chat) -> Path:
    path = tmp_path_factory.mktemp("conf") / "llm-e2e.yaml"
    path.write_text(yaml.safe_dump({
        "extends": str(ROOT / "conf" / "local.yaml"),
        "trials": {"api": {"page_size": 100, "requests_per_minute": 6000},
                   "standardize": {"llm": {"base_url": chat.base_url,
                                           "requests_per_minute": 6000, "max_attempts": 2,
                                           "backoff_base_s": 0.05, "backoff_max_s": 0.1}}},
    }))
    return path


@pytest.fixture(scope="module")
def pg(pg_database):
    return pg_database("ctgov_llm_e2e")


def submit(config, lake, pg, replay, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY",)}
    env.update({"PGHOST": pg.host, "PGPORT": str(pg.port), "PGDATABASE": pg.database,
                "PGUSER": pg.user, "PGPASSWORD": PG_PASSWORD, "LAKEPREP_LLM_API_KEY": API_KEY,
                "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable})
    cmd = [*spark_submit_prefix(), str(ROOT / "jobs" / "clinical_trials.py"), "--api-base-url", replay.base_url,
           "--lake", str(lake), "--config", str(config), *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-4000:] + "\n--- stderr ---\n" + proc.stderr[-3000:]
    uri = re.search(r"report written to (\S+)", proc.stdout).group(1)
    report_path = Path(uri.removeprefix("file:")).with_name("report.json")
    return proc, json.loads(report_path.read_text()), report_path.read_text()


def query(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def snapshot(conn) -> dict:
    return {t: query(conn, f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM ctgov.{t} t")
            for t in ("condition_standardization", "model_runs", "trial_predictions", "conditions")}


@pytest.fixture(scope="module")
def runs(config, pg, replay, chat, tmp_path_factory):
    lake = tmp_path_factory.mktemp("lake") / "lake"
    # The first request is throttled (retried after Retry-After); the next answer names an id
    # nobody derived: that batch falls back to the offline rules for good.
    chat.set_faults(["429:times=1,retry_after=0.1", "wrong_id:times=1"])
    out: dict = {"lake": lake}
    out["proc1"], out["report1"], out["json1"] = submit(config, lake, pg, replay, "--full")
    out["chat_requests1"] = len(chat.requests)
    conn = psycopg2.connect(**pg.params())
    conn.autocommit = True
    out["conn"] = conn
    out["snapshot1"] = snapshot(conn)
    out["proc2"], out["report2"], out["json2"] = submit(config, lake, pg, replay, "--full")
    out["chat_requests2"] = len(chat.requests)
    yield out
    conn.close()


def test_standardization_table_holds_llm_answers_and_reasoned_fallbacks(runs):
    conn = runs["conn"]
    cols = {c for (c,) in query(conn, "SELECT column_name FROM information_schema.columns WHERE "
                                      "table_schema = 'ctgov' AND table_name = "
                                      "'condition_standardization'")}
    assert {"raw_name", "canonical_name", "mesh_id", "method", "model", "created_at"} <= cols
    rep = runs["report1"]["standardize"]
    assert rep["mode"] == "llm" and rep["api_key_source"] == "$LAKEPREP_LLM_API_KEY"
    n = rep["distinct_names"]
    by = dict(((m, r), c) for m, r, c in query(
        conn, "SELECT method, coalesce(fallback_reason, ''), count(*) FROM ctgov."
              "condition_standardization GROUP BY 1, 2"))
    assert sum(by.values()) == n
    batch = 25  # trials.standardize.llm.batch_size: the first batch got the unknown id
    assert by[("offline", "llm_mesh_id_not_in_vocabulary")] == batch
    assert by[("llm", "")] == n - batch
    assert query(conn, "SELECT DISTINCT model FROM ctgov.condition_standardization") == \
        [("gpt-3.5-turbo",)]
    assert rep["llm"]["retries"] == 1 and rep["llm"]["requests"] == runs["chat_requests1"]
    # An accepted id is always one the registry knows, with its MeSH heading as the name.
    [(bad,)] = query(conn, "SELECT count(*) FROM ctgov.condition_standardization s WHERE "
                           "s.mesh_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                           "ctgov.condition_mesh m WHERE m.mesh_id = s.mesh_id "
                           "AND m.mesh_term = s.canonical_name)")
    assert bad == 0


def test_conditions_keep_raw_names_and_get_mesh_ids_where_the_registry_had_none(runs):
    conn = runs["conn"]
    [(total, with_canonical, raw_kept)] = query(
        conn, "SELECT count(*), count(canonical_name), count(name_raw) FROM ctgov.conditions")
    assert total == with_canonical == raw_kept > 0
    filled = query(conn, "SELECT mesh_match, count(*) FROM ctgov.conditions WHERE mesh_match IN "
                         "('llm', 'offline') GROUP BY 1")
    assert dict(filled).get("llm", 0) > 0
    assert sum(c for _, c in filled) == runs["report1"]["standardize"]["conditions_mesh_filled"]
    # A row filled by the LLM carries an id the LLM gave (and the registry knows).
    [(foreign,)] = query(conn, "SELECT count(*) FROM ctgov.conditions c WHERE c.mesh_match = 'llm' "
                               "AND c.mesh_id NOT IN (SELECT mesh_id FROM "
                               "ctgov.condition_standardization WHERE method = 'llm' "
                               "AND mesh_id IS NOT NULL)")
    assert foreign == 0
    assert runs["report1"]["dbt"]["failures"] == []


def test_outcome_model_run_and_predictions(runs):
    conn = runs["conn"]
    rep = runs["report1"]["outcome"]
    print("e2e outcome:", {k: rep.get(k) for k in ("train_rows", "test_rows", "roc_auc", "pr_auc",
                                                    "skipped", "open_trials_scored")})
    [(run_id, name, train, test, roc, pr, uri)] = query(
        conn, "SELECT run_id, model_name, train_rows, test_rows, roc_auc, pr_auc, model_uri "
              "FROM ctgov.model_runs")
    assert run_id == runs["report1"]["run_id"] and name == "ctgov_outcome_lr"
    assert (train, test) == (rep["train_rows"], rep["test_rows"]) and 0 <= roc <= 1 and 0 <= pr <= 1
    assert uri.endswith(f"/models/ctgov_outcome_lr/{run_id}")
    assert (Path(uri.removeprefix("file:")) / "metadata").is_dir()
    [(n, lo, hi, runs_)] = query(conn, "SELECT count(*), min(p_complete), max(p_complete), "
                                       "count(DISTINCT run_id) FROM ctgov.trial_predictions")
    assert n == rep["open_trials_scored"] > 0 and 0 <= lo <= hi <= 1 and runs_ == 1
    [(not_open,)] = query(conn, "SELECT count(*) FROM ctgov.trial_predictions p JOIN ctgov.studies s "
                                "USING (nct_id) WHERE s.overall_status NOT IN ('RECRUITING', "
                                "'NOT_YET_RECRUITING', 'ACTIVE_NOT_RECRUITING', "
                                "'ENROLLING_BY_INVITATION') OR s.study_type <> 'INTERVENTIONAL'")
    assert not_open == 0
    stages = list(runs["report1"]["stage_seconds"])
    assert stages.index("silver") < stages.index("standardize") < stages.index("postgres")
    assert stages.index("dbt") < stages.index("outcome")


def test_rerun_asks_nothing_and_changes_nothing(runs):
    assert runs["chat_requests2"] == runs["chat_requests1"]
    rep = runs["report2"]
    assert rep["standardize"]["llm"]["asked"] == 0
    assert rep["standardize"]["llm"]["cached"] == rep["standardize"]["distinct_names"]
    assert "unchanged" in rep["outcome"]["skipped"]
    assert snapshot(runs["conn"]) == runs["snapshot1"]


def test_api_key_is_nowhere(runs):
    for k in ("proc1", "proc2"):
        assert API_KEY not in runs[k].stdout + runs[k].stderr
    assert API_KEY not in runs["json1"] + runs["json2"]
    conn = runs["conn"]
    for table in ("ctgov.condition_standardization", "ctgov.model_runs", "pipeline_runs"):
        [(dump,)] = query(conn, f"SELECT coalesce(string_agg(t::text, '|'), '') FROM {table} t")
        assert API_KEY not in dump, table
    hits = [p for p in Path(runs["lake"]).rglob("*") if p.is_file()
            and API_KEY.encode() in p.read_bytes()]
    assert hits == []


def test_existing_database_gains_the_new_columns(pg_database, settings):
    """A warehouse created before issue 9 gets the new conditions columns (and its staging twin),
    so the next load does not fail on them; create_all alone never alters a table."""
    import sqlalchemy as sa

    from lakeprep.db.connection import PgTarget
    from lakeprep.trials.warehouse import create_schema

    db = pg_database("ctgov_llm_upgrade")
    engine = PgTarget(db.host, db.port, db.database, db.user, "ctgov", False, None).engine()
    try:
        create_schema(engine, "ctgov")
        with engine.begin() as conn:
            for t in ("conditions", "stg_conditions"):
                conn.execute(sa.text(f"ALTER TABLE ctgov.{t} DROP COLUMN canonical_name, "
                                     "DROP COLUMN standardization_method"))
        create_schema(engine, "ctgov")
        with engine.connect() as conn:
            cols = conn.execute(sa.text(
                "SELECT table_name, column_name FROM information_schema.columns WHERE "
                "table_schema = 'ctgov' AND column_name IN ('canonical_name', "
                "'standardization_method') AND table_name IN ('conditions', 'stg_conditions')"
            )).fetchall()
        assert len(cols) == 4
    finally:
        engine.dispose()
