#!/usr/bin/env bash
# spark-submit with the launch-time settings of the job's config, as `make run` does on one
# machine: the driver's memory and JVM options are read when its JVM starts, before the job
# reads its config, so they must be on spark-submit's command line
# (`python -m lakeprep.spark launch-args`, lakeprep/spark.py). Takes spark-submit's own
# arguments unchanged and finds the config in the job's `--config FILE` (or `--config=FILE`);
# the compose `submit` service and the Airflow DAGs' docker mode start the jobs through it, so
# those settings live once, in conf/docker.yaml.
set -euo pipefail

config=""
prev=""
for arg in "$@"; do
  case "$arg" in
    --config=*) config="${arg#--config=}" ;;
    *) if [[ "$prev" == "--config" ]]; then config="$arg"; fi ;;
  esac
  prev="$arg"
done
if [[ -z "$config" ]]; then
  echo "spark-submit.sh: the job's --config FILE is missing (its launch-time settings go to" \
       "spark-submit)" >&2
  exit 2
fi

launch="$(python -m lakeprep.spark launch-args --config "$config")"
# launch-args prints shell-quoted words (the JVM options hold spaces): eval splits them back,
# in front of the arguments this script was given.
eval "set -- $launch \"\$@\""
exec "${SPARK_HOME:-/opt/spark}/bin/spark-submit" "$@"
