"""The HTML report renders every section from a report dict, with inline PNG plots."""
import base64
import re

from lakeprep.text.report import render_markdown
from lakeprep.text.report_html import render_html

REPORT = {
    "run_id": "r1", "input_uris": ["file:/in"], "lake_uri": "file:/lake", "rules_version": "v",
    "started_at": "2026-11-23T00:00:00+00:00", "duration_s": 12.5,
    "documents": {"input_records": 10, "duplicate_records_merged": 0, "documents": 10,
                  "accepted": 7, "rejected": 3, "rejected_by_reason": {"too_few_words": 2,
                                                                        "binary_content": 1},
                  "by_source_format": {"txt": 10}, "encodings": {"utf-8": 9},
                  "input_bytes": 1000, "mean_quality_score_accepted": 0.9,
                  "languages": {"en": 6, "fr": 1}},
    "chunks": {"chunks": 12, "accepted": 11, "rejected": 1, "filtered_percent": 8.33,
               "rejected_by_reason": {"non_alnum_ratio": 1},
               "token_count": {"total": 3000, "mean": 272.7, "median": 300, "p95": 500, "max": 512},
               "pii_chunks_by_type": {"email": 2}},
    "histograms": {"quality_score": {"bin_width": 0.05, "by_status": {
        "accepted": {0.9: 5, 0.95: 2}, "rejected": {0.3: 3}}},
        "token_count": {"bin_width": 32, "counts": {256: 4, 480: 7}}},
}


def test_html_has_summary_tables_and_plots():
    page = render_html(REPORT)
    assert page.startswith("<!doctype html>")
    assert "too_few_words" in page and "non_alnum_ratio" in page and "email" in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    # quality histogram, token histogram, doc reasons, chunk reasons, PII, languages
    assert len(images) == 6
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)


def test_empty_sections_are_omitted_not_broken():
    report = {**REPORT, "chunks": {**REPORT["chunks"], "pii_chunks_by_type": {},
                                   "rejected_by_reason": {}}}
    page = render_html(report)
    assert len(re.findall(r"data:image/png", page)) == 4
    assert "<em>none</em>" in page


def test_markdown_and_html_agree_on_counts():
    md, page = render_markdown(REPORT), render_html(REPORT)
    for needle in ("too_few_words", "binary_content", "non_alnum_ratio"):
        assert needle in md and needle in page
