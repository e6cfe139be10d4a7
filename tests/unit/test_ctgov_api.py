"""The ClinicalTrials.gov client against the local replay server over a real socket: pagination,
retries (429 + Retry-After, 5xx, timeouts, dropped connections, malformed JSON), the retry
budget's one-line error and the rate limiter. Clock and sleep are injected, so backoff and
Retry-After waits are checked without waiting."""
from __future__ import annotations

import dataclasses
import json
import random
import socket
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests

from lakeprep.config import load_settings
from lakeprep.trials.api import (
    ApiError,
    CtgovClient,
    RateLimiter,
    backoff_delay,
    incremental_filter,
    parse_retry_after,
    studies_params,
)
from lakeprep.trials.replay import ReplayServer

API = load_settings().trials.api


def make_study(i: int, updated: str) -> dict:
    return {"protocolSection": {
        "identificationModule": {"nctId": f"NCT{i:08d}", "briefTitle": f"Study {i}"},
        "statusModule": {"overallStatus": "COMPLETED",
                         "lastUpdatePostDateStruct": {"date": updated, "type": "ACTUAL"}},
        "conditionsModule": {"conditions": ["Asthma" if i % 2 else "Diabetes Mellitus"]}},
        "hasResults": False}


@pytest.fixture(scope="module")
def fixtures_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ctgov")
    studies = [make_study(i, f"2024-{1 + i % 12:02d}-15") for i in range(1, 26)]
    (d / "studies.json").write_text(json.dumps(studies))
    (d / "metadata.json").write_text(json.dumps([{"name": "protocolSection", "children": []}]))
    return d


@pytest.fixture
def server(fixtures_dir):
    with ReplayServer(fixtures_dir) as srv:
        yield srv


