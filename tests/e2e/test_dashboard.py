"""End to end, the way a user sees it: both jobs fill a real PostgreSQL (`spark-submit` of the text
pipeline on a small generated corpus, of the clinical-trials job on the replay API), then
`python -m lakeprep.dashboard` serves the page and headless Chromium (the system's, driven by
Playwright) reads the numbers off it; each must equal what PostgreSQL says.

LAKEPREP_DASHBOARD_SCREENSHOT=docs/img/dashboard.png also keeps the screenshot there (README).
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg2
import pytest
from submit_helpers import spark_submit_prefix

from lakeprep.trials.replay import ReplayServer

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "conf" / "local.yaml"
# The generator's minimum: still every category of bad input, PII and several languages.
CORPUS_DOCS = 100

_spec = importlib.util.spec_from_file_location("dashboard_screenshot",
                                               ROOT / "scripts" / "dashboard_screenshot.py")
screenshot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screenshot)


@pytest.fixture(scope="module")
def pg(pg_database):
    return pg_database("dashboard_e2e")


def db_env(pg) -> dict[str, str]:
    # No LLM key from the developer's shell: the trials job runs its offline standardizer.
    env = {k: v for k, v in os.environ.items()
           if k not in ("LAKEPREP_LLM_API_KEY", "OPENAI_API_KEY", "LAKEPREP_PG_SECRET_ARN")}
    return {**env, "PGHOST": pg.host, "PGPORT": str(pg.port), "PGDATABASE": pg.database,
            "PGUSER": pg.user, "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable}


def spark_submit(pg, job: str, *args: str) -> None:
    cmd = [*spark_submit_prefix(), str(ROOT / "jobs" / job), "--config", str(CONFIG), "--quiet", *args]
    proc = subprocess.run(cmd, env=db_env(pg), capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + "\n--- stderr ---\n" + proc.stderr[-4000:]


@pytest.fixture(scope="module")
def loaded(pg, tmp_path_factory):
    """Both jobs, once each, into one lake and one database (what `make run` and
    `make run-trials` leave behind)."""
    base = tmp_path_factory.mktemp("dashboard")
    corpus, lake = base / "corpus", base / "lake"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_mock_data.py"), "--out",
                    str(corpus), "--docs", str(CORPUS_DOCS), "--quiet"], check=True)
    spark_submit(pg, "text_pipeline.py", "--input", str(corpus), "--lake", str(lake))
    with ReplayServer(ROOT / "tests" / "fixtures" / "ctgov") as server:
        spark_submit(pg, "clinical_trials.py", "--api-base-url", server.base_url, "--lake",
                     str(lake), "--offline-standardization", "--no-outcome")
    conn = psycopg2.connect(**pg.params())
    conn.autocommit = True
    yield conn
    conn.close()


def query(conn, sql: str, *args) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard(loaded, pg, tmp_path_factory):
    """`python -m lakeprep.dashboard` on a free loopback port, until Streamlit says it is healthy."""
    port = free_port()
    log = tmp_path_factory.mktemp("dashboard-log") / "streamlit.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "lakeprep.dashboard", "--config",
                                 str(CONFIG), "--port", str(port)],
                                env=db_env(pg), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "dashboard not healthy in 60 s:\n" + log.read_text()
            time.sleep(0.5)
        yield {"url": url, "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# Containers (st.container(key=...)) of app.py whose tables the test reads.
TABLE_KEYS = ("documents_by_reason", "chunks_by_reason", "pii", "languages", "trial_status",
              "runs", "lineage", "audit")


@pytest.fixture(scope="module")
def page(dashboard):
    """What a person sees, read from the rendered DOM: metric label -> value and, per section,
    its table's body rows (cells as displayed, the index cell first)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=screenshot.chromium_path(), headless=True)
        try:
            # Tall enough for the whole page: nothing is left unrendered below the fold.
            tab = browser.new_page(viewport={"width": 1400, "height": 5000})
            tab.goto(dashboard["url"])
            screenshot.wait_until_rendered(tab)
            for key in TABLE_KEYS:
                tab.locator(f".st-key-{key} table tbody tr").first.wait_for(timeout=30_000)
            metrics = dict(tab.evaluate("""() => [...document.querySelectorAll(
                '[data-testid="stMetric"]')].map(m => [
                    m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
                    m.querySelector('[data-testid="stMetricValue"]').innerText.trim()])"""))
            tables = {key: tab.evaluate("""key => [...document.querySelectorAll(
                    `.st-key-${key} table tbody tr`)].map(tr =>
                    [...tr.querySelectorAll('th, td')].map(c => c.innerText.trim()))""", key)
                      for key in TABLE_KEYS}
            body = tab.inner_text("body")
        finally:
            browser.close()
    return {"metrics": metrics, "tables": tables, "body": body}


def number(text: str) -> int:
    return int(text.replace(",", ""))


