"""The run report's numbers from Spark aggregations, on hand-made documents and chunks."""
from __future__ import annotations

import json

from pyspark.sql import types as T

from lakeprep.text import report as rpt

DOCS = T.StructType([
    T.StructField("doc_id", T.StringType()), T.StructField("status", T.StringType()),
    T.StructField("reject_reason", T.StringType()), T.StructField("source_format", T.StringType()),
    T.StructField("encoding", T.StringType()), T.StructField("language", T.StringType()),
    T.StructField("warnings", T.ArrayType(T.StringType())),
    T.StructField("boilerplate_removed", T.StringType()),
    T.StructField("quality_score", T.DoubleType()), T.StructField("size_bytes", T.LongType()),
    T.StructField("duplicate_records", T.IntegerType()),
])
CHUNKS = T.StructType([
    T.StructField("chunk_id", T.StringType()), T.StructField("status", T.StringType()),
    T.StructField("reject_reason", T.StringType()), T.StructField("token_count", T.IntegerType()),
    T.StructField("pii_types", T.ArrayType(T.StringType())),
])


def _docs(spark):
    bp = json.dumps
    return spark.createDataFrame([
        ("d1", "accepted", None, "txt", "utf-8", "en", ["short_lines"],
         bp({"nav": 2, "html_tags": 5}), 0.81, 1000, 1),
        ("d2", "accepted", None, "jsonl", "utf-8", "en", [], bp({}), 0.93, 2000, 3),
        ("d3", "rejected", "too_short", "txt", "latin-1", "de", [], bp({"nav": 1}), 0.12, 30, 1),
        ("d4", "rejected", "exact_duplicate", "txt", "utf-8", "en", ["short_lines"], bp({}),
         0.81, 1000, 1),
        ("d5", "rejected", "too_short", "parquet", None, None, [], bp({}), 0.0, 0, 1),
        ("d6", "rejected", "binary_content", "txt", None, None, [], bp({}), 0.0, 500, 1),
    ], DOCS)


def _chunks(spark):
    return spark.createDataFrame([
        ("c1", "accepted", None, 512, ["email"]),
        ("c2", "accepted", None, 100, ["email", "phone"]),
        ("c3", "accepted", None, 40, []),
        ("c4", "rejected", "symbol_heavy", 20, ["email"]),
        ("c5", "rejected", "symbol_heavy", 8, []),
    ], CHUNKS)


def test_report_counts_breakdowns_and_histograms(spark):
    report = rpt.build_report(_docs(spark), _chunks(spark), {"run_id": "r"})
    d, c = report["documents"], report["chunks"]
    assert report["run_id"] == "r"
    assert (d["documents"], d["accepted"], d["rejected"]) == (6, 2, 4)
    assert (d["input_records"], d["duplicate_records_merged"]) == (8, 2)
    assert d["input_bytes"] == 4530
    assert d["mean_quality_score_accepted"] == 0.87
    # Most frequent first, ties by name.
    assert list(d["rejected_by_reason"].items()) == [
        ("too_short", 2), ("binary_content", 1), ("exact_duplicate", 1)]
    assert d["duplicates"] == {"exact_duplicate": 1}
    assert list(d["by_source_format"].items()) == [("txt", 4), ("jsonl", 1), ("parquet", 1)]
    assert d["encodings"] == {"utf-8": 3, "latin-1": 1}
    assert d["languages"] == {"en": 3, "de": 1}
    # Warnings of accepted documents only (d4 is rejected).
    assert d["accepted_with_warnings_by_reason"] == {"short_lines": 1}
    assert d["boilerplate_lines_removed"] == {"html_tags": 5, "nav": 3}
    assert (c["chunks"], c["accepted"], c["rejected"], c["filtered_percent"]) == (5, 3, 2, 40.0)
    assert c["rejected_by_reason"] == {"symbol_heavy": 2}
    assert c["token_count"] == {"total": 652, "mean": 217.3, "median": 100, "p95": 512,
                                "max": 512}
    # PII of accepted chunks only.
    assert c["pii_chunks_by_type"] == {"email": 2, "phone": 1}
    quality = report["histograms"]["quality_score"]["by_status"]
    assert quality == {"accepted": {0.8: 1, 0.9: 1}, "rejected": {0.1: 1, 0.8: 1, 0.0: 2}}
    assert report["histograms"]["token_count"]["counts"] == {512.0: 1, 96.0: 1, 32.0: 1}


def test_report_of_an_empty_run(spark):
    report = rpt.build_report(_docs(spark).limit(0), _chunks(spark).limit(0), {})
    assert report["documents"]["documents"] == 0
    assert report["documents"]["mean_quality_score_accepted"] == 0.0
    assert report["chunks"]["filtered_percent"] == 0.0
    assert report["histograms"]["quality_score"]["by_status"] == {}
    assert report["chunks"]["token_count"]["max"] == 0

