"""Long documents a block at a time (lakeprep.text.blocks).

The per-document functions that lower-case, case-fold or split a whole text now do it a block at
a time. Two things are checked: the results are exactly those of the whole-text computation
(the same functions with one block as large as the text), and a long document's transient
memory in a worker process stays a small multiple of the text's own size.
"""
import hashlib
import random
import tracemalloc

import numpy as np
import pytest

from lakeprep.config import load_settings
from lakeprep.text import blocks, boilerplate, dedup, quality, transforms
from lakeprep.text.blocks import line_blocks, whitespace_blocks

SETTINGS = load_settings()
# Every kind of character the cuts and the case mappings must handle: words with capitals and
# letters beyond Latin-1 (whose str is 2 bytes a character), punctuation the shingles drop,
# Unicode whitespace str.split() splits on (ideographic space, NBSP, the \x1c-\x1f
# separators), "İ" whose lower case is two characters, final sigma, and boilerplate lines.
_WORDS = ["The", "quick", "Łódź", "İstanbul", "ΟΔΟΣ", "straße", "naïve", "co-op", "e.g.",
          "42", "x", "…", "#tag", "Lorem", "ipsum", "rights", "reserved", "ſ", "ﬁne"]
_SEPARATORS = [" ", " ", " ", "\n", "\n\n", "\t", "\u3000", "\xa0", "\x1c", "  \n"]
_LINES = ["Copyright 2020 Example Corp. All rights reserved.", "Skip to main content",
          "Next", "Lorem ipsum dolor sit amet.", "Share this page: Twitter | Facebook"]


def _long_text(seed: int, n_words: int = 60_000) -> str:
    rng = random.Random(seed)
    parts = []
    for _ in range(n_words):
        if rng.random() < 0.01:
            parts.append("\n" + rng.choice(_LINES) + "\n")
        else:
            parts.append(rng.choice(_WORDS) + rng.choice(_SEPARATORS))
    return "".join(parts)


@pytest.fixture
def whole_text(monkeypatch):
    """Runs a function with one block as large as any text: the whole-text computation."""
    def run(fn, *args):
        with monkeypatch.context() as m:
            m.setattr(blocks, "BLOCK_CHARS", 10**12)
            return fn(*args)
    return run


@pytest.mark.parametrize("size", [1, 7, 100, 5000])
def test_whitespace_blocks_cut_after_whitespace_and_keep_every_word(size):
    text = _long_text(1, 3000)
    pieces = list(whitespace_blocks(text, size))
    assert "".join(pieces) == text
    assert len(pieces) > 1
    for piece in pieces[:-1]:
        assert len(piece) > size and piece[-1].isspace()
    assert [w for p in pieces for w in p.split()] == text.split()


def test_line_blocks_are_whole_lines():
    text = _long_text(2, 3000)
    pieces = list(line_blocks(text, 50))
    assert "".join(pieces) == text
    assert all(p.endswith("\n") for p in pieces[:-1])
    assert [ln for p in pieces for ln in p.splitlines()] == text.splitlines()


def test_short_empty_and_unbroken_texts():
    assert list(whitespace_blocks("")) == []
    assert list(whitespace_blocks("two words")) == ["two words"]
    # No whitespace after the size: the rest stays one block rather than cutting a word.
    assert list(whitespace_blocks("ab " + "x" * 50, 2)) == ["ab ", "x" * 50]


@pytest.mark.parametrize("seed", [3, 4])
def test_signals_equal_the_whole_text_computation(seed, whole_text, monkeypatch):
    text = _long_text(seed)
    monkeypatch.setattr(blocks, "BLOCK_CHARS", 997)
    assert quality.compute_signals(text) == whole_text(quality.compute_signals, text)


def test_ngram_signals_see_the_first_words_across_blocks(monkeypatch, whole_text):
    # More words than NGRAM_MAX_WORDS, repeated only after that many: the n-gram signals see
    # exactly the first NGRAM_MAX_WORDS words, gathered over many blocks.
    rng = random.Random(5)
    head = " ".join(f"w{rng.randrange(10**9)}" for _ in range(quality.NGRAM_MAX_WORDS))
    text = head + " again and again" * 1000
    monkeypatch.setattr(blocks, "BLOCK_CHARS", 4096)
    blocked = quality.compute_signals(text)
    assert blocked == whole_text(quality.compute_signals, text)
    assert blocked.duplicate_5gram_char_fraction == 0.0
    assert blocked.n_words == quality.NGRAM_MAX_WORDS + 3000


