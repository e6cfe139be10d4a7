"""Ingest: raw input files -> rows of the bronze ``raw_documents`` table.

First step of the text pipeline. Reads three kinds of input from any Hadoop filesystem URI
(local path, file://, s3a://, ...), recursively:

- whole text files (``.txt``): one file is one document, read as raw bytes (binaryFile);
- JSON Lines exports (``.jsonl``): one line is one document, the raw line kept as bytes so that a
  malformed line is quarantined later with its content rather than lost here;
- Parquet exports (``.parquet``): one row is one document, from the configured text column.

Nothing is decoded here: bronze keeps the bytes as they arrived plus their SHA-256, so every later
decision can be replayed from bronze. IDs are deterministic (a hash of source URI and record key),
which is what makes reruns idempotent.
"""
from __future__ import annotations

from functools import reduce
from urllib.parse import unquote

from py4j.protocol import Py4JJavaError
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.utils import AnalysisException
from pyspark.sql.window import Window

from lakeprep.config import InputSettings

REASON_OVERSIZED = "oversized_input"
REASON_MISSING_TEXT_COLUMN = "missing_text_column"
REASON_MISSING_TEXT = "missing_text"

FORMAT_TEXT, FORMAT_JSONL, FORMAT_PARQUET = "txt", "jsonl", "parquet"

BRONZE_SCHEMA = T.StructType([
    T.StructField("doc_id", T.StringType(), False),
    T.StructField("source_uri", T.StringType(), False),
    T.StructField("source_format", T.StringType(), False),
    T.StructField("record_key", T.StringType(), True),
    T.StructField("content", T.BinaryType(), True),
    T.StructField("size_bytes", T.LongType(), False),
    T.StructField("modified_at", T.TimestampType(), True),
    T.StructField("content_sha256", T.StringType(), False),
    T.StructField("ingest_error", T.StringType(), True),
])


def _glob(extensions: tuple[str, ...]) -> str:
    # Hadoop glob syntax: "*.txt" or "*{.txt,.text}"
    return f"*{extensions[0]}" if len(extensions) == 1 else "*{" + ",".join(extensions) + "}"


def doc_id_expr(source_uri: Column, record_key: Column) -> Column:
    """sha256(source_uri NUL record_key): stable across runs, partitioning and machines."""
    return F.sha2(F.concat_ws("\u0000", source_uri, F.coalesce(record_key, F.lit(""))), 256)


def _finish(df: DataFrame, max_bytes: int) -> DataFrame:
    """Common tail: cap size, hash content, project onto the bronze schema."""
    oversized = F.col("size_bytes") > F.lit(max_bytes)
    df = (
        df.withColumn("ingest_error",
                      F.when(oversized, F.lit(REASON_OVERSIZED)).otherwise(F.col("ingest_error")))
        # An oversized document is quarantined with its size and hash but without its bytes, so
        # one 2 GB log cannot blow up every later stage.
        .withColumn("content_sha256", F.sha2(F.coalesce(F.col("content"), F.lit(b"")), 256))
        .withColumn("content", F.when(oversized, F.lit(None).cast("binary"))
                    .otherwise(F.col("content")))
        .withColumn("doc_id", doc_id_expr(F.col("source_uri"), F.col("record_key")))
    )
    return df.select(*[F.col(f.name).cast(f.dataType) for f in BRONZE_SCHEMA.fields])


def hadoop_path_string(uri: str) -> str:
    """A listed file URI (``file:///a/b%20c``) in the form Spark's binaryFile ``path`` column and
    Hadoop's Path.toString use (``file:/a/b c``), so both spell a file the same way."""
    if uri.startswith("file:///"):
        uri = "file:/" + uri[len("file:///"):]
    return unquote(uri)


def _metadata_path(column: str) -> Column:
    # _metadata.file_path is URL-encoded; decode it to the binaryFile spelling. A literal "+" in
    # a path is protected first, because url_decode (form decoding) would turn it into a space.
    return F.url_decode(F.replace(F.col(column), F.lit("+"), F.lit("%2B")))


def _empty_files(spark: SparkSession, raw: DataFrame, scanned: DataFrame) -> DataFrame:
    """Zero-length files: Spark lists them but its file scan skips them, so without this step an
    empty input would vanish instead of being quarantined as ``empty_input``.

    The listing already lives on the driver (Spark's file index), so only paths travel.
    """
    listed = [(hadoop_path_string(p),) for p in raw.inputFiles()]
    all_files = spark.createDataFrame(listed, "source_uri string")
    return all_files.join(scanned.select("source_uri"), on="source_uri", how="left_anti").select(
        F.col("source_uri"),
        F.lit(FORMAT_TEXT).alias("source_format"),
        F.lit(None).cast("string").alias("record_key"),
        F.lit(b"").cast("binary").alias("content"),
        F.lit(0).cast("long").alias("size_bytes"),
        F.lit(None).cast("timestamp").alias("modified_at"),
        F.lit(None).cast("string").alias("ingest_error"),
    )


def read_text_files(spark: SparkSession, uris: list[str], cfg: InputSettings) -> DataFrame:
    raw = (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .option("pathGlobFilter", _glob(cfg.text_extensions))
        .load(uris)
    )
    df = raw.select(
        F.col("path").alias("source_uri"),
        F.lit(FORMAT_TEXT).alias("source_format"),
        F.lit(None).cast("string").alias("record_key"),
        F.col("content"),
        F.col("length").alias("size_bytes"),
        F.col("modificationTime").alias("modified_at"),
        F.lit(None).cast("string").alias("ingest_error"),
    )
    return _finish(df.unionByName(_empty_files(spark, raw, df)), cfg.max_document_bytes)


