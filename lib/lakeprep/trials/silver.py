"""Bronze study JSON -> typed silver tables with expectations (the clinical-trials silver layer).

Where it sits: the orchestrator (lakeprep.trials.pipeline) reads this run's bronze rows
(bronze/ctgov_studies), calls :func:`build_silver`, then :func:`write_silver`, then
lakeprep.trials.warehouse loads the result into PostgreSQL.

build_silver: keep the latest version per NCT ID -> parse ``study_json`` with an explicit schema
(``from_json``; fields outside it are reported by lakeprep.trials.schema_check, not here) ->
clean (lakeprep.trials.cleaning) -> one typed DataFrame per table -> expectations
(lakeprep.trials.expectations): studies first, then the child tables, whose rows must reference
a study that survived. Raw values are kept beside cleaned ones where cleaning changes meaning
(``*_raw`` columns: status, study type, phases, dates, names, MeSH ids).

write_silver: Delta MERGE per table (lakeprep.delta_io.upsert); a changed study replaces its child
rows (lakeprep.delta_io.delete_stale_children), so a condition removed upstream disappears here.
Quarantined rows and the expectation counts are MERGEd too, keyed by content, so a rerun adds
nothing.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.delta_io import delete_stale_children, upsert
from lakeprep.trials import cleaning as C
from lakeprep.trials.expectations import (
    STUDY_EXISTS,
    ExpectationFailed,
    evaluate,
)

log = logging.getLogger("lakeprep.trials.silver")

__all__ = ["SilverResult", "ExpectationFailed", "build_silver", "write_silver", "TABLE_KEYS",
           "STUDY_SCHEMA"]

# Key of each silver table's MERGE. Child rows are numbered by their position in the study's JSON
# list ("NCT01234567:2"), so a study's rows are replaced as a set when it changes.
TABLE_KEYS = {"studies": "nct_id", "design": "nct_id", "eligibility": "nct_id",
              "conditions": "condition_key", "interventions": "intervention_key",
              "sponsors": "sponsor_key", "sites": "site_key", "condition_mesh": "condition_mesh_key",
              "intervention_mesh": "intervention_mesh_key"}
# Lineage columns: they say which run wrote a row, not what the row says, so they do not make a
# row "changed" in a MERGE.
_NOT_COMPARED = {"run_id"}


def _s(*fields: tuple[str, T.DataType]) -> T.StructType:
    return T.StructType([T.StructField(name, kind) for name, kind in fields])


_STR, _BOOL = T.StringType(), T.BooleanType()
_DATE_STRUCT = _s(("date", _STR), ("type", _STR))
_MESHES = _s(("meshes", T.ArrayType(_s(("id", _STR), ("term", _STR)))))
# The part of the API v2 study object the silver tables use. Everything else stays in bronze's
# study_json (nothing is lost); schema_check reports fields the metadata does not know.
STUDY_SCHEMA = _s(
    ("protocolSection", _s(
        ("identificationModule", _s(
            ("nctId", _STR), ("orgStudyIdInfo", _s(("id", _STR))), ("briefTitle", _STR),
            ("officialTitle", _STR), ("acronym", _STR),
            ("organization", _s(("fullName", _STR), ("class", _STR))))),
        ("statusModule", _s(
            ("statusVerifiedDate", _STR), ("overallStatus", _STR), ("lastKnownStatus", _STR),
            ("whyStopped", _STR), ("startDateStruct", _DATE_STRUCT),
            ("primaryCompletionDateStruct", _DATE_STRUCT), ("completionDateStruct", _DATE_STRUCT),
            ("studyFirstSubmitDate", _STR), ("studyFirstPostDateStruct", _DATE_STRUCT),
            ("lastUpdatePostDateStruct", _DATE_STRUCT))),
        ("sponsorCollaboratorsModule", _s(
            ("responsibleParty", _s(("type", _STR))),
            ("leadSponsor", _s(("name", _STR), ("class", _STR))),
            ("collaborators", T.ArrayType(_s(("name", _STR), ("class", _STR)))))),
        ("oversightModule", _s(("oversightHasDmc", _BOOL), ("isFdaRegulatedDrug", _BOOL))),
        ("descriptionModule", _s(("briefSummary", _STR))),
        ("conditionsModule", _s(("conditions", T.ArrayType(_STR)), ("keywords", T.ArrayType(_STR)))),
        ("designModule", _s(
            ("studyType", _STR), ("phases", T.ArrayType(_STR)),
            ("designInfo", _s(("allocation", _STR), ("interventionModel", _STR),
                              ("primaryPurpose", _STR), ("maskingInfo", _s(("masking", _STR))),
                              ("observationalModel", _STR), ("timePerspective", _STR))),
            ("patientRegistry", _BOOL),
            ("enrollmentInfo", _s(("count", T.LongType()), ("type", _STR))))),
        ("armsInterventionsModule", _s(
            ("armGroups", T.ArrayType(_s(("label", _STR), ("type", _STR)))),
            ("interventions", T.ArrayType(_s(("type", _STR), ("name", _STR), ("description", _STR),
                                             ("otherNames", T.ArrayType(_STR))))))),
        ("eligibilityModule", _s(
            ("eligibilityCriteria", _STR), ("healthyVolunteers", _BOOL), ("sex", _STR),
            ("minimumAge", _STR), ("maximumAge", _STR), ("stdAges", T.ArrayType(_STR)))),
        ("contactsLocationsModule", _s(
            ("locations", T.ArrayType(_s(
                ("facility", _STR), ("status", _STR), ("city", _STR), ("state", _STR),
                ("zip", _STR), ("country", _STR),
                ("geoPoint", _s(("lat", T.DoubleType()), ("lon", T.DoubleType()))))))),
        ),
    )),
    ("derivedSection", _s(("conditionBrowseModule", _MESHES), ("interventionBrowseModule", _MESHES))),
    ("hasResults", _BOOL),
)


class WorkDir:
    """Where build_silver materializes its intermediate frames: Parquet under one directory of the
    run (``<lake>/_work/ctgov/<run_id>``), read back as plain scans.

    Why not ``cache()``: a cached frame still carries its whole logical plan, and the silver
    tables descend from a wide JSON parse, a Python UDF and per-table unions; Delta's MERGE
    re-plans its source several times, so those plans grew to megabytes and the driver ran out
    of memory printing them. A scan of written files has a plan of a few lines, survives a lost
    executor, and does not hold the data in memory. :meth:`remove` deletes it after the run.
    """

    def __init__(self, spark: SparkSession, root: str):
        self.spark, self.root = spark, root.rstrip("/")

    def __call__(self, df: DataFrame, name: str) -> DataFrame:
        path = f"{self.root}/{name}"
        df.write.mode("overwrite").parquet(path)
        return self.spark.read.parquet(path)

    def remove(self) -> None:
        jvm = self.spark.sparkContext._jvm
        path = jvm.org.apache.hadoop.fs.Path(self.root)
        fs = path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
        if fs.exists(path):
            fs.delete(path, True)


@dataclass
class SilverResult:
    """Silver DataFrames reading the run's work directory: call :meth:`cleanup` when the run no
    longer needs them (after the PostgreSQL load)."""
    tables: dict[str, DataFrame]
    quarantine: DataFrame
    expectations: list[dict]
    # Rule counts for the report: duplicates superseded, cleaning reasons (dates, MeSH ids).
    counts: dict[str, int] = field(default_factory=dict)
    run_id: str = ""
    work: WorkDir | None = None

    def cleanup(self) -> None:
        if self.work is not None:
            self.work.remove()


# ---- steps --------------------------------------------------------------------------------

def latest_per_study(bronze: DataFrame) -> DataFrame:
    """One row per NCT ID: the latest ``last_update_posted``, ties broken by the later ingestion
    (then run id), the same order bronze's MERGE uses."""
    order = Window.partitionBy("nct_id").orderBy(
        F.col("last_update_posted").desc_nulls_last(), F.col("ingested_at").desc_nulls_last(),
        F.col("run_id").desc_nulls_last())
    return (bronze.withColumn("_rank", F.row_number().over(order))
            .filter(F.col("_rank") == 1).drop("_rank"))


