"""The run's data-quality report: what came in, what was kept, what was rejected and why.

Computed with Spark aggregations (only small aggregates reach the driver) and written as JSON
(for machines) and Markdown (for people) under ``<lake>/<report dir>/<run_id>/`` through the
Hadoop filesystem API, so the same code writes to a local lake, S3 or HDFS.
"""
from __future__ import annotations

import json

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.text.dedup import REASON_EXACT, REASON_NEAR
from lakeprep.text.transforms import STATUS_ACCEPTED, STATUS_REJECTED

QUALITY_BIN_WIDTH = 0.05
TOKEN_BIN_WIDTH = 32


def _fact(kind: str, key: Column, n: Column | int = 1, when: Column | None = None) -> Column:
    """One (kind, key, n) fact of a row as a one-element array, empty when ``when`` is false or
    the key is null: concatenated and exploded, every count of the report is one group-by."""
    fact = F.struct(F.lit(kind).alias("kind"), key.cast("string").alias("key"),
                    (F.lit(n) if isinstance(n, int) else n).cast("double").alias("n"))
    keep = key.isNotNull() if when is None else (key.isNotNull() & when)
    return F.when(keep, F.array(fact)).otherwise(F.array().cast(_FACTS))


_FACTS = T.ArrayType(T.StructType([T.StructField("kind", T.StringType()),
                                   T.StructField("key", T.StringType()),
                                   T.StructField("n", T.DoubleType())]))


def _bin(column: str, width: float) -> Column:
    return F.floor(F.col(column) / F.lit(width)) * F.lit(width)


def _tally(df: DataFrame, facts: list[Column]) -> dict[str, dict[str, float]]:
    """Sum of n per (kind, key) over every row's facts, in one Spark job; only the groups (a
    bounded vocabulary: reasons, languages, bins...) reach the driver."""
    rows = (df.select(F.explode(F.concat(*facts)).alias("f"))
            .groupBy(F.col("f.kind").alias("kind"), F.col("f.key").alias("key"))
            .agg(F.sum("f.n").alias("n")).collect())
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        out.setdefault(r["kind"], {})[r["key"]] = r["n"]
    return out


def _ranked(counts: dict[str, float] | None) -> dict[str, int]:
    """Counts, most frequent first, ties by key (the report's and the dashboard's order)."""
    return {k: int(v) for k, v in sorted((counts or {}).items(), key=lambda kv: (-kv[1], kv[0]))}


def _bins(counts: dict[str, float] | None) -> dict[float, int]:
    return {round(float(k), 4): int(v) for k, v in (counts or {}).items()}


