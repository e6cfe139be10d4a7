"""The Streamlit page: what the two jobs loaded into PostgreSQL, at a glance.

Started by ``python -m lakeprep.dashboard`` (lakeprep.dashboard.__main__), which runs this file
with ``streamlit run``; the arguments after ``--`` reach ``main`` through sys.argv. All SQL is in
lakeprep.dashboard.queries: this module only lays out what those queries return.

Every chart has its numbers beside it as a plain table (``st.table``, real HTML, not the canvas
grid of ``st.dataframe``): readable without hovering, and readable by the browser test.
"""
from __future__ import annotations

import argparse
import sys

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from lakeprep.dashboard.queries import DashboardQueries

NO_TEXT_RUN = "No data yet: the text pipeline has not loaded any document into this database."
NO_TRIALS_RUN = "No data yet: the clinical-trials job has not loaded any study into this database."


def parse_app_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lakeprep.dashboard.app")
    parser.add_argument("--config", default=None)
    parser.add_argument("--db-secret-arn", default=None)
    return parser.parse_args(argv)


@st.cache_resource(show_spinner=False)
def _connect(config: str | None, secret_arn: str | None) -> tuple[DashboardQueries, int, str]:
    """Once per server process: settings, target (the jobs' own resolution: PG* variables, then
    conf/, else the embedded server) and one pooled engine shared by every browser session."""
    from lakeprep.config import load_settings
    from lakeprep.db.connection import resolve_target

    settings = load_settings(config)
    target = resolve_target(settings.postgres, secret_arn=secret_arn)
    # A config without a trials section: the trials panels say "no data yet".
    queries = DashboardQueries(target.engine(), settings.postgres.schema,
                               settings.trials.postgres.schema if settings.trials else None)
    return queries, settings.chunking.max_tokens, target.describe()


def main(config: str | None, secret_arn: str | None) -> None:
    st.set_page_config(page_title="lakeprep dashboard", layout="wide")
    queries, max_tokens, where = _connect(config, secret_arn)
    render(queries, max_tokens, where)


def render(queries: DashboardQueries, max_tokens: int, where: str) -> None:
    st.title("lakeprep")
    st.caption(f"PostgreSQL {where}: text schema `{queries.text_schema}`, "
               f"clinical-trials schema `{queries.trials_schema}`")
    try:
        summary = queries.summary()
    except sa.exc.OperationalError as exc:
        # A stopped or unreachable server: one line, not a traceback in the page.
        st.error(f"Cannot read PostgreSQL {where}: {str(exc.orig).strip().splitlines()[0]}")
        st.stop()

    with st.container(key="summary"):
        cols = st.columns(6)
        cols[0].metric("Runs", _n(summary.runs), help="pipeline_runs rows, both jobs",
                       delta=f"{summary.runs_failed} failed" if summary.runs_failed else None,
                       delta_color="inverse")
        cols[1].metric("Documents kept", _n(summary.documents_kept))
        cols[2].metric("Documents rejected", _n(summary.documents_rejected))
        cols[3].metric("Chunks", _n(summary.chunks))
        cols[4].metric("Chunks rejected", _n(summary.chunks_rejected))
        cols[5].metric("Trials", _n(summary.trials))

    _runs_section(queries)
    _outcome_section(queries)
    _distributions_section(queries, max_tokens)
    _pii_language_section(queries, has_chunks=summary.chunks > 0)
    _trials_section(queries)
    _lineage_section(queries)
    with st.container(key="footer"):
        st.caption("Counts are live documents (not tombstoned at their source) and served chunks.")


def _runs_section(queries: DashboardQueries) -> None:
    st.header("Runs over time")
    runs = queries.runs()
    with st.container(key="runs"):
        if runs.empty:
            st.info("No data yet: no run of either job is recorded in pipeline_runs.")
            return
        text_runs = runs[runs["documents_in"].notna()].copy()
        chart, table = st.columns(2)
        if text_runs.empty:
            chart.info("No text-pipeline run yet (only clinical-trials runs).")
        else:
            # One bar per run, labelled by its start (a time axis would draw runs minutes apart
            # as hairlines).
            text_runs["run"] = text_runs["started_at"].map(lambda t: t.strftime("%m-%d %H:%M:%S"))
            chart.bar_chart(
                text_runs.rename(columns={"documents_accepted": "kept",
                                          "documents_rejected": "rejected"}),
                x="run", y=["kept", "rejected"], y_label="documents processed", sort=False,
                color=["#4c9f70", "#d1495b"])
        latest = runs.sort_values("started_at", ascending=False).head(10)
        shown = pd.DataFrame({
            "started_at": latest["started_at"].map(lambda t: t.strftime("%Y-%m-%d %H:%M:%S")),
            "job": latest["job"], "status": latest["status"],
            "seconds": latest["seconds"].map(lambda s: "" if pd.isna(s) else f"{s:.0f}"),
            # Counts are NULL for trials runs: show blanks, not NaN or floats.
            "documents": latest["documents_in"].map(_n_or_blank),
            "kept": latest["documents_accepted"].map(_n_or_blank),
            "chunks": latest["chunks_accepted"].map(_n_or_blank)})
        table.table(shown.set_index("started_at"))


