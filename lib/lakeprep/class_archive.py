"""A class-data-sharing archive (JDK AppCDS) for local driver JVMs.

A local run loads ~25,000 classes from ~300 jars (Spark, Delta, Hadoop, the OpenLineage
listener) and verifies each one: seconds of CPU in every run, on the same 2 cores the Python
workers need. A dynamic CDS archive holds those classes parsed and verified, mapped at start-up.

The first run without an archive writes one when its JVM exits (``-XX:ArchiveClassesAtExit``,
~16 s once, measured on an 8,000-document run); later runs map it
(``-XX:SharedArchiveFile``). An archive is only valid for one JVM build and one class path, so
its name carries a fingerprint of the ``java`` binary and of the jars (names, sizes, times): new
jars or a new JDK simply make a new archive. The JVM writes
the archive's header last and ignores (``-Xshare:auto``, the default) a file it cannot use, so a
dump cut short costs nothing but the time. A dump goes to a ``.part`` file of its own and is
renamed once its header is there and it has not changed for a few seconds, so concurrent runs
never map a file being written and the next run already maps it.
"""
from __future__ import annotations

import glob
import hashlib
import os
import shutil
import time
import uuid
from pathlib import Path

# A dump with its header that has not changed for this long is finished. Watched on an
# 8,000-document run: the JVM spends ~20 s building the archive in memory, then creates the file
# and writes it (220 MB) in ~0.3 s, the header last. With a two-minute wait (before), every run
# started within two minutes of a dump paid for another ~20 s dump of its own.
COMPLETE_SETTLED_S = 5
# A dump without its header older than this was cut short (its JVM killed): it is dropped.
ABANDONED_S = 120
# First bytes of a dynamic archive (HotSpot's CDS_DYNAMIC_ARCHIVE_MAGIC 0xf00baba8, little-endian).
_MAGIC = bytes.fromhex("a8ab0bf0")
# The dump lists every class it skips (signed jars, old bytecode...): 1,700 lines of stdout.
_QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    java = os.path.join(home, "bin", "java") if home else shutil.which("java")
    return os.path.realpath(java) if java and os.path.exists(java) else None


def _spark_jars() -> list[str]:
    home = os.environ.get("SPARK_HOME")
    if not home:
        import pyspark
        home = os.path.dirname(pyspark.__file__)
    return sorted(glob.glob(os.path.join(home, "jars", "*.jar")))


def fingerprint(java: str | None = None, jars: list[str] | None = None) -> str | None:
    """Identity of the JVM build and class path an archive is valid for; None without a java."""
    java = java or _java()
    if java is None:
        return None
    h = hashlib.sha256()
    for path in [java, *(jars if jars is not None else _spark_jars())]:
        st = os.stat(path)
        h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def jvm_options(archive_dir: str, dump: bool = True, fp: str | None = None,
                now: float | None = None) -> str:
    """The JVM options that use this JVM's archive under ``archive_dir``, or (``dump``) write it
    at exit when there is none yet; "" when no java is found or there is nothing to do."""
    fp = fp or fingerprint()
    if fp is None:
        return ""
    folder = Path(archive_dir).expanduser().resolve()
    final = folder / f"spark-{fp}.jsa"
    now = time.time() if now is None else now
    # Looked at even when the archive exists: two runs started back to back after the first
    # dump (within COMPLETE_SETTLED_S of it) both dump, and the second dump, finished after the
    # first was promoted, would otherwise stay behind (~120-270 MB) for good.
    for part in sorted(folder.glob(f"spark-{fp}.*.part")):
        try:
            age = now - part.stat().st_mtime
            if age <= COMPLETE_SETTLED_S:
                continue  # possibly still being written: nothing to decide yet
            with open(part, "rb") as fh:
                complete = fh.read(len(_MAGIC)) == _MAGIC
            if complete and not final.exists():
                os.replace(part, final)  # atomic: a reader sees no file or the whole file
            elif complete or age > ABANDONED_S:
                # A second finished dump of an archive that exists, or a dump cut short (its
                # JVM killed): the next run without an archive writes another.
                part.unlink()
        except FileNotFoundError:
            # Another run starting at the same moment promoted or dropped it first.
            continue
    if final.exists():
        return f"-XX:SharedArchiveFile={final} {_QUIET}"
    if not dump:
        return ""
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"spark-{fp}.{uuid.uuid4().hex[:8]}.part"
    return f"-XX:ArchiveClassesAtExit={part} {_QUIET}"
