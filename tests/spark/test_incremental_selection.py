"""Selection logic of incremental runs (lakeprep.text.incremental) on tiny DataFrames."""
from __future__ import annotations

from datetime import datetime

import pytest
from pyspark.sql import functions as F

from lakeprep.text import incremental as inc

RULES = "rules-v1"
T0 = datetime(2026, 1, 1, 12, 0, 0)


def ingested(spark, rows):
    return spark.createDataFrame(rows, "doc_id string, source_uri string, content_sha256 string")


def state(spark, rows):
    return spark.createDataFrame(
        [(d, u, h, r, "run-1", T0, deleted) for d, u, h, r, deleted in rows],
        inc.STATE_SCHEMA)


def changes(df):
    return {r["doc_id"]: (r["change"], r["process"]) for r in df.collect()}


def test_without_state_everything_is_new(spark):
    df = inc.classify(ingested(spark, [("a", "file:/in/a.txt", "h1")]), None, RULES, False)
    assert changes(df) == {"a": ("new", True)}


def test_new_changed_unchanged_by_content_hash(spark):
    now = ingested(spark, [("a", "file:/in/a.txt", "h1"), ("b", "file:/in/b.txt", "h2-new"),
                           ("c", "file:/in/c.txt", "h3")])
    before = state(spark, [("a", "file:/in/a.txt", "h1", RULES, None),
                           ("b", "file:/in/b.txt", "h2", RULES, None)])
    assert changes(inc.classify(now, before, RULES, False)) == {
        "a": ("unchanged", False), "b": ("changed", True), "c": ("new", True)}


def test_tombstoned_document_back_at_source_is_new(spark):
    now = ingested(spark, [("a", "file:/in/a.txt", "h1")])
    before = state(spark, [("a", "file:/in/a.txt", "h1", RULES, T0)])
    assert changes(inc.classify(now, before, RULES, False)) == {"a": ("new", True)}


def test_rules_change_full_refresh_and_requeue_reprocess_unchanged(spark):
    now = ingested(spark, [("a", "file:/in/a.txt", "h1"), ("b", "file:/in/b.txt", "h2")])
    before = state(spark, [("a", "file:/in/a.txt", "h1", "rules-v0", None),
                           ("b", "file:/in/b.txt", "h2", RULES, None)])
    assert changes(inc.classify(now, before, RULES, False)) == {
        "a": ("unchanged", True), "b": ("unchanged", False)}
    assert changes(inc.classify(now, before, RULES, True)) == {
        "a": ("unchanged", True), "b": ("unchanged", True)}
    requeue = spark.createDataFrame([("b",)], "doc_id string")
    assert changes(inc.classify(now, before, RULES, False, requeue))["b"] == ("unchanged", True)


def test_deleted_only_under_this_runs_inputs(spark):
    now = ingested(spark, [("a", "file:/in/a.txt", "h1")])
    before = state(spark, [
        ("a", "file:/in/a.txt", "h1", RULES, None),
        ("gone", "file:/in/sub/gone.txt", "h2", RULES, None),
        # Another input whose path merely starts with the same characters.
        ("other", "file:/in2/x.txt", "h3", RULES, None),
        ("old", "file:/in/old.txt", "h4", RULES, T0),  # already tombstoned
    ])
    deleted = inc.deleted_at_source(before, now, ["file:/in"])
    assert [r["doc_id"] for r in deleted.collect()] == ["gone"]
    # A single-file input only covers that file.
    deleted = inc.deleted_at_source(before, now, ["file:/in/sub/gone.txt"])
    assert [r["doc_id"] for r in deleted.collect()] == ["gone"]
    assert inc.deleted_at_source(before, now, ["file:/elsewhere"]).count() == 0


def test_counts(spark):
    now = ingested(spark, [("a", "u/a", "h1"), ("b", "u/b", "h2x"), ("c", "u/c", "h3")])
    before = state(spark, [("a", "u/a", "h1", RULES, None), ("b", "u/b", "h2", RULES, None),
                           ("d", "u/d", "h4", RULES, None)])
    classified = inc.classify(now, before, RULES, False)
    deleted = inc.deleted_at_source(before, now, ["u"])
    assert inc.counts(classified, deleted) == {
        "new": 1, "changed": 1, "unchanged": 1, "processed": 2, "deleted_at_source": 1,
        "reprocessed_unchanged": 0}


def silver(spark, rows):
    return spark.createDataFrame(
        rows, "doc_id string, status string, reject_reason string, content_hash string, "
              "duplicate_of string, rules_version string, failed_rules array<string>, "
              "deleted_at timestamp")


