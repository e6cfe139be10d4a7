"""The alert rules and the compose stack's Prometheus config, checked by Prometheus's own tool
(promtool, Debian package `prometheus`, installed by .ci/run): syntax, the unit tests in
conf/prometheus/alerts_test.yml, and that every series a rule reads is one the jobs push."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from lakeprep.monitoring import RunMetrics, build_registry, outcome_registry

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "conf" / "prometheus"


def promtool(*args: str, cwd: Path = PROM) -> subprocess.CompletedProcess:
    binary = shutil.which("promtool")
    assert binary, "promtool is not installed: `apt-get install prometheus` (.ci/run does)"
    return subprocess.run([binary, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_rules_are_valid():
    proc = promtool("check", "rules", "alerts.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 4 rules found" in proc.stdout


def test_rule_unit_tests_pass():
    proc = promtool("test", "rules", "alerts_test.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_alert_has_a_unit_test():
    rules = yaml.safe_load((PROM / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    tested = {case["alertname"] for t in yaml.safe_load((PROM / "alerts_test.yml").read_text())
              ["tests"] for case in t["alert_rule_test"] if case["exp_alerts"]}
    assert alerts == tested == {"LakeprepRunFailed", "LakeprepRejectRateJump",
                                "LakeprepNoRecentSuccess", "LakeprepNeverSucceeded"}


def test_rules_read_only_series_the_jobs_push():
    pushed = set()
    for ok in (True, False):
        reg = build_registry(RunMetrics("text_pipeline", "r", ok, 1.0, {"ingest": 1.0}, 10,
                                        {"silver.documents": 5}, {"documents": {"x": 1}}, 0.1,
                                        {"api": 1}))
        pushed |= {m.name for r in (reg, outcome_registry(RunMetrics("t", "r", ok, 1.0)))
                   for m in r.collect()}
    rules = (PROM / "alerts.yml").read_text()
    used = set(re.findall(r"\blakeprep_[a-z_]+\b", rules)) - {"lakeprep_text_pipeline",
                                                                "lakeprep_clinical_trials"}
    assert used and used <= pushed, used - pushed


def test_compose_prometheus_config_is_valid(tmp_path):
    # The compose file mounts alerts.yml at /etc/prometheus/; point the copy at the local file.
    config = (PROM / "prometheus.yml").read_text().replace("/etc/prometheus/alerts.yml",
                                                           str(PROM / "alerts.yml"))
    (tmp_path / "prometheus.yml").write_text(config)
    proc = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs = {c["job_name"]: c for c in yaml.safe_load(config)["scrape_configs"]}
    # Pushed series keep their own job label (lakeprep_<job>), which the rules select on.
    assert jobs["pushgateway"].get("honor_labels") is True
    assert {"spark-master", "spark-workers", "spark-driver", "spark-executors"} <= set(jobs)