def test_lorem_ipsum_found_in_any_block(monkeypatch):
    filler = "dolor " * 20_000
    monkeypatch.setattr(blocks, "BLOCK_CHARS", 1000)
    assert quality._has_lorem_ipsum(filler + "LOREM  Ipsum " + filler)
    assert quality._has_lorem_ipsum(filler + "lorem ipsum")
    assert not quality._has_lorem_ipsum(filler + "lorem\nipsum " + filler)  # one line only
    assert not quality._has_lorem_ipsum(filler + "ipsum " + filler)


@pytest.mark.parametrize("seed", [6, 7])
def test_boilerplate_equals_the_whole_text_computation(seed, whole_text, monkeypatch):
    text = _long_text(seed)
    monkeypatch.setattr(blocks, "BLOCK_CHARS", 613)
    candidates = boilerplate._candidate_lines(text)
    assert candidates == whole_text(boilerplate._candidate_lines, text)
    assert len(candidates) > 100
    assert boilerplate.remove_boilerplate(text) == whole_text(boilerplate.remove_boilerplate, text)


@pytest.mark.parametrize("seed", [8, 9])
def test_dedup_hashes_equal_the_whole_text_computation(seed, whole_text, monkeypatch):
    text = _long_text(seed)
    expected = hashlib.sha256(
        dedup.normalize_for_hash(text).encode("utf-8", "surrogatepass")).hexdigest()
    monkeypatch.setattr(blocks, "BLOCK_CHARS", 1009)
    assert dedup.content_hash(text) == expected == whole_text(dedup.content_hash, text)
    # Words that only whitespace separates in the text stay apart when it is all whitespace.
    assert dedup.content_hash("a\u3000" * 3000 + "b") == hashlib.sha256(
        " ".join(["a"] * 3000 + ["b"]).encode()).hexdigest()
    blocked = dedup.shingle_hashes(text)
    np.testing.assert_array_equal(blocked, whole_text(dedup.shingle_hashes, text))
    assert len(blocked) == len(dedup.words(text)) - 4


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_long_document_costs_a_small_multiple_of_its_size():
    """One long document's transient Python memory, per stage of the worker's per-document work.

    Before block-wise processing, lower() / casefold() of a whole text with characters beyond
    Latin-1 took ~12 bytes per character, and its word list ~60 bytes per word. This text (2.6
    million characters, 466,000 words; its str takes 5.2 MB) cost, in multiples of its size:
    remove_boilerplate 10.0 (now 6.0), compute_signals 17.9 (8.0), process_document (both and
    the rest) 18.4 (9.7), content_hash 7.0 (0.35), minhash_signature 7.0 (3.8). The benchmark
    corpus's largest document (3.7 MB): process_document 106 MB (now 45), content hash and
    MinHash 52 MB each (now 2 and 26)."""
    text = _long_text(10, 450_000)
    size = len(text) * 2  # bytes of the str: 2 per character beyond Latin-1
    data = text.encode("utf-8")
    mh = SETTINGS.dedup.minhash
    dedup._separators()  # built once per process, not part of any document's cost
    peaks = {
        "remove_boilerplate": _peak_bytes(lambda: boilerplate.remove_boilerplate(text)),
        "compute_signals": _peak_bytes(lambda: quality.compute_signals(text)),
        "process_document": _peak_bytes(
            lambda: transforms.process_document(data, "text", None, SETTINGS)),
        "content_hash": _peak_bytes(lambda: dedup.content_hash(text)),
        "minhash": _peak_bytes(lambda: dedup.minhash_signature(text, mh.num_perm, mh.seed,
                                                               mh.ngram)),
    }
    ratios = {k: round(v / size, 2) for k, v in peaks.items()}
    assert ratios["remove_boilerplate"] < 7.5, ratios
    assert ratios["compute_signals"] < 10, ratios
    assert ratios["process_document"] < 12, ratios
    assert ratios["content_hash"] < 1, ratios
    assert ratios["minhash"] < 5, ratios
