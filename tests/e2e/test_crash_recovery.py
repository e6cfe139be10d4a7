"""Crash safety, for real: `spark-submit jobs/text_pipeline.py` is SIGKILLed (its whole process
group: launcher, JVM, Python driver and workers) at several points of one lake's life, then run to
completion; the final Delta tables and PostgreSQL tables must equal those of an uninterrupted run
on the same input (run ids and timestamps aside): nothing lost, nothing duplicated.

Kill points, in one chain (each run starts from what the previous killed one left behind):
during ingest, during the Delta writes (chunks stage), during the JDBC staging load, inside the
PostgreSQL merge transaction before COMMIT (test hook LAKEPREP_FAULT_PAUSE_AT=merge, where the
test also checks that nothing of the merge is visible), and after the merge committed but before
the incremental state was written (hook ``state``).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
import pytest
from submit_helpers import spark_submit_prefix

from lakeprep.text import incremental as inc
from lakeprep.text.pipeline import LakeLayout, to_uri

ROOT = Path(__file__).resolve().parents[2]
PG_TABLES = {"documents": "doc_id", "chunks": "chunk_id", "rejected_chunks": "chunk_id"}
# Columns that say when or by which run, not what: they differ between any two runs.
VOLATILE = {"run_id", "processed_at", "updated_at", "content_tsv"}


def spark_submit_cmd(corpus: Path, lake: Path) -> list[str]:
    return [*spark_submit_prefix(), str(ROOT / "jobs" / "text_pipeline.py"),
            "--input", str(corpus), "--lake", str(lake),
            "--config", str(ROOT / "conf" / "local.yaml"), "--quiet"]


def run_job(corpus: Path, lake: Path, db, kill_on: str | None = None, env_extra=None,
            before_kill=None, timeout: float = 600) -> dict:
    """Run the job; with ``kill_on``, SIGKILL its process group when that text shows up in its
    log (after ``before_kill()``, if given). Returns returncode, log and whether it was killed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEPREP_FAULT_")}
    env.update({"PGHOST": db.host, "PGPORT": str(db.port), "PGDATABASE": db.database,
                "PGUSER": db.user, "PYSPARK_PYTHON": sys.executable,
                "PYSPARK_DRIVER_PYTHON": sys.executable, **(env_extra or {})})
    # spark-submit's PythonRunner forwards the Python driver's log (stderr) to its stdout.
    proc = subprocess.Popen(spark_submit_cmd(corpus, lake), env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    # A hung job must not hang the suite.
    watchdog = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    log, killed = [], False
    try:
        for line in proc.stdout:
            log.append(line)
            if kill_on and kill_on in line:
                if before_kill:
                    before_kill()
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
                break
        proc.stdout.close()
        proc.wait(timeout=60)
    finally:
        watchdog.cancel()
    return {"rc": proc.returncode, "log": "".join(log), "killed": killed}


def query(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def pg_tables(db) -> dict[str, list[tuple]]:
    conn = psycopg2.connect(**db.params())
    try:
        out = {}
        for table, key in PG_TABLES.items():
            cols = [r[0] for r in query(conn, "SELECT column_name FROM information_schema.columns "
                                              "WHERE table_name = %s ORDER BY ordinal_position",
                                        table) if r[0] not in VOLATILE]
            out[table] = query(conn, f"SELECT {', '.join(cols)} FROM {table} ORDER BY {key}")
        return out
    finally:
        conn.close()


def delta_tables(spark, lake: Path) -> dict[str, list]:
    layout = LakeLayout(to_uri(str(lake)))
    out = {}
    for name, path, key in (("bronze", layout.bronze_documents, "doc_id"),
                            ("silver_documents", layout.silver_documents, "doc_id"),
                            ("silver_chunks", layout.silver_chunks, "chunk_id"),
                            ("state", layout.state_documents, "doc_id")):
        df = inc.read_table(spark, path)
        assert df is not None, name
        # Nothing duplicated: the key is unique.
        assert df.count() == df.select(key).distinct().count(), name
        cols = sorted(c for c in df.columns if c not in VOLATILE)
        out[name] = [tuple(r) for r in df.select(*cols).orderBy(key).collect()]
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("crash") / "corpus"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_mock_data.py"), "--out",
                    str(out), "--docs", "100", "--quiet"], check=True)
    return out


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory, pg_database, spark):
    db = pg_database("crash_reference")
    lake = tmp_path_factory.mktemp("crash_reference_lake")
    result = run_job(corpus, lake, db)
    assert result["rc"] == 0, result["log"][-4000:]
    return {"pg": pg_tables(db), "delta": delta_tables(spark, lake)}


