"""Spark's own Prometheus endpoints, as the cluster configs turn them on: a driver started with
conf/docker.yaml's Spark settings (UI on, PrometheusServlet sink from local.yaml) serves driver and
executor metrics in Prometheus's text format, which conf/prometheus/prometheus.yml scrapes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from prom_helpers import free_port

from lakeprep.config import load_settings

ROOT = Path(__file__).resolve().parents[2]

DRIVER = r"""
import json, sys, urllib.request
from pyspark.sql import SparkSession
conf, port = json.loads(sys.argv[1]), sys.argv[2]
builder = SparkSession.builder.master("local[1]").appName("prometheus-endpoints")
for k, v in {**conf, "spark.ui.port": port, "spark.driver.memory": "1g"}.items():
    builder = builder.config(k, v)
spark = builder.getOrCreate()
spark.range(1000).selectExpr("sum(id)").collect()
out = {}
for path in ("/metrics/prometheus", "/metrics/executors/prometheus"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as resp:
        out[path] = resp.read().decode()
spark.stop()
print(json.dumps(out))
"""


def test_cluster_configs_expose_driver_and_executor_metrics():
    conf = load_settings(ROOT / "conf" / "docker.yaml").spark.conf
    assert conf["spark.ui.enabled"] == "true"
    assert load_settings(ROOT / "conf" / "emr.yaml").spark.conf["spark.ui.enabled"] == "true"
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(conf), str(free_port())],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pages = json.loads(proc.stdout.strip().splitlines()[-1])
    # Driver metrics through the PrometheusServlet sink (JVM heap, DAG scheduler, ...).
    assert "metrics_" in pages["/metrics/prometheus"]
    assert "BlockManager" in pages["/metrics/prometheus"]
    # Executor metrics (spark.ui.prometheus.enabled).
    assert "metrics_executor_" in pages["/metrics/executors/prometheus"]
