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
        import gc
        dedup = sys.modules.get("lakeprep.text.dedup")
        chunking = sys.modules.get("lakeprep.text.chunking")
        yield pd.DataFrame({
            "transforms": ["lakeprep.text.transforms" in sys.modules],
            "dedup": [dedup is not None],
            "separators_built": [dedup is not None
                                 and dedup._separators.cache_info().currsize == 1],
            # Loaded by the daemon from the name the session put in the workers' environment.
            "encoding_loaded": [chunking is not None
                                and chunking.get_encoding.cache_info().currsize == 1],
            # The daemon's objects are out of the collector's reach (gc.freeze before forking).
            "frozen_objects": [gc.get_freeze_count()],
        })

    rows = (spark.range(4, numPartitions=2)
            .mapInPandas(what_the_worker_had,
                         "transforms boolean, dedup boolean, separators_built boolean, "
                         "encoding_loaded boolean, frozen_objects long")
            .collect())
    assert len(rows) == 2
    assert all(r.transforms and r.dedup and r.separators_built for r in rows)
    assert all(r.encoding_loaded for r in rows)
    # Tens of thousands (the imported modules); a worker that froze nothing would show 0.
    assert all(r.frozen_objects > 10_000 for r in rows)


def test_worker_conf_names_the_encoding_in_the_executor_environment(spark, settings):
    from lakeprep.text.chunking import WORKER_ENCODING_ENV, worker_conf
    key = f"spark.executorEnv.{WORKER_ENCODING_ENV}"
    assert worker_conf(settings.chunking.encoding) == {key: settings.chunking.encoding}
    assert spark.sparkContext.getConf().get(key) == settings.chunking.encoding


def test_workers_take_arrow_buffers_from_the_system_allocator(spark, settings):
    # conf/local.yaml: mimalloc (pyarrow's default) kept freed batch buffers, so the workers'
    # memory grew with the number of batches.
    assert settings.spark.conf["spark.executorEnv.ARROW_DEFAULT_MEMORY_POOL"] == "system"

    def pool(batches):
        import pandas as pd
        import pyarrow as pa
        for _ in batches:
            pass
        yield pd.DataFrame({"pool": [pa.default_memory_pool().backend_name]})

    rows = spark.range(2, numPartitions=2).mapInPandas(pool, "pool string").collect()
    assert [r.pool for r in rows] == ["system", "system"]
