"""Silver layer of the clinical-trials job: parsing, cleaning, dedup, expectations, Delta writes.

One build over all committed fixture studies (module fixture) covers the planted edge cases; small
builds cover configurable actions, dedup ties and child replacement.
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt

import pytest
from ctgov_bronze import (
    BRONZE_SCHEMA,
    bronze_df,
    bronze_row,
    edge_cases,
    fixture_studies,
    silver_work,
)
from pyspark.sql import functions as F

from lakeprep.trials import cleaning as C
from lakeprep.trials.expectations import EXPECTATION_NAMES, ExpectationFailed
from lakeprep.trials.layout import TrialsLayout
from lakeprep.trials.settings import ExpectationSettings
from lakeprep.trials.silver import TABLE_KEYS, build_silver, write_silver

CASES = edge_cases()


def case(name: str) -> str:
    return CASES[name][0]


def study(nct: str) -> dict:
    matches = [s for s in fixture_studies()
               if s["protocolSection"]["identificationModule"].get("nctId") == nct]
    return copy.deepcopy(matches[-1])


@pytest.fixture(scope="module")
def result(spark, settings):
    return build_silver(spark, bronze_df(spark, fixture_studies()), settings, "run-1", work_dir=silver_work())


def quarantined(result, table: str, expectation: str) -> dict[str, str]:
    rows = (result.quarantine.filter((F.col("table") == table) & (F.col("expectation") == expectation))
            .select("nct_id", "reason").collect())
    return {r["nct_id"]: r["reason"] for r in rows}


def ids(df) -> set[str]:
    return {r[0] for r in df.select("nct_id").distinct().collect()}


def with_actions(settings, **overrides):
    actions = {**settings.trials.expectations.actions, **overrides}
    return dataclasses.replace(settings.trials, expectations=ExpectationSettings(actions=actions))


# ---- expectations: each planted violation is quarantined by name, with the value in the reason

@pytest.mark.parametrize("expectation, case_name, value", [
    ("valid_nct_id", "invalid_nct_id", "NCT1234X"),
    ("known_overall_status", "unknown_status", "PAUSED_FOR_REVIEW"),
    ("known_phases", "unknown_phase", "PHASE5"),
    ("start_not_after_completion", "start_after_completion_actual", "2020-09-15"),
    ("enrollment_non_negative", "negative_enrollment", "-5"),
])
def test_study_expectation_quarantines_the_planted_violation(result, expectation, case_name, value):
    nct = case(case_name)
    q = quarantined(result, "studies", expectation)
    assert set(q) == {nct}
    assert value in q[nct] and expectation in q[nct]
    assert nct not in ids(result.tables["studies"])


def test_children_of_a_dropped_study_fail_references_study(result):
    dropped = case("unknown_status")
    for table in ("conditions", "sponsors", "design"):
        assert dropped in quarantined(result, table, "references_study"), table
        assert dropped not in ids(result.tables[table])


def test_blank_condition_and_invalid_mesh_are_quarantined(result):
    nct = case("blank_condition_name")
    assert nct in quarantined(result, "conditions", "non_empty_condition_name")
    assert nct in ids(result.tables["conditions"])  # its other condition stays
    mesh = quarantined(result, "condition_mesh", "valid_mesh_id")
    assert set(mesh) == {case("mesh_ids_odd_forms")} and "Q12-345" in mesh[case("mesh_ids_odd_forms")]


def test_estimated_dates_in_any_order_and_same_period_dates_pass(spark, settings):
    estimated = study(case("start_after_completion_estimated_allowed"))
    same_month = study(case("mixed_date_precision"))
    sm = same_month["protocolSection"]["statusModule"]
    sm["startDateStruct"] = {"date": "2019-11-14", "type": "ACTUAL"}
    sm["completionDateStruct"] = {"date": "2019-11", "type": "ACTUAL"}
    res = build_silver(spark, bronze_df(spark, [estimated, same_month]), settings.trials, "r", work_dir=silver_work())
    assert res.quarantine.filter(F.col("expectation") == "start_not_after_completion").count() == 0
    assert res.tables["studies"].count() == 2


def test_expectation_counts_are_recorded(result):
    by_key = {(e["table"], e["name"]): e for e in result.expectations}
    assert set(n for _, n in by_key) == set(EXPECTATION_NAMES)
    e = by_key[("studies", "valid_nct_id")]
    assert e["failed"] == 1 and e["action"] == "drop"
    assert e["passed"] + e["failed"] == result.counts["studies_in"]


def test_warn_keeps_the_row_and_counts_it(spark, settings):
    bad = study(case("unknown_status"))
    res = build_silver(spark, bronze_df(spark, [bad]), with_actions(settings, known_overall_status="warn"),
                       "r", work_dir=silver_work())
    assert ids(res.tables["studies"]) == {case("unknown_status")}
    assert res.quarantine.count() == 0
    (e,) = [e for e in res.expectations if e["name"] == "known_overall_status"]
    assert (e["action"], e["failed"]) == ("warn", 1)


def test_fail_stops_the_run_with_counts(spark, settings):
    bad = study(case("negative_enrollment"))
    good = study(case("start_date_year_precision"))
    with pytest.raises(ExpectationFailed, match=r"studies\.enrollment_non_negative: 1 of 2 rows failed"):
        build_silver(spark, bronze_df(spark, [bad, good]),
                     with_actions(settings, enrollment_non_negative="fail"), "r", work_dir=silver_work())


def test_unparseable_json_is_quarantined_not_crashed(spark, settings):
    good = study(case("start_date_year_precision"))
    rows = [bronze_row(good), bronze_row('{"protocolSection": {"identificationModule": ')]
    res = build_silver(spark, spark.createDataFrame(rows, BRONZE_SCHEMA), settings.trials, "r", work_dir=silver_work())
    assert ids(res.tables["studies"]) == {good["protocolSection"]["identificationModule"]["nctId"]}
    assert set(quarantined(res, "studies", "study_json_parseable")) == {"NCT99999999"}


# ---- transforms ---------------------------------------------------------------------------

def test_dedup_keeps_latest_update_then_latest_ingestion(spark, settings, result):
    nct = CASES["duplicate_nct_older_version_first"][0]
    row = result.tables["studies"].filter(F.col("nct_id") == nct).collect()
    assert len(row) == 1 and "(original registration)" not in row[0]["brief_title"]
    assert result.counts["duplicates_superseded"] == 2
    # Same lastUpdatePostDate: the later ingestion wins.
    s = study(case("start_date_year_precision"))
    older, newer = copy.deepcopy(s), copy.deepcopy(s)
    older["protocolSection"]["identificationModule"]["briefTitle"] = "Older ingestion"
    newer["protocolSection"]["identificationModule"]["briefTitle"] = "Newer ingestion"
    rows = [bronze_row(newer, "run-b", ingested_at=dt.datetime(2025, 6, 3)),
            bronze_row(older, "run-a", ingested_at=dt.datetime(2025, 6, 2))]
    res = build_silver(spark, spark.createDataFrame(rows, BRONZE_SCHEMA), settings.trials, "r", work_dir=silver_work())
    assert [r["brief_title"] for r in res.tables["studies"].collect()] == ["Newer ingestion"]


def test_text_cleaning_and_raw_values_kept(result):
    nct = case("html_entities_markdown_whitespace")
    row = result.tables["studies"].filter(F.col("nct_id") == nct).first()
    assert row["brief_title"] == "Safety & Efficacy of Metformin in Type 2 Diabetes \u2014 a Phase 2 Study"
    assert row["lead_sponsor_name"] == "Merck Sharp & Dohme LLC"
    assert row["brief_summary"].startswith("Background\n\nThis study tests metformin in adults <65 years.")
    names = {r["name"]: r["name_raw"] for r in result.tables["conditions"].filter(F.col("nct_id") == nct).collect()}
    assert names["Crohn's Disease"] == "Crohn&#39;s   Disease"
    status = result.tables["studies"].filter(F.col("nct_id") == case("status_case_and_whitespace")).first()
    assert (status["overall_status"], status["overall_status_raw"]) == ("RECRUITING", " recruiting ")


def test_partial_dates_keep_precision_and_raw(result):
    row = result.tables["studies"].filter(F.col("nct_id") == case("start_date_year_precision")).first()
    assert (row["start_date"], row["start_date_precision"], row["start_date_raw"]) == \
        (dt.date(2015, 1, 1), "year", "2015")
    mixed = result.tables["studies"].filter(F.col("nct_id") == case("mixed_date_precision")).first()
    assert (mixed["start_date_precision"], mixed["completion_date_precision"]) == ("month", "day")


def test_spark_rules_agree_with_python_rules(spark):
    dates = ["2015", "2015-08", "2015-08-14", " 2015-08-14 ", None, " ", "2015-02-30", "Aug 2015", "1066"]
    meshes = ["d012345", " D012345 ", "MESH:D012345", "Q12-345", "D000086382", "", None]
    enums = [" recruiting ", "Active, not recruiting", "  ", None, "phase-2"]
    ages = ["18 Years", "6 Months", "2 Weeks", "N/A", None]
    n = max(map(len, (dates, meshes, enums, ages)))
    pad = lambda xs: xs + [None] * (n - len(xs))  # noqa: E731
    df = spark.createDataFrame(list(zip(pad(dates), pad(meshes), pad(enums), pad(ages))),
                               "d string, m string, e string, a string")
    date, precision, reason = C.partial_date_columns(F.col("d"), 1900, 2100)
    mesh, mesh_reason = C.mesh_id_columns(F.col("m"))
    rows = df.select(date.alias("date"), precision.alias("p"), reason.alias("r"), mesh.alias("mesh"),
                     mesh_reason.alias("mr"), C.enum_column(F.col("e")).alias("enum"),
                     C.age_years_column(F.col("a")).alias("age")).collect()
    for i, row in enumerate(rows):
        if i < len(dates):
            assert (row["date"], row["p"], row["r"]) == C.parse_partial_date(dates[i], 1900, 2100), dates[i]
        if i < len(meshes):
            assert (row["mesh"], row["mr"]) == C.normalize_mesh_id(meshes[i]), meshes[i]
        if i < len(enums):
            assert row["enum"] == C.normalize_enum(enums[i]), enums[i]
        if i < len(ages):
            assert row["age"] == C.age_in_years(ages[i]), ages[i]


def test_mesh_ids_normalized_and_matched_to_conditions(result):
    nct = case("mesh_ids_odd_forms")
    mesh = {r["mesh_id_raw"]: r["mesh_id"] for r in
            result.tables["condition_mesh"].filter(F.col("nct_id") == nct).collect()}
    assert mesh == {"d003924": "D003924", " D001943 ": "D001943", "MESH:D006973": "D006973"}
    imesh = result.tables["intervention_mesh"].filter(F.col("nct_id") == nct).first()
    assert imesh["mesh_id"] == "C582435"
    exact = result.tables["conditions"].filter(F.col("mesh_match") == "exact").first()
    assert exact["name"].lower() == exact["mesh_term"].lower()
    assert result.counts["cleaning.invalid_mesh_id"] == 1


def test_missing_modules_give_no_child_rows_but_keep_the_study(result):
    nct = case("missing_arms_and_locations_modules")
    assert nct in ids(result.tables["studies"])
    assert nct not in ids(result.tables["interventions"]) and nct not in ids(result.tables["sites"])
    no_elig = case("missing_eligibility_and_enrollment")
    row = result.tables["studies"].filter(F.col("nct_id") == no_elig).first()
    assert row["enrollment"] is None  # missing stays NULL, never 0
    assert no_elig not in ids(result.tables["eligibility"])
    observational = result.tables["studies"].filter(F.col("study_type") == "OBSERVATIONAL").first()
    assert observational["phases"] == [] and observational["phase"] is None


def test_every_table_is_keyed_uniquely(result):
    for name, df in result.tables.items():
        key = TABLE_KEYS[name]
        assert df.count() == df.select(key).distinct().count(), name


def test_tables_read_materialized_files_not_the_parse(result):
    """Every table and the quarantine scan the work directory's Parquet: neither the JSON parse
    nor the cleaning UDF is in their plans (megabyte plans made the driver run out of memory)."""
    for name, df in {**result.tables, "quarantine": result.quarantine}.items():
        plan = df._jdf.queryExecution().optimizedPlan().toString()
        assert "parquet" in plan.lower(), name
        assert "from_json" not in plan and "_clean(" not in plan, name


# ---- Delta writes -------------------------------------------------------------------------

def test_write_silver_replaces_children_of_a_changed_study_and_reruns_change_nothing(spark, settings, tmp_path):
    layout = TrialsLayout(str(tmp_path / "lake"))
    base = study(case("start_date_year_precision"))
    base["protocolSection"]["conditionsModule"]["conditions"] = ["Asthma", "Obesity"]
    other = study(case("mixed_date_precision"))
    first = build_silver(spark, bronze_df(spark, [base, other]), settings.trials, "run-1", work_dir=silver_work())
    write_silver(spark, first, layout)
    conditions = lambda: sorted((r["nct_id"], r["name"]) for r in  # noqa: E731
                                spark.read.format("delta").load(layout.silver("conditions")).collect())
    before = conditions()
    assert len([c for c in before if c[1] in ("Asthma", "Obesity")]) == 2

    write_silver(spark, first, layout)  # rerun: nothing new
    assert conditions() == before
    assert spark.read.format("delta").load(layout.silver_quarantine).count() == \
        first.quarantine.count()

    changed = copy.deepcopy(base)
    changed["protocolSection"]["conditionsModule"]["conditions"] = ["Asthma"]
    changed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2025-07-01"
    second = build_silver(spark, bronze_df(spark, [changed], run_id="run-2"), settings.trials, "run-2",
                          work_dir=silver_work())
    write_silver(spark, second, layout)
    nct = base["protocolSection"]["identificationModule"]["nctId"]
    after = conditions()
    assert [c for c in after if c[0] == nct] == [(nct, "Asthma")]
    # The other study, not in run 2, keeps its rows.
    assert [c for c in after if c[0] != nct] == [c for c in before if c[0] != nct]
    results = spark.read.format("delta").load(layout.silver("expectation_results"))
    assert results.select("run_id").distinct().count() == 2


def test_row_counts_are_those_of_the_frames(result, spark, settings):
    """The layer's row counts come from the expectations' one aggregation a table, not from
    counting every frame again: they must still be the frames' own counts, the quarantine's
    too (a row failing two drop expectations is in it twice)."""
    for name, df in result.tables.items():
        assert result.counts[f"rows.{name}"] == df.count(), name
    assert result.counts["rows.quarantine"] == result.quarantine.count() > 0
    # Two drop expectations on one row: quarantined under each.
    twice = study(case("negative_enrollment"))
    twice["protocolSection"]["identificationModule"]["nctId"] = "NCT-BAD"
    res = build_silver(spark, bronze_df(spark, [twice, study(case("start_date_year_precision"))]),
                       with_actions(settings, enrollment_non_negative="drop"), "r",
                       work_dir=silver_work())
    per_row = res.quarantine.filter(F.col("table") == "studies").count()
    assert per_row == 2 and res.counts["rows.studies"] == res.tables["studies"].count() == 1
    assert res.counts["rows.quarantine"] == res.quarantine.count()
