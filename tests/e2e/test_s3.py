"""S3 end to end against a real S3-compatible server on loopback (moto's standalone server,
fixture ``s3_server``): the upload command, then `spark-submit jobs/text_pipeline.py` reading
``s3a://`` input and writing the Delta lake to ``s3a://`` through hadoop-aws, into PostgreSQL.

The job is started with spark-submit (not the session ``spark`` fixture) because S3A options
are read when a SparkContext starts: they cannot be added to a running session.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from submit_helpers import spark_submit_prefix

from lakeprep.tools import upload as upload_mod

boto3 = pytest.importorskip("boto3")

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "lakeprep-e2e"


def s3_client():
    # Endpoint, region and credentials come from the environment the fixture set, the same way
    # the upload command and Spark get them.
    return boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")


def keys(bucket: str, prefix: str) -> list[str]:
    out = []
    for page in s3_client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return out


def run_upload(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lakeprep.tools.upload", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("s3mock") / "corpus"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_mock_data.py"), "--out",
                    str(out), "--docs", "150", "--quiet"], check=True)
    return out


@pytest.fixture(scope="module")
def uploaded(s3_server, corpus):
    first = run_upload(str(corpus), f"s3://{BUCKET}/raw", "--create-bucket")
    assert first.returncode == 0, first.stderr
    second = run_upload(str(corpus), f"s3://{BUCKET}/raw")
    assert second.returncode == 0, second.stderr
    return {"first": first, "second": second}


def test_upload_help():
    proc = run_upload("--help")
    assert proc.returncode == 0
    for flag in ("SRC_DIR", "--create-bucket", "--endpoint-url"):
        assert flag in proc.stdout


def test_upload_puts_every_file_under_its_relative_path(uploaded, corpus):
    local = sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*") if p.is_file())
    assert local and sorted(k[len("raw/"):] for k in keys(BUCKET, "raw/")) == local
    err = uploaded["first"].stderr
    assert f"created bucket '{BUCKET}'" in err
    assert f"{len(local)} uploaded" in err and f"{len(local)}/{len(local)} files" in err
    assert "MB/s" in err


def test_rerun_uploads_nothing(uploaded, corpus):
    n = sum(1 for p in corpus.rglob("*") if p.is_file())
    err = uploaded["second"].stderr
    assert f"0 uploaded (0.0 MB), {n} skipped (unchanged)" in err


def test_changed_content_of_same_size_is_uploaded_again(uploaded, corpus, tmp_path):
    # Size alone would say "unchanged": the ETag (MD5) comparison must catch the edit.
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_bytes(b"first version")
    (src / "b.txt").write_bytes(b"untouched")
    assert run_upload(str(src), f"s3://{BUCKET}/changed").returncode == 0
    (src / "sub" / "a.txt").write_bytes(b"other version")
    proc = run_upload(str(src), f"s3://{BUCKET}/changed")
    assert proc.returncode == 0, proc.stderr
    assert "1 uploaded" in proc.stderr and "1 skipped" in proc.stderr
    body = s3_client().get_object(Bucket=BUCKET, Key="changed/sub/a.txt")["Body"].read()
    assert body == b"other version"


def test_multipart_etag_is_predicted(s3_server, tmp_path):
    # Files above the multipart threshold get an md5-of-parts ETag; a rerun must still skip.
    src = tmp_path / "big"
    src.mkdir()
    (src / "big.bin").write_bytes(os.urandom(upload_mod.PART_SIZE + 12345))
    first = run_upload(str(src), f"s3://{BUCKET}/big")
    assert first.returncode == 0, first.stderr
    [obj] = s3_client().list_objects_v2(Bucket=BUCKET, Prefix="big/")["Contents"]
    assert obj["ETag"].strip('"') == upload_mod.expected_etag(src / "big.bin", obj["Size"])
    assert obj["ETag"].strip('"').endswith("-2")
    again = run_upload(str(src), f"s3://{BUCKET}/big")
    assert "0 uploaded" in again.stderr and "1 skipped" in again.stderr


def test_missing_bucket_is_a_clear_error(s3_server, corpus):
    proc = run_upload(str(corpus), "s3://no-such-bucket-here/raw")
    assert proc.returncode == 1
    assert "bucket 'no-such-bucket-here' does not exist" in proc.stderr
    assert "--create-bucket" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unreachable_endpoint_is_a_clear_error(s3_server, corpus):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AWS_MAX_ATTEMPTS": "1"}
    proc = subprocess.run([sys.executable, "-m", "lakeprep.tools.upload", str(corpus),
                           f"s3://{BUCKET}/raw", "--endpoint-url", f"http://127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 1
    assert "cannot reach S3" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("code,status,expected", [
    ("AccessDenied", 403, "access denied to bucket 'b1'"),
    ("SlowDown", 503, "S3 is throttling requests to bucket 'b1'"),
    ("InternalError", 500, "S3 error while uploading x (bucket 'b1'): InternalError"),
])
def test_botocore_errors_become_one_line(code, status, expected):
    from botocore.exceptions import ClientError

    exc = ClientError({"Error": {"Code": code, "Message": "m"},
                       "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")
    message = str(upload_mod.explain(exc, "b1", "uploading x"))
    assert message.startswith(expected) and "\n" not in message


def test_access_denied_from_the_server(s3_server, tmp_path):
    # moto enforces bucket policies on its server: deny PutObject to everyone on one bucket.
    client = s3_client()
    client.create_bucket(Bucket="lakeprep-denied")
    client.put_bucket_policy(Bucket="lakeprep-denied", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                       "Resource": "arn:aws:s3:::lakeprep-denied/*"}]}))
    src = tmp_path / "d"
    src.mkdir()
    (src / "x.txt").write_text("x")
    proc = run_upload(str(src), "s3://lakeprep-denied/p")
    # The pinned moto enforces bucket policies; a pass here would mean the upload ignored the
    # refusal, which is exactly what this test exists to catch.
    assert proc.returncode != 0, "upload succeeded against a Deny bucket policy"
    assert proc.returncode == 1 and "access denied to bucket 'lakeprep-denied'" in proc.stderr


# --- the pipeline on S3 ---------------------------------------------------------------------

SECRET_PG = "s3-e2e-Pg-Secret-0c1d"


def submit(inputs: list[str], lake: str, pg, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PGHOST": pg.host, "PGPORT": str(pg.port), "PGDATABASE": pg.database,
           "PGUSER": pg.user, "PGPASSWORD": SECRET_PG, "PYSPARK_PYTHON": sys.executable,
           "PYSPARK_DRIVER_PYTHON": sys.executable}
    cmd = [*spark_submit_prefix(), str(ROOT / "jobs" / "text_pipeline.py"), "--lake", lake, "--config", str(config),
           "--quiet"]
    for uri in inputs:
        cmd += ["--input", uri]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, cwd=ROOT)


@pytest.fixture(scope="module")
def s3_config(tmp_path_factory):
    # The endpoint comes from AWS_ENDPOINT_URL (set by s3_server); addressing is configuration:
    # a loopback IP cannot carry the bucket in the host name.
    path = tmp_path_factory.mktemp("s3conf") / "s3-test.yaml"
    path.write_text(f"extends: {ROOT / 'conf' / 'local.yaml'}\n"
                    "spark:\n  conf:\n    spark.sql.shuffle.partitions: \"4\"\n"
                    "s3:\n  path_style_access: true\n")
    return path


@pytest.fixture(scope="module")
def s3_run(uploaded, pg, s3_config):
    proc = submit([f"s3a://{BUCKET}/raw"], f"s3a://{BUCKET}/lake", pg, s3_config)
    assert proc.returncode == 0, proc.stderr[-6000:]
    return proc


def test_pipeline_reads_and_writes_s3(s3_run, pg, corpus):
    manifest = json.loads((corpus / "manifest.json").read_text())
    totals = manifest["totals"]
    expected = totals["txt_files"] + totals["jsonl_records"] + totals["parquet_rows"]
    with psycopg2.connect(**pg.params()) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), count(*) FILTER (WHERE source_uri LIKE %s) FROM documents",
                    (f"s3a://{BUCKET}/raw/%",))
        n_docs, n_s3 = cur.fetchone()
        cur.execute("SELECT count(*) FROM chunks WHERE source_uri LIKE %s", (f"s3a://{BUCKET}/%",))
        (n_chunks,) = cur.fetchone()
    assert n_docs == n_s3 == expected
    assert n_chunks > 0
    lake = keys(BUCKET, "lake/")
    for table in ("bronze/raw_documents", "silver/documents", "silver/chunks"):
        assert f"lake/{table}/_delta_log/00000000000000000000.json" in lake, table
        assert any(k.startswith(f"lake/{table}/") and k.endswith(".parquet") for k in lake), table
    assert any(k.startswith("lake/_reports/") and k.endswith("report.json") for k in lake)
    # Neither the PostgreSQL password nor the AWS secret is printed by the job.
    for secret in (SECRET_PG, os.environ["AWS_SECRET_ACCESS_KEY"]):
        assert secret not in s3_run.stdout and secret not in s3_run.stderr
    # spark-submit's PythonRunner merges the Python driver's stderr into its stdout.
    assert "S3: endpoint=http://127.0.0.1" in s3_run.stdout + s3_run.stderr


def test_missing_input_bucket_fails_naming_it(s3_run, pg, s3_config):
    # s3:// (not s3a://) on purpose: off EMR it must be served by S3A (fs.s3.impl), otherwise
    # Hadoop fails with "No FileSystem for scheme" before ever asking for the bucket.
    proc = submit(["s3://lakeprep-no-such-input/raw"], f"s3a://{BUCKET}/lake2", pg,
                  s3_config)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr  # the Python driver's stderr arrives on stdout
    assert "s3://lakeprep-no-such-input/raw" in output
    assert "does not exist" in output
    # One line naming the input, not a Java stack trace.
    assert "FileNotFoundError: input not readable: s3://lakeprep-no-such-input/raw" in output
    assert "at org.apache.hadoop" not in output


@pytest.fixture(scope="module")
def pg(pg_database):
    """This module's own database: its row counts see only its own runs."""
    return pg_database("e2e_s3")
