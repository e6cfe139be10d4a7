"""PostgreSQL schema management against a real server: creation, additive upgrade, constraints."""
import psycopg2
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
