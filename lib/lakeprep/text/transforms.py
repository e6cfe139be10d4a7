"""Spark transforms of the text pipeline: bronze rows -> documents -> chunks.

Each transform is ``DataFrame -> DataFrame`` and runs its Python work in ``mapInPandas`` (Arrow
batches), calling the plain-Python rule modules (decode, clean, quality, chunking, chunk_rules,
pii) that are unit-tested without Spark. Expensive objects — the tiktoken encoder, compiled
regexes — live at module level in those modules, so each Python worker builds them once and
reuses them across tasks.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.config import Settings
from lakeprep.text import boilerplate, chunk_rules, chunking, clean, decode, language, pii, quality
from lakeprep.text.ingest import FORMAT_JSONL

STATUS_ACCEPTED, STATUS_REJECTED = "accepted", "rejected"
REASON_MALFORMED_RECORD = "malformed_record"
REASON_MISSING_TEXT = "missing_text"

_DOC_PROCESSED = T.StructType([
    T.StructField("doc_id", T.StringType(), False),
    T.StructField("encoding", T.StringType(), True),
    T.StructField("text", T.StringType(), True),
    T.StructField("n_chars", T.LongType(), False),
    T.StructField("n_words", T.LongType(), False),
    T.StructField("mean_word_length", T.DoubleType(), False),
    T.StructField("alpha_word_fraction", T.DoubleType(), False),
    T.StructField("symbol_word_ratio", T.DoubleType(), False),
    T.StructField("duplicate_line_fraction", T.DoubleType(), False),
    T.StructField("quality_score", T.DoubleType(), False),
    T.StructField("language", T.StringType(), True),
    T.StructField("language_confidence", T.DoubleType(), True),
    T.StructField("language_reliable", T.BooleanType(), True),
    T.StructField("boilerplate_removed", T.StringType(), False),
    T.StructField("status", T.StringType(), False),
    T.StructField("reject_reason", T.StringType(), True),
    T.StructField("failed_rules", T.ArrayType(T.StringType()), False),
    T.StructField("warnings", T.ArrayType(T.StringType()), False),
])

CHUNK_SCHEMA = T.StructType([
    T.StructField("chunk_id", T.StringType(), False),
    T.StructField("doc_id", T.StringType(), False),
    T.StructField("source_uri", T.StringType(), False),
    T.StructField("doc_content_sha256", T.StringType(), False),
    T.StructField("chunk_index", T.IntegerType(), False),
    T.StructField("char_start", T.IntegerType(), False),
    T.StructField("char_end", T.IntegerType(), False),
    T.StructField("content", T.StringType(), False),
    T.StructField("token_count", T.IntegerType(), False),
    T.StructField("non_alnum_ratio", T.DoubleType(), False),
    T.StructField("pii_types", T.ArrayType(T.StringType()), False),
    T.StructField("pii_counts", T.StringType(), False),
    T.StructField("quality_score", T.DoubleType(), False),
    T.StructField("status", T.StringType(), False),
    T.StructField("reject_reason", T.StringType(), True),
])


def _extract_jsonl_text(line: bytes, text_column: str) -> tuple[bytes | None, str | None]:
    """The text field of one JSON Lines record as UTF-8 bytes, or a reject reason."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, REASON_MALFORMED_RECORD
    if not isinstance(record, dict):
        return None, REASON_MALFORMED_RECORD
    text = record.get(text_column)
    if not isinstance(text, str):
        return None, REASON_MISSING_TEXT
    return text.encode("utf-8"), None


