"""Import pyspark from its installed package, not from the archives spark-submit puts first.

spark-submit puts ``<pyspark>/python/lib/pyspark.zip`` (and, for the Python workers, a Spark jar)
at the front of PYTHONPATH of the driver and of every Python worker. Where pyspark is installed
by pip those archives are the installed package's own copies, but importing from them costs:

* zipimport has no bytecode cache, so every process compiles pyspark from source (~0.75 CPU s
  for what the driver imports, measured on the bench machine);
* before each task a worker calls ``importlib.invalidate_caches()``, and Python 3.11's
  zipimporter then re-reads the whole directory of its archive, once per package imported from
  it: ~0.12 s per task for pyspark.zip (3.5 MB) and the jar, measured in a worker.

Importing nothing itself, this module drops those archives from ``sys.path`` when the installed
package they belong to is importable from another entry (a venv's or the image's
site-packages); on a cluster whose Spark is not a pip install (EMR) nothing matches and
nothing changes. Called first by the jobs (the driver) and by lakeprep.worker_daemon.
"""
from __future__ import annotations

import sys
from pathlib import Path


def _installed_pyspark_of(entry: str) -> Path | None:
    """The pip-installed pyspark package ``entry`` lies in (``.../pyspark/python/lib/x.zip``,
    ``.../pyspark/jars/x.jar``), or None."""
    p = Path(entry)
    if p.suffix not in (".zip", ".jar"):
        return None
    for pkg in p.parents:
        if pkg.name == "pyspark" and (pkg / "__init__.py").is_file():
            return pkg
    return None


def skip_bundled_pyspark(path: list[str] | None = None) -> list[str]:
    """Remove from ``path`` (default ``sys.path``, in place) the archives of an installed pyspark
    whose own package directory is importable from another entry; returns what was removed.

    Only pyspark's archives: the py4j zip beside them may be another version than an installed
    py4j, so it stays (it is small)."""
    path = sys.path if path is None else path
    entries = {str(Path(e).resolve()) for e in path if e}
    removed = []
    for entry in list(path):
        pkg = _installed_pyspark_of(entry)
        if pkg is None or Path(entry).name.startswith("py4j"):
            continue
        if str(pkg.parent.resolve()) in entries:
            path.remove(entry)
            # Its importer, made when an earlier import walked the path (``lakeprep`` itself
            # under ``python -m``), would still be re-read by every invalidate_caches().
            sys.path_importer_cache.pop(entry, None)
            removed.append(entry)
    return removed
