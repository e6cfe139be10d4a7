"""Builds the Airflow DAGs that schedule lakeprep's two Spark jobs (text_pipeline, clinical_trials).

The DAG files next to this module (lakeprep_text_pipeline.py, lakeprep_clinical_trials.py) each
call `build_dag` once; `.airflowignore` keeps the DAG processor from parsing this module as a DAG
file. Airflow puts the DAGs folder on sys.path, so the DAG files, the workers and the triggerer
(which runs the deadline callback) all import this module by its plain name.

Where the jobs run is a deployment decision, read when the file is parsed:

    LAKEPREP_AIRFLOW_MODE = local (default) | docker | emr

It changes the DAG's shape (one spark-submit task, or add-step + step sensor on EMR), so it is an
environment variable of the Airflow deployment rather than an Airflow Variable: a top-level
Variable.get would query the metadata database on every parse, which Airflow advises against.
What a run reads (inputs, lake, cluster id) are Airflow Variables resolved by Jinja at run time:

    lakeprep_repo_dir  local/docker: the lakeprep checkout (default: the one holding this file)
    lakeprep_input     text job input (default: mock_data locally, s3a://lakeprep/raw on docker)
    lakeprep_lake      Delta lake root (default: .lake locally, s3a://lakeprep/lake on docker)
    lakeprep_emr       emr: JSON with cluster_id, artifacts_uri, input_uri, lake_uri, db_host,
                       db_secret_arn, region, jars [, db_port, db_name] from `terraform output`
"""
from __future__ import annotations

import logging
import os
import shlex
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.amazon.aws.operators.emr import EmrAddStepsOperator
from airflow.providers.amazon.aws.sensors.emr import EmrStepSensor
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, AsyncCallback, DeadlineAlert, DeadlineReference

MODES = ("local", "docker", "emr")
DEFAULT_MODE = "local"
MODE_ENV = "LAKEPREP_AIRFLOW_MODE"
# Set in the triggerer's environment to be told of a missed deadline by SNS besides the log line.
ALERT_TOPIC_ENV = "LAKEPREP_ALERT_SNS_TOPIC_ARN"

# jobs/airflow/dags/ -> the checkout root, the default working directory of local/docker runs.
CHECKOUT = Path(__file__).resolve().parents[3]

log = logging.getLogger(__name__)


def mode_from_env() -> str:
    mode = os.environ.get(MODE_ENV, DEFAULT_MODE).strip().lower() or DEFAULT_MODE
    if mode not in MODES:
        # Fail the parse (an import error on the DAG list) rather than schedule the wrong thing.
        raise ValueError(f"{MODE_ENV}={mode!r}: expected one of {', '.join(MODES)}")
    return mode


def _var(name: str, default: str) -> str:
    """A Jinja reference to an Airflow Variable, resolved when the task runs."""
    return "{{ var.value.get(" + repr(name) + ", " + repr(default) + ") }}"


def _emr(key: str, default: str | None = None) -> str:
    if default is None:
        return "{{ var.json.lakeprep_emr[" + repr(key) + "] }}"
    return "{{ var.json.lakeprep_emr.get(" + repr(key) + ", " + repr(default) + ") }}"


# ---------------------------------------------------------------------------- spark-submit lines

# Per job: the job file, the Variable-backed arguments (as environment variables of the task, so
# a value never goes through the shell's parser) and fixed arguments. Only flags each job's
# argparse defines (tests/static/test_airflow_dags.py parses them with the jobs' own parsers).
JOBS: dict[str, dict[str, Any]] = {
    "text_pipeline": {
        "file": "jobs/text_pipeline.py",
        "args": ["--input", "$LAKEPREP_INPUT", "--lake", "$LAKEPREP_LAKE"],
    },
    "clinical_trials": {
        "file": "jobs/clinical_trials.py",
        "args": ["--lake", "$LAKEPREP_LAKE"],
    },
}

# The same command lines as `make run` / `make run-trials` (local) and the compose `submit`
# service (docker), so a scheduled run is the run a user starts by hand.
LOCAL_CONFIG = "conf/local.yaml"
# The config's launch-time settings (driver memory, JVM options: lakeprep.spark launch-args),
# made the shell's positional parameters and passed on by the "$@" of LOCAL_SUBMIT.
LOCAL_LAUNCH = ('eval "set -- $(.venv/bin/python -m lakeprep.spark launch-args --config '
                + LOCAL_CONFIG + ')"')
