"""Least privilege on a real PostgreSQL: the loader and analyst group roles that schema creation
makes, tried by LOGIN users that are members of them, and the whole pipeline run as a loader."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest
import sqlalchemy as sa
from psycopg2 import errors

from lakeprep.config import RolesSettings
from lakeprep.db import roles as R
from lakeprep.db.connection import PgTarget
from lakeprep.db.load import create_schema, merge_run
from lakeprep.text.pipeline import run_text_pipeline

ROOT = Path(__file__).resolve().parents[2]
ROLES = RolesSettings()
LOADER_USER, ANALYST_USER = "roles_test_etl", "roles_test_reader"
PROSE = ("The ferry left the harbour at dawn while the fishermen mended their nets on the quay "
         "and the bakers opened their shops along the narrow street that climbs to the church. ")


@pytest.fixture(scope="module")
def db(pg_server, pg_database):
    """This module's database, its schema created by the (superuser) admin, and one LOGIN user
    per role. The test server trusts loopback, so the users need no password."""
    database = pg_database("e2e_pg_roles")
    admin = sa.create_engine(sa.engine.URL.create(
        "postgresql+psycopg2", username=database.user, host=database.host, port=database.port,
        database=database.database))
    create_schema(admin, "public", 512, roles=ROLES)
    with admin.begin() as conn:
        for user, role in ((LOADER_USER, ROLES.loader), (ANALYST_USER, ROLES.analyst)):
            if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :u"),
                            {"u": user}).first() is None:
                conn.execute(sa.text(f'CREATE ROLE "{user}" LOGIN IN ROLE "{role}"'))
    yield database, admin
    admin.dispose()


def connect(db, user):
    database, _ = db
    conn = psycopg2.connect(host=database.host, port=database.port, dbname=database.database,
                            user=user)
    conn.autocommit = True
    return conn


def run_sql(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else None


def test_roles_are_nologin_groups(db):
    _, admin = db
    with admin.connect() as conn:
        rows = conn.execute(sa.text("SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname IN "
                                    "(:a, :b) ORDER BY 1"), {"a": ROLES.analyst, "b": ROLES.loader})
        assert rows.all() == [(ROLES.analyst, False), (ROLES.loader, False)]


def test_schema_creation_is_idempotent(db):
    _, admin = db
    create_schema(admin, "public", 512, roles=ROLES)
    create_schema(admin, "public", 512, roles=ROLES)


@pytest.mark.parametrize("table", ["documents", "chunks", "rejected_chunks", "pipeline_runs"])
def test_analyst_reads_final_tables(db, table):
    with closing(connect(db, ANALYST_USER)) as conn:
        assert run_sql(conn, f"SELECT count(*) FROM {table}") is not None


@pytest.mark.parametrize("sql", [
    "INSERT INTO pipeline_runs (run_id, job, started_at, status, input_uris, lake_uri) "
    "VALUES ('r', 'j', now(), 'running', '{}', 'l')",
    "UPDATE documents SET status = 'accepted'",
    "DELETE FROM chunks",
    "SELECT count(*) FROM stg_documents",
    "SELECT count(*) FROM stg_chunks",
    "TRUNCATE documents",
])
def test_analyst_cannot_write_or_read_staging(db, sql):
    conn = connect(db, ANALYST_USER)
    try:
        with pytest.raises(errors.InsufficientPrivilege):
            run_sql(conn, sql)
    finally:
        conn.close()


def test_loader_writes_staging_and_runs_the_merge(db):
    database, _ = db
    conn = connect(db, LOADER_USER)
    try:
        run_sql(conn, "INSERT INTO stg_documents (run_id, doc_id, source_uri, source_format, "
                      "status, reject_reason, quality_score, size_bytes, n_words, content_sha256, "
                      "processed_at, boilerplate_removed, failed_rules, warnings) VALUES "
                      "('loader-run', 'd1', 'file:/x', 'txt', 'rejected', 'too_few_words', 0.1, "
                      "3, 1, 'h', now(), '{}', '{too_few_words}', '{}')")
        assert run_sql(conn, "SELECT count(*) FROM stg_documents") == [(1,)]
    finally:
        conn.close()
    loader = PgTarget(database.host, database.port, database.database, LOADER_USER, "public",
                      False).engine()
    try:
        counts = merge_run(loader, "public", "loader-run")
        # A run id is a bound value: quotes in it are data, not SQL.
        assert merge_run(loader, "public", "x'; DROP TABLE documents; --")["documents_upserted"] == 0
    finally:
        loader.dispose()
    assert counts["documents_upserted"] == 1
    with closing(connect(db, ANALYST_USER)) as conn:
        assert run_sql(conn, "SELECT status FROM documents WHERE doc_id = 'd1'") == [("rejected",)]
        # The merge audited its change as the loader's login, in the same transaction.
        assert run_sql(conn, "SELECT db_user, action, table_name, rows FROM audit_log WHERE "
                             "run_id = 'loader-run'") == [(LOADER_USER, "upsert", "documents", 1)]


@pytest.mark.parametrize("sql", [
    "UPDATE audit_log SET rows = 0",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
])
def test_the_audit_log_is_append_only_for_the_loader(db, sql):
    with closing(connect(db, LOADER_USER)) as conn:
        run_sql(conn, "INSERT INTO audit_log (run_id, job, db_user, db_role, action, table_name, "
                      "rows) VALUES ('r', 'j', session_user, current_user, 'insert', 't', 1)")
        with pytest.raises(errors.InsufficientPrivilege):
            run_sql(conn, sql)


def test_the_analyst_reads_lineage_and_audit_but_writes_neither(db):
    with closing(connect(db, ANALYST_USER)) as conn:
        run_sql(conn, "SELECT count(*) FROM lineage")
        run_sql(conn, "SELECT count(*) FROM audit_log")
        with pytest.raises(errors.InsufficientPrivilege):
            run_sql(conn, "INSERT INTO audit_log (run_id, job, db_user, db_role, action, "
                          "table_name, rows) VALUES ('r', 'j', 'u', 'u', 'insert', 't', 1)")


@pytest.mark.parametrize("sql", [
    "DROP TABLE documents",
    "TRUNCATE documents",
    "TRUNCATE stg_documents",
    "CREATE TABLE public.loader_made (x int)",
    "ALTER TABLE documents ADD COLUMN x int",
    "CREATE ROLE loader_escalation",
])
def test_loader_cannot_change_the_schema(db, sql):
    conn = connect(db, LOADER_USER)
    try:
        with pytest.raises(errors.InsufficientPrivilege):
            run_sql(conn, sql)
    finally:
        conn.close()


def test_default_privileges_cover_tables_created_later(db):
    _, admin = db
    with admin.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS public.created_later"))
        conn.execute(sa.text("CREATE TABLE public.created_later (x int)"))
    with closing(connect(db, LOADER_USER)) as conn:
        run_sql(conn, "INSERT INTO created_later VALUES (1)")
    with closing(connect(db, ANALYST_USER)) as conn:
        assert run_sql(conn, "SELECT x FROM created_later") == [(1,)]


def test_without_createrole_roles_are_skipped_with_a_reason(db, caplog):
    database, _ = db
    loader = PgTarget(database.host, database.port, database.database, LOADER_USER, "public",
                      False).engine()
    missing = RolesSettings(loader="roles_test_missing_l", analyst="roles_test_missing_a")
    try:
        with caplog.at_level(logging.INFO, logger="lakeprep.db.roles"), loader.begin() as conn:
            assert R.ensure_roles(conn, "public", ROLES) is False
            assert R.ensure_roles(conn, "public", missing) is False
    finally:
        loader.dispose()
    messages = [r.getMessage() for r in caplog.records]
    assert any("managed by an admin" in m for m in messages)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "CREATEROLE" in warning.getMessage() and "roles_test_missing_l" in warning.getMessage()


def test_the_pipeline_runs_as_a_loader_member(db, spark, settings, tmp_path):
    database, _ = db
    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "a.txt").write_text(PROSE * 3, encoding="utf-8")
    (corpus / "b.txt").write_text("too short", encoding="utf-8")
    target = PgTarget(database.host, database.port, database.database, LOADER_USER, "public",
                      False)
    report = run_text_pipeline(spark, settings, [str(corpus)], str(tmp_path / "lake"), target)
    assert report["documents"]["documents"] == 2
    with closing(connect(db, ANALYST_USER)) as conn:
        rows = run_sql(conn, "SELECT source_uri, status FROM documents WHERE source_uri LIKE %s "
                             "ORDER BY 1", f"file:{corpus}/%")
        assert rows == [(f"file:{corpus}/a.txt", "accepted"), (f"file:{corpus}/b.txt", "rejected")]
        assert run_sql(conn, "SELECT status FROM pipeline_runs WHERE run_id = %s",
                       report["run_id"]) == [("succeeded",)]
        # The loader member wrote the run's lineage too.
        assert run_sql(conn, "SELECT count(*) FROM lineage WHERE run_id = %s AND direction = "
                             "'output'", report["run_id"])[0][0] >= 3


def test_cli_help_and_admin_run(db):
    database, _ = db
    env = {**os.environ, "PGHOST": database.host, "PGPORT": str(database.port),
           "PGDATABASE": database.database, "PGUSER": database.user}
    helped = subprocess.run([sys.executable, "-m", "lakeprep.db.roles", "--help"],
                            capture_output=True, text=True, cwd=ROOT)
    assert helped.returncode == 0 and "loader" in helped.stdout
    ran = subprocess.run([sys.executable, "-m", "lakeprep.db.roles"], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ROLES.loader in ran.stdout and ROLES.analyst in ran.stdout
    as_loader = subprocess.run([sys.executable, "-m", "lakeprep.db.roles"], capture_output=True,
                               text=True, cwd=ROOT, env={**env, "PGUSER": LOADER_USER},
                               timeout=120)
    assert as_loader.returncode == 1
    assert as_loader.stderr.strip().splitlines()[-1].startswith("error: roles not created")
