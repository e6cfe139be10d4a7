"""Every SQL statement the dashboard runs, in one place (lakeprep.dashboard.app only draws).

The dashboard sits at the very end of the flow: it reads the PostgreSQL tables the two jobs
load (text: documents, chunks, rejected_chunks, pipeline_runs in ``postgres.schema``; trials:
studies, conditions in ``trials.postgres.schema``) and never writes. Three guarantees:

- Read-only: each call runs in a ``READ ONLY`` transaction, so even a user with write grants
  (the embedded default's owner) cannot change data through the dashboard.
- Parameters are bound: values (limits, bucket counts, job names) travel as bind parameters;
  the only text put into SQL is a schema name from conf/, quoted as an identifier.
- Missing data is an answer, not an error: a schema or table that does not exist yet (the trials
  job never ran, a fresh database) gives an empty frame and zero counts, which the app shows as
  "no data yet".

Aggregation happens in PostgreSQL (histograms with ``width_bucket``, percentiles, GROUP BYs):
what comes back is a few hundred rows whatever the size of the corpus.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa

# Tables of the text job (lakeprep.db.schema) and of the trials job (lakeprep.trials.warehouse).
DOCUMENTS, CHUNKS, REJECTED_CHUNKS, RUNS = "documents", "chunks", "rejected_chunks", "pipeline_runs"
# Both jobs' lineage and audit tables (lakeprep.lineage, lakeprep.db.audit), in postgres.schema.
LINEAGE, AUDIT = "lineage", "audit_log"
STUDIES, CONDITIONS = "studies", "conditions"


@dataclass(frozen=True)
class Summary:
    """The headline numbers. Documents count live rows only (a tombstone, deleted at its source,
    is no longer served), chunks are the served ones."""
    runs: int
    runs_failed: int
    documents_kept: int
    documents_rejected: int
    chunks: int
    chunks_rejected: int
    trials: int
    conditions: int


class DashboardQueries:
    """Read-only queries over one database. ``text_schema`` is ``postgres.schema``,
    ``trials_schema`` is ``trials.postgres.schema`` (both from the same conf/ file as the jobs)."""

    def __init__(self, engine: sa.Engine, text_schema: str, trials_schema: str | None):
        self.engine = engine
        self.text_schema = text_schema
        self.trials_schema = trials_schema
        self._quote = engine.dialect.identifier_preparer.quote

    # ---- plumbing -------------------------------------------------------------------------

    @contextmanager
    def read_only(self) -> Iterator[sa.Connection]:
        """A connection inside a READ ONLY transaction, rolled back at the end (nothing to keep)."""
        with self.engine.connect() as conn:
            conn.execute(sa.text("SET TRANSACTION READ ONLY"))
            try:
                yield conn
            finally:
                conn.rollback()

    def _table(self, schema: str, table: str) -> str:
        return f"{self._quote(schema)}.{self._quote(table)}"

    def _existing(self, conn: sa.Connection, schema: str | None, *tables: str) -> bool:
        # No schema: the config has no trials section, so there are no trials tables to read.
        if schema is None:
            return False
        # to_regclass gives NULL for a missing schema or table instead of raising, so the check
        # itself cannot abort the transaction.
        for table in tables:
            found = conn.execute(sa.text("SELECT to_regclass(:name) IS NOT NULL"),
                                 {"name": self._table(schema, table)}).scalar()
            if not found:
                return False
        return True

    def _frame(self, schema: str | None, tables: tuple[str, ...], sql: str, columns: list[str],
               params: Mapping[str, object] | None = None) -> pd.DataFrame:
        """Run ``sql`` (``{t0}``, ``{t1}``... are the quoted tables) or, when a table is missing,
        give the empty frame with the same columns."""
        with self.read_only() as conn:
            if schema is None or not self._existing(conn, schema, *tables):
                return pd.DataFrame(columns=columns)
            names = {f"t{i}": self._table(schema, t) for i, t in enumerate(tables)}
            rows = conn.execute(sa.text(sql.format(**names)), dict(params or {})).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=columns)

    def _count(self, conn: sa.Connection, schema: str | None, table: str, where: str = "") -> int:
        if schema is None or not self._existing(conn, schema, table):
            return 0
        sql = f"SELECT count(*) FROM {self._table(schema, table)} {where}"
        return int(conn.execute(sa.text(sql)).scalar() or 0)

    # ---- headline -------------------------------------------------------------------------

    def summary(self) -> Summary:
        t, c = self.text_schema, self.trials_schema
        with self.read_only() as conn:
            return Summary(
                runs=self._count(conn, t, RUNS),
                runs_failed=self._count(conn, t, RUNS, "WHERE status = 'failed'"),
                documents_kept=self._count(
                    conn, t, DOCUMENTS, "WHERE status = 'accepted' AND deleted_at IS NULL"),
                documents_rejected=self._count(
                    conn, t, DOCUMENTS, "WHERE status = 'rejected' AND deleted_at IS NULL"),
                chunks=self._count(conn, t, CHUNKS),
                chunks_rejected=self._count(conn, t, REJECTED_CHUNKS),
                trials=self._count(conn, c, STUDIES),
                conditions=self._count(conn, c, CONDITIONS),
            )

    # ---- runs -----------------------------------------------------------------------------

    def runs(self, limit: int = 200) -> pd.DataFrame:
        """The latest runs of both jobs, oldest first (the order a time chart wants)."""
        return self._frame(self.text_schema, (RUNS,), """
            SELECT * FROM (
                SELECT started_at, run_id, job, status,
                       EXTRACT(EPOCH FROM finished_at - started_at)::float AS seconds,
                       documents_in, documents_accepted, documents_rejected, chunks_accepted
                FROM {t0} ORDER BY started_at DESC LIMIT :limit) latest
            ORDER BY started_at""",
            ["started_at", "run_id", "job", "status", "seconds", "documents_in",
             "documents_accepted", "documents_rejected", "chunks_accepted"], {"limit": limit})

    # ---- kept vs rejected -----------------------------------------------------------------

    def documents_by_outcome(self) -> pd.DataFrame:
        """Live documents by status and reject reason ('kept' for the accepted ones)."""
        return self._frame(self.text_schema, (DOCUMENTS,), """
            SELECT status, COALESCE(reject_reason, 'kept') AS reason, count(*) AS documents
            FROM {t0} WHERE deleted_at IS NULL
            GROUP BY 1, 2 ORDER BY documents DESC, reason""",
            ["status", "reason", "documents"])

    def rejected_chunks_by_reason(self) -> pd.DataFrame:
        return self._frame(self.text_schema, (REJECTED_CHUNKS,), """
            SELECT reject_reason AS reason, count(*) AS chunks FROM {t0}
            GROUP BY 1 ORDER BY chunks DESC, reason""",
            ["reason", "chunks"])

    # ---- distributions --------------------------------------------------------------------

    def token_histogram(self, max_tokens: int, bins: int = 16) -> pd.DataFrame:
        """Served chunks per token-count bin of width max_tokens / bins; ``low`` and ``high``
        bound each bin ([low, high), the last one closed at max_tokens)."""
        return self._frame(self.text_schema, (CHUNKS,), """
            SELECT LEAST(width_bucket(token_count, 0, :max_tokens, :bins), :bins) AS bucket,
                   count(*) AS chunks
            FROM {t0} GROUP BY 1 ORDER BY 1""",
            ["bucket", "chunks"], {"max_tokens": max_tokens, "bins": bins}).pipe(
                _with_bounds, 0.0, float(max_tokens), bins)

    def token_stats(self) -> pd.DataFrame:
        """One row: chunks, mean, median, p95 and max token count of the served chunks."""
        return self._frame(self.text_schema, (CHUNKS,), """
            SELECT count(*) AS chunks, avg(token_count)::float AS mean,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY token_count) AS median,
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY token_count) AS p95,
                   max(token_count) AS max
            FROM {t0} HAVING count(*) > 0""",
            ["chunks", "mean", "median", "p95", "max"])

    def quality_histogram(self, bins: int = 20) -> pd.DataFrame:
        """Live documents per quality-score bin, split by status: how far the kept documents sit
        from the rejected ones."""
        return self._frame(self.text_schema, (DOCUMENTS,), """
            SELECT LEAST(width_bucket(quality_score, 0, 1, :bins), :bins) AS bucket, status,
                   count(*) AS documents
            FROM {t0} WHERE deleted_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2""",
            ["bucket", "status", "documents"], {"bins": bins}).pipe(_with_bounds, 0.0, 1.0, bins)

    # ---- PII and language -----------------------------------------------------------------

    def pii_by_type(self) -> pd.DataFrame:
        """Per PII type: served chunks that contain it and its occurrences in them."""
        return self._frame(self.text_schema, (CHUNKS,), """
            SELECT kind.key AS pii_type, count(*) AS chunks, sum(kind.value::bigint) AS occurrences
            FROM {t0} c CROSS JOIN LATERAL jsonb_each_text(c.pii_counts) AS kind
            WHERE kind.value::bigint > 0
            GROUP BY 1 ORDER BY chunks DESC, pii_type""",
            ["pii_type", "chunks", "occurrences"])

    def languages(self, limit: int = 15) -> pd.DataFrame:
        """Live documents per detected language (kept and rejected), the most frequent first."""
        return self._frame(self.text_schema, (DOCUMENTS,), """
            SELECT COALESCE(language, 'unknown') AS language,
                   count(*) FILTER (WHERE status = 'accepted') AS kept,
                   count(*) FILTER (WHERE status = 'rejected') AS rejected,
                   count(*) AS documents
            FROM {t0} WHERE deleted_at IS NULL
            GROUP BY 1 ORDER BY documents DESC, language LIMIT :limit""",
            ["language", "kept", "rejected", "documents"], {"limit": limit})

    # ---- lineage and audit ----------------------------------------------------------------

    def lineage(self, runs: int = 3) -> pd.DataFrame:
        """What the latest ``runs`` runs (either job) read and wrote: one row per dataset, with
        its version, rows, and the code and configuration that produced it."""
        return self._frame(self.text_schema, (LINEAGE, RUNS), """
            SELECT l.job, l.run_id, l.direction, l.namespace, l.name, l.version, l.row_count,
                   l.code_version, l.config_hash
            FROM {t0} l JOIN (SELECT run_id, started_at FROM {t1}
                              ORDER BY started_at DESC LIMIT :runs) r USING (run_id)
            ORDER BY r.started_at DESC, l.direction, l.name""",
            ["job", "run_id", "direction", "namespace", "name", "version", "rows",
             "code_version", "config_hash"], {"runs": runs})

    def audit(self, runs: int = 3) -> pd.DataFrame:
        """Who changed which table in the latest ``runs`` runs, and by how many rows."""
        return self._frame(self.text_schema, (AUDIT, RUNS), """
            SELECT a.job, a.run_id, a.db_user, a.action, a.table_name, a.rows, a.changed_at
            FROM {t0} a JOIN (SELECT run_id FROM {t1}
                              ORDER BY started_at DESC LIMIT :runs) r USING (run_id)
            ORDER BY a.changed_at DESC, a.table_name, a.action""",
            ["job", "run_id", "db_user", "action", "table", "rows", "changed_at"],
            {"runs": runs})

    # ---- clinical trials ------------------------------------------------------------------

    def trials_by_status(self) -> pd.DataFrame:
        return self._frame(self.trials_schema, (STUDIES,), """
            SELECT overall_status AS status, count(*) AS trials FROM {t0}
            GROUP BY 1 ORDER BY trials DESC, status""",
            ["status", "trials"])

    def top_conditions(self, limit: int = 15) -> pd.DataFrame:
        """Trials per condition, by the standardized name where there is one (issue 9), so that
        spelling variants of one disease count together."""
        return self._frame(self.trials_schema, (CONDITIONS,), """
            SELECT COALESCE(NULLIF(canonical_name, ''), name) AS condition,
                   count(DISTINCT nct_id) AS trials
            FROM {t0} GROUP BY 1 ORDER BY trials DESC, condition LIMIT :limit""",
            ["condition", "trials"], {"limit": limit})


def _with_bounds(frame: pd.DataFrame, low: float, high: float, bins: int) -> pd.DataFrame:
    """Add each histogram bucket's lower and upper bound (width_bucket numbers them from 1; a
    value at exactly ``high`` falls in bucket bins + 1, folded into the last one by LEAST)."""
    width = (high - low) / bins
    out = frame.copy()
    bucket = out["bucket"].astype(float)
    out["low"] = low + (bucket - 1) * width
    out["high"] = low + bucket * width
    return out
