"""Database credentials from AWS Secrets Manager, read by the job at run time.

Sits between the configuration and the PostgreSQL target: ``lakeprep.db.connection.resolve_target``
calls :func:`read_db_secret` when a secret ARN is given (``--db-secret-arn``,
``LAKEPREP_PG_SECRET_ARN`` or ``postgres.password_secret_arn``). On AWS only the ARN travels in the
EMR step and the configuration; the password is fetched here, kept in memory, and never logged,
put in a repr, an exception message or Spark's configuration.

The secret is the JSON object RDS writes for a master password it manages (``username``,
``password``); ``host``, ``port`` and ``dbname`` (the keys of the RDS rotation format) are used
when present.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME. The region is taken from the ARN: on an
# EMR node boto3 does not derive a region from the instance, and the secret lives where it lives.
_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov|aws-iso[a-z-]*):secretsmanager:"
                  r"([a-z0-9-]+):(\d{12}):secret:(\S+)$")

# Error codes of GetSecretValue -> what the user has to do about it.
_EXPLAINED = {
    "AccessDeniedException": "access denied reading database secret {arn} (the role needs "
                             "secretsmanager:GetSecretValue on it, and kms:Decrypt on its key)",
    "ResourceNotFoundException": "database secret {arn} does not exist (check the ARN and region)",
    "DecryptionFailure": "cannot decrypt database secret {arn} (the role needs kms:Decrypt on "
                         "the secret's KMS key)",
    "InvalidRequestException": "database secret {arn} cannot be read now (scheduled for "
                               "deletion or not yet available)",
    "InvalidParameterException": "database secret {arn} was rejected by Secrets Manager "
                                 "(invalid ARN or version)",
}


class SecretError(RuntimeError):
    """The database secret cannot be read or does not hold usable credentials (one line)."""


@dataclass(frozen=True)
class DbSecret:
    """Credentials read from a secret; repr and str never show the password."""
    arn: str
    password: str = field(repr=False)
    username: str | None = None
    host: str | None = None
    port: int | None = None
    dbname: str | None = None


def parse_arn(arn: str) -> str:
    """Return the region of a Secrets Manager ARN; raise SecretError if ``arn`` is not one."""
    m = _ARN.match(arn.strip())
    if not m:
        raise SecretError(f"not a Secrets Manager secret ARN: {arn!r} (expected "
                          "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)")
    return m.group(2)


def explain(exc: Exception, arn: str) -> SecretError:
    """Turn a boto3/botocore failure into a one-line SecretError naming the secret."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
    )

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        template = _EXPLAINED.get(code)
        if template:
            return SecretError(template.format(arn=arn))
        return SecretError(f"Secrets Manager error reading database secret {arn}: {code or exc}")
    if isinstance(exc, NoCredentialsError):
        return SecretError(f"no AWS credentials to read database secret {arn} (instance profile, "
                           "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)")
    if isinstance(exc, EndpointConnectionError):
        return SecretError(f"cannot reach Secrets Manager to read database secret {arn} "
                           f"({exc.kwargs.get('endpoint_url', 'endpoint unknown')})")
    if isinstance(exc, NoRegionError):
        return SecretError(f"no AWS region for database secret {arn}")
    return SecretError(f"cannot read database secret {arn}: {type(exc).__name__}")


def parse_secret_string(arn: str, secret_string: str | None) -> DbSecret:
    """Validate the secret's JSON; messages name the problem, never the content."""
    if secret_string is None:
        raise SecretError(f"database secret {arn} has no SecretString (binary secrets are not "
                          "supported; store a JSON object with username and password)")
    try:
        data: Any = json.loads(secret_string)
    except ValueError:
        # `from None`: a JSONDecodeError carries the whole document, i.e. the password.
        raise SecretError(f"database secret {arn} is not valid JSON (expected an object with "
                          "username and password)") from None
    if not isinstance(data, dict):
        raise SecretError(f"database secret {arn} is not a JSON object (expected username and "
                          "password keys)")
    password = data.get("password")
    if not isinstance(password, str) or not password:
        raise SecretError(f"database secret {arn} has no non-empty string 'password' key")
    strings = {}
    for key in ("username", "host", "dbname"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise SecretError(f"database secret {arn}: '{key}' must be a string")
        strings[key] = value or None
    port = data.get("port")
    if port is not None:
        # RDS writes the port as a number; hand-made secrets often hold "5432".
        try:
            port = int(port)
        except (TypeError, ValueError):
            raise SecretError(f"database secret {arn}: 'port' must be a number") from None
        if not 0 < port < 65536:
            raise SecretError(f"database secret {arn}: 'port' {port} is out of range")
    return DbSecret(arn=arn, password=password, port=port, **strings)


def read_db_secret(arn: str, client: Any = None) -> DbSecret:
    """Fetch and parse the secret. ``client``: a boto3 secretsmanager client (default: one for
    the ARN's region, with the standard credential chain and AWS_ENDPOINT_URL* overrides)."""
    region = parse_arn(arn)
    arn = arn.strip()
    # Imported here: executors import lakeprep modules too and never need the AWS SDK.
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if client is None:
            client = boto3.client("secretsmanager", region_name=region)
        response = client.get_secret_value(SecretId=arn)
    except (BotoCoreError, ClientError) as exc:
        raise explain(exc, arn) from None
    secret = parse_secret_string(arn, response.get("SecretString"))
    log.info("database credentials read from secret %s (version %s)", arn,
             response.get("VersionId", "?"))
    return secret