def parse(bronze: DataFrame, settings) -> DataFrame:
    """Bronze rows + ``s`` (the parsed study, raw values) + ``c`` (the same study with every text
    value normalized by cleaning.clean_study_json) + ``_parsed_ok``."""
    clean = C.clean_study_json_udf(settings.cleaning.strip_markdown)
    options = {"mode": "PERMISSIVE"}
    parsed = bronze.select("*", F.from_json("study_json", STUDY_SCHEMA, options).alias("s"),
                           F.from_json(clean(F.col("study_json")), STUDY_SCHEMA, options).alias("c"))
    return parsed.withColumn("_parsed_ok", F.col("s.protocolSection").isNotNull())


def _text(path: str) -> F.Column:
    """The cleaned value of a raw path ("s.protocolSection..." -> "c.protocolSection...")."""
    return F.col("c" + path[1:])


def _dates(df: DataFrame, name: str, struct: str, settings) -> DataFrame:
    """``<name>``, ``<name>_precision``, ``<name>_type``, ``<name>_raw`` and a reason column."""
    raw = F.col(f"{struct}.date")
    date, precision, reason = C.partial_date_columns(raw, settings.cleaning.min_year,
                                                     settings.cleaning.max_year)
    return (df.withColumn(name, date).withColumn(f"{name}_precision", precision)
            .withColumn(f"{name}_type", C.enum_column(F.col(f"{struct}.type")))
            .withColumn(f"{name}_raw", raw)
            .withColumn(f"_{name}_reason", reason))


