"""Benchmark harness: `python -m lakeprep.bench` (or `make bench`) -> docs/BENCHMARKS.md + JSON.

Not part of the pipeline: it measures it. Every comparison is a ratio of two figures measured in
the same invocation on the same corpus, and every figure is the median of repeated runs, so the
numbers mean something on a noisy shared machine.
"""
