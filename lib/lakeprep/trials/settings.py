"""Settings of the clinical-trials job: the ``trials:`` section of the conf/ file, typed and checked.

Parsed by ``lakeprep.config.parse_settings`` into ``Settings.trials``, so the job reads every
tunable (API paging, rate limit, retries, staging location, incremental margin, expectations,
cleaning, PostgreSQL schema, dbt) from the same per-environment file as the text job, and a typo
fails at start-up with the key's name.

Two regions, owned by two engineers: ingestion (``api``, ``staging``, ``incremental``) and
warehouse (``expectations``, ``cleaning``, ``postgres``, ``dbt``). ``TrialsSettings`` and
``parse_trials`` at the bottom join them.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lakeprep.config import ConfigError, _get, _section

# ---- ingestion region (api, staging, incremental) ------------------------------------------

# The public API; --api-base-url overrides it (tests point it at the replay server).
PUBLIC_API_BASE_URL = "https://clinicaltrials.gov/api/v2"
# The API rejects larger pages (documented maximum of /studies pageSize).
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class ApiSettings:
    base_url: str
    page_size: int
    # Empty = every field; otherwise the API's `fields` parameter (piece names or paths).
    fields: tuple[str, ...]
    # `query.<key>` parameters (cond, term, intr, spons, ...), passed as given.
    query: dict[str, str]
    # Essie expression for `filter.advanced`; ANDed with the incremental date range.
    filter_advanced: str
    requests_per_minute: float
    connect_timeout_s: float
    read_timeout_s: float
    # Attempts per request (the first try included) before the run fails with one line.
    max_attempts: int
    backoff_base_s: float
    backoff_max_s: float
    # A Retry-After longer than this fails the request instead of stalling the run for hours.
    max_retry_after_s: float
    user_agent: str


@dataclass(frozen=True)
class StagingSettings:
    # Empty = <lake>/_staging/ctgov; else any Hadoop URI (file:/..., s3a://bucket/prefix).
    root: str


@dataclass(frozen=True)
class IncrementalSettings:
    # Default run (neither --since nor --full): since = start of the last successful run minus
    # this many days.
    safety_margin_days: int


def _positive(v: float) -> bool:
    return v > 0


def _parse_api(tr: Mapping[str, Any]) -> ApiSettings:
    api = _section(tr, "api")
    p = "trials.api"
    base_url = _get(api, p, "base_url", str, check=lambda v: re.match(r"^https?://\S+$", v))
    query = api.get("query") or {}
    if not isinstance(query, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in query.items()):
        raise ConfigError(f"'{p}.query' must be a mapping of strings, got {query!r}")
    bad = [k for k in query if not re.fullmatch(r"[a-z][A-Za-z]*", k)]
    if bad:
        # The keys become `query.<key>` parameters: `query.cond` is written as `cond`.
        raise ConfigError(f"'{p}.query': keys must be plain names like cond or term, got {bad}")
    settings = ApiSettings(
        base_url=base_url.rstrip("/"),
        page_size=_get(api, p, "page_size", int, check=lambda v: 1 <= v <= MAX_PAGE_SIZE),
        fields=_get(api, p, "fields", tuple),
        query=dict(query),
        filter_advanced=_get(api, p, "filter_advanced", str),
        requests_per_minute=_get(api, p, "requests_per_minute", float, check=_positive),
        connect_timeout_s=_get(api, p, "connect_timeout_s", float, check=_positive),
        read_timeout_s=_get(api, p, "read_timeout_s", float, check=_positive),
        max_attempts=_get(api, p, "max_attempts", int, check=lambda v: v >= 1),
        backoff_base_s=_get(api, p, "backoff_base_s", float, check=lambda v: v >= 0),
        backoff_max_s=_get(api, p, "backoff_max_s", float, check=lambda v: v >= 0),
        max_retry_after_s=_get(api, p, "max_retry_after_s", float, check=lambda v: v >= 0),
        user_agent=_get(api, p, "user_agent", str, check=bool),
    )
    if settings.backoff_base_s > settings.backoff_max_s:
        raise ConfigError(f"{p}.backoff_base_s exceeds {p}.backoff_max_s")
    return settings


def _parse_ingestion(tr: Mapping[str, Any]) -> dict[str, Any]:
    st = _section(tr, "staging")
    inc = _section(tr, "incremental")
    return {
        "api": _parse_api(tr),
        "staging": StagingSettings(root=_get(st, "trials.staging", "root", str).rstrip("/")),
        "incremental": IncrementalSettings(
            safety_margin_days=_get(inc, "trials.incremental", "safety_margin_days", int,
                                    check=lambda v: v >= 0)),
    }

# ---- end of ingestion region ---------------------------------------------------------------

# ---- warehouse region (expectations, cleaning, postgres, dbt) ------------------------------


@dataclass(frozen=True)
class ExpectationSettings:
    # Expectation name (lakeprep.trials.expectations.EXPECTATIONS) -> "warn" | "drop" | "fail".
    actions: dict[str, str]


@dataclass(frozen=True)
class CleaningSettings:
    # Parsed dates outside [min_year, max_year] become NULL with reason date_out_of_range.
    min_year: int
    max_year: int
    strip_markdown: bool


@dataclass(frozen=True)
class TrialsPostgresSettings:
    # Schema of the clinical-trials tables (validated identifier); connection as in `postgres:`.
    schema: str


@dataclass(frozen=True)
class DbtSettings:
    # Path of the dbt executable, relative to the repository unless absolute; the environment
    # variable LAKEPREP_DBT_EXECUTABLE wins (lakeprep.trials.warehouse.dbt_executable).
    executable: str
    project_dir: str
    # Schema the dbt models are built in (validated identifier).
    schema: str
    threads: int
    timeout_s: float


def _parse_expectations(tr: Mapping[str, Any]) -> ExpectationSettings:
    """trials.expectations: every declared expectation named exactly once with a valid action,
    so a new expectation gets a conscious action and a misspelt name fails at start-up."""
    # Local import: expectations.py needs pyspark, settings are parsed before Spark starts, and
    # the list of names lives with the predicates.
    from lakeprep.trials.expectations import ACTIONS, EXPECTATION_NAMES

    ex = _section(tr, "expectations")
    unknown = sorted(set(ex) - set(EXPECTATION_NAMES))
    missing = [n for n in EXPECTATION_NAMES if n not in ex]
    if unknown or missing:
        raise ConfigError(f"trials.expectations: unknown {unknown}, missing {missing}")
    bad = {k: v for k, v in ex.items() if v not in ACTIONS}
    if bad:
        raise ConfigError(f"trials.expectations: actions must be one of {list(ACTIONS)}, got {bad}")
    return ExpectationSettings(actions={n: ex[n] for n in EXPECTATION_NAMES})


def _parse_warehouse(tr: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of TrialsSettings for the warehouse sections."""
    from lakeprep.config import validate_identifier

    cl = _section(tr, "cleaning")
    cleaning = CleaningSettings(
        min_year=_get(cl, "trials.cleaning", "min_year", int, check=lambda v: v > 0),
        max_year=_get(cl, "trials.cleaning", "max_year", int, check=lambda v: v > 0),
        strip_markdown=_get(cl, "trials.cleaning", "strip_markdown", bool),
    )
    if cleaning.min_year > cleaning.max_year:
        raise ConfigError("trials.cleaning.min_year exceeds trials.cleaning.max_year")
    pg = _section(tr, "postgres")
    db = _section(tr, "dbt")
    p = "trials.dbt"
    return {
        "expectations": _parse_expectations(tr),
        "cleaning": cleaning,
        "postgres": TrialsPostgresSettings(schema=validate_identifier(
            _get(pg, "trials.postgres", "schema", str), "trials.postgres.schema")),
        "dbt": DbtSettings(
            executable=_get(db, p, "executable", str, check=bool),
            project_dir=_get(db, p, "project_dir", str, check=bool),
            schema=validate_identifier(_get(db, p, "schema", str), "trials.dbt.schema"),
            threads=_get(db, p, "threads", int, check=lambda v: v >= 1),
            timeout_s=_get(db, p, "timeout_s", float, check=lambda v: v > 0),
        ),
    }

