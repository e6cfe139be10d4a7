"""Silver clinical-trials tables -> PostgreSQL (JDBC staging + one transactional upsert) -> dbt.

Where it sits: the last two steps of the clinical-trials job (lakeprep.trials.pipeline):
``write_silver`` -> :func:`load_postgres` -> :func:`run_dbt`.

PostgreSQL: the tables live in schema ``trials.postgres.schema`` (default ``ctgov``), named after
AACT (the CTTI's relational copy of the registry) where AACT has an equivalent. Spark appends the
run's rows to UNLOGGED ``stg_*`` tables tagged with the run id (each staging write first removes
an earlier attempt's rows, as in lakeprep.db.load); one transaction then upserts studies, deletes
child rows a re-loaded study no longer has, upserts the children, records the expectation counts
and quarantined rows, and empties the run's staging rows. Rows are updated only when a compared
column differs, so a rerun changes nothing (not even ``run_id``).

dbt: ``run_dbt`` runs ``dbt build`` (models + tests) on the project in ``dbt/`` with the
executable of its own venv; connection values reach dbt's profiles.yml as environment variables,
never as a file with a secret. A failing model or test raises :class:`DbtFailed` naming it.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from lakeprep.config import JdbcSettings, RetrySettings, validate_identifier
from lakeprep.db import audit
from lakeprep.db.connection import PgTarget
from lakeprep.db.load import create_schema as create_serving_schema
from lakeprep.db.load import stage_rows
from lakeprep.db.retry import call_with_retry

# The job's name in pipeline_runs, lineage and audit_log (lakeprep.trials.pipeline uses it).
JOB = "clinical_trials"

log = logging.getLogger("lakeprep.trials.warehouse")

REPO_ROOT = Path(__file__).resolve().parents[3]
DBT_EXECUTABLE_ENV = "LAKEPREP_DBT_EXECUTABLE"

# Child tables in load order; each row belongs to one study (ON DELETE CASCADE).
CHILD_TABLES = ("design", "eligibility", "conditions", "interventions", "sponsors", "sites",
                "condition_mesh", "intervention_mesh")
KEYS = {"studies": "nct_id", "design": "nct_id", "eligibility": "nct_id",
        "conditions": "condition_key", "interventions": "intervention_key",
        "sponsors": "sponsor_key", "sites": "site_key", "condition_mesh": "condition_mesh_key",
        "intervention_mesh": "intervention_mesh_key"}


# Issue 9 tables loaded by load_table (staging + upsert on their key), not children of studies.
LOOKUP_TABLES = {"condition_standardization": ("cache_key",),
                 "model_runs": ("run_id", "model_name"),
                 "trial_predictions": ("nct_id", "run_id")}


def _study_fk() -> Column:
    return Column("nct_id", Text, ForeignKey("studies.nct_id", ondelete="CASCADE"), nullable=False)


def build_metadata(schema: str) -> MetaData:
    """The clinical-trials tables. Contract columns (names may be extended, never changed):
    studies(nct_id, overall_status, phases, study_type, start_date, start_date_precision,
    completion_date, completion_date_precision, enrollment, last_update_posted, brief_title),
    conditions(nct_id, name, mesh_id, mesh_term), interventions(nct_id, type, name, mesh_id,
    mesh_term). Constraints are keys only: value rules are the expectations' and dbt's job, so a
    rule can warn instead of rejecting a whole load."""
    md = MetaData(schema=schema)
    text_array = ARRAY(Text)
    Table("studies", md,
          Column("nct_id", Text, primary_key=True),
          Column("org_study_id", Text), Column("brief_title", Text), Column("official_title", Text),
          Column("acronym", Text), Column("overall_status", Text, nullable=False),
          Column("overall_status_raw", Text), Column("last_known_status", Text),
          Column("why_stopped", Text), Column("study_type", Text, nullable=False),
          Column("phases", text_array, nullable=False, server_default="{}"), Column("phase", Text),
          *[c for name in ("start_date", "primary_completion_date", "completion_date") for c in (
              Column(name, Date), Column(f"{name}_precision", Text), Column(f"{name}_type", Text),
              Column(f"{name}_raw", Text))],
          Column("study_first_submitted_date", Date), Column("study_first_posted_date", Date),
          Column("status_verified_date", Date), Column("last_update_posted", Date),
          Column("enrollment", Integer), Column("enrollment_type", Text),
          Column("has_results", Boolean, nullable=False), Column("has_dmc", Boolean),
          Column("is_fda_regulated_drug", Boolean), Column("lead_sponsor_name", Text),
          Column("lead_sponsor_class", Text), Column("responsible_party_type", Text),
          Column("number_of_collaborators", Integer), Column("number_of_sites", Integer),
          Column("number_of_conditions", Integer), Column("number_of_interventions", Integer),
          Column("number_of_arms", Integer), Column("keywords", text_array),
          Column("brief_summary", Text), Column("cleaning_issues", text_array),
          Column("content_sha256", Text), Column("run_id", Text, nullable=False))
    Table("design", md, Column("nct_id", Text, ForeignKey("studies.nct_id", ondelete="CASCADE"),
                               primary_key=True),
          *[Column(c, Text) for c in ("allocation", "intervention_model", "primary_purpose",
                                      "masking", "observational_model", "time_perspective")],
          Column("patient_registry", Boolean), Column("run_id", Text, nullable=False))
    Table("eligibility", md, Column("nct_id", Text, ForeignKey("studies.nct_id", ondelete="CASCADE"),
                                    primary_key=True),
          Column("sex", Text), Column("minimum_age", Text), Column("maximum_age", Text),
          Column("minimum_age_years", Float), Column("maximum_age_years", Float),
          Column("healthy_volunteers", Boolean), Column("std_ages", text_array),
          Column("criteria", Text), Column("run_id", Text, nullable=False))
    Table("conditions", md, Column("condition_key", Text, primary_key=True), _study_fk(),
          Column("ordinal", Integer, nullable=False), Column("name", Text, nullable=False),
          Column("name_raw", Text), Column("downcase_name", Text), Column("mesh_id", Text),
          Column("mesh_term", Text), Column("mesh_match", Text),
          # Issue 9 (lakeprep.trials.standardize): mesh_match 'llm' / 'offline' marks an id filled
          # by the standardizer where the registry's own terms matched none.
          Column("canonical_name", Text), Column("standardization_method", Text),
          Column("run_id", Text, nullable=False))
    Table("interventions", md, Column("intervention_key", Text, primary_key=True), _study_fk(),
          Column("ordinal", Integer, nullable=False), Column("type", Text),
          Column("name", Text, nullable=False), Column("name_raw", Text), Column("description", Text),
          Column("other_names", text_array), Column("mesh_id", Text), Column("mesh_term", Text),
          Column("mesh_match", Text), Column("run_id", Text, nullable=False))
    Table("sponsors", md, Column("sponsor_key", Text, primary_key=True), _study_fk(),
          Column("ordinal", Integer, nullable=False), Column("lead_or_collaborator", Text, nullable=False),
          Column("name", Text), Column("agency_class", Text), Column("run_id", Text, nullable=False))
    Table("sites", md, Column("site_key", Text, primary_key=True), _study_fk(),
          Column("ordinal", Integer, nullable=False), Column("facility", Text), Column("status", Text),
          Column("city", Text), Column("state", Text), Column("zip", Text), Column("country", Text),
          Column("latitude", Float), Column("longitude", Float), Column("run_id", Text, nullable=False))
    for name in ("condition_mesh", "intervention_mesh"):
        Table(name, md, Column(f"{name}_key", Text, primary_key=True), _study_fk(),
              Column("ordinal", Integer, nullable=False), Column("mesh_id", Text, nullable=False),
              Column("mesh_id_raw", Text), Column("mesh_term", Text), Column("mesh_id_issue", Text),
              Column("run_id", Text, nullable=False))
    Table("expectation_results", md,
          Column("run_id", Text), Column("table_name", Text), Column("expectation", Text),
          Column("action", Text, nullable=False), Column("passed", BigInteger, nullable=False),
          Column("failed", BigInteger, nullable=False),
          PrimaryKeyConstraint("run_id", "table_name", "expectation"))
    # No FK to studies: a quarantined study is by definition not there.
    Table("quarantine", md, Column("quarantine_id", Text, primary_key=True),
          Column("table_name", Text, nullable=False), Column("nct_id", Text),
          Column("expectation", Text, nullable=False), Column("reason", Text, nullable=False),
          Column("record_json", JSONB), Column("run_id", Text, nullable=False))
    _issue9_tables(md)
    return md


def _issue9_tables(md: MetaData) -> None:
    """Contract tables of issue 9 (names may be extended, never changed):
    condition_standardization(raw_name, canonical_name, mesh_id, method, model, created_at),
    model_runs(run_id, model_name, trained_at, train_rows, test_rows, roc_auc, pr_auc, model_uri),
    trial_predictions(nct_id, run_id, p_complete)."""
    Table("condition_standardization", md, Column("cache_key", Text, primary_key=True),
          Column("normalized_name", Text, nullable=False), Column("raw_name", Text, nullable=False),
          Column("canonical_name", Text), Column("mesh_id", Text),
          Column("method", Text, nullable=False), Column("model", Text),
          # offline or llm:<model>: which standardizer was asked (method says which answered).
          Column("requested", Text, nullable=False), Column("rule", Text),
          Column("fallback_reason", Text), Column("retry_llm", Boolean),
          Column("created_at", DateTime(timezone=True), nullable=False),
          Column("run_id", Text, nullable=False))
    Table("model_runs", md, Column("run_id", Text), Column("model_name", Text),
          Column("trained_at", DateTime(timezone=True), nullable=False),
          Column("train_rows", Integer, nullable=False), Column("test_rows", Integer, nullable=False),
          Column("roc_auc", Float), Column("pr_auc", Float), Column("model_uri", Text, nullable=False),
          Column("training_data_version", Text), Column("data_fingerprint", Text),
          Column("metrics", JSONB), PrimaryKeyConstraint("run_id", "model_name"))
    # No FK to studies: a prediction is a record of what a model said, kept with its model run.
    Table("trial_predictions", md, Column("nct_id", Text), Column("run_id", Text),
          Column("model_name", Text, nullable=False), Column("p_complete", Float, nullable=False),
          PrimaryKeyConstraint("nct_id", "run_id"))


def _add_missing_columns(conn, md: MetaData, schema: str) -> None:
    """Columns added to a table after a database was created (additive contract changes) are
    added to it and to its staging twin, nullable: create_all never alters existing tables."""
    existing: dict[str, set[str]] = {}
    for table, column in conn.execute(sa.text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = :s"), {"s": schema}):
        existing.setdefault(table, set()).add(column)
    dialect = conn.dialect
    for t in md.tables.values():
        for name in (t.name, _staging(t.name)):
            if name not in existing:
                continue
            for c in t.columns:
                if c.name not in existing[name]:
                    conn.execute(sa.text(
                        f'ALTER TABLE "{schema}".{name} ADD COLUMN IF NOT EXISTS {c.name} '
                        f"{c.type.compile(dialect=dialect)}"))


def _staging(table: str) -> str:
    return f"stg_{table}"


def create_schema(engine: sa.Engine, schema: str) -> MetaData:
    """Create the schema, the final tables and their UNLOGGED staging twins (same columns, no
    keys: the staging table holds one run's raw rows, rebuilt from the lake on any rerun)."""
    validate_identifier(schema, "trials.postgres.schema")
    md = build_metadata(schema)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        md.create_all(conn, checkfirst=True)
        _add_missing_columns(conn, md, schema)
        for table in (*KEYS, "quarantine", *LOOKUP_TABLES):
            conn.execute(sa.text(
                f'CREATE UNLOGGED TABLE IF NOT EXISTS "{schema}".{_staging(table)} '
                f'(LIKE "{schema}".{table} INCLUDING DEFAULTS)'))
            # LIKE copies NOT NULL: staging must accept what the final table will judge.
            conn.execute(sa.text(
                f'ALTER TABLE "{schema}".{_staging(table)} ALTER COLUMN run_id DROP NOT NULL'))
    return md


def _columns(md: MetaData, schema: str, table: str) -> list[str]:
    return [c.name for c in md.tables[f"{schema}.{table}"].columns]


def _upsert(schema: str, table: str, key: str, columns: list[str]) -> str:
    data = [c for c in columns if c != "run_id"]
    compared = [c for c in data if c != key]
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in compared + ["run_id"])
    distinct = ("(" + ", ".join(f"t.{c}" for c in compared) + ") IS DISTINCT FROM ("
                + ", ".join(f"EXCLUDED.{c}" for c in compared) + ")")
    cols = ", ".join(columns)
    return (f'INSERT INTO "{schema}".{table} AS t ({cols}) '
            f'SELECT {cols} FROM "{schema}".{_staging(table)} WHERE run_id = :run_id '
            f"ON CONFLICT ({key}) DO UPDATE SET {sets} WHERE {distinct}")


