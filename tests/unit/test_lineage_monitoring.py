"""Lineage and monitoring settings and helpers, without Spark or servers."""
from __future__ import annotations

import dataclasses

import pytest
import yaml

from lakeprep import lineage as lin
from lakeprep import monitoring
from lakeprep.config import (
    ConfigError,
    MonitoringSettings,
    OpenLineageSettings,
    _read_yaml,
    default_config_path,
    load_settings,
    parse_settings,
)


def raw_config() -> dict:
    return _read_yaml(default_config_path())


def test_local_config_enables_the_listener_with_a_file_transport():
    ol = load_settings().lineage.openlineage
    assert ol.enabled and ol.transport == "file" and ol.location == ""


@pytest.mark.parametrize("section, message", [
    ({"openlineage": {"enabled": True, "transport": "kafka", "namespace": "x"}}, "transport"),
    ({"openlineage": {"enabled": True, "transport": "http", "namespace": "x"}}, "url is required"),
    ({"openlineage": {"enabled": True, "transport": "file", "namespace": "x", "typo": 1}},
     "unknown keys"),
    ({"marquez": {}}, "unknown keys"),
])
def test_bad_lineage_sections_fail_with_the_key(section, message):
    raw = raw_config()
    raw["lineage"] = section
    with pytest.raises(ConfigError, match=message):
        parse_settings(raw)


@pytest.mark.parametrize("section, message", [
    ({"pushgateway_url": "pushgateway:9091", "timeout_s": 5}, "http"),
    ({"pushgateway_url": "", "timeout_s": 0}, "timeout_s"),
    ({"pushgateway": "http://x"}, "unknown keys"),
])
def test_bad_monitoring_sections_fail_with_the_key(section, message):
    raw = raw_config()
    raw["monitoring"] = section
    with pytest.raises(ConfigError, match=message):
        parse_settings(raw)


def test_configs_without_the_sections_still_load():
    raw = raw_config()
    del raw["lineage"], raw["monitoring"]
    settings = parse_settings(raw)
    assert settings.lineage.openlineage.enabled is False
    assert settings.monitoring.pushgateway_url == ""


def test_config_hash_follows_the_content_not_the_path():
    a = parse_settings(raw_config(), source_path="a.yaml")
    b = parse_settings(raw_config(), source_path="elsewhere/b.yaml")
    assert a.config_hash() == b.config_hash()
    raw = raw_config()
    raw["chunking"]["max_tokens"] = 256
    assert parse_settings(raw).config_hash() != a.config_hash()


def test_openlineage_conf_per_transport(tmp_path):
    ol = OpenLineageSettings(enabled=True)
    conf = lin.openlineage_conf(ol, str(tmp_path / "lake"), "text_pipeline")
    assert conf["spark.extraListeners"] == lin.LISTENER
    assert conf["spark.openlineage.transport.type"] == "file"
    assert conf["spark.openlineage.transport.location"] == str(
        tmp_path / "lake" / "_lineage" / "openlineage.jsonl")
    assert conf["spark.openlineage.appName"] == "text_pipeline"
    # A lake on S3 cannot hold the file transport's local file: the driver log instead.
    assert lin.openlineage_conf(ol, "s3a://bucket/lake", "x")[
        "spark.openlineage.transport.type"] == "console"
    http = dataclasses.replace(ol, transport="http", url="http://marquez:5000")
    conf = lin.openlineage_conf(http, "s3a://bucket/lake", "x")
    assert conf["spark.openlineage.transport.url"] == "http://marquez:5000"
    assert lin.openlineage_conf(OpenLineageSettings(enabled=False), "/lake", "x") == {}


def test_code_version_prefers_the_stamp(monkeypatch):
    monkeypatch.setenv("LAKEPREP_CODE_VERSION", "1.2.3+build7")
    assert lin.code_version() == "1.2.3+build7"
    monkeypatch.delenv("LAKEPREP_CODE_VERSION")
    # In this checkout: the package version and the commit.
    assert lin.code_version().startswith("0.1.0")


def test_package_version_matches_setup_py():
    import re
    from pathlib import Path

    import lakeprep

    setup = (Path(__file__).resolve().parents[2] / "setup.py").read_text()
    assert re.search(r'version="([^"]+)"', setup).group(1) == lakeprep.__version__


def test_split_uri():
    assert lin.split_uri("file:/data/in") == ("file", "/data/in")
    assert lin.split_uri("/data/in") == ("file", "/data/in")
    assert lin.split_uri("s3a://bucket/raw/x") == ("s3a://bucket", "/raw/x")


def test_lineage_markdown_lists_inputs_and_outputs():
    section = lin.for_report([lin.Dataset("input", "file", "/in", "3:ab", 3),
                              lin.Dataset("output", "file", "/lake/silver/documents", "4", 3)],
                             "cafe", "0.1.0")
    text = "\n".join(lin.render_markdown(section))
    assert "`/in` | 3:ab | 3 |" in text and "| output | `file` `/lake/silver/documents` | 4 |" in text


def test_registry_of_a_success_and_of_a_failure():
    ok = monitoring.RunMetrics("text_pipeline", "r", True, 10.0, {"ingest": 2.0}, 100,
                               {"silver.documents": 90}, {"documents": {"empty_input": 10}},
                               0.1, {"llm": 2})
    names = {m.name: m for m in monitoring.build_registry(ok).collect()}
    assert names["lakeprep_run_success"].samples[0].value == 1
    assert names["lakeprep_rejected_rows"].samples[0].labels == {"unit": "documents",
                                                                 "reason": "empty_input"}
    assert "lakeprep_run_last_success_timestamp_seconds" in {
        m.name for m in monitoring.outcome_registry(ok).collect()}
    failed = dataclasses.replace(ok, succeeded=False)
    assert {m.name for m in monitoring.outcome_registry(failed).collect()} == {
        "lakeprep_run_last_failure_timestamp_seconds"}


def test_the_environment_overrides_the_configured_pushgateway():
    settings = MonitoringSettings(pushgateway_url="http://configured:9091")
    assert monitoring.pushgateway_url(settings, {}) == "http://configured:9091"
    env = {monitoring.URL_ENV: "http://other:9091/"}
    assert monitoring.pushgateway_url(settings, env) == "http://other:9091"
    # Not configured anywhere: nothing is pushed, nothing is tried.
    assert monitoring.push(MonitoringSettings(), monitoring.RunMetrics("j", "r", True, 1.0),
                           env={}) is False


def test_docker_config_points_at_the_compose_pushgateway():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    url = load_settings(root / "conf" / "docker.yaml").monitoring.pushgateway_url
    assert url == "http://pushgateway:9091" and "pushgateway" in compose["services"]
    assert "prometheus" in compose["services"]