def studies_frame(parsed: DataFrame, settings, run_id: str) -> DataFrame:
    p, st = "s.protocolSection", "s.protocolSection.statusModule"
    text = _text
    df = parsed.select(
        "nct_id", "_parsed_ok", F.col("study_json").alias("_study_json"),
        F.col(f"{p}.identificationModule.orgStudyIdInfo.id").alias("org_study_id"),
        text(f"{p}.identificationModule.briefTitle").alias("brief_title"),
        text(f"{p}.identificationModule.officialTitle").alias("official_title"),
        text(f"{p}.identificationModule.acronym").alias("acronym"),
        C.enum_column(F.col(f"{st}.overallStatus")).alias("overall_status"),
        F.col(f"{st}.overallStatus").alias("overall_status_raw"),
        C.enum_column(F.col(f"{st}.lastKnownStatus")).alias("last_known_status"),
        text(f"{st}.whyStopped").alias("why_stopped"),
        C.enum_column(F.col(f"{p}.designModule.studyType")).alias("study_type"),
        F.col(f"{p}.designModule.studyType").alias("study_type_raw"),
        F.transform(F.coalesce(F.col(f"{p}.designModule.phases"), F.array().cast("array<string>")),
                    C.enum_column).alias("phases"),
        F.col(f"{p}.designModule.phases").alias("phases_raw"),
        F.col(f"{p}.designModule.enrollmentInfo.count").cast("int").alias("enrollment"),
        C.enum_column(F.col(f"{p}.designModule.enrollmentInfo.type")).alias("enrollment_type"),
        F.col(f"{st}.startDateStruct").alias("_start"),
        F.col(f"{st}.primaryCompletionDateStruct").alias("_primary"),
        F.col(f"{st}.completionDateStruct").alias("_completion"),
        F.col(f"{st}.studyFirstSubmitDate").alias("_first_submit"),
        F.col(f"{st}.studyFirstPostDateStruct.date").alias("_first_posted"),
        F.col(f"{st}.statusVerifiedDate").alias("_verified"),
        F.col("last_update_posted").alias("last_update_posted_raw"),
        F.coalesce(F.col("s.hasResults"), F.lit(False)).alias("has_results"),
        F.col(f"{p}.oversightModule.oversightHasDmc").alias("has_dmc"),
        F.col(f"{p}.oversightModule.isFdaRegulatedDrug").alias("is_fda_regulated_drug"),
        text(f"{p}.sponsorCollaboratorsModule.leadSponsor.name").alias("lead_sponsor_name"),
        C.enum_column(F.col(f"{p}.sponsorCollaboratorsModule.leadSponsor.class")).alias("lead_sponsor_class"),
        C.enum_column(F.col(f"{p}.sponsorCollaboratorsModule.responsibleParty.type"))
        .alias("responsible_party_type"),
        F.size(F.coalesce(F.col(f"{p}.sponsorCollaboratorsModule.collaborators"), F.array()))
        .alias("number_of_collaborators"),
        F.size(F.coalesce(F.col(f"{p}.contactsLocationsModule.locations"), F.array())).alias("number_of_sites"),
        F.size(F.coalesce(F.col(f"{p}.conditionsModule.conditions"), F.array())).alias("number_of_conditions"),
        F.size(F.coalesce(F.col(f"{p}.armsInterventionsModule.interventions"), F.array()))
        .alias("number_of_interventions"),
        F.size(F.coalesce(F.col(f"{p}.armsInterventionsModule.armGroups"), F.array())).alias("number_of_arms"),
        F.coalesce(F.col(f"{p}.conditionsModule.keywords"), F.array().cast("array<string>")).alias("keywords"),
        text(f"{p}.descriptionModule.briefSummary").alias("brief_summary"),
        "content_sha256",
    )
    for name, struct in (("start_date", "_start"), ("primary_completion_date", "_primary"),
                         ("completion_date", "_completion")):
        df = _dates(df, name, struct, settings)
    lo, hi = settings.cleaning.min_year, settings.cleaning.max_year
    first_submit, _, first_submit_reason = C.partial_date_columns(F.col("_first_submit"), lo, hi)
    first_posted, _, _ = C.partial_date_columns(F.col("_first_posted"), lo, hi)
    verified, _, _ = C.partial_date_columns(F.col("_verified"), lo, hi)
    last_update, _, last_update_reason = C.partial_date_columns(F.col("last_update_posted_raw"), lo, hi)
    df = (df.withColumn("study_first_submitted_date", first_submit)
          .withColumn("study_first_posted_date", first_posted)
          .withColumn("status_verified_date", verified)
          .withColumn("last_update_posted", last_update)
          .withColumn("phase", F.when(F.size("phases") > 0, F.array_join("phases", "/")))
          .withColumn("_first_submit_reason", first_submit_reason)
          .withColumn("_last_update_reason", last_update_reason))
    issue_cols = {"start_date": "_start_date_reason",
                  "primary_completion_date": "_primary_completion_date_reason",
                  "completion_date": "_completion_date_reason",
                  "study_first_submitted_date": "_first_submit_reason",
                  "last_update_posted": "_last_update_reason"}
    issues = F.filter(F.array(*[F.when(F.col(r).isNotNull(), F.concat(F.lit(f"{c}:"), F.col(r)))
                                for c, r in issue_cols.items()]), lambda x: x.isNotNull())
    df = df.withColumn("cleaning_issues", issues).withColumn("run_id", F.lit(run_id))
    ordered = ["nct_id", "org_study_id", "brief_title", "official_title", "acronym",
               "overall_status", "overall_status_raw", "last_known_status", "why_stopped",
               "study_type", "study_type_raw", "phases", "phases_raw", "phase",
               "start_date", "start_date_precision", "start_date_type", "start_date_raw",
               "primary_completion_date", "primary_completion_date_precision",
               "primary_completion_date_type", "primary_completion_date_raw",
               "completion_date", "completion_date_precision", "completion_date_type",
               "completion_date_raw", "study_first_submitted_date", "study_first_posted_date",
               "status_verified_date", "last_update_posted", "last_update_posted_raw",
               "enrollment", "enrollment_type", "has_results", "has_dmc", "is_fda_regulated_drug",
               "lead_sponsor_name", "lead_sponsor_class", "responsible_party_type",
               "number_of_collaborators", "number_of_sites", "number_of_conditions",
               "number_of_interventions", "number_of_arms", "keywords", "brief_summary",
               "cleaning_issues", "content_sha256", "run_id", "_parsed_ok", "_study_json"]
    return df.select(*ordered)


