"""Spark tests of exact and near-duplicate dedup on a small planted corpus.

The corpus is built once per module and deduplicated once per partitioning (1, 3, 8): every
planted-case test reads the same result, which keeps the file fast.
"""
from __future__ import annotations

import dataclasses
import random
from datetime import datetime

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakeprep.text import dedup

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "da", "gu", "fe", "hi"]
SCHEMA = ("doc_id string, source_uri string, record_key string, modified_at timestamp, "
          "status string, reject_reason string, failed_rules array<string>, text string")


def make_words(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(n)]


def edit(words: list[str], n: int, seed: int) -> list[str]:
    out = list(words)
    for i in random.Random(seed).sample(range(len(words)), n):
        out[i] = "edited" + out[i]
    return out


def sim(a: str, b: str, cfg) -> float:
    mh = cfg.minhash
    return dedup.estimate_jaccard(dedup.minhash_signature(a, mh.num_perm, mh.seed, mh.ngram),
                                  dedup.minhash_signature(b, mh.num_perm, mh.seed, mh.ngram))


def d(year: int | None):
    return None if year is None else datetime(year, 1, 1)


EXACT = " ".join(make_words(300, 1))
NEAR = make_words(400, 2)
CHAIN = make_words(460, 3)
CHAIN_A, CHAIN_B, CHAIN_C = (" ".join(CHAIN[s:s + 400]) for s in (0, 30, 60))
PUNCT = make_words(300, 4)
TIE = " ".join(make_words(300, 12))
# Share LSH buckets but are only ~0.6 similar: a candidate pair that verification must drop.
_V = make_words(500, 20)
VERIFY_A, VERIFY_B = " ".join(_V[:400]), " ".join(_V[100:500])


def planted_rows():
    near_text = " ".join(NEAR)
    near_edit = " ".join(edit(NEAR, 3, 5))
    rows = [
        # Exact group: e2 is the oldest accepted copy; e0 is older but rejected (never kept);
        # e3 has no modified_at (sorts last); e1 differs only in case and line breaks.
        ("e0", "f/e0", None, d(2018), "rejected", "too_few_words", ["too_few_words"], EXACT),
        ("e1", "f/e1", None, d(2022), "accepted", None, [], EXACT.upper().replace(" ", "\n", 7)),
        ("e2", "f/e2", None, d(2020), "accepted", None, [], EXACT),
        ("e3", "f/e3", None, None, "accepted", None, [], "  " + EXACT + "  "),
        # Tie on modified_at: source_uri decides ("a/..." before "b/...").
        ("t1", "b/t", None, d(2021), "accepted", None, [], TIE),
        ("t2", "a/t", None, d(2021), "accepted", None, [], TIE),
        # Near group: n2 has 3 of 400 words changed; n3 is an exact copy of n2.
        ("n1", "f/n1", None, d(2019), "accepted", None, [], near_text),
        ("n2", "f/n2", None, d(2020), "accepted", None, [], near_edit),
        ("n3", "f/n3", None, d(2021), "accepted", None, [], near_edit),
        # Chain: windows of one word stream shifted by 30 words; A and C only meet through B.
        ("c1", "f/c1", None, d(2019), "accepted", None, [], CHAIN_A),
        ("c2", "f/c2", None, d(2020), "accepted", None, [], CHAIN_B),
        ("c3", "f/c3", None, d(2021), "accepted", None, [], CHAIN_C),
        # Punctuation-only difference: not exact (punctuation kept), near with similarity 1.
        # p2 is older: the cluster keeps the first-seen member, not the smallest doc_id.
        ("p1", "f/p1", None, d(2021), "accepted", None, [], " ".join(PUNCT)),
        ("p2", "f/p2", None, d(2020), "accepted", None, [], ", ".join(PUNCT) + "."),
        # Short documents (< 5 words): one shingle of all words.
        ("s1", "f/s1", None, d(2019), "accepted", None, [], "tiny doc here"),
        ("s2", "f/s2", None, d(2020), "accepted", None, [], "Tiny doc, here!"),
        ("s3", "f/s3", None, d(2020), "accepted", None, [], "tiny doc there"),
        ("v1", "f/v1", None, d(2019), "accepted", None, [], VERIFY_A),
        ("v2", "f/v2", None, d(2020), "accepted", None, [], VERIFY_B),
        # Unrelated documents, a rejected near copy and a document without text.
        ("u1", "f/u1", None, d(2019), "accepted", None, [], " ".join(make_words(300, 10))),
        ("u2", "f/u2", "r7", d(2019), "accepted", None, [], " ".join(make_words(300, 11))),
        ("r1", "f/r1", None, d(2000), "rejected", "high_symbol_word_ratio",
         ["high_symbol_word_ratio"], near_text),
        ("x1", "f/x1", None, None, "rejected", "undecodable", ["undecodable"], None),
    ]
    return rows


