"""Peak resident memory and CPU seconds of a process tree, sampled from /proc while it runs.

spark-submit starts a JVM (driver; in local mode also the executor) which starts Python worker
processes; their memory is reported apart, because "the driver stays flat" and "the Python
workers stay flat" are different claims with different causes. Their CPU seconds (and those
of other named process trees, e.g. the PostgreSQL server the job loads) say where the cores'
time went: the job is CPU-bound, so that is where the next optimization is.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    out = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        for task in task_dir.iterdir():
            text = (task / "children").read_text().split()
            out.extend(int(c) for c in text)
    except OSError:
        pass
    return out


def tree(pid: int) -> list[tuple[int, int | None]]:
    """``pid`` and its descendants, each with its parent (None for ``pid``)."""
    seen: list[tuple[int, int | None]] = []
    todo: list[tuple[int, int | None]] = [(pid, None)]
    while todo:
        p, parent = todo.pop()
        seen.append((p, parent))
        todo.extend((c, p) for c in children(p))
    return seen


def descendants(pid: int) -> list[int]:
    return [p for p, _ in tree(pid)]


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


# /proc/PID/stat field 9 (flags): PF_FORKNOEXEC, "forked but has not exec'd".
_PF_FORKNOEXEC = 0x40


def _stat_fields(pid: int, first: int, last: int) -> list[int]:
    """/proc/PID/stat fields ``first`` to ``last`` (numbered as in proc(5); the numeric ones, 4
    on) as integers; [] for a process that is gone. Split after the command name, which may
    hold spaces."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return [int(f) for f in fields[first - 3:last - 2]]
    except (OSError, ValueError):
        return []


def _not_execed(pid: int) -> bool:
    return any(flags & _PF_FORKNOEXEC for flags in _stat_fields(pid, 9, 9))


def _cpu_ticks(pid: int, last_field: int) -> float:
    """Seconds from /proc/PID/stat fields 14 (utime) up to ``last_field`` (15 stime, 16 cutime,
    17 cstime: reaped children); 0 for a process that is gone."""
    return sum(_stat_fields(pid, 14, last_field)) / TICKS


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process itself (not of its reaped children: a worker seen alive
    and later reaped by its parent would otherwise count twice)."""
    return _cpu_ticks(pid, 15)


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root``'s process tree so far: each live process's own CPU plus what it
    has reaped from exited children. The difference of two readings is the CPU spent between
    them, short-lived children included (a server's per-connection backends): a child alive at
    the first reading and reaped by the second moves from "own" into its parent's reaped total
    with the CPU it had, so it counts once."""
    return sum(_cpu_ticks(pid, 17) for pid in descendants(root))


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
    (python = the sum over all Python processes at the same instant, the workers' total) and
    m.cpu = {"jvm": s, "python": s, **{name: s for name in others}}: CPU seconds spent while
    measuring, per kind; ``others`` names more process trees (by root pid) to count CPU for.
    A process that starts and ends between two samples is missed."""

    def __init__(self, pid: int, interval: float = 0.25,
                 others: dict[str, int] | None = None) -> None:
        self.pid, self.interval = pid, interval
        self.others = dict(others or {})
        self.peaks = {"jvm": 0, "python": 0, "total": 0}
        self.cpu: dict[str, float] = {}
        # pid -> (kind, CPU seconds at the first sample, at the latest sample)
        self._cpu: dict[int, tuple[str, float, float]] = {}
        self._first = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _count_cpu(self, pid: int, k: str) -> None:
        now = cpu_seconds(pid)
        # Processes already running at the first sample (another tree's server and its
        # sessions) count from there; later ones from their start.
        start = self._cpu[pid][1] if pid in self._cpu else (now if self._first else 0.0)
        self._cpu[pid] = (k, start, now)

    def sample(self) -> None:
        now = {"jvm": 0, "python": 0, "total": 0}
        members = tree(self.pid)
        kinds = {p: kind(p) for p, _ in members}
        for p, parent in members:
            k = kinds[p]
            # A JVM starts every process (the Python workers' daemon, Hadoop's shell commands)
            # with posix_spawn: a child that shares the JVM's memory until it execs its helper.
            # Caught in that instant it reads as a second JVM as big as the first (three per
            # 1,500-document run; peaks of 1.2-1.5 GB for an 820 MB JVM). Java never forks a
            # copy of itself that keeps running, so such a child is not counted.
            if k == "jvm" and parent is not None and kinds.get(parent) == "jvm" and _not_execed(p):
                continue
            rss = rss_bytes(p)
            if k in now:
                now[k] += rss
                self._count_cpu(p, k)
            now["total"] += rss
        for name, root in self.others.items():
            for p in descendants(root):
                self._count_cpu(p, name)
        self._first = False
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
        totals = dict.fromkeys(["jvm", "python", *self.others], 0.0)
        for k, start, last in self._cpu.values():
            totals[k] += last - start
        self.cpu = {k: round(v, 1) for k, v in totals.items()}