def _exploded(parsed: DataFrame, array_col: str, alias: str) -> DataFrame:
    """(nct_id, ordinal, <alias>) per element of an array field; studies without it give none."""
    return parsed.select("nct_id", F.posexplode_outer(array_col).alias("ordinal", alias)) \
        .filter(F.col("ordinal").isNotNull())


def _key(col_name: str) -> F.Column:
    return F.concat(F.col("nct_id"), F.lit(":"), F.col("ordinal").cast("string")).alias(col_name)


def mesh_frame(parsed: DataFrame, module: str, key: str, run_id: str) -> DataFrame:
    rows = _exploded(parsed, f"s.derivedSection.{module}.meshes", "m")
    mesh_id, reason = C.mesh_id_columns(F.col("m.id"))
    return rows.select("nct_id", _key(key), "ordinal", mesh_id.alias("mesh_id"),
                       F.col("m.id").alias("mesh_id_raw"), F.trim(F.col("m.term")).alias("mesh_term"),
                       reason.alias("mesh_id_issue"), F.lit(run_id).alias("run_id"))


def _match_mesh(children: DataFrame, key: str, mesh: DataFrame) -> DataFrame:
    """Attach to each condition / intervention the study's MeSH entry it corresponds to.

    The API lists a study's MeSH terms separately from its free-text names, without a link. A
    name is matched to a term of the same study when they are equal ignoring case ('exact'), when
    the name contains the term ('contains', e.g. "Budesonide/Formoterol" -> Budesonide), or when
    the study has exactly one name and one term ('only_pair'); otherwise mesh_id stays NULL (a
    later LLM standardization step, issue 9, maps the rest).
    """
    names = children.filter(F.col("name").isNotNull())
    n_names = names.groupBy("nct_id").agg(F.count(F.lit(1)).alias("_n_names"))
    n_terms = mesh.groupBy("nct_id").agg(F.count(F.lit(1)).alias("_n_terms"))
    lname, lterm = F.lower(F.col("name")), F.lower(F.col("mesh_term"))
    candidates = (names.select("nct_id", key, "name")
                  .join(mesh.select("nct_id", "mesh_id", "mesh_term"), on="nct_id", how="inner")
                  .join(n_names, on="nct_id", how="inner").join(n_terms, on="nct_id", how="inner")
                  .withColumn("_rank", F.when(lname == lterm, 1)
                              .when(F.instr(lname, lterm) > 0, 2)
                              .when((F.col("_n_names") == 1) & (F.col("_n_terms") == 1), 3))
                  .filter(F.col("_rank").isNotNull()))
    best = Window.partitionBy(key).orderBy("_rank", "mesh_id")
    matched = (candidates.withColumn("_n", F.row_number().over(best)).filter(F.col("_n") == 1)
               .select(key, "mesh_id", "mesh_term",
                       F.element_at(F.array(F.lit("exact"), F.lit("contains"), F.lit("only_pair")),
                                    F.col("_rank")).alias("mesh_match")))
    return children.join(matched, on=key, how="left")


