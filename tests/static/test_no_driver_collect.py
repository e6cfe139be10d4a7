"""No step of the text pipeline collects data to the driver.

Every call that brings rows to the driver (``collect``, ``toPandas``, ``take``, ``first``,
``head``, ``tail``, ``toLocalIterator``, ``inputFiles``, ...) in the pipeline's modules must be
listed below with the reason its size is bounded independently of the corpus size in bytes:
an aggregate, a histogram, one row, or file paths the driver already holds. A new call fails this
test until someone argues its bound here; a listed call that disappeared fails it too, so the
list stays true. Calls on a database result (``conn.execute(...).first()``) are not Spark.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lib" / "lakeprep"
# The text pipeline's code path: ingest, transforms, dedup, incremental selection, report,
# wiring, Delta and PostgreSQL I/O.
SCANNED = sorted((PACKAGE / "text").glob("*.py")) + [PACKAGE / "delta_io.py",
                                                      PACKAGE / "db" / "load.py"]
TO_DRIVER = {"collect", "collectAsList", "toPandas", "toArrow", "take", "first", "head", "tail",
             "toLocalIterator", "inputFiles", "toJSON"}

BOUNDED = {
    ("text/report.py", "_tally", "collect"):
        "one row per (breakdown, value): reasons, encodings, languages, formats, warnings, "
        "boilerplate kinds, PII types, histogram bins",
    ("text/report.py", "build_report", "first"): "a single-row aggregate",
    ("text/pipeline.py", "input_versions", "first"):
        "a single-row aggregate (two columns per input URI)",
    ("text/dedup.py", "dedup_stats", "first"): "a single-row aggregate",
    ("text/incremental.py", "counts", "first"): "a single-row aggregate",
    ("text/ingest.py", "_listed_files", "inputFiles"):
        "file paths of Spark's listing, which already lives on the driver (file index)",
    ("text/ingest.py", "read_text_files", "collect"):
        "path, size and time of each listed file: the file index the driver already holds",
    ("text/ingest.py", "read_parquet_files", "collect"):
        "distinct Parquet file paths, at most the listing the driver already holds",
    ("delta_io.py", "table_version_from_history", "first"): "one row of the table history",
}


def _is_database_result(node: ast.Attribute) -> bool:
    receiver = node.value
    return (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute)
            and receiver.func.attr == "execute")


def driver_calls(path: Path) -> set[tuple[str, str, str]]:
    return calls_in_source(path.read_text(encoding="utf-8"), path.relative_to(PACKAGE).as_posix())


def calls_in_source(source: str, rel: str) -> set[tuple[str, str, str]]:
    found = set()

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                else function
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                    and child.func.attr in TO_DRIVER and not _is_database_result(child.func)):
                found.add((rel, name, child.func.attr))
            visit(child, name)

    visit(ast.parse(source), "<module>")
    return found


def all_driver_calls() -> set[tuple[str, str, str]]:
    return set().union(*(driver_calls(p) for p in SCANNED))


def test_every_call_to_the_driver_is_bounded():
    unbounded = sorted(all_driver_calls() - set(BOUNDED))
    assert not unbounded, (
        "calls that bring rows to the driver without a stated bound (aggregate first, or add "
        f"them to BOUNDED with the reason their size does not grow with the data): {unbounded}")


def test_the_bounded_list_names_only_existing_calls():
    assert sorted(set(BOUNDED) - all_driver_calls()) == []


def test_the_scan_finds_a_planted_collect():
    source = (PACKAGE / "text" / "report.py").read_text(encoding="utf-8") + (
        "\n\ndef leak(df):\n    return df.toPandas()\n\n\ndef fine(conn):\n"
        "    return conn.execute('SELECT 1').first()\n")
    found = calls_in_source(source, "text/report.py")
    assert ("text/report.py", "leak", "toPandas") in found
    assert ("text/report.py", "fine", "first") not in found
    assert found - set(BOUNDED) == {("text/report.py", "leak", "toPandas")}
