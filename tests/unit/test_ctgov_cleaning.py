"""Cleaning rules of the clinical-trials silver layer (lakeprep.trials.cleaning), plain Python."""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from lakeprep.trials import cleaning as C

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("raw, expected", [
    ("2015", (dt.date(2015, 1, 1), "year", None)),
    ("2015-08", (dt.date(2015, 8, 1), "month", None)),
    ("2015-08-14", (dt.date(2015, 8, 14), "day", None)),
    (" 2015-08-14 ", (dt.date(2015, 8, 14), "day", None)),
    (None, (None, None, None)),
    ("  ", (None, None, None)),
    ("2015-02-30", (None, None, C.REASON_UNPARSEABLE_DATE)),
    ("Aug 2015", (None, None, C.REASON_UNPARSEABLE_DATE)),
    ("2015-8", (None, None, C.REASON_UNPARSEABLE_DATE)),
    ("1066", (None, None, C.REASON_DATE_OUT_OF_RANGE)),
])
def test_partial_dates_first_day_with_precision(raw, expected):
    assert C.parse_partial_date(raw, 1900, 2100) == expected


def test_date_range_comes_from_the_arguments():
    assert C.parse_partial_date("1950", 1900, 2100)[1] == "year"
    assert C.parse_partial_date("1950", 1960, 2100)[2] == C.REASON_DATE_OUT_OF_RANGE


@pytest.mark.parametrize("raw, expected", [
    ("Safety &amp; Efficacy", "Safety & Efficacy"),
    ("Crohn&#39;s   Disease", "Crohn's Disease"),
    ("A &amp;amp; B", "A & B"),  # double-escaped in the registry
    ("  Metformin\tin  T2DM\n", "Metformin in T2DM"),
    ("a **Phase 2** study", "a Phase 2 study"),
    ("see [the protocol](https://example.org/p)", "see the protocol"),
    ("Registry \\[NCT\\]", "Registry [NCT]"),
    ("Metformin&nbsp;ER", "Metformin ER"),
    ("   ", None),
    (None, None),
])
def test_normalize_text(raw, expected):
    assert C.normalize_text(raw) == expected


def test_markdown_kept_when_switched_off():
    assert C.normalize_text("a **b**", strip_markdown=False) == "a **b**"


def test_multiline_keeps_lines_and_bullets():
    raw = "## Inclusion\n\n* Age &gt;= 18\n*   Consent  given\n\n\n\nExclusion"
    assert C.normalize_text(raw, keep_newlines=True) == "Inclusion\n\n* Age >= 18\n* Consent given\n\nExclusion"


def test_clean_study_json_keeps_list_positions_and_multiline_fields():
    study = {"protocolSection": {"conditionsModule": {"conditions": ["  ", "Crohn&#39;s"]},
                                 "eligibilityModule": {"eligibilityCriteria": "* a\n* b"},
                                 "identificationModule": {"briefTitle": "x\ny"}},
             "hasResults": True}
    cleaned = json.loads(C.clean_study_json(json.dumps(study)))
    assert cleaned["protocolSection"]["conditionsModule"]["conditions"] == [None, "Crohn's"]
    assert cleaned["protocolSection"]["eligibilityModule"]["eligibilityCriteria"] == "* a\n* b"
    assert cleaned["protocolSection"]["identificationModule"]["briefTitle"] == "x y"
    assert cleaned["hasResults"] is True
    assert C.clean_study_json("{not json") is None


@pytest.mark.parametrize("raw, expected", [
    ("d012345", ("D012345", None)),
    (" D012345 ", ("D012345", None)),
    ("MESH:D012345", ("D012345", None)),
    ("mesh:c582435", ("C582435", None)),
    ("D000086382", ("D000086382", None)),
    ("Q12-345", (None, C.REASON_INVALID_MESH_ID)),
    ("D12345", (None, C.REASON_INVALID_MESH_ID)),
    ("", (None, None)),
    (None, (None, None)),
])
def test_mesh_id_normalization(raw, expected):
    assert C.normalize_mesh_id(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (" recruiting ", "RECRUITING"),
    ("Active, not recruiting", "ACTIVE_NOT_RECRUITING"),
    ("PHASE2", "PHASE2"),
    ("phase-2", "PHASE_2"),
    ("  ", None),
    (None, None),
])
def test_enum_normalization(raw, expected):
    assert C.normalize_enum(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("18 Years", 18.0), ("6 Months", 0.5), ("1 Year", 1.0), ("2 Weeks", 0.0383),
    ("N/A", None), (None, None), ("eighteen", None),
])
def test_age_in_years(raw, expected):
    assert C.age_in_years(raw) == expected


def test_readme_documents_every_missing_value_rule():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Tables and expectations", 1)[1].split("\n## ", 1)[0]
    for column in C.MISSING_POLICY:
        assert f"`{column}`" in section, f"README missing-value table lacks {column}"
    assert re.search(r"first day", section)
