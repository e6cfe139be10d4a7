"""Shared fixtures: one local Spark session per test session, fresh temp dirs per test."""
from __future__ import annotations

import dataclasses
import os
import sys

import pytest

from lakeprep.config import load_settings

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


@pytest.fixture(scope="session")
def settings():
    return load_settings()


@pytest.fixture(scope="session")
def spark(settings):
    from lakeprep.spark import build_session

    conf = {**settings.spark.conf,
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "4",
            "spark.ui.enabled": "false",
            "spark.driver.memory": "2g"}
    from lakeprep.text.chunking import worker_conf

    # As the text job builds its session: the worker daemon preloads the job's tokenizer.
    session = build_session(dataclasses.replace(settings.spark, master="local[2]", conf=conf),
                            extra_conf=worker_conf(settings.chunking.encoding))
    yield session
    session.stop()


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL (the embedded server's binaries) on a free loopback port, for the session.

    Its data lives in a 0755 temp dir, not pytest's tmp_path: as root, the server runs as a service
    user that cannot traverse /tmp/pytest-of-root (0700).
    """
    import shutil
    import socket
    import tempfile
    from pathlib import Path

    from lakeprep.db.embedded import EmbeddedPostgres

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = Path(tempfile.mkdtemp(prefix="lakeprep-e2e-pg-"))
    base.chmod(0o755)
    server = EmbeddedPostgres(base / "pgdata", port).start()
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible HTTP server (moto's standalone server) on a free loopback port.

    Yields the endpoint URL. Fake credentials and the endpoint are put in os.environ only for
    the tests that use this fixture (restored afterwards), so no test can reach real AWS with
    real keys by accident. Subprocesses (spark-submit, the upload command) inherit them.
    """
    import socket

    moto_server = pytest.importorskip("moto.server")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    fake = {"AWS_ACCESS_KEY_ID": "lakeprep-test-key",
            "AWS_SECRET_ACCESS_KEY": "lakeprep-test-Secret-4d1e",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint}
    # Variables that would redirect the fake credentials or the endpoint elsewhere.
    hidden = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL_S3",
              "AWS_DEFAULT_REGION")
    saved = {k: os.environ.get(k) for k in (*fake, *hidden)}
    for k in hidden:
        os.environ.pop(k, None)
    os.environ.update(fake)
    try:
        yield endpoint
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


class _Database:
    """Connection parameters of one database on the test server (the EmbeddedPostgres interface
    the e2e tests use: host, port, database, user, params())."""

    def __init__(self, server, database: str):
        self.host, self.port, self.user, self.database = server.host, server.port, server.user, database

    def params(self) -> dict:
        return {"host": self.host, "port": self.port, "dbname": self.database, "user": self.user}


@pytest.fixture(scope="session")
def pg_database(pg_server):
    """Factory: a fresh, empty database on the session's server. Each e2e module loads into its
    own, so its row counts see only its own runs whatever ran before it."""
    import psycopg2

    def make(name: str) -> _Database:
        conn = psycopg2.connect(**pg_server.params())
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return _Database(pg_server, name)

    return make


@pytest.fixture(scope="session")
def pushgateway(tmp_path_factory):
    """A real Prometheus Pushgateway on a free loopback port; yields its base URL."""
    from prom_helpers import free_port, start_binary

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_binary(("prometheus-pushgateway", "pushgateway"),
                        [f"--web.listen-address=127.0.0.1:{port}"], f"{url}/-/ready",
                        tmp_path_factory.mktemp("pushgateway") / "pushgateway.log")
    yield url
    proc.terminate()
    proc.wait(timeout=10)