@pytest.fixture(scope="module")
def crashed(corpus, tmp_path_factory, pg_database):
    db = pg_database("crash_chain")
    lake = tmp_path_factory.mktemp("crash_chain_lake")
    observed = {}

    def staging_has_rows():
        # Kill in the middle of the JDBC load: once the first staging rows have arrived.
        conn = psycopg2.connect(**db.params())
        conn.autocommit = True
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if query(conn, "SELECT count(*) FROM stg_documents")[0][0] > 0:
                    observed["staging_rows_seen"] = True
                    return
                time.sleep(0.05)
        finally:
            conn.close()

    def merge_not_visible():
        # Paused inside the merge transaction: its changes exist but nobody else sees them.
        conn = psycopg2.connect(**db.params())
        try:
            observed["documents_during_merge"] = query(conn, "SELECT count(*) FROM documents")[0][0]
            observed["chunks_during_merge"] = query(conn, "SELECT count(*) FROM chunks")[0][0]
        finally:
            conn.close()

    kills = [
        ("ingest", "inputs: ", None, None),
        ("delta_writes", "stage chunks: started", None, None),
        ("jdbc_load", "stage postgres: started", None, staging_has_rows),
        ("merge", "fault pause at merge", {"LAKEPREP_FAULT_PAUSE_AT": "merge"}, merge_not_visible),
        ("after_merge", "fault pause at state", {"LAKEPREP_FAULT_PAUSE_AT": "state"}, None),
    ]
    results = {}
    for name, marker, env, before in kills:
        results[name] = run_job(corpus, lake, db, kill_on=marker, env_extra=env, before_kill=before)
        assert results[name]["killed"], (name, results[name]["log"][-4000:])
    final = run_job(corpus, lake, db)
    assert final["rc"] == 0, final["log"][-4000:]
    conn = psycopg2.connect(**db.params())
    runs = query(conn, "SELECT run_id, status, error FROM pipeline_runs ORDER BY started_at")
    conn.close()
    return {"db": db, "lake": lake, "results": results, "final": final, "runs": runs,
            "observed": observed}


def test_every_kill_point_was_reached(crashed):
    assert list(crashed["results"]) == ["ingest", "delta_writes", "jdbc_load", "merge",
                                        "after_merge"]
    assert all(r["rc"] == -signal.SIGKILL for r in crashed["results"].values())


def test_uncommitted_merge_is_invisible(crashed):
    # The chain's first merge (nothing committed before it): readers saw empty final tables.
    assert crashed["observed"] == {"documents_during_merge": 0, "chunks_during_merge": 0,
                                   "staging_rows_seen": True}


def test_final_postgres_tables_equal_an_uninterrupted_run(crashed, reference):
    got = pg_tables(crashed["db"])
    for table in PG_TABLES:
        assert len(got[table]) == len(reference["pg"][table]) > 0, table
        assert got[table] == reference["pg"][table], table


def test_final_delta_tables_equal_an_uninterrupted_run(crashed, reference, spark):
    got = delta_tables(spark, crashed["lake"])
    for name, rows in reference["delta"].items():
        assert got[name] == rows, name


def test_killed_runs_are_marked_abandoned_and_do_not_block(crashed):
    runs = crashed["runs"]
    # Runs killed before they recorded their start leave no row; every other killed run is
    # closed by the next run as failed/abandoned, and no row stays "running".
    assert runs[-1][1] == "succeeded"
    assert all(status == "failed" and error.startswith("abandoned")
               for _, status, error in runs[:-1])
    assert len(runs) == 6
    assert "marked failed as abandoned" in crashed["final"]["log"]
    # Killed after the merge committed, before the state: the last run redid the work.
    assert "processing 0" not in crashed["final"]["log"]
