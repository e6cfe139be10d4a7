"""The driver JVM's class-data-sharing archive: one per JVM build and jar set, written once by a
job run, promoted only when complete, used by every later run."""
from __future__ import annotations

import os
import time

from lakeprep import class_archive as ca


def _files(tmp_path):
    java = tmp_path / "java"
    java.write_bytes(b"jvm")
    jar = tmp_path / "a.jar"
    jar.write_bytes(b"jar")
    return str(java), [str(jar)]


def test_fingerprint_changes_with_the_jvm_or_any_jar(tmp_path):
    java, jars = _files(tmp_path)
    first = ca.fingerprint(java, jars)
    assert first == ca.fingerprint(java, jars)
    with open(jars[0], "ab") as fh:  # a jar replaced by another version
        fh.write(b"v2")
    second = ca.fingerprint(java, jars)
    assert second != first
    other = tmp_path / "java17"
    other.write_bytes(b"jvm")
    assert ca.fingerprint(str(other), jars) != second
    extra = tmp_path / "b.jar"
    extra.write_bytes(b"x")
    assert ca.fingerprint(java, jars + [str(extra)]) != second


def test_without_an_archive_a_run_dumps_to_a_part_file_of_its_own(tmp_path):
    folder = tmp_path / "jvm"
    opts = ca.jvm_options(str(folder), fp="f00d")
    assert opts.startswith(f"-XX:ArchiveClassesAtExit={folder}/spark-f00d.")
    assert opts.split()[0].endswith(".part") and "-Xlog:cds=off" in opts
    assert ca.jvm_options(str(folder), fp="f00d") != opts  # concurrent runs never share a file
    assert ca.jvm_options(str(folder), dump=False, fp="f00d") == ""


def test_a_settled_complete_dump_is_promoted_and_then_used(tmp_path):
    part = tmp_path / "spark-f00d.1234abcd.part"
    part.write_bytes(ca._MAGIC + b"\0" * 64)
    now = time.time()
    # Changed within COMPLETE_SETTLED_S: not touched, another dump is asked for.
    assert "ArchiveClassesAtExit" in ca.jvm_options(str(tmp_path), fp="f00d", now=now)
    assert part.exists()
    # Seconds later, not minutes: the next run maps it instead of paying for a dump of its own.
    later = now + 10
    opts = ca.jvm_options(str(tmp_path), fp="f00d", now=later)
    assert opts.split()[0] == f"-XX:SharedArchiveFile={tmp_path}/spark-f00d.jsa"
    assert not part.exists() and (tmp_path / "spark-f00d.jsa").exists()
    assert ca.jvm_options(str(tmp_path), dump=False, fp="f00d") == opts


def test_a_dump_cut_short_is_dropped_not_used(tmp_path):
    part = tmp_path / "spark-f00d.deadbeef.part"
    part.write_bytes(b"\0" * 64)  # header not written yet: the JVM writes it last
    # Without its header a few seconds after the last write, a dump may still be running.
    recent = time.time() - ca.COMPLETE_SETTLED_S - 5
    os.utime(part, (recent, recent))
    assert "ArchiveClassesAtExit" in ca.jvm_options(str(tmp_path), fp="f00d")
    assert part.exists()
    old = time.time() - ca.ABANDONED_S - 5
    os.utime(part, (old, old))
    opts = ca.jvm_options(str(tmp_path), fp="f00d")
    assert "ArchiveClassesAtExit" in opts
    assert not part.exists() and not (tmp_path / "spark-f00d.jsa").exists()


def test_a_dump_taken_by_a_concurrent_run_is_skipped_not_a_crash(tmp_path, monkeypatch):
    # Two runs starting together both list the same .part; the first promotes it, the second
    # finds it gone and simply uses the archive.
    part = tmp_path / "spark-f00d.cafe0001.part"
    part.write_bytes(ca._MAGIC + b"\0" * 64)
    old = time.time() - 60
    os.utime(part, (old, old))
    real_glob = type(tmp_path).glob

    def glob_then_promoted_elsewhere(self, pattern):
        found = list(real_glob(self, pattern))
        if found:
            os.replace(part, tmp_path / "spark-f00d.jsa")
        return iter(found)

    monkeypatch.setattr(type(tmp_path), "glob", glob_then_promoted_elsewhere)
    opts = ca.jvm_options(str(tmp_path), fp="f00d")
    assert opts.split()[0] == f"-XX:SharedArchiveFile={tmp_path}/spark-f00d.jsa"


def test_a_second_dump_finished_after_the_archive_exists_is_removed(tmp_path):
    # Two runs started back to back after the first dump both dumped; the first dump is the
    # archive now, the second finished later and must not stay behind.
    final = tmp_path / "spark-f00d.jsa"
    final.write_bytes(ca._MAGIC + b"first")
    second = tmp_path / "spark-f00d.0badf00d.part"
    second.write_bytes(ca._MAGIC + b"second")
    cut_short = tmp_path / "spark-f00d.5eed0001.part"
    cut_short.write_bytes(b"\0" * 64)
    now = time.time()
    # Just written: left alone.
    assert ca.jvm_options(str(tmp_path), fp="f00d", now=now).startswith("-XX:SharedArchiveFile=")
    assert second.exists() and cut_short.exists()
    opts = ca.jvm_options(str(tmp_path), fp="f00d", now=now + 10)
    assert opts.split()[0] == f"-XX:SharedArchiveFile={final}"
    assert not second.exists() and final.read_bytes() == ca._MAGIC + b"first"
    assert cut_short.exists()  # no header yet: maybe a dump in progress, until ABANDONED_S
    ca.jvm_options(str(tmp_path), fp="f00d", now=now + ca.ABANDONED_S + 10)
    assert not cut_short.exists()
