"""Spark tests of ingest, document processing, chunking and the Delta MERGEs, on tiny inputs."""
from __future__ import annotations

import dataclasses
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakeprep import delta_io
from lakeprep.text import ingest, transforms
from lakeprep.text.chunking import count_tokens, get_encoding

PROSE = ("The harbour was quiet in the early morning, and the fishing boats rocked gently against "
         "the pier while gulls circled overhead looking for scraps from the night's catch. ") * 4


@pytest.fixture()
def corpus(tmp_path):
    root = tmp_path / "in"
    (root / "a" / "b").mkdir(parents=True)
    (root / "prose.txt").write_text(PROSE, encoding="utf-8")
    (root / "a" / "latin1.txt").write_bytes(("Le café était fermé. " * 20 + PROSE).encode("cp1252"))
    (root / "a" / "b" / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (root / "a" / "b" / "empty.txt").write_bytes(b"")
    (root / "a" / "short.txt").write_text("Too short to keep.", encoding="utf-8")
    # Spaces, "+" and "%" are spelled differently by Spark's listing and its scan: still one doc.
    (root / "a" / "odd name+1%.txt").write_text(PROSE, encoding="utf-8")
    (root / "ignored.csv").write_text("not,an,input\n", encoding="utf-8")
    lines = [json.dumps({"id": "r1", "text": PROSE}), "{not json", json.dumps({"id": "r2"}),
             "", json.dumps({"id": "r3", "text": PROSE + " Third."}),
             json.dumps({"id": "r3", "text": PROSE + " Third."}),   # identical re-export
             json.dumps({"id": "r4", "text": "one"}), json.dumps({"id": "r4", "text": "two"})]
    (root / "a" / "export.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": [PROSE, None]}), root / "rows.parquet")
    return root


def bronze(spark, corpus, settings):
    return ingest.read_inputs(spark, [corpus.as_uri()], settings.input)


def test_ingest_reads_every_input_once(spark, corpus, settings):
    df = bronze(spark, corpus, settings)
    rows = {(r.source_format, r.source_uri.rsplit("/", 1)[-1], r.record_key): r for r in df.collect()}
    formats = sorted(fmt for fmt, _, _ in rows)
    # 6 text files (csv ignored; the empty one included), 6 distinct jsonl docs (blank line is no record; r3 merged;
    # r4 twice with different text -> two docs), 2 parquet rows.
    assert formats.count("txt") == 6
    assert ("txt", "odd name+1%.txt", None) in rows
    assert rows[("txt", "empty.txt", None)].size_bytes == 0
    assert formats.count("jsonl") == 6
    assert formats.count("parquet") == 2
    assert df.select("doc_id").distinct().count() == df.count()
    r3 = [r for (fmt, _, key), r in rows.items() if key == "r3"]
    assert len(r3) == 1 and r3[0].duplicate_records == 2
    r4_keys = sorted(key for (_, _, key) in rows if key and key.startswith("r4"))
    assert len(r4_keys) == 2 and all("#" in k for k in r4_keys)
    missing = [r for (fmt, _, key), r in rows.items() if fmt == "parquet" and key == "p2"]
    assert missing[0].ingest_error == ingest.REASON_MISSING_TEXT


def test_doc_ids_are_deterministic(spark, corpus, settings):
    first = bronze(spark, corpus, settings).select("doc_id", "content_sha256")
    second = bronze(spark, corpus, settings).repartition(7).select("doc_id", "content_sha256")
    assertDataFrameEqual(first, second)


def test_oversized_input_is_quarantined_without_bytes(spark, corpus, settings):
    small = dataclasses.replace(settings.input, max_document_bytes=100)
    df = ingest.read_inputs(spark, [corpus.as_uri()], small)
    prose = df.filter(F.col("source_uri").endswith("/prose.txt")).first()
    assert prose.ingest_error == ingest.REASON_OVERSIZED and prose.content is None
    assert prose.size_bytes == len(PROSE.encode())


def test_text_only_inputs_skip_the_record_readers(spark, tmp_path, settings):
    # Without JSON Lines or Parquet files there is no record relation, so no empty scan and no
    # key-collision window (a shuffle) in the plan; with one .jsonl file both are there.
    (tmp_path / "a.txt").write_text(PROSE, encoding="utf-8")
    assert ingest.read_jsonl_files(spark, [tmp_path.as_uri()], settings.input) is None
    plan = ingest.read_inputs(spark, [tmp_path.as_uri()], settings.input)._jdf \
        .queryExecution().analyzed().toString()
    assert "Window" not in plan
    (tmp_path / "b.jsonl").write_text('{"id": "r1", "text": "hello"}\n', encoding="utf-8")
    both = ingest.read_inputs(spark, [tmp_path.as_uri()], settings.input)
    assert "Window" in both._jdf.queryExecution().analyzed().toString()
    assert sorted(r.source_format for r in both.collect()) == ["jsonl", "txt"]


def test_missing_input_fails_with_path(spark, tmp_path, settings):
    with pytest.raises(FileNotFoundError, match="nope"):
        ingest.read_inputs(spark, [(tmp_path / "nope").as_uri()], settings.input)


