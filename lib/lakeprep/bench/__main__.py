"""`python -m lakeprep.bench` (what `make bench` runs): measure the text job side by side.

Writes docs/BENCHMARKS.md and docs/benchmarks.json. Sections, each a median of --repeats runs:
ceiling (single-process pure Python), Spark efficiency (end-to-end job / ceiling x cores), peer
(datatrove, same corpus and cores), load (Spark JDBC vs parallel COPY), scaling (1x/4x/16x
distinct documents, time and peak memory), stage breakdown. Long: ~40 min with the defaults.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from lakeprep import class_archive
from lakeprep.bench import ceiling, corpus, job
from lakeprep.bench.render import load_bench_conf, render_markdown

log = logging.getLogger("lakeprep.bench")
REPO = job.REPO


def parse_args(argv=None) -> argparse.Namespace:
    d = load_bench_conf()["defaults"]
    p = argparse.ArgumentParser(prog="python -m lakeprep.bench", description=__doc__.split("\n")[0])
    p.add_argument("--corpus-root", default=".cache/corpora",
                   help="where the corpora are built / reused (default: .cache/corpora)")
    p.add_argument("--docs", type=int, default=d["docs"],
                   help="documents in the side-by-side sample of the bench corpus "
                        "(default: conf/bench.yaml)")
    p.add_argument("--scale-base", type=int, default=d["scale_base"],
                   help="documents at scale 1x for the scaling runs (default: conf/bench.yaml)")
    p.add_argument("--scales", default=",".join(map(str, d["scales"])),
                   help="comma-separated scaling factors (default: conf/bench.yaml)")
    p.add_argument("--load-volume", type=int, default=d["load_volume"],
                   help="the load is also measured with the job's chunk rows repeated this many "
                        "times (default: conf/bench.yaml; 1 = only the job's rows)")
    p.add_argument("--repeats", type=int, default=d["repeats"],
                   help="runs per figure, medians reported (default: conf/bench.yaml)")
    p.add_argument("--sections", default="ceiling,job,load,peer,scaling",
                   help="comma-separated subset to run (default: all; 'compare' needs --baseline)")
    p.add_argument("--baseline", help="git revision to compare the working tree's job with")
    p.add_argument("--after", help="git revision measured against --baseline instead of the "
                                   "working tree (one optimization of several committed)")
    p.add_argument("--change", default="",
                   help="what changed since --baseline (the optimization's name in the table)")
    p.add_argument("--config", default="conf/local.yaml", help="job configuration")
    p.add_argument("--work", default=".cache/bench", help="scratch folder (lakes, database, logs)")
    p.add_argument("--out", default="docs/BENCHMARKS.md")
    p.add_argument("--json", default="docs/benchmarks.json")
    p.add_argument("--peer-python", default=".cache/bench-venv/bin/python",
                   help="Python with datatrove installed (make bench-venv)")
    return p.parse_args(argv)


def machine() -> dict:
    mem_kb = next(int(line.split()[1]) for line in open("/proc/meminfo")
                  if line.startswith("MemTotal:"))
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                  if line.startswith("model name")), platform.processor())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    import pyspark
    return {"cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1), "cpu": model,
            # Other work on the machine skews every figure: the page shows it.
            "load_average_at_start": round(os.getloadavg()[0], 2),
            "python": platform.python_version(), "spark": pyspark.__version__,
            "commit": commit, "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def sample_dir(files: list[Path], n: int, offset: int, work: Path, name: str) -> Path:
    """n documents spread evenly over the (name-sorted, so source-grouped) corpus, hard-linked
    into their own folder: every sample has the corpus' mix of sources."""
    if n > len(files):
        raise SystemExit(f"error: asked for {n} documents, the corpus has {len(files)}")
    step = len(files) / n
    chosen = [files[int(i * step + offset) % len(files)] for i in range(n)]
    out = work / name
    if out.exists() and len(list(out.iterdir())) == n:
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for f in chosen:
        os.link(f, out / f.name)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def median_of(runs: list[dict], key: str) -> float:
    # An even number of runs averages the middle two: binary floats (45.6 + 45.6) / 2 print as
    # 45.599999999999994 on the page, so round to the figures' own precision.
    return round(statistics.median(r[key] for r in runs), 2)


def _medians(runs: list[dict], key: str) -> dict[str, float]:
    """Per-name medians of the runs' ``key`` timings (a name a run lacks counts as 0 s)."""
    return {s: round(statistics.median(r.get(key, {}).get(s, 0.0) for r in runs), 2)
            for s in runs[0].get(key, {})}


def _server_cpu(server) -> dict[str, int] | None:
    """The PostgreSQL server's process tree, to count its CPU beside the job's (None: unknown)."""
    pid = server.pid()
    return {"postgres": pid} if pid else None


