"""Text pipeline job: raw documents -> Delta lake -> clean <=512-token chunks in PostgreSQL.

Usage (the package `lakeprep` must be importable by the driver and the executors: installed in
the environment, or shipped with --py-files):

    spark-submit jobs/text_pipeline.py --input data/raw --lake .lake [--config conf/local.yaml]
                                       [--full-refresh]
    python jobs/text_pipeline.py --input s3a://bucket/raw --input more/ --lake s3a://bucket/lake

The job only parses arguments, builds the session and calls lakeprep.text.pipeline; the report of
what was kept and why is printed at the end and written under <lake>/_reports/<run_id>/.
"""
from __future__ import annotations

import argparse
import logging
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="text_pipeline",
        description="Ingest raw text (.txt trees, .jsonl / .parquet exports) into Delta, clean, "
                    "filter, tokenize into <=512-token chunks and load them into PostgreSQL.",
        epilog="PostgreSQL: conf/ names the target; PGHOST, PGPORT, PGDATABASE, PGUSER and "
               "PGPASSWORD override it. With no host configured an embedded server is started.",
    )
    parser.add_argument("--input", action="append", required=True, metavar="URI",
                        help="input directory, file or Hadoop URI (repeatable)")
    parser.add_argument("--lake", metavar="URI",
                        help="root of the Delta lake (default: lake.uri from the config)")
    parser.add_argument("--config", metavar="PATH",
                        help="YAML configuration (default: conf/local.yaml)")
    parser.add_argument("--db-secret-arn", metavar="ARN",
                        help="AWS Secrets Manager secret with the PostgreSQL username and password "
                             "(JSON; host, port, dbname used when present), read at run time; "
                             "overrides LAKEPREP_PG_SECRET_ARN and postgres.password_secret_arn")
    parser.add_argument("--quiet", action="store_true", help="do not print the report at the end")
    parser.add_argument("--full-refresh", action="store_true",
                        help="reprocess every input, not only the new and changed ones")
    parser.add_argument("--allow-mass-delete", action="store_true",
                        help="tombstone documents gone at the source even when they are most of "
                             "the inputs (conf input.deletion_guard stops such a run otherwise)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        # Before anything imports pyspark: from its installed package, not spark-submit's zip.
        from lakeprep.pyspark_path import skip_bundled_pyspark
        skip_bundled_pyspark()
        from lakeprep.config import load_settings
        from lakeprep.db.load import RunInProgress
        from lakeprep.db.retry import PostgresUnavailable
        from lakeprep.spark import build_session, stop_session
        from lakeprep.text.incremental import MassDeletion
        from lakeprep.text.pipeline import run_text_pipeline
        from lakeprep.text.report import render_markdown
    except ImportError as exc:
        print(f"error: the lakeprep package is not importable ({exc}); run `make setup` or "
              "`pip install -e .`, or ship it with --py-files", file=sys.stderr)
        return 2

    settings = load_settings(args.config)
    # Resolved before Spark starts: a wrong secret ARN, a missing permission or a malformed
    # secret fails in a second with one line, and the password stays out of Spark's conf.
    from lakeprep.db.connection import resolve_target
    from lakeprep.db.secrets import SecretError
    try:
        target = resolve_target(settings.postgres, secret_arn=args.db_secret_arn)
    except SecretError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from lakeprep.lineage import openlineage_conf
    lineage_conf = openlineage_conf(settings.lineage.openlineage, args.lake or settings.lake_uri,
                                    "text_pipeline")
    from lakeprep.text.chunking import worker_conf
    spark = build_session(settings.spark, s3=settings.s3,
                          extra_conf={**lineage_conf, **worker_conf(settings.chunking.encoding)})
    try:
        report = run_text_pipeline(spark, settings, args.input, args.lake, target=target,
                                   full_refresh=args.full_refresh,
                                   allow_mass_delete=args.allow_mass_delete)
    except (PostgresUnavailable, RunInProgress, MassDeletion) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    finally:
        stop_session(spark)
    if not args.quiet:
        print(render_markdown(report))
        print(f"\nreport written to {report['report_uri']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
