"""Staged API pages -> the bronze Delta table ``bronze/ctgov_studies`` (one row per NCT ID).

Third step of the clinical-trials job: reads the pages lakeprep.trials.staging wrote, splits
them into one row per study (the study object exactly as the API returned it, serialized) with
lineage (API version, registry data timestamp, page file, run) and MERGEs on ``nct_id``,
keeping the version with the latest ``lastUpdatePostDate`` (ties: the later run wins, an
identical study changes nothing). Silver (lakeprep.trials.silver) parses ``study_json``.

Nothing is dropped silently: a study without an NCT ID, an entry that is not a JSON object, or a
staged page that no longer parses goes to ``bronze/ctgov_rejected_records`` with a reason; older
versions of a study met twice in one run are counted as superseded.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep import delta_io
from lakeprep.trials.layout import TrialsLayout
from lakeprep.trials.staging import PAGE_GLOB, StagingRun

log = logging.getLogger("lakeprep.trials.bronze")

BRONZE_SCHEMA = T.StructType([
    T.StructField("nct_id", T.StringType(), False),
    T.StructField("study_json", T.StringType(), False),
    T.StructField("last_update_posted", T.StringType(), True),
    T.StructField("content_sha256", T.StringType(), True),
    T.StructField("api_version", T.StringType(), True),
    T.StructField("data_timestamp", T.StringType(), True),
    T.StructField("page_uri", T.StringType(), True),
    T.StructField("run_id", T.StringType(), True),
    T.StructField("ingested_at", T.TimestampType(), True),
])

REJECTED_SCHEMA = T.StructType([
    T.StructField("record_id", T.StringType(), False),
    T.StructField("page_uri", T.StringType(), False),
    T.StructField("record_index", T.IntegerType(), False),
    T.StructField("reason", T.StringType(), False),
    T.StructField("detail", T.StringType(), True),
    T.StructField("record_json", T.StringType(), True),
    T.StructField("run_id", T.StringType(), True),
    T.StructField("ingested_at", T.TimestampType(), True),
])

# Reason codes of bronze/ctgov_rejected_records.
MISSING_NCT_ID = "missing_nct_id"
NOT_AN_OBJECT = "study_not_an_object"
MALFORMED_PAGE = "malformed_page"
# A rejected record keeps at most this much of its JSON: enough to see what it was.
MAX_REJECTED_JSON_CHARS = 100_000

_RECORD = T.StructType([
    T.StructField("record_index", T.IntegerType(), False),
    T.StructField("nct_id", T.StringType(), True),
    T.StructField("study_json", T.StringType(), True),
    T.StructField("last_update_posted", T.StringType(), True),
    T.StructField("reject_reason", T.StringType(), True),
    T.StructField("detail", T.StringType(), True),
])


def split_page(body: bytes) -> list[tuple]:
    """One tuple per study of a page: (record_index, nct_id, study_json, last_update_posted,
    reject_reason, detail). Plain Python, so every reason is unit-testable without Spark."""
    try:
        data = json.loads(body)
        studies = data["studies"]
        if not isinstance(studies, list):
            raise TypeError("'studies' is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        text = body[:MAX_REJECTED_JSON_CHARS].decode("utf-8", "replace")
        return [(-1, None, text, None, MALFORMED_PAGE, f"{type(exc).__name__}: {exc}"[:500])]
    out = []
    for i, study in enumerate(studies):
        # Key order kept, no whitespace, non-ASCII as is: the study as the API returned it.
        text = json.dumps(study, ensure_ascii=False, separators=(",", ":"))
        if not isinstance(study, dict):
            out.append((i, None, text[:MAX_REJECTED_JSON_CHARS], None, NOT_AN_OBJECT,
                        type(study).__name__))
            continue
        ps = study.get("protocolSection")
        ident = ps.get("identificationModule") if isinstance(ps, dict) else None
        nct = ident.get("nctId") if isinstance(ident, dict) else None
        if not isinstance(nct, str) or not nct.strip():
            out.append((i, None, text[:MAX_REJECTED_JSON_CHARS], None, MISSING_NCT_ID,
                        "protocolSection.identificationModule.nctId is "
                        + ("absent" if nct is None else repr(nct)[:50])))
            continue
        status = ps.get("statusModule") if isinstance(ps, dict) else None
        lup = status.get("lastUpdatePostDateStruct") if isinstance(status, dict) else None
        lup_date = lup.get("date") if isinstance(lup, dict) else None
        out.append((i, nct.strip(), text, lup_date if isinstance(lup_date, str) else None,
                    None, None))
    return out


def date_sort_key(col: str) -> str:
    """SQL turning a partial ISO date ("2015", "2015-08") into a comparable full one."""
    return (f"CASE WHEN length({col}) = 4 THEN concat({col}, '-01-01') "
            f"WHEN length({col}) = 7 THEN concat({col}, '-01') ELSE {col} END")


@dataclass
class StagedRecords:
    studies: DataFrame     # bronze rows, one per NCT ID (latest version within the run)
    rejected: DataFrame    # REJECTED_SCHEMA rows
    parsed: DataFrame      # every record, for counting; persisted (unpersist when done)


def read_staged(spark: SparkSession, run: StagingRun, run_id: str) -> StagedRecords:
    """Parse the staged pages of ``run`` into bronze rows and rejected records."""
    files = run.files
    pages_uri = files.qualify(run.pages_uri)
    meta = spark.createDataFrame(
        [(s["page_file"], int(s["page_index"]), s.get("api_version"), s.get("data_timestamp"))
         for s in run.sidecars],
        "page_file string, page_index int, api_version string, data_timestamp string")
    raw = (spark.read.format("binaryFile").option("pathGlobFilter", PAGE_GLOB).load(pages_uri)
           .withColumn("page_file", F.element_at(F.split("path", "/"), -1))
           # A page body without its sidecar was being written when a run died: not staged.
           .join(F.broadcast(meta), on="page_file", how="inner"))
    # Wrapped: a UDF over the annotated function would make Spark try to infer a pandas UDF.
    split = F.udf(lambda body: split_page(body), T.ArrayType(_RECORD))
    now = F.current_timestamp()
    parsed = (raw.select(F.col("path").alias("page_uri"), "page_index", "api_version",
                         "data_timestamp", F.explode(split("content")).alias("r"))
              .select("page_uri", "page_index", "api_version", "data_timestamp", "r.*")
              .persist(StorageLevel.MEMORY_AND_DISK))
    ok = parsed.where(F.col("reject_reason").isNull())
    latest_first = Window.partitionBy("nct_id").orderBy(
        F.expr(date_sort_key("last_update_posted")).desc_nulls_last(),
        F.col("page_index").desc(), F.col("record_index").desc())
    studies = (ok.withColumn("_rank", F.row_number().over(latest_first))
               .where(F.col("_rank") == 1)
               .select(F.col("nct_id"), F.col("study_json"), F.col("last_update_posted"),
                       F.sha2(F.col("study_json"), 256).alias("content_sha256"),
                       "api_version", "data_timestamp", "page_uri",
                       F.lit(run_id).alias("run_id"), now.alias("ingested_at")))
    rejected = (parsed.where(F.col("reject_reason").isNotNull())
                .select(F.sha2(F.concat_ws(":", "page_uri", F.col("record_index").cast("string")),
                               256).alias("record_id"),
                        "page_uri", "record_index", F.col("reject_reason").alias("reason"),
                        "detail", F.col("study_json").alias("record_json"),
                        F.lit(run_id).alias("run_id"), now.alias("ingested_at")))
    return StagedRecords(studies, rejected, parsed)


def _commit_metrics(spark: SparkSession, path: str) -> dict[str, int]:
    metrics = DeltaTable.forPath(spark, path).history(1).select("operationMetrics").first()[0]
    return {k: int(v) for k, v in (metrics or {}).items() if v is not None and v.isdigit()}


def merge_bronze(spark: SparkSession, studies: DataFrame, path: str) -> dict[str, int]:
    """MERGE on nct_id: insert new studies, replace a stored one only by a later version.

    Into a table this call creates, the rows are appended (delta_io.append_if_created): the
    first load is the biggest, a full registry load is ~550k studies."""
    rows = studies.select(*BRONZE_SCHEMA.fieldNames())
    target = delta_io.append_if_created(spark, rows, path, BRONZE_SCHEMA)
    if target is None:
        n = _commit_metrics(spark, path).get("numOutputRows", 0)
        return {"inserted": n, "updated": 0, "source_rows": n}
    s_key, t_key = date_sort_key("s.last_update_posted"), date_sort_key("t.last_update_posted")
    newer = (f"({s_key}) > ({t_key}) "
             f"OR (t.last_update_posted IS NULL AND s.last_update_posted IS NOT NULL) "
             # Same date, different content: the API corrected a record without a new date;
             # this run is the later one, so it wins.
             f"OR (({s_key}) <=> ({t_key}) AND s.content_sha256 <> t.content_sha256)")
    (target.alias("t")
     .merge(rows.alias("s"), "t.nct_id = s.nct_id")
     .whenMatchedUpdateAll(condition=newer)
     .whenNotMatchedInsertAll()
     .execute())
    m = _commit_metrics(spark, path)
    return {"inserted": m.get("numTargetRowsInserted", 0),
            "updated": m.get("numTargetRowsUpdated", 0),
            "source_rows": m.get("numSourceRows", 0)}


def merge_rejected(spark: SparkSession, rejected: DataFrame, path: str) -> None:
    delta_io.ensure_table(spark, path, REJECTED_SCHEMA)
    (DeltaTable.forPath(spark, path).alias("t")
     .merge(rejected.alias("s"), "t.record_id = s.record_id")
     .whenNotMatchedInsertAll()
     .execute())


def load_bronze(spark: SparkSession, layout: TrialsLayout, run: StagingRun,
                run_id: str) -> tuple[dict, DataFrame]:
    """Staged pages -> bronze + rejected records. Returns (counts, NCT IDs staged by this run)."""
    staged = read_staged(spark, run, run_id)
    try:
        # One pass for every count: records per reject reason (None = valid).
        tally = (staged.parsed.groupBy("reject_reason")
                 .agg(F.count("*").alias("n"),
                      F.sum(F.when(F.col("record_index") >= 0, 1).otherwise(0)).alias("records"))
                 .collect())
        by_reason = {r["reject_reason"]: r["n"] for r in tally if r["reject_reason"]}
        records = sum(r["records"] for r in tally)
        valid = sum(r["n"] for r in tally if r["reject_reason"] is None)
        if by_reason:
            merge_rejected(spark, staged.rejected, layout.bronze_rejected)
        else:
            # Nothing to quarantine: skip the MERGE's jobs, but the table exists for readers.
            delta_io.ensure_table(spark, layout.bronze_rejected, REJECTED_SCHEMA)
        studies = staged.studies.persist(StorageLevel.MEMORY_AND_DISK)
        # Kept on the executors (a full registry load is ~550k IDs): persisted, so the pages
        # are not parsed again, with the lineage to recompute them if a block is lost.
        fetched = studies.select("nct_id").distinct().persist(StorageLevel.MEMORY_AND_DISK)
        distinct = fetched.count()
        merged = merge_bronze(spark, studies, layout.bronze_studies)
        studies.unpersist()
    finally:
        staged.parsed.unpersist()
    counts = {
        "records": records,
        "studies_valid": valid,
        "rejected": sum(by_reason.values()),
        "rejected_by_reason": dict(sorted(by_reason.items())),
        # The same NCT ID on two pages of one run (updated while we paged): older copy dropped.
        "superseded_in_run": valid - distinct,
        "distinct_studies": distinct,
        "bronze_inserted": merged["inserted"],
        "bronze_updated": merged["updated"],
        "bronze_unchanged": distinct - merged["inserted"] - merged["updated"],
    }
    log.info("bronze: %d records, %d studies (%d new, %d updated, %d unchanged), %d rejected, "
             "%d superseded in run", records, distinct, counts["bronze_inserted"],
             counts["bronze_updated"], counts["bronze_unchanged"], counts["rejected"],
             counts["superseded_in_run"])
    return counts, fetched


def run_studies(spark: SparkSession, layout: TrialsLayout, fetched: DataFrame | None) -> DataFrame:
    """Current bronze rows of the studies this run fetched (all of bronze when ``fetched`` is
    None, i.e. --full). Taken from the table, not from the run's pages, so a study the run met
    in an older version than bronze already holds is still handed on in its latest version."""
    bronze = spark.read.format("delta").load(layout.bronze_studies)
    if fetched is None:
        return bronze
    return bronze.join(fetched, on="nct_id", how="left_semi")