def job_section(sample: Path, n_docs: int, work: Path, server, cfg: Path, repeats: int,
                ceiling_result: dict | None) -> dict:
    runs = []
    for i in range(repeats):
        db = job.fresh_database(server.params(), f"bench_job_{i}")
        log.info("job run %d/%d on %d docs", i + 1, repeats, n_docs)
        runs.append(job.run_job(sample, work, db, cfg, f"job{i}", keep_lake=i == repeats - 1,
                                cpu_of=_server_cpu(server)))
    wall = median_of(runs, "wall_s")
    in_job = median_of(runs, "job_s")
    out = {"runs": runs, "documents": n_docs, "wall_s": wall, "job_s": in_job,
           "docs_per_s": round(n_docs / wall, 1), "docs_per_s_in_job": round(n_docs / in_job, 1),
           "stage_seconds": {s: round(statistics.median(r["stage_seconds"][s] for r in runs), 2)
                             for s in runs[0]["stage_seconds"]},
           # Work that overlapped the stages (Delta writes, report aggregations): its own seconds.
           "background_seconds": _medians(runs, "background_seconds"),
           # The postgres stage split into the staging writes and each merge statement.
           "postgres_seconds": _medians(runs, "postgres_seconds"),
           # Where the cores' time went: the job's JVM, its Python processes, PostgreSQL.
           "cpu_seconds": _medians(runs, "cpu_seconds")}
    if ceiling_result:
        cores = os.cpu_count()
        cap = ceiling_result["docs_per_s"] * cores
        out["ceiling_docs_per_s_x_cores"] = round(cap, 1)
        out["efficiency"] = round(out["docs_per_s"] / cap, 3)
        out["efficiency_in_job"] = round(out["docs_per_s_in_job"] / cap, 3)
    return out


def export_revision(rev: str, work: Path) -> tuple[Path, str]:
    """``rev``'s tracked files under work/baseline-<sha> (reused when already there)."""
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.strip()
    out = work / f"baseline-{sha}"
    if not (out / "jobs" / "text_pipeline.py").exists():
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", "--format=tar", sha], cwd=REPO,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out, sha


def compare_section(rev: str, change: str, sample: Path, n_docs: int, work: Path, server,
                    config: str, repeats: int, commit: str, after: str | None = None) -> dict:
    """Baseline and working tree (or revision ``after``) alternately, so drift of the machine
    hits both; medians."""
    base, sha = export_revision(rev, work)
    after_repo = REPO
    if after:
        after_repo, commit = export_revision(after, work)
    sides: dict[str, list[dict]] = {"before": [], "after": []}
    for i in range(repeats):
        for side, repo in (("before", base), ("after", after_repo)):
            db = job.fresh_database(server.params(), f"bench_cmp_{side}_{i}")
            log.info("compare %s (%s) run %d/%d", side,
                     sha if side == "before" else (commit if after else "tree"),
                     i + 1, repeats)
            sides[side].append(job.run_job(sample, work, db, (repo / config).resolve(),
                                           f"cmp-{side}{i}", repo=repo,
                                           cpu_of=_server_cpu(server)))
    return {"change": change, "baseline": sha, "commit": commit, "documents": n_docs,
            "repeats": repeats, **summarize_comparison(sides)}


def summarize_comparison(sides: dict[str, list[dict]]) -> dict:
    """Medians of each side's runs (``before`` / ``after``, run i of each back to back), the
    speedups and each pair's in-job ratio."""
    out: dict = {}
    for side, runs in sides.items():
        out[f"{side}_wall_s"] = median_of(runs, "wall_s")
        out[f"{side}_job_s"] = median_of(runs, "job_s")
        stages = set(runs[0]["stage_seconds"])
        out[f"{side}_stage_seconds"] = {
            st: round(statistics.median(r["stage_seconds"].get(st, 0.0) for r in runs), 2)
            for st in stages}
        # CPU seconds per process kind: a change's effect on the work done, which the
        # machine's noise (other tenants' load stretching the wall clock) moves far less.
        out[f"{side}_cpu_seconds"] = _medians(runs, "cpu_seconds")
        # Peak resident MB (driver JVM, Python workers' total): memory optimizations are
        # judged by these, not by time.
        out[f"{side}_peak_rss_mb"] = _medians(runs, "peak_rss_mb")
    out["speedup_wall"] = round(out["before_wall_s"] / out["after_wall_s"], 3)
    out["speedup_job"] = round(out["before_job_s"] / out["after_job_s"], 3)
    # Each repeat's before and after ran back to back: the spread of their ratios shows how
    # much of the median speedup the machine's run-to-run noise could account for.
    out["paired_speedups_job"] = [round(b["job_s"] / a["job_s"], 3)
                                  for b, a in zip(sides["before"], sides["after"])]
    return out


