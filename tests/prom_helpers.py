"""Reading what the jobs pushed: the Pushgateway's /metrics as {(name, labels): value}."""
from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def pushed_metrics(pushgateway: str) -> dict[tuple, float]:
    """(name, sorted label items) -> value of every sample the Pushgateway holds."""
    with urllib.request.urlopen(f"{pushgateway}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def metric(metrics: dict, job: str, name: str, **labels) -> float | None:
    """One pushed sample of ``job`` (the Pushgateway adds an empty instance label)."""
    want = {"job": f"lakeprep_{job}", "instance": "", **labels}
    return metrics.get((name, tuple(sorted(want.items()))))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Block until ``url`` answers 200 (a server started by a fixture is ready)."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout} s")
        time.sleep(0.2)


def start_binary(names: tuple[str, ...], args: list[str], ready_url: str, log_path):
    """Start the first of ``names`` found on PATH (Debian packages, installed by .ci/run) and
    wait until ``ready_url`` answers; returns the Popen."""
    import shutil
    import subprocess

    binary = next((shutil.which(n) for n in names if shutil.which(n)), None)
    if binary is None:
        raise RuntimeError(f"none of {names} is installed: `apt-get install prometheus "
                           "prometheus-pushgateway` (.ci/run does)")
    log = open(log_path, "wb")
    proc = subprocess.Popen([binary, *args], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(ready_url)
    except BaseException:
        proc.kill()
        raise
    return proc
