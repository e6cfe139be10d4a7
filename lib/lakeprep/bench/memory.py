"""Peak resident memory of a process tree, sampled from /proc while it runs.

spark-submit starts a JVM (driver; in local mode also the executor) which starts Python worker
processes; their memory is reported apart, because "the driver stays flat" and "the Python
workers stay flat" are different claims with different causes.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    out = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        for task in task_dir.iterdir():
            text = (task / "children").read_text().split()
            out.extend(int(c) for c in text)
    except OSError:
        pass
    return out


def descendants(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(_children(p))
    return seen


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def kind(pid: int) -> str:
    try:
        exe = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except OSError:
        return "other"
    name = os.path.basename(exe)
    if name == "java":
        return "jvm"
    if name.startswith("python"):
        return "python"
    return "other"


class PeakMemory:
    """``with PeakMemory(pid) as m: ...`` then m.peaks = {"jvm": bytes, "python": bytes}
    (python = the sum over all Python processes at the same instant, the workers' total)."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval = pid, interval
        self.peaks = {"jvm": 0, "python": 0, "total": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        now = {"jvm": 0, "python": 0, "total": 0}
        for p in descendants(self.pid):
            rss = rss_bytes(p)
            k = kind(p)
            if k in now:
                now[k] += rss
            now["total"] += rss
        for k, v in now.items():
            self.peaks[k] = max(self.peaks[k], v)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
