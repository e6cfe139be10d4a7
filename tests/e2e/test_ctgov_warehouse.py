"""End to end, warehouse half: committed fixture studies -> bronze-shaped rows -> silver (Delta)
-> a real PostgreSQL -> dbt build (models + tests) with the project's dbt venv.

The tests of this module run in order on one database: load, dbt passes, a broken row fails the
custom dbt test, a rerun changes nothing, a changed study replaces its child rows.
"""
from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa
from ctgov_bronze import bronze_df, edge_cases, fixture_studies, silver_work

from lakeprep.db.connection import PgTarget
from lakeprep.trials.layout import TrialsLayout
from lakeprep.trials.silver import build_silver, write_silver
from lakeprep.trials.warehouse import DbtFailed, load_postgres, run_dbt

SCHEMA = "ctgov"


@pytest.fixture(scope="module")
def target(pg_database, settings):
    db = pg_database("ctgov_warehouse")
    return PgTarget(db.host, db.port, db.database, db.user, settings.trials.postgres.schema, False, None)


@pytest.fixture(scope="module")
def engine(target):
    eng = target.engine()
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def first_load(spark, settings, target, engine, tmp_path_factory):
    result = build_silver(spark, bronze_df(spark, fixture_studies()), settings, "run-1", work_dir=silver_work())
    layout = TrialsLayout(str(tmp_path_factory.mktemp("lake")))
    write_silver(spark, result, layout)
    counts = load_postgres(result, target, engine, "run-1", settings)
    return result, counts


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def fingerprint(engine, table: str, key: str) -> str:
    return scalar(engine, f"SELECT md5(string_agg(t::text, '|' ORDER BY {key})) FROM {SCHEMA}.{table} t")


def test_contract_tables_and_columns(first_load, engine):
    with engine.connect() as conn:
        cols = {(r[0], r[1]): r[2] for r in conn.execute(sa.text(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = :s"), {"s": SCHEMA})}
        pk = conn.execute(sa.text(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'ctgov.studies'::regclass "
            "AND i.indisprimary")).scalars().all()
    assert pk == ["nct_id"]
    for c in ("nct_id", "overall_status", "phases", "study_type", "start_date",
              "start_date_precision", "completion_date", "completion_date_precision", "enrollment",
              "last_update_posted", "brief_title"):
        assert ("studies", c) in cols, c
    assert cols[("studies", "phases")] == "ARRAY"
    assert cols[("studies", "start_date")] == "date"
    for c in ("nct_id", "name", "mesh_id", "mesh_term"):
        assert ("conditions", c) in cols
    for c in ("nct_id", "type", "name", "mesh_id", "mesh_term"):
        assert ("interventions", c) in cols
    for t in ("sponsors", "sites", "design", "eligibility", "expectation_results", "quarantine"):
        assert (t, "nct_id") in cols or (t, "run_id") in cols, t


def test_rows_match_silver_and_quarantine_is_loaded(first_load, engine):
    result, counts = first_load
    for table, df in result.tables.items():
        assert scalar(engine, f"SELECT count(*) FROM {SCHEMA}.{table}") == df.count(), table
    assert counts["merged"]["studies_upserted"] == result.tables["studies"].count()
    cases = edge_cases()
    bad = cases["unknown_status"][0]
    reason = scalar(engine, "SELECT reason FROM ctgov.quarantine WHERE nct_id = :n AND "
                            "table_name = 'studies'", n=bad)
    assert "known_overall_status" in reason and "PAUSED_FOR_REVIEW" in reason
    assert scalar(engine, "SELECT count(*) FROM ctgov.studies WHERE nct_id = :n", n=bad) == 0
    failed = scalar(engine, "SELECT failed FROM ctgov.expectation_results WHERE run_id = 'run-1' "
                            "AND table_name = 'studies' AND expectation = 'valid_nct_id'")
    assert failed == 1
    # Precision kept beside the normalized date (a year-only start is Jan 1 of that year).
    year_case = cases["start_date_year_precision"][0]
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT start_date, start_date_precision FROM ctgov.studies "
                                   "WHERE nct_id = :n"), {"n": year_case}).one()
    assert (row[0].month, row[0].day, row[1]) == (1, 1, "year")


def test_dbt_build_passes_and_marts_are_filled(first_load, target, settings, engine):
    summary = run_dbt(target, settings)
    assert summary["failures"] == []
    assert summary["models"].get("success", 0) >= 19
    assert summary["tests"].get("pass", 0) >= 40
    marts = settings.trials.dbt.schema
    n_studies = first_load[0].tables["studies"].count()
    assert scalar(engine, f"SELECT count(*) FROM {marts}.dim_studies") == n_studies
    assert scalar(engine, f"SELECT count(*) FROM {marts}.dim_conditions") > 10
    assert scalar(engine, f"SELECT count(*) FROM {marts}.dim_interventions WHERE is_medication") > 5
    stopped = scalar(engine, f"SELECT count(*) FROM {marts}.dim_studies WHERE status_group = 'stopped_early'")
    assert stopped >= 5
    # Aggregates add up to the fact table: every (study, condition) pair counted once.
    pairs = scalar(engine, f"SELECT count(*) FROM {marts}.fct_study_conditions")
    assert scalar(engine, f"SELECT sum(n_studies) FROM {marts}.agg_participants_eligibility") == pairs


def test_broken_row_fails_the_custom_date_order_test(first_load, target, settings, engine):
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO ctgov.studies (nct_id, overall_status, study_type, has_results, run_id, "
            "start_date, start_date_type, start_date_precision, completion_date, completion_date_type, "
            "completion_date_precision) VALUES ('NCT00000001', 'COMPLETED', 'INTERVENTIONAL', false, "
            "'broken', '2021-05-01', 'ACTUAL', 'day', '2020-01-01', 'ACTUAL', 'day')"))
    try:
        with pytest.raises(DbtFailed, match="date_order"):
            run_dbt(target, settings)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM ctgov.studies WHERE nct_id = 'NCT00000001'"))


