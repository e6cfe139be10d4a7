"""SparkSession construction shared by all jobs: Delta enabled, configuration from conf/.

One code path for every environment: under ``spark-submit`` the master, jars and resources come
from the submit command (cluster, docker, EMR); started with plain ``python`` the job runs on the
configured local master. Only the settings that must exist for Delta are forced here.
"""
from __future__ import annotations

import logging
import os
import sys

from pyspark.sql import SparkSession

from lakeprep import class_archive
from lakeprep import s3 as s3conf
from lakeprep.config import S3Settings, SparkSettings

log = logging.getLogger(__name__)

_DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


# Read only when the driver JVM starts. Started from plain `python`, PySpark passes the session's
# conf to the JVM it launches, so conf/ is enough; under spark-submit the JVM is already running
# when the job builds its session, so these must be on spark-submit's command line:
# `python -m lakeprep.spark launch-args --config FILE` prints them from the same conf file.
LAUNCH_KEYS = ("spark.driver.memory", "spark.driver.defaultJavaOptions")


def launch_conf(settings: SparkSettings, dump_class_archive: bool = True) -> dict[str, str]:
    """The conf keys that only take effect at JVM start (LAUNCH_KEYS), in the conf's values, the
    driver's JVM options completed with the class-data-sharing archive (lakeprep.class_archive):
    used when there is one, else (``dump_class_archive``) written when this JVM exits."""
    conf = {key: settings.conf[key] for key in LAUNCH_KEYS if key in settings.conf}
    if settings.class_archive_dir:
        cds = class_archive.jvm_options(settings.class_archive_dir, dump=dump_class_archive)
        if cds:
            key = "spark.driver.defaultJavaOptions"
            conf[key] = f"{conf[key]} {cds}" if conf.get(key) else cds
    return conf


def launch_args(settings: SparkSettings) -> list[str]:
    """spark-submit arguments (``--conf key=value``) for launch_conf(settings)."""
    return [arg for key, value in launch_conf(settings).items()
            for arg in ("--conf", f"{key}={value}")]


class MissingJarsError(RuntimeError):
    """Delta Lake or the PostgreSQL JDBC driver is not on Spark's classpath."""


def launched_by_spark_submit() -> bool:
    # spark-submit's PythonRunner hands the Py4J gateway to the driver process through this
    # variable; when it is absent, PySpark will launch its own JVM from this process.
    return "PYSPARK_GATEWAY_PORT" in os.environ


def submitted_master() -> str:
    """The master spark-submit started the driver with (its --master, or its local[*] default).

    It is a system property of spark-submit's JVM, which a SparkConf only reads once this process
    is connected to that JVM: before, SparkConf() is a bare Python conf whose spark.master is
    unset, and a local run would be taken for a cluster one (its local_conf silently dropped)."""
    from pyspark import SparkConf, SparkContext
    SparkContext._ensure_initialized()
    return SparkConf().get("spark.master", "")


def build_session(settings: SparkSettings, extra_conf: dict[str, str] | None = None,
                  s3: S3Settings | None = None) -> SparkSession:
    """``s3``: the config's ``s3:`` section (None = its defaults); the AWS_* environment
    variables override it either way (lakeprep.s3). Hadoop options are read when the session's
    SparkContext starts, so S3 must be configured here, not on a running session."""
    builder = SparkSession.builder.appName(settings.app_name)
    launch: dict[str, str] = {}
    if launched_by_spark_submit():
        master = submitted_master()
    else:
        master = settings.master
        builder = builder.master(master)
        # Local Python workers default to whatever `python3` is on PATH; they must import the
        # same lakeprep and tiktoken as this driver.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # The JVM this process launches gets the launch-time settings here. It only uses an
        # existing class archive: archives are written by job runs started through launch-args,
        # so that a short-lived session (a test, a tool) does not become everyone's archive.
        launch = launch_conf(settings, dump_class_archive=False)
    s3_settings = s3 if s3 is not None else S3Settings()
    # S3 first: an explicit spark.hadoop.fs.s3a.* in the config's spark.conf (or extra_conf) is
    # a deliberate override and wins over what is derived from the s3 section and environment.
    s3_options = s3conf.spark_conf(s3_settings, os.environ, on_emr=s3conf.running_on_emr())
    # describe() names where credentials come from, never their values.
    log.info("%s", s3conf.resolve(s3_settings, os.environ).describe())
    local = settings.local_conf if master.startswith("local") else {}
    for key, value in {**s3_options, **settings.conf, **local, **launch, **(extra_conf or {}),
                       **_DELTA_CONF}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    check_classpath(spark)
    return spark


def check_classpath(spark: SparkSession) -> None:
    """Fail at start-up, with the fix, instead of at the first Delta write an hour later."""
    loader = spark.sparkContext._jvm.java.lang.Thread.currentThread().getContextClassLoader()
    missing = []
    for cls in ("io.delta.tables.DeltaTable", "org.postgresql.Driver"):
        try:
            loader.loadClass(cls)
        except Exception:  # py4j wraps ClassNotFoundException
            missing.append(cls)
    if missing:
        raise MissingJarsError(
            f"classes not on Spark's classpath: {', '.join(missing)}. Run `make setup` (copies the "
            "pinned jars from scripts/jvm/pom.xml into pyspark/jars) or pass them with --jars."
        )


# How long stop_session lets the listeners catch up before stopping anyway.
LISTENER_DRAIN_MS = 60_000


def stop_session(spark: SparkSession) -> None:
    """Stop ``spark`` once its listeners have handled every event so far.

    The OpenLineage listener runs Spark jobs of its own for some events (a Delta input's file
    list). Left to SparkContext.stop, which drains the listeners while it shuts the scheduler
    down, such a job can wait forever: a clinical-trials run hung here for over 20 minutes in
    stop(). Drained first, the jobs run while the scheduler is up; bounded, so a stuck
    listener only costs LISTENER_DRAIN_MS."""
    try:
        spark.sparkContext._jsc.sc().listenerBus().waitUntilEmpty(LISTENER_DRAIN_MS)
    except Exception as exc:  # noqa: BLE001 - a timeout or no JVM handle: stop regardless
        log.warning("listeners still busy at stop (%s); stopping anyway", type(exc).__name__)
    spark.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import shlex

    from lakeprep.config import load_settings
    parser = argparse.ArgumentParser(
        prog="python -m lakeprep.spark",
        description="Print the spark-submit arguments for the Spark settings of a config file "
                    "that only take effect when the driver JVM starts (driver memory, JVM "
                    "options), shell-quoted: spark-submit $(python -m lakeprep.spark launch-args "
                    "--config conf/local.yaml) jobs/text_pipeline.py ...")
    parser.add_argument("command", choices=["launch-args"])
    parser.add_argument("--config", metavar="PATH",
                        help="YAML configuration (default: conf/local.yaml)")
    args = parser.parse_args(argv)
    print(shlex.join(launch_args(load_settings(args.config).spark)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
