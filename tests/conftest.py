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
    session = build_session(dataclasses.replace(settings.spark, master="local[2]", conf=conf))
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