@pytest.fixture(scope="module")
def planted(spark):
    return spark.createDataFrame(planted_rows(), SCHEMA)


@pytest.fixture(scope="module")
def results(spark, planted, settings):
    """deduplicate() of the planted corpus repartitioned to 1, 3 and 8 partitions, and with the
    clusters computed by label propagation instead of the single task ("propagation")."""
    out = {n: dedup.deduplicate(planted.repartition(n), settings.dedup) for n in (1, 3, 8)}
    propagate = dataclasses.replace(
        settings.dedup, minhash=dataclasses.replace(settings.dedup.minhash, single_task_max_edges=0))
    out["propagation"] = dedup.deduplicate(planted.repartition(3), propagate)
    return out


@pytest.fixture(scope="module")
def by_id(results):
    return {r.doc_id: r for r in results[3].collect()}


def test_preconditions_of_the_planted_corpus(settings):
    # The chain only tests connected components if A~B and B~C verify but A~C does not.
    t = settings.dedup.minhash.threshold
    assert sim(CHAIN_A, CHAIN_B, settings.dedup) >= t and sim(CHAIN_B, CHAIN_C, settings.dedup) >= t
    assert sim(CHAIN_A, CHAIN_C, settings.dedup) < t
    assert sim(" ".join(NEAR), " ".join(edit(NEAR, 3, 5)), settings.dedup) >= t
    # v1/v2 are an LSH candidate pair (a shared band) below the verification threshold.
    mh = settings.dedup.minhash
    bands = [dedup.band_hashes(dedup.minhash_signature(x, mh.num_perm, mh.seed, mh.ngram),
                               mh.bands, mh.rows) for x in (VERIFY_A, VERIFY_B)]
    assert any(a == b for a, b in zip(*bands))
    assert sim(VERIFY_A, VERIFY_B, settings.dedup) < t


def test_same_output_whatever_the_partitioning(results):
    assertDataFrameEqual(results[1], results[3])
    assertDataFrameEqual(results[1], results[8])


def test_small_result_is_broadcast_to_the_documents(spark, planted, settings):
    # The documents (with their text) are not shuffled to meet dedup's small result; with
    # broadcasts switched off Spark's own plan (a sort-merge join) is kept.
    def plan(threshold: str) -> str:
        spark.conf.set("spark.sql.autoBroadcastJoinThreshold", threshold)
        try:
            out = dedup.deduplicate(planted, settings.dedup)
            return out._jdf.queryExecution().executedPlan().toString()
        finally:
            spark.conf.unset("spark.sql.autoBroadcastJoinThreshold")
    assert "BroadcastHashJoin" in plan("10MB")
    assert "BroadcastHashJoin" not in plan("-1")


def test_known_row_count_saves_the_counting_jobs(spark, planted, settings):
    # The pipeline passes the documents' count it already has: the broadcast's sizing and the
    # oversized-bucket check then count nothing, with the same result.
    sc = spark.sparkContext

    def run(rows):
        group = f"dedup-rows-{rows}"
        sc.setJobGroup(group, group)
        try:
            out = dedup.deduplicate(planted, settings.dedup, rows=rows)
            out.collect()
        finally:
            sc._jsc.clearJobGroup()
        return out, len(sc.statusTracker().getJobIdsForGroup(group))

    (counted, counted_jobs), (known, known_jobs) = run(None), run(planted.count())
    assertDataFrameEqual(known, counted)
    # Two counts saved, of two jobs each under adaptive execution (partial counts, then the
    # total): losing either shortcut fails this.
    assert counted_jobs - known_jobs >= 4, (known_jobs, counted_jobs)
    assert "BroadcastHashJoin" in known._jdf.queryExecution().executedPlan().toString()


def test_single_task_and_propagated_clusters_agree(results):
    assertDataFrameEqual(results[1], results["propagation"])


