"""Run metrics for Prometheus, pushed to a Pushgateway at the end of each run (both jobs).

A batch job lives shorter than a scrape interval, so it pushes: one group per job
(``job="lakeprep_<job>"``) that Prometheus scrapes from the Pushgateway (``honor_labels``). The
alert rules in conf/prometheus/alerts.yml read these series:

- ``lakeprep_run_success`` 1/0 and ``lakeprep_run_last_timestamp_seconds``: every run;
- ``lakeprep_run_last_success_timestamp_seconds``: successful runs only, and
  ``lakeprep_run_last_failure_timestamp_seconds``: failed runs only. Pushes replace metric
  families, not the group (POST), so a failed run leaves the last success time in place and the
  "no successful run in N hours" alert keeps counting from it;
- duration (whole run, per stage), rows in / out per table, rejected rows by reason, the reject
  ratio, retries by kind (API, LLM).

Monitoring never fails a run: an unreachable Pushgateway is one warning line.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import pushadd_to_gateway

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


def build_registry(m: RunMetrics) -> CollectorRegistry:
    """The metrics of one run, in their own registry (never the process-global one: a push
    must carry exactly this run's families)."""
    reg = CollectorRegistry()

    def gauge(name: str, doc: str, value: float | None, **labels: str) -> None:
        if value is None:
            return
        g = Gauge(name, doc, list(labels), registry=reg)
        (g.labels(**labels) if labels else g).set(value)

    gauge("lakeprep_run_success", "1 if the last run succeeded, 0 if it failed",
          1 if m.succeeded else 0)
    gauge("lakeprep_run_last_timestamp_seconds", "End of the last run (Unix time)", m.finished_at)
    if m.succeeded:
        gauge("lakeprep_run_last_success_timestamp_seconds",
              "End of the last successful run (Unix time)", m.finished_at)
    else:
        gauge("lakeprep_run_last_failure_timestamp_seconds",
              "End of the last failed run (Unix time)", m.finished_at)
    gauge("lakeprep_run_duration_seconds", "Wall time of the last run", m.duration_s)
    if m.stage_seconds:
        st = Gauge("lakeprep_stage_duration_seconds", "Wall time per stage of the last run",
                   ["stage"], registry=reg)
        for stage, seconds in m.stage_seconds.items():
            st.labels(stage=stage).set(seconds)
    gauge("lakeprep_rows_in", "Records the last run read", m.rows_in)
    if m.rows_out:
        out = Gauge("lakeprep_rows_out", "Rows the last run wrote, per table", ["table"],
                    registry=reg)
        for table, rows in m.rows_out.items():
            out.labels(table=table).set(rows)
    if m.succeeded:
        # Always pushed on success (possibly empty): a reason that vanished must vanish here too.
        rej = Gauge("lakeprep_rejected_rows", "Records the last run rejected, per unit and reason",
                    ["unit", "reason"], registry=reg)
        for unit, reasons in m.rejected.items():
            for reason, rows in reasons.items():
                rej.labels(unit=unit, reason=reason).set(rows)
    gauge("lakeprep_reject_ratio", "Rejected / processed records of the last run",
          m.reject_ratio)
    if m.retries:
        rt = Gauge("lakeprep_retries", "Retries of remote calls in the last run, per kind",
                   ["kind"], registry=reg)
        for kind, n in m.retries.items():
            rt.labels(kind=kind).set(n)
    return reg


def pushgateway_url(settings: MonitoringSettings, env=os.environ) -> str:
    return (env.get(URL_ENV) or settings.pushgateway_url or "").rstrip("/")


def push(settings: MonitoringSettings, m: RunMetrics, env=os.environ) -> bool:
    """Push ``m`` when a Pushgateway is configured; True when pushed. Never raises."""
    url = pushgateway_url(settings, env)
    if not url:
        return False
    try:
        pushadd_to_gateway(url, job=group_job(m.job), registry=build_registry(m),
                           timeout=settings.timeout_s)
    except Exception as exc:  # any transport error: the data run's outcome must not change
        log.warning("metrics: push to %s failed (%s: %s); the run's outcome is unaffected", url,
                    type(exc).__name__, exc)
        return False
    log.info("metrics: pushed run %s (%s) to %s", m.run_id,
             "succeeded" if m.succeeded else "failed", url)
    return True
