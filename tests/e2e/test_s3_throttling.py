"""S3 throttling: an endpoint that answers every request with ``503 SlowDown`` (what S3 returns
when a prefix gets more requests than it can serve). moto cannot throttle, so this test serves the
S3 protocol's error response itself on loopback. The job must give up after the S3A retry budget
from conf/ and fail with one line that names the input and the cause, not hang or dump a stack.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from submit_helpers import spark_submit_prefix

from lakeprep.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message>"
             b"<RequestId>lakeprep-test</RequestId></Error>")


class _Throttling(BaseHTTPRequestHandler):
    requests = 0

    def _slow_down(self):
        type(self).requests += 1
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(503, "Slow Down")
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(SLOW_DOWN)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(SLOW_DOWN)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _slow_down

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def throttling_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Throttling)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_conf_bounds_the_s3a_retries():
    conf = load_settings(ROOT / "conf" / "local.yaml").spark.conf
    for key in ("fs.s3a.retry.throttle.limit", "fs.s3a.retry.throttle.interval",
                "fs.s3a.retry.limit", "fs.s3a.attempts.maximum"):
        assert f"spark.hadoop.{key}" in conf, key


def test_throttled_input_fails_with_one_line(throttling_endpoint, pg_database, tmp_path):
    db = pg_database("s3_throttling")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "lakeprep-test-key",
                "AWS_SECRET_ACCESS_KEY": "lakeprep-test-Secret-throttle",
                "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": throttling_endpoint,
                "PGHOST": db.host, "PGPORT": str(db.port), "PGDATABASE": db.database,
                "PGUSER": db.user, "PYSPARK_PYTHON": sys.executable,
                "PYSPARK_DRIVER_PYTHON": sys.executable})
    config = tmp_path / "throttle.yaml"
    config.write_text(f"extends: {ROOT / 'conf' / 'local.yaml'}\n"
                      "s3:\n  path_style_access: true\n")
    cmd = [*spark_submit_prefix(), str(ROOT / "jobs" / "text_pipeline.py"),
           "--input", "s3a://throttled-bucket/raw",
           "--lake", str(tmp_path / "lake"), "--config", str(config), "--quiet"]
    before = _Throttling.requests
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    output = proc.stdout + proc.stderr  # the Python driver's stderr arrives on stdout
    assert proc.returncode != 0
    # S3A did retry (more than one request reached the endpoint), then gave up.
    assert _Throttling.requests - before > 1
    error = [ln for ln in output.splitlines() if "input not readable: s3a://throttled-bucket/raw"
             in ln]
    assert error, output[-3000:]
    # The one line says why: throttling (503 SlowDown), not a generic I/O failure.
    assert "Throttled" in error[-1] or "SlowDown" in error[-1] or "503" in error[-1], error[-1]
    assert "at org.apache.hadoop" not in output
