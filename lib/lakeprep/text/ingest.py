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

import logging
import os
import re
from functools import reduce
from urllib.parse import unquote

import pyarrow as pa
from py4j.protocol import Py4JJavaError
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.utils import AnalysisException
from pyspark.sql.window import Window

from lakeprep.config import InputSettings

log = logging.getLogger(__name__)

REASON_OVERSIZED = "oversized_input"
REASON_MISSING_TEXT_COLUMN = "missing_text_column"
REASON_MISSING_TEXT = "missing_text"
# Listed, but gone or unreadable when read (deleted meanwhile, dangling symlink, I/O error).
REASON_UNREADABLE = "unreadable_input"
# Reached through a directory symlink that points back to one of its ancestors.
REASON_SYMLINK_LOOP = "symlink_loop"
# A Parquet file whose footer or columns cannot be read.
REASON_CORRUPT = "corrupt_input"
# Same code as decode.REASON_EMPTY_INPUT: a zero-length file, whatever its format.
REASON_EMPTY_INPUT = "empty_input"

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


def _listed_files(raw: DataFrame) -> list[str]:
    """Every file Spark listed for ``raw``, in the spelling of the binaryFile ``path`` column.

    The listing already lives on the driver (Spark's file index), so only paths travel; it
    includes the zero-length files that the file scan later skips. The JVM joins them into one
    string: DataFrame.inputFiles() hands a Java array to Python one element per Py4J call,
    ~0.1 ms each (a second per 10,000 files); NUL cannot occur in a path.
    """
    jvm = raw.sparkSession.sparkContext._jvm
    joined = jvm.org.apache.hadoop.util.StringUtils.join("\u0000", raw._jdf.inputFiles())
    return [hadoop_path_string(p) for p in joined.split("\u0000")] if joined else []


def _local_path(uri: str) -> str | None:
    """The local filesystem path of a ``file:`` URI or a scheme-less path, else None."""
    if uri.startswith("file:/"):
        return uri[len("file:"):]
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", uri):
        return None
    return os.path.abspath(uri)


def _is_symlink_loop(directory: str, cache: dict[str, bool]) -> bool:
    """True when ``directory`` is reached through a directory symlink back to one of its own
    ancestors: following the path, some prefix resolves to a directory already passed.

    Hadoop's local filesystem follows symlinks while listing, so a loop is listed again and
    again until the kernel's ELOOP limit (40 levels): 41 copies of every file under it.
    """
    if directory in cache:
        return cache[directory]
    seen: set[str] = set()
    prefix = "/"
    looped = False
    for part in [p for p in directory.split("/") if p]:
        prefix = os.path.join(prefix, part)
        if cache.get(prefix):
            looped = True
            break
        real = os.path.realpath(prefix)
        if real in seen:
            looped = True
            break
        seen.add(real)
    cache[directory] = looped
    return looped


def _looped_files(listed: list[str]) -> list[str]:
    """Listed local files whose path runs through a symlink loop (only local filesystems have
    symlinks; other URIs are never looped)."""
    cache: dict[str, bool] = {}
    out = []
    for uri in listed:
        local = _local_path(uri)
        if local is not None and _is_symlink_loop(os.path.dirname(local), cache):
            out.append(uri)
    return out


def _dangling_links(uris: list[str], extensions: tuple[str, ...]) -> list[str]:
    """Symlinks named like inputs whose target does not exist, under local input directories.

    Hadoop's local listing silently leaves them out (it cannot stat them), so without this
    walk such an input would vanish instead of being quarantined as unreadable. The walk does
    not follow directory symlinks (no loops) and only stats names, never opens files.
    """
    out = []
    for uri in uris:
        root = _local_path(hadoop_path_string(uri))
        if root is None or not os.path.isdir(root):
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                full = os.path.join(dirpath, name)
                if name.endswith(extensions) and os.path.islink(full) and not os.path.exists(full):
                    out.append("file:" + full)
    return out