# ---- end of warehouse region ---------------------------------------------------------------

# ---- issue 9 region (standardize, outcome) ------------------------------------------------


@dataclass(frozen=True)
class LlmSettings:
    """An OpenAI-compatible chat-completions endpoint (lakeprep.trials.standardize.ChatClient).
    The key is never here: only the names of the variables that may hold it."""
    base_url: str
    model: str
    # Environment variables tried in order; then the same names in the `dotenv` file.
    api_key_env: tuple[str, ...]
    # Relative to the working directory unless absolute; a missing file is not an error.
    dotenv: str
    batch_size: int
    max_names_per_run: int
    max_candidates: int
    requests_per_minute: float
    connect_timeout_s: float
    read_timeout_s: float
    max_attempts: int
    backoff_base_s: float
    backoff_max_s: float
    max_retry_after_s: float
    temperature: float


@dataclass(frozen=True)
class StandardizeSettings:
    enabled: bool
    llm: LlmSettings
    # Offline rule: a name takes the study-derived MeSH id that co-occurs with it in at least
    # this share of the studies listing it (and more often than any other id).
    min_cooccurrence_share: float


@dataclass(frozen=True)
class OutcomeSettings:
    enabled: bool
    model_name: str
    # Fewer closed interventional trials than this (or fewer of either class than
    # min_class_rows) and training is skipped with a report line instead of a meaningless AUC.
    min_train_rows: int
    min_class_rows: int
    # The latest registrations (this share of the labelled trials) form the test set.
    test_fraction: float
    reg_param: float
    elastic_net_param: float
    max_iter: int
    # p_complete at or above this counts as "predicted to complete" in the confusion matrix.
    threshold: float
    # Models go to <lake>/<models_dir>/<model_name>/<run_id>.
    models_dir: str


