"""The dbt project agrees with the Python side and carries no secret.

accepted_values in the marts must list exactly the enums the silver expectations accept (a status
the lake lets through must not fail dbt, and the other way round); profiles.yml must take every
connection value from env_var(); the dbt venv's pins must be exact; no dbt package is used (the
package hub is not reachable offline).
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from lakeprep.trials.expectations import OVERALL_STATUSES, STUDY_TYPES

ROOT = Path(__file__).resolve().parents[2]
DBT = ROOT / "dbt"


def _column_tests(model: str, column: str) -> list:
    marts = yaml.safe_load((DBT / "models" / "marts" / "_marts.yml").read_text())
    (m,) = [m for m in marts["models"] if m["name"] == model]
    (c,) = [c for c in m["columns"] if c["name"] == column]
    return c["data_tests"]


def _accepted(model: str, column: str) -> set[str]:
    for t in _column_tests(model, column):
        if isinstance(t, dict) and "accepted_values" in t:
            return set(t["accepted_values"]["arguments"]["values"])
    raise AssertionError(f"{model}.{column} has no accepted_values test")


def test_accepted_values_match_the_expectation_enums():
    assert _accepted("dim_studies", "overall_status") == set(OVERALL_STATUSES)
    assert _accepted("dim_studies", "study_type") == set(STUDY_TYPES)


def test_profile_reads_the_connection_from_the_environment():
    profile = yaml.safe_load((DBT / "profiles.yml").read_text())
    output = profile["lakeprep_ctgov"]["outputs"]["default"]
    for key in ("host", "port", "user", "password", "dbname", "schema"):
        assert "env_var(" in str(output[key]), key


def test_dbt_pins_are_exact_and_no_packages_are_used():
    pins = [line for line in (DBT / "requirements.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[a-z-]+==[0-9.]+", p) for p in pins)
    assert not (DBT / "packages.yml").exists() and not (DBT / "dependencies.yml").exists()
    every_model_has_a_test = yaml.safe_load((DBT / "models" / "marts" / "_marts.yml").read_text())
    sql_models = {p.stem for p in (DBT / "models" / "marts").glob("*.sql")}
    assert sql_models == {m["name"] for m in every_model_has_a_test["models"]}
