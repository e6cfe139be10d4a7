"""The run's data-quality report: what came in, what was kept, what was rejected and why.

Computed with Spark aggregations (only small aggregates reach the driver) and written as JSON
(for machines) and Markdown (for people) under ``<lake>/<report dir>/<run_id>/`` through the
Hadoop filesystem API, so the same code writes to a local lake, S3 or HDFS.
"""
from __future__ import annotations

import json

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.text.dedup import REASON_EXACT, REASON_NEAR
from lakeprep.text.transforms import STATUS_ACCEPTED, STATUS_REJECTED


def _counts_by(df: DataFrame, column: str) -> dict[str, int]:
    rows = df.groupBy(column).count().orderBy(F.desc("count"), F.asc(column)).collect()
    return {str(r[column]): int(r["count"]) for r in rows}


QUALITY_BIN_WIDTH = 0.05
TOKEN_BIN_WIDTH = 32


def _histogram(df: DataFrame, column: str, width: float, by: str | None = None) -> dict:
    """Counts per bin (keyed by the bin's lower edge), aggregated in Spark: only bins travel."""
    bin_col = (F.floor(F.col(column) / F.lit(width)) * F.lit(width)).alias("bin")
    keys = [bin_col] + ([F.col(by)] if by else [])
    rows = df.filter(F.col(column).isNotNull()).groupBy(*keys).count().collect()
    out: dict = {}
    for r in rows:
        group = out.setdefault(r[by], {}) if by else out
        group[round(float(r["bin"]), 4)] = int(r["count"])
    return out


def build_report(documents: DataFrame, chunks: DataFrame, run: dict) -> dict:
    doc_totals = documents.agg(
        F.count(F.lit(1)).alias("documents"),
        F.sum("duplicate_records").alias("records"),
        F.sum(F.when(F.col("status") == STATUS_ACCEPTED, 1).otherwise(0)).alias("accepted"),
        F.sum("size_bytes").alias("bytes"),
        F.avg(F.when(F.col("status") == STATUS_ACCEPTED, F.col("quality_score"))).alias("q_avg"),
    ).first()
    n_docs = int(doc_totals["documents"] or 0)
    accepted_docs = int(doc_totals["accepted"] or 0)
    rejected_docs = documents.filter(F.col("status") == STATUS_REJECTED)

    accepted_chunks = chunks.filter(F.col("status") == STATUS_ACCEPTED)
    tok = accepted_chunks.agg(
        F.count(F.lit(1)).alias("n"),
        F.avg("token_count").alias("avg"),
        F.percentile_approx("token_count", 0.5, 10000).alias("median"),
        F.percentile_approx("token_count", 0.95, 10000).alias("p95"),
        F.max("token_count").alias("max"),
        F.sum("token_count").alias("total"),
    ).first()
    n_chunks = chunks.count()
    n_accepted_chunks = int(tok["n"] or 0)
    pii_rows = (accepted_chunks.select(F.explode("pii_types").alias("pii_type"))
                .groupBy("pii_type").count().orderBy("pii_type").collect())

    rejected_by_reason = _counts_by(rejected_docs, "reject_reason")
    warnings = (documents.filter(F.col("status") == STATUS_ACCEPTED)
                .select(F.explode("warnings").alias("warning")))
    boilerplate_rows = (
        documents.select(F.explode(F.from_json("boilerplate_removed", "map<string,int>"))
                         .alias("kind", "lines"))
        .groupBy("kind").agg(F.sum("lines").alias("lines")).orderBy("kind").collect())
    return {
        **run,
        "documents": {
            "input_records": int(doc_totals["records"] or 0),
            "duplicate_records_merged": int((doc_totals["records"] or 0) - n_docs),
            "documents": n_docs,
            "accepted": accepted_docs,
            "rejected": n_docs - accepted_docs,
            "rejected_by_reason": rejected_by_reason,
            "by_source_format": _counts_by(documents, "source_format"),
            "encodings": _counts_by(documents.filter(F.col("encoding").isNotNull()), "encoding"),
            "input_bytes": int(doc_totals["bytes"] or 0),
            "mean_quality_score_accepted": round(float(doc_totals["q_avg"] or 0.0), 4),
            "languages": _counts_by(documents.filter(F.col("language").isNotNull()), "language"),
            "accepted_with_warnings_by_reason": _counts_by(warnings, "warning"),
            "boilerplate_lines_removed": {r["kind"]: int(r["lines"]) for r in boilerplate_rows},
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
            "rejected_by_reason": _counts_by(chunks.filter(F.col("status") == STATUS_REJECTED),
                                             "reject_reason"),
            "token_count": {
                "total": int(tok["total"] or 0),
                "mean": round(float(tok["avg"] or 0.0), 1),
                "median": int(tok["median"] or 0),
                "p95": int(tok["p95"] or 0),
                "max": int(tok["max"] or 0),
            },
            "pii_chunks_by_type": {r["pii_type"]: int(r["count"]) for r in pii_rows},
        },
        "histograms": {
            "quality_score": {"bin_width": QUALITY_BIN_WIDTH,
                              "by_status": _histogram(documents, "quality_score",
                                                      QUALITY_BIN_WIDTH, by="status")},
            "token_count": {"bin_width": TOKEN_BIN_WIDTH,
                            "counts": _histogram(accepted_chunks, "token_count", TOKEN_BIN_WIDTH)},
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
