"""SQL built with f-strings interpolates only names, and only names known to be safe.

Identifiers cannot be bound parameters, so schema, table, column and role names are pasted into
SQL text; values never are (they travel as ``:name`` / ``%s`` parameters). This test finds every
f-string in lib/ whose literal text is SQL and requires each interpolated expression to be one
listed below for that file, with where its value comes from: a constant of lakeprep.db.schema, a
column list of the module, or a name that went through ``config.validate_identifier``. A new
interpolation fails until it is reviewed and listed. The configuration side is tested too: an
injection attempt in conf is a ConfigError before any SQL is built.
"""
from __future__ import annotations

import ast
import copy
import re
from pathlib import Path

import pytest
import yaml

from lakeprep.config import ConfigError, parse_settings, validate_identifier

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lib" / "lakeprep"
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|GRANT|REVOKE|TRUNCATE|FROM|"
                 r"WHERE)\b|ON CONFLICT")

VALIDATED = "validated by config.validate_identifier (postgres.schema / create_schema)"
SAFE = {
    "db/load.py": {
        "schema": VALIDATED,
        "q": "the validated schema in double quotes",
        "table": "a table-name constant of lakeprep.db.schema",
        "stg": "a staging-table constant of lakeprep.db.schema",
        "source": "a staging-table constant of lakeprep.db.schema",
        "table.name": "a Table of lakeprep.db.schema's metadata",
        "column.name": "a Column of lakeprep.db.schema's metadata",
        "ddl": "a column type compiled by SQLAlchemy from the models",
        "default": "a server default of the models, quoted as a literal",
        "null": "'' or ' NOT NULL'",
        "key": "a primary-key column name constant",
        "select": "built from the module's column lists",
        "updates": "built from the module's column lists",
        "where": "a fixed predicate with :run_id bound",
        "', '.join(columns)": "the module's column lists",
        "_distinct(compared, 't', 'EXCLUDED')": "built from the module's column lists",
        "S.CHUNKS": "constant", "S.REJECTED_CHUNKS": "constant", "S.STG_DOCUMENTS": "constant",
        "S.STG_CHUNKS": "constant", "S.RUNS": "constant",
    },
    "dashboard/queries.py": {
        "self._table(schema, table)": "schema and table quoted as identifiers by _table "
                                      "(conf schema names, the module's table constants)",
        "where": "a fixed predicate written in the module (summary())",
    },
    "db/audit.py": {"q": "the schema, validated in audit.record", "S.AUDIT": "constant"},
    "db/roles.py": {
        "q": "the schema, validated in grant_statements",
        "S.AUDIT": "constant",
        "loader": "validated in grant_statements", "analyst": "validated in grant_statements",
        "staging": "staging-table constants under the validated schema",
        "final": "final-table constants under the validated schema",
        "name": "a role name validated just before",
    },
    "trials/pipeline.py": {"schema": VALIDATED, "pg_schema.RUNS": "constant"},
    "trials/warehouse.py": {
        "schema": "validated by validate_identifier (trials.postgres.schema)",
        "q": "the validated schema in double quotes",
        "table": "a table name of the module's KEYS / metadata constants",
        "key": "a key column of the module's KEYS constant",
        "_staging(table)": "'stg_' + a constant table name",
        "_staging('studies')": "constant", "_staging('quarantine')": "constant",
        "cols": "column names of the module's SQLAlchemy metadata",
        "sets": "column names of the module's SQLAlchemy metadata",
        "distinct": "column names of the module's SQLAlchemy metadata",
        "names": "column names of the module's SQLAlchemy metadata",
        "name": "a table of the module's metadata or its 'stg_' twin",
        "c.name": "a Column of the module's SQLAlchemy metadata",
        "c.type.compile(dialect=dialect)": "a column type compiled by SQLAlchemy from the models",
        "source": "a SELECT built from metadata column names and the staging table",
        "', '.join(key)": "key columns of the module's LOOKUP_TABLES constant",
    },
    "bench/job.py": {"name": "a benchmark database name built by the benchmark itself"},
    "bench/pgload.py": {"table": "a constant table name of the benchmark"},
    "bench/render.py": {"ld['rows']": "Markdown text, not SQL",
                        "ld['connections']": "Markdown text, not SQL",
                        "ld.get('writer', 'insert')": "Markdown text, not SQL"},
}


def sql_interpolations(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.JoinedStr):
            continue
        literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        if SQL.search(literal):
            found.update(ast.unparse(v.value) for v in node.values
                         if isinstance(v, ast.FormattedValue))
    return found


def unreviewed() -> dict[str, list[str]]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        extra = sql_interpolations(path.read_text(encoding="utf-8")) - set(SAFE.get(rel, {}))
        if extra:
            out[rel] = sorted(extra)
    return out


def test_sql_fstrings_interpolate_only_reviewed_names():
    assert unreviewed() == {}


def test_the_scan_catches_a_value_pasted_into_sql():
    planted = 'def f(conn, run_id):\n    conn.execute(f"DELETE FROM t WHERE run_id = \'{run_id}\'")\n'
    assert sql_interpolations(planted) == {"run_id"}
    assert sql_interpolations('x = f"hello {name}"\n') == set()


def _local_config() -> dict:
    return yaml.safe_load((ROOT / "conf" / "local.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("key, path", [
    ("schema", ("postgres", "schema")),
    ("loader", ("postgres", "roles", "loader")),
    ("analyst", ("postgres", "roles", "analyst")),
])
@pytest.mark.parametrize("evil", ['x"; drop table y; --', "Public", "a b", "", "x" * 64])
def test_injection_in_conf_is_a_config_error(key, path, evil):
    raw = copy.deepcopy(_local_config())
    section = raw
    for part in path[:-1]:
        section = section[part]
    section[path[-1]] = evil
    with pytest.raises(ConfigError, match=key):
        parse_settings(raw)


def test_plain_names_pass():
    assert validate_identifier("lakeprep_loader") == "lakeprep_loader"
    settings = parse_settings(_local_config())
    assert settings.postgres.roles.loader != settings.postgres.roles.analyst


def test_create_schema_refuses_an_unvalidated_schema_before_touching_the_database():
    from lakeprep.db.load import create_schema

    # No engine is needed: the name is rejected before any connection is made.
    with pytest.raises(ConfigError):
        create_schema(None, 'x"; drop table y; --', 512)
