"""The PII evaluation set: deterministic, correctly labeled, correctly scored; and the scores
the detectors must keep on the fallback set (what CI can run without the dev corpus)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from lakeprep.text import pii
from lakeprep.text.pii_eval import (
    FALLBACK_SENTENCES,
    LOOKALIKE_KINDS,
    Example,
    Planted,
    evaluate,
    generate_examples,
    measure_throughput,
    render_markdown,
    sample_text,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fallback_evaluation():
    examples = generate_examples(400, seed=0)
    return examples, evaluate(examples, "fallback", seed=0)


def test_fallback_scores(fallback_evaluation) -> None:
    _, result = fallback_evaluation
    # The full table goes to the output (pytest -s, or the report on failure).
    print("\n" + render_markdown(result))
    for name in ("credit_card", "email", "iban"):
        score = result.scores[name]
        assert score.gold >= 30, name  # enough planted values for the bound to mean something
        assert score.precision >= 0.95, (name, score)
        assert score.recall >= 0.95, (name, score)
    for name in pii.DEFAULT_DETECTORS:
        assert result.scores[name].gold > 0, name
    # Reported, not asserted: phone precision (part-number look-alikes), ipv4 (versions).


def test_generation_is_deterministic() -> None:
    assert generate_examples(40, seed=5) == generate_examples(40, seed=5)
    assert generate_examples(40, seed=5) != generate_examples(40, seed=6)


def test_labels_point_at_their_values(fallback_evaluation) -> None:
    examples, _ = fallback_evaluation
    kinds = set()
    for example in examples:
        assert example.gold and example.lookalikes
        planted = sorted(example.gold + example.lookalikes, key=lambda p: p.start)
        for p in planted:
            assert example.text[p.start:p.end] == p.value
        for a, b in zip(planted, planted[1:]):
            assert a.end <= b.start  # planted values never overlap
        kinds.update(la.label for la in example.lookalikes)
        assert {g.label for g in example.gold} <= set(pii.DEFAULT_DETECTORS)
    assert kinds == set(LOOKALIKE_KINDS)


def test_fallback_snippets_contain_no_pii() -> None:
    assert pii.find_pii(" ".join(FALLBACK_SENTENCES)) == {}


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "credits-1.txt").write_text(
        "N: Jane Example\nE: jane.example@kernel.example.org\nD: maintains the frobnicator\n"
        "N: Omar Sample\nE: omar@sample.example.net\nD: wrote the documentation\n" * 3)
    (corpus / "prose-2.txt").write_text(" ".join(FALLBACK_SENTENCES[:12]))
    (corpus / "ignored.md").write_text("jane@example.com")
    return corpus


def test_corpus_snippets_and_preexisting_matches(tmp_path: Path) -> None:
    examples = generate_examples(60, seed=1, corpus_dir=_corpus(tmp_path))
    assert {e.source for e in examples} == {"credits-1.txt", "prose-2.txt"}
    with_pre = [e for e in examples if e.preexisting]
    assert with_pre
    for example in with_pre:
        for span in example.preexisting:
            assert example.text[span.start:span.end] == span.value
            assert span.type == "email"
    result = evaluate(examples, "corpus", seed=1)
    assert result.scores["email"].preexisting == sum(len(e.preexisting) for e in examples)
    assert result.snippets_with_preexisting == len(with_pre)
    # The real addresses are neither true nor false positives.
    assert result.scores["email"].fp == 0
    assert result.scores["email"].tp == result.scores["email"].gold


def test_empty_corpus_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no .txt files"):
        generate_examples(1, corpus_dir=tmp_path)


def test_scoring_rules() -> None:
    text = ("mail jane@example.com, call 415-555-0132, card 4111 1111 1111 1111, "
            "totals 431 928 2000, old bob@example.org, host 151.101.1.69 x")
    at = text.index

    def planted(label: str, value: str) -> Planted:
        return Planted(label, at(value), at(value) + len(value), value)

    example = Example(
        text=text,
        source="hand-made",
        gold=(
            planted("email", "jane@example.com"),
            planted("phone", "415-555-0132"),
            # Labeled one character too long: found, but not at the exact span.
            Planted("credit_card", at("4111"), at("4111") + 20, "4111 1111 1111 1111,"),
            # A planted IPv6 address that is not in the text at all: a false negative.
            Planted("ipv6", 0, 4, "mail"),
        ),
        lookalikes=(planted("number_row", "431 928 2000"),),
        preexisting=(pii.PiiSpan("email", at("bob@"), at("bob@") + 15, "bob@example.org"),),
    )
    result = evaluate([example], "hand-made")
    s = result.scores
    assert (s["email"].tp, s["email"].fp, s["email"].fn, s["email"].preexisting) == (1, 0, 0, 1)
    # A row of table numbers is reported as a phone: a false positive, attributed to its look-alike.
    assert (s["phone"].tp, s["phone"].fp, s["phone"].fn) == (1, 1, 0)
    assert result.lookalike_hits == {("number_row", "phone"): 1}
    # Boundary disagreement: wrong for the exact columns, right for the overlap columns.
    assert (s["credit_card"].tp, s["credit_card"].fp, s["credit_card"].fn) == (0, 1, 1)
    assert s["credit_card"].overlap_precision == 1.0 and s["credit_card"].overlap_recall == 1.0
    assert (s["ipv6"].gold, s["ipv6"].fn, s["ipv6"].recall, s["ipv6"].precision) == (1, 1, 0.0, None)
    # The IPv4 address is in nobody's labels: a false positive outside planted values.
    assert s["ipv4"].fp == 1 and result.context_fps == {"ipv4": 1}
    table = render_markdown(result)
    assert "| `email` | 1 | 1 | 1 | 0 | 0 | 1.000 | 1.000 | 1.000 |" in table
    assert "| part_number | 0 | 0 | - |" in table  # no part number planted in this example


def test_throughput_helpers(tmp_path: Path) -> None:
    text = sample_text(20_000, seed=0)
    assert len(text.encode()) >= 20_000
    assert sample_text(1_000, seed=0, corpus_dir=_corpus(tmp_path))
    assert measure_throughput(text, repeats=1) > 0


def _load_script():
    spec = importlib.util.spec_from_file_location("pii_eval_script", ROOT / "scripts" / "pii_eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_rewrites_only_the_generated_part(tmp_path: Path, capsys) -> None:
    script = _load_script()
    out = tmp_path / "PII_EVAL.md"
    out.write_text("# Title\n\nHand-written intro.\n\n<!-- pii_eval:begin -->\nold numbers\n"
                   "<!-- pii_eval:end -->\n\nHand-written notes.\n")
    args = ["--n", "20", "--seed", "3", "--out", str(out), "--throughput-mb", "0.02",
            "--dev-corpus", str(_corpus(tmp_path))]
    assert script.main(args) == 0
    first = out.read_text()
    assert first.startswith("# Title\n\nHand-written intro.\n\n<!-- pii_eval:begin -->")
    assert first.endswith("<!-- pii_eval:end -->\n\nHand-written notes.\n")
    assert "old numbers" not in first
    assert "### dev corpus" in first and "### fallback sentences" in first and "### throughput" in first
    assert script.main(args) == 0
    second = out.read_text()
    # Same tables on a rerun; only the timings may differ.
    assert second.split("### throughput")[0] == first.split("### throughput")[0]
    new = tmp_path / "new.md"
    assert script.main(["--n", "5", "--out", str(new), "--throughput-mb", "0",
                        "--dev-corpus", str(tmp_path / "corpus")]) == 0
    assert new.read_text().startswith("# PII detector evaluation\n\n<!-- pii_eval:begin -->")
    capsys.readouterr()
