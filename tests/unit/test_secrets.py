"""Database credentials from Secrets Manager: ARN and JSON validation, one-line errors, precedence
over the libpq variables and conf, and the password never in a repr or message."""
import dataclasses

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from lakeprep.config import ConfigError, load_settings, parse_settings
from lakeprep.db.connection import SECRET_ARN_ENV, resolve_target
from lakeprep.db.secrets import DbSecret, SecretError, explain, parse_arn, parse_secret_string

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0a1b2c-AbCdEf"
OTHER_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-XyZ123"
PASSWORD = "pw-7f3e-Secret!"
PG = dataclasses.replace(load_settings().postgres, host="db.internal", port=5432)


def secrets_by_arn(**by_arn):
    """A read_secret for resolve_target that records which ARNs were read."""
    calls = []

    def read(arn):
        calls.append(arn)
        return by_arn[arn]
    read.calls = calls
    return read


# --- ARN ------------------------------------------------------------------------------------

def test_region_comes_from_the_arn():
    assert parse_arn(ARN) == "eu-west-1"
    assert parse_arn("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x") == "cn-north-1"


@pytest.mark.parametrize("bad", ["", "my-secret", "arn:aws:s3:::bucket",
                                 "arn:aws:secretsmanager:eu-west-1:123:secret:x"])
def test_not_an_arn_is_one_clear_line(bad):
    with pytest.raises(SecretError, match="not a Secrets Manager secret ARN") as err:
        parse_arn(bad)
    assert "\n" not in str(err.value)


# --- secret JSON ----------------------------------------------------------------------------

def test_rds_managed_secret_has_username_and_password():
    s = parse_secret_string(ARN, '{"username": "lakeprep_admin", "password": "%s"}' % PASSWORD)
    assert (s.username, s.password, s.host, s.port, s.dbname) == \
        ("lakeprep_admin", PASSWORD, None, None, None)


def test_host_port_dbname_used_when_present():
    s = parse_secret_string(ARN, '{"username": "u", "password": "p", "host": "h.rds", '
                                 '"port": "6543", "dbname": "lake", "engine": "postgres"}')
    assert (s.host, s.port, s.dbname) == ("h.rds", 6543, "lake")


@pytest.mark.parametrize("content,reason", [
    (None, "has no SecretString"),
    ("password=" + PASSWORD, "is not valid JSON"),
    ('["%s"]' % PASSWORD, "is not a JSON object"),
    ('{"username": "u"}', "no non-empty string 'password'"),
    ('{"username": "u", "password": ""}', "no non-empty string 'password'"),
    ('{"username": "u", "password": 12345}', "no non-empty string 'password'"),
    ('{"username": 7, "password": "%s"}' % PASSWORD, "'username' must be a string"),
    ('{"password": "%s", "port": "fifty"}' % PASSWORD, "'port' must be a number"),
    ('{"password": "%s", "port": 70000}' % PASSWORD, "'port' 70000 is out of range"),
])
def test_malformed_secret_is_one_line_without_its_content(content, reason):
    with pytest.raises(SecretError) as err:
        parse_secret_string(ARN, content)
    message = str(err.value)
    assert reason in message and ARN in message and "\n" not in message
    assert PASSWORD not in message
    # No chained exception carries the document (a JSONDecodeError holds it in .doc).
    assert err.value.__cause__ is None
    assert err.value.__context__ is None or err.value.__suppress_context__


def test_secret_repr_hides_the_password():
    s = DbSecret(ARN, PASSWORD, "u")
    assert PASSWORD not in repr(s) and PASSWORD not in str(s)


# --- AWS errors -----------------------------------------------------------------------------

def client_error(code):
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "GetSecretValue")