def merge_run(engine: sa.Engine, md: MetaData, schema: str, run_id: str,
              audit_schema: str | None = None) -> dict[str, int]:
    """Apply one run's staging rows in a single transaction; returns affected rows per step."""
    q = f'"{schema}"'
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        def run(name: str, sql: str) -> None:
            counts[name] = conn.execute(sa.text(sql), {"run_id": run_id}).rowcount

        run("studies_upserted", _upsert(schema, "studies", "nct_id", _columns(md, schema, "studies")))
        for table in CHILD_TABLES:
            key = KEYS[table]
            # A study loaded in this run owns exactly the child rows this run staged for it.
            run(f"{table}_removed",
                f"DELETE FROM {q}.{table} c USING {q}.{_staging('studies')} s "
                f"WHERE s.run_id = :run_id AND c.nct_id = s.nct_id AND NOT EXISTS ("
                f"SELECT 1 FROM {q}.{_staging(table)} x WHERE x.run_id = :run_id "
                f"AND x.{key} = c.{key})")
            run(f"{table}_upserted", _upsert(schema, table, key, _columns(md, schema, table)))
        run("expectation_results_upserted",
            f"INSERT INTO {q}.expectation_results AS t (run_id, table_name, expectation, action, passed, failed) "
            f"SELECT run_id, table_name, expectation, action, passed, failed "
            f"FROM {q}.stg_expectation_results WHERE run_id = :run_id "
            f"ON CONFLICT (run_id, table_name, expectation) DO UPDATE SET action = EXCLUDED.action, "
            f"passed = EXCLUDED.passed, failed = EXCLUDED.failed WHERE (t.action, t.passed, t.failed) "
            f"IS DISTINCT FROM (EXCLUDED.action, EXCLUDED.passed, EXCLUDED.failed)")
        # A row quarantined again in a later run keeps its first run id: same id, same content.
        run("quarantine_inserted",
            f"INSERT INTO {q}.quarantine (quarantine_id, table_name, nct_id, expectation, reason, "
            f"record_json, run_id) SELECT quarantine_id, table_name, nct_id, expectation, reason, "
            f"record_json, run_id FROM {q}.{_staging('quarantine')} WHERE run_id = :run_id "
            f"ON CONFLICT (quarantine_id) DO NOTHING")
        for table in (*KEYS, "quarantine", "expectation_results"):
            conn.execute(sa.text(f"DELETE FROM {q}.{_staging(table)} WHERE run_id = :run_id"),
                         {"run_id": run_id})
        if audit_schema:
            audit.record(conn, audit_schema, run_id, JOB, _audit_changes(schema, counts))
    return counts