def process_document(content: bytes | None, source_format: str, ingest_error: str | None,
                     settings: Settings) -> dict:
    """Decode, clean, strip boilerplate, identify the language, measure and judge one document.

    Order matters: boilerplate rules are line-based and rely on the cleaner's layout; the language
    is identified without menus and banners that could be in another language; the quality
    rules then see content only. Never raises on bad content.
    """
    out = {"encoding": None, "text": None, "language": None, "language_confidence": None,
           "language_reliable": None, "boilerplate_removed": "{}", "warnings": []}
    reason = ingest_error
    data = content
    lang = None
    if reason is None and data is not None and source_format == FORMAT_JSONL:
        data, reason = _extract_jsonl_text(data, settings.input.text_column)
    if reason is None:
        result = decode.decode_bytes(data or b"", settings.decode.max_nul_fraction,
                                     settings.decode.min_printable_fraction)
        reason = result.reject_reason
        out["encoding"] = result.encoding
        if reason is None:
            removed = clean.markup_counts(result.text)
            text = clean.clean_text(result.text, settings.clean.unicode_form)
            if settings.boilerplate.enabled:
                text, lines = boilerplate.remove_boilerplate(
                    text, settings.boilerplate.max_line_chars)
                removed.update(lines)
            out["boilerplate_removed"] = json.dumps(removed, sort_keys=True)
            lang = language.detect_language(text, settings.language.sample_chars)
            out.update(text=text, language=lang.language, language_confidence=lang.confidence,
                       language_reliable=lang.is_reliable)
    signals = quality.compute_signals(out["text"] or "")
    known = None if lang is None or lang.language == language.UNDETERMINED else lang.language
    out.update(
        n_chars=signals.n_chars, n_words=signals.n_words,
        mean_word_length=signals.mean_word_length,
        alpha_word_fraction=signals.alpha_word_fraction,
        symbol_word_ratio=signals.symbol_word_ratio,
        duplicate_line_fraction=signals.duplicate_line_fraction,
        quality_score=quality.quality_score(signals, settings.document_filter, known),
    )
    if reason is None:
        verdict = quality.evaluate(signals, settings.document_filter, known)
        drops = list(verdict.drop_reasons)
        lang_reason = language.language_reject_reason(lang, settings.language)
        # The language goes first: English-tuned rules (stop words) failing on another language
        # are a symptom, the language is the cause. An empty text stays empty_after_cleaning.
        if lang_reason and drops[:1] != [quality.REASON_EMPTY_AFTER_CLEANING]:
            drops.insert(0, lang_reason)
        out["failed_rules"], out["warnings"] = drops, list(verdict.warnings)
        reason = drops[0] if drops else None
    else:
        out["failed_rules"] = [reason]
    out["status"] = STATUS_REJECTED if reason else STATUS_ACCEPTED
    out["reject_reason"] = reason
    return out


def process_documents(bronze: DataFrame, settings: Settings) -> DataFrame:
    """bronze rows -> document rows with clean text, signals, score, status and reason."""
    meta_fields = [f for f in bronze.schema.fields if f.name != "content"]
    meta_names = [f.name for f in meta_fields]
    out_schema = T.StructType(meta_fields + [f for f in _DOC_PROCESSED.fields if f.name != "doc_id"])

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            rows = [
                process_document(content, fmt, err, settings)
                for content, fmt, err in zip(batch["content"], batch["source_format"],
                                             batch["ingest_error"])
            ]
            processed = pd.DataFrame(rows, columns=[f.name for f in _DOC_PROCESSED.fields
                                                    if f.name != "doc_id"])
            # Metadata columns pass through untouched, so no join back to bronze is needed.
            yield pd.concat([batch[meta_names].reset_index(drop=True), processed], axis=1)

    return (
        bronze.mapInPandas(run, out_schema)
        .withColumn("rules_version", F.lit(settings.rules_fingerprint()))
        .withColumn("processed_at", F.current_timestamp())
    )


