"""Secret hygiene of the repository: a secret scanner over every file git would commit, with a
reviewed allow-list, and the local secrets file kept out of git.

The scanner is detect-secrets (pinned in requirements.txt; its detectors are regular expressions
and entropy measures, no network): AWS access keys, private key blocks, ``password = "..."``
style assignments, high-entropy strings, tokens of common services. Findings that are not secrets
(test sentinels, fake keys of unit tests) are listed in ``secrets_allowlist.yaml`` with a reason.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

ROOT = Path(__file__).resolve().parents[2]
ALLOWLIST = Path(__file__).with_name("secrets_allowlist.yaml")


def repository_files() -> list[Path]:
    """Tracked files plus new files not ignored: what the next commit can contain."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         cwd=ROOT, capture_output=True, check=True).stdout.decode()
    files = [ROOT / name for name in out.split("\0") if name]
    # The allow-list holds only hashes of the findings it excuses; scanning it would flag them.
    return [f for f in files if f.is_file() and f != ALLOWLIST]


def scan(files: list[Path], root: Path = ROOT) -> set[tuple[str, str, str]]:
    """(path relative to root, detector, SHA-1 of the secret) for every finding."""
    collection = SecretsCollection(root=str(root))
    with default_settings():
        collection.scan_files(*[str(f.relative_to(root)) for f in files], num_processors=1)
    return {(path, secret.type, secret.secret_hash)
            for path, secrets in collection.data.items() for secret in secrets}


def allowed() -> dict[tuple[str, str, str], str]:
    entries = yaml.safe_load(ALLOWLIST.read_text(encoding="utf-8"))
    out = {}
    for e in entries:
        assert e.get("reason", "").strip(), f"allow-list entry without a reason: {e}"
        out[(e["path"], e["type"], e["hashed_secret"])] = e["reason"]
    return out


def test_no_unreviewed_secret_in_the_repository():
    findings = scan(repository_files())
    unreviewed = sorted(findings - set(allowed()))
    assert not unreviewed, (
        "possible secrets (remove them, or if harmless add them to "
        f"tests/static/secrets_allowlist.yaml with a reason): {unreviewed}")
    stale = sorted(set(allowed()) - findings)
    assert not stale, f"allow-list entries whose finding is gone (remove them): {stale}"


def test_the_scanner_finds_planted_secrets(tmp_path):
    # Built from pieces so that this file itself does not carry them.
    key_id = "AKIA" + "Z7QW3RTY5UIOPLKJ"
    planted = tmp_path / "settings.py"
    planted.write_text(
        f'aws_access_key_id = "{key_id}"\n'
        'db_password = "' + "Tr0ub4dor&3-horse-battery" + '"\n'
        + "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
        encoding="utf-8")
    found = {kind for _, kind, _ in scan([planted], root=tmp_path)}
    assert {"AWS Access Key", "Secret Keyword", "Private Key"} <= found


def test_the_scanner_ignores_plain_code(tmp_path):
    clean = tmp_path / "clean.py"
    clean.write_text('password = os.environ["PGPASSWORD"]\nuser = "lakeprep"\n', encoding="utf-8")
    assert scan([clean], root=tmp_path) == set()


def test_dotenv_is_ignored_and_not_tracked():
    check = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert check.returncode == 0, ".env must be listed in .gitignore"
    tracked = subprocess.run(["git", "ls-files", "--", ".env"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    assert tracked == ""