def _audit_changes(schema: str, counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """merge_run's step names (<table>_upserted / _removed / _inserted) as audit entries."""
    actions = {"upserted": "upsert", "removed": "delete", "inserted": "insert"}
    out = []
    for name, rows in counts.items():
        table, _, verb = name.rpartition("_")
        out.append((actions[verb], f"{schema}.{table}", rows))
    return out


def _ensure_audit_log(engine: sa.Engine, settings) -> None:
    """The audit log lives with pipeline_runs in the serving schema (postgres.schema), shared by
    both jobs; idempotent, and a no-op on a complete database."""
    create_serving_schema(engine, settings.postgres.schema, settings.chunking.max_tokens,
                          roles=settings.postgres.roles)


def _ensure_expectation_staging(engine: sa.Engine, schema: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(
            f'CREATE UNLOGGED TABLE IF NOT EXISTS "{schema}".stg_expectation_results '
            f'(LIKE "{schema}".expectation_results INCLUDING DEFAULTS)'))


def _split(result_or_tables) -> tuple[dict[str, DataFrame], DataFrame | None, list[dict]]:
    tables = getattr(result_or_tables, "tables", None)
    if tables is not None:
        return tables, result_or_tables.quarantine, list(result_or_tables.expectations)
    tables = dict(result_or_tables)
    return tables, tables.pop("quarantine", None), []


def load_postgres(result_or_silver_tables, target: PgTarget, engine: sa.Engine, run_id: str,
                  settings) -> dict:
    """Load a SilverResult (or a dict of silver DataFrames, optionally with "quarantine") into
    PostgreSQL. ``settings``: the job's Settings (JDBC and retry from ``postgres:``, schema from
    ``trials.postgres``). Returns staged row counts and the merge's affected rows."""
    schema = settings.trials.postgres.schema
    jdbc: JdbcSettings = settings.postgres.jdbc
    retry: RetrySettings = settings.postgres.retry
    # The staging write goes through the target's schema: point it at the trials schema.
    target = PgTarget(target.host, target.port, target.database, target.user, schema,
                      target.embedded, target.password)
    md = create_schema(engine, schema)
    _ensure_audit_log(engine, settings)
    _ensure_expectation_staging(engine, schema)
    tables, quarantine, expectations = _split(result_or_silver_tables)
    where = f"{target.host}:{target.port}"
    staged: dict[str, int] = {}
    spark = next(iter(tables.values())).sparkSession

    def stage(df: DataFrame, table: str) -> None:
        cols = [c for c in _columns(md, schema, table) if c != "run_id"]
        # Columns a step did not produce (standardization switched off) load as NULL.
        types = md.tables[f"{schema}.{table}"].columns
        out = df.select(*[c if c in df.columns else
                          F.lit(None).cast(_spark_type(types[c].type)).alias(c) for c in cols])
        call_with_retry(lambda: stage_rows(out, target, engine, _staging(table), run_id, jdbc),
                        retry, f"the staging write ({table})", where)
        staged[table] = out.count()

    for table in KEYS:
        if table in tables:
            stage(tables[table], table)
    if quarantine is not None:
        q = quarantine.select(
            F.sha2(F.concat_ws("\u0001", "table", "nct_id", "expectation", "record_json"), 256)
            .alias("quarantine_id"), F.col("table").alias("table_name"), "nct_id", "expectation",
            "reason", "record_json")
        stage(q, "quarantine")
    if expectations:
        rows = [(e["table"], e["name"], e["action"], int(e["passed"]), int(e["failed"]))
                for e in expectations]
        exp = spark.createDataFrame(rows, "table_name string, expectation string, action string, "
                                          "passed long, failed long")
        stage(exp, "expectation_results")
    merged = call_with_retry(lambda: merge_run(engine, md, schema, run_id,
                                               audit_schema=settings.postgres.schema),
                             retry, "the merge", where)
    log.info("postgres (%s.%s): staged %s; merged %s", target.describe(), schema, staged, merged)
    return {"staged": staged, "merged": merged, "schema": schema}


def _spark_type(kind) -> str:
    return {"Float": "double", "Integer": "int", "BigInteger": "bigint", "Boolean": "boolean",
            "Date": "date", "DateTime": "timestamp"}.get(type(kind).__name__, "string")


def load_table(df: DataFrame, table: str, target: PgTarget, engine: sa.Engine, run_id: str,
               settings, keep: tuple[str, ...] = ("created_at",)) -> dict[str, int]:
    """Load an issue-9 table (LOOKUP_TABLES) through its staging twin and one upsert on its key.

    A row is updated only when a column other than the key, ``run_id`` and ``keep`` differs, so
    a rerun changes nothing and ``created_at`` stays the first run's."""
    schema = settings.trials.postgres.schema
    target = PgTarget(target.host, target.port, target.database, target.user, schema,
                      target.embedded, target.password)
    md = create_schema(engine, schema)
    _ensure_audit_log(engine, settings)
    key = LOOKUP_TABLES[table]
    cols = _columns(md, schema, table)
    # run_id is the staging tag: this run's id (the run that loads or changes the row).
    out = df.select(*[c for c in cols if c != "run_id"])
    where = f"{target.host}:{target.port}"
    call_with_retry(lambda: stage_rows(out, target, engine, _staging(table), run_id,
                                       settings.postgres.jdbc),
                    settings.postgres.retry, f"the staging write ({table})", where)
    compared = [c for c in cols if c not in key and c != "run_id" and c not in keep]
    distinct = ("(" + ", ".join(f"t.{c}" for c in compared) + ") IS DISTINCT FROM ("
                + ", ".join(f"EXCLUDED.{c}" for c in compared) + ")")
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in compared
                     + ([] if "run_id" in key else ["run_id"]))
    names = ", ".join(cols)
    q = f'"{schema}"'
    source = f"SELECT {names} FROM {q}.{_staging(table)} WHERE run_id = :run_id"

    def merge() -> dict[str, int]:
        with engine.begin() as conn:
            n = conn.execute(sa.text(
                f"INSERT INTO {q}.{table} AS t ({names}) {source} "
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets} WHERE {distinct}"),
                {"run_id": run_id}).rowcount
            conn.execute(sa.text(f"DELETE FROM {q}.{_staging(table)} WHERE run_id = :run_id"),
                         {"run_id": run_id})
            audit.record(conn, settings.postgres.schema, run_id, JOB,
                         [("upsert", f"{schema}.{table}", n)])
        return {"staged": out.count(), "upserted": n}

    counts = call_with_retry(merge, settings.postgres.retry, f"the merge ({table})", where)
    log.info("postgres: %s %s", table, counts)
    return counts


