"""The committed ClinicalTrials.gov fixtures are exactly what scripts/make_ctgov_fixtures.py writes
with its defaults, so the generator and the files both tests and the replay server read cannot
drift apart, and the planted edge cases are really in the files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ctgov"
SCRIPT = ROOT / "scripts" / "make_ctgov_fixtures.py"


def test_committed_fixtures_match_the_generator(tmp_path):
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, capture_output=True)
    for name in ("studies.json", "metadata.json", "edge_cases.json"):
        assert (tmp_path / name).read_bytes() == (FIXTURES / name).read_bytes(), (
            f"{name} differs from the generator's output: rerun "
            "scripts/make_ctgov_fixtures.py --out tests/fixtures/ctgov")


def test_fixture_size_and_planted_cases():
    assert (FIXTURES / "studies.json").stat().st_size < 1_500_000
    studies = json.loads((FIXTURES / "studies.json").read_text(encoding="utf-8"))
    cases = json.loads((FIXTURES / "edge_cases.json").read_text(encoding="utf-8"))
    by_id: dict[str, list] = {}
    for s in studies:
        by_id.setdefault(s["protocolSection"]["identificationModule"].get("nctId"), []).append(s)
    for nct in cases["duplicate_nct_older_version_first"]:
        dates = [s["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] for s in by_id[nct]]
        assert len(dates) == 2 and dates[0] < dates[1]
    assert "nctId" not in studies[cases["missing_nct_id_position"][0]]["protocolSection"]["identificationModule"]
    (year_start,) = by_id[cases["start_date_year_precision"][0]]
    assert len(year_start["protocolSection"]["statusModule"]["startDateStruct"]["date"]) == 4
    statuses = cases["_summary"]["statuses"]
    for status in ("COMPLETED", "TERMINATED", "WITHDRAWN", "SUSPENDED", "RECRUITING",
                   "ACTIVE_NOT_RECRUITING", "NOT_YET_RECRUITING", "UNKNOWN"):
        assert statuses.get(status, 0) >= 1, status


def test_generator_is_deterministic_per_seed(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out, seed in ((a, "3"), (b, "4")):
        subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--studies", "60", "--seed", seed],
                       check=True, capture_output=True)
    assert (a / "studies.json").read_bytes() != (b / "studies.json").read_bytes()
