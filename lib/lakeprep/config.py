"""Configuration: one YAML file per environment in conf/, loaded into typed, validated settings.

The job reads every threshold from here, so a value lives in exactly one place (the YAML file) and
a typo or a missing key fails at start-up with the key's name instead of deep inside a Spark task.
Only the *names* of secrets are configured; values come from the environment at run time.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from lakeprep.trials.settings import TrialsSettings

# SQL identifiers from configuration end up in DDL and merge statements: only plain lower-case
# names are accepted, so nothing from a config file can inject SQL.
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ConfigError(ValueError):
    """A configuration file is missing a key, has a wrong type or an invalid value."""


@dataclass(frozen=True)
class SparkSettings:
    master: str
    app_name: str
    conf: dict[str, str]
    # Applied on top of conf only when the session's master is local[...]: settings that rely on
    # the tasks running on this machine, in this environment (lakeprep.spark.build_session).
    local_conf: dict[str, str] = field(default_factory=dict)
    # Folder of the driver JVM's class-data-sharing archives (lakeprep.class_archive); "" = none.
    class_archive_dir: str = ""


@dataclass(frozen=True)
class InputSettings:
    text_extensions: tuple[str, ...]
    jsonl_extensions: tuple[str, ...]
    parquet_extensions: tuple[str, ...]
    text_column: str
    id_column: str
    max_document_bytes: int
    # Deletion guard of incremental runs (see conf input.deletion_guard).
    max_deleted_fraction: float
    min_deleted_to_guard: int


@dataclass(frozen=True)
class DecodeSettings:
    max_nul_fraction: float
    min_printable_fraction: float


@dataclass(frozen=True)
class CleanSettings:
    unicode_form: str


@dataclass(frozen=True)
class DocumentFilterSettings:
    min_words: int
    min_mean_word_length: float
    max_mean_word_length: float
    min_alpha_word_fraction: float
    max_symbol_word_ratio: float
    max_duplicate_line_fraction: float
    min_stop_words: int
    stop_word_languages: tuple[str, ...]
    unsegmented_languages: tuple[str, ...]
    unsegmented_chars_per_word: float
    max_bullet_line_fraction: float
    max_ellipsis_line_fraction: float
    max_duplicate_paragraph_fraction: float
    max_duplicate_line_char_fraction: float
    max_duplicate_paragraph_char_fraction: float
    max_top_2gram_char_fraction: float
    max_top_3gram_char_fraction: float
    max_top_4gram_char_fraction: float
    max_duplicate_5gram_char_fraction: float
    max_duplicate_6gram_char_fraction: float
    max_duplicate_7gram_char_fraction: float
    max_duplicate_8gram_char_fraction: float
    max_duplicate_9gram_char_fraction: float
    max_duplicate_10gram_char_fraction: float
    min_terminal_punctuation_line_fraction: float
    max_short_line_fraction: float
    # Reason code of every document rule -> "drop" or "warn" (validated against quality.RULE_REASONS).
    actions: dict[str, str]

    def max_top_ngram_char_fraction(self, n: int) -> float:
        return getattr(self, f"max_top_{n}gram_char_fraction")

    def max_duplicate_ngram_char_fraction(self, n: int) -> float:
        return getattr(self, f"max_duplicate_{n}gram_char_fraction")


@dataclass(frozen=True)
class ChunkingSettings:
    encoding: str
    max_tokens: int


@dataclass(frozen=True)
class ChunkFilterSettings:
    max_non_alnum_ratio: float


@dataclass(frozen=True)
class PiiSettings:
    detectors: tuple[str, ...]
    # Replace detected spans by typed placeholders before tokenization (pii.redact).
    redact: bool


@dataclass(frozen=True)
class EmbeddedPostgresSettings:
    data_dir: str
    port: int


# How the staging write reaches PostgreSQL (postgres.jdbc.writer).
WRITERS = ("copy", "insert")


@dataclass(frozen=True)
class JdbcSettings:
    batchsize: int
    num_partitions: int
    # "copy": COPY through the JDBC driver (the project's CopyWriter jar); "insert": Spark's JDBC
    # writer (batched INSERTs, batchsize rows each). lakeprep.db.load.write_staging.
    writer: str


@dataclass(frozen=True)
class RetrySettings:
    """Bounded retries of PostgreSQL calls on connection-level errors (lakeprep.db.retry)."""
    attempts: int
    base_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class RolesSettings:
    """NOLOGIN group roles for least privilege (lakeprep.db.roles). The defaults are the names
    conf/local.yaml uses, for code that creates a schema without a config file (tests, tools)."""
    loader: str = "lakeprep_loader"
    analyst: str = "lakeprep_analyst"


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    database: str
    user: str
    schema: str
    embedded: EmbeddedPostgresSettings
    jdbc: JdbcSettings
    # ARN of a Secrets Manager secret holding the credentials (lakeprep.db.secrets); "" = none.
    password_secret_arn: str = ""
    # Connection-level retries (postgres.retry in conf/; built in code without it: one attempt).
    retry: RetrySettings = field(default_factory=lambda: RetrySettings(1, 0.0, 0.0))
    # Group roles the schema creation grants to (lakeprep.db.roles); postgres.roles in conf/.
    roles: RolesSettings = field(default_factory=RolesSettings)


@dataclass(frozen=True)
class ReportSettings:
    dir: str


@dataclass(frozen=True)
class S3Settings:
    """Where S3 is and how to address it; never credentials (see lakeprep.s3 for how the
    standard AWS_* variables override these and supply the keys)."""
    # Empty = AWS itself (the SDK derives the endpoint from the region).
    endpoint: str = ""
    # Bucket in the path (http://host/bucket/key) instead of the host name: needed by most
    # S3-compatible servers (MinIO, SeaweedFS, moto, an IP address or localhost endpoint).
    path_style_access: bool = False
    # Empty = let the SDK decide (AWS_REGION / AWS_DEFAULT_REGION, instance metadata).
    region: str = ""


@dataclass(frozen=True)
class MinHashSettings:
    num_perm: int
    bands: int
    rows: int
    ngram: int
    threshold: float
    seed: int
    max_bucket_size: int
    max_iterations: int
    single_task_max_edges: int


@dataclass(frozen=True)
class DedupSettings:
    enabled: bool
    near_duplicates: bool
    minhash: MinHashSettings


@dataclass(frozen=True)
class LanguageSettings:
    # Empty = keep every language (detect and store only); else BCP 47 codes / primary subtags.
    allowed: tuple[str, ...]
    min_confidence: float
    sample_chars: int


@dataclass(frozen=True)
class BoilerplateSettings:
    enabled: bool
    max_line_chars: int


@dataclass(frozen=True)
class OpenLineageSettings:
    """The openlineage-spark listener (scripts/jvm/pom.xml) and where its events go."""
    enabled: bool = False
    # file (JSON lines), http (an OpenLineage backend such as Marquez) or console (driver log).
    transport: str = "file"
    # file: empty = <lake>/_lineage/openlineage.jsonl when the lake is a local path (the file
    # transport writes local files only); a lake on S3 then falls back to console.
    location: str = ""
    # http: the backend's base URL and endpoint path.
    url: str = ""
    endpoint: str = "api/v1/lineage"
    namespace: str = "lakeprep"


@dataclass(frozen=True)
class LineageSettings:
    openlineage: OpenLineageSettings = field(default_factory=OpenLineageSettings)


@dataclass(frozen=True)
class MonitoringSettings:
    """Run metrics pushed to a Prometheus Pushgateway (lakeprep.monitoring)."""
    # Empty = no push; LAKEPREP_PUSHGATEWAY_URL overrides.
    pushgateway_url: str = ""
    timeout_s: float = 5.0


@dataclass(frozen=True)
class Settings:
    spark: SparkSettings
    lake_uri: str
    input: InputSettings
    decode: DecodeSettings
    clean: CleanSettings
    document_filter: DocumentFilterSettings
    chunking: ChunkingSettings
    chunk_filter: ChunkFilterSettings
    pii: PiiSettings
    postgres: PostgresSettings
    report: ReportSettings
    dedup: DedupSettings
    language: LanguageSettings
    boilerplate: BoilerplateSettings
    source_path: str = field(default="")
    s3: S3Settings = field(default_factory=S3Settings)
    # The clinical-trials job's section (lakeprep.trials.settings); None when the file has no
    # `trials:` section, which only the text job may run with.
    trials: TrialsSettings | None = None
    lineage: LineageSettings = field(default_factory=LineageSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)

    def config_hash(self) -> str:
        """Hash of the whole resolved configuration (lineage: which settings produced a run);
        the file's path is not part of it, its content is."""
        blob = json.dumps({k: v for k, v in asdict(self).items() if k != "source_path"},
                          sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def rules_fingerprint(self) -> str:
        """Hash of everything that changes what the pipeline produces from the same input.

        Stored with each processed document so that changing a threshold reprocesses documents
        on the next run instead of silently mixing outputs of two rule sets.
        """
        relevant = {
            "decode": asdict(self.decode),
            "clean": asdict(self.clean),
            "document_filter": asdict(self.document_filter),
            "chunking": asdict(self.chunking),
            "chunk_filter": asdict(self.chunk_filter),
            "pii": asdict(self.pii),
            "language": asdict(self.language),
            "boilerplate": asdict(self.boilerplate),
            "max_document_bytes": self.input.max_document_bytes,
        }
        blob = json.dumps(relevant, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _section(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    if not isinstance(value, Mapping):
        raise ConfigError(f"missing section '{key}'")
    return value


def _get(section: Mapping[str, Any], path: str, key: str, kind: type, *, check=None) -> Any:
    if key not in section:
        raise ConfigError(f"missing key '{path}.{key}'")
    value = section[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"'{path}.{key}' must be a list of strings, got {value!r}")
        value = tuple(value)
    elif not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"'{path}.{key}' must be {kind.__name__}, got {value!r}")
    if check is not None and not check(value):
        raise ConfigError(f"'{path}.{key}' has an invalid value {value!r}")
    return value


def _fraction(v: float) -> bool:
    return 0.0 <= v <= 1.0


def _positive(v: float) -> bool:
    return v > 0


def validate_identifier(name: str, what: str = "identifier") -> str:
    """Return ``name`` if it is a safe SQL identifier, else raise ConfigError."""
    if not _IDENTIFIER.match(name):
        raise ConfigError(f"{what} {name!r} is not a plain lower-case SQL identifier")
    return name


def _parse_dedup(raw: Mapping[str, Any]) -> DedupSettings:
    dd = _section(raw, "dedup")
    mh = _section(dd, "minhash")
    p = "dedup.minhash"
    minhash = MinHashSettings(
        num_perm=_get(mh, p, "num_perm", int, check=_positive),
        bands=_get(mh, p, "bands", int, check=_positive),
        rows=_get(mh, p, "rows", int, check=_positive),
        ngram=_get(mh, p, "ngram", int, check=_positive),
        threshold=_get(mh, p, "threshold", float, check=lambda v: 0.0 < v <= 1.0),
        seed=_get(mh, p, "seed", int, check=lambda v: v >= 0),
        max_bucket_size=_get(mh, p, "max_bucket_size", int, check=lambda v: v >= 2),
        max_iterations=_get(mh, p, "max_iterations", int, check=_positive),
        single_task_max_edges=_get(mh, p, "single_task_max_edges", int,
                                   check=lambda v: v >= 0),
    )
    # The bands are cut from the signature; extra permutations only sharpen the verification.
    if minhash.bands * minhash.rows > minhash.num_perm:
        raise ConfigError(f"{p}: bands x rows ({minhash.bands} x {minhash.rows}) exceeds "
                          f"num_perm ({minhash.num_perm})")
    return DedupSettings(
        enabled=_get(dd, "dedup", "enabled", bool),
        near_duplicates=_get(dd, "dedup", "near_duplicates", bool),
        minhash=minhash,
    )


def _document_actions(df: Mapping[str, Any]) -> dict[str, str]:
    """document_filter.actions: every document rule named exactly once, each "drop" or "warn".

    Complete on purpose: a new rule must get a conscious action in conf, and a misspelt rule
    name fails here instead of silently leaving the rule at a default.
    """
    # Local import: quality imports this module for DocumentFilterSettings.
    from lakeprep.text.quality import ACTIONS, RULE_REASONS

    actions = df.get("actions")
    if not isinstance(actions, Mapping):
        raise ConfigError("'document_filter.actions' must be a mapping of rule -> drop|warn")
    unknown = sorted(set(actions) - set(RULE_REASONS))
    missing = [r for r in RULE_REASONS if r not in actions]
    if unknown or missing:
        raise ConfigError(f"document_filter.actions: unknown rules {unknown}, missing rules {missing}")
    bad = {k: v for k, v in actions.items() if v not in ACTIONS}
    if bad:
        raise ConfigError(f"document_filter.actions: actions must be one of {list(ACTIONS)}, got {bad}")
    return {r: actions[r] for r in RULE_REASONS}


def _parse_language(raw: Mapping[str, Any]) -> LanguageSettings:
    lg = _section(raw, "language")
    allowed = tuple(_get(lg, "language", "allowed", tuple))
    # Tags as CLD2 reports them ("en", "zh", "zh-Hant", "und"); a typo such as "english" or
    # "en_US" would silently reject every document, so the shape is checked here.
    bad = [a for a in allowed if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", a)]
    if bad:
        raise ConfigError(f"language.allowed: not BCP 47 language tags: {bad}")
    return LanguageSettings(
        allowed=allowed,
        min_confidence=_get(lg, "language", "min_confidence", float, check=_fraction),
        sample_chars=_get(lg, "language", "sample_chars", int, check=lambda v: v >= 256),
    )


def _parse_s3(raw: Mapping[str, Any]) -> S3Settings:
    # Optional section: a config without S3 inputs or lake needs none of it. When present, an
    # unknown key is an error, so a misspelt "path_style" cannot silently fall back to False.
    if "s3" not in raw or raw["s3"] is None:
        return S3Settings()
    s3 = _section(raw, "s3")
    known = {"endpoint", "path_style_access", "region"}
    unknown = sorted(set(s3) - known)
    if unknown:
        raise ConfigError(f"s3: unknown keys {unknown}; known: {sorted(known)}")
    endpoint = s3.get("endpoint", "")
    if not isinstance(endpoint, str) or (endpoint and not re.match(r"^https?://[^/\s]+/?$", endpoint)):
        raise ConfigError(f"'s3.endpoint' must be empty or an http(s)://host[:port] URL, got {endpoint!r}")
    path_style = s3.get("path_style_access", False)
    if not isinstance(path_style, bool):
        raise ConfigError(f"'s3.path_style_access' must be bool, got {path_style!r}")
    region = s3.get("region", "")
    if not isinstance(region, str):
        raise ConfigError(f"'s3.region' must be str, got {region!r}")
    return S3Settings(endpoint=endpoint.rstrip("/"), path_style_access=path_style, region=region)


def _known_keys(section: Mapping[str, Any], path: str, known: set[str]) -> None:
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown keys {unknown}; known: {sorted(known)}")


def _parse_lineage(raw: Mapping[str, Any]) -> LineageSettings:
    # Optional section (configs older than lineage get the listener off).
    if raw.get("lineage") is None:
        return LineageSettings()
    li = _section(raw, "lineage")
    _known_keys(li, "lineage", {"openlineage"})
    ol = _section(li, "openlineage")
    p = "lineage.openlineage"
    _known_keys(ol, p, {"enabled", "transport", "location", "url", "endpoint", "namespace"})
    settings = OpenLineageSettings(
        enabled=_get(ol, p, "enabled", bool),
        transport=_get(ol, p, "transport", str, check=lambda v: v in ("file", "http", "console")),
        location=ol.get("location", "") or "",
        url=ol.get("url", "") or "",
        endpoint=_get(ol, p, "endpoint", str) if "endpoint" in ol else "api/v1/lineage",
        namespace=_get(ol, p, "namespace", str),
    )
    if settings.enabled and settings.transport == "http" and not settings.url:
        raise ConfigError(f"{p}.url is required with transport http")
    return LineageSettings(openlineage=settings)


def _parse_monitoring(raw: Mapping[str, Any]) -> MonitoringSettings:
    if raw.get("monitoring") is None:
        return MonitoringSettings()
    mo = _section(raw, "monitoring")
    _known_keys(mo, "monitoring", {"pushgateway_url", "timeout_s"})
    url = mo.get("pushgateway_url", "") or ""
    if not isinstance(url, str) or (url and not re.match(r"^https?://[^\s]+$", url)):
        raise ConfigError(f"'monitoring.pushgateway_url' must be empty or an http(s) URL, "
                          f"got {url!r}")
    return MonitoringSettings(pushgateway_url=url.rstrip("/"),
                              timeout_s=_get(mo, "monitoring", "timeout_s", float,
                                             check=_positive))


def _parse_boilerplate(raw: Mapping[str, Any]) -> BoilerplateSettings:
    bp = _section(raw, "boilerplate")
    return BoilerplateSettings(
        enabled=_get(bp, "boilerplate", "enabled", bool),
        max_line_chars=_get(bp, "boilerplate", "max_line_chars", int, check=_positive),
    )


def _parse_pg_roles(pg: Mapping[str, Any]) -> RolesSettings:
    # Optional: configs written before roles existed get the default names. Role names end up in
    # CREATE ROLE and GRANT statements, so they are validated like every other identifier.
    if "roles" not in pg:
        return RolesSettings()
    rs = _section(pg, "roles")
    roles = RolesSettings(
        loader=validate_identifier(_get(rs, "postgres.roles", "loader", str),
                                   "postgres.roles.loader"),
        analyst=validate_identifier(_get(rs, "postgres.roles", "analyst", str),
                                    "postgres.roles.analyst"),
    )
    if roles.loader == roles.analyst:
        raise ConfigError("postgres.roles: loader and analyst must be different roles")
    return roles


def parse_settings(raw: Mapping[str, Any], source_path: str = "") -> Settings:
    """Validate a parsed YAML mapping into Settings; raises ConfigError naming the bad key."""
    from lakeprep.text.pii import DETECTORS  # local import: pii imports nothing from here

    sp = _section(raw, "spark")
    spark = SparkSettings(
        master=_get(sp, "spark", "master", str),
        app_name=_get(sp, "spark", "app_name", str),
        conf={str(k): str(v) for k, v in (sp.get("conf") or {}).items()},
        local_conf={str(k): str(v) for k, v in (sp.get("local_conf") or {}).items()},
        class_archive_dir=str(sp.get("class_archive_dir") or ""),
    )
    lake_uri = _get(_section(raw, "lake"), "lake", "uri", str)

    ip = _section(raw, "input")
    inp = InputSettings(
        text_extensions=_get(ip, "input", "text_extensions", tuple),
        jsonl_extensions=_get(ip, "input", "jsonl_extensions", tuple),
        parquet_extensions=_get(ip, "input", "parquet_extensions", tuple),
        text_column=_get(ip, "input", "text_column", str),
        id_column=_get(ip, "input", "id_column", str),
        max_document_bytes=_get(ip, "input", "max_document_bytes", int, check=_positive),
        max_deleted_fraction=_get(_section(ip, "deletion_guard"), "input.deletion_guard",
                                  "max_fraction", float, check=_fraction),
        min_deleted_to_guard=_get(_section(ip, "deletion_guard"), "input.deletion_guard",
                                  "min_documents", int, check=_positive),
    )
    dc = _section(raw, "decode")
    decode = DecodeSettings(
        max_nul_fraction=_get(dc, "decode", "max_nul_fraction", float, check=_fraction),
        min_printable_fraction=_get(dc, "decode", "min_printable_fraction", float, check=_fraction),
    )
    cl = _section(raw, "clean")
    clean = CleanSettings(
        unicode_form=_get(cl, "clean", "unicode_form", str,
                          check=lambda v: v in ("NFC", "NFKC", "NFD", "NFKD")),
    )
    df = _section(raw, "document_filter")
    doc_filter = DocumentFilterSettings(
        min_words=_get(df, "document_filter", "min_words", int, check=lambda v: v >= 0),
        min_mean_word_length=_get(df, "document_filter", "min_mean_word_length", float),
        max_mean_word_length=_get(df, "document_filter", "max_mean_word_length", float),
        min_alpha_word_fraction=_get(df, "document_filter", "min_alpha_word_fraction", float,
                                     check=_fraction),
        max_symbol_word_ratio=_get(df, "document_filter", "max_symbol_word_ratio", float,
                                   check=lambda v: v >= 0),
        max_duplicate_line_fraction=_get(df, "document_filter", "max_duplicate_line_fraction",
                                         float, check=_fraction),
        min_stop_words=_get(df, "document_filter", "min_stop_words", int, check=lambda v: v >= 0),
        stop_word_languages=tuple(v.lower() for v in _get(df, "document_filter",
                                                          "stop_word_languages", tuple)),
        unsegmented_languages=tuple(v.lower() for v in _get(df, "document_filter",
                                                            "unsegmented_languages", tuple)),
        unsegmented_chars_per_word=_get(df, "document_filter", "unsegmented_chars_per_word",
                                        float, check=_positive),
        **{key: _get(df, "document_filter", key, float, check=_fraction) for key in (
            "max_bullet_line_fraction", "max_ellipsis_line_fraction",
            "max_duplicate_paragraph_fraction", "max_duplicate_line_char_fraction",
            "max_duplicate_paragraph_char_fraction",
            *(f"max_top_{n}gram_char_fraction" for n in (2, 3, 4)),
            *(f"max_duplicate_{n}gram_char_fraction" for n in range(5, 11)),
            "min_terminal_punctuation_line_fraction", "max_short_line_fraction")},
        actions=_document_actions(df),
    )
    if doc_filter.min_mean_word_length > doc_filter.max_mean_word_length:
        raise ConfigError("document_filter.min_mean_word_length exceeds max_mean_word_length")
    ch = _section(raw, "chunking")
    chunking = ChunkingSettings(
        encoding=_get(ch, "chunking", "encoding", str),
        max_tokens=_get(ch, "chunking", "max_tokens", int, check=lambda v: v >= 16),
    )
    cf = _section(raw, "chunk_filter")
    chunk_filter = ChunkFilterSettings(
        max_non_alnum_ratio=_get(cf, "chunk_filter", "max_non_alnum_ratio", float, check=_fraction),
    )
    pi = _section(raw, "pii")
    detectors = _get(pi, "pii", "detectors", tuple)
    unknown = sorted(set(detectors) - set(DETECTORS))
    if unknown:
        raise ConfigError(f"pii.detectors: unknown {unknown}; known: {sorted(DETECTORS)}")
    pii = PiiSettings(detectors=detectors, redact=_get(pi, "pii", "redact", bool))

    pg = _section(raw, "postgres")
    emb = _section(pg, "embedded")
    jd = _section(pg, "jdbc")
    postgres = PostgresSettings(
        host=_get(pg, "postgres", "host", str),
        port=_get(pg, "postgres", "port", int, check=_positive),
        database=_get(pg, "postgres", "database", str),
        user=_get(pg, "postgres", "user", str),
        schema=validate_identifier(_get(pg, "postgres", "schema", str), "postgres.schema"),
        embedded=EmbeddedPostgresSettings(
            data_dir=_get(emb, "postgres.embedded", "data_dir", str),
            port=_get(emb, "postgres.embedded", "port", int, check=_positive),
        ),
        jdbc=JdbcSettings(
            batchsize=_get(jd, "postgres.jdbc", "batchsize", int, check=_positive),
            num_partitions=_get(jd, "postgres.jdbc", "num_partitions", int, check=_positive),
            writer=_get(jd, "postgres.jdbc", "writer", str, check=lambda v: v in WRITERS),
        ),
        # Optional: configs written before secrets existed have no such key.
        password_secret_arn=_get(pg, "postgres", "password_secret_arn", str)
        if "password_secret_arn" in pg else "",
        retry=_parse_pg_retry(pg),
        roles=_parse_pg_roles(pg),
    )
    report = ReportSettings(dir=_get(_section(raw, "report"), "report", "dir", str))
    return Settings(spark=spark, lake_uri=lake_uri, input=inp, decode=decode, clean=clean,
                    document_filter=doc_filter, chunking=chunking, chunk_filter=chunk_filter,
                    pii=pii, postgres=postgres, report=report, dedup=_parse_dedup(raw),
                    language=_parse_language(raw), boilerplate=_parse_boilerplate(raw),
                    source_path=source_path, s3=_parse_s3(raw), trials=_parse_trials(raw),
                    lineage=_parse_lineage(raw), monitoring=_parse_monitoring(raw))


def _parse_pg_retry(pg: Mapping[str, Any]) -> RetrySettings:
    rt = _section(pg, "retry")
    p = "postgres.retry"
    retry = RetrySettings(
        attempts=_get(rt, p, "attempts", int, check=lambda v: v >= 1),
        base_seconds=_get(rt, p, "base_seconds", float, check=lambda v: v >= 0),
        max_seconds=_get(rt, p, "max_seconds", float, check=lambda v: v >= 0),
    )
    if retry.max_seconds < retry.base_seconds:
        raise ConfigError(f"{p}.max_seconds is below base_seconds")
    return retry


def _parse_trials(raw: Mapping[str, Any]):
    if raw.get("trials") is None:
        return None
    # Local import: lakeprep.trials.settings builds on this module's helpers.
    from lakeprep.trials.settings import parse_trials
    return parse_trials(raw)


def default_config_path() -> Path:
    """conf/local.yaml of the checkout (or of the working directory when installed)."""
    here = Path(__file__).resolve().parents[2] / "conf" / "local.yaml"
    return here if here.exists() else Path.cwd() / "conf" / "local.yaml"


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(p: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Parse ``p``; an ``extends: other.yaml`` key (relative to ``p``) is loaded first and
    overridden key by key, so environment files hold only what differs and every threshold is
    written once (in local.yaml)."""
    if not p.exists():
        raise ConfigError(f"config file not found: {p}")
    if p.resolve() in seen:
        raise ConfigError(f"config files extend each other in a loop: {p}")
    with p.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{p}: top level must be a mapping")
    raw = dict(raw)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    return _deep_merge(_read_yaml(p.parent / str(parent), seen + (p.resolve(),)), raw)


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Read and validate a YAML config file (default conf/local.yaml)."""
    p = Path(path) if path else default_config_path()
    return parse_settings(_read_yaml(p), source_path=str(p))
