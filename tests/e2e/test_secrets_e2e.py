"""The database password from Secrets Manager, end to end: a real PostgreSQL that demands a
password (scram-sha-256 for one role), a real Secrets Manager API (moto's standalone server on
loopback), and the job run the way the EMR step runs it, with only the secret's ARN."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import boto3
import psycopg2
import pytest
import sqlalchemy as sa

from lakeprep.config import load_settings
from lakeprep.db.connection import SECRET_ARN_ENV, resolve_target
from lakeprep.db.secrets import SecretError, read_db_secret

ROOT = Path(__file__).resolve().parents[2]
ROLE = "lakeprep_secret_user"
PASSWORD = "Rds-Managed-9d2c!pw"
HBA_LINE = f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n"
WORDS = ("the pipeline reads raw text from the lake and writes clean chunks that have a reason "
         "for every decision with the data of each run kept to be checked later and that is all")


@pytest.fixture(scope="module")
def pg(pg_server, pg_database):
    """This module's database, owned by a role that must authenticate with its password (the
    session server trusts loopback for everyone else, so the rule is added for this role only)."""
    db = pg_database("e2e_secrets")
    admin = psycopg2.connect(**pg_server.params())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP ROLE IF EXISTS {ROLE}")
        cur.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD %s", (PASSWORD,))
        cur.execute(f'ALTER DATABASE "{db.database}" OWNER TO {ROLE}')
        cur.execute("SHOW hba_file")
        hba = Path(cur.fetchone()[0])
    original = hba.read_text()
    # pg_hba.conf is read top down and the first matching line wins.
    hba.write_text(HBA_LINE + original)
    with admin.cursor() as cur:
        cur.execute("SELECT pg_reload_conf()")
    yield db
    hba.write_text(original)
    with admin.cursor() as cur:
        cur.execute("SELECT pg_reload_conf()")
    admin.close()


@pytest.fixture(scope="module")
def secretsmanager(s3_server):
    """A client of the moto server (it serves every AWS API, Secrets Manager included)."""
    return boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=s3_server)


@pytest.fixture(scope="module")
def secret_arn(secretsmanager):
    # The shape RDS writes for a master password it manages: username and password only.
    return secretsmanager.create_secret(
        Name="rds!db-lakeprep-e2e",
        SecretString=f'{{"username": "{ROLE}", "password": "{PASSWORD}"}}')["ARN"]


def cfg_for(pg):
    return dataclasses.replace(load_settings().postgres, host=pg.host, port=pg.port,
                               database=pg.database, user="not-the-secret-user")


def current_user(target) -> str:
    engine = target.engine()
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT current_user")).scalar_one()
    finally:
        engine.dispose()


def test_the_server_really_checks_the_password(pg):
    base = {"host": pg.host, "port": pg.port, "dbname": pg.database, "user": ROLE}
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(**base, password="wrong").close()
    psycopg2.connect(**base, password=PASSWORD).close()


def test_resolve_target_connects_with_the_secrets_password(pg, secret_arn):
    # A stale PGPASSWORD and another PGUSER lose to the secret: they are not a pair with it.
    target = resolve_target(cfg_for(pg), env={"PGPASSWORD": "stale", "PGUSER": "other",
                                              SECRET_ARN_ENV: secret_arn})
    assert current_user(target) == ROLE
    assert PASSWORD not in repr(target) and PASSWORD not in target.describe()


def test_without_an_arn_pgpassword_is_used_as_before(pg):
    target = resolve_target(cfg_for(pg), env={"PGUSER": ROLE, "PGPASSWORD": PASSWORD})
    assert current_user(target) == ROLE
    wrong = resolve_target(cfg_for(pg), env={"PGUSER": ROLE, "PGPASSWORD": "wrong"})
    with pytest.raises(sa.exc.OperationalError):
        current_user(wrong)


def test_missing_and_deleted_secrets_are_one_line(secretsmanager, secret_arn):
    missing = secret_arn.replace("rds!db-lakeprep-e2e", "rds!db-nope")
    with pytest.raises(SecretError, match="does not exist") as err:
        read_db_secret(missing)
    assert "\n" not in str(err.value)
    arn = secretsmanager.create_secret(Name="lakeprep-deleted", SecretString="{}")["ARN"]
    secretsmanager.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    with pytest.raises(SecretError, match="scheduled for deletion"):
        read_db_secret(arn)


def test_malformed_secret_from_the_server_names_the_problem_not_the_content(secretsmanager):
    arn = secretsmanager.create_secret(Name="lakeprep-malformed",
                                       SecretString=f"password={PASSWORD}")["ARN"]
    with pytest.raises(SecretError, match="is not valid JSON") as err:
        read_db_secret(arn)
    assert PASSWORD not in str(err.value)


@pytest.fixture(scope="module")
def job_run(pg, secret_arn, tmp_path_factory):
    """`jobs/text_pipeline.py --db-secret-arn ARN` with PGHOST/PGPORT/PGDATABASE and no
    password anywhere in its environment, Spark's event log on (it records the Spark conf and
    every SQL plan, the JDBC write included)."""
    base = tmp_path_factory.mktemp("secret-job")
    corpus = base / "corpus"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"doc{i}.txt").write_text(f"Document {i}. " + " ".join([WORDS] * 3) + ".\n")
    events = base / "events"
    events.mkdir()
    config = base / "secret-job.yaml"
    config.write_text(f"extends: {ROOT / 'conf' / 'local.yaml'}\n"
                      "spark:\n  master: local[2]\n  conf:\n"
                      "    spark.driver.memory: 1g\n    spark.sql.shuffle.partitions: '4'\n"
                      "    spark.eventLog.compress: 'false'\n"
                      f"    spark.eventLog.enabled: 'true'\n    spark.eventLog.dir: '{events.as_uri()}'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"PGHOST": pg.host, "PGPORT": str(pg.port), "PGDATABASE": pg.database,
                "PYSPARK_PYTHON": sys.executable})
    proc = subprocess.run([sys.executable, str(ROOT / "jobs" / "text_pipeline.py"),
                           "--input", str(corpus), "--lake", str(base / "lake"),
                           "--config", str(config), "--db-secret-arn", secret_arn],
                          env=env, capture_output=True, text=True, timeout=900, cwd=base)
    return proc, events


def test_job_loads_with_the_secrets_password(job_run, pg):
    proc, _ = job_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    conn = psycopg2.connect(host=pg.host, port=pg.port, dbname=pg.database, user=ROLE,
                            password=PASSWORD)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM documents")
        assert cur.fetchone()[0] == 3
        cur.execute("SELECT status FROM pipeline_runs")
        assert [r[0] for r in cur.fetchall()] == ["succeeded"]
    conn.close()


def test_password_not_in_output_or_spark_conf_or_plans(job_run):
    proc, events = job_run
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "database credentials read from secret" in proc.stderr
    assert PASSWORD not in proc.stdout and PASSWORD not in proc.stderr
    logs = list(events.rglob("*"))
    text = "".join(p.read_text(errors="replace") for p in logs if p.is_file())
    assert "spark.app.name" in text, "the event log did not record the Spark conf"
    assert PASSWORD not in text


def test_job_with_a_missing_secret_fails_in_one_line_before_spark(pg, secret_arn, tmp_path):
    env = {**os.environ, "PGHOST": pg.host, "PGPORT": str(pg.port)}
    missing = secret_arn.replace("rds!db-lakeprep-e2e", "rds!db-gone")
    proc = subprocess.run([sys.executable, str(ROOT / "jobs" / "text_pipeline.py"),
                           "--input", str(tmp_path), "--lake", str(tmp_path / "lake"),
                           "--db-secret-arn", missing],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == \
        f"error: database secret {missing} does not exist (check the ARN and region)"
    assert "Traceback" not in proc.stderr and "SparkContext" not in proc.stderr


def test_unreachable_secrets_manager_is_one_line(monkeypatch):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for key, value in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1",
                       "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}.items():
        monkeypatch.setenv(key, value)
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-unreachable-AbC123"
    with pytest.raises(SecretError, match="cannot reach Secrets Manager") as err:
        read_db_secret(arn)
    assert arn in str(err.value) and "\n" not in str(err.value)