def record_comparison(history_path: Path, entry: dict) -> list[dict]:
    """Add ``entry`` to the comparison history (the same baseline/commit/change replaces its
    earlier measurement); returns the history."""
    history = json.loads(history_path.read_text()) if history_path.exists() else []
    key = (entry["baseline"], entry["commit"], entry["change"])
    history = [h for h in history if (h["baseline"], h["commit"], h["change"]) != key]
    history.append(entry)
    history_path.parent.mkdir(parents=True, exist_ok=True)
    history_path.write_text(json.dumps(history, indent=2) + "\n")
    return history


def peer_section(sample: Path, n_docs: int, work: Path, python: str, repeats: int) -> dict:
    if not Path(python).exists():
        raise SystemExit(f"error: {python} not found; run `make bench-venv` first")
    cores = os.cpu_count()
    script = Path(__file__).with_name("datatrove_peer.py")
    walls = []
    for i in range(repeats):
        out = work / f"peer-{i}"
        shutil.rmtree(out, ignore_errors=True)
        log.info("datatrove run %d/%d", i + 1, repeats)
        t0 = time.monotonic()
        subprocess.run([python, str(script), str(sample), str(out), str(2 * cores), str(cores)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(round(time.monotonic() - t0, 2))
        shutil.rmtree(out, ignore_errors=True)
    wall = statistics.median(walls)
    return {"wall_s_runs": walls, "wall_s": wall, "docs_per_s": round(n_docs / wall, 1),
            "tasks": 2 * cores, "workers": cores}


def job_lake(work: Path) -> Path:
    """The lake of the job section's last run in ``work`` (the load section loads its chunks)."""
    runs = {int(p.name[8:]): p for p in work.glob("lake-job*") if p.name[8:].isdigit()}
    if not runs or not (runs[max(runs)] / "silver" / "chunks").is_dir():
        raise SystemExit(f"error: the load section needs a job run's lake in {work}: run it "
                         "with the job section (--sections job,load) or point --work at an "
                         "earlier bench's folder")
    return runs[max(runs)]


def load_section(work: Path, server, settings, repeats: int, volume: int = 1) -> dict:
    from lakeprep.bench import pgload
    from lakeprep.db.connection import PgTarget
    from lakeprep.spark import build_session

    lake = job_lake(work)
    db = job.fresh_database(server.params(), "bench_load")
    target = PgTarget(db["host"], int(db["port"]), db["dbname"], db["user"], "public", False)
    import dataclasses
    quiet = {**settings.spark.conf, "spark.ui.showConsoleProgress": "false"}
    spark = build_session(dataclasses.replace(settings.spark, conf=quiet))
    try:
        return pgload.measure(spark, f"file:{lake.resolve()}/silver/chunks", db, target,
                              settings.postgres.jdbc, repeats, volume, server.pid())
    finally:
        spark.stop()


def scaling_section(files: list[Path], base: int, scales: list[int], work: Path, server,
                    cfg: Path, repeats: int) -> dict:
    points = []
    for k in scales:
        n = base * k
        d = sample_dir(files, n, 1, work, f"scale-{k}x")
        runs = []
        for i in range(repeats):
            db = job.fresh_database(server.params(), f"bench_scale_{k}_{i}")
            log.info("scaling %dx (%d docs) run %d/%d", k, n, i + 1, repeats)
            runs.append(job.run_job(d, work, db, cfg, f"scale{k}-{i}"))
        points.append({
            "scale": k, "documents": n, "wall_s": median_of(runs, "wall_s"),
            "job_s": median_of(runs, "job_s"),
            "peak_jvm_mb": statistics.median(r["peak_rss_mb"]["jvm"] for r in runs),
            "peak_python_mb": statistics.median(r["peak_rss_mb"]["python"] for r in runs),
            "runs": runs})
    first = points[0]
    for p in points:
        # Seconds per document relative to the smallest run: 1.0 = perfectly linear.
        p["per_doc_vs_1x_wall"] = round((p["wall_s"] / p["documents"]) /
                                        (first["wall_s"] / first["documents"]), 3)
        p["per_doc_vs_1x_job"] = round((p["job_s"] / p["documents"]) /
                                       (first["job_s"] / first["documents"]), 3)
    return {"base_documents": base, "points": points}


# Documents of the unmeasured warm-up run: every stage of the job runs (and loads its classes)
# whatever the input's size.
WARMUP_DOCS = 500
# Sections that run the job (or its JVM) and so map the class archive.
SPARK_SECTIONS = {"job", "load", "scaling", "compare"}


def warm_up(files: list[Path], work: Path, server, cfg: Path, archive_dir: str) -> dict:
    """Make sure the measured runs map the driver JVM's class archive (lakeprep.class_archive).

    On a machine without one for this JVM and these jars, the first run writes it when its JVM
    exits (~20 s of CPU; on a fresh 2-core machine the first 5,000-document run measured JVM
    CPU 72.8 s and a 1,682 MB peak against ~24 s and ~850 MB with the archive there), and a run
    started within seconds of that dump writes another. One unmeasured run on a small sample
    writes it first; it is promoted once settled, so every measured run maps it.
    """
    if not archive_dir:
        return {"class_archive": "off"}
    path = Path(archive_dir).expanduser()
    folder = str(path if path.is_absolute() else REPO / path)
    # Fingerprinted once: it stats every jar, and jvm_options would do it on each call.
    fp = class_archive.fingerprint()
    if fp is None:
        return {"class_archive": "no java found"}
    if class_archive.jvm_options(folder, dump=False, fp=fp):
        return {"class_archive": "present"}
    log.info("warm-up: no class archive for this JVM and these jars yet; one unmeasured run on "
             "%d documents writes it", WARMUP_DOCS)
    t0 = time.monotonic()
    sample = sample_dir(files, WARMUP_DOCS, 2, work, f"warmup-{WARMUP_DOCS}")
    job.run_job(sample, work, job.fresh_database(server.params(), "bench_warmup"), cfg, "warmup")
    time.sleep(class_archive.COMPLETE_SETTLED_S + 1)  # then the dump counts as finished
    if not class_archive.jvm_options(folder, dump=False, fp=fp):
        log.warning("warm-up: no class archive was written; the first measured runs write it")
        return {"class_archive": "not written", "seconds": round(time.monotonic() - t0, 1)}
    return {"class_archive": "written by the warm-up run",
            "seconds": round(time.monotonic() - t0, 1)}


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bench: %(message)s")
    from lakeprep.config import load_settings
    from lakeprep.db.embedded import EmbeddedPostgres

    sections = set(args.sections.split(","))
    if args.baseline:
        sections.add("compare")
    elif "compare" in sections:
        raise SystemExit("error: --sections compare needs --baseline REV")
    work = (REPO / args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    cfg = (REPO / args.config).resolve()
    settings = load_settings(cfg)
    bench_corpus = corpus.ensure_corpus((REPO / args.corpus_root).resolve(), "bench")
    files = sorted(bench_corpus.glob("*.txt"))
    sample = sample_dir(files, args.docs, 0, work, f"sample-{args.docs}")
    sample_files = sorted(sample.iterdir())
    results: dict = {"machine": machine(), "corpus": {
        "name": "bench", "documents_total": len(files), "sample_documents": args.docs,
        "sample_bytes": sum(f.stat().st_size for f in sample_files)},
        "repeats": args.repeats, "config": args.config}

    if "ceiling" in sections:
        log.info("ceiling: %d docs, %d passes", args.docs, args.repeats)
        results["ceiling"] = ceiling.measure(sample_files, settings, args.repeats)
    pg_dir = work / "pg"
    work.chmod(0o755)
    server = EmbeddedPostgres(pg_dir, free_port()).start()
    try:
        if sections & SPARK_SECTIONS:
            results["warmup"] = warm_up(files, work, server, cfg,
                                        settings.spark.class_archive_dir)
        if "job" in sections:
            results["job"] = job_section(sample, args.docs, work, server, cfg, args.repeats,
                                         results.get("ceiling"))
        if "load" in sections:
            results["load"] = load_section(work, server, settings, args.repeats,
                                           args.load_volume)
        if "peer" in sections:
            results["peer"] = peer_section(sample, args.docs, work, args.peer_python, args.repeats)
            if "job" in results:
                results["peer"]["our_speedup"] = round(
                    results["job"]["docs_per_s"] / results["peer"]["docs_per_s"], 3)
        if "scaling" in sections:
            results["scaling"] = scaling_section(
                files, args.scale_base, [int(s) for s in args.scales.split(",")], work, server,
                cfg, args.repeats)
        comparison = None
        if "compare" in sections:
            comparison = compare_section(args.baseline, args.change, sample, args.docs, work,
                                         server, args.config, args.repeats,
                                         results["machine"]["commit"], args.after)
    finally:
        server.stop()
    results["machine"]["load_average_at_end"] = round(os.getloadavg()[0], 2)
    out_json = REPO / args.json
    out_json.parent.mkdir(parents=True, exist_ok=True)
    history_path = out_json.with_name("benchmarks-optimizations.json")
    history = (record_comparison(history_path, comparison) if comparison else
               json.loads(history_path.read_text()) if history_path.exists() else [])
    if sections - {"compare"}:
        out_json.write_text(json.dumps(results, indent=2) + "\n")
    elif out_json.exists():  # a comparison alone: the page keeps the last full results
        results = json.loads(out_json.read_text())
    (REPO / args.out).write_text(render_markdown(results, optimizations=history))
    print(f"wrote {args.out}, {args.json} and {history_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