LOCAL_SUBMIT = [".venv/bin/spark-submit", "$@",
                "--driver-java-options", "-Dlog4j2.configurationFile=conf/log4j2.properties"]
# Inside the image the checkout is /opt/lakeprep (Dockerfile); the master is the compose service.
DOCKER_APP_DIR = "/opt/lakeprep"
DOCKER_RUN = ["docker", "compose", "run", "--rm", "submit"]
# docker/spark-submit.sh: spark-submit with the launch-time settings of the job's --config.
DOCKER_SUBMIT = ["bash", f"{DOCKER_APP_DIR}/docker/spark-submit.sh",
                 "--master", "spark://spark-master:7077"]
DOCKER_CONFIG = f"{DOCKER_APP_DIR}/conf/docker.yaml"

DEFAULTS = {
    "local": {"lakeprep_input": "mock_data", "lakeprep_lake": ".lake"},
    # The bucket of .env.example (S3_BUCKET=lakeprep), the compose stack's default.
    "docker": {"lakeprep_input": "s3a://lakeprep/raw", "lakeprep_lake": "s3a://lakeprep/lake"},
}


def submit_command(job: str, mode: str) -> list[str]:
    """argv of the spark-submit run of `job` in local or docker mode (before the shell expands
    the $LAKEPREP_* references, which the task's environment defines)."""
    spec = JOBS[job]
    if mode == "local":
        return [*LOCAL_SUBMIT, spec["file"], *spec["args"], "--config", LOCAL_CONFIG]
    if mode == "docker":
        return [*DOCKER_RUN, *DOCKER_SUBMIT, f"{DOCKER_APP_DIR}/{spec['file']}", *spec["args"],
                "--config", DOCKER_CONFIG]
    raise ValueError(f"no spark-submit command for mode {mode!r}")


def bash_command(job: str, mode: str) -> str:
    """The task's shell line: `submit_command` quoted, after the launch-time settings in local
    mode (as `make run`)."""
    # Quote everything except the $LAKEPREP_* references, which are double-quoted so the shell
    # expands them as one word each, whatever they contain, and "$@" (one word per argument).
    words = [f'"{a}"' if a.startswith("$LAKEPREP_") or a == "$@" else shlex.quote(a)
             for a in submit_command(job, mode)]
    # `exec`: the job replaces the shell, so Airflow's SIGTERM on timeout reaches spark-submit.
    line = "exec " + " ".join(words)
    return f"{LOCAL_LAUNCH} && {line}" if mode == "local" else line


# ------------------------------------------------------------------------------------- EMR step

def emr_step(job: str) -> dict[str, Any]:
    """The EMR step running `job`: the step terraform/modules/compute defines (local.step_args),
    with the values terraform knows filled from the `lakeprep_emr` Variable at run time."""
    artifacts = _emr("artifacts_uri")
    secret_arn = _emr("db_secret_arn")
    app_env = {
        "PGHOST": _emr("db_host"),
        "PGPORT": _emr("db_port", "5432"),
        "PGDATABASE": _emr("db_name", "lakeprep"),
        "AWS_REGION": _emr("region"),
    }
    if job == "text_pipeline":
        job_args = ["--input", _emr("input_uri"), "--lake", _emr("lake_uri"),
                    "--config", "conf/emr.yaml", "--db-secret-arn", secret_arn]
    else:
        # clinical_trials has no --db-secret-arn flag; it reads the same secret from the variable
        # lakeprep.db.connection consults next (LAKEPREP_PG_SECRET_ARN).
        app_env["LAKEPREP_PG_SECRET_ARN"] = secret_arn
        job_args = ["--lake", _emr("lake_uri"), "--config", "conf/emr.yaml"]
    args = ["spark-submit", "--deploy-mode", "cluster",
            "--name", f"lakeprep-{job.replace('_', '-')}",
            "--jars", _emr("jars"),
            "--py-files", f"{artifacts}/lakeprep.zip",
            "--archives", f"{artifacts}/conf.zip#conf",
            "--conf", "spark.pyspark.python=/opt/lakeprep/venv/bin/python"]
    for key, value in app_env.items():
        args += ["--conf", f"spark.yarn.appMasterEnv.{key}={value}"]
    args += [f"{artifacts}/{Path(JOBS[job]['file']).name}", *job_args]
    return {
        "Name": f"lakeprep {job.replace('_', ' ')} ({{{{ run_id }}}})",
        # CONTINUE: a failed run must not terminate a long-running cluster shared by both DAGs.
        "ActionOnFailure": "CONTINUE",
        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args},
    }


