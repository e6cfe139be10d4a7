"""The dashboard's queries (lakeprep.dashboard.queries) against a real PostgreSQL: exact numbers
on a small hand-made load, empty frames (not errors) on a database without tables or rows, and
no way to write through them."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from lakeprep.dashboard.queries import DashboardQueries
from lakeprep.db.connection import PgTarget
from lakeprep.db.schema import build_metadata as text_metadata
from lakeprep.trials.warehouse import build_metadata as trials_metadata

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
MAX_TOKENS = 512


def engine_for(db) -> sa.Engine:
    return PgTarget(db.host, db.port, db.database, db.user, "public", False, None).engine()


def create_tables(engine: sa.Engine, trials: bool = True) -> None:
    text_metadata("public", MAX_TOKENS).create_all(engine)
    if trials:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE SCHEMA ctgov"))
        trials_metadata("ctgov").create_all(engine)


def document(doc_id: str, status: str, reason: str | None, score: float, language: str | None,
             deleted: bool = False) -> dict:
    return {"doc_id": doc_id, "source_uri": f"file:/corpus/{doc_id}.txt", "source_format": "txt",
            "status": status, "reject_reason": reason, "quality_score": score, "size_bytes": 10,
            "n_words": 2, "content_sha256": doc_id, "language": language,
            "processed_at": T0, "run_id": "r2", "deleted_at": T0 if deleted else None}


def chunk(doc_id: str, index: int, tokens: int, pii: dict[str, int]) -> dict:
    return {"chunk_id": f"{doc_id}-{index}", "doc_id": doc_id, "source_uri": f"file:/{doc_id}",
            "chunk_index": index, "char_start": 0, "char_end": 5, "content": "words",
            "token_count": tokens, "non_alnum_ratio": 0.0, "quality_score": 0.9,
            "pii_types": sorted(k for k, v in pii.items() if v), "pii_counts": json.dumps(pii),
            "processed_at": T0, "run_id": "r2"}


def fill(engine: sa.Engine) -> None:
    """Two text runs and a failed trials run; six live documents and a tombstone; four chunks;
    three trials."""
    insert = lambda conn, table, rows: conn.execute(sa.text(  # noqa: E731
        f"INSERT INTO {table} ({', '.join(rows[0])}) VALUES "
        f"({', '.join(':' + k for k in rows[0])})"), rows)
    with engine.begin() as conn:
        run = {"job": "text_pipeline", "status": "succeeded", "input_uris": ["file:/corpus"],
               "lake_uri": "file:/lake", "documents_in": 7, "documents_accepted": 4,
               "documents_rejected": 3, "chunks_accepted": 4}
        insert(conn, "pipeline_runs", [
            {**run, "run_id": "r1", "started_at": T0, "finished_at": T0 + timedelta(seconds=30)},
            {**run, "run_id": "r2", "started_at": T0 + timedelta(hours=1),
             "finished_at": T0 + timedelta(hours=1, seconds=12)},
            {**run, "run_id": "t1", "job": "clinical_trials", "status": "failed",
             "started_at": T0 + timedelta(hours=2), "finished_at": None, "documents_in": None,
             "documents_accepted": None, "documents_rejected": None, "chunks_accepted": None}])
        insert(conn, "documents", [
            document("a", "accepted", None, 0.91, "en"),
            document("b", "accepted", None, 0.72, "en"),
            document("c", "accepted", None, 0.99, "de"),
            document("d", "rejected", "too_few_words", 0.10, "en"),
            document("e", "rejected", "too_few_words", 0.50, None),
            document("f", "rejected", "binary_content", 0.0, None),
            # Deleted at its source: not counted anywhere.
            document("g", "accepted", None, 0.8, "fr", deleted=True)])
        insert(conn, "chunks", [
            chunk("a", 0, 512, {"email": 2}),
            chunk("a", 1, 40, {"email": 1, "phone": 1}),
            chunk("b", 0, 31, {}),
            chunk("c", 0, 300, {"phone": 0})])
        insert(conn, "rejected_chunks", [
            {**chunk("b", 1, 20, {}), "reject_reason": "non_alnum_ratio"}])
        lineage = {"job": "text_pipeline", "namespace": "file", "version": "7:ab",
                   "code_version": "0.1.0", "config_hash": "c0ffee", "recorded_at": T0}
        insert(conn, "lineage", [
            {**lineage, "run_id": "r1", "direction": "input", "name": "/corpus", "row_count": 7},
            {**lineage, "run_id": "r2", "direction": "input", "name": "/corpus", "row_count": 7},
            {**lineage, "run_id": "r2", "direction": "output", "name": "/lake/silver/documents",
             "version": "3", "row_count": 7}])
        insert(conn, "audit_log", [
            {"run_id": "r1", "job": "text_pipeline", "db_user": "etl", "db_role": "etl",
             "action": "upsert", "table_name": "documents", "rows": 7}])
        study = {"study_type": "INTERVENTIONAL", "has_results": False, "run_id": "t1"}
        insert(conn, "ctgov.studies", [
            {**study, "nct_id": "NCT00000001", "overall_status": "RECRUITING"},
            {**study, "nct_id": "NCT00000002", "overall_status": "COMPLETED"},
            {**study, "nct_id": "NCT00000003", "overall_status": "RECRUITING"}])
        insert(conn, "ctgov.conditions", [
            {"condition_key": "1", "nct_id": "NCT00000001", "ordinal": 0, "name": "Asthma",
             "canonical_name": None, "run_id": "t1"},
            {"condition_key": "2", "nct_id": "NCT00000002", "ordinal": 0, "name": "asthma, severe",
             "canonical_name": "Asthma", "run_id": "t1"},
            {"condition_key": "3", "nct_id": "NCT00000002", "ordinal": 1, "name": "Obesity",
             "canonical_name": "Obesity", "run_id": "t1"}])


@pytest.fixture(scope="module")
def filled(pg_database):
    engine = engine_for(pg_database("dashboard_queries_filled"))
    create_tables(engine)
    fill(engine)
    yield DashboardQueries(engine, "public", "ctgov")
    engine.dispose()


@pytest.fixture
def empty(pg_database):
    engine = engine_for(pg_database("dashboard_queries_empty"))
    yield engine
    engine.dispose()


def records(frame, *columns):
    return [tuple(r) for r in frame[list(columns)].itertuples(index=False)]


def test_summary_counts_live_documents_and_served_chunks(filled):
    s = filled.summary()
    assert (s.runs, s.runs_failed) == (3, 1)
    assert (s.documents_kept, s.documents_rejected) == (3, 3)
    assert (s.chunks, s.chunks_rejected) == (4, 1)
    assert (s.trials, s.conditions) == (3, 3)


def test_runs_oldest_first_with_durations(filled):
    runs = filled.runs()
    assert list(runs["run_id"]) == ["r1", "r2", "t1"]
    assert list(runs["seconds"][:2]) == [30.0, 12.0] and runs["seconds"].isna().iloc[2]
    # The limit keeps the latest runs, still returned oldest first.
    assert list(filled.runs(limit=2)["run_id"]) == ["r2", "t1"]


def test_kept_vs_rejected_by_reason(filled):
    assert records(filled.documents_by_outcome(), "status", "reason", "documents") == [
        ("accepted", "kept", 3), ("rejected", "too_few_words", 2),
        ("rejected", "binary_content", 1)]
    assert records(filled.rejected_chunks_by_reason(), "reason", "chunks") == [
        ("non_alnum_ratio", 1)]


def test_token_histogram_and_stats(filled):
    hist = filled.token_histogram(MAX_TOKENS, bins=16)
    # 32-token bins: 31 -> bin 1, 40 -> bin 2, 300 -> bin 10, 512 (the limit) -> the last bin.
    assert records(hist, "bucket", "chunks") == [(1, 1), (2, 1), (10, 1), (16, 1)]
    assert records(hist, "low", "high")[-1] == (480.0, 512.0)
    [stats] = filled.token_stats().to_dict("records")
    assert stats["chunks"] == 4 and stats["max"] == 512
    assert stats["median"] == pytest.approx(170.0) and stats["mean"] == pytest.approx(220.75)


def test_quality_histogram_by_status(filled):
    hist = filled.quality_histogram(bins=10)
    assert records(hist, "bucket", "status", "documents") == [
        (1, "rejected", 1), (2, "rejected", 1), (6, "rejected", 1), (8, "accepted", 1),
        (10, "accepted", 2)]


def test_pii_by_type_counts_chunks_and_occurrences(filled):
    # A zero count in pii_counts is not a finding.
    assert records(filled.pii_by_type(), "pii_type", "chunks", "occurrences") == [
        ("email", 2, 3), ("phone", 1, 1)]


def test_language_mix(filled):
    assert records(filled.languages(), "language", "kept", "rejected", "documents") == [
        ("en", 2, 1, 3), ("unknown", 0, 2, 2), ("de", 1, 0, 1)]
    assert len(filled.languages(limit=1)) == 1


def test_trials_by_status_and_condition(filled):
    assert records(filled.trials_by_status(), "status", "trials") == [
        ("RECRUITING", 2), ("COMPLETED", 1)]
    # "asthma, severe" was standardized to Asthma: both trials count under one condition.
    assert records(filled.top_conditions(), "condition", "trials") == [("Asthma", 2), ("Obesity", 1)]


def all_frames(q: DashboardQueries) -> dict:
    return {"runs": q.runs(), "outcome": q.documents_by_outcome(),
            "rejected_chunks": q.rejected_chunks_by_reason(),
            "tokens": q.token_histogram(MAX_TOKENS), "token_stats": q.token_stats(),
            "quality": q.quality_histogram(), "pii": q.pii_by_type(), "languages": q.languages(),
            "status": q.trials_by_status(), "conditions": q.top_conditions()}


@pytest.mark.parametrize("tables", ["none", "text_only", "all_empty"])
def test_no_data_gives_zeros_and_empty_frames(empty, tables):
    if tables != "none":
        create_tables(empty, trials=tables == "all_empty")
    q = DashboardQueries(empty, "public", "ctgov")
    assert q.summary() == type(q.summary())(0, 0, 0, 0, 0, 0, 0, 0)
    for name, frame in all_frames(q).items():
        assert frame.empty, name
    # Same columns as with data, so the page code never meets a missing column.
    assert list(q.token_histogram(MAX_TOKENS).columns) == ["bucket", "chunks", "low", "high"]


def test_trials_absent_does_not_hide_text_data(filled, pg_database):
    q = DashboardQueries(filled.engine, "public", "no_such_schema")
    assert q.summary().trials == 0 and q.trials_by_status().empty
    assert q.summary().documents_kept == 3


def test_lineage_and_audit_of_the_latest_runs(filled):
    lineage = filled.lineage(runs=3)
    # Newest run first (t1 recorded nothing), inputs before outputs within a run.
    assert records(lineage, "run_id", "direction", "name", "version", "rows") == [
        ("r2", "input", "/corpus", "7:ab", 7), ("r2", "output", "/lake/silver/documents", "3", 7),
        ("r1", "input", "/corpus", "7:ab", 7)]
    # Only the latest two runs: t1 and r2; r1's rows are left out.
    assert set(filled.lineage(runs=2)["run_id"]) == {"r2"}
    assert records(filled.audit(runs=3), "run_id", "db_user", "action", "table", "rows") == [
        ("r1", "etl", "upsert", "documents", 7)]
    assert filled.audit(runs=2).empty


def test_a_config_without_trials_reads_no_trials_tables(filled):
    # The trials tables exist in the database, but this config has no trials section.
    q = DashboardQueries(filled.engine, "public", None)
    assert q.summary().trials == 0 and q.top_conditions().empty and q.trials_by_status().empty
    assert q.summary().documents_kept == 3


def test_queries_cannot_write(filled):
    with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
        with filled.read_only() as conn:
            conn.execute(sa.text("DELETE FROM documents"))
    assert filled.summary().documents_kept == 3


def test_schema_names_are_quoted_identifiers(filled):
    # A schema name is never spliced raw into SQL: this one would be an injection otherwise.
    q = DashboardQueries(filled.engine, 'public"; DROP TABLE documents; --', "ctgov")
    assert q.summary().documents_kept == 0 and q.languages().empty
    assert filled.summary().documents_kept == 3
