"""The start of a local `spark-submit` command line as the e2e tests run the jobs: the way a user
does (README, `make run`), with the config's launch-time settings from launch-args (driver JVM
options, the class-data-sharing archive), then a driver small enough for the test machine."""
from __future__ import annotations

import sys
from pathlib import Path

from lakeprep.config import load_settings
from lakeprep.spark import launch_args

ROOT = Path(__file__).resolve().parents[1]


def spark_submit_prefix(driver_memory: str = "2g") -> list[str]:
    """spark-submit, a local[2] master, launch-args of conf/local.yaml (asked at each call: the
    first run writes the class archive that later runs map), the log4j config; the job's script
    and arguments follow. The explicit --driver-memory after launch-args wins over its value."""
    settings = load_settings(ROOT / "conf" / "local.yaml")
    return [str(Path(sys.executable).parent / "spark-submit"), "--master", "local[2]",
            *launch_args(settings.spark), "--driver-memory", driver_memory,
            "--driver-java-options",
            f"-Dlog4j2.configurationFile={ROOT / 'conf' / 'log4j2.properties'}"]
