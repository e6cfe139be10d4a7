"""The launch-time settings of the config reach the driver JVM that spark-submit starts (the way
`make run` and the benchmark start the job), class-data-sharing archive included."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyspark

from lakeprep import class_archive
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
hotspot = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
    jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean"))
print("HEAP_SIZING", *[hotspot.getVMOption(name).getValue()
                       for name in ("NewSize", "MaxNewSize", "MinHeapFreeRatio", "MaxHeapFreeRatio")])
print("GC", *[b.getName() for b in
              jvm.java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()])
spark.range(100).selectExpr("sum(id)").collect()
spark.stop()
"""


def _submit(tmp_path: Path, args: list[str], java_options: str | None = None,
            source: str = PROBE, probe_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    # The job's own --driver-java-options (log4j) must not replace the default options.
    java = ["--driver-java-options", java_options] if java_options else []
    cmd = [str(Path(sys.executable).parent / "spark-submit"), *args, *java, str(probe),
           *probe_args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _line(proc: subprocess.CompletedProcess, key: str) -> str:
    return next(x for x in proc.stdout.splitlines() if x.startswith(key))


def test_spark_submit_with_launch_args_starts_the_jvm_as_configured(tmp_path):
    folder = tmp_path / "jvm"
    cfg = tmp_path / "local.yaml"
    cfg.write_text(f"extends: {ROOT / 'conf' / 'local.yaml'}\n"
                   f"spark:\n  class_archive_dir: {folder}\n")
    settings = load_settings(cfg)

    first = _submit(tmp_path, launch_args(settings.spark), "-Dlakeprep.probe=1")
    jvm_args = _line(first, "JVM_ARGS")
    assert "-XX:TieredStopAtLevel=1" in jvm_args and "-Dlakeprep.probe=1" in jvm_args
    assert "-XX:ReservedCodeCacheSize=256m" in jvm_args
    # The JVM runs the collector the options name (not only received the flag).
    assert "-XX:+UseSerialGC" in jvm_args
    assert _line(first, "GC").split()[1:] == ["Copy", "MarkSweepCompact"]
    # The heap follows its live set: a 96 MB young generation, the old one 10-20% free.
    assert _line(first, "HEAP_SIZING").split()[1:] == [str(96 * 2**20)] * 2 + ["10", "20"]
    heap = int(_line(first, "MAX_HEAP_MB").split()[1])
    assert 3000 < heap <= 4096  # spark.driver.memory 4g from the config (not the 1g default)
    # No archive yet: this JVM wrote one when it exited, quietly (no per-class warnings).
    assert "-XX:ArchiveClassesAtExit=" in jvm_args
    parts = list(folder.glob("spark-*.part"))
    assert len(parts) == 1 and parts[0].read_bytes()[:4] == class_archive._MAGIC
    assert "[cds]" not in first.stdout + first.stderr

    # Once settled, the dump becomes the archive every later run maps. -Xshare:on makes a JVM
    # that cannot map it fail to start instead of silently running without it.
    class_archive.jvm_options(str(folder), now=time.time() + class_archive.COMPLETE_SETTLED_S + 1)
    second = _submit(tmp_path, launch_args(settings.spark), "-Xshare:on")
    jvm_args = _line(second, "JVM_ARGS")
    assert f"-XX:SharedArchiveFile={folder}/spark-" in jvm_args
    assert "ArchiveClassesAtExit" not in jvm_args


SESSION_PROBE = """
import sys

# As the jobs start (jobs/*.py).
from lakeprep.pyspark_path import skip_bundled_pyspark
skip_bundled_pyspark()

import pyspark
from lakeprep.config import load_settings
from lakeprep.spark import build_session, submitted_master

spark = build_session(load_settings(sys.argv[1]).spark)
print("MASTER", submitted_master())
print("DRIVER_PYSPARK", pyspark.__file__)
# The page size Spark's memory manager actually uses (read once, when the context starts).
print("PAGE_BYTES", spark._jvm.org.apache.spark.SparkEnv.get().memoryManager().pageSizeBytes())


def worker_state(batches):
    # In a Python worker: what of lakeprep it had before this function ran (it imports none),
    # where its pyspark came from and which archives importlib.invalidate_caches() re-reads.
    import sys
    import zipimport

    import pandas as pd
    import pyspark
    for _ in batches:
        pass
    archives = sorted({v.archive for v in sys.path_importer_cache.values()
                       if isinstance(v, zipimport.zipimporter)})
    yield pd.DataFrame({"dedup": ["lakeprep.text.dedup" in sys.modules],
                        "pyspark": [pyspark.__file__], "archives": [" ".join(archives)]})


row = spark.range(2, numPartitions=1).mapInPandas(
    worker_state, "dedup boolean, pyspark string, archives string").collect()[0]
print("WORKER_HAD_DEDUP", row.dedup)
print("WORKER_PYSPARK", row.pyspark)
print("WORKER_ARCHIVES", row.archives or "-")
spark.stop()
"""


def test_spark_submit_default_master_gets_the_local_conf(tmp_path):
    # spark-submit without --master runs local[*] (make run, the benchmark). The local-only
    # settings must apply there too: the master is read from spark-submit's JVM, not from a
    # SparkConf made before this process is connected to it (which has no master at all).
    proc = _submit(tmp_path, [], source=SESSION_PROBE,
                   probe_args=(str(ROOT / "conf" / "local.yaml"),))
    assert _line(proc, "MASTER").split()[1] == "local[*]"
    # The worker forked from lakeprep.worker_daemon, which had imported the rule modules.
    assert _line(proc, "WORKER_HAD_DEDUP").split()[1] == "True"
    # 2 MB memory pages from local_conf, not the 64 MB Spark derives from the heap and cores.
    assert int(_line(proc, "PAGE_BYTES").split()[1]) == 2 * 1024 * 1024
    # spark-submit puts the pip-installed pyspark's own pyspark.zip (and a jar) first on
    # PYTHONPATH; both processes import the installed package instead (bytecode cached), and
    # no worker re-reads those archives' directories before each task.
    for key in ("DRIVER_PYSPARK", "WORKER_PYSPARK"):
        assert _line(proc, key).split()[1] == pyspark.__file__, key
    archives = _line(proc, "WORKER_ARCHIVES").split()[1:]
    assert not [a for a in archives if a.endswith(("pyspark.zip", ".jar"))], archives
