"""The Airflow DAGs (jobs/airflow/dags) loaded by a real Airflow, in each deployment mode.

A probe script runs in Airflow's own venv (.cache/airflow-venv, `make airflow-venv`), with
AIRFLOW_HOME in a temp dir: it fills a DagBag from the DAGs folder the way the DAG processor does
(the folder is the bundle, so it is on sys.path), serializes every DAG as the processor would,
renders the tasks' templates with given Variable values, and prints what the assertions below
need as JSON. The spark-submit lines and EMR steps are then checked here, with the jobs' own
argument parsers (this venv has pyspark; Airflow's does not).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "jobs" / "airflow" / "dags"
AIRFLOW_PYTHON = ROOT / ".cache" / "airflow-venv" / "bin" / "python"
TERRAFORM_COMPUTE = ROOT / "terraform" / "modules" / "compute" / "main.tf"
MODES = ("local", "docker", "emr")
DAG_IDS = {"lakeprep_text_pipeline": "text_pipeline", "lakeprep_clinical_trials": "clinical_trials"}
JOB_FILES = {"text_pipeline": ROOT / "jobs" / "text_pipeline.py",
             "clinical_trials": ROOT / "jobs" / "clinical_trials.py"}

# An ARN only (the step carries no credential); made-up account number.
DB_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:lakeprep-AbCdEf"
# Variable values the templates are rendered with (what `airflow variables set` would hold).
VARIABLES = {
    "lakeprep_input": "s3a://bucket/raw in/",
    "lakeprep_lake": "s3a://bucket/lake",
    "lakeprep_emr": {
        "cluster_id": "j-ABC123", "artifacts_uri": "s3://artifacts/lakeprep",
        "input_uri": "s3://raw/corpus", "lake_uri": "s3://lake/lake", "db_host": "db.internal",
        "db_secret_arn": DB_ARN,
        "region": "eu-west-1", "jars": "s3://artifacts/lakeprep/jars/a.jar",
    },
}

PROBE = r'''
import json, os, sys
from pathlib import Path
from airflow.dag_processing.dagbag import BundleDagBag
from airflow.serialization.serialized_objects import DagSerialization

dags_dir = Path(sys.argv[1])
variables = json.loads(sys.argv[2])


class _Values:
    """`var.value` / `var.json` of a template context, backed by the given values."""
    def __init__(self, as_json):
        self.as_json = as_json
    def _get(self, key):
        value = variables[key]
        return value if self.as_json or isinstance(value, str) else json.dumps(value)
    def __getattr__(self, key):
        return self._get(key)
    def __getitem__(self, key):
        return self._get(key)
    def get(self, key, default=None):
        return self._get(key) if key in variables else default


context = {"var": {"value": _Values(False), "json": _Values(True)}, "run_id": "scheduled__x",
           "task_instance": None}
out = {}
for mode in ("local", "docker", "emr"):
    os.environ["LAKEPREP_AIRFLOW_MODE"] = mode
    bag = BundleDagBag(dag_folder=dags_dir, bundle_path=dags_dir, bundle_name="dags-folder")
    dags = {}
    for dag_id, dag in bag.dags.items():
        DagSerialization.to_dict(dag)  # what the DAG processor stores; raises if it cannot
        tasks = {}
        for t in dag.tasks:
            info = {
                "type": type(t).__name__, "upstream": sorted(t.upstream_task_ids),
                "retries": t.retries, "retry_delay": t.retry_delay.total_seconds(),
                "backoff": t.retry_exponential_backoff,
                "max_retry_delay": t.max_retry_delay and t.max_retry_delay.total_seconds(),
                "execution_timeout": t.execution_timeout and t.execution_timeout.total_seconds(),
            }
            if info["type"] == "BashOperator":
                info["bash_command"] = t.bash_command
                info["env"] = t.render_template(t.env, context)
                info["cwd"] = t.render_template(t.cwd, context)
            if info["type"] == "EmrAddStepsOperator":
                info["job_flow_id"] = t.render_template(t.job_flow_id, context)
                info["steps"] = t.render_template(t.steps, context)
            if info["type"] == "EmrStepSensor":
                info["step_id"] = t.step_id
                info["sensor_mode"] = t.mode
                info["timeout"] = t.timeout
            tasks[t.task_id] = info
        dags[dag_id] = {
            "schedule": str(dag.schedule), "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs, "tags": sorted(dag.tags),
            "deadlines": [{"reference": type(d.reference).__name__,
                           "interval": d.interval.total_seconds(),
                           "callback": type(d.callback).__name__, "path": d.callback.path}
                          for d in (dag.deadline or [])],
            "tasks": tasks,
        }
    out[mode] = {"import_errors": bag.import_errors, "dags": dags}
os.environ["LAKEPREP_AIRFLOW_MODE"] = "cloud"
bad = BundleDagBag(dag_folder=dags_dir, bundle_path=dags_dir, bundle_name="dags-folder")
out["bad_mode_errors"] = list(bad.import_errors.values())
print("PROBE-JSON " + json.dumps(out))
'''


@cache
def probe() -> dict:
    if not AIRFLOW_PYTHON.is_file():
        pytest.fail("Airflow is installed by `make setup` (target airflow-venv)")
    import tempfile
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AIRFLOW", "LAKEPREP_", "PYTHON"))}
        env.update(AIRFLOW_HOME=home, AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
                   AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__CORE__UNIT_TEST_MODE="True")
        proc = subprocess.run([str(AIRFLOW_PYTHON), "-c", PROBE, str(DAGS), json.dumps(VARIABLES)],
                              capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("PROBE-JSON "))
    return json.loads(line.removeprefix("PROBE-JSON "))


def load_job_parser(job: str):
    spec = importlib.util.spec_from_file_location(f"_job_{job}", JOB_FILES[job])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_args


def job_argv(argv: list[str], job_file_suffix: str) -> list[str]:
    """The job's own arguments: everything after the job file in a spark-submit line."""
    idx = next(i for i, a in enumerate(argv) if a.endswith(job_file_suffix))
    return argv[idx + 1:]