def build_report(documents: DataFrame, chunks: DataFrame, run: dict) -> dict:
    """The report's numbers in three Spark jobs (document facts, chunk facts, token statistics)
    instead of one per breakdown: on a small run the fixed cost of each job dominated."""
    accepted = F.col("status") == STATUS_ACCEPTED
    rejected = F.col("status") == STATUS_REJECTED
    doc = _tally(documents, [
        _fact("total", F.lit("documents")),
        _fact("total", F.lit("records"), F.col("duplicate_records")),
        _fact("total", F.lit("accepted"), when=accepted),
        _fact("total", F.lit("bytes"), F.col("size_bytes")),
        _fact("total", F.lit("q_sum"), F.col("quality_score"), when=accepted),
        _fact("reason", F.col("reject_reason"), when=rejected),
        _fact("format", F.col("source_format")),
        _fact("encoding", F.col("encoding")),
        _fact("language", F.col("language")),
        F.when(accepted, F.transform("warnings", lambda w: F.struct(
            F.lit("warning").alias("kind"), w.alias("key"), F.lit(1.0).alias("n"))))
        .otherwise(F.array().cast(_FACTS)),
        F.coalesce(F.transform(
            F.map_entries(F.from_json("boilerplate_removed", "map<string,int>")),
            lambda e: F.struct(F.lit("boilerplate").alias("kind"), e["key"].alias("key"),
                               e["value"].cast("double").alias("n"))),
            F.array().cast(_FACTS)),
        _fact("quality_bin:" + STATUS_ACCEPTED, _bin("quality_score", QUALITY_BIN_WIDTH),
              when=accepted),
        _fact("quality_bin:" + STATUS_REJECTED, _bin("quality_score", QUALITY_BIN_WIDTH),
              when=rejected),
    ])
    totals = doc.get("total", {})
    n_docs = int(totals.get("documents", 0))
    accepted_docs = int(totals.get("accepted", 0))
    records = int(totals.get("records", 0))
    chunk_accepted = F.col("status") == STATUS_ACCEPTED
    ch = _tally(chunks, [
        _fact("status", F.col("status")),
        _fact("reason", F.col("reject_reason"), when=F.col("status") == STATUS_REJECTED),
        F.when(chunk_accepted, F.transform("pii_types", lambda t: F.struct(
            F.lit("pii").alias("kind"), t.alias("key"), F.lit(1.0).alias("n"))))
        .otherwise(F.array().cast(_FACTS)),
        _fact("token_bin", _bin("token_count", TOKEN_BIN_WIDTH), when=chunk_accepted),
    ])
    tok = chunks.filter(chunk_accepted).agg(
        F.avg("token_count").alias("avg"),
        F.percentile_approx("token_count", 0.5, 10000).alias("median"),
        F.percentile_approx("token_count", 0.95, 10000).alias("p95"),
        F.max("token_count").alias("max"),
        F.sum("token_count").alias("total"),
    ).first()
    status_counts = ch.get("status", {})
    n_accepted_chunks = int(status_counts.get(STATUS_ACCEPTED, 0))
    n_chunks = int(sum(status_counts.values()))
    rejected_by_reason = _ranked(doc.get("reason"))
    quality_bins = {status: _bins(doc[f"quality_bin:{status}"])
                    for status in (STATUS_ACCEPTED, STATUS_REJECTED)
                    if f"quality_bin:{status}" in doc}
    return {
        **run,
        "documents": {
            "input_records": records,
            "duplicate_records_merged": records - n_docs,
            "documents": n_docs,
            "accepted": accepted_docs,
            "rejected": n_docs - accepted_docs,
            "rejected_by_reason": rejected_by_reason,
            "by_source_format": _ranked(doc.get("format")),
            "encodings": _ranked(doc.get("encoding")),
            "input_bytes": int(totals.get("bytes", 0)),
            "mean_quality_score_accepted": round(
                totals.get("q_sum", 0.0) / accepted_docs if accepted_docs else 0.0, 4),
            "languages": _ranked(doc.get("language")),
            "accepted_with_warnings_by_reason": _ranked(doc.get("warning")),
            "boilerplate_lines_removed": {k: int(v) for k, v in
                                          sorted(doc.get("boilerplate", {}).items())},
            # Derived from the reasons: dedup rejects with exactly these two codes.
            "duplicates": {k: v for k, v in rejected_by_reason.items()
                           if k in (REASON_EXACT, REASON_NEAR)},
        },
        "chunks": {
            "chunks": n_chunks,
            "accepted": n_accepted_chunks,
            "rejected": n_chunks - n_accepted_chunks,
            "filtered_percent": round(100.0 * (n_chunks - n_accepted_chunks) / n_chunks, 2)
            if n_chunks else 0.0,
            "rejected_by_reason": _ranked(ch.get("reason")),
            "token_count": {
                "total": int(tok["total"] or 0),
                "mean": round(float(tok["avg"] or 0.0), 1),
                "median": int(tok["median"] or 0),
                "p95": int(tok["p95"] or 0),
                "max": int(tok["max"] or 0),
            },
            "pii_chunks_by_type": {k: int(v) for k, v in sorted(ch.get("pii", {}).items())},
        },
        "histograms": {
            "quality_score": {"bin_width": QUALITY_BIN_WIDTH, "by_status": quality_bins},
            "token_count": {"bin_width": TOKEN_BIN_WIDTH, "counts": _bins(ch.get("token_bin"))},
        },
    }


def _table(rows: dict[str, int], header: str) -> list[str]:
    if not rows:
        return ["_none_", ""]
    out = [f"| {header} | count |", "| --- | ---: |"]
    out += [f"| `{k}` | {v:,} |" for k, v in rows.items()]
    return out + [""]


