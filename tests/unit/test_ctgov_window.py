"""Which studies a clinical-trials run asks for (full / --since / incremental / initial), the
`trials.api` settings validation and the job's argument contract, without Spark."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import yaml

from lakeprep.config import ConfigError, load_settings
from lakeprep.trials.layout import TrialsLayout
from lakeprep.trials.pipeline import choose_window, render_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_window_choice():
    last = datetime(2026, 3, 10, 23, 30, tzinfo=timezone.utc)
    assert choose_window(True, None, last, 2) == ("full", None)
    assert choose_window(False, date(2025, 1, 1), last, 2) == ("since", date(2025, 1, 1))
    assert choose_window(False, None, None, 2) == ("initial", None)
    # The margin is counted from the last successful run's start (UTC day).
    assert choose_window(False, None, last, 2) == ("incremental", date(2026, 3, 8))
    assert choose_window(False, None, last, 0) == ("incremental", date(2026, 3, 10))
    with pytest.raises(ConfigError, match="exclude"):
        choose_window(True, date(2025, 1, 1), last, 2)


def write(tmp_path, raw):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("key, value", [("page_size", 1001), ("page_size", 0),
                                        ("requests_per_minute", 0), ("max_attempts", 0),
                                        ("base_url", "clinicaltrials.gov"),
                                        ("backoff_base_s", 120)])
def test_bad_api_settings_fail_with_the_key(tmp_path, key, value):
    raw = yaml.safe_load((ROOT / "conf" / "local.yaml").read_text())
    raw["trials"]["api"][key] = value
    with pytest.raises(ConfigError, match=f"trials.api.{key}"):
        load_settings(write(tmp_path, raw))


def test_query_keys_are_plain_names(tmp_path):
    raw = yaml.safe_load((ROOT / "conf" / "local.yaml").read_text())
    raw["trials"]["api"]["query"] = {"query.cond": "asthma"}
    with pytest.raises(ConfigError, match="trials.api.query"):
        load_settings(write(tmp_path, raw))


def test_every_environment_has_the_trials_section():
    for name in ("local.yaml", "docker.yaml", "emr.yaml"):
        trials = load_settings(ROOT / "conf" / name).trials
        assert trials.api.page_size == 1000 and trials.api.requests_per_minute == 50
        assert trials.incremental.safety_margin_days == 2


def test_layout_paths():
    layout = TrialsLayout("s3a://b/lake")
    assert layout.bronze_studies == "s3a://b/lake/bronze/ctgov_studies"
    assert layout.silver("conditions") == "s3a://b/lake/silver/ctgov_conditions"
    assert layout.staging_dir("r1") == "s3a://b/lake/_staging/ctgov/r1"
    assert TrialsLayout("s3a://b/lake", "s3a://raw/ctgov/").staging_dir("r1") == "s3a://raw/ctgov/r1"
    assert layout.report_dir("_reports", "r1") == "s3a://b/lake/_reports/ctgov/r1"


def test_report_renders_the_run():
    md = render_markdown({
        "run_id": "r1", "mode": "incremental", "since": "2026-01-01",
        "api_base_url": "http://x/api/v2", "api": {"api_version": "2.0.5", "data_timestamp": "t"},
        "lake_uri": "file:/l", "postgres_target": "pg", "started_at": "s", "duration_s": 1.0,
        "staging": {"staging_id": "r0", "resumed": True, "pages": 3, "pages_fetched_this_run": 1,
                    "studies_staged": 30, "bytes": 1000, "requests": 2, "retries": 1},
        "bronze": {"records": 30, "rejected_by_reason": {"missing_nct_id": 1}},
        "expectations": [{"table": "studies", "name": "valid_nct_id", "action": "drop",
                          "passed": 29, "failed": 1}]})
    assert "`r0` (resumed)" in md and "since 2026-01-01" in md
    assert "| `missing_nct_id` | 1 |" in md and "| studies | `valid_nct_id` | drop | 29 | 1 |" in md
