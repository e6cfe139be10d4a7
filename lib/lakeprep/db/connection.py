"""Where the PostgreSQL target is, and how Spark (JDBC) and Python (psycopg2) reach it.

Resolution order: the libpq variables PGHOST, PGPORT, PGDATABASE, PGUSER (PGPASSWORD for the
password) override conf/; with no host from either, the embedded PostgreSQL is started.

With a Secrets Manager secret (``--db-secret-arn``, else ``LAKEPREP_PG_SECRET_ARN``, else
``postgres.password_secret_arn``; lakeprep.db.secrets), the secret is the source of the password
and of the user name (they are a pair) and, for the keys it holds, of host, port and database:
it wins over the variables and conf, PGPASSWORD is not read. On EMR the step passes only the ARN.

The password is never in a URL, a repr or a log line.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

from lakeprep.config import PostgresSettings
from lakeprep.db.secrets import DbSecret, SecretError, read_db_secret

# Environment variable naming the secret (the ARN, not a value): lets a deployment point the job
# at its secret without editing conf/ or the command line.
SECRET_ARN_ENV = "LAKEPREP_PG_SECRET_ARN"


@dataclass(frozen=True)
class PgTarget:
    host: str
    port: int
    database: str
    user: str
    schema: str
    embedded: bool
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """Safe for logs: no password."""
        kind = "embedded" if self.embedded else "external"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database} ({kind})"

    def jdbc_url(self) -> str:
        # reWriteBatchedInserts turns a JDBC batch into multi-row INSERTs: several times faster.
        return (f"jdbc:postgresql://{self.host}:{self.port}/{self.database}"
                "?reWriteBatchedInserts=true")

    def jdbc_properties(self) -> dict[str, str]:
        props = {"user": self.user, "driver": "org.postgresql.Driver"}
        if self.password:
            props["password"] = self.password
        return props

    def engine(self) -> sa.Engine:
        url = URL.create("postgresql+psycopg2", username=self.user, password=self.password,
                         host=self.host, port=self.port, database=self.database)
        return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)


def secret_arn_for(cfg: PostgresSettings, env: Mapping[str, str],
                   secret_arn: str | None = None) -> str | None:
    """The ARN to read credentials from: argument (--db-secret-arn), variable, then conf."""
    return (secret_arn or env.get(SECRET_ARN_ENV) or cfg.password_secret_arn or "").strip() or None


def resolve_target(cfg: PostgresSettings, env: Mapping[str, str] | None = None,
                   project_root: Path | None = None, secret_arn: str | None = None,
                   read_secret: Callable[[str], DbSecret] = read_db_secret) -> PgTarget:
    """Resolve the target; starts the embedded server when no host is configured anywhere.

    Raises SecretError (one line) when a secret is named but cannot be used.
    """
    env = os.environ if env is None else env
    host = env.get("PGHOST") or cfg.host
    port = int(env.get("PGPORT") or cfg.port)
    database = env.get("PGDATABASE") or cfg.database
    user = env.get("PGUSER") or cfg.user
    password = env.get("PGPASSWORD") or None
    arn = secret_arn_for(cfg, env, secret_arn)
    if arn:
        secret = read_secret(arn)
        host = secret.host or host
        port = secret.port or port
        database = secret.dbname or database
        user = secret.username or user
        password = secret.password
        if not host:
            # The embedded server has its own trust-authenticated user: a secret there would be
            # silently unused, which hides a missing PGHOST on a real deployment.
            raise SecretError(f"database secret {arn} given but no database host: set PGHOST, "
                              "postgres.host or a 'host' key in the secret")
    if host:
        return PgTarget(host, port, database, user, cfg.schema, False, password)

    from lakeprep.db.embedded import ensure_embedded

    data_dir = Path(cfg.embedded.data_dir)
    if not data_dir.is_absolute():
        data_dir = (project_root or Path.cwd()) / data_dir
    port = int(env.get("PGPORT") or cfg.embedded.port)
    params = ensure_embedded(data_dir, port)
    return PgTarget(params["host"], int(params["port"]), params["dbname"], params["user"],
                    cfg.schema, True, None)