class FakeClock:
    """Monotonic clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client_for(server, clock=None, **overrides) -> CtgovClient:
    # Fast limiter by default (1 ms spacing) so only the waits a test is about stand out.
    fast = dict(page_size=10, requests_per_minute=60000, connect_timeout_s=1.0,
                read_timeout_s=1.0, max_attempts=3, backoff_base_s=1.0, backoff_max_s=8.0)
    settings = dataclasses.replace(API, **{**fast, **overrides})
    clock = clock or FakeClock()
    return CtgovClient(settings, server.base_url if server else "http://127.0.0.1:9/api/v2",
                       clock=clock, sleep=clock.sleep, rng=random.Random(7))


def long_sleeps(clock: FakeClock) -> list[float]:
    return [s for s in clock.sleeps if s > 0.01]


def fetch_all(client, params=None):
    return list(client.iter_pages(params or studies_params(client.settings, None)))


def test_paginates_to_the_last_page(server):
    pages = fetch_all(client_for(server))
    assert [len(p.studies) for p in pages] == [10, 10, 5]
    assert pages[0].data["totalCount"] == 25
    assert pages[-1].next_page_token is None and pages[0].next_page_token
    ids = [s["protocolSection"]["identificationModule"]["nctId"] for p in pages for s in p.studies]
    assert ids == [f"NCT{i:08d}" for i in range(1, 26)]
    # The second request carried the first page's token, and nothing was fetched twice.
    studies_requests = server.requests("studies")
    assert len(studies_requests) == 3
    assert studies_requests[1]["params"]["pageToken"] == pages[0].next_page_token
    # The body is kept byte for byte (staging stores it untouched).
    assert json.loads(pages[1].body) == pages[1].data


def test_429_waits_exactly_retry_after(server):
    server.set_faults(["429:page=1,retry_after=2"])
    clock = FakeClock()
    client = client_for(server, clock)
    pages = fetch_all(client)
    assert len(pages) == 3 and pages[1].attempts == 2
    assert long_sleeps(clock) == [2.0]
    assert [r["page"] for r in server.requests("studies")] == [0, 1, 1, 2]


def test_retry_after_as_http_date():
    now = datetime(2026, 11, 23, 3, 0, 0, tzinfo=timezone.utc)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now) == 30.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_retry_after_beyond_the_limit_fails_at_once(server):
    server.set_faults(["429:page=0,retry_after=3600"])
    clock = FakeClock()
    with pytest.raises(ApiError, match="max_retry_after_s") as err:
        fetch_all(client_for(server, clock, max_retry_after_s=600.0))
    assert "\n" not in str(err.value)
    assert long_sleeps(clock) == []


def test_500_is_retried_with_backoff_then_succeeds(server):
    server.set_faults(["500:page=0"])
    clock = FakeClock()
    pages = fetch_all(client_for(server, clock))
    assert len(pages) == 3 and pages[0].attempts == 2
    # First retry: base 1 s with equal jitter -> between 0.5 and 1 s.
    [wait] = long_sleeps(clock)
    assert 0.5 <= wait <= 1.0


def test_backoff_grows_exponentially_with_cap_and_jitter():
    rng = random.Random(1)
    for attempt, full in ((1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (9, 60.0)):
        delays = [backoff_delay(attempt, 2.0, 60.0, rng) for _ in range(200)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 100  # jittered, not lockstep


def test_slow_response_hits_the_read_timeout_and_is_retried(server):
    server.set_faults(["slow:page=0,delay=1.5"])
    clock = FakeClock()
    client = client_for(server, clock, read_timeout_s=0.3)
    pages = fetch_all(client)
    assert len(pages) == 3 and pages[0].attempts == 2
    assert client.retries == 1


def test_dropped_connection_is_retried(server):
    server.set_faults(["drop:page=2"])
    pages = fetch_all(client_for(server))
    assert len(pages) == 3 and pages[2].attempts == 2


def test_malformed_json_is_retried_then_succeeds(server):
    server.set_faults(["malformed:page=1"])
    pages = fetch_all(client_for(server))
    assert pages[1].attempts == 2 and len(pages[1].studies) == 10


def test_malformed_json_forever_gives_a_clear_error(server):
    server.set_faults(["malformed:page=1,times=-1"])
    with pytest.raises(ApiError) as err:
        fetch_all(client_for(server))
    msg = str(err.value)
    assert "studies page 1" in msg and "failed after 3 attempts" in msg and "malformed JSON" in msg
    assert "\n" not in msg


def test_retry_budget_exhausted_gives_one_line(server):
    server.set_faults(["503:times=-1"])
    clock = FakeClock()
    with pytest.raises(ApiError) as err:
        fetch_all(client_for(server, clock, max_attempts=4))
    msg = str(err.value)
    assert "failed after 4 attempts" in msg and "HTTP 503" in msg and "\n" not in msg
    assert len(server.requests("studies")) == 4
    assert len(long_sleeps(clock)) == 3  # no sleep after the last attempt


def test_connection_refused_gives_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = dataclasses.replace(API, max_attempts=2, requests_per_minute=60000)
    clock = FakeClock()
    client = CtgovClient(settings, f"http://127.0.0.1:{port}/api/v2", clock=clock,
                         sleep=clock.sleep)
    with pytest.raises(ApiError) as err:
        client.version()
    msg = str(err.value)
    assert "connection failed" in msg and f"127.0.0.1:{port}" in msg and "\n" not in msg


def test_non_retryable_status_fails_at_once(server):
    client = client_for(server)
    with pytest.raises(ApiError, match="HTTP 400.*invalid pageToken"):
        client.fetch_page(studies_params(client.settings, None), 1, page_token="bogus")
    assert len(server.requests("studies")) == 1


def test_rate_limiter_spaces_requests():
    clock = FakeClock()
    limiter = RateLimiter(30, clock, clock.sleep)
    starts = []
    for work in (0.0, 0.5, 3.0, 0.0, 0.1):
        limiter.acquire()
        starts.append(clock.now)
        clock.now += work  # the request itself takes time
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert all(g >= 2.0 - 1e-9 for g in gaps)
    # A slow request (3 s) already used up the interval: the next one starts at once.
    assert gaps[2] == pytest.approx(3.0)


def test_client_requests_respect_the_rate_limit(server):
    clock = FakeClock()
    starts = []

    class Recording(requests.Session):
        def get(self, *a, **kw):
            starts.append(clock.now)
            return super().get(*a, **kw)

    settings = dataclasses.replace(API, page_size=5, requests_per_minute=50)
    client = CtgovClient(settings, server.base_url, session=Recording(), clock=clock,
                         sleep=clock.sleep)
    client.version()
    fetch_all(client)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert len(starts) == 6 and min(gaps) >= 60 / 50 - 1e-9


def test_version_and_metadata(server):
    client = client_for(server)
    assert client.version() == {"api_version": "2.0.5", "data_timestamp": "2026-11-20T09:00:05"}
    assert client.metadata()[0]["name"] == "protocolSection"


def test_incremental_filter_only_returns_updated_studies(server):
    since = date(2024, 10, 1)
    client = client_for(server)
    params = studies_params(client.settings, since)
    assert params["filter.advanced"] == "AREA[LastUpdatePostDate]RANGE[2024-10-01,MAX]"
    dates = [s["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]
             for p in fetch_all(client, params) for s in p.studies]
    assert dates and all(d >= "2024-10-01" for d in dates)
    assert len(dates) == sum(1 for i in range(1, 26) if 1 + i % 12 >= 10)


def test_request_parameters_from_config():
    settings = dataclasses.replace(API, fields=("NCTId", "protocolSection.statusModule"),
                                   query={"cond": "asthma"},
                                   filter_advanced="AREA[StudyType]INTERVENTIONAL")
    params = studies_params(settings, date(2025, 1, 2))
    assert params["fields"] == "NCTId,protocolSection.statusModule"
    assert params["query.cond"] == "asthma"
    assert params["pageSize"] == str(settings.page_size)
    assert params["filter.advanced"] == ("AREA[StudyType]INTERVENTIONAL AND "
                                         "AREA[LastUpdatePostDate]RANGE[2025-01-02,MAX]")
    assert incremental_filter(None, "") == ""


def test_fields_and_query_reach_the_server(server):
    settings = dataclasses.replace(API, page_size=100, fields=("NCTId", "OverallStatus"),
                                   query={"cond": "asthma"})
    client = client_for(server, page_size=100, fields=settings.fields, query=settings.query)
    [page] = fetch_all(client)
    assert len(page.studies) == 13
    assert page.studies[0] == {"protocolSection": {
        "identificationModule": {"nctId": "NCT00000001"},
        "statusModule": {"overallStatus": "COMPLETED"}}}


def test_replay_server_help():
    proc = subprocess.run([sys.executable, "-m", "lakeprep.trials.replay", "--help"],
                          capture_output=True, text=True, check=True)
    assert "--fixtures" in proc.stdout and "--fault" in proc.stdout
