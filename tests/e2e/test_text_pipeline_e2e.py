"""End to end, the way a user runs it: generated corpus -> `spark-submit jobs/text_pipeline.py`
-> real PostgreSQL, twice; then the PostgreSQL contract is checked row by row."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from lakeprep.config import load_settings
from lakeprep.text.chunk_rules import non_alnum_ratio
from lakeprep.text.chunking import count_tokens, get_encoding

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_settings(ROOT / "conf" / "local.yaml")
SECRET = "e2e-Secret-Value-7f3a"
TABLES = {
    "documents": "doc_id",
    "chunks": "chunk_id",
    "rejected_chunks": "chunk_id",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("mock") / "corpus"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_mock_data.py"), "--out",
                    str(out), "--quiet"], check=True)
    return out


def submit(corpus: Path, lake: Path, pg) -> subprocess.CompletedProcess:
    # The embedded test server trusts loopback, so the password is ignored by the server but
    # still travels through the job: it must never show up in what the job prints.
    env = {**os.environ, "PGHOST": pg.host, "PGPORT": str(pg.port), "PGDATABASE": pg.database,
           "PGUSER": pg.user, "PGPASSWORD": SECRET, "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable}
    spark_submit = Path(sys.executable).parent / "spark-submit"
    cmd = [str(spark_submit), "--master", "local[2]", "--driver-memory", "2g",
           "--driver-java-options", f"-Dlog4j2.configurationFile={ROOT / 'conf' / 'log4j2.properties'}",
           str(ROOT / "jobs" / "text_pipeline.py"), "--input", str(corpus), "--lake", str(lake),
           "--config", str(ROOT / "conf" / "local.yaml")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return proc


def snapshot(conn) -> dict[str, list[tuple]]:
    with conn.cursor() as cur:
        out = {}
        for table, key in TABLES.items():
            cur.execute(f"SELECT * FROM {table} ORDER BY {key}")
            out[table] = cur.fetchall()
        return out


@pytest.fixture(scope="module")
def runs(corpus, tmp_path_factory, pg):
    lake = tmp_path_factory.mktemp("lake")
    first = submit(corpus, lake, pg)
    conn = psycopg2.connect(**pg.params())
    conn.autocommit = True
    after_first = snapshot(conn)
    second = submit(corpus, lake, pg)
    after_second = snapshot(conn)
    yield {"conn": conn, "first": first, "second": second, "lake": lake,
           "after_first": after_first, "after_second": after_second}
    conn.close()


def query(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def test_help_lists_arguments():
    proc = subprocess.run([sys.executable, str(ROOT / "jobs" / "text_pipeline.py"), "--help"],
                          capture_output=True, text=True, check=True)
    for flag in ("--input", "--lake", "--config"):
        assert flag in proc.stdout


def test_every_input_is_accounted_for(runs, corpus):
    manifest = json.loads((corpus / "manifest.json").read_text())
    totals = manifest["totals"]
    # Every .txt file, every non-blank JSONL line (malformed ones included) and every Parquet row
    # is one document row, accepted or rejected with a reason.
    expected = totals["txt_files"] + totals["jsonl_records"] + totals["parquet_rows"]
    rows = query(runs["conn"], "SELECT status, reject_reason, count(*) FROM documents "
                               "GROUP BY 1, 2")
    assert sum(n for _, _, n in rows) == expected
    assert all((status == "rejected") == (reason is not None) for status, reason, _ in rows)
    reasons = {reason for _, reason, _ in rows if reason}
    # The mock corpus plants each kind of bad input; each must show up under its own reason.
    for reason in ("binary_content", "empty_input", "malformed_record", "too_few_words",
                   "high_duplicate_line_fraction"):
        assert reason in reasons
    # Non-UTF-8 inputs were decoded, not rejected.
    non_utf8 = [d for d in manifest["documents"].values()
                if d["encoding"] in ("cp1252", "latin-1", "utf-16")]
    assert non_utf8
    for doc in non_utf8:
        uri = "file:" + str(corpus / doc["path"])
        [(status, encoding)] = query(runs["conn"], "SELECT status, encoding FROM documents "
                                                   "WHERE source_uri = %s", uri)
        assert encoding and encoding != "utf-8"


def test_chunks_fit_the_token_limit_on_reencoding(runs):
    enc = get_encoding(SETTINGS.chunking.encoding)
    limit = SETTINGS.chunking.max_tokens
    rows = query(runs["conn"], "SELECT content, token_count FROM chunks")
    assert len(rows) > 1000
    for content, token_count in rows:
        assert count_tokens(content, enc) == token_count <= limit


def test_no_accepted_chunk_over_the_non_alnum_limit(runs):
    limit = SETTINGS.chunk_filter.max_non_alnum_ratio
    accepted = query(runs["conn"], "SELECT content FROM chunks")
    assert all(non_alnum_ratio(c) <= limit for (c,) in accepted)
    rejected = query(runs["conn"], "SELECT content, reject_reason FROM rejected_chunks")
    assert rejected, "the mock corpus plants ASCII-art sections that must be rejected"
    assert all(reason == "non_alnum_ratio" and non_alnum_ratio(c) > limit for c, reason in rejected)


def test_planted_pii_is_flagged(runs, corpus):
    manifest = json.loads((corpus / "manifest.json").read_text())
    planted = {t: set() for t in ("email", "phone", "credit_card")}
    for doc in manifest["documents"].values():
        for pii_type, values in doc["pii"].items():
            planted[pii_type].update(values)
    conn = runs["conn"]
    for pii_type, values in planted.items():
        assert values
        found = 0
        for value in sorted(values)[:40]:
            rows = query(conn, "SELECT pii_types FROM chunks WHERE strpos(content, %s) > 0 "
                               "UNION ALL SELECT pii_types FROM rejected_chunks "
                               "WHERE strpos(content, %s) > 0", value, value)
            for (types,) in rows:
                assert pii_type in types, (pii_type, value)
                found += 1
        assert found > 0, pii_type
    # Look-alikes only: these documents must not be flagged as holding card numbers.
    lookalike_docs = [d for d in manifest["documents"].values()
                      if d["category"] == "prose_lookalike" and d["record_id"] is None]
    assert lookalike_docs
    for doc in lookalike_docs:
        uri = "file:" + str(corpus / doc["path"])
        rows = query(conn, "SELECT pii_types FROM chunks WHERE source_uri = %s", uri)
        assert all("credit_card" not in types for (types,) in rows), doc["path"]


def test_full_text_search_and_runs_table(runs):
    conn = runs["conn"]
    # Search for a word taken from a stored chunk: the generated tsvector must find that chunk.
    [(chunk_id, content)] = query(conn, "SELECT chunk_id, content FROM chunks "
                                        "ORDER BY chunk_id LIMIT 1")
    # The longest word that is not an English stop word (those make an empty query).
    word = next(w for w in sorted(set(re.findall(r"[A-Za-z]{6,}", content)), key=len, reverse=True)
                if query(conn, "SELECT numnode(plainto_tsquery('english', %s))", w)[0][0] > 0)
    hits = [r[0] for r in query(conn, "SELECT chunk_id FROM chunks WHERE content_tsv @@ "
                                      "plainto_tsquery('english', %s)", word)]
    assert chunk_id in hits
    plan = "\n".join(r[0] for r in query(
        conn, "EXPLAIN SELECT chunk_id FROM chunks WHERE pii_types @> ARRAY['email']"))
    assert "chunks" in plan
    rows = query(conn, "SELECT status, documents_in, chunks_accepted, finished_at IS NOT NULL, "
                       "documents_new, documents_unchanged, documents_processed "
                       "FROM pipeline_runs ORDER BY started_at")
    assert [r[0] for r in rows[-2:]] == ["succeeded", "succeeded"]
    first, second = rows[-2], rows[-1]
    # The first run processed every input; the second found them all unchanged and processed none.
    assert first[1] == first[4] == first[6] > 0 and first[2] > 0
    assert second[5] == first[1] and second[1] == second[6] == second[2] == 0 and second[3]


def test_report_written_and_printed(runs):
    assert "Rejected documents by reason" in runs["first"].stdout
    reports = sorted(Path(runs["lake"]).glob("_reports/*/report.json"))
    assert len(reports) == 2
    # The first run's report: the second one processed nothing (see the incremental test below).
    report = json.loads(reports[0].read_text())
    assert report["documents"]["documents"] == report["documents"]["accepted"] + \
        report["documents"]["rejected"]
    assert sum(report["documents"]["rejected_by_reason"].values()) == \
        report["documents"]["rejected"]
    tokens = report["chunks"]["token_count"]
    assert 0 < tokens["median"] <= tokens["p95"] <= tokens["max"] <= 512


def test_second_run_leaves_tables_unchanged(runs):
    assert runs["after_first"] == runs["after_second"]
    report = json.loads(sorted(Path(runs["lake"]).glob("_reports/*/report.json"))[-1].read_text())
    assert set(report["postgres"].values()) == {0}
    # Incremental: nothing new or changed, so nothing was processed again.
    first = json.loads(sorted(Path(runs["lake"]).glob("_reports/*/report.json"))[0].read_text())
    assert report["incremental"]["processed"] == report["documents"]["documents"] == 0
    assert report["incremental"]["unchanged"] == first["incremental"]["new"] == \
        first["documents"]["documents"]


def test_exact_duplicate_files_point_at_the_copy_that_was_kept(runs, corpus):
    manifest = json.loads((corpus / "manifest.json").read_text())
    pairs = [(doc["path"], doc["duplicate_of"]) for doc in manifest["documents"].values()
             if doc.get("duplicate_of")]
    assert pairs
    conn = runs["conn"]
    for copy, original in pairs:
        rows = {}
        for path in (copy, original):
            [(doc_id, status, reason, dup_of)] = query(
                conn, "SELECT doc_id, status, reject_reason, duplicate_of FROM documents "
                      "WHERE source_uri = %s", "file:" + str(corpus / path))
            rows[path] = (doc_id, status, reason, dup_of)
        statuses = sorted(r[1] for r in rows.values())
        assert statuses == ["accepted", "rejected"], rows
        kept = next(r for r in rows.values() if r[1] == "accepted")
        dropped = next(r for r in rows.values() if r[1] == "rejected")
        assert dropped[2] == "exact_duplicate" and dropped[3] == kept[0]
        # The dropped copy has no chunks: it would only repeat the kept one's.
        assert query(conn, "SELECT count(*) FROM chunks WHERE doc_id = %s", dropped[0]) == [(0,)]


def test_language_and_warnings_are_stored(runs, corpus):
    conn = runs["conn"]
    langs = dict(query(conn, "SELECT language, count(*) FROM documents "
                             "WHERE status = 'accepted' GROUP BY 1"))
    assert langs.get("en", 0) > 500
    manifest = json.loads((corpus / "manifest.json").read_text())
    mixed = [d for d in manifest["documents"].values()
             if d["category"] == "mixed_language" and d["record_id"] is None]
    for doc in mixed:
        [(language,)] = query(conn, "SELECT language FROM documents WHERE source_uri = %s",
                              "file:" + str(corpus / doc["path"]))
        assert language in doc["languages"]
    [(warned,)] = query(conn, "SELECT count(*) FROM documents WHERE status = 'accepted' "
                              "AND cardinality(warnings) > 0")
    assert warned > 0


def test_html_report_with_plots(runs):
    pages = sorted(Path(runs["lake"]).glob("_reports/*/report.html"))
    assert len(pages) == 2
    page = pages[0].read_text()
    assert page.count("data:image/png;base64,") >= 4 and "Rejected documents by reason" in page


def test_markup_and_boilerplate_removals_are_counted(runs, corpus):
    manifest = json.loads((corpus / "manifest.json").read_text())
    html_docs = [d for d in manifest["documents"].values()
                 if d["category"] == "markup_html" and d["record_id"] is None]
    assert html_docs
    for doc in html_docs:
        [(removed,)] = query(runs["conn"], "SELECT boilerplate_removed FROM documents "
                                           "WHERE source_uri = %s", "file:" + str(corpus / doc["path"]))
        assert removed.get("html_tags", 0) > 0, doc["path"]
    report = json.loads(sorted(Path(runs["lake"]).glob("_reports/*/report.json"))[0].read_text())
    assert report["documents"]["boilerplate_lines_removed"].get("html_tags", 0) > 0


def test_password_never_printed(runs):
    for proc in (runs["first"], runs["second"]):
        assert SECRET not in proc.stdout and SECRET not in proc.stderr
    [(stored,)] = query(runs["conn"], "SELECT count(*) FROM pipeline_runs WHERE "
                                      "strpos(coalesce(error, '') || config_path || lake_uri, %s) > 0",
                        SECRET)
    assert stored == 0


@pytest.fixture(scope="module")
def pg(pg_database):
    """This module's own database: its row counts see only its own runs."""
    return pg_database("e2e_text")