def rows_by_label(page, key: str) -> dict[str, list[str]]:
    rows = page["tables"][key]
    assert rows, f"no table rows in section {key}"
    return {row[0]: row[1:] for row in rows}


def test_headline_metrics_match_postgres(loaded, page):
    [(runs,)] = query(loaded, "SELECT count(*) FROM pipeline_runs")
    [(kept, rejected)] = query(loaded, "SELECT count(*) FILTER (WHERE status = 'accepted'), "
                                       "count(*) FILTER (WHERE status = 'rejected') "
                                       "FROM documents WHERE deleted_at IS NULL")
    [(chunks,)] = query(loaded, "SELECT count(*) FROM chunks")
    [(trials,)] = query(loaded, "SELECT count(*) FROM ctgov.studies")
    # Both jobs ran and loaded something: the comparison below is between real, non-zero numbers.
    assert runs == 2 and kept > 0 and rejected > 0 and chunks > 0 and trials > 0
    m = page["metrics"]
    assert number(m["Runs"]) == runs
    assert number(m["Documents kept"]) == kept
    assert number(m["Documents rejected"]) == rejected
    assert number(m["Chunks"]) == chunks
    assert number(m["Trials"]) == trials


def test_runs_table_lists_both_jobs(loaded, page):
    jobs = {row[1]: row[2] for row in page["tables"]["runs"]}
    assert jobs == dict(query(loaded, "SELECT job, status FROM pipeline_runs"))


def test_rejected_documents_per_reason(loaded, page):
    shown = rows_by_label(page, "documents_by_reason")
    expected = query(loaded, "SELECT reject_reason, count(*) FROM documents "
                             "WHERE status = 'rejected' AND deleted_at IS NULL GROUP BY 1")
    assert len(expected) >= 2
    for reason, count in expected:
        assert shown[reason] == ["rejected", str(count)], reason


def test_rejected_chunks_per_reason(loaded, page):
    shown = rows_by_label(page, "chunks_by_reason")
    for reason, count in query(loaded, "SELECT reject_reason, count(*) FROM rejected_chunks "
                                       "GROUP BY 1"):
        assert number(shown[reason][0]) == count


def test_pii_types(loaded, page):
    shown = rows_by_label(page, "pii")
    expected = query(loaded, "SELECT t, count(*) FROM chunks, unnest(pii_types) t GROUP BY 1")
    # The generator plants e-mails, phone numbers and card numbers.
    assert {"email", "phone"} <= {t for t, _ in expected}
    for pii_type, count in expected:
        assert number(shown[pii_type][0]) == count, pii_type


def test_language_mix(loaded, page):
    shown = rows_by_label(page, "languages")
    expected = query(loaded, "SELECT language, count(*) FROM documents "
                             "WHERE deleted_at IS NULL AND language IS NOT NULL "
                             "GROUP BY 1 ORDER BY 2 DESC LIMIT 3")
    assert expected
    for language, count in expected:
        assert number(shown[language][2]) == count, language


def test_trials_by_status(loaded, page):
    shown = rows_by_label(page, "trial_status")
    expected = dict(query(loaded, "SELECT overall_status, count(*) FROM ctgov.studies GROUP BY 1"))
    assert len(expected) >= 2
    assert {status: number(cells[0]) for status, cells in shown.items()} == expected
    [(condition,)] = query(loaded, "SELECT COALESCE(NULLIF(canonical_name, ''), name) "
                                   "FROM ctgov.conditions GROUP BY 1 "
                                   "ORDER BY count(DISTINCT nct_id) DESC, 1 LIMIT 1")
    assert condition in page["body"]


def test_lineage_and_audit_of_the_runs(loaded, page):
    # Rows: job (index), run id, direction, dataset, version, rows, code, config hash.
    shown = {(row[1], row[2], row[3]): row for row in page["tables"]["lineage"]}
    expected = query(loaded, "SELECT run_id, direction, name, row_count, config_hash FROM lineage")
    assert len(expected) >= 6 and {d for _, d, _, _, _ in expected} == {"input", "output"}
    for run_id, direction, name, rows, config_hash in expected:
        row = shown[(run_id, direction, name)]
        assert row[5] == ("" if rows is None else f"{rows:,}") and row[7] == config_hash
    audited = {(row[1], row[4], row[3]): number(row[5]) for row in page["tables"]["audit"]}
    assert audited == {(r, t, a): n for r, t, a, n in query(
        loaded, "SELECT run_id, table_name, action, rows FROM audit_log")}


def test_screenshot(dashboard, tmp_path):
    out, content_height = screenshot.capture(dashboard["url"], tmp_path / "dashboard.png")
    header = out.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    # The whole page, not one screen of it: as tall as the content measured in the browser
    # (which depends on fonts and wrapping, so no fixed number of pixels is asserted).
    assert width == screenshot.WIDTH and content_height > 1000 and height >= content_height
    keep = os.environ.get("LAKEPREP_DASHBOARD_SCREENSHOT")
    if keep:
        Path(keep).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, keep)
