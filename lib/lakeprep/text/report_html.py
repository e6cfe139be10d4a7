"""The run report as one self-contained HTML page with plots (matplotlib, PNGs inlined).

Rendered from the same report dict as report.md / report.json (lakeprep.text.report), so the
three never disagree. One file, no external assets: it can be opened from S3, mailed or attached
to a ticket as it is.
"""
from __future__ import annotations

import base64
import html
import io

import matplotlib

matplotlib.use("Agg")  # headless: the driver of a cluster job has no display
import matplotlib.pyplot as plt  # noqa: E402

_ACCEPTED, _REJECTED = "#2a7ab9", "#d1495b"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _bars(counts: dict, title: str, color: str, xlabel: str = "count") -> str | None:
    """Horizontal bar chart (labels can be long reason codes), largest at the top."""
    if not counts:
        return None
    items = sorted(counts.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(items) + 1.2))
    ax.barh([str(k) for k, _ in items], [v for _, v in items], color=color)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    for i, (_, v) in enumerate(items):
        ax.text(v, i, f" {v:,}", va="center", fontsize=8)
    return _png(fig)


def _histogram(series: dict[str, dict], width: float, title: str, xlabel: str,
               colors: dict[str, str]) -> str | None:
    if not any(series.values()):
        return None
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bottom: dict[float, int] = {}
    for name, bins in series.items():
        edges = sorted(float(k) for k in bins)
        counts = [bins.get(e, bins.get(str(e), 0)) for e in edges]
        base = [bottom.get(e, 0) for e in edges]
        ax.bar(edges, counts, width=width, align="edge", bottom=base, label=name,
               color=colors.get(name), edgecolor="white", linewidth=0.5)
        for e, c in zip(edges, counts):
            bottom[e] = bottom.get(e, 0) + c
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    if len(series) > 1:
        ax.legend()
    return _png(fig)


def _table(rows: dict, header: str) -> str:
    if not rows:
        return "<p><em>none</em></p>"
    body = "".join(f"<tr><td><code>{html.escape(str(k))}</code></td><td>{v:,}</td></tr>"
                   for k, v in rows.items())
    return f"<table><tr><th>{html.escape(header)}</th><th>count</th></tr>{body}</table>"


def render_html(report: dict) -> str:
    d, c = report["documents"], report["chunks"]
    t = c["token_count"]
    hist = report.get("histograms", {})
    q = hist.get("quality_score", {})
    tok = hist.get("token_count", {})
    plots = [
        ("Quality score of documents", _histogram(
            q.get("by_status", {}), q.get("bin_width", 0.05), "Document quality score",
            "quality_score", {"accepted": _ACCEPTED, "rejected": _REJECTED})),
        ("Token count of accepted chunks", _histogram(
            {"chunks": tok.get("counts", {})}, tok.get("bin_width", 32),
            "Tokens per accepted chunk", "token_count", {"chunks": _ACCEPTED})),
        ("Why documents were rejected", _bars(d["rejected_by_reason"], "Rejected documents by reason",
                                               _REJECTED)),
        ("Why chunks were rejected", _bars(c["rejected_by_reason"], "Rejected chunks by reason",
                                           _REJECTED)),
        ("PII flags", _bars(c["pii_chunks_by_type"], "Accepted chunks flagged, by PII type",
                            "#e6a23c", "chunks")),
        ("Languages", _bars(d.get("languages", {}), "Documents by detected language",
                            _ACCEPTED, "documents")),
    ]
    figures = "".join(
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{png}">'
        f"<figcaption>{html.escape(title)}</figcaption></figure>"
        for title, png in plots if png)
    summary = {
        "input records": d["input_records"], "documents": d["documents"],
        "accepted documents": d["accepted"], "rejected documents": d["rejected"],
        "chunks": c["chunks"], "accepted chunks": c["accepted"],
        "rejected chunks": c["rejected"],
        "tokens in accepted chunks": t["total"],
    }
    summary_rows = "".join(f"<tr><td>{k}</td><td>{v:,}</td></tr>" for k, v in summary.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Text pipeline report {html.escape(report['run_id'])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: left; }}
td:last-child {{ text-align: right; }}
figure {{ display: inline-block; margin: 0.5em; vertical-align: top; }}
figcaption {{ font-size: 0.85em; color: #555; text-align: center; }}
</style></head><body>
<h1>Text pipeline report</h1>
<p>Run <code>{html.escape(report['run_id'])}</code> started {html.escape(str(report['started_at']))},
{report.get('duration_s', 0):.1f} s; lake <code>{html.escape(report['lake_uri'])}</code>; rules
version <code>{html.escape(report['rules_version'])}</code>.</p>
<table>{summary_rows}
<tr><td>chunks filtered</td><td>{c['filtered_percent']:.2f} %</td></tr>
<tr><td>token count mean / median / p95 / max</td>
<td>{t['mean']} / {t['median']} / {t['p95']} / {t['max']}</td></tr></table>
{figures}
<h2>Rejected documents by reason</h2>{_table(d['rejected_by_reason'], 'reason')}
<h2>Accepted documents kept with warnings</h2>{_table(d.get('accepted_with_warnings_by_reason', {}), 'warning')}
<h2>Duplicates</h2>{_table(d.get('duplicates', {}), 'kind')}
<h2>Boilerplate and markup removed (lines; tags, blocks or entities for html_*)</h2>{_table(d.get('boilerplate_lines_removed', {}), 'kind')}
<h2>Rejected chunks by reason</h2>{_table(c['rejected_by_reason'], 'reason')}
<h2>Accepted chunks flagged with PII</h2>{_table(c['pii_chunks_by_type'], 'PII type')}
</body></html>
"""  # noqa: E501 (one HTML line per report section)