def _parse_llm(st: Mapping[str, Any]) -> LlmSettings:
    llm = _section(st, "llm")
    p = "trials.standardize.llm"
    settings = LlmSettings(
        base_url=_get(llm, p, "base_url", str,
                      check=lambda v: re.match(r"^https?://\S+$", v)).rstrip("/"),
        model=_get(llm, p, "model", str, check=bool),
        api_key_env=_get(llm, p, "api_key_env", tuple,
                         check=lambda v: bool(v) and all(re.fullmatch(r"[A-Z_][A-Z0-9_]*", x)
                                                         for x in v)),
        dotenv=_get(llm, p, "dotenv", str),
        batch_size=_get(llm, p, "batch_size", int, check=lambda v: 1 <= v <= 200),
        max_names_per_run=_get(llm, p, "max_names_per_run", int, check=lambda v: v >= 0),
        max_candidates=_get(llm, p, "max_candidates", int, check=lambda v: 1 <= v <= 50),
        requests_per_minute=_get(llm, p, "requests_per_minute", float, check=_positive),
        connect_timeout_s=_get(llm, p, "connect_timeout_s", float, check=_positive),
        read_timeout_s=_get(llm, p, "read_timeout_s", float, check=_positive),
        max_attempts=_get(llm, p, "max_attempts", int, check=lambda v: v >= 1),
        backoff_base_s=_get(llm, p, "backoff_base_s", float, check=lambda v: v >= 0),
        backoff_max_s=_get(llm, p, "backoff_max_s", float, check=lambda v: v >= 0),
        max_retry_after_s=_get(llm, p, "max_retry_after_s", float, check=lambda v: v >= 0),
        temperature=_get(llm, p, "temperature", float, check=lambda v: 0 <= v <= 2),
    )
    if settings.backoff_base_s > settings.backoff_max_s:
        raise ConfigError(f"{p}.backoff_base_s exceeds {p}.backoff_max_s")
    return settings


def _parse_issue9(tr: Mapping[str, Any]) -> dict[str, Any]:
    st = _section(tr, "standardize")
    oc = _section(tr, "outcome")
    p, q = "trials.standardize", "trials.outcome"
    fraction = lambda v: 0 < v < 1  # noqa: E731
    return {
        "standardize": StandardizeSettings(
            enabled=_get(st, p, "enabled", bool), llm=_parse_llm(st),
            min_cooccurrence_share=_get(st, p, "min_cooccurrence_share", float,
                                        check=lambda v: 0 < v <= 1)),
        "outcome": OutcomeSettings(
            enabled=_get(oc, q, "enabled", bool),
            model_name=_get(oc, q, "model_name", str,
                            check=lambda v: re.fullmatch(r"[a-z][a-z0-9_]*", v)),
            min_train_rows=_get(oc, q, "min_train_rows", int, check=lambda v: v >= 2),
            min_class_rows=_get(oc, q, "min_class_rows", int, check=lambda v: v >= 1),
            test_fraction=_get(oc, q, "test_fraction", float, check=fraction),
            reg_param=_get(oc, q, "reg_param", float, check=lambda v: v >= 0),
            elastic_net_param=_get(oc, q, "elastic_net_param", float, check=lambda v: 0 <= v <= 1),
            max_iter=_get(oc, q, "max_iter", int, check=lambda v: v >= 1),
            threshold=_get(oc, q, "threshold", float, check=fraction),
            models_dir=_get(oc, q, "models_dir", str,
                            check=lambda v: re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_./-]*", v)
                            and ".." not in v).strip("/"),
        ),
    }

# ---- end of issue 9 region -----------------------------------------------------------------


@dataclass(frozen=True)
class TrialsSettings:
    api: ApiSettings
    staging: StagingSettings
    incremental: IncrementalSettings
    # Warehouse fields (expectations, cleaning, postgres, dbt).
    expectations: ExpectationSettings
    cleaning: CleaningSettings
    postgres: TrialsPostgresSettings
    dbt: DbtSettings
    # Issue 9: entity standardization and the outcome model.
    standardize: StandardizeSettings
    outcome: OutcomeSettings


def parse_trials(raw: Mapping[str, Any]) -> TrialsSettings:
    """The ``trials:`` section of a parsed config file; raises ConfigError naming the bad key."""
    tr = _section(raw, "trials")
    return TrialsSettings(**_parse_ingestion(tr), **_parse_warehouse(tr), **_parse_issue9(tr))
