"""Where the PostgreSQL target is, and how Spark (JDBC) and Python (psycopg2) reach it.

Resolution order: the libpq variables PGHOST, PGPORT, PGDATABASE, PGUSER (PGPASSWORD for the
password) override conf/; with no host from either, the embedded PostgreSQL is started. The
password is only ever read from the environment and never appears in a URL, a repr or a log line.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

from lakeprep.config import PostgresSettings


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


def resolve_target(cfg: PostgresSettings, env: dict[str, str] | None = None,
                   project_root: Path | None = None) -> PgTarget:
    """Resolve the target; starts the embedded server when no host is configured anywhere."""
    env = os.environ if env is None else env
    host = env.get("PGHOST") or cfg.host
    database = env.get("PGDATABASE") or cfg.database
    user = env.get("PGUSER") or cfg.user
    password = env.get("PGPASSWORD") or None
    if host:
        port = int(env.get("PGPORT") or cfg.port)
        return PgTarget(host, port, database, user, cfg.schema, False, password)

    from lakeprep.db.embedded import ensure_embedded

    data_dir = Path(cfg.embedded.data_dir)
    if not data_dir.is_absolute():
        data_dir = (project_root or Path.cwd()) / data_dir
    port = int(env.get("PGPORT") or cfg.embedded.port)
    params = ensure_embedded(data_dir, port)
    return PgTarget(params["host"], int(params["port"]), params["dbname"], params["user"],
                    cfg.schema, True, None)