def test_duplicates_of_changed_or_deleted_documents_are_requeued(spark):
    before = state(spark, [("k", "u/k", "h1", RULES, None), ("d1", "u/d1", "h1", RULES, None),
                           ("k2", "u/k2", "h2", RULES, None), ("d2", "u/d2", "h2", RULES, None),
                           ("k3", "u/k3", "h3", RULES, None), ("d3", "u/d3", "h3", RULES, None)])
    docs = silver(spark, [
        ("k", "accepted", None, "c1", None, RULES, [], None),
        ("d1", "rejected", "exact_duplicate", "c1", "k", RULES, ["exact_duplicate"], None),
        ("k2", "accepted", None, "c2", None, RULES, [], None),
        ("d2", "rejected", "near_duplicate", "c2x", "k2", RULES, ["near_duplicate"], None),
        ("k3", "accepted", None, "c3", None, RULES, [], None),
        ("d3", "rejected", "exact_duplicate", "c3", "k3", RULES, ["exact_duplicate"], None),
    ])
    # k changed, k2 deleted, k3 unchanged.
    now = ingested(spark, [("k", "u/k", "h1-edited"), ("d1", "u/d1", "h1"), ("d2", "u/d2", "h2"),
                           ("k3", "u/k3", "h3"), ("d3", "u/d3", "h3")])
    deleted = inc.deleted_at_source(before, now, ["u"])
    requeue = inc.duplicates_to_requeue(docs, before, now, deleted)
    assert sorted(r["doc_id"] for r in requeue.collect()) == ["d1", "d2"]


def test_existing_kept_copy_wins_over_a_new_exact_duplicate(spark):
    existing = silver(spark, [
        ("old", "accepted", None, "c1", None, RULES, [], None),
        ("old-deleted", "accepted", None, "c2", None, RULES, [], T0),
        ("old-rules", "accepted", None, "c3", None, "rules-v0", [], None),
        ("old-gone", "accepted", None, "c4", None, RULES, [], None),  # deleted by this run
    ])
    processed = silver(spark, [
        ("new1", "accepted", None, "c1", None, RULES, [], None),
        ("new2", "accepted", None, "c2", None, RULES, [], None),
        ("new3", "accepted", None, "c3", None, RULES, [], None),
        ("new4", "rejected", "too_few_words", "c1", None, RULES, ["too_few_words"], None),
        ("new5", "accepted", None, "c4", None, RULES, [], None),
        # Reprocessed in this run: it cannot be its own kept copy.
        ("old", "accepted", None, "c1", None, RULES, [], None),
    ]).filter(F.col("doc_id") != "old")
    gone = spark.createDataFrame([("old-gone",)], "doc_id string")
    out = {r["doc_id"]: r
           for r in inc.dedup_against_kept(processed, existing, RULES, gone).collect()}
    assert (out["new1"]["status"], out["new1"]["reject_reason"], out["new1"]["duplicate_of"]) == \
        ("rejected", "exact_duplicate", "old")
    assert out["new1"]["failed_rules"] == ["exact_duplicate"]
    # A deleted document (before or in this run) or one processed under other rules is no
    # kept copy.
    assert out["new2"]["status"] == "accepted" and out["new3"]["status"] == "accepted"
    assert out["new5"]["status"] == "accepted"
    # A document rejected for its own reason keeps that reason.
    assert out["new4"]["reject_reason"] == "too_few_words"


def test_state_write_is_a_merge(spark, tmp_path):
    path = str(tmp_path / "state")
    processed = spark.createDataFrame([("a", "u/a", "h1"), ("b", "u/b", "h2")],
                                      "doc_id string, source_uri string, content_sha256 string")
    inc.write_state(spark, path, processed, None, RULES, "run-1")
    deleted = spark.createDataFrame([("b", "u/b", "h2", RULES)],
                                    "doc_id string, source_uri string, content_sha256 string, "
                                    "rules_version string")
    inc.write_state(spark, path, processed.filter("doc_id = 'a'"), deleted, RULES, "run-2")
    rows = {r["doc_id"]: r for r in inc.read_table(spark, path).collect()}
    assert rows["a"]["run_id"] == "run-2" and rows["a"]["deleted_at"] is None
    assert rows["b"]["run_id"] == "run-2" and rows["b"]["deleted_at"] is not None
    assert len(rows) == 2


@pytest.mark.parametrize("uri,expected", [
    ("s3a://bucket/raw", True), ("s3a://bucket/raw/x.txt", True),
    ("s3a://bucket/raw2/x.txt", False), ("s3a://bucket/ra", False)])
def test_under_inputs_is_path_segment_aware(spark, uri, expected):
    df = spark.createDataFrame([(uri,)], "u string")
    assert df.select(inc.under_inputs(F.col("u"), ["s3a://bucket/raw/"])).first()[0] is expected


def test_deletion_guard_thresholds(spark):
    state = spark.createDataFrame(
        [(f"d{i}", f"file:/in/{i}.txt", None) for i in range(10)]
        + [("o1", "file:/other/1.txt", None), ("x1", "file:/in/gone.txt", "2026-01-01")],
        "doc_id string, source_uri string, deleted_at string")
    guard = dict(input_uris=["file:/in"], max_fraction=0.5, min_documents=3)
    inc.check_deletions(state, 5, allow=False, **guard)       # half: not more than half
    inc.check_deletions(state, 2, allow=False, **guard)       # below min_documents
    inc.check_deletions(state, 9, allow=True, **guard)        # --allow-mass-delete
    inc.check_deletions(None, 9, allow=False, **guard)        # first run: nothing to lose
    # 6 of the 10 live documents under file:/in (the other input and the tombstone don't count)
    with pytest.raises(inc.MassDeletion, match="6 of the 10 documents"):
        inc.check_deletions(state, 6, allow=False, **guard)
