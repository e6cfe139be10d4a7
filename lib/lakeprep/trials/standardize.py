"""Condition-name standardization (issue 9): a canonical name and a MeSH id per distinct name,
by an LLM when a key is configured, by deterministic offline rules otherwise.

Where it sits: stage ``standardize`` of the clinical-trials job (lakeprep.trials.pipeline),
after ``write_silver`` and before the PostgreSQL load. It reads this run's silver conditions and
the lake's silver ``condition_mesh`` (every MeSH entry the registry derived), and returns the
conditions with ``canonical_name`` / ``standardization_method`` added and ``mesh_id`` filled where
the registry's own match (silver ``_match_mesh``) found none; raw names stay as they were.

The unit of work is a *distinct normalized name* (:func:`normalize_name`), never a row:

* Vocabulary: every (mesh_id, term) the registry derived for conditions, kept as the Delta table
  ``silver/ctgov_mesh_vocabulary``. An id outside it is not accepted from anyone.
* Candidates of a name: the derived MeSH ids of the studies that list it, ranked by how many of
  them do (top ``max_candidates``).
* Offline (:func:`offline_decision`, a Spark UDF, nothing collected): a name whose word-set key
  (:func:`term_keys`: case, possessives, plurals, inversion, cancer = neoplasm) equals a
  vocabulary term's takes that term (``term_match``); else the candidate co-occurring in at least
  ``min_cooccurrence_share`` of its studies (``registry_cooccurrence``); else no id (``no_match``).
* LLM (:class:`ChatClient`, OpenAI chat-completions protocol): only names not yet in the cache
  for that model, at most ``max_names_per_run`` per run (the bound of what reaches the driver:
  one short string and <= max_candidates ids each), in batches of ``batch_size``, rate-limited,
  retried with backoff. An answer is accepted only if it is structured JSON naming an id of the
  name's candidates or of the vocabulary (:func:`parse_answer`); otherwise the offline decision is
  used and the reason recorded. Failures of the transport (HTTP 429/5xx, timeouts, invalid JSON
  after all attempts) are marked ``retry_llm`` so the next run asks again; a rejected answer is
  not asked again (it was paid for).
* Cache: Delta ``silver/ctgov_condition_standardization`` keyed by ``<requested>|<normalized
  name>`` (requested = ``offline`` or ``llm:<model>``), MERGEd so a rerun changes nothing; loaded
  to PostgreSQL ``condition_standardization`` by lakeprep.trials.warehouse.

The API key comes from the environment or the git-ignored ``.env`` (:func:`resolve_api_key`);
it is sent in the Authorization header and nowhere else: not logged, not in the report, not in
any table.
"""
from __future__ import annotations

import html
import json
import logging
import os
import random
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests

log = logging.getLogger("lakeprep.trials.standardize")

METHOD_LLM, METHOD_OFFLINE = "llm", "offline"
RULE_TERM, RULE_COOCCURRENCE, RULE_NONE = "term_match", "registry_cooccurrence", "no_match"
MESH_ID = re.compile(r"^[DC](\d{6}|\d{9})$")
# Longest canonical name accepted from a model: MeSH headings are far shorter; anything longer
# is an explanation, not a name.
MAX_CANONICAL_CHARS = 200

# ---- normalization (pure Python; the same functions run as Spark UDFs) ----------------------

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_WS = re.compile(r"\s+")


def normalize_name(name: str | None) -> str | None:
    """The cache key of a name: NFKC, HTML entities decoded, lower case, one space, trimmed.
    Two spellings that differ only in case or spacing are one name and are paid for once."""
    if name is None:
        return None
    text = unicodedata.normalize("NFKC", html.unescape(name)).translate(_QUOTES)
    text = _WS.sub(" ", text).strip().lower()
    return text or None


# Word-level synonyms generic to disease names (not tuned to any fixture): MeSH files cancers
# under "Neoplasms", carcinomas under "Carcinoma", and spells tumour the US way.
_SYNONYMS = {"cancer": ("neoplasm", "carcinoma"), "tumor": ("neoplasm",), "tumour": ("neoplasm",),
             "carcinoma": ("neoplasm",)}
# Words that carry no meaning in a condition name ("Cancer of the Breast").
_STOP = {"of", "the", "a", "an"}
_KEEP_S = ("ss", "us", "is", "ous")


