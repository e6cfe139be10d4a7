"""Incremental runs end to end (real Spark, Delta and PostgreSQL): a corpus is processed, then
files are touched, modified, added and deleted, and the next run must process exactly the new and
changed ones, replace the changed documents' chunks, tombstone the deleted ones (only under its
own input), and leave everything else alone; --full-refresh and a rules change reprocess all.

Runs the pipeline in-process on the session's Spark (run_text_pipeline is what the job calls;
the job's flag is checked separately) to keep five runs affordable.
"""
from __future__ import annotations

import dataclasses
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from lakeprep.config import load_settings
from lakeprep.db.connection import PgTarget
from lakeprep.text import incremental as inc
from lakeprep.text.pipeline import LakeLayout, run_text_pipeline, to_uri

ROOT = Path(__file__).resolve().parents[2]
# Near-duplicate clustering (iterative Spark jobs) is off here to keep five runs affordable:
# incremental selection does not depend on it, and exact dedup across runs stays on.
_CONF = load_settings(ROOT / "conf" / "local.yaml")
SETTINGS = dataclasses.replace(_CONF, dedup=dataclasses.replace(_CONF.dedup,
                                                                near_duplicates=False))
PG_TABLES = {"documents": "doc_id", "chunks": "chunk_id", "rejected_chunks": "chunk_id"}

_VOCAB = ("river mountain engineer station garden letter market window teacher morning harbor "
          "village orchard bridge library winter summer signal lantern journey kitchen meadow "
          "painter doctor island forest planet museum theater valley castle farmer sailor "
          "machine history science language country evening picture problem question answer "
          "number system method process student project result moment family friend quickly "
          "slowly carefully quietly bright ancient modern simple careful gentle").split()
_VERBS = "built found carried opened measured painted visited described repaired followed".split()


def prose(seed: int, sentences: int = 10) -> str:
    """English-looking text that passes the document rules and shares no 5-gram with another
    seed's text (so dedup leaves it alone)."""
    rng = random.Random(seed)
    out = []
    for _ in range(sentences):
        a, b, c, d = rng.sample(_VOCAB, 4)
        out.append(f"The {a} {rng.choice(_VERBS)} the {b} of a {c} and it was with the {d} "
                   f"that they had to go to {rng.choice(_VOCAB)} {seed}.")
    return " ".join(out)


