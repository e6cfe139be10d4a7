"""Which intermediate frames the pipeline writes a second disk copy of: only those whose
recomputation would shuffle, run Python or read sources again."""
from __future__ import annotations

import logging

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import functions as F

from lakeprep.text import pipeline


def _cached_documents(spark):
    docs = spark.createDataFrame([(f"d{i}", f"text {i}") for i in range(200)],
                                 "doc_id string, text string").repartition(4)
    return docs.persist(StorageLevel.DISK_ONLY)


def _checkpointed_result(spark):
    result = spark.createDataFrame([(f"d{i}", "exact_duplicate") for i in range(0, 200, 7)],
                                   "dd_id string, reason string")
    return result.localCheckpoint(eager=True)


def test_a_broadcast_join_of_cached_documents_reads_through(spark):
    docs, result = _cached_documents(spark), _checkpointed_result(spark)
    joined = docs.join(F.broadcast(result), docs["doc_id"] == result["dd_id"], "left")
    try:
        assert pipeline._narrow_over_frozen(joined.withColumn("deleted_at", F.lit(None)))
    finally:
        docs.unpersist()


def test_a_shuffle_python_or_source_read_is_worth_a_copy(spark, tmp_path):
    docs, result = _cached_documents(spark), _checkpointed_result(spark)
    try:
        spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
        try:
            shuffled = docs.join(result, docs["doc_id"] == result["dd_id"], "left")
            assert not pipeline._narrow_over_frozen(shuffled)
        finally:
            spark.conf.unset("spark.sql.autoBroadcastJoinThreshold")

        def upper(batches):
            for batch in batches:
                yield pd.DataFrame({"doc_id": batch["doc_id"].str.upper()})
        assert not pipeline._narrow_over_frozen(docs.mapInPandas(upper, "doc_id string"))

        docs.write.parquet(str(tmp_path / "docs"))
        assert not pipeline._narrow_over_frozen(spark.read.parquet(str(tmp_path / "docs")))
    finally:
        docs.unpersist()


def test_only_costly_frames_are_cached(spark, caplog):
    docs, result = _cached_documents(spark), _checkpointed_result(spark)
    cached: list = []
    try:
        narrow = docs.join(F.broadcast(result), docs["doc_id"] == result["dd_id"], "left")
        with caplog.at_level(logging.INFO, logger="lakeprep.text"):
            out, n = pipeline._materialize_if_costly(narrow, cached, "documents after dedup")
        assert n == 200 and out is narrow and cached == []
        assert not narrow.storageLevel.useDisk
        assert "read through from the cache" in caplog.text

        grouped = docs.groupBy(F.substring("doc_id", 1, 2).alias("p")).count()
        out, n = pipeline._materialize_if_costly(grouped, cached, "grouped")
        assert cached == [out] and out.storageLevel.useDisk
        assert n == grouped.count()
    finally:
        for df in cached + [docs]:
            df.unpersist()
