"""The clinical-trials job, wired: API version -> staged pages -> bronze -> schema check ->
silver (expectations) -> standardize (conditions) -> PostgreSQL -> dbt -> outcome model -> report.

Called by jobs/clinical_trials.py. This module decides what to fetch (``--full``, ``--since`` or
incremental from the last successful run), orders the steps, times them, records the run in
``pipeline_runs`` (job ``clinical_trials``, failed runs with their error) and writes the report
(JSON + Markdown under ``<lake>/<report.dir>/ctgov/<run_id>/``).
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlencode

import sqlalchemy as sa
from pyspark.sql import SparkSession

from lakeprep import lineage as lin
from lakeprep import monitoring
from lakeprep.config import ConfigError, Settings
from lakeprep.db import load as pg
from lakeprep.db import schema as pg_schema
from lakeprep.db.connection import PgTarget, resolve_target
from lakeprep.text.pipeline import new_run_id, timed_stage, to_uri
from lakeprep.trials import bronze, staging
from lakeprep.trials.api import CtgovClient, studies_params
from lakeprep.trials.layout import TrialsLayout
from lakeprep.trials.warehouse import JOB

log = logging.getLogger("lakeprep.trials")

JOB_NAME = JOB


def last_success(engine: sa.Engine, schema: str) -> datetime | None:
    """Start time of the last successful clinical-trials run (None before the first)."""
    with engine.connect() as conn:
        return conn.execute(sa.text(
            f'SELECT max(started_at) FROM "{schema}".{pg_schema.RUNS} '
            "WHERE job = :job AND status = 'succeeded'"), {"job": JOB_NAME}).scalar()


def choose_window(full: bool, since: date | None, last_ok: datetime | None,
                  margin_days: int) -> tuple[str, date | None]:
    """(mode, since) of a run: ``full`` and ``since`` as asked; otherwise incremental from the
    last success minus the safety margin, or a full initial load when there was none."""
    if full and since is not None:
        raise ConfigError("--full and --since exclude each other")
    if full:
        return "full", None
    if since is not None:
        return "since", since
    if last_ok is None:
        return "initial", None
    return "incremental", last_ok.astimezone(timezone.utc).date() - timedelta(days=margin_days)


def _fingerprint(settings: Settings) -> str:
    blob = json.dumps(asdict(settings.trials), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def run_clinical_trials(spark: SparkSession, settings: Settings, *, api_base_url: str | None = None,
                        lake: str | None = None, since: date | None = None, full: bool = False,
                        target: PgTarget | None = None,
                        client: CtgovClient | None = None, llm_base_url: str | None = None,
                        offline_standardization: bool = False, outcome: bool = True) -> dict:
    """Run the job once; returns the report (also written to the lake).

    ``llm_base_url`` overrides trials.standardize.llm.base_url; ``offline_standardization``
    ignores any API key; ``outcome`` False skips the outcome stage whatever the config says."""
    trials = settings.trials
    if trials is None:
        raise ConfigError(f"{settings.source_path or 'the config'} has no 'trials' section")
    layout = TrialsLayout(to_uri(lake or settings.lake_uri),
                          staging=to_uri(trials.staging.root) if trials.staging.root else "")
    client = client or CtgovClient(trials.api, api_base_url)
    run_id = new_run_id()
    started = datetime.now(timezone.utc)
    target = target or resolve_target(settings.postgres)
    engine = target.engine()
    md = pg.create_schema(engine, target.schema, settings.chunking.max_tokens,
                          roles=settings.postgres.roles)
    mode, since = choose_window(full, since, last_success(engine, target.schema),
                                trials.incremental.safety_margin_days)
    params = studies_params(trials.api, since)
    request_uri = f"{client.base_url}/studies?{urlencode(params)}"
    log.info("run %s: %s%s from %s -> lake %s -> %s", run_id, mode,
             f" since {since.isoformat()}" if since else "", client.base_url, layout.root,
             target.describe())
    pg.start_run(engine, md, target.schema, run_id, JOB_NAME, [request_uri], layout.root,
                 settings.source_path, _fingerprint(settings))
    timings: dict[str, float] = {}
    report: dict = {"run_id": run_id, "job": JOB_NAME, "mode": mode,
                    "since": since.isoformat() if since else None,
                    "api_base_url": client.base_url, "request": params, "lake_uri": layout.root,
                    "config_path": settings.source_path, "postgres_target": target.describe(),
                    "started_at": started.isoformat(timespec="seconds")}
    try:
        with timed_stage("version", timings):
            version = client.version()
            report["api"] = version
            log.info("API %s, registry data of %s", version["api_version"],
                     version["data_timestamp"])
        with timed_stage("staging", timings):
            files = staging.HadoopFiles(spark)
            run = staging.open_staging(files, layout.staging_root, run_id, params, mode,
                                       report["since"], version, client.base_url)
            report["staging"] = staging.stage_all(client, run, version)
        with timed_stage("bronze", timings):
            report["bronze"], fetched = bronze.load_bronze(spark, layout, run, run_id)
            # A full load hands all of bronze on (silver is rebuilt from it); otherwise only the
            # studies this run fetched, in their latest stored version.
            whole = mode in ("full", "initial")
            bronze_df = bronze.run_studies(spark, layout, None if whole else fetched)
        with timed_stage("schema_check", timings):
            from lakeprep.trials.schema_check import check_fields
            report["schema_check"] = check_fields(bronze_df, client.metadata())
        with timed_stage("silver", timings):
            from lakeprep.trials.silver import build_silver, write_silver
            silver_result = build_silver(spark, bronze_df, settings, run_id,
                                         work_dir=layout.work(run_id))
            report["expectations"] = silver_result.expectations
            report["silver"] = {"counts": silver_result.counts,
                                "written": write_silver(spark, silver_result, layout)}
        standardized = None
        if trials.standardize.enabled:
            with timed_stage("standardize", timings):
                standardized = _standardize(spark, silver_result, layout, settings, run_id,
                                            llm_base_url, offline_standardization)
                report["standardize"] = standardized.report
        with timed_stage("postgres", timings):
            from lakeprep.trials.warehouse import load_postgres, load_table
            report["postgres"] = load_postgres(silver_result, target, engine, run_id, settings)
            if standardized is not None:
                report["postgres"]["condition_standardization"] = load_table(
                    standardized.cache, "condition_standardization", target, engine, run_id,
                    settings)
        with timed_stage("dbt", timings):
            from lakeprep.trials.warehouse import run_dbt
            report["dbt"] = run_dbt(target, settings)
        if trials.outcome.enabled and outcome:
            with timed_stage("outcome", timings):
                report["outcome"] = _outcome(spark, layout, settings, run_id, target, engine)
        datasets = _lineage(spark, report, layout, target, request_uri)
        config_hash, code = settings.config_hash(), lin.code_version()
        report["lineage"] = lin.for_report(datasets, config_hash, code)
        lin.record(engine, md, target.schema, run_id, JOB_NAME, datasets, config_hash, code)
        report["stage_seconds"] = timings
        report["duration_s"] = round((datetime.now(timezone.utc) - started).total_seconds(), 1)
        report["report_uri"] = write_report(files, report, layout.report_dir(settings.report.dir,
                                                                            run_id))
        pg.finish_run(engine, md, target.schema, run_id, "succeeded",
                      report_uri=report["report_uri"])
        monitoring.push(settings.monitoring, run_metrics(report))
        # Only now: a crash anywhere above leaves the staging resumable by the next run.
        run.mark_consumed(run_id)
        return report
    except BaseException as exc:
        pg.finish_run(engine, md, target.schema, run_id, "failed",
                      error=f"{type(exc).__name__}: {exc}")
        monitoring.push(settings.monitoring, monitoring.RunMetrics(
            JOB_NAME, run_id, False,
            round((datetime.now(timezone.utc) - started).total_seconds(), 1), dict(timings),
            # From the client: a failed stage never wrote its report section.
            retries={"ctgov_api": client.retries}))
        raise
    finally:
        from lakeprep.trials.silver import WorkDir
        WorkDir(spark, layout.work(run_id)).remove()
        engine.dispose()


def _lineage(spark, report: dict, layout: TrialsLayout, target: PgTarget,
             request_uri: str) -> list[lin.Dataset]:
    """The run's lineage: the API request (versioned by the registry's data timestamp), the
    Delta tables it wrote (with their versions) and the PostgreSQL tables its merges changed."""
    from lakeprep.delta_io import table_version

    api = report.get("api") or {}
    base, _, query = request_uri.partition("?")
    namespace, name = lin.split_uri(base)
    datasets = [lin.Dataset("input", namespace, name + (f"?{query}" if query else ""),
                            f"api {api.get('api_version')}, data {api.get('data_timestamp')}",
                            (report.get("staging") or {}).get("studies_staged"))]
    bronze = report.get("bronze") or {}
    written = (report.get("silver") or {}).get("written") or {}
    tables = [(layout.bronze_studies, bronze.get("bronze_inserted", 0)
               + bronze.get("bronze_updated", 0))]
    tables += [(layout.silver_quarantine if t == "quarantine" else layout.silver(t), rows)
               for t, rows in written.items()]
    for path, rows in tables:
        version = table_version(spark, path)
        ns, table_path = lin.split_uri(path)
        datasets.append(lin.Dataset("output", ns, table_path,
                                    None if version is None else str(version), rows))
    pg_namespace = f"postgresql://{target.host}:{target.port}/{target.database}"
    pg_report = report.get("postgres") or {}
    schema = pg_report.get("schema")
    for step, rows in (pg_report.get("merged") or {}).items():
        table, _, verb = step.rpartition("_")
        if verb == "upserted" or verb == "inserted":
            datasets.append(lin.Dataset("output", pg_namespace, f"{schema}.{table}", None, rows))
    for table in ("condition_standardization",):
        if table in pg_report:
            datasets.append(lin.Dataset("output", pg_namespace, f"{schema}.{table}", None,
                                        pg_report[table].get("upserted")))
    return datasets


def _retries(report: dict) -> dict[str, int]:
    out = {}
    if report.get("staging"):
        out["ctgov_api"] = int(report["staging"].get("retries", 0))
    llm = (report.get("standardize") or {}).get("llm") or {}
    if "retries" in llm:
        out["llm"] = int(llm["retries"])
    return out


def run_metrics(report: dict) -> monitoring.RunMetrics:
    """Metrics of a successful run from its report."""
    bronze = report.get("bronze") or {}
    exp = report.get("expectations") or []
    rejected = {"records": dict(bronze.get("rejected_by_reason") or {})}
    dropped: dict[str, int] = {}
    for e in exp:
        if e["action"] == "drop" and e["failed"]:
            dropped[f"{e['table']}.{e['name']}"] = int(e["failed"])
    rejected["rows"] = dropped
    records = bronze.get("records") or 0
    studies_dropped = sum(int(e["failed"]) for e in exp
                          if e["action"] == "drop" and e["table"] == "studies")
    written = (report.get("silver") or {}).get("written") or {}
    merged = (report.get("postgres") or {}).get("merged") or {}
    return monitoring.RunMetrics(
        JOB_NAME, report["run_id"], True, report["duration_s"], dict(report["stage_seconds"]),
        rows_in=records,
        rows_out={**{f"silver.{t}": n for t, n in written.items()},
                  **{f"postgres.{k.rpartition('_')[0]}": v for k, v in merged.items()
                     if k.endswith(("_upserted", "_inserted"))}},
        rejected=rejected,
        reject_ratio=round((bronze.get("rejected", 0) + studies_dropped) / records, 6)
        if records else None,
        retries=_retries(report))


def _standardize(spark, silver_result, layout, settings, run_id, llm_base_url, offline):
    """Stage ``standardize``: the run's conditions get canonical names and MeSH ids (LLM when a
    key is configured and not ``offline``), replacing silver's conditions for the load."""
    from lakeprep.trials import standardize as std

    llm = settings.trials.standardize.llm
    key, source = (None, None) if offline else std.resolve_api_key(llm)
    if key is None:
        log.info("standardize: offline standardizer (%s)", "--offline-standardization"
                 if offline else f"no API key in {', '.join(llm.api_key_env)} or {llm.dotenv}")
    else:
        log.info("standardize: %s at %s, API key from %s", llm.model,
                 llm_base_url or llm.base_url, source)
    result = std.standardize_conditions(spark, silver_result.tables, layout, settings, run_id,
                                        silver_result.work, api_key=key, base_url=llm_base_url)
    silver_result.tables["conditions"] = result.conditions
    result.report["api_key_source"] = source
    return result


