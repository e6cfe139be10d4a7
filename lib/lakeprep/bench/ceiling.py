"""The CPU ceiling: the pipeline's own per-document functions in one plain Python process.

Runs exactly what the Spark job's Python workers run per document (``process_document`` then
``chunk_document`` for accepted documents), without Spark, Delta or PostgreSQL. Its throughput
times the number of cores is what the machine could do if distribution were free; the job's
throughput divided by that is Spark's efficiency. The same run times each library function, so
the breakdown shows where Python time goes.
"""
from __future__ import annotations

import functools
import statistics
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

from lakeprep.config import Settings
from lakeprep.text import boilerplate, chunking, clean, decode, language, pii, quality, transforms

# (module, function name, stage label): the functions process_document/chunk_document call
# through their module, so wrapping the module attribute times every call.
INSTRUMENTED = [
    (decode, "decode_bytes", "decode"),
    (clean, "markup_counts", "clean"),
    (clean, "clean_text", "clean"),
    (boilerplate, "remove_boilerplate", "boilerplate"),
    (language, "detect_language", "language"),
    (quality, "compute_signals", "quality"),
    (quality, "quality_score", "quality"),
    (quality, "evaluate", "quality"),
    (pii, "find_pii", "pii"),
    (pii, "redact_spans", "pii"),
    (chunking, "chunk_text", "tokenize_chunk"),
]


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.depth = 0

    def wrap(self, fn, label):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            # Only the outermost instrumented call counts, so nested calls are not double-billed.
            self.depth += 1
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.depth -= 1
                if self.depth == 0:
                    self.seconds[label] += time.perf_counter() - t0
        return timed


@contextmanager
def instrumented(timer: _Timer):
    saved = [(mod, name, getattr(mod, name)) for mod, name, _ in INSTRUMENTED]
    try:
        for mod, name, label in INSTRUMENTED:
            setattr(mod, name, timer.wrap(getattr(mod, name), label))
        yield
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)


def load_corpus(files: list[Path]) -> list[bytes]:
    return [p.read_bytes() for p in files]


def one_pass(contents: list[bytes], settings: Settings, timer: _Timer | None = None) -> dict:
    """Process every document once; returns wall seconds and counts."""
    # The tokenizer is built once per worker process in the job too: build it before timing.
    chunking.get_encoding(settings.chunking.encoding)
    accepted = chunks = 0
    t0 = time.perf_counter()
    for i, content in enumerate(contents):
        doc = transforms.process_document(content, "txt", None, settings)
        if doc["status"] == transforms.STATUS_ACCEPTED:
            accepted += 1
            chunks += len(transforms.chunk_document(str(i), doc["text"], settings))
    return {"seconds": time.perf_counter() - t0, "accepted": accepted, "chunks": chunks}


def measure(files: list[Path], settings: Settings, repeats: int) -> dict:
    """Median single-process throughput over ``repeats`` passes, plus a per-function breakdown
    from one extra instrumented pass (instrumentation adds overhead, so it is not timed)."""
    contents = load_corpus(files)
    total_bytes = sum(len(c) for c in contents)
    passes = [one_pass(contents, settings) for _ in range(repeats)]
    seconds = statistics.median(p["seconds"] for p in passes)
    timer = _Timer()
    with instrumented(timer):
        timed = one_pass(contents, settings, timer)
    other = max(timed["seconds"] - sum(timer.seconds.values()), 0.0)
    breakdown = dict(sorted(timer.seconds.items(), key=lambda kv: -kv[1]))
    breakdown["other_python"] = other
    return {
        "documents": len(contents),
        "bytes": total_bytes,
        "accepted": passes[0]["accepted"],
        "chunks": passes[0]["chunks"],
        "seconds_runs": [round(p["seconds"], 2) for p in passes],
        "seconds": round(seconds, 2),
        "docs_per_s": round(len(contents) / seconds, 1),
        "mb_per_s": round(total_bytes / 1e6 / seconds, 3),
        "function_seconds": {k: round(v, 2) for k, v in breakdown.items()},
    }