def _stem(word: str) -> str:
    # Plurals and possessive s without apostrophe ("Crohns", "Neoplasms", "Disorders").
    if len(word) > 3 and word.endswith("s") and not word.endswith(_KEEP_S):
        return word[:-1]
    return word


def _words(name: str) -> list[str]:
    text = normalize_name(name) or ""
    text = re.sub(r"'s\b", "", text)                      # Alzheimer's -> Alzheimer
    text = re.sub(r"([a-z])(\d)", r"\1 \2", text)         # Type2 -> Type 2
    words = [_stem(w) for w in re.findall(r"[a-z0-9]+", text) if w not in _STOP]
    # "Diabetes" alone means diabetes mellitus (MeSH's other heading, insipidus, is always named).
    if "diabete" in words and not {"mellitus", "insipidus"} & set(words):
        words.append("mellitus")
    return words


def term_keys(name: str | None, max_variants: int = 8) -> list[str]:
    """Order-free keys of a name or a MeSH term: sorted word sets, one per synonym variant.

    Sorting the words makes MeSH's inverted headings ("Diabetes Mellitus, Type 2") and free
    text ("Type 2 Diabetes Mellitus") meet; variants substitute the synonyms above."""
    if not name:
        return []
    variants = [_words(name)]
    for i, word in enumerate(variants[0]):
        for alt in _SYNONYMS.get(word, ()):
            variants += [v[:i] + [alt] + v[i + 1:] for v in list(variants)]
            if len(variants) >= max_variants:
                break
    keys = []
    for v in variants[:max_variants]:
        key = " ".join(sorted(set(v)))
        if key and key not in keys:
            keys.append(key)
    return keys


def tidy_name(name: str) -> str:
    """A readable canonical name when no MeSH concept fits: the cleaned name, one space."""
    return _WS.sub(" ", html.unescape(name)).strip()


@dataclass(frozen=True)
class Decision:
    canonical_name: str
    mesh_id: str | None
    rule: str


def offline_decision(name: str, n_studies: int, candidates: Iterable, term_matches: Iterable,
                     min_share: float) -> Decision:
    """The offline standardizer for one name.

    ``candidates``: (mesh_id, term, n) of the name's studies, most frequent first;
    ``term_matches``: (mesh_id, term) vocabulary entries sharing a :func:`term_keys` key."""
    cands = [(c[0], c[1], int(c[2])) for c in candidates or []]
    cand_ids = {c[0] for c in cands}
    matches = sorted({(m[0], m[1]) for m in term_matches or []},
                     key=lambda m: (m[0] not in cand_ids, m[0]))
    if matches:
        # One match, or one the name's own studies derived while the others are not: unambiguous.
        if len(matches) == 1 or (matches[0][0] in cand_ids and matches[1][0] not in cand_ids):
            return Decision(matches[0][1], matches[0][0], RULE_TERM)
    if cands and n_studies > 0:
        top = cands[0]
        runner_up = cands[1][2] if len(cands) > 1 else 0
        if top[2] / n_studies >= min_share and top[2] > runner_up:
            return Decision(top[1], top[0], RULE_COOCCURRENCE)
    return Decision(tidy_name(name), None, RULE_NONE)


# ---- the API key -------------------------------------------------------------------------------

def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (``export`` prefix, quotes and comments allowed)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[key.strip()] = value
    return values


def resolve_api_key(llm, env: dict | None = None, cwd: Path | None = None) -> tuple[str | None, str | None]:
    """(key, where it came from) for ``llm`` (LlmSettings): the first variable of
    ``llm.api_key_env`` set in the environment, else in the dotenv file; (None, None) when none.
    The second value names the variable (never the key) for the log."""
    env = os.environ if env is None else env
    for name in llm.api_key_env:
        if env.get(name, "").strip():
            return env[name].strip(), f"${name}"
    if llm.dotenv:
        path = Path(llm.dotenv)
        if not path.is_absolute():
            path = (cwd or Path.cwd()) / path
        values = read_dotenv(path)
        for name in llm.api_key_env:
            if values.get(name, "").strip():
                return values[name].strip(), f"{llm.dotenv}:{name}"
    return None, None


# ---- the chat-completions client ---------------------------------------------------------------

