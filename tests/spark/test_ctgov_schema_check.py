"""Schema drift report (lakeprep.trials.schema_check): studies' field paths vs /studies/metadata."""
from __future__ import annotations

import copy
import json

from ctgov_bronze import FIXTURES, bronze_df, fixture_studies

from lakeprep.trials.schema_check import check_fields, metadata_paths, study_paths

METADATA = json.loads((FIXTURES / "metadata.json").read_text(encoding="utf-8"))


def test_study_paths_collapse_lists_and_tolerate_bad_json():
    paths = study_paths('{"a": {"b": [{"c": 1}, {"d": 2}]}, "e": true}')
    assert paths == ["a", "a.b", "a.b.c", "a.b.d", "e"]
    assert study_paths("{oops") == [] and study_paths(None) == []


def test_metadata_paths_and_required():
    known, required = metadata_paths(METADATA)
    assert "protocolSection.contactsLocationsModule.locations.city" in known
    assert "protocolSection.identificationModule.nctId" in required


def test_fixture_unknown_fields_are_reported_with_counts(spark):
    studies = [s for s in fixture_studies() if "nctId" in s["protocolSection"]["identificationModule"]]
    report = check_fields(bronze_df(spark, studies), METADATA)
    unknown = {u["path"]: u["studies"] for u in report["unknown"]}
    assert unknown == {"experimentalSection": 1, "experimentalSection.note": 1,
                       "protocolSection.identificationModule.legacyTrackingCode": 1}
    assert report["missing_required"] == [] and report["studies"] == len(studies)


def test_missing_required_field_is_reported(spark):
    studies = [s for s in fixture_studies() if "nctId" in s["protocolSection"]["identificationModule"]][:5]
    broken = copy.deepcopy(studies[0])
    broken["protocolSection"]["identificationModule"].pop("briefTitle")
    report = check_fields(bronze_df(spark, [broken, *studies[1:]]), json.dumps(METADATA))
    assert report["missing_required"] == [
        {"path": "protocolSection.identificationModule.briefTitle", "studies_missing": 1}]
    assert report["unknown"] == []
