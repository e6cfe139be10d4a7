"""GitHub Actions workflows (.github/workflows): actionlint clean, and they run what we run here.

ci.yml's test job must run the same command as .ci/run (the CI entry point), its lint job the same
ruff / mypy / hadolint / checkov invocations as tests/static; release.yml builds the package and
the image on a version tag with minimal permissions. Each check is a function returning problems,
run on the real file (must be empty) and on a broken copy (must not be), as in test_docker.py.
"""
from __future__ import annotations

import copy
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
RELEASE = WORKFLOWS / "release.yml"
CI_RUN = ROOT / ".ci" / "run"
MAKEFILE = ROOT / "Makefile"
# A version pin: vMAJOR.MINOR.PATCH (a moving major tag such as @v4 is not one).
PINNED_USES = re.compile(r"^[\w.-]+/[\w./-]+@v\d+\.\d+\.\d+$")


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as the boolean true.
    if True in data:
        data["on"] = data.pop(True)
    return data


def run_lines(job: dict) -> list[str]:
    """Every command line of a job's `run` steps, continuation lines joined."""
    lines = []
    for step in job.get("steps", []):
        lines += step.get("run", "").replace("\\\n", " ").splitlines()
    return [" ".join(line.split()) for line in lines if line.strip()]


def actionlint_exe() -> Path:
    version = re.search(r"^ACTIONLINT_VERSION := (\S+)$", MAKEFILE.read_text(), re.M).group(1)
    return ROOT / ".cache" / "bin" / f"actionlint-{version}"


# ------------------------------------------------------------------------------------ checks

def check_test_job_runs_ci_run(ci: dict) -> list[str]:
    job = ci["jobs"].get("test", {})
    problems = []
    if "bash .ci/run" not in run_lines(job):
        problems.append("the test job must run `bash .ci/run`, the CI entry point")
    uses = {s.get("uses", "").split("@")[0]: s.get("with", {}) for s in job.get("steps", [])}
    if str(uses.get("actions/setup-java", {}).get("java-version")) != "17":
        problems.append("Java 17 (actions/setup-java) is what .ci/run and Spark 4.1 need")
    if str(uses.get("actions/setup-python", {}).get("python-version")) != "3.11":
        problems.append("Python 3.11 (actions/setup-python)")
    if "actions/checkout" not in uses:
        problems.append("the test job must check out the repository")
    return problems


def check_triggers(ci: dict) -> list[str]:
    on = ci.get("on") or {}
    return [] if "push" in on and "pull_request" in on else ["ci must run on push and pull_request"]


def check_lint_job(ci: dict) -> list[str]:
    lines = run_lines(ci["jobs"].get("lint", {}))
    wanted = {
        "ruff": lambda w: w[:4] == ["python", "-m", "ruff", "check"],
        "mypy": lambda w: w[:3] == ["python", "-m", "mypy"] and "mypy.ini" in w,
        # As tests/static/test_docker.py: the repository's config with its written reasons.
        "hadolint": lambda w: w[:1] == ["hadolint"] and "--config" in w
        and w[w.index("--config") + 1] == ".hadolint.yaml" and w[-1] == "Dockerfile",
        # As tests/static/test_terraform.py: the tools venv, the whole terraform/ tree, offline.
        "checkov": lambda w: w[:1] == [".cache/tools-venv/bin/checkov"]
        and w[w.index("-d") + 1] == "terraform" and "--framework" in w
        and w[w.index("--framework") + 1] == "terraform" and "--skip-download" in w,
        "actionlint": lambda w: bool(w) and w[0].startswith(".cache/bin/actionlint-"),
    }
    problems = []
    for tool, matches in wanted.items():
        if not any(matches(shlex.split(line)) for line in lines):
            problems.append(f"the lint job does not run {tool} as the static tests do")
    if not any("pip install -r requirements.txt" in line for line in lines):
        problems.append("the lint job must install the pinned tools from requirements.txt")
    return problems


def check_actions_pinned(workflow: dict) -> list[str]:
    return [f"{job_id}: {step['uses']} is not pinned to a version"
            for job_id, job in workflow["jobs"].items() for step in job.get("steps", [])
            if "uses" in step and not PINNED_USES.match(step["uses"])]


def check_minimal_permissions(workflow: dict) -> list[str]:
    problems = []
    top = workflow.get("permissions")
    if top not in ({}, {"contents": "read"}):
        problems.append(f"top-level permissions must be none or contents: read, not {top!r}")
    for job_id, job in workflow["jobs"].items():
        for scope, level in (job.get("permissions") or {}).items():
            if level == "write" and (scope, job_id) not in {("packages", "image"),
                                                              ("contents", "github-release")}:
                problems.append(f"{job_id}: {scope}: write is more than it needs")
    return problems


def check_release(release: dict) -> list[str]:
    problems = []
    tags = (release.get("on") or {}).get("push", {}).get("tags", [])
    if tags != ["v*"]:
        problems.append("release must run on tags v*")
    jobs = release["jobs"]
    if "python -m build --outdir dist ." not in run_lines(jobs.get("package", {})):
        problems.append("the package job must build sdist and wheel with python -m build")
    image_uses = {s.get("uses", "").split("@")[0]: s.get("with", {})
                  for s in jobs.get("image", {}).get("steps", [])}
    push = image_uses.get("docker/build-push-action", {})
    if push.get("push") is not True or "steps.meta.outputs.tags" not in str(push.get("tags")):
        problems.append("the image job must push with the metadata-action's tags")
    if "ghcr.io/" not in str(image_uses.get("docker/metadata-action", {}).get("images")):
        problems.append("the image goes to GHCR")
    gh = [s for s in jobs.get("github-release", {}).get("steps", [])
          if s.get("uses", "").startswith("softprops/action-gh-release@")]
    if not gh or gh[0].get("with", {}).get("files") != "dist/*":
        problems.append("the GitHub release must carry the built package files")
    if set(jobs.get("github-release", {}).get("needs", [])) != {"package", "image"}:
        problems.append("the release is published only after the package and the image built")
    return problems


