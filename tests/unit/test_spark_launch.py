"""Launch-time Spark settings: conf/ holds them once, spark-submit gets them from
``python -m lakeprep.spark launch-args`` (lakeprep.spark.launch_args)."""
from __future__ import annotations

import dataclasses
import shlex
import subprocess
import sys
from pathlib import Path

from lakeprep.config import SparkSettings, load_settings
from lakeprep.spark import LAUNCH_KEYS, launch_args

ROOT = Path(__file__).resolve().parents[2]


def test_only_the_keys_read_at_jvm_start_become_arguments():
    settings = SparkSettings("local[*]", "x", {
        "spark.sql.shuffle.partitions": "8",
        "spark.driver.defaultJavaOptions": "-XX:TieredStopAtLevel=1 -Dx=a b",
        "spark.driver.memory": "3g"})
    # In LAUNCH_KEYS order, each one --conf pair; session-time keys stay in the session.
    assert launch_args(settings) == ["--conf", "spark.driver.memory=3g",
                                     "--conf", "spark.driver.defaultJavaOptions="
                                               "-XX:TieredStopAtLevel=1 -Dx=a b"]
    assert launch_args(SparkSettings("local[*]", "x", {"spark.ui.enabled": "false"})) == []
    assert set(LAUNCH_KEYS) == {"spark.driver.memory", "spark.driver.defaultJavaOptions"}


def test_local_conf_runs_the_driver_jvm_with_the_c1_compiler_and_the_serial_collector(tmp_path):
    spark = dataclasses.replace(load_settings(ROOT / "conf" / "local.yaml").spark,
                                class_archive_dir=str(tmp_path))
    args = launch_args(spark)
    assert args[:2] == ["--conf", "spark.driver.memory=4g"]
    assert args[3].startswith("spark.driver.defaultJavaOptions=-XX:TieredStopAtLevel=1 "
                              "-XX:ReservedCodeCacheSize=256m -XX:+UseSerialGC "
                              "-Xmn96m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20 "
                              "-XX:ArchiveClassesAtExit=")
    # No archive folder: the conf's options alone.
    assert launch_args(dataclasses.replace(spark, class_archive_dir=""))[3] == (
        "spark.driver.defaultJavaOptions=-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m "
        "-XX:+UseSerialGC -Xmn96m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20")


def test_cli_prints_shell_quoted_arguments_that_split_back(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"extends: {ROOT / 'conf' / 'local.yaml'}\nspark:\n  class_archive_dir: ''\n"
                   "  conf:\n"
                   "    spark.driver.defaultJavaOptions: \"-XX:TieredStopAtLevel=1 -Dk='v w'\"\n")
    out = subprocess.run([sys.executable, "-m", "lakeprep.spark", "launch-args", "--config",
                          str(cfg)], capture_output=True, text=True, check=True).stdout
    assert shlex.split(out) == ["--conf", "spark.driver.memory=4g", "--conf",
                                "spark.driver.defaultJavaOptions=-XX:TieredStopAtLevel=1 -Dk='v w'"]


def test_local_only_settings_are_kept_apart_from_the_session_conf():
    spark = load_settings(ROOT / "conf" / "local.yaml").spark
    # Applied by build_session on local masters only: on a cluster, lakeprep may reach the
    # executors with the tasks (--py-files), after the worker daemon has started.
    assert spark.local_conf == {"spark.python.daemon.module": "lakeprep.worker_daemon",
                                "spark.buffer.pageSize": "2m",
                                "spark.databricks.delta.snapshotPartitions": "2"}
    assert not set(spark.local_conf) & set(spark.conf)


class _Recorder:
    """Stands in for the SparkSession and the JVM objects stop_session reaches through py4j."""

    def __init__(self, drain_fails: bool = False):
        self.calls: list[tuple] = []
        self.drain_fails = drain_fails
        self.sparkContext = self
        self._jsc = self

    def sc(self):
        return self

    def listenerBus(self):
        return self

    def waitUntilEmpty(self, millis):
        self.calls.append(("drain", millis))
        if self.drain_fails:
            raise RuntimeError("TimeoutException")

    def stop(self):
        self.calls.append(("stop",))


def test_stop_session_lets_the_listeners_catch_up_before_stopping():
    from lakeprep.spark import LISTENER_DRAIN_MS, stop_session
    spark = _Recorder()
    stop_session(spark)
    assert spark.calls == [("drain", LISTENER_DRAIN_MS), ("stop",)]
    busy = _Recorder(drain_fails=True)  # a listener still busy after the bound: stop anyway
    stop_session(busy)
    assert busy.calls == [("drain", LISTENER_DRAIN_MS), ("stop",)]
