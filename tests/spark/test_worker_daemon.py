"""Python workers fork from lakeprep.worker_daemon (spark.python.daemon.module in conf/): they
start with the pipeline's modules loaded instead of importing them one worker at a time."""
from __future__ import annotations


def test_workers_fork_with_the_rule_modules_already_imported(spark, settings):
    assert settings.spark.local_conf["spark.python.daemon.module"] == "lakeprep.worker_daemon"
    assert spark.sparkContext.getConf().get("spark.python.daemon.module") == "lakeprep.worker_daemon"

    def what_the_worker_had(batches):
        # Runs in a Python worker. A closure (pickled by value) that imports nothing of lakeprep:
        # whatever of lakeprep is loaded came with the worker from its daemon.
        import sys

        import pandas as pd
        for _ in batches:
            pass
        dedup = sys.modules.get("lakeprep.text.dedup")
        yield pd.DataFrame({
            "transforms": ["lakeprep.text.transforms" in sys.modules],
            "dedup": [dedup is not None],
            "separators_built": [dedup is not None
                                 and dedup._separators.cache_info().currsize == 1],
        })

    rows = (spark.range(4, numPartitions=2)
            .mapInPandas(what_the_worker_had,
                         "transforms boolean, dedup boolean, separators_built boolean")
            .collect())
    assert len(rows) == 2
    assert all(r.transforms and r.dedup and r.separators_built for r in rows)
