"""The dashboard page (lakeprep.dashboard.app.render) run by Streamlit's own test runner, without
a browser, against a real PostgreSQL: "no data yet" on an empty database, the numbers of a small
hand-made load otherwise, one line instead of a traceback when the server is gone; and the
command line."""
from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest
from test_dashboard_queries import create_tables, engine_for, fill

from lakeprep.dashboard.__main__ import build_parser, streamlit_command


def page(engine: sa.Engine) -> AppTest:
    def app(url: str) -> None:
        # Runs as its own script inside AppTest: everything it needs is imported here.
        import sqlalchemy as sa

        from lakeprep.dashboard.app import render
        from lakeprep.dashboard.queries import DashboardQueries

        render(DashboardQueries(sa.create_engine(url), "public", "ctgov"), 512, "test database")

    url = engine.url.render_as_string(hide_password=False)
    return AppTest.from_function(app, args=(url,), default_timeout=30).run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def tables(at: AppTest) -> list:
    return [t.value for t in at.table]


@pytest.fixture(scope="module")
def filled_engine(pg_database):
    engine = engine_for(pg_database("dashboard_app_filled"))
    create_tables(engine)
    fill(engine)
    yield engine
    engine.dispose()


def test_empty_database_says_no_data_yet(pg_database):
    engine = engine_for(pg_database("dashboard_app_empty"))
    at = page(engine)
    assert not at.exception
    assert metrics(at) == {"Runs": "0", "Documents kept": "0", "Documents rejected": "0",
                           "Chunks": "0", "Chunks rejected": "0", "Trials": "0"}
    infos = [i.value for i in at.info]
    # One message per section (runs, 2 x kept/rejected, 2 x distributions, PII, language, 2 x trials).
    # Eleven sections, each with its own "no data yet" (lineage and audit included).
    assert len(infos) == 11 and all(i.startswith("No data yet") for i in infos)
    assert not at.table
    engine.dispose()


def test_filled_database_shows_its_numbers(filled_engine):
    at = page(filled_engine)
    assert not at.exception
    assert metrics(at) == {"Runs": "3", "Documents kept": "3", "Documents rejected": "3",
                           "Chunks": "4", "Chunks rejected": "1", "Trials": "3"}
    assert not at.info
    shown: dict = {}
    for frame in tables(at):
        # Documents by reason comes before rejected chunks by reason (both indexed by reason).
        shown.setdefault(frame.index.name, frame)
    assert shown["reason"]["documents"].to_dict() == {"kept": 3, "too_few_words": 2,
                                                      "binary_content": 1}
    assert shown["pii_type"]["chunks"].to_dict() == {"email": 2, "phone": 1}
    assert shown["language"]["documents"].to_dict() == {"en": 3, "unknown": 2, "de": 1}
    assert shown["status"]["trials"].to_dict() == {"RECRUITING": 2, "COMPLETED": 1}
    assert shown["condition"]["trials"].to_dict() == {"Asthma": 2, "Obesity": 1}
    assert list(shown["started_at"]["job"]) == ["clinical_trials", "text_pipeline", "text_pipeline"]
    assert shown["tokens"]["value"].to_dict()["max"] == "512"


def test_trials_absent_only_that_section_is_empty(pg_database):
    engine = engine_for(pg_database("dashboard_app_text_only"))
    create_tables(engine, trials=False)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO pipeline_runs (run_id, job, started_at, status, "
                             "input_uris, lake_uri) VALUES ('r1', 'text_pipeline', now(), "
                             "'running', '{}', 'file:/lake')"))
    at = page(engine)
    assert not at.exception and metrics(at)["Trials"] == "0" and metrics(at)["Runs"] == "1"
    infos = [i.value for i in at.info]
    assert infos.count("No data yet: the clinical-trials job has not loaded any study into "
                       "this database.") == 2
    engine.dispose()


def test_unreachable_server_is_one_line(pg_database):
    db = pg_database("dashboard_app_gone")
    engine = sa.create_engine(f"postgresql+psycopg2://{db.user}@{db.host}:1/{db.database}")
    at = page(engine)
    assert not at.exception
    [error] = at.error
    assert error.value.startswith("Cannot read PostgreSQL test database:")


def test_command_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "lakeprep.dashboard", "--help"],
                          capture_output=True, text=True, check=True)
    for flag in ("--config", "--port", "--address", "--db-secret-arn"):
        assert flag in proc.stdout
    args = build_parser().parse_args(["--config", "conf/local.yaml", "--port", "8599"])
    cmd = streamlit_command(args)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("app.py")
    assert cmd[cmd.index("--server.port") + 1] == "8599"
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--") + 1:cmd.index("--") + 2] == ["--config"]
    # A config that does not load stops before Streamlit starts, with one line.
    bad = subprocess.run([sys.executable, "-m", "lakeprep.dashboard", "--config",
                          str(tmp_path / "missing.yaml")], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode != 0 and "lakeprep.dashboard:" in bad.stderr
