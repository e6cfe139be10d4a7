"""End to end: the embedded PostgreSQL starts on TCP loopback, is reused, and stops."""

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest

from lakeprep.db.embedded import EmbeddedPostgres, ensure_embedded


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def data_dir():
    # Not pytest's tmp_path: under root it lives in /tmp/pytest-of-root (mode 0700), which the
    # unprivileged PostgreSQL service user cannot traverse. A 0755 base dir in /tmp can.
    base = Path(tempfile.mkdtemp(prefix="lakeprep-pg-test-"))
    base.chmod(0o755)
    data = base / "pgdata"
    yield data
    # Best effort: a failed assertion must not leave a server running on the machine.
    if (data / "postmaster.pid").exists():
        EmbeddedPostgres(data, 0).stop()
    shutil.rmtree(base, ignore_errors=True)


def test_start_connect_reuse_stop(data_dir):
    port = _free_port()
    server = EmbeddedPostgres(data_dir, port)
    assert not server.is_running()

    t0 = time.monotonic()
    server.start()
    print(f"cold start (initdb + start): {time.monotonic() - t0:.2f}s")
    assert server.is_running()
    first_pid = server.pid()
    assert first_pid is not None

    params = server.params()
    assert params == {"host": "127.0.0.1", "port": port, "dbname": "lakeprep", "user": "lakeprep"}
    assert server.dsn() == f"host=127.0.0.1 port={port} dbname=lakeprep user=lakeprep"

    # TCP, not a Unix socket: that is what the JDBC driver will use.
    with psycopg2.connect(**params) as conn, conn.cursor() as cur:
        cur.execute("SELECT inet_server_addr()::text, current_user, current_database()")
        assert cur.fetchone() == ("127.0.0.1/32", "lakeprep", "lakeprep")
        cur.execute("SHOW server_encoding")
        assert cur.fetchone() == ("UTF8",)
        cur.execute("CREATE TABLE docs (id int PRIMARY KEY, body text)")
        cur.execute("INSERT INTO docs VALUES (1, %s)", ("héllo wörld",))
    conn.close()

    # A second instance for the same data dir and port reuses the running server.
    t0 = time.monotonic()
    again = ensure_embedded(data_dir, port)
    print(f"warm start (reuse): {time.monotonic() - t0:.2f}s")
    assert again == params
    assert server.pid() == first_pid
    with psycopg2.connect(**again) as conn, conn.cursor() as cur:
        cur.execute("SELECT body FROM docs WHERE id = 1")
        assert cur.fetchone() == ("héllo wörld",)
    conn.close()

    # The CLI that `make db-stop` uses agrees (0 = running).
    cli = [sys.executable, "-m", "lakeprep.db.embedded", "status",
           "--data-dir", str(data_dir), "--port", str(port)]
    assert subprocess.run(cli, capture_output=True).returncode == 0

    assert server.stop() is True
    assert not server.is_running()
    assert server.pid() is None
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(connect_timeout=2, **params)
    assert server.stop() is False  # stopping twice is a no-op
    assert subprocess.run(cli, capture_output=True).returncode == 3