def _with_raw(parsed: DataFrame, path: str, alias: str) -> DataFrame:
    """Like _exploded over the cleaned list at ``path``, plus ``<alias>_raw``: the raw element at
    the same position (cleaning keeps list lengths)."""
    rows = parsed.select("nct_id", F.col(path).alias("_raw_list"),
                         F.posexplode_outer(_text(path)).alias("ordinal", alias))
    return (rows.filter(F.col("ordinal").isNotNull())
            .withColumn(f"{alias}_raw", F.element_at("_raw_list", F.col("ordinal") + 1))
            .drop("_raw_list"))


def conditions_frame(parsed: DataFrame, settings, run_id: str) -> DataFrame:
    rows = _with_raw(parsed, "s.protocolSection.conditionsModule.conditions", "name")
    return rows.select("nct_id", _key("condition_key"), "ordinal", "name", "name_raw",
                       F.lower("name").alias("downcase_name"), F.lit(run_id).alias("run_id"))


def interventions_frame(parsed: DataFrame, settings, run_id: str) -> DataFrame:
    rows = _with_raw(parsed, "s.protocolSection.armsInterventionsModule.interventions", "i")
    return rows.select("nct_id", _key("intervention_key"), "ordinal",
                       C.enum_column(F.col("i.type")).alias("type"), F.col("i.name").alias("name"),
                       F.col("i_raw.name").alias("name_raw"),
                       F.col("i.description").alias("description"),
                       F.coalesce(F.col("i.otherNames"), F.array().cast("array<string>")).alias("other_names"),
                       F.lit(run_id).alias("run_id"))


def sponsors_frame(parsed: DataFrame, settings, run_id: str) -> DataFrame:
    sc = "c.protocolSection.sponsorCollaboratorsModule"
    lead = parsed.filter(F.col(f"{sc}.leadSponsor").isNotNull()).select(
        "nct_id", F.lit(0).alias("ordinal"), F.lit("lead").alias("lead_or_collaborator"),
        F.col(f"{sc}.leadSponsor").alias("sp"))
    collab = _exploded(parsed, f"{sc}.collaborators", "sp").select(
        "nct_id", (F.col("ordinal") + 1).alias("ordinal"),
        F.lit("collaborator").alias("lead_or_collaborator"), "sp")
    return lead.unionByName(collab).select(
        "nct_id", _key("sponsor_key"), "ordinal", "lead_or_collaborator",
        F.col("sp.name").alias("name"), C.enum_column(F.col("sp.class")).alias("agency_class"),
        F.lit(run_id).alias("run_id"))