@pytest.mark.parametrize("exc,expected", [
    (client_error("AccessDeniedException"), "access denied reading database secret"),
    (client_error("ResourceNotFoundException"), "does not exist"),
    (client_error("DecryptionFailure"), "cannot decrypt database secret"),
    (client_error("InvalidRequestException"), "scheduled for deletion"),
    (client_error("ThrottlingException"), "Secrets Manager error reading database secret"),
    (NoCredentialsError(), "no AWS credentials"),
    (EndpointConnectionError(endpoint_url="https://secretsmanager.eu-west-1.amazonaws.com"),
     "cannot reach Secrets Manager"),
])
def test_aws_errors_become_one_line_naming_the_secret(exc, expected):
    message = str(explain(exc, ARN))
    assert expected in message and ARN in message and "\n" not in message


# --- precedence in resolve_target -----------------------------------------------------------

def test_without_a_secret_pgpassword_is_used_as_before():
    read = secrets_by_arn()
    t = resolve_target(PG, env={"PGPASSWORD": "from-env"}, read_secret=read)
    assert (t.user, t.password) == (PG.user, "from-env") and read.calls == []


def test_secret_supplies_user_and_password_over_the_variables():
    read = secrets_by_arn(**{ARN: DbSecret(ARN, PASSWORD, "admin")})
    t = resolve_target(PG, env={"PGPASSWORD": "stale", "PGUSER": "someone"}, secret_arn=ARN,
                       read_secret=read)
    assert (t.host, t.port, t.user, t.password) == ("db.internal", 5432, "admin", PASSWORD)
    assert PASSWORD not in repr(t) and PASSWORD not in t.describe()


def test_secret_location_keys_win_and_missing_ones_fall_back():
    read = secrets_by_arn(**{ARN: DbSecret(ARN, PASSWORD, None, host="h.rds", port=6543)})
    t = resolve_target(PG, env={"PGHOST": "ignored", "PGDATABASE": "envdb", "PGUSER": "envuser"},
                       secret_arn=ARN, read_secret=read)
    assert (t.host, t.port, t.database, t.user) == ("h.rds", 6543, "envdb", "envuser")


def test_arn_precedence_flag_then_variable_then_conf():
    secrets = {ARN: DbSecret(ARN, "flag-pw"), OTHER_ARN: DbSecret(OTHER_ARN, "env-pw")}
    conf_arn = ARN.replace("rds!db", "conf")
    secrets[conf_arn] = DbSecret(conf_arn, "conf-pw")
    cfg = dataclasses.replace(PG, password_secret_arn=conf_arn)
    env = {SECRET_ARN_ENV: OTHER_ARN}
    assert resolve_target(cfg, env=env, secret_arn=ARN,
                          read_secret=secrets_by_arn(**secrets)).password == "flag-pw"
    assert resolve_target(cfg, env=env, read_secret=secrets_by_arn(**secrets)).password == "env-pw"
    assert resolve_target(cfg, env={}, read_secret=secrets_by_arn(**secrets)).password == "conf-pw"


def test_secret_without_any_host_is_an_error_not_the_embedded_server():
    read = secrets_by_arn(**{ARN: DbSecret(ARN, PASSWORD, "u")})
    with pytest.raises(SecretError, match="no database host") as err:
        resolve_target(dataclasses.replace(PG, host=""), env={}, secret_arn=ARN,
                       read_secret=read)
    assert PASSWORD not in str(err.value)


# --- configuration --------------------------------------------------------------------------

def test_conf_key_is_read_and_typed(tmp_path):
    import yaml

    raw = yaml.safe_load(open(load_settings().source_path, encoding="utf-8"))
    raw["postgres"]["password_secret_arn"] = ARN
    assert parse_settings(raw).postgres.password_secret_arn == ARN
    raw["postgres"]["password_secret_arn"] = 42
    with pytest.raises(ConfigError, match="postgres.password_secret_arn"):
        parse_settings(raw)
    del raw["postgres"]["password_secret_arn"]
    assert parse_settings(raw).postgres.password_secret_arn == ""


def test_committed_configs_name_no_secret_value():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for name in ("local.yaml", "docker.yaml", "emr.yaml"):
        pg = load_settings(root / "conf" / name).postgres
        assert pg.password_secret_arn == "" or pg.password_secret_arn.startswith("arn:")
