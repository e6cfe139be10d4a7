"""S3 access settings: configuration (conf/*.yaml ``s3:``) + the standard AWS variables -> the
Hadoop S3A options Spark needs, and the same endpoint/region/addressing for boto3.

Pure functions of (settings, environment), so every rule is unit-tested without a JVM.

Precedence, the same as the AWS CLI and SDKs so one shell setup works for both tools:
  endpoint     AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL > s3.endpoint > AWS itself
  region       AWS_REGION > AWS_DEFAULT_REGION > s3.region > us-east-1 (custom endpoint only)
  credentials  never configured, never copied into Spark's configuration: the S3A provider
               chain reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN from
               the JVM's environment, or the EC2/EMR instance profile.

Keeping secrets out of the Spark conf matters: the conf is shown in the Spark UI, written to
event logs and printed by ``spark.sparkContext.getConf().getAll()``; the environment is not.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lakeprep.config import S3Settings

# Providers tried in order by S3A (hadoop-aws 3.4 accepts SDK v2 provider classes directly):
# - TemporaryAWSCredentialsProvider / SimpleAWSCredentialsProvider: fs.s3a.access.key,
#   secret.key (and session.token) when an operator put them in a cluster's core-site.xml;
#   this code never sets them;
# - EnvironmentVariableCredentialsProvider: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
#   AWS_SESSION_TOKEN of the JVM (spark-submit, or the JVM PySpark starts, inherits them);
# - IAMInstanceCredentialsProvider: the EC2/EMR instance profile (container credentials on
#   ECS/EKS too). Last, because off EC2 it only fails after a metadata-service timeout.
# This is hadoop-aws 3.4's own default, written out so a cluster core-site.xml that narrows the
# chain cannot silently drop the environment variables.
CREDENTIALS_PROVIDERS = ",".join((
    "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider",
    "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
    "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider",
    "org.apache.hadoop.fs.s3a.auth.IAMInstanceCredentialsProvider",
))

S3A_FILESYSTEM = "org.apache.hadoop.fs.s3a.S3AFileSystem"
S3A_ABSTRACT_FILESYSTEM = "org.apache.hadoop.fs.s3a.S3A"

# With a custom endpoint the SDK still signs requests for a region; S3-compatible servers
# (MinIO, SeaweedFS, moto) accept us-east-1, the region S3 itself treats as the default.
DEFAULT_CUSTOM_ENDPOINT_REGION = "us-east-1"

# Files that exist only on EMR nodes: there, s3:// is EMRFS (consistent view, EMR's own
# credentials handling) and must not be remapped to S3A.
_EMR_MARKERS = ("/usr/share/aws/emr/emrfs", "/emr/instance-controller/lib/info/job-flow.json")


@dataclass(frozen=True)
class ResolvedS3:
    """Effective S3 settings. Credential values are kept out of repr (repr=False) so printing
    or logging this object can never show them; only where they come from is described."""
    endpoint: str
    region: str
    path_style_access: bool
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    @property
    def credentials_source(self) -> str:
        if self.access_key_id and self.secret_access_key:
            kind = "temporary keys" if self.session_token else "keys"
            return f"{kind} from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        return "SDK default chain (instance profile / container credentials)"

    def describe(self) -> str:
        """One log line, safe to print: no secret, no access key id."""
        return (f"S3: endpoint={self.endpoint or 'AWS'} region={self.region or 'SDK default'} "
                f"path_style_access={str(self.path_style_access).lower()} "
                f"credentials={self.credentials_source}")


def _first(env: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = (env.get(name) or "").strip()
        if value:
            return value
    return ""


def resolve(settings: S3Settings, env: Mapping[str, str] | None = None) -> ResolvedS3:
    env = os.environ if env is None else env
    endpoint = _first(env, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL") or settings.endpoint
    region = _first(env, "AWS_REGION", "AWS_DEFAULT_REGION") or settings.region
    if endpoint and not region:
        region = DEFAULT_CUSTOM_ENDPOINT_REGION
    return ResolvedS3(
        endpoint=endpoint.rstrip("/"),
        region=region,
        path_style_access=settings.path_style_access,
        access_key_id=_first(env, "AWS_ACCESS_KEY_ID") or None,
        secret_access_key=_first(env, "AWS_SECRET_ACCESS_KEY") or None,
        session_token=_first(env, "AWS_SESSION_TOKEN") or None,
    )


def running_on_emr() -> bool:
    return any(Path(marker).exists() for marker in _EMR_MARKERS)


def spark_conf(settings: S3Settings, env: Mapping[str, str] | None = None, *,
               on_emr: bool = False) -> dict[str, str]:
    """Spark configuration (``spark.hadoop.fs.s3a.*``) for ``settings`` under ``env``.

    Contains no credential value by construction (see the module docstring).
    """
    s3 = resolve(settings, env)
    conf = {
        "spark.hadoop.fs.s3a.aws.credentials.provider": CREDENTIALS_PROVIDERS,
        "spark.hadoop.fs.s3a.path.style.access": str(s3.path_style_access).lower(),
    }
    if s3.endpoint:
        conf["spark.hadoop.fs.s3a.endpoint"] = s3.endpoint
        # http:// endpoints (local servers) need TLS off; S3A 3.4 reads the scheme of the
        # endpoint URL, this keeps older readers of the same option consistent.
        conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(
            s3.endpoint.startswith("https://")).lower()
    if s3.region:
        conf["spark.hadoop.fs.s3a.endpoint.region"] = s3.region
    if not on_emr:
        # s3://bucket/key is how AWS users (and EMR steps) spell S3 paths; off EMR, Hadoop has
        # no filesystem for that scheme, so it is served by S3A with the same fs.s3a.* options.
        conf["spark.hadoop.fs.s3.impl"] = S3A_FILESYSTEM
        conf["spark.hadoop.fs.AbstractFileSystem.s3.impl"] = S3A_ABSTRACT_FILESYSTEM
    return conf


def boto3_client_kwargs(settings: S3Settings, env: Mapping[str, str] | None = None,
                        endpoint_url: str | None = None) -> dict:
    """Keyword arguments for ``boto3.client("s3", ...)`` matching what Spark uses.

    Credentials are left to boto3's own chain (the same AWS_* variables, ~/.aws, instance
    profile), so they never pass through this code.
    """
    from botocore.config import Config

    s3 = resolve(settings, env)
    endpoint = (endpoint_url or s3.endpoint).rstrip("/")
    kwargs: dict = {
        "config": Config(
            s3={"addressing_style": "path" if s3.path_style_access else "auto"},
            retries={"mode": "standard", "max_attempts": 5},
        ),
    }
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    region = s3.region or (DEFAULT_CUSTOM_ENDPOINT_REGION if endpoint else "")
    if region:
        kwargs["region_name"] = region
    return kwargs


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` (also s3a://, s3n://) -> ("bucket", "a/b")."""
    for scheme in ("s3://", "s3a://", "s3n://"):
        if uri.startswith(scheme):
            bucket, _, prefix = uri[len(scheme):].partition("/")
            if bucket:
                return bucket, prefix.strip("/")
    raise ValueError(f"not an S3 URI (s3://bucket/prefix): {uri}")