def _outcome_section(queries: DashboardQueries) -> None:
    st.header("Kept vs rejected")
    docs, chunks = st.columns(2)
    outcome = queries.documents_by_outcome()
    with docs.container(key="documents_by_reason"):
        st.subheader("Documents by reason")
        if outcome.empty:
            st.info(NO_TEXT_RUN)
        else:
            st.bar_chart(outcome, x="reason", y="documents", color="status", horizontal=True,
                         sort="-documents")
            st.table(outcome.set_index("reason")[["status", "documents"]])
    rejected = queries.rejected_chunks_by_reason()
    with chunks.container(key="chunks_by_reason"):
        st.subheader("Rejected chunks by reason")
        if rejected.empty:
            st.info("No rejected chunks." if not outcome.empty else NO_TEXT_RUN)
        else:
            st.bar_chart(rejected, x="reason", y="chunks", horizontal=True, sort="-chunks")
            st.table(rejected.set_index("reason"))


def _distributions_section(queries: DashboardQueries, max_tokens: int) -> None:
    st.header("Distributions")
    tokens_col, quality_col = st.columns(2)
    hist = queries.token_histogram(max_tokens)
    with tokens_col.container(key="tokens"):
        st.subheader("Tokens per chunk")
        if hist.empty:
            st.info(NO_TEXT_RUN)
        else:
            hist["tokens"] = hist.apply(lambda r: f"{r['low']:.0f}-{r['high']:.0f}", axis=1)
            st.bar_chart(hist, x="tokens", y="chunks", x_label=f"tokens (limit {max_tokens})",
                         sort=False)
            stats = queries.token_stats().iloc[0]
            st.table(pd.DataFrame({"value": [_n(stats["chunks"]), f"{stats['mean']:.1f}",
                                             f"{stats['median']:.0f}", f"{stats['p95']:.0f}",
                                             _n(stats["max"])]},
                                  index=pd.Index(["chunks", "mean", "median", "p95", "max"],
                                                 name="tokens")))
    quality = queries.quality_histogram()
    with quality_col.container(key="quality"):
        st.subheader("Document quality score")
        if quality.empty:
            st.info(NO_TEXT_RUN)
        else:
            quality["score"] = quality["low"].map(lambda v: f"{v:.2f}")
            st.bar_chart(quality, x="score", y="documents", color="status", sort=False,
                         x_label="quality score (bin start)")
            per_status = quality.groupby("status")["documents"].sum()
            st.table(per_status.rename_axis("document status").to_frame())


def _pii_language_section(queries: DashboardQueries, has_chunks: bool) -> None:
    pii_col, lang_col = st.columns(2)
    pii = queries.pii_by_type()
    with pii_col.container(key="pii"):
        st.header("PII by type")
        if pii.empty:
            st.info("No PII found in served chunks." if has_chunks else NO_TEXT_RUN)
        else:
            st.bar_chart(pii, x="pii_type", y="chunks", horizontal=True, sort="-chunks",
                         y_label="chunks containing it")
            st.table(pii.set_index("pii_type"))
    languages = queries.languages()
    with lang_col.container(key="languages"):
        st.header("Language mix")
        if languages.empty:
            st.info(NO_TEXT_RUN)
        else:
            st.bar_chart(languages, x="language", y=["kept", "rejected"], horizontal=True,
                         sort="-documents", color=["#4c9f70", "#d1495b"])
            st.table(languages.set_index("language"))


def _trials_section(queries: DashboardQueries) -> None:
    st.header("Clinical trials")
    status_col, cond_col = st.columns(2)
    status = queries.trials_by_status()
    with status_col.container(key="trial_status"):
        st.subheader("Trials by overall status")
        if status.empty:
            st.info(NO_TRIALS_RUN)
        else:
            st.bar_chart(status, x="status", y="trials", horizontal=True, sort="-trials")
            st.table(status.set_index("status"))
    conditions = queries.top_conditions()
    with cond_col.container(key="trial_conditions"):
        st.subheader("Top conditions")
        if conditions.empty:
            st.info(NO_TRIALS_RUN)
        else:
            st.bar_chart(conditions, x="condition", y="trials", horizontal=True, sort="-trials")
            st.table(conditions.set_index("condition"))


def _lineage_section(queries: DashboardQueries) -> None:
    st.header("Lineage and audit of the latest runs")
    lineage = queries.lineage()
    with st.container(key="lineage"):
        st.subheader("Datasets read and written")
        if lineage.empty:
            st.info("No data yet: each run records its lineage when it ends.")
        else:
            shown = lineage.assign(rows=lineage["rows"].map(_n_or_blank),
                                   version=lineage["version"].fillna(""))
            st.table(shown[["job", "run_id", "direction", "name", "version", "rows",
                            "code_version", "config_hash"]].set_index("job"))
    audit = queries.audit()
    with st.container(key="audit"):
        st.subheader("Changes by table (audit log)")
        if audit.empty:
            st.info("No data yet: no change audited in the latest runs (a run that changed "
                    "nothing audits nothing).")
        else:
            shown = audit.assign(rows=audit["rows"].map(_n),
                                 changed_at=audit["changed_at"].astype(str))
            st.table(shown.set_index("job"))


def _n_or_blank(value) -> str:
    return "" if pd.isna(value) else _n(value)


def _n(value) -> str:
    """Counts with a thousands separator (the tests strip it)."""
    return f"{int(value):,}"


if __name__ == "__main__":
    # `streamlit run app.py -- ARGS` runs this file as __main__ with ARGS in sys.argv.
    args = parse_app_args(sys.argv[1:])
    main(args.config, args.db_secret_arn)
