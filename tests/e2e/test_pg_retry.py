"""PostgreSQL faults during a run, injected for real on a server of this module's own (so stopping
it disturbs no other test): unreachable at the start, going away inside the merge transaction and
coming back, going away for good. Retries are bounded, the error is one line naming host:port, and
no partial merge is ever visible."""
from __future__ import annotations

import dataclasses
import logging
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import psycopg2
import pytest
from py4j.protocol import Py4JJavaError
from pyspark.sql import functions as F

from lakeprep.config import RetrySettings, load_settings
from lakeprep.db import load as pg
from lakeprep.db import schema as S
from lakeprep.db.connection import PgTarget
from lakeprep.db.embedded import EmbeddedPostgres
from lakeprep.db.retry import PostgresUnavailable, is_connection_error
from lakeprep.text.pipeline import run_text_pipeline

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_settings(ROOT / "conf" / "local.yaml")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_retry(attempts: int, base: float, cap: float):
    return dataclasses.replace(SETTINGS, postgres=dataclasses.replace(
        SETTINGS.postgres, retry=RetrySettings(attempts, base, cap)))


@pytest.fixture(scope="module")
def server():
    # 0755 temp dir: as root the server runs as a service user (see conftest's pg_server).
    base = Path(tempfile.mkdtemp(prefix="lakeprep-retry-pg-"))
    base.chmod(0o755)
    srv = EmbeddedPostgres(base / "pgdata", free_port()).start()
    yield srv
    srv.stop()
    shutil.rmtree(base, ignore_errors=True)


def new_database(server, name: str) -> PgTarget:
    conn = psycopg2.connect(**server.params())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return PgTarget(server.host, server.port, name, server.user, "public", False)


def query(target: PgTarget, sql: str, *args):
    conn = psycopg2.connect(host=target.host, port=target.port, dbname=target.database,
                            user=target.user)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    import random

    out = tmp_path_factory.mktemp("retry") / "corpus"
    out.mkdir()
    vocab = ("river mountain engineer station garden letter market window teacher morning "
             "harbor village orchard bridge library winter summer signal lantern journey kitchen "
             "meadow painter doctor island forest planet museum theater valley castle farmer "
             "sailor machine history science language country evening picture").split()
    for i in range(6):
        rng = random.Random(i)
        # Different random words per document: English enough for the rules, no duplicates.
        text = " ".join(f"The {rng.choice(vocab)} and the {rng.choice(vocab)} of a "
                        f"{rng.choice(vocab)} were with the {rng.choice(vocab)} that they had "
                        f"to {rng.choice(vocab)}." for _ in range(10))
        (out / f"doc-{i}.txt").write_text(text, encoding="utf-8")
    return out


def test_unreachable_at_start_fails_after_bounded_retries(spark, tmp_path):
    port = free_port()  # nothing listens here
    target = PgTarget("127.0.0.1", port, "db", "u", "public", False)
    sleeps = []
    with pytest.raises(PostgresUnavailable) as info:
        run_text_pipeline(spark, with_retry(4, 0.5, 8.0), [str(tmp_path)], str(tmp_path / "lake"),
                          target, sleep=sleeps.append)
    message = str(info.value)
    assert "\n" not in message and f"127.0.0.1:{port}" in message
    assert "after 4 attempt(s)" in message
    assert len(sleeps) == 3 and sleeps == sorted(sleeps) and sleeps[-1] > sleeps[0]
    # Nothing was written to the lake: the run stopped before any work.
    assert not (tmp_path / "lake").exists()


def test_connection_lost_inside_merge_is_retried_and_completes(spark, server, corpus, tmp_path,
                                                               monkeypatch, caplog):
    target = new_database(server, "retry_recovers")
    stopped, restarted = threading.Event(), threading.Event()

    def outage(name):
        # One outage: the server accepts connections before start() returns, so a retry can
        # reach this point again before `restarted` is set, and must not stop it a second time.
        if name != "merge" or stopped.is_set():
            return
        stopped.set()
        # The merge's statements ran in an open transaction: stop the server under it, bring
        # it back a little later; COMMIT fails, the retry reconnects once the server is back.
        server.stop()
        def back():
            server.start()
            restarted.set()
        threading.Timer(2.0, back).start()

    monkeypatch.setattr(pg, "pause_point", outage)
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        restarted.wait(timeout=seconds)

    caplog.set_level(logging.WARNING, logger="lakeprep.db")
    report = run_text_pipeline(spark, with_retry(8, 0.5, 4.0), [str(corpus)],
                               str(tmp_path / "lake"), target, sleep=sleep)
    # The run can finish before start() has returned (the server takes connections first):
    # wait for the restart to end, the module's later tests use this server.
    assert stopped.is_set() and restarted.wait(timeout=60) and slept
    assert any("the merge failed" in r.message and "retrying" in r.message for r in caplog.records)
    docs = report["documents"]["documents"]
    assert docs == 6
    assert query(target, "SELECT count(*) FROM documents") == [(docs,)]
    assert query(target, "SELECT count(*) FROM chunks")[0][0] == report["chunks"]["accepted"] > 0
    assert query(target, "SELECT count(*) FROM stg_documents") == [(0,)]
    assert query(target, "SELECT status FROM pipeline_runs") == [("succeeded",)]


