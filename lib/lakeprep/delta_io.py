"""Delta Lake writes as idempotent MERGEs (the lake's side of "a rerun changes nothing").

Every table is keyed by a deterministic id. A MERGE updates a row only when one of its compared
columns really changed and inserts ids it has not seen, so replaying the same input leaves the
data as it was, and a crash between two writes is repaired by simply running again.
"""
from __future__ import annotations

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T


def ensure_table(spark: SparkSession, path: str, schema: T.StructType) -> DeltaTable:
    """Create the table at ``path`` with an enforced schema if it does not exist yet."""
    (DeltaTable.createIfNotExists(spark)
     .location(path)
     .addColumns(schema)
     .execute())
    return DeltaTable.forPath(spark, path)


def append_if_created(spark: SparkSession, df: DataFrame, path: str, schema: T.StructType,
                      merge_schema: bool = False) -> DeltaTable | None:
    """Create the table at ``path`` if needed; when this call created it, append ``df`` and
    return None, otherwise return the table for the caller's MERGE.

    A MERGE into a new table can only insert every row, but it still materializes the source
    and joins it with the table; a plain append does the same schema checks at a fraction of
    the cost (docs/BENCHMARKS.md, optimizations). Asking the table itself whether it is empty
    (DeltaTable.detail) cost more than the append."""
    created = not DeltaTable.isDeltaTable(spark, path)
    target = ensure_table(spark, path, schema)
    if not created:
        return target
    writer = df.write.format("delta").mode("append")
    if merge_schema:
        writer = writer.option("mergeSchema", "true")
    writer.save(path)
    return None


def _changed(columns: list[str]) -> str:
    # Null-safe comparison: a NULL reason replaced by a value (or back) is a change too.
    return " OR ".join(f"NOT (t.`{c}` <=> s.`{c}`)" for c in columns)


def upsert(spark: SparkSession, df: DataFrame, path: str, key: str,
           compare: list[str], evolve_schema: bool = False) -> bool:
    """MERGE ``df`` into the Delta table at ``path`` on ``key``; returns True when this call
    created the table, so ``df`` was appended instead (nothing can be stale in it then).

    Rows whose ``compare`` columns are unchanged are left alone, so timestamps such as
    ``processed_at`` keep the value of the run that first produced the row. With
    ``evolve_schema`` new columns of ``df`` are added to the table (derived silver tables gain
    columns as rules are added); without it (bronze) a schema change fails the write.
    """
    target = append_if_created(spark, df, path, df.schema, merge_schema=evolve_schema)
    if target is None:
        return True
    builder = target.alias("t").merge(df.alias("s"), f"t.`{key}` = s.`{key}`")
    # A compared column that this run does not produce (an optional step switched off) cannot
    # have changed.
    condition = _changed([c for c in compare if c in df.columns])
    if evolve_schema:
        builder = builder.withSchemaEvolution()
        if set(df.columns) - set(target.toDF().columns):
            # The table is gaining columns: every existing row must be rewritten to fill them,
            # and the compared columns may not exist in it yet.
            condition = "true"
    (builder
     .whenMatchedUpdateAll(condition=condition)
     .whenNotMatchedInsertAll()
     .execute())
    return False


def delete_stale_children(spark: SparkSession, path: str, fresh: DataFrame, parent_key: str,
                          child_key: str, parents: DataFrame) -> None:
    """Delete rows of ``parents`` that are not in ``fresh`` any more (e.g. a changed document
    that now has fewer chunks, or was rejected and has none)."""
    target = DeltaTable.forPath(spark, path)
    in_scope = target.toDF().join(parents.select(parent_key).distinct(), on=parent_key,
                                  how="left_semi")
    stale = in_scope.select(child_key).join(fresh.select(child_key), on=child_key, how="left_anti")
    (target.alias("t")
     .merge(stale.alias("s"), f"t.`{child_key}` = s.`{child_key}`")
     .whenMatchedDelete()
     .execute())


def table_version(spark: SparkSession, path: str) -> int:
    """The latest committed version of the Delta table at ``path``.

    Asked of Delta's own log (DeltaLog.update: a listing of _delta_log, ~7 ms a table) rather
    than through history(1), which plans and runs a query over the commit files (~0.13 s a
    table warm, ~0.5 s cold: the reports ask for four). The log's Scala signature is not
    public API: on another Delta release, or without a JVM handle (Spark Connect), history."""
    jvm = getattr(spark, "_jvm", None)
    if jvm is None:
        return table_version_from_history(spark, path)
    try:
        none = jvm.scala.Option.empty()
        log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
        return int(log.update(False, none, none).version())
    except Exception:  # noqa: BLE001 - any failure of the shortcut: the public way below
        return table_version_from_history(spark, path)


def table_version_from_history(spark: SparkSession, path: str) -> int:
    return DeltaTable.forPath(spark, path).history(1).select(F.col("version")).first()[0]