def parse_job_args(job: str, args: list[str]):
    try:
        return load_job_parser(job)(args)
    except SystemExit as exc:  # argparse exits on an unknown flag or a missing value
        raise AssertionError(f"{job} rejects {args}") from exc


# ------------------------------------------------------------------------------- loading

@pytest.mark.parametrize("mode", MODES)
def test_dags_load_without_errors_in_every_mode(mode):
    result = probe()[mode]
    assert result["import_errors"] == {}
    assert set(result["dags"]) == set(DAG_IDS)
    assert all(mode in d["tags"] for d in result["dags"].values())


def test_an_unknown_mode_is_an_import_error_not_a_silent_default():
    errors = probe()["bad_mode_errors"]
    assert len(errors) == len(DAG_IDS) and all("LAKEPREP_AIRFLOW_MODE" in e for e in errors)


# ------------------------------------------------------------------- schedule and structure

def test_schedules_no_catchup_and_one_run_at_a_time():
    dags = probe()["local"]["dags"]
    assert dags["lakeprep_text_pipeline"]["schedule"] == "0 2 * * *"
    # Trials three hours after text: independent, but not competing for the machine.
    assert dags["lakeprep_clinical_trials"]["schedule"] == "0 5 * * *"
    for dag in dags.values():
        assert dag["catchup"] is False and dag["max_active_runs"] == 1


@pytest.mark.parametrize("mode", ["local", "docker"])
def test_local_and_docker_modes_are_one_spark_submit_task(mode):
    for dag in probe()[mode]["dags"].values():
        assert {t: v["type"] for t, v in dag["tasks"].items()} == {"spark_submit": "BashOperator"}


def test_emr_mode_adds_a_step_then_waits_for_it():
    for dag in probe()["emr"]["dags"].values():
        tasks = dag["tasks"]
        assert tasks["add_step"]["type"] == "EmrAddStepsOperator"
        assert tasks["watch_step"]["type"] == "EmrStepSensor"
        assert tasks["watch_step"]["upstream"] == ["add_step"]
        assert "xcom_pull(task_ids='add_step')[0]" in tasks["watch_step"]["step_id"]
        # Waiting hours must not hold a worker slot.
        assert tasks["watch_step"]["sensor_mode"] == "reschedule"
        assert tasks["add_step"]["job_flow_id"] == VARIABLES["lakeprep_emr"]["cluster_id"]


