"""Long documents a block at a time, for bounded memory in the Python workers.

A worker's peak memory follows the transient peaks of the largest document it handles. Two
whole-text operations dominated them (measured on the benchmark corpus's largest document,
3.7 MB of text with characters beyond Latin-1):

- case mapping: ``str.lower`` / ``str.casefold`` allocate a scratch buffer of three 4-byte
  characters per input character before shrinking the result, ~44 MB for that document;
- ``str.split``: one object per word, ~29 MB for its 498,000 words.

The functions that only need case-mapped words or per-line tests therefore work on blocks of a
few tens of thousands of characters. Blocks are cut right after a whitespace character (or a
newline): no word or line spans two blocks, and case mapping works character by character, so
every result equals the whole-text computation (tests/unit/test_blocks.py checks each one).
"""
from __future__ import annotations

import re
from collections.abc import Iterator

# Characters per block (at least; a block ends at the next cut after this many). Case mapping a
# block then needs at most ~0.8 MB of scratch; per-block overhead is a slice and a loop step.
BLOCK_CHARS = 1 << 16

# \s in a str pattern is exactly str.isspace(), i.e. what str.split() splits on.
_WHITESPACE = re.compile(r"\s")
_NEWLINE = re.compile(r"\n")


def _blocks(text: str, cut: re.Pattern, size: int | None) -> Iterator[str]:
    size = BLOCK_CHARS if size is None else size  # read per call: tests shrink it
    start, n = 0, len(text)
    while n - start > size:
        m = cut.search(text, start + size)
        if m is None:  # no cut point left: the rest is one block
            break
        yield text[start:m.end()]
        start = m.end()
    if start < n:
        yield text[start:]


def whitespace_blocks(text: str, size: int | None = None) -> Iterator[str]:
    """``text`` in consecutive pieces, each but the last ending with a whitespace character.

    Their concatenation is ``text``; the words of ``text`` (``str.split()``) are the pieces'
    words in order. A text of at most ``size`` (default BLOCK_CHARS) characters is one piece;
    an empty text none.
    """
    return _blocks(text, _WHITESPACE, size)


def line_blocks(text: str, size: int | None = None) -> Iterator[str]:
    """``text`` in consecutive pieces of whole lines, each but the last ending with ``\\n``."""
    return _blocks(text, _NEWLINE, size)