def sites_frame(parsed: DataFrame, settings, run_id: str) -> DataFrame:
    rows = _exploded(parsed, "c.protocolSection.contactsLocationsModule.locations", "l")
    return rows.select("nct_id", _key("site_key"), "ordinal", F.col("l.facility").alias("facility"),
                       C.enum_column(F.col("l.status")).alias("status"),
                       F.col("l.city").alias("city"), F.col("l.state").alias("state"),
                       F.col("l.zip").alias("zip"), F.col("l.country").alias("country"),
                       F.col("l.geoPoint.lat").alias("latitude"), F.col("l.geoPoint.lon").alias("longitude"),
                       F.lit(run_id).alias("run_id"))


def design_frame(parsed: DataFrame, run_id: str) -> DataFrame:
    d = "s.protocolSection.designModule"
    return parsed.filter(F.col(d).isNotNull()).select(
        "nct_id",
        C.enum_column(F.col(f"{d}.designInfo.allocation")).alias("allocation"),
        C.enum_column(F.col(f"{d}.designInfo.interventionModel")).alias("intervention_model"),
        C.enum_column(F.col(f"{d}.designInfo.primaryPurpose")).alias("primary_purpose"),
        C.enum_column(F.col(f"{d}.designInfo.maskingInfo.masking")).alias("masking"),
        C.enum_column(F.col(f"{d}.designInfo.observationalModel")).alias("observational_model"),
        C.enum_column(F.col(f"{d}.designInfo.timePerspective")).alias("time_perspective"),
        F.col(f"{d}.patientRegistry").alias("patient_registry"),
        F.lit(run_id).alias("run_id"))


def eligibility_frame(parsed: DataFrame, settings, run_id: str) -> DataFrame:
    e = "s.protocolSection.eligibilityModule"
    return parsed.filter(F.col(e).isNotNull()).select(
        "nct_id", C.enum_column(F.col(f"{e}.sex")).alias("sex"),
        F.col(f"{e}.minimumAge").alias("minimum_age"), F.col(f"{e}.maximumAge").alias("maximum_age"),
        C.age_years_column(F.col(f"{e}.minimumAge")).alias("minimum_age_years"),
        C.age_years_column(F.col(f"{e}.maximumAge")).alias("maximum_age_years"),
        F.col(f"{e}.healthyVolunteers").alias("healthy_volunteers"),
        F.transform(F.coalesce(F.col(f"{e}.stdAges"), F.array().cast("array<string>")),
                    C.enum_column).alias("std_ages"),
        _text(f"{e}.eligibilityCriteria").alias("criteria"),
        F.lit(run_id).alias("run_id"))


# ---- the whole layer ----------------------------------------------------------------------