def _file_length(spark: SparkSession, uri: str) -> int | None:
    """Size of one file asked on the driver (None when it is gone or cannot be stat'ed)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    try:
        return int(path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
                   .getFileStatus(path).getLen())
    except Py4JJavaError:
        return None


def read_text_files(spark: SparkSession, uris: list[str], cfg: InputSettings) -> DataFrame:
    """One row per listed text file; bad files carry an ``ingest_error`` instead of vanishing.

    The listing (path, size, time: no file is opened for these) is taken once, on the driver,
    which already holds Spark's file index; the content read is a second projection of the same
    binaryFile relation. binaryFile opens a file only when ``content`` is selected and applies
    the pushed-down ``length`` filter before opening it, so an oversized file is never read, by
    any process. A file that vanishes or fails to read after the listing is skipped by the
    content scan (ignoreMissingFiles / ignoreCorruptFiles) and comes back from the listing side
    of the join as ``unreadable_input``.
    """
    raw = (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .option("pathGlobFilter", _glob(cfg.text_extensions))
        .option("ignoreMissingFiles", "true")
        .option("ignoreCorruptFiles", "true")
        .load(uris)
    )
    listed = _listed_files(raw)
    special = {p: REASON_SYMLINK_LOOP for p in _looped_files(listed)}
    dangling = _dangling_links(uris, cfg.text_extensions)
    special.update({p: REASON_UNREADABLE for p in dangling})

    # Times travel as epoch microseconds: exact, and no time zone conversion on the way.
    rows = [(r["path"], r["length"], r["mtime_us"], special.get(r["path"]))
            for r in raw.select("path", "length",
                                F.unix_micros("modificationTime").alias("mtime_us")).collect()]
    # Spark's scan skips zero-length files and files gone since the listing; asked one by one
    # (typically a handful), they are empty (empty_input later) or unreadable. Dangling links
    # were never listed by Spark: they come from the local walk.
    seen = {r[0] for r in rows}
    for uri in listed:
        if uri not in seen:
            size = _file_length(spark, uri)
            rows.append((uri, 0, None, special.get(uri) or (
                None if size == 0 else REASON_UNREADABLE)))
    rows += [(uri, 0, None, REASON_UNREADABLE) for uri in dangling]
    # From an Arrow table the listing is a relation inside the JVM; from a list of tuples it
    # would be a Python RDD, i.e. a Python worker stage before any file is read.
    columns = list(zip(*rows)) if rows else [(), (), (), ()]
    listing = spark.createDataFrame(pa.Table.from_arrays(
        [pa.array(c, t) for c, t in zip(columns, (pa.string(), pa.int64(), pa.int64(),
                                                  pa.string()))],
        names=["path", "length", "mtime_us", "listing_error"])).select(
        "path", "length", F.timestamp_micros("mtime_us").alias("modificationTime"),
        "listing_error")

    loaded = (raw.filter(F.col("length") <= F.lit(cfg.max_document_bytes))
              .select(F.col("path").alias("loaded_path"), "content"))
    joined = listing.join(loaded, listing["path"] == loaded["loaded_path"], how="left")
    error = (F.when(F.col("listing_error").isNotNull(), F.col("listing_error"))
             .when(F.col("length") > F.lit(cfg.max_document_bytes), F.lit(REASON_OVERSIZED))
             .when(F.col("length") == 0, F.lit(None))
             .when(F.col("loaded_path").isNull(), F.lit(REASON_UNREADABLE)))
    df = joined.select(
        F.col("path").alias("source_uri"),
        F.lit(FORMAT_TEXT).alias("source_format"),
        F.lit(None).cast("string").alias("record_key"),
        # Zero-length files keep their (empty) bytes: decode names them empty_input.
        F.when(error.isNull(), F.coalesce(F.col("content"), F.lit(b"").cast("binary")))
        .alias("content"),
        F.col("length").alias("size_bytes"),
        F.col("modificationTime").alias("modified_at"),
        error.cast("string").alias("ingest_error"),
    )
    return _finish(df, cfg.max_document_bytes)


def read_jsonl_files(spark: SparkSession, uris: list[str], cfg: InputSettings) -> DataFrame | None:
    """One row per non-blank JSON Lines record; None when no such file is under ``uris`` (the
    relation's own listing says so: no empty scan, and no key-collision shuffle over nothing)."""
    lines = (
        spark.read.option("recursiveFileLookup", "true")
        .option("pathGlobFilter", _glob(cfg.jsonl_extensions))
        .text(uris)
    )
    if not _listed_files(lines):
        return None
    raw = lines.select("value", "_metadata.file_path", "_metadata.file_modification_time")
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


def _parquet_rows(raw: DataFrame, cfg: InputSettings) -> DataFrame:
    """Bronze rows of one Parquet relation (one file or several with a merged schema)."""
    types = {f.name: f.dataType for f in raw.schema.fields}
    meta = raw.select("*", "_metadata.file_path", "_metadata.file_modification_time")
    row_hash = F.sha2(F.to_json(F.struct(*[F.col(c) for c in raw.columns])), 256)
    key = (F.col(cfg.id_column).cast("string") if cfg.id_column in types else F.lit(None))
    if isinstance(types.get(cfg.text_column), (T.StringType, T.BinaryType)):
        text = F.col(cfg.text_column).cast("string")
        error = F.when(text.isNull(), F.lit(REASON_MISSING_TEXT))
    elif cfg.text_column in types:
        # A number or a struct is not a document's text: casting it to a string would turn an
        # export with the wrong column into thousands of "documents" reading "42".
        text = F.lit(None).cast("string")
        error = F.lit(REASON_MISSING_TEXT)
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


def read_parquet_files(spark: SparkSession, uris: list[str], cfg: InputSettings) -> DataFrame | None:
    """Parquet rows; a file that cannot be read becomes one ``corrupt_input`` row.

    All files are read as one relation with a merged schema. Spark skips unreadable files there
    (ignoreCorruptFiles) and cannot merge files whose columns disagree in type, so every listed
    file that produced no row (or all of them, when the merge failed) is then opened on its own:
    unreadable -> quarantined; readable with rows -> read with its own schema; readable and
    empty -> no document. Only file paths reach the driver.
    """
    glob = _glob(cfg.parquet_extensions)
    listing = (spark.read.format("binaryFile").option("recursiveFileLookup", "true")
               .option("pathGlobFilter", glob).load(uris))
    listed = _listed_files(listing)
    if not listed:
        return None
    frames: list[DataFrame] = []
    seen: set[str] = set()
    try:
        merged = _parquet_rows(
            spark.read.option("recursiveFileLookup", "true").option("pathGlobFilter", glob)
            .option("mergeSchema", "true").option("ignoreCorruptFiles", "true").parquet(*uris),
            cfg)
        seen = {r["source_uri"] for r in merged.select("source_uri").distinct().collect()}
        frames.append(merged)
    except (AnalysisException, Py4JJavaError) as exc:
        first_line = str(exc).strip().splitlines()[0][:300]
        log.warning("Parquet inputs disagree on their schema (%s); reading them one by one",
                    first_line)
    bad: list[tuple[str, str, int]] = []
    for uri in listed:
        if uri in seen:
            continue
        size = _file_length(spark, uri)
        if size is None:
            bad.append((uri, REASON_UNREADABLE, 0))
            continue
        if size == 0:
            bad.append((uri, REASON_EMPTY_INPUT, 0))
            continue
        try:
            one = spark.read.option("ignoreCorruptFiles", "false").parquet(uri)
            n_rows = one.count()
        except (AnalysisException, Py4JJavaError) as exc:
            log.warning("unreadable Parquet input %s: %s", uri,
                        str(exc).strip().splitlines()[0][:300])
            bad.append((uri, REASON_CORRUPT, size))
            continue
        if n_rows:
            frames.append(_parquet_rows(one, cfg))
    if bad:
        frames.append(_finish(spark.createDataFrame(bad, "source_uri string, ingest_error string, "
                                                         "size_bytes long").select(
            "source_uri",
            F.lit(FORMAT_PARQUET).alias("source_format"),
            F.lit(None).cast("string").alias("record_key"),
            F.lit(None).cast("binary").alias("content"),
            "size_bytes",
            F.lit(None).cast("timestamp").alias("modified_at"),
            "ingest_error"), cfg.max_document_bytes))
    return reduce(DataFrame.unionByName, frames) if frames else None


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
    records = [df for df in (read_jsonl_files(spark, uris, cfg),
                             read_parquet_files(spark, uris, cfg)) if df is not None]
    if not records:
        return files
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