def test_clusters_in_one_task_up_to_the_configured_pairs(spark, planted, settings, caplog):
    # The planted corpus has 5 verified pairs (n1-n2, c1-c2, c2-c3, p1-p2, s1-s2): a cap of 5
    # takes the single task, 4 propagates.
    mh = settings.dedup.minhash
    for cap, propagated in ((5, False), (4, True)):
        cfg = dataclasses.replace(settings.dedup,
                                  minhash=dataclasses.replace(mh, single_task_max_edges=cap))
        caplog.clear()
        with caplog.at_level("INFO", logger="lakeprep.text"):
            dedup.deduplicate(planted, cfg)
        assert ("distributed connected components" in caplog.text) is propagated, cap


def test_output_schema_keeps_documents_columns_and_adds_dedup_columns(results, planted):
    out = results[3]
    assert out.columns == planted.columns + [f.name for f in dedup.DEDUP_COLUMNS.fields]
    assert out.count() == planted.count()


def test_exact_duplicates_keep_the_oldest_accepted_copy(by_id):
    assert by_id["e2"].status == "accepted" and by_id["e2"].duplicate_of is None
    for doc in ("e1", "e3"):
        r = by_id[doc]
        assert (r.status, r.reject_reason, r.duplicate_of) == ("rejected", "exact_duplicate", "e2")
        assert r.failed_rules == ["exact_duplicate"]
        assert r.near_dup_cluster is None
    assert by_id["e1"].content_hash == by_id["e2"].content_hash == by_id["e0"].content_hash


def test_rejected_documents_are_never_kept_nor_marked(by_id):
    e0 = by_id["e0"]
    assert (e0.status, e0.reject_reason, e0.duplicate_of) == ("rejected", "too_few_words", None)
    assert e0.failed_rules == ["too_few_words"]
    r1 = by_id["r1"]   # text identical to n1 and older: still not a duplicate nor kept
    assert (r1.reject_reason, r1.duplicate_of, r1.near_dup_cluster) == ("high_symbol_word_ratio", None, None)
    x1 = by_id["x1"]
    assert x1.content_hash is None and x1.duplicate_of is None and x1.reject_reason == "undecodable"


def test_ties_on_modified_at_are_broken_by_source_uri(by_id):
    assert by_id["t2"].status == "accepted"
    assert (by_id["t1"].reject_reason, by_id["t1"].duplicate_of) == ("exact_duplicate", "t2")


def test_near_duplicate_with_a_few_words_changed(by_id):
    n1, n2 = by_id["n1"], by_id["n2"]
    assert n1.status == "accepted" and n1.near_dup_cluster == "n1"
    assert (n2.status, n2.reject_reason, n2.duplicate_of, n2.near_dup_cluster) == \
        ("rejected", "near_duplicate", "n1", "n1")
    assert n2.failed_rules == ["near_duplicate"]
    assert 0.8 <= n2.near_dup_similarity < 1.0
    assert n1.near_dup_similarity == n2.near_dup_similarity   # kept: its best duplicate
    # n3 is an exact copy of n2: exact duplicate of n2, outside the near-dup step.
    n3 = by_id["n3"]
    assert (n3.reject_reason, n3.duplicate_of, n3.near_dup_cluster) == ("exact_duplicate", "n2", None)


def test_chain_is_one_cluster_kept_by_its_first_member(by_id, settings):
    c1, c2, c3 = by_id["c1"], by_id["c2"], by_id["c3"]
    assert c1.near_dup_cluster == c2.near_dup_cluster == c3.near_dup_cluster == "c1"
    assert c1.status == "accepted"
    assert (c2.reject_reason, c2.duplicate_of) == ("near_duplicate", "c1")
    assert (c3.reject_reason, c3.duplicate_of) == ("near_duplicate", "c1")
    # c3's similarity is to the kept c1, below the threshold: it is in only through c2.
    assert c3.near_dup_similarity < settings.dedup.minhash.threshold <= c2.near_dup_similarity


def test_punctuation_only_difference_is_a_near_duplicate_of_the_older(by_id):
    p1, p2 = by_id["p1"], by_id["p2"]
    assert p1.content_hash != p2.content_hash
    assert (p1.reject_reason, p1.duplicate_of, p1.near_dup_similarity) == ("near_duplicate", "p2", 1.0)
    assert (p2.status, p2.near_dup_cluster) == ("accepted", "p2")


