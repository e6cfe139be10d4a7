"""The launch-time settings of conf/local.yaml reach the driver JVM that spark-submit starts
(the way `make run` and the benchmark start the job)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lakeprep.config import load_settings
from lakeprep.spark import launch_args

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.master("local[1]").getOrCreate()
jvm = spark.sparkContext._jvm
print("JVM_ARGS", jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
      .getInputArguments().toString())
print("MAX_HEAP_MB", jvm.java.lang.Runtime.getRuntime().maxMemory() // 2**20)
spark.stop()
"""


def test_spark_submit_with_launch_args_starts_the_jvm_as_configured(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    cmd = [str(Path(sys.executable).parent / "spark-submit"),
           *launch_args(load_settings(ROOT / "conf" / "local.yaml").spark),
           # The job's own --driver-java-options (log4j) must not replace the default options.
           "--driver-java-options", "-Dlakeprep.probe=1", str(probe)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("JVM_ARGS"))
    assert "-XX:TieredStopAtLevel=1" in line and "-Dlakeprep.probe=1" in line
    assert "-XX:ReservedCodeCacheSize=256m" in line
    heap = int(next(x for x in proc.stdout.splitlines() if x.startswith("MAX_HEAP_MB")).split()[1])
    assert 3000 < heap <= 4096  # spark.driver.memory 4g from the config (not the 1g default)
