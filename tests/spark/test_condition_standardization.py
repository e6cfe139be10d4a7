"""The ``standardize`` stage on the committed fixtures (silver built and written to a temp lake):
offline rules, the LLM path against the local chat-completions server (cache, fallbacks with
reasons, retries next run, the per-run budget), what it does to the conditions, and the
agreement with the registry's derived MeSH terms."""
from __future__ import annotations

import dataclasses

import pytest
from ctgov_bronze import bronze_df, fixture_studies, silver_work
from pyspark.sql import functions as F

from lakeprep.trials import standardize as S
from lakeprep.trials.chat_server import ChatServer
from lakeprep.trials.layout import TrialsLayout
from lakeprep.trials.silver import build_silver, write_silver

KEY = "sk-spark-sentinel-0b1d"


def with_llm(settings, **llm):
    st = settings.trials.standardize
    trials = dataclasses.replace(settings.trials, standardize=dataclasses.replace(
        st, llm=dataclasses.replace(st.llm, **llm)))
    return dataclasses.replace(settings, trials=trials)


@pytest.fixture(scope="module")
def fast(settings):
    return with_llm(settings, requests_per_minute=60000, max_attempts=2, backoff_base_s=0,
                    backoff_max_s=0, batch_size=25)


@pytest.fixture(scope="module")
def silver(spark, settings, tmp_path_factory):
    result = build_silver(spark, bronze_df(spark, fixture_studies()), settings, "run-1",
                          work_dir=silver_work())
    layout = TrialsLayout(str(tmp_path_factory.mktemp("lake")))
    write_silver(spark, result, layout)
    return result, layout


@pytest.fixture(scope="module")
def offline(spark, settings, silver):
    result, layout = silver
    return S.standardize_conditions(spark, dict(result.tables), layout, settings, "run-1",
                                    result.work)


def rows(df, *cols):
    return sorted(tuple(r) for r in df.select(*cols).collect())


def test_offline_keeps_raw_names_and_fills_mesh_only_where_the_registry_has_none(offline, silver):
    before = silver[0].tables["conditions"]
    after = offline.conditions
    assert after.count() == before.count()
    joined = before.alias("b").join(after.alias("a"), on="condition_key", how="inner")
    assert joined.count() == before.count()
    # Registry matches are untouched; raw and cleaned names are kept as they were.
    assert joined.filter(F.col("b.mesh_id").isNotNull()
                         & ~F.col("a.mesh_id").eqNullSafe(F.col("b.mesh_id"))).count() == 0
    assert joined.filter(~F.col("a.name_raw").eqNullSafe(F.col("b.name_raw"))).count() == 0
    filled = joined.filter(F.col("b.mesh_id").isNull() & F.col("a.mesh_id").isNotNull())
    assert filled.count() > 0 and filled.count() == offline.report["conditions_mesh_filled"]
    assert filled.filter((F.col("a.mesh_match") != "offline")
                         | (F.col("a.mesh_term") != F.col("a.canonical_name"))).count() == 0
    assert after.filter(F.col("canonical_name").isNull()).count() == 0


def test_offline_rules_on_known_names(offline):
    got = dict(rows(offline.conditions.filter(F.col("name").isin(
        "T2DM", "Crohn's Disease", "Breast Cancer", "Lung Cancer, Non-Small Cell")),
        "name", "standardized_mesh_id"))
    assert got == {"T2DM": "D003924", "Crohn's Disease": "D003424", "Breast Cancer": "D001943",
                   "Lung Cancer, Non-Small Cell": "D002289"}
    rules = dict(rows(offline.conditions.filter(F.col("name").isin("T2DM", "Breast Cancer")),
                      "name", "standardization_rule"))
    assert rules == {"T2DM": S.RULE_COOCCURRENCE, "Breast Cancer": S.RULE_TERM}


def test_cache_and_vocabulary_tables(spark, offline, silver):
    _, layout = silver
    cache = spark.read.format("delta").load(layout.silver("condition_standardization"))
    assert cache.count() == offline.report["distinct_names"]
    assert cache.select("normalized_name").distinct().count() == cache.count()
    assert rows(cache.select("method", "requested").distinct(), "method", "requested") == \
        [("offline", "offline")]
    vocab = spark.read.format("delta").load(layout.silver("mesh_vocabulary"))
    assert rows(vocab.filter(F.col("mesh_id") == "D003924"), "term") == \
        [("Diabetes Mellitus, Type 2",)]