# --------------------------------------------------------------- retries, timeouts, deadlines

@pytest.mark.parametrize("mode", MODES)
def test_every_task_retries_with_exponential_backoff_and_has_a_timeout(mode):
    for dag in probe()[mode]["dags"].values():
        for task in dag["tasks"].values():
            assert task["retries"] >= 2
            assert task["backoff"] and task["backoff"] > 1
            assert task["max_retry_delay"] and task["max_retry_delay"] > task["retry_delay"]
            assert task["execution_timeout"] and task["execution_timeout"] > 0


def test_emr_sensor_gives_up_with_the_job_timeout():
    for dag in probe()["emr"]["dags"].values():
        watch = dag["tasks"]["watch_step"]
        assert watch["timeout"] == watch["execution_timeout"]


@pytest.mark.parametrize("dag_id,hours", [("lakeprep_text_pipeline", 4),
                                          ("lakeprep_clinical_trials", 3)])
def test_deadline_alert_is_the_sla(dag_id, hours):
    deadlines = probe()["local"]["dags"][dag_id]["deadlines"]
    assert deadlines == [{"reference": "DagRunLogicalDateDeadline",
                          "interval": timedelta(hours=hours).total_seconds(),
                          "callback": "AsyncCallback",
                          "path": "lakeprep_dag_factory.deadline_missed"}]
    timeout = probe()["local"]["dags"][dag_id]["tasks"]["spark_submit"]["execution_timeout"]
    # One attempt alone can never meet the deadline's end only by timing out past it.
    assert timeout < timedelta(hours=hours).total_seconds()


# ------------------------------------------------------------- what the tasks actually run