def query(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def snapshot(conn) -> dict[str, list[tuple]]:
    return {t: query(conn, f"SELECT * FROM {t} ORDER BY {k}") for t, k in PG_TABLES.items()}


def documents_content(conn) -> list[tuple]:
    """PostgreSQL documents without the columns that say when (modified_at comes from the
    file's mtime, which touching changes)."""
    cols = [r[0] for r in query(conn, "SELECT column_name FROM information_schema.columns WHERE "
                                      "table_name = 'documents' ORDER BY ordinal_position")
            if r[0] not in ("modified_at", "processed_at", "run_id")]
    return query(conn, f"SELECT {', '.join(cols)} FROM documents ORDER BY doc_id")


@pytest.fixture(scope="module")
def world(spark, tmp_path_factory, pg_database):
    base = tmp_path_factory.mktemp("incremental")
    corpus = base / "corpus"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_mock_data.py"), "--out",
                    str(corpus), "--docs", "100", "--quiet"], check=True)
    other = base / "corpus-other"  # a second input sharing the lake: never tombstoned by runs on corpus
    other.mkdir()
    for i in range(2):
        (other / f"other-{i}.txt").write_text(prose(900 + i), encoding="utf-8")
    lake = base / "lake"
    db = pg_database("incremental")
    target = PgTarget(db.host, db.port, db.database, db.user, "public", False)
    conn = psycopg2.connect(**db.params())
    conn.autocommit = True

    def run(inputs, **kw):
        return run_text_pipeline(spark, kw.pop("settings", SETTINGS), [str(p) for p in inputs],
                                 str(lake), target, **kw)

    out = {"conn": conn, "corpus": corpus, "other": other, "lake": lake, "spark": spark}
    out["run_other"] = run([other])
    out["run1"] = run([corpus])
    out["state1"] = state_rows(spark, lake)
    out["silver1"] = silver_processed_at(spark, lake)

    # Accepted .txt documents with several chunks that no dedup decision involves: changing or
    # deleting them must not requeue anything else, so the expected counts are exact.
    candidates = [r[0] for r in query(conn, """
        SELECT d.source_uri FROM documents d
        WHERE d.source_format = 'txt' AND d.status = 'accepted' AND d.duplicate_of IS NULL
          AND d.near_dup_cluster IS NULL
          AND NOT EXISTS (SELECT 1 FROM documents o WHERE o.duplicate_of = d.doc_id)
          AND (SELECT count(*) FROM chunks c WHERE c.doc_id = d.doc_id) >= 2
        ORDER BY d.source_uri""")]
    # Touched ones too: a new mtime moves a document in dedup's first-seen order.
    assert len(candidates) >= 7, candidates
    local = {u: Path(u[len("file:"):]) for u in candidates}
    modified, deleted, touched = candidates[:2], candidates[2:4], candidates[4:7]
    out["old_chunks"] = {u: query(conn, "SELECT c.content FROM chunks c JOIN documents d "
                                        "USING (doc_id) WHERE d.source_uri = %s", u)
                         for u in modified}
    for i, u in enumerate(modified):
        local[u].write_text(prose(100 + i, sentences=6), encoding="utf-8")
    for u in deleted:
        local[u].unlink()
    for u in touched:
        p = Path(u[len("file:"):])
        st = p.stat()
        os.utime(p, (st.st_atime + 3600, st.st_mtime + 3600))
    added = []
    for i in range(2):
        p = corpus / "added" / f"added-{i}.txt"
        p.parent.mkdir(exist_ok=True)
        p.write_text(prose(200 + i), encoding="utf-8")
        added.append(to_uri(str(p)))
    out.update(modified=modified, deleted=deleted, touched=touched, added=added)

    out["pg_before_run2"] = snapshot(conn)
    out["run2"] = run([corpus])
    out["state2"] = state_rows(spark, lake)
    out["silver2"] = silver_processed_at(spark, lake)
    out["pg2"] = snapshot(conn)
    out["docs2"] = documents_content(conn)
    out["run3"] = run([corpus], full_refresh=True)
    out["state3"] = state_rows(spark, lake)
    out["pg3"] = snapshot(conn)
    out["docs3"] = documents_content(conn)
    # A rules change (any threshold in the fingerprint) reprocesses everything. (A run without
    # any change processing nothing is checked by test_text_pipeline_e2e's second run.)
    changed_rules = dataclasses.replace(SETTINGS, chunk_filter=dataclasses.replace(
        SETTINGS.chunk_filter, max_non_alnum_ratio=SETTINGS.chunk_filter.max_non_alnum_ratio + 1e-9))
    out["rules4"] = changed_rules.rules_fingerprint()
    out["run4"] = run([corpus], settings=changed_rules)
    out["state4"] = state_rows(spark, lake)
    # The corpus vanishes but for one file (an unmounted share): the deletion guard (here from
    # 10 documents, half of them) must stop the run before it tombstones anything.
    guarded = dataclasses.replace(changed_rules, input=dataclasses.replace(
        changed_rules.input, max_deleted_fraction=0.5, min_deleted_to_guard=10))
    moved = base / "corpus-moved"
    corpus.rename(moved)
    corpus.mkdir()
    shutil.copy(moved / local[touched[0]].relative_to(corpus), corpus / "survivor.txt")
    out["pg_before_guard"], out["state_before_guard"] = snapshot(conn), state_rows(spark, lake)
    try:
        run([corpus], settings=guarded)
    except inc.MassDeletion as exc:
        out["guard_error"] = str(exc)
    out["pg_after_guard"], out["state_after_guard"] = snapshot(conn), state_rows(spark, lake)
    shutil.rmtree(corpus)
    moved.rename(corpus)
    yield out
    conn.close()
    shutil.rmtree(base, ignore_errors=True)


def state_rows(spark, lake) -> dict[str, dict]:
    """State rows by doc_id (an export file's records share one source_uri)."""
    df = inc.read_table(spark, LakeLayout(to_uri(str(lake))).state_documents)
    return {r["doc_id"]: r.asDict() for r in df.collect()}