def test_agreement_with_the_registry(offline):
    a = offline.report["agreement"]
    print("offline agreement:", a)
    assert a["rows"] == a["agree"] + a["other_id"] + a["no_id"] > 200
    # term_match does not read the study's derived terms: it is the independent figure.
    term = a[f"by_rule.{S.RULE_TERM}"]
    assert term["agree"] / term["rows"] >= 0.9


def test_offline_rerun_changes_nothing(spark, settings, silver, offline):
    result, layout = silver
    path = layout.silver("condition_standardization")
    before = rows(spark.read.format("delta").load(path), *S.CACHE_COLUMNS)
    S.standardize_conditions(spark, dict(result.tables), layout, settings, "run-2", result.work)
    assert rows(spark.read.format("delta").load(path), *S.CACHE_COLUMNS) == before


def test_llm_cache_fallbacks_and_retry_next_run(spark, fast, silver, offline):
    result, layout = silver
    n = offline.report["distinct_names"]
    with ChatServer(api_key=KEY) as srv:
        # Batch 1: an id nobody derived (rejected, not asked again); batch 2: HTTP 500 on both
        # attempts (offline now, asked again next run); the rest answer.
        srv.set_faults(["wrong_id:times=1", "500:times=2"])
        first = S.standardize_conditions(spark, dict(result.tables), layout, fast, "run-3",
                                         result.work, api_key=KEY, base_url=srv.base_url)
        llm = first.report["llm"]
        assert llm["asked"] == n and llm["cached"] == 0
        assert llm["fallbacks"] == {"llm_mesh_id_not_in_vocabulary": 25, "llm_http_500": 25}
        assert llm["accepted"] == n - 50 and llm["retries"] == 1
        batch2 = set(srv.requests[1]["names"])
        asked_first = len(srv.requests)
        cache = spark.read.format("delta").load(layout.silver("condition_standardization")) \
            .filter(F.col("requested") == "llm:gpt-3.5-turbo")
        rejected = cache.filter(F.col("fallback_reason") == "llm_mesh_id_not_in_vocabulary")
        assert rejected.filter(F.col("retry_llm") | (F.col("method") != "offline")).count() == 0
        # The LLM's standardized conditions carry mesh_match 'llm' where filled.
        assert first.conditions.filter(F.col("mesh_match") == "llm").count() > 0

        second = S.standardize_conditions(spark, dict(result.tables), layout, fast, "run-4",
                                          result.work, api_key=KEY, base_url=srv.base_url)
        asked_again = [name for r in srv.requests[asked_first:] for name in r["names"]]
        assert sorted(asked_again) == sorted(batch2)
        assert second.report["llm"]["cached"] == n - 25 and second.report["llm"]["accepted"] == 25
        # Everything was paid for once, the failed batch twice: no key in any row.
        cache = spark.read.format("delta").load(layout.silver("condition_standardization"))
        assert cache.filter(F.col("retry_llm")).count() == 0
        dump = " ".join(str(r) for r in cache.collect())
        assert KEY not in dump and KEY not in str(second.report)


def test_llm_budget_defers_the_rest(spark, fast, silver):
    result, layout = silver
    budget = with_llm(fast, max_names_per_run=10, model="local-budget-model")
    with ChatServer(api_key=KEY) as srv:
        out = S.standardize_conditions(spark, dict(result.tables), layout, budget, "run-5",
                                       result.work, api_key=KEY, base_url=srv.base_url)
        assert sum(len(r["names"]) for r in srv.requests) == 10
    llm = out.report["llm"]
    assert llm["asked"] == 10 and llm["deferred"] == out.report["distinct_names"] - 10
    cache = spark.read.format("delta").load(layout.silver("condition_standardization")) \
        .filter(F.col("requested") == "llm:local-budget-model")
    assert cache.filter(F.col("fallback_reason") == "llm_deferred").filter(
        F.col("retry_llm")).count() == llm["deferred"]


def test_llm_path_agreement_against_the_local_server(spark, fast, silver):
    """The figure README quotes for the LLM path: every name answered by the local server (its
    answerer picks the candidate sharing most words; a plumbing check, not a model's quality)."""
    result, layout = silver
    clean = with_llm(fast, model="local-clean-model")
    with ChatServer(api_key=KEY) as srv:
        out = S.standardize_conditions(spark, dict(result.tables), layout, clean, "run-6",
                                       result.work, api_key=KEY, base_url=srv.base_url)
    a = out.report["agreement"]
    print("llm-path agreement (local server):", a)
    assert out.report["llm"]["accepted"] == out.report["distinct_names"]
    assert a[f"by_rule.{S.METHOD_LLM}"]["rows"] == a["rows"] and a["rate"] >= 0.9
