#!/usr/bin/env bash
# One-shot loader for docker compose (service `loader`): creates the bucket and puts the input
# corpus under s3://$S3_BUCKET/raw, then exits 0 so `submit` (depends_on: service_completed_
# successfully) starts only once its input exists.
#
# Input: whatever is mounted at /data/sample (SAMPLE_DATA_DIR in .env; the default, docker/
# sample-data, is empty), or, when that holds no file, a corpus generated here with
# scripts/generate_mock_data.py (deterministic: same seed, same bytes, so a rerun uploads
# identical objects).
#
# Env: S3_BUCKET (required), AWS_ENDPOINT_URL (required: the compose S3 server),
#      AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (read by boto3 itself), MOCK_DOCS (default 1200).
set -euo pipefail

say() { echo "load-sample-data: $*" >&2; }

bucket="${S3_BUCKET:?set S3_BUCKET in .env}"
endpoint="${AWS_ENDPOINT_URL:?AWS_ENDPOINT_URL must point at the S3 service}"
sample_dir=/data/sample

# .gitkeep: the placeholder that keeps the default (empty) docker/sample-data folder in git.
if [[ -d "$sample_dir" && -n "$(find "$sample_dir" -type f ! -name .gitkeep -print -quit)" ]]; then
  src="$sample_dir"
  say "uploading the mounted corpus $src"
else
  # /tmp: the image's user (spark) cannot write under /opt/lakeprep, and the generated corpus is
  # only needed until it is uploaded.
  src="$(mktemp -d /tmp/mock_data.XXXXXX)"
  say "no corpus mounted at $sample_dir: generating ${MOCK_DOCS:-1200} mock documents in $src"
  python /opt/lakeprep/scripts/generate_mock_data.py --out "$src" --docs "${MOCK_DOCS:-1200}" --quiet
fi

# --config docker.yaml: its s3 section asks for path-style addressing (http://s3:9000/BUCKET/...);
# the default (local.yaml) would address BUCKET.s3, a host name that does not resolve here.
python -m lakeprep.tools.upload "$src" "s3://$bucket/raw" --create-bucket \
  --endpoint-url "$endpoint" --config /opt/lakeprep/conf/docker.yaml
say "done: s3://$bucket/raw"
