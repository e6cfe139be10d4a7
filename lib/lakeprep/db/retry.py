"""Bounded retries with exponential backoff for PostgreSQL calls that fail at the connection level.

Used by the text pipeline around every database step (schema creation and start of run, the JDBC
staging writes, the transactional merge, finishing the run). Only errors that say "the server
could not be reached or the connection broke" are retried: a refused or reset connection, a
server shutting down or restarting (SQLSTATE class 08, 57P01-57P03), from psycopg2, SQLAlchemy or
the JDBC driver inside Spark (a Py4J error whose Java cause chain holds such an SQLException or a
socket error). Data errors (constraint violations, type errors, bad SQL) fail at once: repeating
them cannot help and would only hide the cause.

Each retried step must be safe to repeat: the merge is one transaction (a broken connection rolls
it back), a staging write first deletes the rows an earlier attempt of the same run left behind.
When the budget is spent, :class:`PostgresUnavailable` carries a one-line message naming
``host:port`` (never the password) and the last cause.
"""
from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from lakeprep.config import RetrySettings

log = logging.getLogger("lakeprep.db")

T = TypeVar("T")

# SQLSTATE class 08 = connection exception; 57P01/02/03 = admin shutdown, crash shutdown, cannot
# connect now (server starting or stopping): all "try again later", none says the data is wrong.
_RETRYABLE_SQLSTATE_PREFIXES = ("08", "57P01", "57P02", "57P03")
# Java exceptions that mean the socket to the server failed, wherever they sit in a cause chain.
_JAVA_CONNECTION_ERRORS = ("java.net.ConnectException", "java.net.SocketException",
                           "java.net.SocketTimeoutException", "java.io.EOFException",
                           "java.net.NoRouteToHostException", "java.net.UnknownHostException")


class PostgresUnavailable(RuntimeError):
    """PostgreSQL stayed unreachable for the whole retry budget (message: one line)."""


def _retryable_sqlstate(state: str | None) -> bool:
    return bool(state) and state.startswith(_RETRYABLE_SQLSTATE_PREFIXES)


def _java_chain_is_connection_error(java_exc) -> bool:
    seen = 0
    while java_exc is not None and seen < 20:
        seen += 1
        name = java_exc.getClass().getName()
        if name in _JAVA_CONNECTION_ERRORS:
            return True
        # java.sql.SQLException (PSQLException and friends) expose the SQLSTATE.
        state_of = getattr(java_exc, "getSQLState", None)
        if state_of is not None:
            try:
                if _retryable_sqlstate(state_of()):
                    return True
            except Exception:  # not an SQLException after all (py4j resolves names lazily)
                pass
        java_exc = java_exc.getCause()
    return False


def _psycopg2_is_connection_error(exc: BaseException) -> bool:
    import psycopg2

    if isinstance(exc, psycopg2.InterfaceError):
        # "connection already closed": the client side lost the connection.
        return True
    if isinstance(exc, psycopg2.OperationalError):
        # No SQLSTATE = the client library failed to connect or the socket broke; with one, only
        # the connection classes (a full disk or a cancelled query is operational, not transient).
        return exc.pgcode is None or _retryable_sqlstate(exc.pgcode)
    return False


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` means PostgreSQL was unreachable or the connection broke."""
    import sqlalchemy.exc as sa_exc
    from py4j.protocol import Py4JJavaError

    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return exc.orig is not None and _psycopg2_is_connection_error(exc.orig)
    if isinstance(exc, Py4JJavaError):
        return _java_chain_is_connection_error(exc.java_exception)
    return _psycopg2_is_connection_error(exc)


def first_line(exc: BaseException) -> str:
    """The cause in one line: the first line of a Java exception, not a page of stack trace."""
    from py4j.protocol import Py4JJavaError

    if isinstance(exc, Py4JJavaError):
        java_exc = exc.java_exception
        # The innermost cause names the real problem (refused, reset); Spark wraps it twice.
        while java_exc.getCause() is not None:
            java_exc = java_exc.getCause()
        text = java_exc.toString()
    else:
        text = str(getattr(exc, "orig", None) or exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:500]


def backoff_delays(settings: RetrySettings, rng: random.Random | None = None) -> list[float]:
    """The sleeps between the attempts: base * 2^k capped at max, each with "equal jitter"
    (a random value in [d/2, d]). Jitter spreads clients that lost the same server apart; keeping
    the lower half means each wait is at least as long as the previous one."""
    rng = rng or random.Random()
    delays = []
    for k in range(max(settings.attempts - 1, 0)):
        d = min(settings.max_seconds, settings.base_seconds * (2 ** k))
        delays.append(d / 2 + rng.uniform(0, d / 2))
    return delays


def call_with_retry(fn: Callable[[], T], settings: RetrySettings, what: str, where: str,
                    sleep: Callable[[float], None] = time.sleep,
                    rng: random.Random | None = None) -> T:
    """``fn()``, repeated on connection errors up to ``settings.attempts`` times in total.

    ``what`` names the step and ``where`` the server (``host:port``) in the log lines and in the
    final error. ``sleep`` is injectable so tests check the backoff without waiting for it.
    """
    delays = backoff_delays(settings, rng)
    for attempt in range(1, settings.attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if not is_connection_error(exc):
                raise
            cause = first_line(exc)
            if attempt == settings.attempts:
                raise PostgresUnavailable(
                    f"PostgreSQL at {where} unreachable during {what} after {attempt} "
                    f"attempt(s): {cause}") from None
            delay = delays[attempt - 1]
            log.warning("PostgreSQL at %s: %s failed (attempt %d/%d: %s); retrying in %.1f s",
                        where, what, attempt, settings.attempts, cause, delay)
            sleep(delay)
    raise AssertionError("unreachable: the loop returns or raises")
