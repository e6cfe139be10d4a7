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
import pyarrow.parquet as pq
import pytest
from prom_helpers import metric, pushed_metrics
from submit_helpers import spark_submit_prefix

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


def submit(corpus: Path, lake: Path, pg, pushgateway: str = "") -> subprocess.CompletedProcess:
    # The embedded test server trusts loopback, so the password is ignored by the server but
    # still travels through the job: it must never show up in what the job prints.
    env = {**os.environ, "PGHOST": pg.host, "PGPORT": str(pg.port), "PGDATABASE": pg.database,
           "PGUSER": pg.user, "PGPASSWORD": SECRET, "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable, "LAKEPREP_PUSHGATEWAY_URL": pushgateway}
    cmd = [*spark_submit_prefix(), str(ROOT / "jobs" / "text_pipeline.py"), "--input", str(corpus),
           "--lake", str(lake), "--config", str(ROOT / "conf" / "local.yaml")]
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
def runs(corpus, tmp_path_factory, pg, pushgateway):
    lake = tmp_path_factory.mktemp("lake")
    first = submit(corpus, lake, pg, pushgateway)
    metrics_after_first = pushed_metrics(pushgateway)
    conn = psycopg2.connect(**pg.params())
    conn.autocommit = True
    after_first = snapshot(conn)
    second = submit(corpus, lake, pg, pushgateway)
    after_second = snapshot(conn)
    yield {"conn": conn, "first": first, "second": second, "lake": lake,
           "after_first": after_first, "after_second": after_second,
           "metrics_after_first": metrics_after_first,
           "metrics_after_second": pushed_metrics(pushgateway)}
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
    # The Delta writes and the report's aggregations ran in the background (lakeprep.background),
    # and the main thread waited for every write before it wrote the state.
    assert set(report["background_seconds"]) == {"bronze_write", "documents_write",
                                                 "chunks_write", "report_aggregations"}
    stages = list(report["stage_seconds"])
    assert stages.index("writes_wait") < stages.index("state")
    # The report file carries its own stage's seconds too (written after that stage closed).
    assert stages[-1] == "report" and report["stage_seconds"]["report"] > 0
    # The postgres stage split: the staging writes, then each statement of the merge.
    pg_split = report["postgres_seconds"]
    assert {"staging", "documents_upserted", "chunks_removed", "chunks_upserted",
            "rejected_chunks_upserted"} <= set(pg_split)
    assert sum(pg_split.values()) <= report["stage_seconds"]["postgres"] + 0.1


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


def _runs_in_order(conn) -> list[str]:
    return [r for (r,) in query(conn, "SELECT run_id FROM pipeline_runs WHERE job = "
                                      "'text_pipeline' ORDER BY started_at")]


def _metric(metrics: dict, name: str, **labels) -> float | None:
    return metric(metrics, "text_pipeline", name, **labels)


def test_run_metrics_reach_the_pushgateway(runs):
    conn = runs["conn"]
    first_run, _ = _runs_in_order(conn)
    m = runs["metrics_after_first"]
    assert _metric(m, "lakeprep_run_success") == 1
    [(documents_in, rejected)] = query(conn, "SELECT documents_in, documents_rejected FROM "
                                             "pipeline_runs WHERE run_id = %s", first_run)
    assert _metric(m, "lakeprep_reject_ratio") == pytest.approx(rejected / documents_in, abs=1e-6)
    # Rejected documents by reason: exactly what the database holds for the first run.
    for reason, n in query(conn, "SELECT reject_reason, count(*) FROM documents WHERE run_id = %s "
                                 "AND status = 'rejected' GROUP BY 1", first_run):
        assert _metric(m, "lakeprep_rejected_rows", unit="documents", reason=reason) == n
    [(chunks,)] = query(conn, "SELECT count(*) FROM chunks")
    assert _metric(m, "lakeprep_rows_out", table="postgres.chunks") == chunks
    for stage in ("ingest", "documents", "chunks", "postgres", "report"):
        assert _metric(m, "lakeprep_stage_duration_seconds", stage=stage) >= 0
    # The second (incremental, nothing new) run pushed too: a later success time.
    later = runs["metrics_after_second"]
    assert _metric(later, "lakeprep_run_success") == 1
    assert (_metric(later, "lakeprep_run_last_success_timestamp_seconds", record="last_outcome")
            > _metric(m, "lakeprep_run_last_success_timestamp_seconds", record="last_outcome"))


def test_lineage_table_records_inputs_outputs_and_versions(runs, corpus):
    conn = runs["conn"]
    first_run, second_run = _runs_in_order(conn)
    rows = query(conn, "SELECT run_id, direction, namespace, name, version, row_count, "
                       "code_version, config_hash FROM lineage ORDER BY run_id, direction, name")
    by_run = {r: [row for row in rows if row[0] == r] for r in (first_run, second_run)}
    inputs = {r: [row for row in by_run[r] if row[1] == "input"] for r in by_run}
    # The corpus did not change between the runs: same input, same version (content digest).
    assert [(i[3], i[4]) for i in inputs[first_run]] == [(i[3], i[4]) for i in inputs[second_run]]
    [(_, _, namespace, name, version, n, code, config_hash)] = inputs[first_run]
    assert (namespace, name) == ("file", str(corpus))
    [(docs,)] = query(conn, "SELECT count(*) FROM documents")
    assert n == docs and version.startswith(f"{docs}:")
    assert code and len(config_hash) == 16
    # Outputs: each Delta table at the version its history shows now (the second run's).
    outputs = {row[3]: row for row in by_run[second_run] if row[1] == "output"}
    silver_docs = str(runs["lake"] / "silver" / "documents")
    assert silver_docs in outputs
    log_dir = Path(silver_docs) / "_delta_log"
    latest = max(int(p.stem) for p in log_dir.glob("*.json"))
    assert outputs[silver_docs][4] == str(latest)
    first_outputs = {row[3]: row for row in by_run[first_run] if row[1] == "output"}
    assert first_outputs["public.chunks"][5] == len(runs["after_first"]["chunks"])
    # The report carries the same lineage.
    report = json.loads(next(runs["lake"].glob(f"_reports/{first_run}/report.json")).read_text())
    assert report["lineage"]["config_hash"] == config_hash
    assert "## Lineage" in runs["first"].stdout


def test_audit_log_records_each_change_with_its_role(runs):
    conn = runs["conn"]
    first_run, second_run = _runs_in_order(conn)
    audit = query(conn, "SELECT run_id, job, db_user, db_role, action, table_name, rows "
                        "FROM audit_log ORDER BY table_name, action")
    first = {(a[4], a[5]): a for a in audit if a[0] == first_run}
    assert first[("upsert", "documents")][6] == len(runs["after_first"]["documents"])
    assert first[("upsert", "chunks")][6] == len(runs["after_first"]["chunks"])
    assert all(a[1] == "text_pipeline" and a[2] == a[3] == runs_user(conn) for a in first.values())
    # The second run changed nothing, so it audited nothing.
    assert [a for a in audit if a[0] == second_run] == []


def runs_user(conn) -> str:
    return query(conn, "SELECT session_user")[0][0]


def test_openlineage_events_name_the_delta_tables(runs):
    events_file = runs["lake"] / "_lineage" / "openlineage.jsonl"
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    assert {e["eventType"] for e in events} >= {"START", "COMPLETE"}
    outputs = {o["name"] for e in events for o in e.get("outputs", [])}
    inputs = {i["name"] for e in events for i in e.get("inputs", [])}
    for table in ("bronze/raw_documents", "silver/documents", "silver/chunks"):
        assert str(runs["lake"] / table) in outputs
    assert str(runs["lake"] / "silver" / "documents") in inputs
    assert all(e["job"]["name"].startswith("text_pipeline") for e in events)


# A line this long is data, not a message: a user's driver log must not grow with the corpus.
MAX_LOG_LINE = 2000


def test_driver_log_holds_no_input_rows_and_no_false_errors(runs):
    """openlineage-spark logs every RDD of an RDD-based job it cannot name (the COPY staging
    write is one), with the listing's rows printed in full, and an ERROR for each Delta command
    that has no query execution; the lineage events are written all the same
    (test_openlineage_events_name_the_delta_tables). conf/log4j2.properties silences them."""
    for proc in (runs["first"], runs["second"]):
        lines = proc.stderr.splitlines()
        assert max(map(len, lines)) <= MAX_LOG_LINE
        assert not [line for line in lines if "RddDatasetInfoExtractor" in line]
        assert not [line for line in lines if re.search(r"\bERROR\b", line)]
        # The pipeline caches each frame once (no second persist of the deduplicated documents).
        assert not [line for line in lines if "Asked to cache already cached data" in line]


def test_lake_tables_are_zstd_compressed(runs):
    # conf/local.yaml's Parquet codec: snappy's compressor kept direct buffers as large as the
    # largest page for the whole run, and the driver's memory grew with the corpus.
    for table in ("bronze/raw_documents", "silver/documents", "silver/chunks"):
        codecs = set()
        for f in (runs["lake"] / table).glob("*.parquet"):
            meta = pq.ParquetFile(f).metadata  # a file of an empty partition has no row group
            codecs |= {meta.row_group(g).column(c).compression
                       for g in range(meta.num_row_groups) for c in range(meta.num_columns)}
        assert codecs == {"ZSTD"}, (table, codecs)