# --------------------------------------------------------------------------- deadline (the SLA)

async def deadline_missed(context: dict | None = None, **kwargs: Any) -> None:
    """Deadline-alert callback (runs in the triggerer): an ERROR log line, and an SNS message
    when LAKEPREP_ALERT_SNS_TOPIC_ARN is set in the triggerer's environment."""
    dag_id = kwargs.get("dag_id", "?")
    message = (f"lakeprep: DAG {dag_id} missed its deadline of {kwargs.get('deadline', '?')} "
               f"after the scheduled time")
    log.error(message)
    topic = os.environ.get(ALERT_TOPIC_ENV)
    if topic:
        from airflow.providers.amazon.aws.hooks.sns import SnsHook
        SnsHook().publish_to_target(target_arn=topic, message=message,
                                    subject="lakeprep deadline missed")


# ----------------------------------------------------------------------------------- the DAGs

def build_dag(job: str, *, schedule: str, deadline: timedelta, execution_timeout: timedelta,
              description: str, mode: str | None = None) -> DAG:
    mode = mode or mode_from_env()
    default_args = {
        "owner": "lakeprep",
        # Transient failures (a busy database, S3 throttling, a lost executor, an AWS API error)
        # are retried; the jobs are idempotent MERGEs, so a retry after a partial run is safe.
        "retries": 3,
        "retry_delay": timedelta(minutes=5),
        # 5, 10, 20 min: backs off from an outage instead of hammering it.
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": execution_timeout,
    }
    dag = DAG(
        dag_id=f"lakeprep_{job}",
        description=f"{description} [{mode}]",
        schedule=schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        # A missed day is not replayed: each run processes whatever is new since the last one.
        catchup=False,
        # The jobs update the same Delta tables; two runs of one job must not overlap.
        max_active_runs=1,
        default_args=default_args,
        tags=["lakeprep", mode],
        # Airflow 3 removed task SLAs; a deadline alert is their replacement: fires when the run
        # has not finished `deadline` after its logical (scheduled) time.
        deadline=DeadlineAlert(
            reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
            interval=deadline,
            callback=AsyncCallback(deadline_missed, kwargs={
                "dag_id": f"lakeprep_{job}", "deadline": str(deadline)}),
        ),
    )
    with dag:
        if mode == "emr":
            # The cluster is the long-running one terraform creates (output emr_cluster_id).
            add = EmrAddStepsOperator(
                task_id="add_step",
                job_flow_id=_emr("cluster_id"),
                steps=[emr_step(job)],
                # Submitting takes seconds; the sensor below does the waiting without holding a
                # worker slot (reschedule mode).
                execution_timeout=timedelta(minutes=10),
            )
            watch = EmrStepSensor(
                task_id="watch_step",
                job_flow_id=_emr("cluster_id"),
                step_id="{{ task_instance.xcom_pull(task_ids='add_step')[0] }}",
                mode="reschedule",
                poke_interval=60,
                timeout=execution_timeout.total_seconds(),
            )
            add >> watch
        else:
            defaults = DEFAULTS[mode]
            repo_dir = _var("lakeprep_repo_dir", str(CHECKOUT))
            venv_python = f"{repo_dir}/.venv/bin/python"
            # A BashOperator running the project's own spark-submit line, not SparkSubmitOperator:
            # that operator only runs a spark-submit found on PATH (spark_binary is restricted to
            # the bare names) and takes the master from an Airflow connection, while lakeprep runs
            # the venv's spark-submit with the master from conf/ (local) or inside the compose
            # `submit` container (docker). One line to read, identical to the README's.
            BashOperator(
                task_id="spark_submit",
                bash_command=bash_command(job, mode),
                cwd=repo_dir,
                env={
                    "LAKEPREP_INPUT": _var("lakeprep_input", defaults["lakeprep_input"]),
                    "LAKEPREP_LAKE": _var("lakeprep_lake", defaults["lakeprep_lake"]),
                    # As the Makefile does: the driver and the Python workers use the venv.
                    "PYSPARK_PYTHON": venv_python,
                    "PYSPARK_DRIVER_PYTHON": venv_python,
                },
                # Keep PATH (java, docker), HOME and the PG*/AWS_* settings of the worker.
                append_env=True,
            )
    return dag
