"""Declarative data-quality expectations of the clinical-trials silver tables.

Where it sits: lakeprep.trials.silver builds each typed table, then calls :func:`evaluate` before
the table is written. Modelled on Delta Live Tables' expectations: every expectation has a name,
the tables it applies to, a SQL predicate that a good row satisfies, and an action from
conf ``trials.expectations`` (so operators can tighten or relax a rule without a code change):

- ``warn``: the row is kept; the failure is counted in the run's expectation results;
- ``drop``: the row moves to the quarantine (silver/ctgov_quarantine) with the expectation's name
  and a reason naming the offending value, and is counted;
- ``fail``: the run stops with :class:`ExpectationFailed` listing the counts.

All expectations of a table are evaluated in one pass (one aggregation over a materialized frame
of per-expectation flags). A predicate that evaluates to NULL counts as failed, so every predicate is
written NULL-aware on purpose.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

ACTIONS = ("warn", "drop", "fail")

# API v2 enums (ClinicalTrials.gov data model, /studies/enums): the values a status, study type or
# phase may take. dbt's accepted_values tests list the same values (tests/static checks they agree).
OVERALL_STATUSES = ("ACTIVE_NOT_RECRUITING", "COMPLETED", "ENROLLING_BY_INVITATION",
                    "NOT_YET_RECRUITING", "RECRUITING", "SUSPENDED", "TERMINATED", "WITHDRAWN",
                    "AVAILABLE", "NO_LONGER_AVAILABLE", "TEMPORARILY_NOT_AVAILABLE",
                    "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN")
STUDY_TYPES = ("INTERVENTIONAL", "OBSERVATIONAL", "EXPANDED_ACCESS")
PHASES = ("NA", "EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4")

CHILD_TABLES = ("conditions", "interventions", "sponsors", "sites", "design", "eligibility",
                "condition_mesh", "intervention_mesh")
# Column a child table carries while it is evaluated: does its study survive the studies'
# expectations? (added by silver.build_silver, never written).
STUDY_EXISTS = "_study_exists"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _quoted(column: str) -> str:
    return f"concat('{column}=', coalesce(cast({column} AS string), 'NULL'))"


# Completion compared at its own precision: "2015-08" (stored as 2015-08-01) means the whole of
# August, so a start on 2015-08-14 is not after it. Hence the last day of the completion's period.
_COMPLETION_PERIOD_END = ("date_add(add_months(completion_date, CASE completion_date_precision "
                          "WHEN 'year' THEN 12 WHEN 'month' THEN 1 ELSE 0 END), CASE WHEN "
                          "completion_date_precision IN ('year', 'month') THEN -1 ELSE 0 END)")


@dataclass(frozen=True)
class Expectation:
    name: str
    tables: tuple[str, ...]
    # Spark SQL boolean expression over the table's columns: true = the row meets it.
    predicate: str
    # Spark SQL string expression shown in the quarantine reason (the offending value).
    detail: str
    description: str


EXPECTATIONS: tuple[Expectation, ...] = (
    Expectation("study_json_parseable", ("studies",), "_parsed_ok",
                "concat('study_json starts with ', left(_study_json, 60))",
                "the study JSON could not be parsed or has no protocolSection"),
    Expectation("valid_nct_id", ("studies",), "coalesce(nct_id RLIKE '^NCT[0-9]{8}$', false)",
                _quoted("nct_id"), "NCT ID is not NCT followed by 8 digits"),
    Expectation("known_overall_status", ("studies",), _in("overall_status", OVERALL_STATUSES),
                _quoted("overall_status_raw"), "overall status is not a value of the API enum"),
    Expectation("known_study_type", ("studies",), _in("study_type", STUDY_TYPES),
                _quoted("study_type_raw"), "study type is not a value of the API enum"),
    Expectation("known_phases", ("studies",),
                "forall(phases, p -> " + _in("p", PHASES) + ")",
                _quoted("phases_raw"), "a phase is not a value of the API enum"),
    Expectation("start_not_after_completion", ("studies",),
                "start_date IS NULL OR completion_date IS NULL "
                "OR coalesce(start_date_type, '') <> 'ACTUAL' "
                "OR coalesce(completion_date_type, '') <> 'ACTUAL' "
                f"OR start_date <= {_COMPLETION_PERIOD_END}",
                "concat('start ', start_date_raw, ' after completion ', completion_date_raw)",
                "actual start date is after the actual completion date"),
    Expectation("enrollment_non_negative", ("studies",), "enrollment IS NULL OR enrollment >= 0",
                _quoted("enrollment"), "enrollment is negative"),
    Expectation("brief_title_present", ("studies",), "brief_title IS NOT NULL",
                _quoted("brief_title"), "brief title is missing or blank"),
    Expectation("unique_nct_id", ("studies",), "count(1) OVER (PARTITION BY nct_id) = 1",
                _quoted("nct_id"), "NCT ID occurs more than once after deduplication"),
    Expectation("references_study", CHILD_TABLES, f"coalesce({STUDY_EXISTS}, false)",
                _quoted("nct_id"), "the row's study is not in the studies table"),
    Expectation("non_empty_condition_name", ("conditions",), "name IS NOT NULL",
                _quoted("name_raw"), "condition name is empty after cleaning"),
    Expectation("non_empty_intervention_name", ("interventions",), "name IS NOT NULL",
                _quoted("name_raw"), "intervention name is empty after cleaning"),
    Expectation("valid_mesh_id", ("condition_mesh", "intervention_mesh"), "mesh_id IS NOT NULL",
                _quoted("mesh_id_raw"), "MeSH id does not normalize to D/C followed by 6 or 9 digits"),
)
EXPECTATION_NAMES: tuple[str, ...] = tuple(e.name for e in EXPECTATIONS)
assert len(set(EXPECTATION_NAMES)) == len(EXPECTATION_NAMES), "expectation names must be unique"

QUARANTINE_COLUMNS = ("table", "nct_id", "expectation", "reason", "record_json", "run_id")


class ExpectationFailed(RuntimeError):
    """A ``fail`` expectation had failing rows; ``results`` are the failing expectations' counts."""

    def __init__(self, results: list[dict]):
        self.results = results
        listed = "; ".join(f"{r['table']}.{r['name']}: {r['failed']} of {r['passed'] + r['failed']} "
                           "rows failed" for r in results)
        super().__init__(f"expectation failed (action fail): {listed}")