def test_documents_get_status_and_reason(spark, corpus, settings):
    docs = transforms.process_documents(bronze(spark, corpus, settings), settings)
    by_name = {}
    for r in docs.collect():
        by_name[(r.source_uri.rsplit("/", 1)[-1], r.record_key)] = r
    assert by_name[("prose.txt", None)].status == "accepted"
    latin = by_name[("latin1.txt", None)]
    assert latin.status == "accepted" and "café" in latin.text and latin.encoding != "utf-8"
    assert by_name[("binary.txt", None)].reject_reason == "binary_content"
    assert by_name[("empty.txt", None)].reject_reason == "empty_input"
    assert by_name[("short.txt", None)].reject_reason == "too_few_words"
    jsonl = {key: r for (name, key), r in by_name.items() if name == "export.jsonl"}
    assert jsonl["r1"].status == "accepted"
    assert jsonl["r2"].reject_reason == transforms.REASON_MISSING_TEXT
    malformed = [r for k, r in jsonl.items() if k.startswith("sha256:")]
    assert [r.reject_reason for r in malformed] == [transforms.REASON_MALFORMED_RECORD]
    assert by_name[("rows.parquet", "p2")].reject_reason == ingest.REASON_MISSING_TEXT
    for r in by_name.values():
        assert 0.0 <= r.quality_score <= 1.0
        assert (r.status == "rejected") == (r.reject_reason is not None)


def test_chunks_respect_limits_and_rules(spark, settings):
    long_doc = "\n\n".join([PROSE] * 30)
    art = "\n".join(["*** ### === *** ### === *** ### ===", "+-+-+-+-+-+-+-+-+-+-+-+-+-+-+"] * 60)
    pii = PROSE + " Write to jane.doe@example.com or call (415) 555-0132; card 4111 1111 1111 1111."
    docs = spark.createDataFrame(
        [("d1", "file:/d1", "h1", 0.9, long_doc, "accepted"),
         ("d2", "file:/d2", "h2", 0.7, PROSE + "\n\n" + art, "accepted"),
         ("d3", "file:/d3", "h3", 0.8, pii, "accepted"),
         ("d4", "file:/d4", "h4", 0.1, PROSE, "rejected")],
        "doc_id string, source_uri string, content_sha256 string, quality_score double, "
        "text string, status string")
    chunks = transforms.chunk_documents(docs, settings).collect()
    enc = get_encoding("cl100k_base")
    assert {c.doc_id for c in chunks} == {"d1", "d2", "d3"}  # rejected documents are not chunked
    d1 = sorted((c for c in chunks if c.doc_id == "d1"), key=lambda c: c.chunk_index)
    assert len(d1) > 1 and [c.chunk_index for c in d1] == list(range(len(d1)))
    for c in chunks:
        assert count_tokens(c.content, enc) == c.token_count <= 512
        assert (c.status == "rejected") == (c.non_alnum_ratio > 0.30)
    assert any(c.doc_id == "d2" and c.reject_reason == "non_alnum_ratio" for c in chunks)
    flagged = [c for c in chunks if c.doc_id == "d3"][0]
    assert flagged.pii_types == ["credit_card", "email", "phone"]
    assert json.loads(flagged.pii_counts) == {"credit_card": 1, "email": 1, "phone": 1}
    assert flagged.status == "accepted"  # flagging is not rejecting
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_upsert_is_idempotent_and_updates_changes(spark, tmp_path):
    path = str(tmp_path / "t")
    v1 = spark.createDataFrame([("a", "x", 1), ("b", "y", 2)], "id string, v string, n int")
    delta_io.upsert(spark, v1, path, "id", ["v"])
    delta_io.upsert(spark, v1, path, "id", ["v"])
    assertDataFrameEqual(spark.read.format("delta").load(path), v1)
    v2 = spark.createDataFrame([("a", "x", 9), ("b", "z", 3), ("c", "w", 4)],
                               "id string, v string, n int")
    delta_io.upsert(spark, v2, path, "id", ["v"])
    # "a" unchanged in the compared column: its old n stays; "b" changed; "c" new.
    expected = spark.createDataFrame([("a", "x", 1), ("b", "z", 3), ("c", "w", 4)],
                                     "id string, v string, n int")
    assertDataFrameEqual(spark.read.format("delta").load(path), expected)


def test_upsert_appends_into_an_empty_table_and_merges_afterwards(spark, tmp_path):
    path = str(tmp_path / "first")
    rows = spark.createDataFrame([("a", "x"), ("b", "y")], "id string, v string")
    assert delta_io.upsert(spark, rows, path, "id", ["v"]) is True
    assert delta_io.upsert(spark, rows, path, "id", ["v"]) is False
    ops = [r.operation for r in DeltaTable.forPath(spark, path).history()
           .orderBy("version").collect()]
    # CREATE TABLE (the enforced schema), the first load as a plain append, then a MERGE.
    assert ops == ["CREATE TABLE", "WRITE", "MERGE"], ops
    assertDataFrameEqual(spark.read.format("delta").load(path), rows)