class LlmError(Exception):
    """One request failed for good. ``reason`` is the recorded fallback reason; ``retryable``
    says whether the next run should ask again; ``fatal`` stops asking for the rest of the run
    (a wrong key or URL fails every request the same way)."""

    def __init__(self, reason: str, detail: str, retryable: bool = True, fatal: bool = False):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.retryable, self.fatal = reason, retryable, fatal


SYSTEM_PROMPT = (
    "You standardize condition (disease) names from clinical-trial registrations to MeSH. For "
    "each item give the preferred MeSH heading as canonical_name and its MeSH unique ID as "
    "mesh_id (a D or C followed by digits). Prefer one of the item's candidates when one fits; "
    "use null for mesh_id when no MeSH concept fits. Answer with JSON only, exactly: "
    '{"results": [{"id": <item id>, "canonical_name": <string>, "mesh_id": <string or null>}]}')


def build_messages(batch: list[dict]) -> list[dict]:
    """``batch``: [{"id", "name", "candidates": [{"mesh_id", "term"}]}]."""
    return [{"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": json.dumps({"names": batch}, ensure_ascii=False)}]


class ChatClient:
    """POST ``<base_url>/chat/completions`` with retries, backoff, Retry-After, timeouts and a
    request rate limit, all from ``trials.standardize.llm``. The key lives only in the session's
    Authorization header; ``repr`` and errors never show it."""

    def __init__(self, llm, api_key: str, base_url: str | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None):
        self.settings = llm
        self.base_url = (base_url or llm.base_url).rstrip("/")
        self.model = llm.model
        self._session = requests.Session()
        self._session.headers.update({"Authorization": f"Bearer {api_key}",
                                      "Content-Type": "application/json"})
        self._sleep, self._rng = sleep, rng or random.Random()
        self._last_request = 0.0
        self.stats = {"requests": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0}

    def __repr__(self) -> str:
        return f"ChatClient(base_url={self.base_url!r}, model={self.model!r})"

    def close(self) -> None:
        self._session.close()

    def _throttle(self) -> None:
        gap = 60.0 / self.settings.requests_per_minute - (time.monotonic() - self._last_request)
        if gap > 0:
            self._sleep(gap)
        self._last_request = time.monotonic()

    def _backoff(self, attempt: int) -> float:
        base = min(self.settings.backoff_max_s, self.settings.backoff_base_s * 2 ** (attempt - 1))
        return base * (1 + 0.25 * self._rng.random())

    def complete(self, messages: list[dict]) -> str:
        """The assistant message's content, valid JSON (parsed by the caller). Raises LlmError."""
        s = self.settings
        body = {"model": self.model, "messages": messages, "temperature": s.temperature,
                "response_format": {"type": "json_object"}}
        last: LlmError | None = None
        for attempt in range(1, s.max_attempts + 1):
            if attempt > 1:
                self.stats["retries"] += 1
            self._throttle()
            self.stats["requests"] += 1
            wait = None
            try:
                resp = self._session.post(f"{self.base_url}/chat/completions", json=body,
                                          timeout=(s.connect_timeout_s, s.read_timeout_s))
            except requests.Timeout:
                last = LlmError("llm_timeout", f"no answer within {s.read_timeout_s:g} s")
            except requests.ConnectionError as exc:
                last = LlmError("llm_connection_error", type(exc).__name__)
            else:
                if resp.status_code == 200:
                    try:
                        content = self._content(resp)
                        json.loads(content)
                        return content
                    except LlmError as exc:
                        last = exc
                    except ValueError:
                        last = LlmError("llm_invalid_json", "the answer is not JSON")
                elif resp.status_code == 429 or resp.status_code >= 500:
                    last = LlmError(f"llm_http_{resp.status_code}", _error_message(resp))
                    wait = _retry_after(resp)
                    if wait is not None and wait > s.max_retry_after_s:
                        raise LlmError(f"llm_http_{resp.status_code}",
                                       f"Retry-After {wait:g} s exceeds {s.max_retry_after_s:g} s")
                else:
                    # 400/401/403/404: the request or the credentials are wrong; asking again
                    # (this batch or the next) cannot help.
                    raise LlmError(f"llm_http_{resp.status_code}", _error_message(resp),
                                   retryable=True, fatal=True)
            if attempt < s.max_attempts:
                delay = wait if wait is not None else self._backoff(attempt)
                log.info("llm: %s (attempt %d of %d), retrying in %.1f s", last, attempt,
                         s.max_attempts, delay)
                self._sleep(delay)
        assert last is not None
        raise LlmError(last.reason, f"{last} after {s.max_attempts} attempts", last.retryable)

    def _content(self, resp: requests.Response) -> str:
        try:
            payload = resp.json()
            content = payload["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LlmError("llm_bad_response", "the body is not a chat completion") from None
        usage = payload.get("usage") or {}
        for k in ("prompt_tokens", "completion_tokens"):
            if isinstance(usage.get(k), int):
                self.stats[k] += usage[k]
        if not isinstance(content, str):
            raise LlmError("llm_bad_response", "the message has no text content")
        return content


def _retry_after(resp: requests.Response) -> float | None:
    try:
        return max(0.0, float(resp.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _error_message(resp: requests.Response) -> str:
    try:
        msg = resp.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        msg = resp.reason or ""
    return f"HTTP {resp.status_code} {str(msg)[:120]}"


# ---- validating an answer ----------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    canonical_name: str | None
    mesh_id: str | None
    # None when accepted, else the reason the offline decision is used instead.
    rejected: str | None


def parse_answer(content: str, batch: list[dict], vocabulary: Callable[[set[str]], dict[str, str]]
                 ) -> dict[int, Answer]:
    """Validate one batch's answer: {item id: Answer} for every item of ``batch``.

    ``vocabulary(ids)`` returns {mesh_id: term} for those of ``ids`` the registry knows. An
    accepted id takes its vocabulary term as canonical name (the MeSH heading, whatever the
    model spelled). Raises LlmError("llm_invalid_json") when the answer is not the asked shape."""
    try:
        payload = json.loads(content)
        results = payload["results"]
        if not isinstance(results, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise LlmError("llm_invalid_json", "the answer is not {\"results\": [...]}") from None
    by_id: dict[int, dict] = {}
    for r in results:
        if isinstance(r, dict) and isinstance(r.get("id"), int) and r["id"] not in by_id:
            by_id[r["id"]] = r
    wanted: set[str] = set()
    for item in batch:
        mid = (by_id.get(item["id"]) or {}).get("mesh_id")
        if isinstance(mid, str):
            wanted.add(mid.strip().upper())
    known = vocabulary(wanted) if wanted else {}
    out: dict[int, Answer] = {}
    for item in batch:
        r = by_id.get(item["id"])
        if r is None:
            out[item["id"]] = Answer(None, None, "llm_missing_answer")
            continue
        name, mid = r.get("canonical_name"), r.get("mesh_id")
        if mid is not None and not isinstance(mid, str):
            out[item["id"]] = Answer(None, None, "llm_invalid_mesh_id")
            continue
        mid = mid.strip().upper().removeprefix("MESH:") if mid else None
        if mid is not None and not MESH_ID.match(mid):
            out[item["id"]] = Answer(None, None, "llm_invalid_mesh_id")
            continue
        candidates = {c["mesh_id"]: c["term"] for c in item.get("candidates", [])}
        if mid is not None:
            term = candidates.get(mid) or known.get(mid)
            if term is None:
                out[item["id"]] = Answer(None, None, "llm_mesh_id_not_in_vocabulary")
                continue
            out[item["id"]] = Answer(term, mid, None)
            continue
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_CANONICAL_CHARS:
            out[item["id"]] = Answer(None, None, "llm_invalid_canonical_name")
            continue
        out[item["id"]] = Answer(tidy_name(name), None, None)
    return out


@dataclass
class Entry:
    """One cache row (the Delta table's columns, minus created_at and run_id)."""
    normalized_name: str
    raw_name: str
    canonical_name: str
    mesh_id: str | None
    method: str
    model: str | None
    requested: str
    rule: str
    fallback_reason: str | None = None
    retry_llm: bool = False


@dataclass
class LlmRun:
    """What the LLM step did in one run, for the report."""
    names_asked: int = 0
    batches: int = 0
    accepted: int = 0
    fallbacks: dict[str, int] = field(default_factory=dict)
    stopped_early: str | None = None


def standardize_with_llm(items: list[dict], client: ChatClient, batch_size: int,
                         vocabulary: Callable[[set[str]], dict[str, str]]) -> tuple[list[Entry], LlmRun]:
    """Ask the model about ``items`` (each: normalized_name, raw_name, candidates [(mesh_id,
    term, n)], and the offline decision: off_name, off_mesh_id, off_rule), batch by batch.
    Every item gets an Entry: the validated answer, or the offline decision with the reason."""
    requested = f"{METHOD_LLM}:{client.model}"
    entries: list[Entry] = []
    stats = LlmRun(names_asked=len(items))
    n_batches = -(-len(items) // batch_size) if items else 0
    fatal: LlmError | None = None

    def fallback(item: dict, reason: str, retry: bool) -> Entry:
        stats.fallbacks[reason] = stats.fallbacks.get(reason, 0) + 1
        return Entry(item["normalized_name"], item["raw_name"], item["off_name"],
                     item["off_mesh_id"], METHOD_OFFLINE, client.model, requested,
                     item["off_rule"], reason, retry)

    for b in range(n_batches):
        chunk = items[b * batch_size:(b + 1) * batch_size]
        if fatal is not None:
            entries += [fallback(it, fatal.reason, True) for it in chunk]
            continue
        batch = [{"id": i, "name": it["raw_name"],
                  "candidates": [{"mesh_id": c[0], "term": c[1]} for c in it["candidates"]]}
                 for i, it in enumerate(chunk)]
        stats.batches += 1
        try:
            answers = parse_answer(client.complete(build_messages(batch)), batch, vocabulary)
        except LlmError as exc:
            log.warning("llm: batch %d of %d falls back to the offline standardizer (%s)",
                        b + 1, n_batches, exc.reason)
            if exc.fatal:
                fatal = exc
                stats.stopped_early = exc.reason
            entries += [fallback(it, exc.reason, exc.retryable) for it in chunk]
            continue
        for i, it in enumerate(chunk):
            a = answers[i]
            if a.rejected:
                entries.append(fallback(it, a.rejected, False))
            else:
                stats.accepted += 1
                entries.append(Entry(it["normalized_name"], it["raw_name"], a.canonical_name,
                                     a.mesh_id, METHOD_LLM, client.model, requested, METHOD_LLM))
        log.info("llm: batch %d of %d done (%d names accepted so far, fallbacks %s)", b + 1,
                 n_batches, stats.accepted, stats.fallbacks)
    return entries, stats


# ---- Spark: the stage ---------------------------------------------------------------------------

CACHE_COLUMNS = ("cache_key", "normalized_name", "raw_name", "canonical_name", "mesh_id", "method",
                 "model", "requested", "rule", "fallback_reason", "retry_llm", "created_at",
                 "run_id")
# A row is "changed" only when what it says changes: a rerun keeps created_at and run_id.
CACHE_COMPARED = ["canonical_name", "mesh_id", "method", "model", "rule", "fallback_reason",
                  "retry_llm"]
_ENTRY_SCHEMA = ("normalized_name string, raw_name string, canonical_name string, mesh_id string, "
                 "method string, model string, requested string, rule string, "
                 "fallback_reason string, retry_llm boolean")


@dataclass
class StandardizeResult:
    conditions: object          # DataFrame: this run's conditions, standardized
    cache: object               # DataFrame: the whole cache table (loaded to PostgreSQL)
    report: dict


def _udfs(min_share: float):
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    # Lambdas: F.udf reads type hints as a pandas-UDF request and warns about ours.
    norm = F.udf(lambda s: normalize_name(s), T.StringType())
    keys = F.udf(lambda s: term_keys(s), T.ArrayType(T.StringType()))
    decision_type = T.StructType([T.StructField("canonical_name", T.StringType()),
                                  T.StructField("mesh_id", T.StringType()),
                                  T.StructField("rule", T.StringType())])

    def decide(name, n_studies, candidates, matches):
        d = offline_decision(name, n_studies or 0,
                             [(c["mesh_id"], c["term"], c["n"]) for c in candidates or []],
                             [(m["mesh_id"], m["term"]) for m in matches or []], min_share)
        return (d.canonical_name, d.mesh_id, d.rule)

    return norm, keys, F.udf(decide, decision_type)


def vocabulary_frame(condition_mesh):
    """(mesh_id, term): one term per id (the most common spelling, then the smallest)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    counted = (condition_mesh.filter(F.col("mesh_id").isNotNull() & F.col("mesh_term").isNotNull())
               .groupBy("mesh_id", F.col("mesh_term").alias("term")).count())
    best = Window.partitionBy("mesh_id").orderBy(F.col("count").desc(), "term")
    return (counted.withColumn("_n", F.row_number().over(best)).filter(F.col("_n") == 1)
            .select("mesh_id", "term"))


def name_frame(run_conditions, lake_conditions, lake_condition_mesh, vocabulary, settings):
    """One row per distinct normalized name of this run: raw_name, n_studies, candidates
    (array of mesh_id, term, n), term_matches, and the offline decision ``off``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    st = settings.trials.standardize
    norm, keys, decide = _udfs(st.min_cooccurrence_share)
    # The UDF runs once per distinct spelling, not per condition row.
    spellings = lake_conditions.select("name").union(run_conditions.select("name")).distinct() \
        .withColumn("normalized_name", norm("name")).filter(F.col("normalized_name").isNotNull())
    run_names = (run_conditions.select("name").distinct()
                 .join(spellings, on="name", how="inner")
                 .groupBy("normalized_name").agg(F.min("name").alias("raw_name")))
    lake_pairs = lake_conditions.select("nct_id", "name").join(spellings, on="name", how="inner") \
        .select("nct_id", "normalized_name").distinct()
    n_studies = lake_pairs.groupBy("normalized_name").agg(F.count(F.lit(1)).alias("n_studies"))
    co = (lake_pairs.join(lake_condition_mesh.select("nct_id", "mesh_id").distinct(), on="nct_id",
                          how="inner")
          .groupBy("normalized_name", "mesh_id").agg(F.count(F.lit(1)).alias("n"))
          .join(vocabulary, on="mesh_id", how="inner"))
    ranked = Window.partitionBy("normalized_name").orderBy(F.col("n").desc(), "mesh_id")
    candidates = (co.withColumn("_rank", F.row_number().over(ranked))
                  .filter(F.col("_rank") <= st.llm.max_candidates)
                  .groupBy("normalized_name")
                  .agg(F.sort_array(F.collect_list(F.struct("_rank", "mesh_id", "term", "n")))
                       .alias("_c"))
                  .select("normalized_name",
                          F.transform("_c", lambda c: F.struct(c["mesh_id"].alias("mesh_id"),
                                                               c["term"].alias("term"),
                                                               c["n"].alias("n")))
                          .alias("candidates")))
    vocab_keys = vocabulary.select("mesh_id", "term", F.explode(keys("term")).alias("key"))
    matches = (run_names.select("normalized_name", F.explode(keys("raw_name")).alias("key"))
               .join(vocab_keys, on="key", how="inner")
               .groupBy("normalized_name")
               .agg(F.array_sort(F.collect_set(F.struct("mesh_id", "term"))).alias("term_matches")))
    names = (run_names.join(n_studies, on="normalized_name", how="left")
             .join(candidates, on="normalized_name", how="left")
             .join(matches, on="normalized_name", how="left"))
    return names.withColumn("off", decide("raw_name", "n_studies", "candidates", "term_matches"))


def _offline_entries(names, requested: str, model: str | None, reason: str | None = None,
                     retry: bool = False):
    from pyspark.sql import functions as F

    return names.select(
        "normalized_name", "raw_name", F.col("off.canonical_name").alias("canonical_name"),
        F.col("off.mesh_id").alias("mesh_id"), F.lit(METHOD_OFFLINE).alias("method"),
        F.lit(model).cast("string").alias("model"), F.lit(requested).alias("requested"),
        F.col("off.rule").alias("rule"), F.lit(reason).cast("string").alias("fallback_reason"),
        F.lit(retry).alias("retry_llm"))


def _with_cache_columns(entries, run_id: str):
    from pyspark.sql import functions as F

    return entries.select(
        F.concat_ws("|", "requested", "normalized_name").alias("cache_key"), *entries.columns,
        F.current_timestamp().alias("created_at"), F.lit(run_id).alias("run_id"))


def standardize_conditions(spark, tables: dict, layout, settings, run_id: str, work, *,
                           api_key: str | None = None, base_url: str | None = None,
                           client: ChatClient | None = None) -> StandardizeResult:
    """The ``standardize`` stage (module docstring). ``api_key`` None = offline; ``work`` is the
    run's WorkDir (lakeprep.trials.silver) where intermediate frames are materialized."""
    from pyspark.sql import functions as F

    from lakeprep.delta_io import upsert

    st = settings.trials.standardize
    t0 = time.monotonic()
    # Statistics from everything the lake holds (write_silver already merged this run).
    lake_conditions = spark.read.format("delta").load(layout.silver("conditions"))
    lake_mesh = spark.read.format("delta").load(layout.silver("condition_mesh"))
    vocabulary = work(vocabulary_frame(lake_mesh), "std_vocabulary")
    upsert(spark, vocabulary, layout.silver("mesh_vocabulary"), "mesh_id", compare=["term"])
    names = work(name_frame(tables["conditions"], lake_conditions, lake_mesh, vocabulary, settings),
                 "std_names")
    n_names = names.count()
    cache_path = layout.silver("condition_standardization")
    use_llm = api_key is not None or client is not None
    report: dict = {"mode": METHOD_LLM if use_llm else METHOD_OFFLINE, "distinct_names": n_names}

    if not use_llm:
        requested = METHOD_OFFLINE
        new = _offline_entries(names, requested, None)
    else:
        client = client or ChatClient(st.llm, api_key, base_url)
        requested = f"{METHOD_LLM}:{client.model}"
        report["model"], report["base_url"] = client.model, client.base_url
        from delta.tables import DeltaTable
        if DeltaTable.isDeltaTable(spark, cache_path):
            done = (spark.read.format("delta").load(cache_path)
                    .filter((F.col("requested") == requested) & ~F.col("retry_llm"))
                    .select("normalized_name"))
            todo = names.join(done, on="normalized_name", how="left_anti")
        else:
            todo = names
        todo = work(todo, "std_todo")
        n_todo = todo.count()
        # The driver holds at most max_names_per_run names with <= max_candidates ids each.
        asked = todo.orderBy("normalized_name").limit(st.llm.max_names_per_run)
        rows = asked.select("normalized_name", "raw_name", "candidates", "off").collect()
        items = [{"normalized_name": r["normalized_name"], "raw_name": r["raw_name"],
                  "candidates": [(c["mesh_id"], c["term"], c["n"]) for c in r["candidates"] or []],
                  "off_name": r["off"]["canonical_name"], "off_mesh_id": r["off"]["mesh_id"],
                  "off_rule": r["off"]["rule"]} for r in rows]

        def known(ids: set[str]) -> dict[str, str]:
            # Bounded by the ids of one batch's answers.
            return {r["mesh_id"]: r["term"] for r in
                    vocabulary.filter(F.col("mesh_id").isin(sorted(ids))).collect()}

        log.info("standardize: %d of %d distinct names not cached for %s; asking %d in batches "
                 "of %d at %s", n_todo, n_names, requested, len(items), st.llm.batch_size,
                 client.base_url)
        try:
            entries, llm_run = standardize_with_llm(items, client, st.llm.batch_size, known)
        finally:
            client.close()
        new = spark.createDataFrame([(e.normalized_name, e.raw_name, e.canonical_name, e.mesh_id,
                                      e.method, e.model, e.requested, e.rule, e.fallback_reason,
                                      e.retry_llm) for e in entries], _ENTRY_SCHEMA)
        deferred = n_todo - len(items)
        if deferred > 0:
            # Over this run's budget: offline now, asked in a later run.
            rest = todo.join(asked.select("normalized_name"), on="normalized_name", how="left_anti")
            new = new.unionByName(_offline_entries(rest, requested, client.model,
                                                   "llm_deferred", True))
        report["llm"] = {"cached": n_names - n_todo, "asked": llm_run.names_asked,
                         "deferred": max(deferred, 0), "accepted": llm_run.accepted,
                         "batches": llm_run.batches, "fallbacks": llm_run.fallbacks,
                         "stopped_early": llm_run.stopped_early, **client.stats}
    new = work(_with_cache_columns(new, run_id), "std_new")
    upsert(spark, new, cache_path, "cache_key", compare=CACHE_COMPARED)
    cache = spark.read.format("delta").load(cache_path)
    run_entries = cache.filter(F.col("requested") == requested).join(
        names.select("normalized_name"), on="normalized_name", how="inner")
    conditions = work(apply_to_conditions(tables["conditions"], run_entries), "std_conditions")
    counts = (run_entries.groupBy("method", "rule", "fallback_reason").count().collect())
    report["entries"] = {"|".join(x for x in (r["method"], r["rule"], r["fallback_reason"]) if x):
                         r["count"] for r in counts}
    filled = conditions.filter(F.col("mesh_match").isin(METHOD_LLM, METHOD_OFFLINE)).count()
    report["conditions_mesh_filled"] = filled
    report["agreement"] = agreement(conditions, tables["condition_mesh"])
    report["seconds"] = round(time.monotonic() - t0, 2)
    log.info("standardize: %s", {k: v for k, v in report.items() if k != "base_url"})
    return StandardizeResult(conditions=conditions, cache=cache, report=report)


def apply_to_conditions(conditions, entries):
    """Conditions + ``canonical_name`` and ``standardization_method``; ``mesh_id`` /
    ``mesh_term`` filled from the standardization where the registry match left them NULL, with
    ``mesh_match`` = the method ('llm' / 'offline'). ``standardized_mesh_id`` keeps the
    standardizer's own answer for evaluation."""
    from pyspark.sql import functions as F

    norm = F.udf(lambda s: normalize_name(s), "string")
    e = entries.select("normalized_name", F.col("canonical_name").alias("_canonical"),
                       F.col("mesh_id").alias("_std_mesh_id"), F.col("method").alias("_method"),
                       F.col("rule").alias("_rule"))
    joined = conditions.withColumn("_norm", norm("name")).join(
        e, on=F.col("_norm") == F.col("normalized_name"), how="left")
    fill = F.col("mesh_id").isNull() & F.col("_std_mesh_id").isNotNull()
    return joined.select(
        *[c for c in conditions.columns if c not in ("mesh_id", "mesh_term", "mesh_match")],
        F.when(fill, F.col("_std_mesh_id")).otherwise(F.col("mesh_id")).alias("mesh_id"),
        F.when(fill, F.col("_canonical")).otherwise(F.col("mesh_term")).alias("mesh_term"),
        F.when(fill, F.col("_method")).otherwise(F.col("mesh_match")).alias("mesh_match"),
        F.coalesce(F.col("mesh_term"), F.col("_canonical")).alias("canonical_name"),
        F.col("_method").alias("standardization_method"),
        # Not PostgreSQL columns: kept for agreement() and the report.
        F.col("_std_mesh_id").alias("standardized_mesh_id"),
        F.col("_rule").alias("standardization_rule"))


def agreement(conditions, condition_mesh) -> dict:
    """How often the standardizer's MeSH id is one the registry derived for the same study.

    Over condition rows whose study has derived MeSH terms: ``agree`` (id among them),
    ``other_id`` (an id the study did not derive), ``no_id``; ``rate`` = agree / rows, also per
    rule (offline co-occurrence reads those very terms, so its share is partly circular:
    ``term_match`` and the LLM are the independent figures)."""
    from pyspark.sql import functions as F

    derived = condition_mesh.groupBy("nct_id").agg(F.collect_set("mesh_id").alias("_derived"))
    rows = conditions.join(derived, on="nct_id", how="inner")
    outcome = (F.when(F.col("standardized_mesh_id").isNull(), "no_id")
               .when(F.array_contains("_derived", F.col("standardized_mesh_id")), "agree")
               .otherwise("other_id"))
    counted = (rows.withColumn("outcome", outcome)
               .groupBy(F.coalesce("standardization_rule", F.lit("none")).alias("rule"),
                        "outcome").count().collect())
    out: dict = {"rows": 0, "agree": 0, "other_id": 0, "no_id": 0}
    for r in counted:
        out[r["outcome"]] += r["count"]
        out["rows"] += r["count"]
        per = out.setdefault(f"by_rule.{r['rule']}", {"rows": 0, "agree": 0})
        per["rows"] += r["count"]
        per["agree"] += r["count"] if r["outcome"] == "agree" else 0
    out["rate"] = round(out["agree"] / out["rows"], 4) if out["rows"] else None
    return out