def _incremental_lines(report: dict) -> list[str]:
    inc = report.get("incremental")
    if not inc:
        return []
    mode = "full refresh: every input processed" if report.get("full_refresh") else \
        "incremental: only new and changed inputs processed"
    return [
        "## Inputs since the last successful run",
        "",
        f"{mode}; the document and chunk counts below are those of the processed documents.",
        "",
        "| | count |",
        "| --- | ---: |",
        f"| new | {inc['new']:,} |",
        f"| changed (old chunks replaced) | {inc['changed']:,} |",
        f"| unchanged | {inc['unchanged']:,} |",
        f"| unchanged but reprocessed (rules changed, full refresh, requeued duplicates) | "
        f"{inc['reprocessed_unchanged']:,} |",
        f"| deleted at source (tombstoned, chunks removed) | {inc['deleted_at_source']:,} |",
        f"| processed | {inc['processed']:,} |",
        "",
    ]


def render_markdown(report: dict) -> str:
    d, c = report["documents"], report["chunks"]
    t = c["token_count"]
    lines = [
        f"# Text pipeline report — run `{report['run_id']}`",
        "",
        f"- inputs: {', '.join(f'`{u}`' for u in report['input_uris'])}",
        f"- lake: `{report['lake_uri']}`; rules version `{report['rules_version']}`",
        f"- started {report['started_at']}, duration {report.get('duration_s', 0):.1f} s",
        "",
        *_incremental_lines(report),
        "## Documents",
        "",
        "| | count |",
        "| --- | ---: |",
        f"| input records | {d['input_records']:,} |",
        f"| identical records merged | {d['duplicate_records_merged']:,} |",
        f"| documents | {d['documents']:,} |",
        f"| accepted | {d['accepted']:,} |",
        f"| rejected | {d['rejected']:,} |",
        "",
        "Rejected documents by reason:",
        "",
        *_table(d["rejected_by_reason"], "reason"),
        "Accepted documents kept with warnings, by rule:",
        "",
        *_table(d.get("accepted_with_warnings_by_reason", {}), "warning"),
        "Duplicates (rejected, each pointing at the document it duplicates):",
        "",
        *_table(d.get("duplicates", {}), "kind"),
        "Boilerplate and markup removed, by kind (lines; tags, blocks or entities for `html_*`):",
        "",
        *_table(d.get("boilerplate_lines_removed", {}), "kind"),
        "Detected encodings:",
        "",
        *_table(d["encodings"], "encoding"),
        "Detected languages (top 15):",
        "",
        *_table(dict(list(d.get("languages", {}).items())[:15]), "language"),
        "## Chunks",
        "",
        "| | value |",
        "| --- | ---: |",
        f"| chunks | {c['chunks']:,} |",
        f"| accepted | {c['accepted']:,} |",
        f"| rejected | {c['rejected']:,} |",
        f"| filtered | {c['filtered_percent']:.2f} % |",
        f"| tokens in accepted chunks | {t['total']:,} |",
        f"| token count mean / median / p95 / max | {t['mean']} / {t['median']} / {t['p95']} / {t['max']} |",
        "",
        "Rejected chunks by reason:",
        "",
        *_table(c["rejected_by_reason"], "reason"),
        "Accepted chunks flagged with PII, by type:",
        "",
        *_table(c["pii_chunks_by_type"], "PII type"),
    ]
    if "postgres" in report:
        lines += ["## PostgreSQL merge", "", *_table(report["postgres"], "change")]
    if "lineage" in report:
        from lakeprep.lineage import render_markdown as lineage_markdown
        lines += lineage_markdown(report["lineage"])
    return "\n".join(lines)


def write_text(spark: SparkSession, uri: str, text: str) -> None:
    """Write a small text file to any Hadoop filesystem URI (local, s3a://, hdfs://)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def write_report(spark: SparkSession, report: dict, directory: str) -> str:
    from lakeprep.text.report_html import render_html  # matplotlib: imported only when writing

    write_text(spark, f"{directory}/report.json", json.dumps(report, indent=2, default=str))
    write_text(spark, f"{directory}/report.md", render_markdown(report))
    write_text(spark, f"{directory}/report.html", render_html(report))
    return f"{directory}/report.md"
