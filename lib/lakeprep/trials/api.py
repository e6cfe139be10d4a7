"""ClinicalTrials.gov API v2 client (``requests``): the first step of the clinical-trials job.

``lakeprep.trials.pipeline`` asks it for ``/version`` (recorded with every run), for
``/studies/metadata`` (the schema check) and for ``/studies`` page after page; each page's raw
bytes go to staging (lakeprep.trials.staging) before anything parses the studies.

Being a good API citizen and surviving a flaky network are the whole job here:
- a rate limiter spaces requests (trials.api.requests_per_minute);
- 429, 5xx, timeouts, dropped connections and malformed JSON are retried with exponential
  backoff and jitter, and a ``Retry-After`` from the server is obeyed instead of the backoff;
- after ``max_attempts`` the run stops with one line saying what failed, and the next run
  resumes from the last staged page (the pagination token is in the staged sidecar).

Clock, sleep and random source are injectable, so tests check the waits without waiting.
"""
from __future__ import annotations

import email.utils
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

import requests

from lakeprep.trials.settings import ApiSettings

log = logging.getLogger("lakeprep.trials.api")

# Server errors worth retrying: the request may succeed once the backend recovers. Other 4xx
# (a bad filter expression, an unknown field) will fail the same way every time.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ApiError(RuntimeError):
    """The API could not be read; the message is one line meant for the user. ``status``: the
    HTTP status of a non-retryable answer (None for network errors and exhausted retries)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class Page:
    """One /studies response: the bytes exactly as received plus what was asked for."""
    index: int
    url: str
    params: dict[str, str]
    body: bytes
    data: dict = field(repr=False)
    fetched_at: str
    elapsed_s: float
    attempts: int

    @property
    def studies(self) -> list:
        return self.data.get("studies") or []

    @property
    def next_page_token(self) -> str | None:
        return self.data.get("nextPageToken") or None


class RateLimiter:
    """At most ``per_minute`` request starts per minute, evenly spaced (no bursts: the API
    throttles per short window, so a burst of 50 followed by a pause would still earn 429s)."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 60.0 / per_minute
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None

    def acquire(self) -> float:
        """Block until the next request may start; returns the seconds waited."""
        now = self._clock()
        waited = 0.0
        if self._next is not None and now < self._next:
            waited = self._next - now
            self._sleep(waited)
            now = self._clock()
        self._next = max(now, self._next or now) + self.interval
        return waited


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Delay after failed attempt ``attempt`` (1-based): ``base * 2**(attempt-1)`` capped, with
    "equal jitter" (half fixed, half random) so many clients do not retry in lockstep while each
    still waits at least half the exponential delay."""
    d = min(cap, base * 2 ** (attempt - 1))
    return d / 2 + rng.uniform(0, d / 2)


def incremental_filter(since: date | None, extra: str = "") -> str:
    """``filter.advanced`` for an incremental run (and the configured filter, ANDed)."""
    parts = []
    if extra:
        parts.append(f"({extra})" if " " in extra.strip() else extra.strip())
    if since is not None:
        parts.append(f"AREA[LastUpdatePostDate]RANGE[{since.isoformat()},MAX]")
    return " AND ".join(parts)


def studies_params(settings: ApiSettings, since: date | None) -> dict[str, str]:
    """Request parameters of a /studies listing (without pageToken): the identity of a staging
    run, compared on resume."""
    params = {"format": "json", "pageSize": str(settings.page_size)}
    if settings.fields:
        params["fields"] = ",".join(settings.fields)
    for key, value in sorted(settings.query.items()):
        params[f"query.{key}"] = value
    adv = incremental_filter(since, settings.filter_advanced)
    if adv:
        params["filter.advanced"] = adv
    return params


class CtgovClient:
    def __init__(self, settings: ApiSettings, base_url: str | None = None, *,
                 session: requests.Session | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None):
        self.settings = settings
        self.base_url = (base_url or settings.base_url).rstrip("/")
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", settings.user_agent)
        self.session.headers["Accept"] = "application/json"
        self._clock, self._sleep = clock, sleep
        self._rng = rng or random.Random()
        self.limiter = RateLimiter(settings.requests_per_minute, clock, sleep)
        self.requests_made = 0
        self.retries = 0

    # -- one request, with retries ---------------------------------------------------------

    def get(self, path: str, params: dict[str, str] | None = None,
            what: str = "") -> tuple[bytes, object, int, float]:
        """GET ``base_url + path``; returns (raw body, parsed JSON, attempts, seconds).

        Raises ApiError with one line after ``max_attempts`` or on a non-retryable status.
        """
        url = f"{self.base_url}{path}"
        label = what or path
        s = self.settings
        last = ""
        for attempt in range(1, s.max_attempts + 1):
            self.limiter.acquire()
            self.requests_made += 1
            t0 = self._clock()
            retry_after = None
            try:
                resp = self.session.get(url, params=params,
                                        timeout=(s.connect_timeout_s, s.read_timeout_s))
                body = resp.content
            except requests.Timeout as exc:
                kind = "connect" if isinstance(exc, requests.ConnectTimeout) else "read"
                last = f"{kind} timeout after {s.connect_timeout_s if kind == 'connect' else s.read_timeout_s:g} s"
            except requests.ConnectionError as exc:
                last = f"connection failed ({_root_cause(exc)})"
            except requests.exceptions.ChunkedEncodingError as exc:
                last = f"connection dropped mid-response ({_root_cause(exc)})"
            else:
                if resp.status_code == 200:
                    try:
                        data = json.loads(body)
                    except ValueError as exc:
                        last = f"malformed JSON ({exc.msg} at byte {exc.pos} of {len(body)})"
                    else:
                        return body, data, attempt, self._clock() - t0
                elif resp.status_code in RETRY_STATUSES:
                    last = f"HTTP {resp.status_code}"
                    retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                    if retry_after is not None:
                        last += f" (Retry-After {retry_after:g} s)"
                else:
                    raise ApiError(f"ClinicalTrials.gov API: GET {url} ({label}) answered HTTP "
                                   f"{resp.status_code}: {_snippet(body)}", resp.status_code)
            if attempt == s.max_attempts:
                break
            if retry_after is not None:
                if retry_after > s.max_retry_after_s:
                    raise ApiError(
                        f"ClinicalTrials.gov API: GET {url} ({label}): server asks to retry after "
                        f"{retry_after:g} s, more than trials.api.max_retry_after_s "
                        f"({s.max_retry_after_s:g}); rerun later (the run resumes where it stopped)")
                # The server said when it will take us again: waiting less earns another 429,
                # waiting longer wastes the window.
                delay = retry_after
            else:
                delay = backoff_delay(attempt, s.backoff_base_s, s.backoff_max_s, self._rng)
            self.retries += 1
            log.warning("%s: %s; retry %d/%d in %.1f s", label, last, attempt,
                        s.max_attempts - 1, delay)
            self._sleep(delay)
        raise ApiError(f"ClinicalTrials.gov API: GET {url} ({label}) failed after "
                       f"{s.max_attempts} attempts, last error: {last}")

    # -- endpoints ---------------------------------------------------------------------------

    def version(self) -> dict:
        """/version: ``apiVersion`` and ``dataTimestamp`` (when the registry data was refreshed)."""
        _, data, _, _ = self.get("/version", what="version")
        if not isinstance(data, dict) or "apiVersion" not in data:
            raise ApiError(f"ClinicalTrials.gov API: {self.base_url}/version did not return an "
                           f"apiVersion: {_snippet(json.dumps(data).encode())}")
        return {"api_version": str(data.get("apiVersion")),
                "data_timestamp": str(data.get("dataTimestamp") or "")}

    def metadata(self) -> list:
        """/studies/metadata: the tree of every field a study can have (for the schema check)."""
        _, data, _, _ = self.get("/studies/metadata", what="studies metadata")
        if not isinstance(data, list):
            raise ApiError(f"ClinicalTrials.gov API: {self.base_url}/studies/metadata is not a "
                           "JSON list")
        return data

    def fetch_page(self, params: dict[str, str], index: int,
                   page_token: str | None = None) -> Page:
        request = dict(params)
        if page_token:
            request["pageToken"] = page_token
        elif index == 0:
            # Only the first page can report the total (the API ignores it afterwards).
            request["countTotal"] = "true"
        fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        body, data, attempts, elapsed = self.get("/studies", request, what=f"studies page {index}")
        if not isinstance(data, dict) or not isinstance(data.get("studies", []), list):
            raise ApiError(f"ClinicalTrials.gov API: studies page {index} is not an object with a "
                           f"'studies' list: {_snippet(body)}")
        return Page(index=index, url=f"{self.base_url}/studies", params=request, body=body,
                    data=data, fetched_at=fetched_at, elapsed_s=round(elapsed, 3),
                    attempts=attempts)

    def iter_pages(self, params: dict[str, str], start_index: int = 0,
                   page_token: str | None = None) -> Iterator[Page]:
        """Pages from ``page_token`` (None = the first page) until a page has no nextPageToken."""
        index, token = start_index, page_token
        total = None
        seen = 0
        while True:
            page = self.fetch_page(params, index, token)
            total = page.data.get("totalCount", total)
            seen += len(page.studies)
            log.info("studies page %d: %d studies (%d this run%s), %.1f KB in %.1f s%s", index,
                     len(page.studies), seen, f" of {total}" if total is not None else "",
                     len(page.body) / 1024, page.elapsed_s,
                     "" if page.next_page_token else ", last page")
            yield page
            token = page.next_page_token
            if not token:
                return
            index += 1


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    text = str(exc).split("\n")[0]
    return f"{type(exc).__name__}: {text}"[:200]


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return " ".join(text.split()) + ("..." if len(body) > limit else "")