def test_short_documents(by_id):
    assert (by_id["s2"].reject_reason, by_id["s2"].duplicate_of) == ("near_duplicate", "s1")
    s3 = by_id["s3"]
    assert (s3.status, s3.near_dup_cluster) == ("accepted", None)


def test_unrelated_and_unverified_documents_are_left_alone(by_id):
    for doc in ("u1", "u2", "v1", "v2"):
        r = by_id[doc]
        assert (r.status, r.reject_reason, r.duplicate_of, r.near_dup_cluster,
                r.near_dup_similarity) == ("accepted", None, None, None, None)
        assert r.failed_rules == []


def test_dedup_stats(results, by_id):
    assert dedup.dedup_stats(results[3]) == {
        "exact_duplicates": 4,                  # e1, e3, t1, n3
        "near_duplicates": 5,                   # n2, c2, c3, p1, s2
        "near_dup_clusters": 4,                 # kept n1, c1, p2, s1
        "documents_in_near_dup_clusters": 9,
        "accepted_after_dedup": 11,             # e2, t2, n1, c1, p2, s1, s3, v1, v2, u1, u2
        "min_near_dup_similarity": round(by_id["c3"].near_dup_similarity, 4),
    }


def test_exact_only_and_disabled(spark, planted, settings):
    exact_only = dataclasses.replace(settings.dedup, near_duplicates=False)
    exact = {r.doc_id: r for r in dedup.deduplicate(planted, exact_only).collect()}
    assert exact["e1"].reject_reason == "exact_duplicate"
    assert exact["n2"].status == "accepted" and exact["n2"].near_dup_cluster is None
    assert exact["n3"].duplicate_of == "n2"
    assert all(r.near_dup_cluster is None for r in exact.values())

    off = dataclasses.replace(settings.dedup, enabled=False)
    out = dedup.deduplicate(planted, off)
    assert out.columns == planted.columns + [f.name for f in dedup.DEDUP_COLUMNS.fields]
    assertDataFrameEqual(out.select(planted.columns), planted)
    assert out.where(F.col("content_hash").isNotNull()).isEmpty()


def union_find_components(edges):
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x
    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}


def test_connected_components_long_chain_and_separate_components(spark):
    # A path 9-8-...-1-0 given in scrambled order, a triangle, a lone pair and a random sparse
    # graph: labels are the smallest node of each component (checked against union-find).
    path = [(f"n{i}", f"n{i + 1}") for i in range(9)]
    rng = random.Random(0)
    rand = [(f"r{rng.randrange(60):02d}", f"r{rng.randrange(60):02d}") for _ in range(45)]
    rand = [(a, b) for a, b in rand if a != b]
    edges = (path[::2] + [(b, a) for a, b in path[1::2]] + [("t2", "t0"), ("t1", "t2"),
                                                              ("z9", "z1")] + rand)
    df = spark.createDataFrame(edges, "src string, dst string")
    labels = dict(dedup.connected_components(df, 10).collect())
    assert labels == union_find_components(edges)
    assert dict(dedup.components_in_one_task(df.repartition(4)).collect()) == labels
    assert {n: labels[n] for n in labels if n.startswith("n")} == {f"n{i}": "n0" for i in range(10)}
    assert (labels["t0"], labels["t1"], labels["t2"]) == ("t0", "t0", "t0")
    assert (labels["z1"], labels["z9"]) == ("z1", "z1")
    # Pointer jumping: two rounds resolve the 10-node path (plain propagation would need eight).
    # With one round it is not resolved: the loop, not the initial step, does the work.
    path_df = df.where(F.col("src").startswith("n"))
    assert dict(dedup.connected_components(path_df, 2).collect()) == {f"n{i}": "n0" for i in range(10)}
    assert dict(dedup.connected_components(path_df, 1).collect())["n9"] != "n0"


def test_buckets_pair_each_member_with_the_smallest_only(spark, settings):
    sig_band = [7] * settings.dedup.minhash.bands
    nodes = spark.createDataFrame([(f"d{i}", sig_band) for i in range(6)],
                                  "doc_id string, band_hashes array<bigint>")
    pairs = sorted(tuple(r) for r in dedup.candidate_pairs(nodes, settings.dedup.minhash).collect())
    assert pairs == [("d0", f"d{i}") for i in range(1, 6)]          # star: k-1, not k(k-1)/2
    capped = dataclasses.replace(settings.dedup.minhash, max_bucket_size=5)
    assert dedup.candidate_pairs(nodes, capped).isEmpty()