def test_connection_lost_for_good_fails_cleanly_without_partial_merge(spark, server, corpus,
                                                                      tmp_path, monkeypatch):
    target = new_database(server, "retry_gives_up")
    calls = []

    def outage(name):
        if name == "merge" and not calls:
            calls.append(name)
            server.stop()

    monkeypatch.setattr(pg, "pause_point", outage)
    lake = str(tmp_path / "lake")
    try:
        with pytest.raises(PostgresUnavailable) as info:
            run_text_pipeline(spark, with_retry(3, 0.01, 0.05), [str(corpus)], lake, target)
    finally:
        server.start()
    message = str(info.value)
    assert "\n" not in message and f"{server.host}:{server.port}" in message
    assert "during the merge" in message
    # Rolled back: nothing of the merge is in the final tables. The run row could not be marked
    # (the server was down): it still says running, until the next run closes it.
    assert query(target, "SELECT count(*) FROM documents") == [(0,)]
    assert query(target, "SELECT count(*) FROM chunks") == [(0,)]
    assert query(target, "SELECT status FROM pipeline_runs") == [("running",)]
    monkeypatch.setattr(pg, "pause_point", lambda name: None)
    report = run_text_pipeline(spark, SETTINGS, [str(corpus)], lake, target)
    assert report["incremental"]["processed"] == 6
    rows = query(target, "SELECT status, error FROM pipeline_runs ORDER BY started_at")
    assert rows[0][0] == "failed" and rows[0][1].startswith("abandoned")
    assert rows[1] == ("succeeded", None)
    assert query(target, "SELECT count(*) FROM documents") == [(6,)]


def test_staging_write_retry_replaces_an_earlier_attempts_rows(spark, server):
    target = new_database(server, "retry_staging")
    engine = target.engine()
    md = pg.create_schema(engine, target.schema, SETTINGS.chunking.max_tokens)
    table = md.tables[f"public.{S.STG_CHUNKS}"]
    with engine.begin() as conn:
        # What a first attempt wrote before its connection broke.
        conn.execute(table.insert(), [{"run_id": "r1", "chunk_id": f"partial-{i}"} for i in range(3)]
                     + [{"run_id": "other-run", "chunk_id": "keep-me"}])
    df = spark.createDataFrame([(f"c{i}",) for i in range(5)], "chunk_id string")
    pg.stage_rows(df, target, engine, S.STG_CHUNKS, "r1", SETTINGS.postgres.jdbc)
    rows = query(target, "SELECT run_id, chunk_id FROM stg_chunks ORDER BY 1, 2")
    assert rows == [("other-run", "keep-me")] + [("r1", f"c{i}") for i in range(5)]
    engine.dispose()


def test_jdbc_errors_are_classified(spark, server):
    target = new_database(server, "retry_jdbc")
    df = spark.createDataFrame([("x",)], "chunk_id string")
    closed = PgTarget("127.0.0.1", free_port(), "db", "u", "public", False)
    with pytest.raises(Py4JJavaError) as refused:
        pg.write_staging(df, closed, "t", "r1", SETTINGS.postgres.jdbc)
    assert is_connection_error(refused.value)
    engine = target.engine()
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE strict (chunk_id integer NOT NULL, run_id text)")
    engine.dispose()
    # A data error (text into an integer column) is not a connection problem: no retry.
    with pytest.raises(Py4JJavaError) as data_error:
        pg.write_staging(df, target, "strict", "r1", SETTINGS.postgres.jdbc)
    assert not is_connection_error(data_error.value)


def test_load_checks_the_row_counts_the_caller_gives(spark, server):
    # The pipeline passes the counts it took when it materialized the frames; the merge checks
    # the staged rows against them (a wrong count is never merged), and without them
    # load_run counts the frames itself.
    target = new_database(server, "given_counts")
    engine = target.engine()
    pg.create_schema(engine, target.schema, SETTINGS.chunking.max_tokens)
    names = dict.fromkeys(pg._DOC_COLUMNS + pg._CHUNK_COLUMNS)   # in order, each once
    nothing = spark.range(0).select(*[F.lit(None).cast("string").alias(c) for c in names])
    docs = nothing.select(*pg._DOC_COLUMNS)
    chunks = nothing.select(*pg._CHUNK_COLUMNS, "status", "reject_reason")
    with pytest.raises(pg.StagingIncomplete, match="0 of 1 rows"):
        pg.load_run(docs, chunks, target, engine, "r1", SETTINGS.postgres.jdbc, rows=(1, 0))
    assert pg.load_run(docs, chunks, target, engine, "r2", SETTINGS.postgres.jdbc,
                       rows=None)["documents_upserted"] == 0
    engine.dispose()