# ---- dbt ----------------------------------------------------------------------------------

class DbtFailed(RuntimeError):
    """dbt build had errors or failing tests (the message names them)."""


def dbt_executable(settings, env=None) -> str:
    env = os.environ if env is None else env
    path = env.get(DBT_EXECUTABLE_ENV) or settings.trials.dbt.executable
    p = Path(path)
    if not p.is_absolute() and (os.sep in path):
        p = REPO_ROOT / p
    return str(p)


def dbt_env(target: PgTarget, settings, base=None) -> dict[str, str]:
    """Connection and schemas for dbt/profiles.yml (env_var() there), plus switches that keep
    dbt offline and quiet about it."""
    env = dict(os.environ if base is None else base)
    env.update({
        "DBT_PG_HOST": target.host, "DBT_PG_PORT": str(target.port), "DBT_PG_USER": target.user,
        "DBT_PG_DBNAME": target.database, "DBT_PG_SCHEMA": settings.trials.dbt.schema,
        "DBT_SOURCE_SCHEMA": settings.trials.postgres.schema,
        "DBT_THREADS": str(settings.trials.dbt.threads),
        # No usage pings and no version check against the package index: runs offline.
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false",
    })
    env["DBT_PG_PASSWORD"] = target.password or ""
    return env


def run_dbt(target: PgTarget, settings, command: str = "build") -> dict:
    """``dbt build`` of the project in ``trials.dbt.project_dir`` against ``target``.

    Returns {"models": {"pass": n, "error": n}, "tests": {"pass": n, "fail": n, ...},
    "failures": [...]}; raises DbtFailed when a model or a test did not pass.
    """
    exe = dbt_executable(settings)
    if not Path(exe).exists() and shutil.which(exe) is None:
        raise DbtFailed(f"dbt executable not found: {exe} (run `make dbt-venv`, or set "
                        f"{DBT_EXECUTABLE_ENV})")
    project = Path(settings.trials.dbt.project_dir)
    if not project.is_absolute():
        project = REPO_ROOT / project
    work = Path(tempfile.mkdtemp(prefix="lakeprep-dbt-"))
    try:
        cmd = [exe, command, "--project-dir", str(project), "--profiles-dir", str(project),
               "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
        log.info("dbt: %s", " ".join(cmd[:2]))
        try:
            proc = subprocess.run(cmd, env=dbt_env(target, settings), capture_output=True, text=True,
                                  timeout=settings.trials.dbt.timeout_s, cwd=str(project))
        except subprocess.TimeoutExpired as exc:
            raise DbtFailed(f"dbt {command} did not finish within {settings.trials.dbt.timeout_s:.0f} s") from exc
        results_path = work / "target" / "run_results.json"
        if not results_path.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            raise DbtFailed(f"dbt {command} failed before running anything (exit {proc.returncode}): "
                            + " | ".join(tail))
        summary = summarize_run_results(json.loads(results_path.read_text()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary["exit_code"] = proc.returncode
    log.info("dbt: models %s, tests %s", summary["models"], summary["tests"])
    if summary["failures"] or proc.returncode != 0:
        listed = "; ".join(f"{f['name']} ({f['status']}: {f['message']})" for f in summary["failures"])
        raise DbtFailed(f"dbt {command} failed: {listed or 'exit code ' + str(proc.returncode)}")
    return summary


def summarize_run_results(run_results: dict) -> dict:
    models: dict[str, int] = {}
    tests: dict[str, int] = {}
    failures = []
    for r in run_results.get("results", []):
        uid, status = r["unique_id"], r["status"]
        bucket = tests if uid.startswith("test.") else models
        bucket[status] = bucket.get(status, 0) + 1
        if status in ("error", "fail"):
            failures.append({"name": uid.split(".")[-2] if uid.startswith("test.") else uid.split(".")[-1],
                             "status": status,
                             "message": (r.get("message") or "").replace("\n", " ")[:300]})
    return {"models": models, "tests": tests, "failures": failures}
