"""A real Spark standalone cluster (master + worker from the pip pyspark distribution, on
127.0.0.1) runs the job the way a cluster user does: code shipped with --py-files, native
dependencies as a packed virtualenv with --archives, spark-submit started from a directory that
is not the checkout, input read from an S3 server, results in Delta and PostgreSQL."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg2
import pyspark
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPARK_HOME = Path(pyspark.__file__).parent
VENV_BIN = Path(sys.executable).parent
BUCKET = "lakeprep-cluster"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def master_state(ui_port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=2) as r:
            return json.load(r)
    except OSError:
        return None


@pytest.fixture(scope="module")
def packaged():
    subprocess.run(["bash", str(ROOT / "scripts" / "package_for_cluster.sh"),
                    str(VENV_BIN.parent)], check=True, cwd=ROOT, timeout=900)
    return ROOT / "dist" / "lakeprep.zip", ROOT / "dist" / "lakeprep-env.tar.gz"


@pytest.fixture(scope="module")
def cluster(s3_server):
    # Started after the S3 server fixture put the endpoint and (fake) keys in the environment:
    # executors inherit their worker's environment, which is how S3A on the executors finds
    # credentials on a real cluster too (instance profile or the workers' environment), never
    # through the job's Spark configuration.
    work = Path(tempfile.mkdtemp(prefix="lakeprep-cluster-"))
    port, ui_port, worker_ui = free_port(), free_port(), free_port()
    # The metrics options the compose file gives its master and workers (x-spark-metrics).
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    daemon_opts = compose["x-spark-metrics"]["SPARK_DAEMON_JAVA_OPTS"]
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_WORKER_DIR": str(work / "worker"), "SPARK_LOG_DIR": str(work / "logs"),
           "SPARK_DAEMON_JAVA_OPTS": daemon_opts}
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    logs = []
    procs = []
    for name, args in (
        ("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                    "--port", str(port), "--webui-port", str(ui_port)]),
        ("worker", ["org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}",
                    "--host", "127.0.0.1", "--cores", "2", "--memory", "3g",
                    "--webui-port", str(worker_ui), "--work-dir", str(work / "worker")]),
    ):
        log = open(work / f"{name}.log", "w")
        logs.append(log)
        procs.append(subprocess.Popen([spark_class, *args], env=env, stdout=log,
                                      stderr=subprocess.STDOUT))
    try:
        wait_for(lambda: (s := master_state(ui_port)) and s.get("aliveworkers") == 1, 90,
                 "the worker to register with the master")
        yield {"url": f"spark://127.0.0.1:{port}", "ui_port": ui_port, "work": work,
               "worker_ui_port": worker_ui}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in logs:
            log.close()
        shutil.rmtree(work, ignore_errors=True)


def test_job_runs_on_standalone_cluster_with_shipped_code(cluster, packaged, pg,
                                                          tmp_path_factory):
    code_zip, env_archive = packaged
    corpus = tmp_path_factory.mktemp("cluster-in") / "corpus"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_mock_data.py"), "--out",
                    str(corpus), "--docs", "150", "--quiet"], check=True)
    subprocess.run([sys.executable, "-m", "lakeprep.tools.upload", str(corpus),
                    f"s3://{BUCKET}/raw", "--create-bucket"], check=True, capture_output=True)
    config = tmp_path_factory.mktemp("cluster-conf") / "cluster.yaml"
    # A loopback IP cannot carry the bucket in the host name: path-style addressing.
    config.write_text(f"extends: {ROOT / 'conf' / 'local.yaml'}\ns3:\n  path_style_access: true\n")
    lake = tmp_path_factory.mktemp("cluster-lake")
    # Not the checkout: the driver finds the job script and config by absolute path, the
    # executors find lakeprep only in the shipped zip (the packed env does not contain it).
    elsewhere = tmp_path_factory.mktemp("cwd")
    env = {**os.environ, "PGHOST": pg.host, "PGPORT": str(pg.port),
           "PGDATABASE": pg.database, "PGUSER": pg.user,
           "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_DRIVER_PYTHON": sys.executable}
    env.pop("PYSPARK_PYTHON", None)
    cmd = [str(VENV_BIN / "spark-submit"), "--master", cluster["url"], "--deploy-mode", "client",
           "--driver-memory", "1g", "--executor-memory", "2g",
           "--archives", f"{env_archive}#environment",
           "--py-files", str(code_zip),
           "--conf", "spark.pyspark.python=./environment/bin/python",
           "--conf", f"spark.pyspark.driver.python={sys.executable}",
           "--driver-java-options", f"-Dlog4j2.configurationFile={ROOT / 'conf' / 'log4j2.properties'}",
           str(ROOT / "jobs" / "text_pipeline.py"), "--input", f"s3a://{BUCKET}/raw",
           "--lake", str(lake), "--config", str(config), "--quiet"]
    proc = subprocess.run(cmd, env=env, cwd=elsewhere, capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stderr[-6000:]

    manifest = json.loads((corpus / "manifest.json").read_text())
    totals = manifest["totals"]
    expected = totals["txt_files"] + totals["jsonl_records"] + totals["parquet_rows"]
    conn = psycopg2.connect(**pg.params())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM documents WHERE source_uri LIKE %s",
                        (f"s3a://{BUCKET}/raw/%",))
            assert cur.fetchone()[0] == expected
            cur.execute("SELECT count(*) FROM chunks WHERE source_uri LIKE %s",
                        (f"s3a://{BUCKET}/raw/%",))
            assert cur.fetchone()[0] > 0
    finally:
        conn.close()
    assert (lake / "silver" / "chunks" / "_delta_log").is_dir()
    # The application ran on the cluster and its executors unpacked the shipped environment.
    state = master_state(cluster["ui_port"])
    assert [a["name"] for a in state["completedapps"]] == ["text-pipeline"]
    unpacked = list((cluster["work"] / "worker").glob("app-*/*/environment/bin/python"))
    assert unpacked, "executors did not unpack the --archives environment"


@pytest.fixture(scope="module")
def pg(pg_database):
    """This module's own database: its row counts see only its own runs."""
    return pg_database("e2e_cluster")


def test_master_and_worker_serve_prometheus_metrics(cluster):
    """The compose file's SPARK_DAEMON_JAVA_OPTS, on a real master and worker: the paths
    conf/prometheus/prometheus.yml scrapes answer in Prometheus's text format."""
    def page(port: int, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as resp:
            return resp.read().decode()

    assert 'metrics_master_aliveWorkers_Value{type="gauges"} 1' in page(cluster["ui_port"],
                                                         "/metrics/master/prometheus")
    assert "metrics_worker_coresFree_Value" in page(cluster["worker_ui_port"],
                                                    "/metrics/prometheus")
