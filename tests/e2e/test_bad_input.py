"""Bad input, end to end: a torture corpus generated here (never committed) goes through the real
pipeline (Spark, Delta, a real PostgreSQL) in one run, and every case must come out as a row with
a named reason, never a crash, never a missing input.

Cases: binary files named .txt (PNG, ELF, zip), invalid UTF-8, Latin-1 / Windows-1252 / UTF-16
text, an empty and a whitespace-only file, a 200 MB single-line file, NUL bytes, a FIFO, a
dangling symlink, a directory symlink loop, a 200-level deep tree, 20,000 tiny files, malformed
JSONL lines (bad JSON, non-object, missing text, non-string text, a line over the size limit),
malformed Parquet (corrupt file, text column of the wrong type, null text) and a 4 MB document
that becomes thousands of chunks.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import random
from pathlib import Path

import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from lakeprep.db.connection import resolve_target
from lakeprep.text import ingest
from lakeprep.text.pipeline import LakeLayout, run_text_pipeline, to_uri

TINY_FILES = 20_000
DEEP_LEVELS = 200
HUGE_BYTES = 200 * 1024 * 1024
# About 2.5 bytes per token in this prose: 4 MB is ~1,650 chunks of <= 512 tokens.
BIG_DOC_BYTES = 4 * 1024 * 1024
# ELOOP: the kernel stops resolving after 40 nested symlinks, so Hadoop lists a loop 41 times.
LOOP_COPIES = 41

WORDS = ("river mountain village harbour morning evening winter summer teacher student garden "
         "kitchen window market bridge station forest meadow lantern journey letter story "
         "doctor farmer painter sailor engine bicycle library museum theatre orchestra "
         "question answer problem reason method history science language picture memory "
         "careful quiet bright heavy gentle narrow ancient modern simple curious patient "
         "walked carried noticed repaired described wondered gathered followed remembered "
         "explained borrowed painted visited watched opened closed crossed climbed").split()
STOP = "the of and to that with have be".split()


def prose(n_bytes: int, seed: int) -> str:
    """Varied English-like prose: no repeated lines or paragraphs, so it passes every rule."""
    rng = random.Random(seed)
    paragraphs, size = [], 0
    while size < n_bytes:
        sentences = []
        for _ in range(rng.randint(3, 6)):
            words = [rng.choice(WORDS if rng.random() < 0.7 else STOP)
                     for _ in range(rng.randint(8, 18))]
            words += [str(rng.randint(0, 10**6))]  # makes every sentence unique
            sentences.append(" ".join(words).capitalize() + ".")
        paragraphs.append(" ".join(sentences))
        size += len(paragraphs[-1]) + 2
    return "\n\n".join(paragraphs)


PROSE = prose(3000, 1)
LATIN = "Le café était fermé, mais l'élève attendait près de la fenêtre. "


def write_corpus(root: Path) -> dict[str, Path]:
    """The torture corpus; returns the path of each named case."""
    cases: dict[str, Path] = {}

    def put(name: str, data: bytes, sub: str = "") -> Path:
        path = root / sub / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        cases[name] = path
        return path

    put("good.txt", PROSE.encode())
    put("png.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    put("elf.txt", b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 8)
    put("zip.txt", b"PK\x03\x04" + b"compressed stream" * 50)
    rng = random.Random(7)
    put("invalid_utf8.txt", bytes(rng.randrange(128, 256) for _ in range(4000)))
    # Each with its own prose: copies of one text would be rejected as duplicates.
    put("latin1.txt", (LATIN + prose(3000, 11)).encode("latin-1"))
    put("cp1252.txt", ("\u201cQuoted\u201d \u2013 " + LATIN + prose(3000, 12)).encode("cp1252"))
    put("utf16_bom.txt", ("Grüße aus Köln. " + prose(3000, 13)).encode("utf-16"))
    put("utf16_nobom.txt", prose(3000, 14).encode("utf-16-le"))
    put("empty.txt", b"")
    put("whitespace.txt", b"   \n\t\r\n   \n")
    put("nul.txt", ("Some prose with NUL bytes.\x00" * 200).encode())
    # 200 MB on one line: written in blocks so the test itself stays small in memory.
    huge = root / "huge.txt"
    block = (" ".join(WORDS) + " ").encode() * 2000
    with huge.open("wb") as fh:
        written = 0
        while written < HUGE_BYTES:
            fh.write(block[:HUGE_BYTES - written])
            written += min(len(block), HUGE_BYTES - written)
    cases["huge.txt"] = huge
    # Opening a FIFO would block forever: it is listed with length 0 and never opened.
    os.mkfifo(root / "pipe.txt")
    cases["pipe.txt"] = root / "pipe.txt"
    # A symlink whose target is gone: Hadoop's listing silently leaves it out.
    os.symlink(root / "no-such-target.txt", root / "dangling.txt")
    cases["dangling.txt"] = root / "dangling.txt"
    # A directory symlink to its own parent: listed 41 times by a following walk.
    put("looped.txt", prose(2000, 2).encode(), "loop")
    (root / "loop" / "sub").mkdir()
    os.symlink("..", root / "loop" / "sub" / "up")
    deep = root.joinpath("deep", *["d"] * DEEP_LEVELS)
    put("deep.txt", prose(2000, 3).encode(), str(deep.relative_to(root)))
    tiny = root / "tiny"
    tiny.mkdir()
    for i in range(TINY_FILES):
        (tiny / f"{i:05d}.txt").write_bytes(b"tiny file %d" % i)
    put("big.txt", prose(BIG_DOC_BYTES, 4).encode())

    big_line = json.dumps({"id": "huge", "text": "x " * 10_500_000})
    jsonl = [json.dumps({"id": "ok", "text": prose(2000, 5)}), "{not json", "[1, 2, 3]",
             json.dumps({"id": "no_text", "title": "x"}), json.dumps({"id": "int", "text": 5}),
             big_line, ""]
    put("records.jsonl", "\n".join(jsonl).encode())
    put("corrupt.parquet", b"PAR1" + b"\x00garbage" * 100 + b"PAR1")
    (root / "exports").mkdir()
    pq.write_table(pa.table({"id": ["w1", "w2"], "text": [1, 2]}),
                   root / "exports" / "wrong_type.parquet")
    pq.write_table(pa.table({"id": ["n1", "n2"], "text": [prose(2000, 6), None]}),
                   root / "exports" / "null_text.parquet")
    return cases


def expected_documents() -> int:
    txt = (13  # good, png, elf, zip, invalid, latin1, cp1252, utf16 x2, empty, whitespace, nul, huge
           + 2  # pipe, dangling
           + LOOP_COPIES + 1 + TINY_FILES + 1)  # looped (+ copies), deep, tiny, big
    jsonl = 6  # the blank line is not a record
    parquet = 1 + 2 + 2  # corrupt file, wrong type rows, null-text file rows
    return txt + jsonl + parquet


@pytest.fixture(scope="module")
def pg(pg_database):
    return pg_database("e2e_bad_input")


def _jvm_peak_rss_mb(spark) -> float:
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


# Sentinel credentials the run carries (as a user's environment would): they must not show up in
# anything the run produces. Checked on the torture run so that no extra pipeline run is needed.
SENTINEL_PG = "torture-pg-sentinel-5e1b"
SENTINEL_AWS = "torture-aws-sentinel-8c2d"


@pytest.fixture(scope="module")
def run(spark, settings, pg, tmp_path_factory):
    root = tmp_path_factory.mktemp("torture") / "in"
    root.mkdir()
    cases = write_corpus(root)
    lake = tmp_path_factory.mktemp("lake")
    env = {"PGHOST": pg.host, "PGPORT": str(pg.port), "PGDATABASE": pg.database,
           "PGUSER": pg.user, "PGPASSWORD": SENTINEL_PG,
           "AWS_ACCESS_KEY_ID": "torture-key-id", "AWS_SECRET_ACCESS_KEY": SENTINEL_AWS}
    logs, printed = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setLevel(logging.DEBUG)
    root_logger, pkg_logger = logging.getLogger(), logging.getLogger("lakeprep")
    levels = root_logger.level, pkg_logger.level
    root_logger.addHandler(handler)
    root_logger.setLevel(logging.INFO)
    pkg_logger.setLevel(logging.DEBUG)
    try:
        with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(printed), \
                contextlib.redirect_stdout(printed):
            for key, value in env.items():
                mp.setenv(key, value)
            # Resolved the way the job does it, so the password travels the real path.
            target = resolve_target(settings.postgres)
            assert target.password == SENTINEL_PG
            report = run_text_pipeline(spark, settings, [str(root)], str(lake), target)
    finally:
        root_logger.removeHandler(handler)
        root_logger.setLevel(levels[0])
        pkg_logger.setLevel(levels[1])
    print(f"driver JVM peak RSS after the torture run: {_jvm_peak_rss_mb(spark):.0f} MB")
    conn = psycopg2.connect(**pg.params())
    conn.autocommit = True
    yield {"root": root, "cases": cases, "report": report, "conn": conn,
           "layout": LakeLayout(to_uri(str(lake))), "logs": logs.getvalue(),
           "printed": printed.getvalue()}
    conn.close()


def rows_for(run, name: str) -> list[tuple]:
    uri = "file:" + str(run["cases"][name])
    with run["conn"].cursor() as cur:
        cur.execute("SELECT status, reject_reason, encoding FROM documents WHERE source_uri = %s "
                    "ORDER BY record_key", (uri,))
        return cur.fetchall()


def one_row(run, name: str) -> tuple:
    rows = rows_for(run, name)
    assert len(rows) == 1, (name, rows)
    return rows[0]


@pytest.mark.parametrize("name, reason", [
    ("png.txt", "binary_content"),
    ("elf.txt", "binary_content"),
    ("zip.txt", "binary_content"),
    ("nul.txt", "binary_content"),
    ("invalid_utf8.txt", "undecodable"),
    ("empty.txt", "empty_input"),
    ("whitespace.txt", "empty_after_cleaning"),
    ("huge.txt", "oversized_input"),
    ("pipe.txt", "empty_input"),
    ("dangling.txt", "unreadable_input"),
    ("corrupt.parquet", "corrupt_input"),
])
def test_each_bad_file_is_rejected_with_its_reason(run, name, reason):
    status, got, _ = one_row(run, name)
    assert (status, got) == ("rejected", reason)


@pytest.mark.parametrize("name, encoding", [
    ("latin1.txt", "latin-1"), ("cp1252.txt", "cp1252"), ("utf16_bom.txt", "utf-16-le"),
    ("utf16_nobom.txt", "utf-16-le"), ("good.txt", "utf-8")])
def test_other_encodings_are_decoded_and_recorded(run, name, encoding):
    assert one_row(run, name) == ("accepted", None, encoding)


def test_deep_tree_is_read(run):
    assert one_row(run, "deep.txt")[:2] == ("accepted", None)


def test_symlink_loop_is_read_once_and_the_copies_quarantined(run):
    real = "file:" + str(run["cases"]["looped.txt"])
    with run["conn"].cursor() as cur:
        cur.execute("SELECT source_uri, status, reject_reason FROM documents "
                    "WHERE source_uri LIKE %s", (real.rsplit("/", 1)[0] + "/%looped.txt",))
        rows = cur.fetchall()
    assert len(rows) == LOOP_COPIES
    assert [(s, r) for u, s, r in rows if u == real] == [("accepted", None)]
    assert {(s, r) for u, s, r in rows if u != real} == {("rejected", "symlink_loop")}


def test_tiny_files_are_all_accounted_for(run):
    with run["conn"].cursor() as cur:
        cur.execute("SELECT reject_reason, count(*) FROM documents WHERE source_uri LIKE %s "
                    "GROUP BY 1", ("file:" + str(run["root"] / "tiny") + "/%",))
        assert cur.fetchall() == [("too_few_words", TINY_FILES)]


def test_malformed_jsonl_lines_each_have_a_reason(run):
    with run["conn"].cursor() as cur:
        cur.execute("SELECT record_key, status, reject_reason FROM documents "
                    "WHERE source_format = 'jsonl'")
        got = {key: (status, reason) for key, status, reason in cur.fetchall()}
    assert got.pop("ok") == ("accepted", None)
    assert got.pop("no_text") == ("rejected", "missing_text")
    assert got.pop("int") == ("rejected", "missing_text")
    assert got.pop("huge") == ("rejected", "oversized_input")
    # Without an id the record's hash is its key: the bad JSON and the array.
    assert sorted(got.values()) == [("rejected", "malformed_record")] * 2


def test_malformed_parquet_rows_each_have_a_reason(run):
    with run["conn"].cursor() as cur:
        cur.execute("SELECT record_key, status, reject_reason FROM documents "
                    "WHERE source_format = 'parquet' AND record_key IS NOT NULL")
        got = dict((k, (s, r)) for k, s, r in cur.fetchall())
    assert got == {"w1": ("rejected", "missing_text"), "w2": ("rejected", "missing_text"),
                   "n1": ("accepted", None), "n2": ("rejected", "missing_text")}


def test_a_document_of_thousands_of_chunks(run):
    with run["conn"].cursor() as cur:
        cur.execute("SELECT d.status, count(c.*), max(c.token_count) FROM documents d "
                    "JOIN chunks c USING (doc_id) WHERE d.source_uri = %s GROUP BY 1",
                    ("file:" + str(run["cases"]["big.txt"]),))
        [(status, n_chunks, max_tokens)] = cur.fetchall()
    print(f"4 MB document: {n_chunks} chunks, stage seconds {run['report']['stage_seconds']}")
    assert status == "accepted" and n_chunks >= 1500 and max_tokens <= 512


def test_every_input_is_accounted_for_in_postgres_delta_and_report(run, spark):
    expected = expected_documents()
    with run["conn"].cursor() as cur:
        cur.execute("SELECT count(*), count(*) FILTER (WHERE status = 'accepted'), "
                    "count(*) FILTER (WHERE status = 'rejected' AND reject_reason IS NOT NULL) "
                    "FROM documents")
        total, accepted, rejected = cur.fetchone()
        cur.execute("SELECT status, documents_in FROM pipeline_runs")
        assert cur.fetchall() == [("succeeded", expected)]
    assert total == accepted + rejected == expected
    silver = spark.read.format("delta").load(run["layout"].silver_documents)
    assert silver.count() == expected
    assert silver.filter((F.col("status") == "rejected") & F.col("reject_reason").isNull()) \
        .count() == 0
    docs = run["report"]["documents"]
    assert docs["documents"] == docs["accepted"] + docs["rejected"] == expected
    assert docs["accepted"] == accepted
    by_reason = docs["rejected_by_reason"]
    for reason in ("unreadable_input", "symlink_loop", "corrupt_input", "oversized_input"):
        assert by_reason[reason] >= 1, reason


def test_oversized_rows_keep_no_bytes_in_bronze(run, spark):
    bronze = spark.read.format("delta").load(run["layout"].bronze_documents)
    huge = bronze.filter(F.col("source_uri") == "file:" + str(run["cases"]["huge.txt"])).first()
    assert huge.ingest_error == "oversized_input" and huge.content is None
    assert huge.size_bytes == HUGE_BYTES


def test_no_secret_reaches_logs_reports_runs_or_spark_conf(run, spark):
    assert "stage ingest" in run["logs"], "the log capture must have seen the run"
    places = {"logs": run["logs"], "stdout/stderr": run["printed"]}
    report_dir = Path(run["report"]["report_uri"].removeprefix("file:")).parent
    for path in report_dir.rglob("*"):
        if path.is_file():
            places[f"report {path.name}"] = path.read_bytes().decode("utf-8", "replace")
    with run["conn"].cursor() as cur:
        cur.execute("SELECT row_to_json(r)::text FROM pipeline_runs r")
        places["pipeline_runs"] = "\n".join(r for (r,) in cur.fetchall())
    places["spark conf"] = repr(spark.sparkContext.getConf().getAll())
    places["hadoop conf"] = str(spark.sparkContext._jsc.hadoopConfiguration().getValByRegex(".*"))
    assert len(places) >= 7
    for where, text in places.items():
        for secret in (SENTINEL_PG, SENTINEL_AWS):
            assert secret not in text, f"secret found in {where}"


# --- ingest-level cases that need a moment between listing and reading ---------------------------

def test_file_deleted_between_listing_and_reading_is_unreadable(spark, settings, tmp_path):
    (tmp_path / "stays.txt").write_text(PROSE)
    gone = tmp_path / "goes.txt"
    gone.write_text(PROSE)
    df = ingest.read_inputs(spark, [tmp_path.as_uri()], settings.input)  # lists the files
    gone.unlink()
    rows = {r.source_uri.rsplit("/", 1)[-1]: r for r in df.collect()}  # reads them
    assert rows["goes.txt"].ingest_error == ingest.REASON_UNREADABLE
    assert rows["goes.txt"].content is None
    assert rows["stays.txt"].ingest_error is None and rows["stays.txt"].content


def test_oversized_files_are_never_opened(spark, settings, tmp_path):
    """binaryFile opens a file only to fill ``content`` and applies pushed-down ``length``
    filters before opening it: the content scan must carry the size limit as a pushed filter,
    which keeps a 200 MB (or 3 GB) file out of every JVM and Python process."""
    (tmp_path / "a.txt").write_text(PROSE)
    df = ingest.read_text_files(spark, [tmp_path.as_uri()], settings.input)
    plan = df._jdf.queryExecution().executedPlan().toString()
    assert f"LessThanOrEqual(length,{settings.input.max_document_bytes})" in plan, plan
