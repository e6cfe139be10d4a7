"""Configuration loading: every environment file is valid, overrides work, bad values fail early."""
from pathlib import Path

import pytest
import yaml

from lakeprep.config import ConfigError, load_settings, validate_identifier

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.mark.parametrize("name", ["local.yaml", "docker.yaml", "emr.yaml"])
def test_every_environment_file_loads(name):
    settings = load_settings(CONF / name)
    assert settings.chunking.max_tokens == 512
    assert settings.chunk_filter.max_non_alnum_ratio == 0.30


def test_extends_overrides_only_what_it_names():
    local, docker = load_settings(CONF / "local.yaml"), load_settings(CONF / "docker.yaml")
    assert docker.postgres.host == "postgres" and local.postgres.host == ""
    assert docker.document_filter == local.document_filter
    assert docker.spark.conf["spark.driver.memory"] == "2g"
    assert docker.spark.conf["spark.sql.shuffle.partitions"] == local.spark.conf["spark.sql.shuffle.partitions"]


def write(tmp_path, data, name="c.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_bad_values_fail_with_the_key(tmp_path):
    raw = yaml.safe_load((CONF / "local.yaml").read_text())
    raw["chunk_filter"]["max_non_alnum_ratio"] = 1.5
    with pytest.raises(ConfigError, match="chunk_filter.max_non_alnum_ratio"):
        load_settings(write(tmp_path, raw))
    raw = yaml.safe_load((CONF / "local.yaml").read_text())
    del raw["document_filter"]["min_words"]
    with pytest.raises(ConfigError, match="document_filter.min_words"):
        load_settings(write(tmp_path, raw))
    raw = yaml.safe_load((CONF / "local.yaml").read_text())
    raw["pii"]["detectors"] = ["email", "passport"]
    with pytest.raises(ConfigError, match="passport"):
        load_settings(write(tmp_path, raw))


def test_schema_name_must_be_a_plain_identifier(tmp_path):
    raw = yaml.safe_load((CONF / "local.yaml").read_text())
    raw["postgres"]["schema"] = 'public"; DROP TABLE chunks; --'
    with pytest.raises(ConfigError, match="postgres.schema"):
        load_settings(write(tmp_path, raw))
    assert validate_identifier("text_lake") == "text_lake"


def test_extends_loop_is_an_error(tmp_path):
    write(tmp_path, {"extends": "b.yaml"}, "a.yaml")
    write(tmp_path, {"extends": "a.yaml"}, "b.yaml")
    with pytest.raises(ConfigError, match="loop"):
        load_settings(tmp_path / "a.yaml")


def test_rules_fingerprint_tracks_thresholds(tmp_path):
    raw = yaml.safe_load((CONF / "local.yaml").read_text())
    base = load_settings(write(tmp_path, raw)).rules_fingerprint()
    raw["document_filter"]["min_words"] = 10
    assert load_settings(write(tmp_path, raw)).rules_fingerprint() != base