def test_rerun_changes_nothing(first_load, spark, settings, target, engine):
    result, _ = first_load
    keys = {"studies": "nct_id", "conditions": "condition_key", "interventions": "intervention_key",
            "sites": "site_key", "quarantine": "quarantine_id"}
    before = {t: fingerprint(engine, t, k) for t, k in keys.items()}
    counts = load_postgres(result, target, engine, "run-2", settings)
    assert all(v == 0 for k, v in counts["merged"].items()
               if k.endswith(("_upserted", "_removed", "_inserted")) and not k.startswith("expectation"))
    assert {t: fingerprint(engine, t, k) for t, k in keys.items()} == before
    assert scalar(engine, "SELECT count(*) FROM ctgov.stg_studies") == 0


def test_changed_study_replaces_its_children(first_load, spark, settings, target, engine):
    result, _ = first_load
    studies = fixture_studies()
    nct = next(s["protocolSection"]["identificationModule"]["nctId"] for s in studies
               if len(s["protocolSection"].get("conditionsModule", {}).get("conditions", [])) >= 2
               and s["protocolSection"]["identificationModule"].get("nctId", "").startswith("NCT0"))
    before = scalar(engine, "SELECT count(*) FROM ctgov.conditions WHERE nct_id = :n", n=nct)
    assert before >= 2
    changed = copy.deepcopy(next(s for s in studies
                                 if s["protocolSection"]["identificationModule"].get("nctId") == nct))
    changed["protocolSection"]["conditionsModule"]["conditions"] = ["Brand New Condition"]
    changed["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = "2025-06-20"
    new = build_silver(spark, bronze_df(spark, [changed], run_id="run-3"), settings, "run-3", work_dir=silver_work())
    load_postgres(new, target, engine, "run-3", settings)
    with engine.connect() as conn:
        names = conn.execute(sa.text("SELECT name FROM ctgov.conditions WHERE nct_id = :n"),
                             {"n": nct}).scalars().all()
    assert names == ["Brand New Condition"]
    assert scalar(engine, "SELECT run_id FROM ctgov.studies WHERE nct_id = :n", n=nct) == "run-3"
    total = scalar(engine, "SELECT count(*) FROM ctgov.studies")
    assert total == result.tables["studies"].count()
