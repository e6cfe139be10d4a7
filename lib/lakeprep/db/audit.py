"""The audit log: which run, as which database user and role, changed which table, how, and by how
many rows. Written by the load steps inside the transaction that makes the change, so a change
and its audit row commit (or roll back) together; a merge that changed nothing in a table writes
no row for it.
"""
from __future__ import annotations

import sqlalchemy as sa

from lakeprep.config import validate_identifier
from lakeprep.db import schema as S

ACTIONS = ("upsert", "insert", "delete")


def record(conn: sa.Connection, schema: str, run_id: str, job: str,
           changes: list[tuple[str, str, int]]) -> int:
    """Insert one audit row per (action, table, rows) with rows > 0, on ``conn`` (the change's
    own transaction). ``table`` is schema-qualified by the caller when it is not in ``schema``.
    Returns the rows written."""
    q = '"' + validate_identifier(schema, "postgres.schema") + '"'
    written = 0
    for action, table, rows in changes:
        if action not in ACTIONS:
            raise ValueError(f"audit: unknown action {action!r}")
        if not rows or rows < 0:
            continue
        conn.execute(sa.text(
            f"INSERT INTO {q}.{S.AUDIT} (run_id, job, db_user, db_role, action, table_name, rows) "
            "VALUES (:run_id, :job, session_user, current_user, :action, :table, :rows)"),
            {"run_id": run_id, "job": job, "action": action, "table": table, "rows": rows})
        written += 1
    return written
