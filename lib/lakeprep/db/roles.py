"""Least-privilege PostgreSQL roles for the serving schema: a loader and a read-only analyst.

Part of schema creation: ``lakeprep.db.load.create_schema`` calls :func:`ensure_roles` after the
DDL, so a database set up by the pipeline always has both roles with current grants. Both are
NOLOGIN group roles; people and jobs log in as their own users that are members of one:

- loader (``postgres.roles.loader``): USAGE on the schema; SELECT, INSERT, DELETE on the staging
  tables (JDBC append, clean-up of a run's rows); SELECT, INSERT, UPDATE, DELETE on the final
  tables, ``pipeline_runs`` and ``lineage`` (the merge's upserts and chunk removals, the run
  rows); SELECT and INSERT only on ``audit_log`` (append-only). It owns
  nothing, so it cannot CREATE, ALTER, DROP or TRUNCATE a table;
- analyst (``postgres.roles.analyst``): USAGE on the schema and SELECT on the final tables only,
  never on staging (half-loaded rows of a running load).

Default privileges give both roles the same rights on tables the owner creates later.

Creating roles needs CREATEROLE (or superuser) and granting needs the tables' owner: run by
anyone else (a loader member running the job), this step logs why it is skipped and changes
nothing, so the split is "an admin runs ``python -m lakeprep.db.roles`` once, the loader runs
the job". Every identifier comes from :func:`lakeprep.config.validate_identifier` or the schema
module's constants; no value is interpolated into SQL.
"""
from __future__ import annotations

import argparse
import logging
import sys

import sqlalchemy as sa

from lakeprep.config import RolesSettings, validate_identifier
from lakeprep.db import schema as S

log = logging.getLogger("lakeprep.db.roles")

FINAL_TABLES = (S.DOCUMENTS, S.CHUNKS, S.REJECTED_CHUNKS, S.RUNS, S.LINEAGE)
STAGING_TABLES = (S.STG_DOCUMENTS, S.STG_CHUNKS)


def _can_manage(conn: sa.Connection, schema: str) -> tuple[bool, str]:
    """(allowed, why not): CREATEROLE or superuser, and membership in the owner of the tables."""
    row = conn.execute(sa.text(
        "SELECT r.rolsuper, r.rolcreaterole, "
        "pg_has_role(current_user, c.relowner, 'MEMBER') "
        "FROM pg_roles r, pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE r.rolname = current_user AND n.nspname = :schema AND c.relname = :table"),
        {"schema": schema, "table": S.DOCUMENTS}).first()
    if row is None:
        return False, f"table {schema}.{S.DOCUMENTS} does not exist"
    superuser, createrole, owns = row
    if superuser:
        return True, ""
    if not createrole:
        return False, "the connecting user has no CREATEROLE privilege"
    if not owns:
        return False, "the connecting user does not own the tables"
    return True, ""


def _role_exists(conn: sa.Connection, role: str) -> bool:
    return conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"),
                        {"role": role}).first() is not None


def grant_statements(schema: str, roles: RolesSettings) -> list[str]:
    """The GRANT / REVOKE / ALTER DEFAULT PRIVILEGES statements, in order (all idempotent)."""
    q = '"' + validate_identifier(schema, "postgres.schema") + '"'
    loader = '"' + validate_identifier(roles.loader, "postgres.roles.loader") + '"'
    analyst = '"' + validate_identifier(roles.analyst, "postgres.roles.analyst") + '"'
    final = ", ".join(f"{q}.{t}" for t in FINAL_TABLES)
    staging = ", ".join(f"{q}.{t}" for t in STAGING_TABLES)
    return [
        f"GRANT USAGE ON SCHEMA {q} TO {loader}, {analyst}",
        f"GRANT SELECT, INSERT, DELETE ON {staging} TO {loader}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {final} TO {loader}",
        f"GRANT SELECT ON {final} TO {analyst}",
        # Future tables: what the owner creates next gets the same rights.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES "
        f"TO {loader}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q} GRANT SELECT ON TABLES TO {analyst}",
        # ...but staging is never the analyst's, even when a default privilege covered it.
        f"REVOKE ALL ON {staging} FROM {analyst}",
        # The audit log is append-only for the loader: it records its changes, never edits them
        # (the default privileges above would otherwise give it UPDATE and DELETE).
        f"GRANT SELECT, INSERT ON {q}.{S.AUDIT} TO {loader}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {q}.{S.AUDIT} FROM {loader}",
        f"GRANT SELECT ON {q}.{S.AUDIT} TO {analyst}",
    ]


def ensure_roles(conn: sa.Connection, schema: str, roles: RolesSettings) -> bool:
    """Create the group roles if missing and (re)apply the grants. Returns False, with a log
    line saying why, when the connecting user may not do it (the run goes on: a loader member
    running the job is expected to land here)."""
    allowed, why = _can_manage(conn, schema)
    if not allowed:
        if all(_role_exists(conn, r) for r in (roles.loader, roles.analyst)):
            log.info("database roles: managed by an admin (%s); left as they are", why)
        else:
            log.warning("database roles %s / %s not created: %s. An admin can create them with "
                        "`python -m lakeprep.db.roles`", roles.loader, roles.analyst, why)
        return False
    for role in (roles.loader, roles.analyst):
        name = validate_identifier(role, "postgres.roles")
        if not _role_exists(conn, name):
            conn.execute(sa.text(f'CREATE ROLE "{name}" NOLOGIN'))
            log.info("database roles: created %s", name)
    for statement in grant_statements(schema, roles):
        conn.execute(sa.text(statement))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakeprep.db.roles",
        description="Admin step: create the serving schema, its tables and the loader / analyst "
                    "group roles with their grants. Run it once as the owner (a user with "
                    "CREATEROLE); the job can then run as a member of the loader role.",
        epilog="The target is resolved like the job's: conf/ postgres.*, overridden by PGHOST, "
               "PGPORT, PGDATABASE, PGUSER, PGPASSWORD. Then e.g.: CREATE ROLE etl LOGIN "
               "PASSWORD '...' IN ROLE lakeprep_loader;")
    parser.add_argument("--config", metavar="PATH", help="YAML configuration (default: "
                                                         "conf/local.yaml)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from lakeprep.config import ConfigError, load_settings
    from lakeprep.db.connection import resolve_target
    from lakeprep.db.load import create_schema

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    target = resolve_target(settings.postgres)
    engine = target.engine()
    try:
        create_schema(engine, target.schema, settings.chunking.max_tokens,
                      roles=settings.postgres.roles)
        with engine.connect() as conn:
            allowed, why = _can_manage(conn, target.schema)
    except sa.exc.SQLAlchemyError as exc:
        print(f"error: {target.describe()}: {str(exc.orig or exc).strip().splitlines()[0]}",
              file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if not allowed:
        print(f"error: roles not created on {target.describe()}: {why}", file=sys.stderr)
        return 1
    print(f"schema {target.schema} ready on {target.describe()}; roles "
          f"{settings.postgres.roles.loader} (load) and {settings.postgres.roles.analyst} "
          "(read) granted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
