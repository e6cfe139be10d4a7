"""Cleaning rules of the clinical-trials silver layer: dates, text, MeSH ids, enums, missing values.

Where it sits: bronze study JSON -> (lakeprep.trials.silver parses it) -> these rules -> typed
silver tables -> expectations. Each rule is a plain Python function (unit-tested without Spark)
and, where Spark SQL functions suffice, a Column twin with the same behaviour so the JVM does the
work; text normalization needs Python (HTML entities) and runs as an Arrow pandas UDF.

Rules that change meaning keep the raw value beside the cleaned one in silver (dates, status,
MeSH ids), and a value a rule rejects becomes NULL with a named reason that is counted.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import re

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

# ---- partial dates ------------------------------------------------------------------------
# The registry stores dates at the precision the sponsor gave: "2015", "2015-08" or
# "2015-08-14". We normalize to the FIRST day of the period ("2015-08" -> 2015-08-01) and keep the
# precision beside it: the first day is the only choice that keeps "start <= completion"
# comparisons of two dates in the same period true, and the precision tells a reader that
# 2015-08-01 means "some day in August 2015".
PRECISIONS = ("year", "month", "day")
_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
REASON_UNPARSEABLE_DATE = "unparseable_date"
REASON_DATE_OUT_OF_RANGE = "date_out_of_range"


def parse_partial_date(raw: str | None, min_year: int = 1900, max_year: int = 2100
                       ) -> tuple[dt.date | None, str | None, str | None]:
    """``(date, precision, reason)``: missing -> (None, None, None); invalid -> (None, None, reason)."""
    if raw is None or not raw.strip():
        return None, None, None
    text = raw.strip()
    if _YEAR.match(text):
        precision, full = "year", f"{text}-01-01"
    elif _MONTH.match(text):
        precision, full = "month", f"{text}-01"
    elif _DAY.match(text):
        precision, full = "day", text
    else:
        return None, None, REASON_UNPARSEABLE_DATE
    try:
        value = dt.date.fromisoformat(full)
    except ValueError:
        return None, None, REASON_UNPARSEABLE_DATE
    if not min_year <= value.year <= max_year:
        return None, None, REASON_DATE_OUT_OF_RANGE
    return value, precision, None


def partial_date_columns(raw: Column, min_year: int, max_year: int) -> tuple[Column, Column, Column]:
    """Spark twin of :func:`parse_partial_date`: (date, precision, reason) Columns."""
    text = F.trim(raw)
    precision = (F.when(text.rlike(r"^\d{4}$"), F.lit("year"))
                 .when(text.rlike(r"^\d{4}-\d{2}$"), F.lit("month"))
                 .when(text.rlike(r"^\d{4}-\d{2}-\d{2}$"), F.lit("day")))
    full = (F.when(precision == "year", F.concat(text, F.lit("-01-01")))
            .when(precision == "month", F.concat(text, F.lit("-01")))
            .when(precision == "day", text))
    # try_to_date: ANSI mode would raise on 2015-02-30; we want NULL + a reason instead.
    parsed = F.try_to_date(full, "yyyy-MM-dd")
    in_range = F.year(parsed).between(min_year, max_year)
    missing = raw.isNull() | (text == "")
    date = F.when(in_range, parsed)
    reason = (F.when(missing, F.lit(None).cast("string"))
              .when(parsed.isNull(), F.lit(REASON_UNPARSEABLE_DATE))
              .when(~in_range, F.lit(REASON_DATE_OUT_OF_RANGE)))
    return date, F.when(in_range, precision), reason


# ---- text ---------------------------------------------------------------------------------
_MD_LINK = re.compile(r"\[([^\]]*)\]\((?:[^)\s]+)\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_MD_BULLET = re.compile(r"^\s*[*+-]\s+", re.MULTILINE)
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(value: str | None, strip_markdown: bool = True, keep_newlines: bool = False
                   ) -> str | None:
    """Decode HTML entities (twice at most: the registry has "&amp;amp;" from double escaping),
    remove markdown residue, collapse whitespace. Empty after cleaning -> None (missing).

    ``keep_newlines`` keeps line structure (eligibility criteria are lists); bullets stay then.
    """
    if value is None:
        return None
    text = html.unescape(html.unescape(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if strip_markdown:
        text = _MD_LINK.sub(r"\1", text)
        text = _MD_EMPHASIS.sub(r"\2", text)
        text = _MD_ESCAPE.sub(r"\1", text)
        text = _MD_HEADING.sub("", text)
        if not keep_newlines:
            text = _MD_BULLET.sub("", text)
    if keep_newlines:
        lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
        text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    else:
        text = _SPACES.sub(" ", text.replace("\n", " ")).strip()
    return text or None


# Rich-text fields whose line structure carries meaning (lists of criteria, paragraphs).
MULTILINE_FIELDS = frozenset({"briefSummary", "detailedDescription", "eligibilityCriteria"})


def _clean_value(value, key: str | None, strip_markdown: bool):
    if isinstance(value, str):
        return normalize_text(value, strip_markdown, keep_newlines=key in MULTILINE_FIELDS)
    if isinstance(value, dict):
        return {k: _clean_value(v, k, strip_markdown) for k, v in value.items()}
    if isinstance(value, list):
        # Same length as the raw list (blank strings become null, not removed), so element i of
        # the cleaned list is element i of the raw one.
        return [_clean_value(v, key, strip_markdown) for v in value]
    return value


def clean_study_json(raw: str | None, strip_markdown: bool = True) -> str | None:
    """The study JSON with :func:`normalize_text` applied to every string value (multi-line
    fields keep their lines). One Python pass per study instead of one UDF per text column;
    silver reads text from this and raw values from the original. Unparseable -> None."""
    if raw is None:
        return None
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    return json.dumps(_clean_value(obj, None, strip_markdown), ensure_ascii=False)


def clean_study_json_udf(strip_markdown: bool):
    """Arrow pandas UDF applying :func:`clean_study_json` (string -> string)."""
    @F.pandas_udf(T.StringType())
    def _clean(values: pd.Series) -> pd.Series:
        return values.map(lambda v: clean_study_json(v, strip_markdown) if isinstance(v, str) else None)
    return _clean


# ---- enums --------------------------------------------------------------------------------
def normalize_enum(value: str | None) -> str | None:
    """' recruiting ' / 'Active, not recruiting' / 'phase-2' -> RECRUITING / ACTIVE_NOT_RECRUITING
    / PHASE_2: upper case, runs of non-alphanumerics -> '_'. Whether the result is a *known* value
    is the expectations' job (known_overall_status, ...), not this function's."""
    if value is None:
        return None
    text = re.sub(r"[^A-Z0-9]+", "_", value.strip().upper()).strip("_")
    return text or None


def enum_column(raw: Column) -> Column:
    """Spark twin of :func:`normalize_enum`."""
    cleaned = F.regexp_replace(F.regexp_replace(F.upper(F.trim(raw)), r"[^A-Z0-9]+", "_"), r"^_+|_+$", "")
    return F.when(cleaned != "", cleaned)


# ---- MeSH ids -----------------------------------------------------------------------------
# Descriptor ids are D + 6 digits (D003924) or D + 9 digits for newer ones (D000086382);
# supplementary concepts are C + 6 or 9 digits. Seen in the wild: lower case, padding and a
# "MESH:" prefix (as in UMLS / MeSH RDF exports).
MESH_ID = re.compile(r"^[DC](\d{6}|\d{9})$")
REASON_INVALID_MESH_ID = "invalid_mesh_id"


def normalize_mesh_id(raw: str | None) -> tuple[str | None, str | None]:
    """``(mesh_id, reason)``: 'd012345', ' D012345 ', 'MESH:D012345' -> ('D012345', None);
    missing -> (None, None); anything else -> (None, 'invalid_mesh_id')."""
    if raw is None or not raw.strip():
        return None, None
    text = re.sub(r"^MESH:", "", raw.strip().upper()).strip()
    if MESH_ID.match(text):
        return text, None
    return None, REASON_INVALID_MESH_ID


def mesh_id_columns(raw: Column) -> tuple[Column, Column]:
    """Spark twin of :func:`normalize_mesh_id`: (mesh_id, reason) Columns."""
    text = F.trim(F.regexp_replace(F.upper(F.trim(raw)), r"^MESH:", ""))
    valid = text.rlike(r"^[DC]([0-9]{6}|[0-9]{9})$")
    missing = raw.isNull() | (F.trim(raw) == "")
    return (F.when(valid, text),
            F.when(missing, F.lit(None).cast("string"))
            .when(~valid, F.lit(REASON_INVALID_MESH_ID)))


# ---- ages ---------------------------------------------------------------------------------
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(year|month|week|day|hour|minute)s?\s*$", re.IGNORECASE)
_UNIT_YEARS = {"year": 1.0, "month": 1 / 12, "week": 7 / 365.25, "day": 1 / 365.25,
               "hour": 1 / 8766, "minute": 1 / 525960}


def age_in_years(raw: str | None) -> float | None:
    """'18 Years' -> 18.0, '6 Months' -> 0.5; 'N/A' or missing -> None (no limit given)."""
    if raw is None:
        return None
    match = _AGE.match(raw)
    if not match:
        return None
    return round(float(match.group(1)) * _UNIT_YEARS[match.group(2).lower()], 4)


def age_years_column(raw: Column) -> Column:
    """Spark twin of :func:`age_in_years`."""
    pattern = r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+?)s?\s*$"
    number = F.regexp_extract(raw, pattern, 1)
    unit = F.lower(F.regexp_extract(raw, pattern, 2))
    factor = F.lit(None).cast("double")
    for name, f in _UNIT_YEARS.items():
        factor = F.when(unit == name, F.lit(f)).otherwise(factor)
    return F.when((number != "") & factor.isNotNull(),
                  F.round(number.try_cast("double") * factor, 4))


# ---- missing values -----------------------------------------------------------------------
# Explicit policy per silver column where "missing" is not simply NULL; README's table is this
# dict. NULL means "the registry does not say", never a guessed value.
MISSING_POLICY = {
    "studies.phases": "empty array: observational and expanded-access studies have no phase",
    "studies.enrollment": "NULL, never 0 (0 is a real ACTUAL enrollment of a withdrawn study)",
    "studies.start_date / completion_date": "NULL date and NULL precision; unparseable -> NULL + reason",
    "studies.brief_title, official_title, acronym, why_stopped": "blank after cleaning -> NULL",
    "studies.has_results": "false when absent (the API omits it only for studies without results)",
    "studies.overall_status": "kept as NULL, then quarantined by known_overall_status",
    "conditions.name": "blank after cleaning -> quarantined by non_empty_condition_name",
    "conditions.mesh_id / mesh_term": "NULL when no MeSH term of the study matches the condition",
    "eligibility.minimum_age_years / maximum_age_years": "NULL = no limit given ('N/A' or absent)",
    "eligibility.std_ages": "empty array when absent",
    "eligibility.healthy_volunteers, sex": "NULL when absent (not assumed ALL / false)",
    "sites.state, zip, latitude, longitude": "NULL when absent (many countries have no state)",
}

