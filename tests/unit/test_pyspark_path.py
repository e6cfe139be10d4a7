"""lakeprep.pyspark_path: spark-submit's copies of an installed pyspark leave sys.path; anything
else (a cluster's own Spark, py4j, user archives) stays."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

from lakeprep.pyspark_path import skip_bundled_pyspark

ROOT = Path(__file__).resolve().parents[2]


def _installed(tmp_path: Path) -> tuple[Path, Path]:
    site = tmp_path / "site-packages"
    pkg = site / "pyspark"
    (pkg / "python" / "lib").mkdir(parents=True)
    (pkg / "jars").mkdir()
    (pkg / "__init__.py").write_text("")
    return site, pkg


def test_the_installed_packages_own_archives_are_dropped_with_their_importers(tmp_path):
    site, pkg = _installed(tmp_path)
    zip_ = str(pkg / "python" / "lib" / "pyspark.zip")
    jar = str(pkg / "jars" / "spark-core_2.13-4.1.1.jar")
    py4j = str(pkg / "python" / "lib" / "py4j-0.10.9.9-src.zip")
    user = str(tmp_path / "deps.zip")
    path = ["", zip_, py4j, jar, user, str(site)]
    sys.path_importer_cache[zip_] = None
    try:
        assert skip_bundled_pyspark(path) == [zip_, jar]
        assert zip_ not in sys.path_importer_cache
    finally:
        sys.path_importer_cache.pop(zip_, None)
    assert path == ["", py4j, user, str(site)]


def test_archives_stay_when_the_installed_package_is_not_importable_otherwise(tmp_path):
    # A Spark distribution (EMR's /usr/lib/spark): the zip is the only pyspark there is.
    _, pkg = _installed(tmp_path)
    spark_home_zip = str(tmp_path / "spark" / "python" / "lib" / "pyspark.zip")
    zip_ = str(pkg / "python" / "lib" / "pyspark.zip")
    path = [spark_home_zip, zip_, "/usr/lib/python3/dist-packages"]
    assert skip_bundled_pyspark(path) == []
    assert path == [spark_home_zip, zip_, "/usr/lib/python3/dist-packages"]


def test_the_jobs_skip_the_archives_before_importing_anything_of_pyspark():
    for job in ("text_pipeline.py", "clinical_trials.py"):
        tree = ast.parse((ROOT / "jobs" / job).read_text())
        main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
        order = []
        for node in ast.walk(main):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("lakeprep"):
                order.append((node.lineno, node.module))
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "skip_bundled_pyspark"):
                order.append((node.lineno, "call"))
        order.sort()
        assert [m for _, m in order[:2]] == ["lakeprep.pyspark_path", "call"], job