def _pii_in_span(spans: list, start: int, end: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for span in spans:
        if start <= span.start < end:
            counts[span.type] = counts.get(span.type, 0) + 1
    return counts


def chunk_document(doc_id: str, text: str, settings: Settings) -> list[dict]:
    """All chunks of one accepted document (see iter_chunk_rows)."""
    return list(iter_chunk_rows(doc_id, text, settings))


def iter_chunk_rows(doc_id: str, text: str, settings: Settings) -> Iterator[dict]:
    """Chunks of one accepted document, each judged by the chunk rules and scanned for PII,
    one at a time so the caller decides how many it holds.

    In redaction mode the detected spans are replaced by typed placeholders *before*
    tokenization (so token counts and chunk boundaries are those of the redacted text) and each
    chunk's PII counts come from the placeholder positions, not from searching the text.
    """
    enc = chunking.get_encoding(settings.chunking.encoding)
    placed = None
    if settings.pii.redact:
        text, placed = pii.redact_spans(text, settings.pii.detectors)
    for ch in chunking.chunk_text(text, enc, settings.chunking.max_tokens):
        if placed is None:
            counts = pii.find_pii(ch.text, settings.pii.detectors)
        else:
            counts = _pii_in_span(placed, ch.char_start, ch.char_end)
        yield {
            "chunk_index": ch.index,
            "char_start": ch.char_start,
            "char_end": ch.char_end,
            "content": ch.text,
            "token_count": ch.token_count,
            "non_alnum_ratio": round(chunk_rules.non_alnum_ratio(ch.text), 4),
            "pii_types": sorted(counts),
            "pii_counts": json.dumps(counts, sort_keys=True),
            "reject_reason": chunk_rules.chunk_reject_reason(
                ch.text, settings.chunk_filter.max_non_alnum_ratio),
        }


def chunk_batches(batches: Iterator[pd.DataFrame], settings: Settings,
                  max_rows: int) -> Iterator[pd.DataFrame]:
    """The mapInPandas body of chunk_documents: document batches in, chunk batches of at most
    ``max_rows`` rows out, whatever the number of chunks one document or batch produces."""
    columns = CHUNK_SCHEMA.fieldNames()
    rows: list[dict] = []
    for batch in batches:
        for doc_id, uri, sha, score, text in zip(
                batch["doc_id"], batch["source_uri"], batch["content_sha256"],
                batch["quality_score"], batch["text"]):
            for ch in iter_chunk_rows(doc_id, text, settings):
                reason = ch["reject_reason"]
                ch.update(
                    doc_id=doc_id, source_uri=uri, doc_content_sha256=sha,
                    # Chunks carry their document's score: one predicate in SQL filters
                    # chunks by the quality of the text they came from.
                    quality_score=score,
                    status=STATUS_REJECTED if reason else STATUS_ACCEPTED,
                    chunk_id="",
                )
                rows.append(ch)
                if len(rows) >= max_rows:
                    yield pd.DataFrame(rows, columns=columns)
                    rows = []
    if rows:
        yield pd.DataFrame(rows, columns=columns)


def chunk_documents(documents: DataFrame, settings: Settings) -> DataFrame:
    """Accepted documents -> chunks (accepted and rejected, with reasons).

    Output batches are cut at the same row count Spark uses for input batches
    (``spark.sql.execution.arrow.maxRecordsPerBatch``): one input batch of long documents can
    yield hundreds of thousands of chunks, and a 4 MB document alone over 1,500, so the worker
    never holds more than one batch of chunk rows besides the document being chunked.
    """
    max_rows = max(1, int(documents.sparkSession.conf.get(
        "spark.sql.execution.arrow.maxRecordsPerBatch", "10000")))

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return chunk_batches(batches, settings, max_rows)

    accepted = documents.filter(F.col("status") == STATUS_ACCEPTED).select(
        "doc_id", "source_uri", "content_sha256", "quality_score", "text")
    chunks = accepted.mapInPandas(run, CHUNK_SCHEMA)
    # Deterministic id: the same document position gives the same chunk id on every rerun.
    return chunks.withColumn(
        "chunk_id", F.sha2(F.concat_ws(":", F.col("doc_id"), F.col("chunk_index").cast("string")), 256)
    ).withColumn("processed_at", F.current_timestamp())
