"""S3 settings: the conf `s3:` section, the AWS_* variables that override it, the Spark/Hadoop
options derived from both, and that no credential value ever reaches the conf, a repr or a log."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
import yaml

from lakeprep import s3
from lakeprep.config import ConfigError, S3Settings, load_settings, parse_settings

ROOT = Path(__file__).resolve().parents[2]
SECRET = "unit-Secret-Access-Key-91b2"
KEY_ID = "AKIAUNITTESTKEY00001"
TOKEN = "unit-Session-Token-55aa"
CREDS = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": TOKEN}


def raw_local() -> dict:
    return yaml.safe_load((ROOT / "conf" / "local.yaml").read_text())


def test_local_yaml_documents_the_defaults():
    assert raw_local()["s3"] == {"endpoint": "", "path_style_access": False, "region": ""}
    assert load_settings(ROOT / "conf" / "local.yaml").s3 == S3Settings()


def test_section_parsed_and_validated():
    raw = raw_local()
    raw["s3"] = {"endpoint": "http://127.0.0.1:8333/", "path_style_access": True, "region": "eu-west-3"}
    assert parse_settings(raw).s3 == S3Settings("http://127.0.0.1:8333", True, "eu-west-3")
    for bad in ({"path_style": True}, {"endpoint": "127.0.0.1:8333"},
                {"path_style_access": "yes"}, {"region": 3}):
        raw["s3"] = bad
        with pytest.raises(ConfigError, match="s3"):
            parse_settings(raw)
    del raw["s3"]
    assert parse_settings(raw).s3 == S3Settings()


def test_environment_overrides_configuration():
    conf = S3Settings(endpoint="http://conf:1", path_style_access=True, region="conf-region")
    assert s3.resolve(conf, {}).endpoint == "http://conf:1"
    assert s3.resolve(conf, {}).region == "conf-region"
    env = {"AWS_ENDPOINT_URL": "http://generic:2", "AWS_DEFAULT_REGION": "default-region"}
    assert s3.resolve(conf, env).endpoint == "http://generic:2"
    assert s3.resolve(conf, env).region == "default-region"
    env |= {"AWS_ENDPOINT_URL_S3": "http://s3-specific:3/", "AWS_REGION": "region"}
    resolved = s3.resolve(conf, env)
    assert (resolved.endpoint, resolved.region) == ("http://s3-specific:3", "region")
    # A custom endpoint with no region anywhere signs for us-east-1 (what S3-compatible servers
    # accept); AWS itself is left to the SDK's own region logic.
    assert s3.resolve(S3Settings(endpoint="http://x:1"), {}).region == "us-east-1"
    assert s3.resolve(S3Settings(), {}).region == ""


def test_spark_conf_sets_s3a_options():
    conf = s3.spark_conf(S3Settings(path_style_access=True),
                         {"AWS_ENDPOINT_URL": "http://127.0.0.1:9000", "AWS_REGION": "eu-north-1"})
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == "eu-north-1"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    providers = conf["spark.hadoop.fs.s3a.aws.credentials.provider"].split(",")
    assert "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider" in providers
    assert providers[-1] == "org.apache.hadoop.fs.s3a.auth.IAMInstanceCredentialsProvider"
    # s3:// is served by S3A off EMR ...
    assert conf["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    # ... and left to EMRFS on EMR.
    on_emr = s3.spark_conf(S3Settings(), {}, on_emr=True)
    assert "spark.hadoop.fs.s3.impl" not in on_emr
    # Plain AWS: no endpoint override, virtual-host addressing.
    aws = s3.spark_conf(S3Settings(), {})
    assert "spark.hadoop.fs.s3a.endpoint" not in aws
    assert aws["spark.hadoop.fs.s3a.path.style.access"] == "false"


def test_credentials_never_in_conf_repr_or_description():
    settings = S3Settings(endpoint="http://127.0.0.1:1", path_style_access=True)
    conf = s3.spark_conf(settings, CREDS)
    flat = repr(conf)
    resolved = s3.resolve(settings, CREDS)
    assert resolved.secret_access_key == SECRET  # read, so the test below is meaningful
    for text in (flat, repr(resolved), str(resolved), resolved.describe()):
        assert SECRET not in text and TOKEN not in text and KEY_ID not in text
    assert "temporary keys from AWS_ACCESS_KEY_ID" in resolved.describe()
    # No secret-bearing S3A option is set at all: credentials stay in the environment.
    assert not any(k.endswith(("secret.key", "access.key", "session.token")) for k in conf)


def test_build_session_applies_s3_conf_and_logs_no_secret(monkeypatch, caplog):
    """build_session hands the S3A options to the builder and logs where credentials come
    from, never their value (fake builder: no JVM needed)."""
    import lakeprep.spark as spark_mod

    recorded: dict[str, str] = {}

    class FakeBuilder:
        def appName(self, _):
            return self

        def master(self, _):
            return self

        def config(self, key, value):
            recorded[key] = value
            return self

        def getOrCreate(self):
            return "session"

    class FakeSparkSession:
        builder = FakeBuilder()

    monkeypatch.setattr(spark_mod, "SparkSession", FakeSparkSession)
    monkeypatch.setattr(spark_mod, "check_classpath", lambda _s: None)
    monkeypatch.setattr(spark_mod.s3conf, "running_on_emr", lambda: False)
    for key, value in {**CREDS, "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}.items():
        monkeypatch.setenv(key, value)
    settings = load_settings(ROOT / "conf" / "local.yaml")
    spark_settings = dataclasses.replace(
        settings.spark, conf={**settings.spark.conf, "spark.hadoop.fs.s3a.path.style.access": "false"})
    with caplog.at_level(logging.DEBUG):
        assert spark_mod.build_session(spark_settings, s3=S3Settings(path_style_access=True)) == "session"
    assert recorded["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:4566"
    assert recorded["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    # An explicit spark.conf entry wins over the value derived from the s3 section.
    assert recorded["spark.hadoop.fs.s3a.path.style.access"] == "false"
    assert "endpoint=http://127.0.0.1:4566" in caplog.text
    for text in (caplog.text, repr(recorded)):
        assert SECRET not in text and TOKEN not in text and KEY_ID not in text


def test_boto3_kwargs_match_spark():
    kwargs = s3.boto3_client_kwargs(S3Settings(path_style_access=True),
                                    {"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5000"})
    assert kwargs["endpoint_url"] == "http://127.0.0.1:5000"
    assert kwargs["region_name"] == "us-east-1"
    assert kwargs["config"].s3["addressing_style"] == "path"
    override = s3.boto3_client_kwargs(S3Settings(), {}, endpoint_url="http://other:1/")
    assert override["endpoint_url"] == "http://other:1"
    assert "endpoint_url" not in s3.boto3_client_kwargs(S3Settings(), {})


def test_split_s3_uri():
    assert s3.split_s3_uri("s3://bucket/a/b/") == ("bucket", "a/b")
    assert s3.split_s3_uri("s3a://bucket") == ("bucket", "")
    with pytest.raises(ValueError, match="not an S3 URI"):
        s3.split_s3_uri("/local/path")
