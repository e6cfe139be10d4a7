"""Clinical-trials job: ClinicalTrials.gov API v2 -> staged pages -> Delta (bronze, silver with
expectations) -> condition standardization -> PostgreSQL -> dbt marts -> outcome model.

Usage (the package `lakeprep` must be importable by the driver and the executors):

    spark-submit jobs/clinical_trials.py --lake .lake [--api-base-url URL] \
        [--since 2026-01-01 | --full] [--config conf/local.yaml] \
        [--llm-base-url URL] [--offline-standardization] [--no-outcome]
    python jobs/clinical_trials.py --help

Without --since or --full the run is incremental: studies updated since the last successful run
(minus trials.incremental.safety_margin_days); the first run loads everything. A run that died
resumes from its last staged page. PostgreSQL comes from conf/ and the libpq variables, as for
the text job. The job only parses arguments, builds the session and calls
lakeprep.trials.pipeline; the report is printed at the end and written under
<lake>/_reports/ctgov/<run_id>/.
"""
from __future__ import annotations

import argparse
import logging
import sys
from datetime import date


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="clinical_trials",
        description="Fetch ClinicalTrials.gov studies (API v2), stage the raw pages, MERGE them "
                    "into Delta bronze and silver tables with expectations, load PostgreSQL and "
                    "build the dbt marts.",
        epilog="PostgreSQL: conf/ names the target; PGHOST, PGPORT, PGDATABASE, PGUSER and "
               "PGPASSWORD override it. With no host configured an embedded server is started.",
    )
    parser.add_argument("--api-base-url", metavar="URL",
                        help="API v2 base URL (default: trials.api.base_url from the config, "
                             "https://clinicaltrials.gov/api/v2)")
    parser.add_argument("--lake", metavar="URI",
                        help="root of the Delta lake (default: lake.uri from the config)")
    window = parser.add_mutually_exclusive_group()
    window.add_argument("--since", type=_date, metavar="DATE",
                        help="fetch studies whose last update was posted on or after DATE")
    window.add_argument("--full", action="store_true",
                        help="fetch every study (default: incremental since the last "
                             "successful run; the first run is full)")
    parser.add_argument("--config", metavar="PATH",
                        help="YAML configuration (default: conf/local.yaml)")
    parser.add_argument("--llm-base-url", metavar="URL",
                        help="OpenAI-compatible chat-completions base URL for condition "
                             "standardization (default: trials.standardize.llm.base_url); the "
                             "key comes from LAKEPREP_LLM_API_KEY / OPENAI_API_KEY or .env")
    parser.add_argument("--offline-standardization", action="store_true",
                        help="standardize conditions with the offline rules even if an API key "
                             "is set")
    parser.add_argument("--no-outcome", action="store_true",
                        help="skip training and scoring the outcome model this run")
    parser.add_argument("--quiet", action="store_true", help="do not print the report at the end")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        # Before anything imports pyspark: from its installed package, not spark-submit's zip.
        from lakeprep.pyspark_path import skip_bundled_pyspark
        skip_bundled_pyspark()
        from lakeprep.config import ConfigError, load_settings
        from lakeprep.spark import build_session, stop_session
        from lakeprep.trials.api import ApiError
        from lakeprep.trials.expectations import ExpectationFailed
        from lakeprep.trials.pipeline import render_markdown, run_clinical_trials
        from lakeprep.trials.warehouse import DbtFailed
    except ImportError as exc:
        print(f"error: the lakeprep package is not importable ({exc}); run `make setup` or "
              "`pip install -e .`, or ship it with --py-files", file=sys.stderr)
        return 2

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from lakeprep.lineage import openlineage_conf
    lineage_conf = openlineage_conf(settings.lineage.openlineage, args.lake or settings.lake_uri,
                                    "clinical_trials")
    spark = build_session(settings.spark, extra_conf=lineage_conf, s3=settings.s3)
    try:
        report = run_clinical_trials(spark, settings, api_base_url=args.api_base_url,
                                     lake=args.lake, since=args.since, full=args.full,
                                     llm_base_url=args.llm_base_url,
                                     offline_standardization=args.offline_standardization,
                                     outcome=not args.no_outcome)
    except (ApiError, ConfigError, ExpectationFailed, DbtFailed) as exc:
        # Expected failures (API down past the retry budget, a `fail` expectation, a failing
        # dbt test, bad config) get one line; the run is recorded as failed and the next run resumes.
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_session(spark)
    if not args.quiet:
        print(render_markdown(report))
        print(f"\nreport written to {report['report_uri']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