# ------------------------------------------------------------------------------------- tests

def test_actionlint_reports_nothing():
    exe = actionlint_exe()
    assert exe.is_file(), "actionlint is built by `make setup` (target actionlint)"
    proc = subprocess.run([str(exe), "-no-color"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(CI.read_text().replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n"
                                             "    needs: [no-such-job]", 1))
    proc = subprocess.run([str(actionlint_exe()), "-no-color", str(broken)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and "no-such-job" in proc.stdout, proc.stdout + proc.stderr


def test_ci_run_is_the_command_the_test_job_runs():
    # .ci/run runs `make test` with these pytest arguments; the workflow runs .ci/run itself,
    # so the two cannot drift apart.
    assert 'make test PYTEST_ARGS="-q -ra --durations=40"' in CI_RUN.read_text()


def make_recipe(makefile: str, target: str) -> list[str]:
    """The command lines of ``target``'s recipe in ``makefile`` (tab-indented lines after it)."""
    lines = makefile.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^{target}\s*:", line))
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def check_make_test_splits_by_file(makefile: str) -> None:
    # Whole files per worker: the e2e modules' job runs live in module-scoped fixtures, which a
    # per-test split would run again on every worker that gets one of their tests.
    [command] = [c for c in make_recipe(makefile, "test") if " -m pytest " in c]
    args = command.split()
    assert args[args.index("-n") + 1] == "$(PYTEST_WORKERS)", command
    assert args[args.index("--dist") + 1] == "loadfile", command
    [workers] = re.findall(r"^PYTEST_WORKERS \?= (\d+)$", makefile, re.M)
    assert int(workers) == 2, "README's test section gives the suite's time with 2 workers"


def test_make_test_runs_the_files_on_two_workers():
    check_make_test_splits_by_file(MAKEFILE.read_text())


@pytest.mark.parametrize("edit", [
    lambda m: m.replace(" --dist loadfile", ""),
    lambda m: m.replace("--dist loadfile", "--dist load"),
    lambda m: m.replace("-n $(PYTEST_WORKERS) ", ""),
    lambda m: m.replace("PYTEST_WORKERS ?= 2", "PYTEST_WORKERS ?= 8"),
])
def test_make_test_check_catches_a_changed_split(edit):
    with pytest.raises((AssertionError, ValueError)):
        check_make_test_splits_by_file(edit(MAKEFILE.read_text()))


def _set(path, value):
    def mutate(data):
        data = copy.deepcopy(data)
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return data
    return mutate


def _drop_step(job, predicate):
    def mutate(data):
        data = copy.deepcopy(data)
        data["jobs"][job]["steps"] = [s for s in data["jobs"][job]["steps"] if not predicate(s)]
        return data
    return mutate


def _is_run(word):
    return lambda s: word in s.get("run", "")


CASES = [
    (check_test_job_runs_ci_run, CI, _drop_step("test", _is_run(".ci/run"))),
    (check_test_job_runs_ci_run, CI,
     _set(["jobs", "test", "steps", 1, "with", "java-version"], "21")),
    (check_triggers, CI, _set(["on"], {"push": None})),
    (check_lint_job, CI, _drop_step("lint", lambda s: s.get("name") == "ruff")),
    (check_lint_job, CI, _drop_step("lint", lambda s: s.get("name") == "mypy")),
    (check_lint_job, CI, _drop_step("lint", lambda s: s.get("name") == "hadolint")),
    (check_lint_job, CI, _drop_step("lint", lambda s: s.get("name") == "checkov")),
    (check_lint_job, CI, _drop_step("lint", lambda s: s.get("name") == "actionlint")),
    (check_actions_pinned, CI, _set(["jobs", "test", "steps", 0, "uses"], "actions/checkout@v4")),
    (check_actions_pinned, RELEASE,
     _set(["jobs", "image", "steps", 0, "uses"], "actions/checkout@main")),
    (check_minimal_permissions, RELEASE, _set(["permissions"], "write-all")),
    (check_minimal_permissions, RELEASE,
     _set(["jobs", "package", "permissions"], {"contents": "write"})),
    (check_minimal_permissions, CI, _set(["permissions"], {"contents": "write"})),
    (check_release, RELEASE, _set(["on"], {"push": {"branches": ["main"]}})),
    (check_release, RELEASE, _drop_step("package", _is_run("python -m build"))),
    (check_release, RELEASE, _drop_step(
        "image", lambda s: s.get("uses", "").startswith("docker/build-push-action"))),
    (check_release, RELEASE, _set(["jobs", "github-release", "needs"], ["package"])),
]


@pytest.mark.parametrize("check,path,_mutation", CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_workflow_passes_check(check, path, _mutation):
    assert check(load(path)) == []


@pytest.mark.parametrize("check,path,mutation", CASES,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_check_catches_the_broken_workflow(check, path, mutation):
    assert check(mutation(load(path))) != []