def read_jsonl_files(spark: SparkSession, uris: list[str], cfg: InputSettings) -> DataFrame:
    raw = (
        spark.read.option("recursiveFileLookup", "true")
        .option("pathGlobFilter", _glob(cfg.jsonl_extensions))
        .text(uris)
        .select("value", "_metadata.file_path", "_metadata.file_modification_time")
    )
    # Blank lines separate nothing in JSON Lines and are not records, so they are not documents.
    raw = raw.filter(F.trim(F.col("value")) != "")
    record_id = F.get_json_object(F.col("value"), f"$.{cfg.id_column}")
    df = raw.select(
        _metadata_path("file_path").alias("source_uri"),
        F.lit(FORMAT_JSONL).alias("source_format"),
        # The export's own id when it has one; otherwise the record's content identifies it.
        F.coalesce(record_id, F.concat(F.lit("sha256:"), F.sha2(F.col("value"), 256)))
        .alias("record_key"),
        F.encode(F.col("value"), "UTF-8").alias("content"),
        F.octet_length(F.col("value")).cast("long").alias("size_bytes"),
        F.col("file_modification_time").alias("modified_at"),
        F.lit(None).cast("string").alias("ingest_error"),
    )
    return _finish(df, cfg.max_document_bytes)


def read_parquet_files(spark: SparkSession, uris: list[str], cfg: InputSettings) -> DataFrame | None:
    try:
        raw = (
            spark.read.option("recursiveFileLookup", "true")
            .option("pathGlobFilter", _glob(cfg.parquet_extensions))
            .option("mergeSchema", "true")
            .parquet(*uris)
        )
    except AnalysisException as exc:
        # Spark cannot infer a schema from zero files: no Parquet input under these URIs.
        if "UNABLE_TO_INFER_SCHEMA" in str(exc) or "Unable to infer schema" in str(exc):
            return None
        raise
    columns = set(raw.columns)
    meta = raw.select("*", "_metadata.file_path", "_metadata.file_modification_time")
    row_hash = F.sha2(F.to_json(F.struct(*[F.col(c) for c in raw.columns])), 256)
    key = (F.col(cfg.id_column).cast("string") if cfg.id_column in columns else F.lit(None))
    if cfg.text_column in columns:
        text = F.col(cfg.text_column).cast("string")
        error = F.when(text.isNull(), F.lit(REASON_MISSING_TEXT))
    else:
        # The whole file lacks the column: every row is quarantined with the reason, not dropped.
        text = F.lit(None).cast("string")
        error = F.lit(REASON_MISSING_TEXT_COLUMN)
    df = meta.select(
        _metadata_path("file_path").alias("source_uri"),
        F.lit(FORMAT_PARQUET).alias("source_format"),
        F.coalesce(key, F.concat(F.lit("sha256:"), row_hash)).alias("record_key"),
        F.encode(text, "UTF-8").alias("content"),
        F.coalesce(F.octet_length(text), F.lit(0)).cast("long").alias("size_bytes"),
        F.col("file_modification_time").alias("modified_at"),
        error.cast("string").alias("ingest_error"),
    )
    return _finish(df, cfg.max_document_bytes)


def check_inputs_exist(spark: SparkSession, uris: list[str]) -> None:
    """A mistyped input path is a usage error: fail before any work, naming the path."""
    jvm = spark.sparkContext._jvm
    hconf = spark.sparkContext._jsc.hadoopConfiguration()
    for uri in uris:
        path = jvm.org.apache.hadoop.fs.Path(uri)
        try:
            found = path.getFileSystem(hconf).exists(path)
        except Py4JJavaError as exc:
            # S3A raises (UnknownStoreException, AccessDenied) instead of answering "no": keep
            # the first line of the Java error, not a page of JVM stack trace.
            first_line = exc.java_exception.toString().splitlines()[0]
            raise FileNotFoundError(f"input not readable: {uri} ({first_line})") from None
        if not found:
            raise FileNotFoundError(f"input does not exist: {uri}")


def read_inputs(spark: SparkSession, uris: list[str], cfg: InputSettings) -> DataFrame:
    """All documents under ``uris`` as bronze rows, one row per doc_id."""
    check_inputs_exist(spark, uris)
    # A text file's key is its path, unique by construction; only export records can collide,
    # so only they pay for the shuffle that resolving collisions needs.
    files = read_text_files(spark, uris, cfg).withColumn("duplicate_records", F.lit(1))
    records = [read_jsonl_files(spark, uris, cfg)]
    parquet = read_parquet_files(spark, uris, cfg)
    if parquet is not None:
        records.append(parquet)
    return files.unionByName(resolve_key_collisions(reduce(DataFrame.unionByName, records)))


def resolve_key_collisions(df: DataFrame) -> DataFrame:
    """Make doc_id unique, as the MERGE into bronze requires, without losing a document.

    - The same record twice (same key, same bytes, e.g. a re-exported shard line) is one document:
      one row stays and ``duplicate_records`` on it says how many input records it stands for.
    - Different records sharing an export id are different documents: their key gets the content
      hash appended, so both survive, deterministically.
    """
    by_id = Window.partitionBy("doc_id")
    by_content = Window.partitionBy("doc_id", "content_sha256")
    collided = F.size(F.collect_set("content_sha256").over(by_id)) > 1
    key = F.when(collided, F.concat_ws("#", F.col("record_key"), F.col("content_sha256")))
    resolved = (
        df.withColumn("duplicate_records", F.count(F.lit(1)).over(by_content))
        .withColumn("record_key", F.coalesce(key, F.col("record_key")))
        .withColumn("doc_id", doc_id_expr(F.col("source_uri"), F.col("record_key")))
        .dropDuplicates(["doc_id"])
    )
    return resolved.select(*BRONZE_SCHEMA.fieldNames(), "duplicate_records")
