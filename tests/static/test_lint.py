"""Lint and type checks: ruff (ruff.toml) and mypy (mypy.ini) over the repository, zero findings.

Both tools are pinned in requirements.txt and run from the test's own interpreter (`python -m`),
so the versions are the pinned ones whatever is on PATH. Each check also runs on a planted
mistake, so a configuration that selects nothing (or a tool that exits 0 on anything) fails.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_ruff_finds_nothing():
    proc = run_tool("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_finds_nothing():
    # Files and options come from mypy.ini (lib/lakeprep and jobs).
    proc = run_tool("mypy", "--cache-dir", "/dev/null", "--config-file", "mypy.ini")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("code,rule", [
    ("import os\n", "F401"),                                    # pyflakes: unused import
    ("import sys\nimport os\n\nprint(os, sys)\n", "I001"),      # import order
    ("def f(x=[]):\n    return x\n", "B006"),                   # bugbear: mutable default
    ("x = 1\n" + "y = '" + "a" * 130 + "'\n", "E501"),          # past the 120-column limit
])
def test_ruff_config_catches_a_planted_mistake(tmp_path, rule, code):
    # Checked under the repository's config: a file inside the tree would be picked up by the
    # repository run above, so the file lives in tmp and the config is passed explicitly.
    planted = tmp_path / "planted.py"
    planted.write_text(code)
    proc = run_tool("ruff", "check", "--no-cache", "--config", str(ROOT / "ruff.toml"),
                    "--output-format", "concise", str(planted))
    assert proc.returncode == 1 and rule in proc.stdout, proc.stdout + proc.stderr


def test_mypy_config_catches_a_planted_mistake(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("def twice(n: int) -> int:\n    return n * 2\n\n\ntwice('three')\n")
    proc = run_tool("mypy", "--cache-dir", "/dev/null", "--config-file", str(ROOT / "mypy.ini"),
                    str(planted))
    assert proc.returncode == 1 and "[arg-type]" in proc.stdout, proc.stdout + proc.stderr
