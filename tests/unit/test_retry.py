"""Retry policy of PostgreSQL calls (lakeprep.db.retry): what is retried, how long it waits."""
from __future__ import annotations

import random
import socket

import psycopg2
import pytest
import sqlalchemy as sa

from lakeprep.config import RetrySettings
from lakeprep.db.retry import (
    PostgresUnavailable,
    backoff_delays,
    call_with_retry,
    is_connection_error,
)

SETTINGS = RetrySettings(attempts=5, base_seconds=1.0, max_seconds=30.0)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_delays_grow_exponentially_with_jitter_and_cap():
    for seed in range(20):
        delays = backoff_delays(RetrySettings(6, 1.0, 10.0), random.Random(seed))
        assert len(delays) == 5
        for k, d in enumerate(delays):
            cap = min(10.0, 2 ** k)
            assert cap / 2 <= d <= cap
        # Below the cap each wait is at least the previous one (the jitter keeps the upper half).
        assert delays[:4] == sorted(delays[:4])
    # Jitter: two clients do not wait the same.
    assert backoff_delays(SETTINGS, random.Random(1)) != backoff_delays(SETTINGS, random.Random(2))


def test_refused_connection_is_retried_then_one_line_error_naming_host_port():
    port = closed_port()
    engine = sa.create_engine(f"postgresql+psycopg2://u@127.0.0.1:{port}/db")
    calls, sleeps = [], []

    def connect():
        calls.append(1)
        with engine.connect():
            pass

    with pytest.raises(PostgresUnavailable) as info:
        call_with_retry(connect, SETTINGS, "schema creation", f"127.0.0.1:{port}",
                        sleep=sleeps.append)
    message = str(info.value)
    assert len(calls) == 5 and len(sleeps) == 4
    assert sleeps == sorted(sleeps) and sleeps[-1] > sleeps[0]
    assert "\n" not in message and f"127.0.0.1:{port}" in message
    assert "after 5 attempt(s)" in message and "schema creation" in message


def test_success_after_transient_failures_returns_the_result():
    outcomes = [psycopg2.OperationalError("server closed the connection unexpectedly"),
                psycopg2.InterfaceError("connection already closed"), "done"]
    sleeps = []

    def flaky():
        item = outcomes.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    assert call_with_retry(flaky, SETTINGS, "the merge", "h:1", sleep=sleeps.append) == "done"
    assert len(sleeps) == 2


def test_data_errors_are_not_retried():
    calls = []

    def bad():
        calls.append(1)
        raise ValueError("not a connection problem")

    with pytest.raises(ValueError):
        call_with_retry(bad, SETTINGS, "x", "h:1", sleep=lambda s: None)
    assert calls == [1]


def test_classification_of_database_errors(pg_server):
    import psycopg2.errors

    conn = psycopg2.connect(**pg_server.params())
    try:
        with conn.cursor() as cur:
            with pytest.raises(psycopg2.Error) as syntax:
                cur.execute("SELEC 1")
        conn.rollback()
        with conn.cursor() as cur:
            with pytest.raises(psycopg2.Error) as division:
                cur.execute("SELECT 1 / 0")
        conn.rollback()
    finally:
        conn.close()
    assert not is_connection_error(syntax.value)
    assert not is_connection_error(division.value)
    # Terminated by an administrator (57P01): the server is going away, try again.
    victim = psycopg2.connect(**pg_server.params())
    admin = psycopg2.connect(**pg_server.params())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (victim.get_backend_pid(),))
    admin.close()
    with pytest.raises(psycopg2.Error) as terminated:
        with victim.cursor() as cur:
            cur.execute("SELECT 1")
    assert is_connection_error(terminated.value)
    # Wrapped by SQLAlchemy, the same decisions hold.
    engine = sa.create_engine(f"postgresql+psycopg2://{pg_server.user}@{pg_server.host}:"
                              f"{pg_server.port}/{pg_server.database}")
    with pytest.raises(sa.exc.DBAPIError) as wrapped:
        with engine.connect() as c:
            c.execute(sa.text("SELECT 1 / 0"))
    assert not is_connection_error(wrapped.value)
    engine.dispose()
