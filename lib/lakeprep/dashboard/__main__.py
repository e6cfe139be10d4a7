"""``python -m lakeprep.dashboard``: serve the dashboard (lakeprep.dashboard.app) with Streamlit.

The database is found exactly as the jobs find it (lakeprep.db.connection.resolve_target): the
PG* variables, then ``postgres.*`` of the config file, else the embedded server ``make run``
started. The process becomes the Streamlit server (exec), so its PID is the server's: stopping
it with Ctrl-C or a signal stops the dashboard.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lakeprep.config import ConfigError, load_settings

APP = Path(__file__).with_name("app.py")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lakeprep.dashboard",
        description="Serve the lakeprep dashboard (runs, kept vs rejected, token and quality "
                    "distributions, PII, languages, clinical trials) over the jobs' PostgreSQL.")
    parser.add_argument("--config", metavar="PATH",
                        help="settings file, as for the jobs (default conf/local.yaml)")
    parser.add_argument("--port", type=int, default=8501, help="HTTP port (default 8501)")
    # Loopback by default: the page shows corpus statistics and has no login of its own.
    parser.add_argument("--address", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)")
    parser.add_argument("--db-secret-arn", metavar="ARN",
                        help="Secrets Manager secret with the database credentials, as for the jobs")
    return parser


def streamlit_command(args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP),
           "--server.port", str(args.port), "--server.address", args.address,
           # No browser to open on a server, no usage statistics sent anywhere, no reloading on
           # source changes (a served dashboard is not a development session).
           "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--client.toolbarMode", "viewer",
           "--theme.base", "light", "--"]
    if args.config:
        cmd += ["--config", str(Path(args.config).resolve())]
    if args.db_secret_arn:
        cmd += ["--db-secret-arn", args.db_secret_arn]
    return cmd


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        # Fail here with one line on a bad config, not later inside the page.
        load_settings(args.config)
    except (ConfigError, OSError) as exc:
        sys.exit(f"lakeprep.dashboard: {exc}")
    cmd = streamlit_command(args)
    sys.stdout.flush()
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
