"""Run metrics through the real monitoring stack: lakeprep.monitoring pushes to a Pushgateway,
a real Prometheus (Debian packages, installed by .ci/run) scrapes it and evaluates
conf/prometheus/alerts.yml; the failed-run alert fires and resolves as a user would see it."""
from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from prom_helpers import free_port, metric, pushed_metrics, start_binary

from lakeprep.config import MonitoringSettings
from lakeprep.monitoring import RunMetrics, push

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Its own Pushgateway (the session's one holds other tests' pushes) and a Prometheus that
    scrapes it every second with the project's alert rules."""
    work = tmp_path_factory.mktemp("monitoring")
    gw_port, prom_port = free_port(), free_port()
    gateway = f"http://127.0.0.1:{gw_port}"
    gw = start_binary(("prometheus-pushgateway", "pushgateway"),
                      [f"--web.listen-address=127.0.0.1:{gw_port}"], f"{gateway}/-/ready",
                      work / "pushgateway.log")
    config = yaml.safe_load((ROOT / "conf" / "prometheus" / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(ROOT / "conf" / "prometheus" / "alerts.yml")]
    pushgateway_job = next(c for c in config["scrape_configs"] if c["job_name"] == "pushgateway")
    pushgateway_job["static_configs"] = [{"targets": [f"127.0.0.1:{gw_port}"]}]
    # Only the Pushgateway exists here: the Spark targets of the compose stack are left out.
    config["scrape_configs"] = [pushgateway_job]
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    prometheus = f"http://127.0.0.1:{prom_port}"
    prom = start_binary(("prometheus",),
                        [f"--config.file={work / 'prometheus.yml'}",
                         f"--storage.tsdb.path={work / 'tsdb'}",
                         f"--web.listen-address=127.0.0.1:{prom_port}"],
                        f"{prometheus}/-/ready", work / "prometheus.log")
    yield {"gateway": gateway, "prometheus": prometheus}
    for proc in (prom, gw):
        proc.terminate()
        proc.wait(timeout=20)


def alerts(prometheus: str) -> list[dict]:
    with urllib.request.urlopen(f"{prometheus}/api/v1/alerts", timeout=10) as resp:
        return json.load(resp)["data"]["alerts"]


def wait_for(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.5)


def firing(prometheus: str, name: str, job: str) -> bool:
    return any(a["labels"].get("alertname") == name and a["labels"].get("job") == job
               and a["state"] == "firing" for a in alerts(prometheus))


def test_failed_run_fires_the_alert_and_a_success_resolves_it(stack):
    settings = MonitoringSettings(pushgateway_url=stack["gateway"], timeout_s=5)
    job = "lakeprep_text_pipeline"
    assert push(settings, RunMetrics("text_pipeline", "r1", True, 12.5, {"ingest": 3.0}, 100,
                                     {"silver.documents": 100}, {"documents": {"empty_input": 4}},
                                     0.04))
    assert push(settings, RunMetrics("text_pipeline", "r2", False, 3.0, {"ingest": 2.0}), env={})
    wait_for(lambda: firing(stack["prometheus"], "LakeprepRunFailed", job))
    metrics = pushed_metrics(stack["gateway"])
    # The failure left the last success time in place,
    # so "no successful run for N hours" still counts from the right moment.
    assert metric(metrics, "text_pipeline", "lakeprep_run_last_success_timestamp_seconds",
                  record="last_outcome") > 0
    assert metric(metrics, "text_pipeline", "lakeprep_stage_duration_seconds",
                  stage="ingest") == 2.0
    # ... while what the last run did is the failed run's alone (no stale row counts).
    assert metric(metrics, "text_pipeline", "lakeprep_rows_in") is None
    assert push(settings, RunMetrics("text_pipeline", "r3", True, 11.0, {"ingest": 2.5}, 100,
                                     {}, {"documents": {}}, 0.05))
    wait_for(lambda: not firing(stack["prometheus"], "LakeprepRunFailed", job))
    # The vanished reason vanished from the pushed series too.
    assert metric(pushed_metrics(stack["gateway"]), "text_pipeline", "lakeprep_rejected_rows",
                  unit="documents", reason="empty_input") is None


def test_an_unreachable_pushgateway_never_fails_the_run(caplog):
    port = free_port()  # nothing listens there
    settings = MonitoringSettings(pushgateway_url=f"http://127.0.0.1:{port}", timeout_s=1)
    assert push(settings, RunMetrics("text_pipeline", "r", True, 1.0), env={}) is False
    assert "push to" in caplog.text and "failed" in caplog.text