def test_table_version_reads_the_log_and_agrees_with_the_history(spark, tmp_path, monkeypatch):
    path = str(tmp_path / "versions")
    rows = spark.createDataFrame([("a", "x")], "id string, v string")
    delta_io.upsert(spark, rows, path, "id", ["v"])
    assert delta_io.table_version(spark, path) == delta_io.table_version_from_history(spark, path) == 1
    delta_io.upsert(spark, spark.createDataFrame([("a", "z")], "id string, v string"), path,
                    "id", ["v"])
    # The latest commit, from Delta's log: the history query is not needed for it.
    monkeypatch.setattr(delta_io, "table_version_from_history",
                        lambda *a: (_ for _ in ()).throw(AssertionError("history queried")))
    assert delta_io.table_version(spark, path) == 2


def test_table_version_falls_back_to_the_history_without_the_log_shortcut(spark, tmp_path,
                                                                          monkeypatch):
    path = str(tmp_path / "fallback")
    delta_io.upsert(spark, spark.createDataFrame([("a", "x")], "id string, v string"), path,
                    "id", ["v"])

    class NoJvm:  # what a session without the JVM handle (Spark Connect) looks like here
        def __getattr__(self, name):
            if name == "_jvm":
                raise AttributeError(name)
            return getattr(spark, name)
    assert delta_io.table_version(NoJvm(), path) == 1


def test_delete_stale_children(spark, tmp_path):
    path = str(tmp_path / "chunks")
    old = spark.createDataFrame([("d1", "c1"), ("d1", "c2"), ("d1", "c3"), ("d2", "c9")],
                                "doc_id string, chunk_id string")
    delta_io.upsert(spark, old, path, "chunk_id", ["doc_id"])
    fresh = spark.createDataFrame([("d1", "c1")], "doc_id string, chunk_id string")
    parents = spark.createDataFrame([("d1",)], "doc_id string")
    delta_io.delete_stale_children(spark, path, fresh, "doc_id", "chunk_id", parents)
    remaining = {r.chunk_id for r in spark.read.format("delta").load(path).collect()}
    assert remaining == {"c1", "c9"}  # d2 was not in scope, so its chunk stays


def test_upsert_schema_evolution_only_when_asked(spark, tmp_path):
    path = str(tmp_path / "evolve")
    delta_io.upsert(spark, spark.createDataFrame([("a", "x")], "id string, v string"), path, "id", ["v"])
    wider = spark.createDataFrame([("a", "x", 1.5), ("b", "y", 2.5)], "id string, v string, w double")
    delta_io.upsert(spark, wider, path, "id", ["v"])
    # Without evolution the table keeps its schema (bronze's contract): the extra column is not added.
    assert spark.read.format("delta").load(path).columns == ["id", "v"]
    delta_io.upsert(spark, wider, path, "id", ["v", "w"], evolve_schema=True)
    got = {r.id: r.w for r in spark.read.format("delta").load(path).collect()}
    assert got == {"a": 1.5, "b": 2.5}


def test_modification_time_of_text_files_is_kept_exactly(spark, settings, tmp_path):
    """The listing travels to Spark as epoch microseconds: no time zone shift, no rounding
    (Hadoop's local filesystem keeps milliseconds)."""
    import os
    path = tmp_path / "dated.txt"
    path.write_text(PROSE, encoding="utf-8")
    millis = 1_614_834_367_123  # 2021-03-04T05:06:07.123Z
    os.utime(path, ns=(millis * 1_000_000, millis * 1_000_000))
    row = (ingest.read_inputs(spark, [tmp_path.as_uri()], settings.input)
           .select(F.unix_micros("modified_at").alias("us")).first())
    assert row["us"] == millis * 1000


def test_driver_keeps_no_stale_copies_of_the_input_listing(spark, settings, tmp_path):
    # Every reader of read_inputs lists the input tree; Spark's shared listing cache would keep
    # each reader's copy of every file's status for the rest of the run (conf/local.yaml).
    for i in range(3):
        (tmp_path / f"doc{i}.txt").write_text(PROSE)
    assert ingest.read_inputs(spark, [tmp_path.as_uri()], settings.input).count() == 3
    cache = spark._jvm.org.apache.spark.sql.execution.datasources.FileStatusCache.getOrCreate(
        spark._jsparkSession)
    assert cache.getClass().getSimpleName() == "NoopCache$"


def test_cached_frames_round_trip_through_kryo(spark):
    # conf/local.yaml: the jobs' data serializer is Kryo; a DISK_ONLY cached frame (as the
    # pipeline caches its stages) is written and read back through it intact.
    from pyspark import StorageLevel
    serializer = spark._jvm.org.apache.spark.SparkEnv.get().serializer()
    assert serializer.getClass().getSimpleName() == "KryoSerializer"
    df = spark.createDataFrame([(i, f"text {i}", bytes([i % 256]) * 3) for i in range(500)],
                               "id long, text string, raw binary").persist(StorageLevel.DISK_ONLY)
    try:
        assert df.count() == 500
        assert sorted(r["id"] for r in df.collect()) == list(range(500))
        assert df.filter("id = 7").first()["raw"] == b"\x07\x07\x07"
    finally:
        df.unpersist()
