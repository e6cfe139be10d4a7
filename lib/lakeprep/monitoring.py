"""Run metrics for Prometheus, pushed to a Pushgateway at the end of each run (both jobs).

A batch job lives shorter than a scrape interval, so it pushes, into two groups per job that
Prometheus scrapes from the Pushgateway (``honor_labels`` keeps their labels):

- ``{job="lakeprep_<job>"}``, replaced whole by every run (PUT): what the last run did.
  ``lakeprep_run_success`` 1/0, ``lakeprep_run_last_timestamp_seconds``, duration (whole run and
  per stage), rows in / out per table, rejected rows by unit and reason, the reject ratio and
  retries by kind (API, LLM). Replacing the group means a reason or a table the last run did
  not have is gone, and a failed run shows no stale row counts;
- ``{job="lakeprep_<job>", record="last_outcome"}``, updated per metric (POST):
  ``lakeprep_run_last_success_timestamp_seconds`` by successful runs only and
  ``lakeprep_run_last_failure_timestamp_seconds`` by failed runs only, so a failed run leaves
  the last success time in place and "no successful run for N hours" counts from it.

The alert rules in conf/prometheus/alerts.yml read these series. Monitoring never fails a run:
an unreachable Pushgateway is one warning line.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import push_to_gateway, pushadd_to_gateway

from lakeprep.config import MonitoringSettings

log = logging.getLogger("lakeprep.monitoring")

URL_ENV = "LAKEPREP_PUSHGATEWAY_URL"


@dataclass
class RunMetrics:
    job: str
    run_id: str
    succeeded: bool
    duration_s: float
    stage_seconds: dict[str, float] = field(default_factory=dict)
    rows_in: int | None = None
    rows_out: dict[str, int] = field(default_factory=dict)
    # unit (documents, chunks, studies, ...) -> reason -> rejected records.
    rejected: dict[str, dict[str, int]] = field(default_factory=dict)
    # rejected / processed records of the job's main unit (documents, studies); None = unknown.
    reject_ratio: float | None = None
    retries: dict[str, int] = field(default_factory=dict)
    finished_at: float = field(default_factory=time.time)


def group_job(job: str) -> str:
    return f"lakeprep_{job}"


OUTCOME_GROUP = {"record": "last_outcome"}


def _gauge(reg: CollectorRegistry, name: str, doc: str, value: float | None) -> None:
    if value is not None:
        Gauge(name, doc, registry=reg).set(value)


def build_registry(m: RunMetrics) -> CollectorRegistry:
    """What the run did (the group every run replaces), in its own registry: never the
    process-global one, a push must carry exactly this run's families."""
    reg = CollectorRegistry()
    _gauge(reg, "lakeprep_run_success", "1 if the last run succeeded, 0 if it failed",
           1 if m.succeeded else 0)
    _gauge(reg, "lakeprep_run_last_timestamp_seconds", "End of the last run (Unix time)",
           m.finished_at)
    _gauge(reg, "lakeprep_run_duration_seconds", "Wall time of the last run", m.duration_s)
    _gauge(reg, "lakeprep_rows_in", "Records the last run read", m.rows_in)
    _gauge(reg, "lakeprep_reject_ratio", "Rejected / processed records of the last run",
           m.reject_ratio)
    labelled = (
        ("lakeprep_stage_duration_seconds", "Wall time per stage of the last run", ["stage"],
         [((stage,), v) for stage, v in m.stage_seconds.items()]),
        ("lakeprep_rows_out", "Rows the last run wrote, per table", ["table"],
         [((table,), v) for table, v in m.rows_out.items()]),
        ("lakeprep_rejected_rows", "Records the last run rejected, per unit and reason",
         ["unit", "reason"],
         [((unit, reason), v) for unit, reasons in m.rejected.items()
          for reason, v in reasons.items()]),
        ("lakeprep_retries", "Retries of remote calls in the last run, per kind", ["kind"],
         [((kind,), v) for kind, v in m.retries.items()]),
    )
    for name, doc, labels, samples in labelled:
        if samples:
            g = Gauge(name, doc, labels, registry=reg)
            for values, v in samples:
                g.labels(*values).set(v)
    return reg


def outcome_registry(m: RunMetrics) -> CollectorRegistry:
    """The one timestamp this run updates in the ``last_outcome`` group."""
    reg = CollectorRegistry()
    if m.succeeded:
        _gauge(reg, "lakeprep_run_last_success_timestamp_seconds",
               "End of the last successful run (Unix time)", m.finished_at)
    else:
        _gauge(reg, "lakeprep_run_last_failure_timestamp_seconds",
               "End of the last failed run (Unix time)", m.finished_at)
    return reg


def pushgateway_url(settings: MonitoringSettings, env=os.environ) -> str:
    return (env.get(URL_ENV) or settings.pushgateway_url or "").rstrip("/")


def push(settings: MonitoringSettings, m: RunMetrics, env=os.environ) -> bool:
    """Push ``m`` when a Pushgateway is configured; True when pushed. Never raises."""
    url = pushgateway_url(settings, env)
    if not url:
        return False
    try:
        push_to_gateway(url, job=group_job(m.job), registry=build_registry(m),
                        timeout=settings.timeout_s)
        pushadd_to_gateway(url, job=group_job(m.job), registry=outcome_registry(m),
                           grouping_key=OUTCOME_GROUP, timeout=settings.timeout_s)
    except Exception as exc:  # any transport error: the data run's outcome must not change
        log.warning("metrics: push to %s failed (%s: %s); the run's outcome is unaffected", url,
                    type(exc).__name__, exc)
        return False
    log.info("metrics: pushed run %s (%s) to %s", m.run_id,
             "succeeded" if m.succeeded else "failed", url)
    return True