@pytest.mark.parametrize("mode", ["local", "docker"])
@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_spark_submit_line_runs_the_job_with_flags_it_accepts(mode, dag_id):
    job = DAG_IDS[dag_id]
    task = probe()[mode]["dags"][dag_id]["tasks"]["spark_submit"]
    line = task["bash_command"]
    if mode == "local":
        # As `make run`: the config's launch-time settings (driver memory, JVM options) first.
        launch = ('eval "set -- $(.venv/bin/python -m lakeprep.spark launch-args '
                  '--config conf/local.yaml)" && ')
        assert line.startswith(launch)
        line = line[len(launch):]
    argv = shlex.split(line)
    assert argv[0] == "exec"
    suffix = f"jobs/{job}.py"
    job_file = next(a for a in argv if a.endswith(suffix))
    args = parse_job_args(job, job_argv(argv, suffix))
    config = Path(args.config)
    if mode == "local":
        assert argv[1] == ".venv/bin/spark-submit" and job_file == suffix
        assert argv[2] == "$@" and '.venv/bin/spark-submit "$@"' in line
        assert "--driver-memory" not in argv   # from the config, through launch-args
        # What "$@" holds when the shell runs the line in the checkout: one argument per
        # setting, the JVM options (with spaces) one word.
        held = subprocess.run(["bash", "-c", launch + 'printf "%s\\n" "$@"'], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.splitlines()
        assert held[held.index("spark.driver.memory=4g") - 1] == "--conf"
        assert any(h.startswith("spark.driver.defaultJavaOptions=-XX:TieredStopAtLevel=1 ")
                   for h in held)
        assert (ROOT / job_file).is_file() and (ROOT / config).is_file()
        assert config == Path("conf/local.yaml")
        log4j = next(a for a in argv if a.startswith("-Dlog4j2.configurationFile="))
        assert (ROOT / log4j.split("=", 1)[1]).is_file()
        # The task runs in the checkout (cwd), with the venv's Python for driver and workers.
        assert task["cwd"] == str(ROOT)
        assert task["env"]["PYSPARK_PYTHON"] == str(ROOT / ".venv" / "bin" / "python")
    else:
        # The compose `submit` service, whose image holds the checkout at /opt/lakeprep.
        assert argv[1:6] == ["docker", "compose", "run", "--rm", "submit"]
        # As the compose service: through docker/spark-submit.sh, which passes the config's
        # driver memory and JVM options (launch-args); none given here a second time.
        assert argv[6:8] == ["bash", "/opt/lakeprep/docker/spark-submit.sh"]
        assert (ROOT / "docker" / "spark-submit.sh").is_file()
        assert "--driver-memory" not in argv
        assert (ROOT / "docker-compose.yml").is_file()
        assert "--master" in argv and argv[argv.index("--master") + 1].startswith("spark://")
        for in_image in (Path(job_file), config):
            assert in_image.parts[:3] == ("/", "opt", "lakeprep")
            assert (ROOT / Path(*in_image.parts[3:])).is_file()
        assert config.name == "docker.yaml"
    # The Variable-backed values travel as environment variables, expanded by the shell as one
    # word each, and render from the Variables.
    assert args.lake == "$LAKEPREP_LAKE"
    assert task["env"]["LAKEPREP_LAKE"] == VARIABLES["lakeprep_lake"]
    if job == "text_pipeline":
        assert args.input == ["$LAKEPREP_INPUT"]
        assert task["env"]["LAKEPREP_INPUT"] == VARIABLES["lakeprep_input"]
        assert '"$LAKEPREP_INPUT"' in task["bash_command"]


@pytest.mark.parametrize("dag_id", sorted(DAG_IDS))
def test_emr_step_runs_the_staged_job_with_flags_it_accepts(dag_id):
    job = DAG_IDS[dag_id]
    emr = VARIABLES["lakeprep_emr"]
    (step,) = probe()["emr"]["dags"][dag_id]["tasks"]["add_step"]["steps"]
    assert step["HadoopJarStep"]["Jar"] == "command-runner.jar"
    assert step["ActionOnFailure"] == "CONTINUE"
    argv = step["HadoopJarStep"]["Args"]
    assert argv[:3] == ["spark-submit", "--deploy-mode", "cluster"]
    job_file = next(a for a in argv if a.endswith(f"/{job}.py"))
    assert job_file == f"{emr['artifacts_uri']}/{job}.py" and JOB_FILES[job].is_file()
    args = parse_job_args(job, job_argv(argv, f"/{job}.py"))
    # conf.zip unpacks as ./conf in the step's working directory (terraform's step).
    assert args.config == "conf/emr.yaml" and (ROOT / args.config).is_file()
    assert args.lake == emr["lake_uri"]
    confs = [argv[i + 1] for i, a in enumerate(argv) if a == "--conf"]
    assert f"spark.yarn.appMasterEnv.PGHOST={emr['db_host']}" in confs
    assert "spark.yarn.appMasterEnv.PGPORT=5432" in confs
    if job == "text_pipeline":
        assert args.input == [emr["input_uri"]] and args.db_secret_arn == emr["db_secret_arn"]
    else:
        # No --db-secret-arn flag in this job: the secret's ARN goes by the variable it reads.
        assert f"spark.yarn.appMasterEnv.LAKEPREP_PG_SECRET_ARN={emr['db_secret_arn']}" in confs
    # Only the ARN travels in the step, never a password.
    assert not any(re.search(r"PASSWORD", a) for a in argv)


def terraform_step_literals() -> list[str]:
    """The literal flags and --conf keys of terraform's step (local.step_args in compute)."""
    text = TERRAFORM_COMPUTE.read_text()
    block = text[text.index("step_args = concat("):]
    block = block[:block.index("\n  )\n")]
    words = re.findall(r'"([^"$]*)(?:\$\{[^}]*\}[^"]*)?"', block)
    return [w for w in words if w.startswith("--") or w.startswith("spark.")
            or w in ("spark-submit", "cluster")]


def test_text_emr_step_matches_the_step_terraform_defines():
    (step,) = probe()["emr"]["dags"]["lakeprep_text_pipeline"]["tasks"]["add_step"]["steps"]
    argv = step["HadoopJarStep"]["Args"]
    literals = terraform_step_literals()
    assert len(literals) > 15, literals  # the parse found the block
    for word in literals:
        if word.endswith("="):  # a --conf key whose value terraform interpolates
            assert any(a.startswith(word) for a in argv), word
        else:
            assert word in argv, word
    name = argv[argv.index("--name") + 1]
    assert name == "lakeprep-text-pipeline"
    assert argv[argv.index("--py-files") + 1].endswith("/lakeprep.zip")
    assert argv[argv.index("--archives") + 1].endswith("/conf.zip#conf")
    assert argv[argv.index("--jars") + 1] == VARIABLES["lakeprep_emr"]["jars"]