def by_uri(rows: dict[str, dict], uri: str) -> dict:
    """The state row of a .txt file (one document per file)."""
    [row] = [r for r in rows.values() if r["source_uri"] == uri]
    return row


def silver_processed_at(spark, lake) -> dict[str, object]:
    df = inc.read_table(spark, LakeLayout(to_uri(str(lake))).silver_documents)
    return {r["doc_id"]: r["processed_at"] for r in df.select("doc_id", "processed_at").collect()}


def test_first_run_sees_everything_as_new(world):
    first = world["run1"]["incremental"]
    assert first["new"] == first["processed"] == world["run1"]["documents"]["documents"] > 90
    assert first["changed"] == first["unchanged"] == first["deleted_at_source"] == 0


def test_second_run_counts_exactly(world):
    total1 = world["run1"]["incremental"]["new"]
    got = world["run2"]["incremental"]
    assert got == {"new": 2, "changed": 2, "unchanged": total1 - 4, "deleted_at_source": 2,
                   "processed": 4, "reprocessed_unchanged": 0}
    # Only the processed documents are in this run's document counts.
    assert world["run2"]["documents"]["documents"] == 4
    [row] = query(world["conn"], "SELECT status, documents_new, documents_changed, "
                                 "documents_unchanged, documents_deleted, documents_processed, "
                                 "documents_in, full_refresh FROM pipeline_runs WHERE run_id = %s",
                  world["run2"]["run_id"])
    assert row == ("succeeded", 2, 2, total1 - 4, 2, 4, 4, False)
    assert "| deleted at source (tombstoned, chunks removed) | 2 |" in \
        (Path(world["run2"]["report_uri"][len("file:"):]).read_text())


def test_unchanged_and_touched_documents_are_not_reprocessed(world):
    run1, run2 = world["run1"]["run_id"], world["run2"]["run_id"]
    changed = set(world["modified"]) | set(world["added"]) | set(world["deleted"])
    for row in world["state2"].values():
        uri = row["source_uri"]
        if uri.startswith(to_uri(str(world["corpus"])) + "/") and uri not in changed:
            assert row["run_id"] == run1, uri
    for uri in world["touched"]:
        assert by_uri(world["state2"], uri)["run_id"] == run1
    for uri in set(world["modified"]) | set(world["added"]):
        assert by_uri(world["state2"], uri)["run_id"] == run2
    # The lake rows of unchanged documents were not rewritten either.
    unchanged_ids = {r[0] for r in query(world["conn"], "SELECT doc_id FROM documents WHERE "
                                                        "source_uri <> ALL(%s)", list(changed))}
    for doc_id in unchanged_ids:
        assert world["silver2"][doc_id] == world["silver1"][doc_id]
    # PostgreSQL: unchanged documents' rows are byte-for-byte the same.
    before = {r[0]: r for r in world["pg_before_run2"]["documents"]}
    after = {r[0]: r for r in world["pg2"]["documents"]}
    assert all(after[d] == before[d] for d in unchanged_ids)


def test_changed_documents_replace_their_chunks_everywhere(world):
    conn, spark = world["conn"], world["spark"]
    layout = LakeLayout(to_uri(str(world["lake"])))
    silver_chunks = inc.read_table(spark, layout.silver_chunks)
    for i, uri in enumerate(world["modified"]):
        [(doc_id,)] = query(conn, "SELECT doc_id FROM documents WHERE source_uri = %s", uri)
        rows = query(conn, "SELECT content FROM chunks WHERE doc_id = %s", doc_id)
        # Six sentences fit in one chunk; the old version had at least two.
        assert [c for (c,) in rows] == [prose(100 + i, sentences=6)]
        assert query(conn, "SELECT count(*) FROM rejected_chunks WHERE doc_id = %s", doc_id) == [(0,)]
        old = {c for (c,) in world["old_chunks"][uri]}
        assert len(old) >= 2 and not old & {c for (c,) in rows}
        lake_rows = silver_chunks.filter(f"doc_id = '{doc_id}'").select("content").collect()
        assert [r[0] for r in lake_rows] == [prose(100 + i, sentences=6)]