def build_silver(spark: SparkSession, bronze_df: DataFrame, settings, run_id: str,
                 work_dir: str) -> SilverResult:
    """Typed, cleaned, checked silver tables of ``bronze_df`` (``settings``: Settings or
    TrialsSettings), materialized under ``work_dir`` (see :class:`WorkDir`). Raises
    ExpectationFailed when a ``fail`` expectation fails."""
    trials = getattr(settings, "trials", None) or settings
    actions = trials.expectations.actions
    work = WorkDir(spark, work_dir)
    n_bronze = bronze_df.count()
    # Parsed once (two from_json and the cleaning UDF over each study): every table reads this.
    parsed = work(parse(latest_per_study(bronze_df), trials), "parsed")
    n_latest = parsed.count()
    log.info("silver: %d bronze rows, %d studies after keeping the latest per NCT ID",
             n_bronze, n_latest)

    results: list[dict] = []
    quarantines: list[DataFrame] = []

    studies_eval = evaluate(studies_frame(parsed, trials, run_id), "studies", actions, run_id, work)
    results += studies_eval.results
    quarantines.append(studies_eval.quarantine)
    evaluations = {"studies": studies_eval}
    studies = studies_eval.kept
    surviving = studies.select("nct_id", F.lit(True).alias(STUDY_EXISTS))

    def check(df: DataFrame, table: str) -> DataFrame:
        flagged = df.join(F.broadcast(surviving), on="nct_id", how="left")
        ev = evaluate(flagged, table, actions, run_id, work)
        results.extend(ev.results)
        quarantines.append(ev.quarantine)
        evaluations[table] = ev
        return ev.kept

    tables: dict[str, DataFrame] = {"studies": studies}
    tables["design"] = check(design_frame(parsed, run_id), "design")
    tables["eligibility"] = check(eligibility_frame(parsed, trials, run_id), "eligibility")
    tables["sponsors"] = check(sponsors_frame(parsed, trials, run_id), "sponsors")
    tables["sites"] = check(sites_frame(parsed, trials, run_id), "sites")
    cmesh = mesh_frame(parsed, "conditionBrowseModule", "condition_mesh_key", run_id)
    imesh = mesh_frame(parsed, "interventionBrowseModule", "intervention_mesh_key", run_id)
    tables["condition_mesh"] = check(cmesh, "condition_mesh")
    tables["intervention_mesh"] = check(imesh, "intervention_mesh")
    conditions = _match_mesh(conditions_frame(parsed, trials, run_id), "condition_key",
                             tables["condition_mesh"])
    tables["conditions"] = check(conditions, "conditions")
    interventions = _match_mesh(interventions_frame(parsed, trials, run_id), "intervention_key",
                                tables["intervention_mesh"])
    tables["interventions"] = check(interventions, "interventions")

    quarantine = quarantines[0]
    for q in quarantines[1:]:
        quarantine = quarantine.unionByName(q)
    # ~20 small filtered scans: one file keeps the MERGE and the PostgreSQL load cheap.
    quarantine = work(quarantine.coalesce(1), "quarantine")

    issues = (studies.select(F.explode("cleaning_issues").alias("i"))
              .groupBy(F.substring_index("i", ":", -1).alias("reason")).count().collect())
    counts = {"bronze_rows": n_bronze, "studies_in": n_latest,
              "duplicates_superseded": n_bronze - n_latest,
              **{f"cleaning.{r['reason']}": r["count"] for r in issues}}
    mesh_issues = (cmesh.select("mesh_id_issue").unionByName(imesh.select("mesh_id_issue"))
                   .filter(F.col("mesh_id_issue").isNotNull())
                   .groupBy("mesh_id_issue").count().collect())
    counts.update({f"cleaning.{r['mesh_id_issue']}": r["count"] for r in mesh_issues})
    counts.update({f"rows.{name}": evaluations[name].kept_rows for name in tables})
    counts["rows.quarantine"] = sum(ev.quarantined_rows for ev in evaluations.values())
    log.info("silver: %s", counts)
    return SilverResult(tables=tables, quarantine=quarantine, expectations=results, counts=counts,
                        run_id=run_id, work=work)


def _compared(df: DataFrame, key: str) -> list[str]:
    return [c for c in df.columns if c != key and c not in _NOT_COMPARED]


def _exists(spark: SparkSession, path: str) -> bool:
    from delta.tables import DeltaTable
    return DeltaTable.isDeltaTable(spark, path)


def write_silver(spark: SparkSession, result: SilverResult, layout) -> dict:
    """MERGE every table of ``result`` into the lake at ``layout`` (a TrialsLayout); returns the
    row counts written per table. A study of this run replaces its child rows: rows it no
    longer has are deleted before the MERGE."""
    written: dict[str, int] = {}
    studies = result.tables["studies"]
    for name, df in result.tables.items():
        path, key = layout.silver(name), TABLE_KEYS[name]
        if name != "studies" and _exists(spark, path):
            delete_stale_children(spark, path, df, parent_key="nct_id", child_key=key,
                                  parents=studies)
        upsert(spark, df, path, key, compare=_compared(df, key), evolve_schema=True)
        written[name] = result.counts[f"rows.{name}"]
    quarantine = result.quarantine.withColumn("quarantine_id", F.sha2(F.concat_ws(
        "\u0001", "table", "nct_id", "expectation", "record_json"), 256))
    upsert(spark, quarantine, layout.silver_quarantine, "quarantine_id",
           compare=["reason"], evolve_schema=True)
    written["quarantine"] = result.counts["rows.quarantine"]
    exp = expectation_frame(spark, result)
    upsert(spark, exp, layout.silver("expectation_results"), "result_id",
           compare=["passed", "failed", "action"], evolve_schema=True)
    written["expectation_results"] = len(result.expectations)
    return written


def expectation_frame(spark: SparkSession, result: SilverResult) -> DataFrame:
    rows = [(result.run_id, e["table"], e["name"], e["action"], int(e["passed"]), int(e["failed"]))
            for e in result.expectations]
    df = spark.createDataFrame(rows, "run_id string, table_name string, expectation string, "
                                     "action string, passed long, failed long")
    return df.withColumn("result_id", F.concat_ws(":", "run_id", "table_name", "expectation"))

