"""PostgreSQL schema management against a real server: creation, additive upgrade, constraints."""
import pytest
import sqlalchemy as sa

from lakeprep.db.connection import PgTarget
from lakeprep.db.load import create_schema


@pytest.fixture()
def engine(pg_server, request):
    p = pg_server.params()
    target = PgTarget(p["host"], p["port"], p["dbname"], p["user"], "public", True)
    eng = target.engine()
    schema = "t_" + request.node.name.lower()[:40]
    with eng.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    yield eng, schema
    eng.dispose()


def columns(eng, schema, table):
    return {c["name"] for c in sa.inspect(eng).get_columns(table, schema=schema)}


def test_create_is_idempotent_and_adds_missing_columns(engine):
    eng, schema = engine
    create_schema(eng, schema, 512)
    create_schema(eng, schema, 512)
    with eng.begin() as conn:  # a database created by an older release, without a newer column
        conn.execute(sa.text(f'ALTER TABLE "{schema}".documents DROP COLUMN encoding'))
        conn.execute(sa.text(f'ALTER TABLE "{schema}".chunks DROP COLUMN pii_counts'))
    assert "encoding" not in columns(eng, schema, "documents")
    create_schema(eng, schema, 512)
    assert "encoding" in columns(eng, schema, "documents")
    assert "pii_counts" in columns(eng, schema, "chunks")


def test_constraints_reject_inconsistent_rows(engine):
    eng, schema = engine
    create_schema(eng, schema, 512)
    doc = {"doc_id": "d", "source_uri": "file:/x", "source_format": "txt", "status": "accepted",
           "reject_reason": None, "quality_score": 0.9, "size_bytes": 1, "n_words": 1,
           "content_sha256": "h", "processed_at": "2026-01-01", "run_id": "r"}
    insert = (f'INSERT INTO "{schema}".documents ({", ".join(doc)}) '
              f'VALUES ({", ".join(":" + k for k in doc)})')
    with pytest.raises(sa.exc.IntegrityError):  # accepted with a reason
        with eng.begin() as conn:
            conn.execute(sa.text(insert), {**doc, "reject_reason": "too_few_words"})
    with pytest.raises(sa.exc.IntegrityError):  # score out of range
        with eng.begin() as conn:
            conn.execute(sa.text(insert), {**doc, "quality_score": 1.5})
    with eng.begin() as conn:
        conn.execute(sa.text(insert), doc)
    chunk = {"chunk_id": "c", "doc_id": "d", "source_uri": "file:/x", "chunk_index": 0,
             "char_start": 0, "char_end": 5, "content": "hello", "token_count": 513,
             "non_alnum_ratio": 0.0, "quality_score": 0.9, "processed_at": "2026-01-01",
             "run_id": "r"}
    insert_chunk = (f'INSERT INTO "{schema}".chunks ({", ".join(chunk)}) '
                    f'VALUES ({", ".join(":" + k for k in chunk)})')
    with pytest.raises(sa.exc.IntegrityError):  # over the token limit
        with eng.begin() as conn:
            conn.execute(sa.text(insert_chunk), chunk)
    with pytest.raises(sa.exc.IntegrityError):  # unknown document
        with eng.begin() as conn:
            conn.execute(sa.text(insert_chunk), {**chunk, "token_count": 2, "doc_id": "nope"})
    with eng.begin() as conn:
        conn.execute(sa.text(insert_chunk), {**chunk, "token_count": 2})
        [(tsv,)] = conn.execute(sa.text(f'SELECT content_tsv::text FROM "{schema}".chunks')).all()
    assert "hello" in tsv


def test_run_lock_serializes_runs_and_killed_runs_are_closed_as_abandoned(engine):
    from lakeprep.db.load import (
        RunInProgress,
        abandon_stale_runs,
        acquire_run_lock,
        release_run_lock,
        start_run,
    )

    eng, schema = engine
    md = create_schema(eng, schema, 512)
    assert {"deleted_at"} <= columns(eng, schema, "documents")
    assert {"documents_new", "documents_deleted", "full_refresh"} <= columns(eng, schema,
                                                                             "pipeline_runs")
    lock = acquire_run_lock(eng, schema, "job")
    with pytest.raises(RunInProgress, match="another job run is in progress"):
        acquire_run_lock(eng, schema, "job")
    release_run_lock(acquire_run_lock(eng, schema, "other_job"))  # other jobs are not blocked
    start_run(eng, md, schema, "r1", "job", ["file:/x"], "file:/lake", "conf", "v1")
    start_run(eng, md, schema, "r1", "job", ["file:/x"], "file:/lake", "conf", "v1")  # retried
    # The process holding the lock dies: the server ends its session and the lock with it.
    pid = lock.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    with eng.connect() as admin:
        admin.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    release_run_lock(lock)  # the connection is gone: nothing to release, no error
    lock2 = acquire_run_lock(eng, schema, "job")
    assert abandon_stale_runs(eng, md, schema, "job") == ["r1"]
    assert abandon_stale_runs(eng, md, schema, "job") == []
    with eng.connect() as conn:
        status, error = conn.execute(sa.text(
            f'SELECT status, error FROM "{schema}".pipeline_runs')).one()
    assert status == "failed" and error.startswith("abandoned")
    release_run_lock(lock2)


def test_merge_refuses_incomplete_staging(engine):
    from lakeprep.db.load import StagingIncomplete, merge_run

    eng, schema = engine
    create_schema(eng, schema, 512)
    with eng.begin() as conn:
        conn.execute(sa.text(f'INSERT INTO "{schema}".stg_documents (run_id, doc_id) '
                             "VALUES ('r', 'a'), ('r', 'b')"))
    # Three rows were written, two are left (a server crash empties UNLOGGED tables; a merge
    # whose COMMIT reply was lost consumed them): merging now would silently drop documents.
    with pytest.raises(StagingIncomplete, match="2 of 3"):
        merge_run(eng, schema, "r", {"stg_documents": 3})
    with eng.connect() as conn:
        assert conn.execute(sa.text(f'SELECT count(*) FROM "{schema}".stg_documents')).scalar() == 2
        assert conn.execute(sa.text(f'SELECT count(*) FROM "{schema}".documents')).scalar() == 0