def _outcome(spark, layout, settings, run_id, target, engine) -> dict:
    """Stage ``outcome``: train, save and score (lakeprep.trials.outcome); load model_runs and
    trial_predictions."""
    from lakeprep.trials import outcome as oc
    from lakeprep.trials.warehouse import load_table

    schema, name = settings.trials.postgres.schema, settings.trials.outcome.model_name
    with engine.connect() as conn:
        known = set(conn.execute(sa.text(
            f'SELECT data_fingerprint FROM "{schema}".model_runs WHERE model_name = :m '
            "AND data_fingerprint IS NOT NULL"), {"m": name}).scalars())
    result = oc.train_and_score(spark, layout, settings, run_id, known)
    if result.model_run is not None:
        result.report["postgres"] = {
            "model_runs": load_table(result.model_run, "model_runs", target, engine, run_id,
                                     settings),
            "trial_predictions": load_table(result.predictions, "trial_predictions", target,
                                            engine, run_id, settings)}
    return result.report


# ---- report ---------------------------------------------------------------------------------

def _rows(mapping: dict) -> list[str]:
    return [f"| {k} | {v:,} |" if isinstance(v, int) and not isinstance(v, bool)
            else f"| {k} | {v} |" for k, v in mapping.items()]


def render_markdown(report: dict) -> str:
    lines = [f"### Clinical-trials report — run `{report['run_id']}`", "",
             f"- mode: **{report['mode']}**"
             + (f" (LastUpdatePostDate since {report['since']})" if report.get("since") else ""),
             f"- API: {report['api_base_url']} (version {report.get('api', {}).get('api_version')}, "
             f"registry data {report.get('api', {}).get('data_timestamp')})",
             f"- lake: `{report['lake_uri']}`; PostgreSQL: {report['postgres_target']}",
             f"- started {report['started_at']}, duration {report.get('duration_s')} s", ""]
    st = report.get("staging") or {}
    if st:
        lines += ["#### Staging", "", "| | value |", "| --- | ---: |", *_rows(
            {"staging run": f"`{st['staging_id']}`" + (" (resumed)" if st["resumed"] else ""),
             "pages": st["pages"], "pages fetched by this run": st["pages_fetched_this_run"],
             "studies staged": st["studies_staged"], "bytes": st["bytes"],
             "HTTP requests": st["requests"], "retries": st["retries"]}), ""]
    br = report.get("bronze") or {}
    if br:
        lines += ["#### Bronze", "", "| | count |", "| --- | ---: |", *_rows(
            {k: v for k, v in br.items() if k != "rejected_by_reason"}), ""]
        if br.get("rejected_by_reason"):
            lines += ["Rejected records by reason:", "", "| reason | count |", "| --- | ---: |",
                      *[f"| `{k}` | {v:,} |" for k, v in br["rejected_by_reason"].items()], ""]
    sc = report.get("schema_check")
    if sc:
        lines += ["#### Fields vs /studies/metadata", "",
                  f"{sc.get('studies', 0):,} studies, {sc.get('paths_seen', 0):,} field paths seen.", ""]
        for key, title, count in (("unknown", "Unknown fields (not in the metadata)", "studies"),
                                  ("missing_required", "Required fields missing",
                                   "studies_missing")):
            if sc.get(key):
                lines += [f"{title}:", "", f"| field | {count.replace('_', ' ')} |",
                          "| --- | ---: |",
                          *[f"| `{f['path']}` | {f[count]:,} |" for f in sc[key][:50]], ""]
    exp = report.get("expectations") or []
    if exp:
        lines += ["#### Expectations", "", "| table | expectation | action | passed | failed |",
                  "| --- | --- | --- | ---: | ---: |",
                  *[f"| {e['table']} | `{e['name']}` | {e['action']} | {e['passed']:,} | "
                    f"{e['failed']:,} |" for e in exp], ""]
    for key, title in (("silver", "Silver"), ("standardize", "Condition standardization"),
                       ("postgres", "PostgreSQL"), ("dbt", "dbt"), ("outcome", "Outcome model")):
        section = report.get(key)
        if section:
            flat = {}
            for k, v in section.items():
                if isinstance(v, dict):
                    flat.update({f"{k}.{kk}": vv for kk, vv in v.items()})
                else:
                    flat[k] = v
            lines += [f"#### {title}", "", "| | value |", "| --- | ---: |",
                      *_rows({k: v for k, v in flat.items()
                              if not isinstance(v, (list, dict))}), ""]
    if report.get("lineage"):
        lines += lin.render_markdown(report["lineage"])
    if report.get("stage_seconds"):
        lines += ["#### Seconds per stage", "", "| stage | s |", "| --- | ---: |",
                  *_rows(report["stage_seconds"]), ""]
    return "\n".join(lines)


def write_report(files: staging.HadoopFiles, report: dict, directory: str) -> str:
    files.write(f"{directory}/report.json",
                json.dumps(report, indent=2, default=str).encode("utf-8"))
    files.write(f"{directory}/report.md", render_markdown(report).encode("utf-8"))
    return f"{directory}/report.md"