def test_deleted_documents_are_tombstoned_without_chunks(world):
    conn, spark = world["conn"], world["spark"]
    layout = LakeLayout(to_uri(str(world["lake"])))
    silver_docs = inc.read_table(spark, layout.silver_documents)
    silver_chunks = inc.read_table(spark, layout.silver_chunks)
    for uri in world["deleted"]:
        [(doc_id, deleted_at)] = query(conn, "SELECT doc_id, deleted_at FROM documents "
                                             "WHERE source_uri = %s", uri)
        assert deleted_at is not None
        assert query(conn, "SELECT count(*) FROM chunks WHERE doc_id = %s", doc_id) == [(0,)]
        assert silver_chunks.filter(f"doc_id = '{doc_id}'").count() == 0
        assert silver_docs.filter(f"doc_id = '{doc_id}'").first()["deleted_at"] is not None
        assert by_uri(world["state2"], uri)["deleted_at"] is not None
    # Only those two: nothing else is tombstoned, least of all the other input's documents.
    assert query(conn, "SELECT count(*) FROM documents WHERE deleted_at IS NOT NULL") == [(2,)]
    other = to_uri(str(world["other"]))
    assert query(conn, "SELECT count(*) FROM documents WHERE source_uri LIKE %s "
                       "AND deleted_at IS NULL", other + "/%") == [(2,)]


def test_full_refresh_reprocesses_all_and_changes_nothing(world):
    total = world["run1"]["incremental"]["new"]  # -2 deleted +2 added
    got = world["run3"]["incremental"]
    assert got["processed"] == got["unchanged"] == total and got["new"] == got["changed"] == 0
    assert got["reprocessed_unchanged"] == total and world["run3"]["full_refresh"] is True
    corpus = to_uri(str(world["corpus"]))
    live = {d: r for d, r in world["state3"].items() if r["source_uri"].startswith(corpus + "/")
            and r["deleted_at"] is None}
    assert len(live) == total and {r["run_id"] for r in live.values()} == {world["run3"]["run_id"]}
    # Same inputs, same rules: reprocessing leaves PostgreSQL as it was, except the new mtime
    # of the touched files (their rows are updated, nothing else is).
    for table in ("chunks", "rejected_chunks"):
        assert world["pg3"][table] == world["pg2"][table]
    assert world["docs3"] == world["docs2"]
    merged = world["run3"]["postgres"]
    assert merged.pop("documents_upserted") == len(world["touched"])
    assert set(merged.values()) == {0}


def test_rules_change_reprocesses_everything(world):
    got = world["run4"]["incremental"]
    assert got["processed"] == got["unchanged"] == world["run1"]["incremental"]["new"]
    assert world["run4"]["rules_version"] == world["rules4"] != world["run3"]["rules_version"]
    corpus = to_uri(str(world["corpus"]))
    live = [r for r in world["state4"].values() if r["source_uri"].startswith(corpus + "/")
            and r["deleted_at"] is None]
    assert {r["rules_version"] for r in live} == {world["rules4"]}
    assert {r["run_id"] for r in live} == {world["run4"]["run_id"]}


def test_mass_deletion_stops_the_run_before_any_write(world):
    assert "are gone at the source" in world.get("guard_error", ""), world.get("guard_error")
    assert "--allow-mass-delete" in world["guard_error"]
    assert world["pg_after_guard"] == world["pg_before_guard"]
    assert world["state_after_guard"] == world["state_before_guard"]


def test_job_has_full_refresh_flag():
    proc = subprocess.run([sys.executable, str(ROOT / "jobs" / "text_pipeline.py"), "--help"],
                          capture_output=True, text=True, check=True)
    assert "--full-refresh" in proc.stdout
    sys.path.insert(0, str(ROOT / "jobs"))
    try:
        import text_pipeline
    finally:
        sys.path.pop(0)
    assert text_pipeline.parse_args(["--input", "x", "--full-refresh"]).full_refresh is True
    assert text_pipeline.parse_args(["--input", "x"]).full_refresh is False
    assert text_pipeline.parse_args(["--input", "x", "--allow-mass-delete"]).allow_mass_delete
    assert not text_pipeline.parse_args(["--input", "x"]).allow_mass_delete