@dataclass
class Evaluation:
    kept: DataFrame
    quarantine: DataFrame
    results: list[dict]
    # Rows of ``kept``, from the one aggregation over the flags: the layer's report needs it,
    # and counting the frame again was a job a table.
    kept_rows: int = 0

    @property
    def quarantined_rows(self) -> int:
        # A row failing two drop expectations is quarantined once for each (one reason a row).
        return sum(r["failed"] for r in self.results if r["action"] == "drop")


def for_table(table: str) -> list[Expectation]:
    return [e for e in EXPECTATIONS if table in e.tables]


def evaluate(df: DataFrame, table: str, actions: dict[str, str], run_id: str,
             materialize: Callable[[DataFrame, str], DataFrame]) -> Evaluation:
    """Flag, count and split ``df`` by the expectations of ``table``.

    ``materialize(frame, name)`` computes the flag frame once and returns a DataFrame reading the
    result (silver writes it to the run's work directory), so the kept rows, the quarantine and
    the counts are three cheap scans instead of three recomputations of ``df``'s whole lineage.
    Columns starting with ``_`` are helpers of the predicates: they are neither kept nor put in
    the quarantine's record_json. Raises ExpectationFailed if a ``fail`` expectation failed.
    """
    expectations = for_table(table)
    data_cols = [c for c in df.columns if not c.startswith("_")]
    flags = [f"_fail_{i}" for i in range(len(expectations))]
    flagged = df.select("*", *[(~F.coalesce(F.expr(e.predicate), F.lit(False))).alias(flag)
                               for e, flag in zip(expectations, flags)])
    flagged = materialize(flagged, f"flagged_{table}")
    dropping = [(e, flag) for e, flag in zip(expectations, flags) if actions[e.name] == "drop"]
    keep_condition = F.lit(True)
    for _, flag in dropping:
        keep_condition = keep_condition & ~F.col(flag)
    row = flagged.agg(F.count(F.lit(1)).alias("_total"),
                      F.count(F.when(keep_condition, 1)).alias("_kept"),
                      *[F.sum(F.col(flag).cast("long")).alias(flag) for flag in flags]).first()
    total = row["_total"]
    results = []
    for e, flag in zip(expectations, flags):
        failed = int(row[flag] or 0)
        results.append({"name": e.name, "table": table, "action": actions[e.name],
                        "passed": total - failed, "failed": failed})
    failing = [r for r in results if r["action"] == "fail" and r["failed"]]
    if failing:
        raise ExpectationFailed(failing)

    kept = flagged.filter(keep_condition).select(*data_cols)
    record = F.to_json(F.struct(*[F.col(c) for c in data_cols]))
    parts = [flagged.filter(F.col(flag)).select(
        F.lit(table).alias("table"),
        F.col("nct_id").cast("string").alias("nct_id"),
        F.lit(e.name).alias("expectation"),
        F.concat(F.lit(f"{e.description} ({e.name}): "), F.coalesce(F.expr(e.detail), F.lit("NULL")))
        .alias("reason"),
        record.alias("record_json"),
        F.lit(run_id).alias("run_id")) for e, flag in dropping]
    quarantine = parts[0] if parts else empty_quarantine(df.sparkSession)
    for part in parts[1:]:
        quarantine = quarantine.unionByName(part)
    return Evaluation(kept=kept, quarantine=quarantine, results=results,
                      kept_rows=int(row["_kept"]))


def empty_quarantine(spark) -> DataFrame:
    return spark.createDataFrame([], "table string, nct_id string, expectation string, "
                                     "reason string, record_json string, run_id string")
