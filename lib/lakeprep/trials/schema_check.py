"""Schema drift of the API: field paths in the studies vs the API's own data model.

Where it sits: after bronze is written and before silver is built, the orchestrator calls
:func:`check_fields` with the run's bronze rows and the JSON of ``/studies/metadata``; the result
goes into the run report. Silver parses a fixed subset of fields (lakeprep.trials.silver), so a
field the API adds or renames would otherwise be ignored silently: here it is named and counted.

Paths are dotted JSON keys with list levels collapsed (``protocolSection.contactsLocationsModule.
locations.city``), the same shape as the metadata tree's ``name`` chain. The flattening runs in
Spark (a recursive walk in a Python UDF over each study's JSON, then a count per distinct path):
raw rows never reach the driver, only the distinct path set with counts does.

- unknown: paths present in the studies but not in the metadata tree (with study counts);
- missing_required: metadata leaves marked ``rules: Required`` absent from studies (with the
  number of studies lacking each), e.g. a study without an NCT ID or a brief title.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T


def _paths(value: Any, prefix: str, out: set[str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            _paths(child, path, out)
    elif isinstance(value, list):
        for item in value:
            _paths(item, prefix, out)


def study_paths(study_json: str | None) -> list[str]:
    """Every field path of one study (branches and leaves), sorted; [] for unparseable JSON."""
    if study_json is None:
        return []
    try:
        obj = json.loads(study_json)
    except ValueError:
        return []
    out: set[str] = set()
    _paths(obj, "", out)
    return sorted(out)


@F.pandas_udf(T.ArrayType(T.StringType()))
def _study_paths_udf(values: pd.Series) -> pd.Series:
    return values.map(study_paths)


def metadata_paths(metadata: list[dict] | str) -> tuple[set[str], set[str]]:
    """(all paths, required paths) of a ``/studies/metadata`` tree."""
    nodes = json.loads(metadata) if isinstance(metadata, str) else metadata
    known: set[str] = set()
    required: set[str] = set()

    def walk(items: Iterable[dict], prefix: str) -> None:
        for node in items:
            path = f"{prefix}.{node['name']}" if prefix else node["name"]
            known.add(path)
            if "required" in str(node.get("rules", "")).lower():
                required.add(path)
            walk(node.get("children") or [], path)

    walk(nodes, "")
    return known, required


def check_fields(bronze_df: DataFrame, metadata_json: list[dict] | str) -> dict:
    """Unknown and missing-required fields of the studies in ``bronze_df`` (column study_json).

    Returns ``{"studies": n, "unknown": [{"path", "studies"}], "missing_required":
    [{"path", "studies_missing"}], "paths_seen": n}``, lists sorted by path.
    """
    known, required = metadata_paths(metadata_json)
    per_study = bronze_df.select(F.explode(_study_paths_udf(F.col("study_json"))).alias("path"))
    counts = {r["path"]: r["n"] for r in per_study.groupBy("path").agg(F.count(F.lit(1)).alias("n")).collect()}
    total = bronze_df.count()
    unknown = [{"path": p, "studies": counts[p]} for p in sorted(counts) if p not in known]
    missing = [{"path": p, "studies_missing": total - counts.get(p, 0)} for p in sorted(required)
               if counts.get(p, 0) < total]
    return {"studies": total, "paths_seen": len(counts), "unknown": unknown,
            "missing_required": missing}
