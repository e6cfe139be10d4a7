"""Chunker: every chunk fits the token limit on re-encoding, offsets point at the stored text,
and boundaries prefer paragraphs, then sentences."""
import random

from lakeprep.text.chunking import chunk_text, count_tokens, get_encoding

ENC = get_encoding("cl100k_base")
SENTENCE = "The committee reviewed the budget and approved the new library wing after a long debate. "


def check_invariants(text, chunks, max_tokens):
    for i, c in enumerate(chunks):
        assert c.index == i
        assert c.text == text[c.char_start:c.char_end]
        assert c.text == c.text.strip() and c.text
        assert c.token_count == count_tokens(c.text, ENC) <= max_tokens
    starts = [c.char_start for c in chunks]
    assert starts == sorted(starts)


def test_encoding_is_cl100k_offline():
    # Known cl100k_base ids: "hello world" -> [15339, 1917]
    assert ENC.encode_ordinary("hello world") == [15339, 1917]


def test_short_text_is_one_chunk():
    chunks = chunk_text("  Hello there.\n", ENC, 512)
    assert [c.text for c in chunks] == ["Hello there."]
    assert chunks[0].char_start == 2


def test_empty_text_gives_no_chunks():
    assert chunk_text("", ENC, 512) == []
    assert chunk_text(" \n\n ", ENC, 512) == []


def test_paragraph_boundaries_preferred():
    paragraphs = [f"Paragraph {i}. " + SENTENCE * 8 for i in range(12)]
    text = "\n\n".join(paragraphs)
    chunks = chunk_text(text, ENC, 512)
    assert len(chunks) > 1
    check_invariants(text, chunks, 512)
    # Every chunk starts at a paragraph start: no paragraph was cut.
    para_starts = {text.index(p) for p in paragraphs}
    assert all(c.char_start in para_starts for c in chunks)


def test_long_paragraph_splits_at_sentences():
    text = SENTENCE * 200  # one paragraph, ~3,400 tokens
    chunks = chunk_text(text, ENC, 512)
    check_invariants(text, chunks, 512)
    assert len(chunks) >= 7
    assert all(c.text.endswith(".") for c in chunks)


def test_boundaryless_text_is_hard_split_without_breaking_characters():
    text = "日本語のテキスト" * 3000 + "x" * 20000
    chunks = chunk_text(text, ENC, 512)
    check_invariants(text, chunks, 512)
    assert "".join(c.text for c in chunks) == text


def test_special_token_text_is_ordinary_text():
    chunks = chunk_text("before <|endoftext|> after", ENC, 512)
    assert chunks[0].text == "before <|endoftext|> after"


def test_random_documents_respect_limit():
    rng = random.Random(7)
    words = "alpha beta gamma delta épsilon ωmega 数据 naïve co-operate 3.14 -- !!".split()
    for _ in range(20):
        paras = []
        for _ in range(rng.randint(1, 30)):
            sents = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 60))) + "."
                     for _ in range(rng.randint(1, 15))]
            paras.append(" ".join(sents))
        text = "\n\n".join(paras)
        max_tokens = rng.choice([32, 128, 512])
        chunks = chunk_text(text, ENC, max_tokens)
        check_invariants(text, chunks, max_tokens)
        # Only whitespace is lost between chunks.
        assert "".join(c.text for c in chunks).replace(" ", "").replace("\n", "") == \
            text.replace(" ", "").replace("\n", "")


class _CountingEncoding:
    """Wraps the encoding and records the length of every text it encodes."""

    def __init__(self):
        self.encoded: list[int] = []

    def encode_ordinary(self, text):
        self.encoded.append(len(text))
        return ENC.encode_ordinary(text)

    def decode_tokens_bytes(self, tokens):
        return ENC.decode_tokens_bytes(tokens)


def test_long_text_is_not_encoded_whole_before_its_units():
    # 20 paragraphs of ~90 tokens: far more characters than 8 per allowed token, so the chunker
    # goes to its units at once instead of first counting the whole text (a third encoding).
    text = "\n\n".join(SENTENCE * 4 for _ in range(20))
    enc = _CountingEncoding()
    chunks = chunk_text(text, enc, 256)
    assert len(chunks) > 1
    check_invariants(text, chunks, 256)
    assert len(text.strip()) not in enc.encoded
    # Units (each paragraph) once, then every chunk once to verify it: twice the text, not three times.
    assert sum(enc.encoded) <= 2 * len(text)


def test_short_text_is_counted_whole_once():
    enc = _CountingEncoding()
    assert len(chunk_text(SENTENCE * 3, enc, 512)) == 1
    assert enc.encoded == [len((SENTENCE * 3).strip())]


def test_long_text_of_few_tokens_is_still_one_chunk():
    # 5,000 spaces between two words: over 8 characters per token (the whole is ~45 tokens), so
    # it is not counted whole first; its units still add up to one chunk, the same result.
    text = "alpha\n\n" + " " * 5000 + "\n\nomega"
    chunks = chunk_text(text, ENC, 512)
    assert len(chunks) == 1 and chunks[0].token_count == count_tokens(chunks[0].text, ENC)
    assert (chunks[0].char_start, chunks[0].char_end) == (0, len(text))
