"""Unit tests for lakeprep.text.chunk_rules (non-alphanumeric ratio and chunk rejection)."""

from __future__ import annotations

import random
import unicodedata

import pytest

from lakeprep.text.chunk_rules import (
    REASON_EMPTY_CHUNK,
    REASON_NON_ALNUM,
    chunk_reject_reason,
    non_alnum_ratio,
)

THRESHOLD = 0.30


def reference_ratio(text: str) -> float:
    """The definition, written the slow and obvious way."""
    content = [c for c in text if not c.isspace()]
    if not content:
        return 1.0
    return sum(not (c.isalnum() or unicodedata.category(c).startswith("M"))
               for c in content) / len(content)


def test_reason_codes() -> None:
    assert REASON_NON_ALNUM == "non_alnum_ratio"
    assert REASON_EMPTY_CHUNK == "empty_chunk"


# --------------------------------------------------------------------------------------
# non_alnum_ratio
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("abcdefg!!!", 0.3),
        ("abcd", 0.0),
        ("!!!!", 1.0),
        ("a_b-", 0.5),            # underscore is not alphanumeric (unlike regex \w)
        ("ab12", 0.0),            # digits are alphanumeric
        ("ab😀😀", 0.5),          # emoji are not
    ],
)
def test_ratio_values(text: str, expected: float) -> None:
    assert non_alnum_ratio(text) == pytest.approx(expected)


def test_whitespace_is_excluded_from_numerator_and_denominator() -> None:
    # Counting whitespace as non-alphanumeric would give (3 + 9) / 19.
    assert non_alnum_ratio("a b c d e f g ! ! !") == pytest.approx(0.3)
    assert non_alnum_ratio("ab\tcd\n\nef\r\ng\x0b\x0c!!!") == pytest.approx(0.3)


def test_str_isspace_separators_count_as_whitespace() -> None:
    # \x1c-\x1f are whitespace for str.isspace() but not for bytes.isspace(): the ASCII fast
    # path must follow the str definition.
    assert non_alnum_ratio("abcdefg\x1c\x1d\x1e\x1f!!!") == pytest.approx(0.3)
    # Same text forced onto the non-ASCII path by a non-ASCII letter.
    assert non_alnum_ratio("abcdefé\x1c\x1d\x1e\x1f!!!") == pytest.approx(0.3)
    # Non-ASCII whitespace: no-break space, ideographic space, line separator.
    assert non_alnum_ratio("abcdefg\u00a0\u3000\u2028!!!") == pytest.approx(0.3)


@pytest.mark.parametrize(
    "text",
    [
        "Привет мир",          # Cyrillic
        "Καλημέρα κόσμε",      # Greek
        "日本語のテキスト",      # Japanese (kanji, hiragana, katakana)
        "中文文本",              # Chinese
        "안녕하세요 세계",       # Hangul
        "مرحبا بالعالم",        # Arabic (unvocalized)
        "שלום עולם",            # Hebrew
        "٤٥٦ १२३ ௧௨",          # Arabic-Indic, Devanagari and Tamil digits
        "Ⅻ ½ ²",               # numeric characters (isnumeric) are alphanumeric too
    ],
)
def test_letters_and_digits_of_any_script_are_alphanumeric(text: str) -> None:
    assert non_alnum_ratio(text) == 0.0


def test_non_latin_punctuation_is_not_alphanumeric() -> None:
    # 3 kanji + "、" + "。" -> 2 of 5
    assert non_alnum_ratio("日本、語。") == pytest.approx(2 / 5)
    assert non_alnum_ratio("«Да»") == pytest.approx(0.5)


def test_combining_marks_count_as_parts_of_letters() -> None:
    # Devanagari vowel signs / virama, Thai vowel marks and Arabic harakat are categories Mn/Mc,
    # which isalnum() rejects; ordinary prose in those scripts must not look like symbol soup.
    assert non_alnum_ratio("नमस्ते दुनिया") == 0.0
    assert non_alnum_ratio("สวัสดีครับ") == 0.0
    assert non_alnum_ratio("مَرْحَبًا") == 0.0
    assert chunk_reject_reason("नमस्ते दुनिया, यह एक वाक्य है।", 0.30) is None


@pytest.mark.parametrize("text", ["", " ", "   \n\t  ", "\u3000\u00a0", "\x1c\x1f"])
def test_empty_or_whitespace_only_is_one(text: str) -> None:
    assert non_alnum_ratio(text) == 1.0


@pytest.mark.parametrize("odd", [None, float("nan"), 3, b"abc"])
def test_ratio_odd_input_never_raises(odd: object) -> None:
    assert non_alnum_ratio(odd) == 1.0  # type: ignore[arg-type]


def test_fast_and_general_paths_agree_with_reference() -> None:
    rnd = random.Random(1234)
    ascii_pool = [chr(i) for i in range(128)]
    unicode_pool = ascii_pool + list("éßжλ日本語ـ،。«»\u00a0\u3000\u2028\u0301\u093e😀٣१")
    for pool in (ascii_pool, unicode_pool):
        for _ in range(500):
            text = "".join(rnd.choice(pool) for _ in range(rnd.randint(0, 60)))
            assert non_alnum_ratio(text) == pytest.approx(reference_ratio(text)), repr(text)


# --------------------------------------------------------------------------------------
# chunk_reject_reason
# --------------------------------------------------------------------------------------
def test_exactly_at_threshold_passes() -> None:
    text = "abcdefg!!!"
    assert non_alnum_ratio(text) == THRESHOLD
    assert chunk_reject_reason(text, THRESHOLD) is None
    # Same ratio at a realistic chunk size: 300 of 1000 non-whitespace characters.
    long_text = " ".join(["abcdefg!!!"] * 100)
    assert non_alnum_ratio(long_text) == THRESHOLD
    assert chunk_reject_reason(long_text, THRESHOLD) is None


def test_just_above_threshold_is_rejected() -> None:
    # 301 of 1000 non-whitespace characters.
    text = "a" * 699 + "!" * 301
    assert non_alnum_ratio(text) == pytest.approx(0.301)
    assert chunk_reject_reason(text, THRESHOLD) == REASON_NON_ALNUM
    assert chunk_reject_reason("abcdef!!!!", THRESHOLD) == REASON_NON_ALNUM


def test_markup_heavy_chunk_is_rejected_and_prose_is_kept() -> None:
    assert chunk_reject_reason("<div><br/></div> {{ }} ||| --- ***", THRESHOLD) == REASON_NON_ALNUM
    prose = "The committee met on Tuesday, and (after a long debate) approved the budget."
    assert chunk_reject_reason(prose, THRESHOLD) is None


def test_non_latin_prose_is_kept() -> None:
    assert chunk_reject_reason("委員会は火曜日に会合を開き、予算を承認した。", THRESHOLD) is None
    assert chunk_reject_reason("Комитет собрался во вторник и утвердил бюджет.", THRESHOLD) is None


@pytest.mark.parametrize("text", ["", "   ", "\n\t\r\n", "\u3000", None, float("nan"), 7])
def test_empty_chunk_reason(text: object) -> None:
    # Whitespace-only has ratio 1.0 (> any threshold) but is reported as empty, not as markup.
    assert chunk_reject_reason(text, THRESHOLD) == REASON_EMPTY_CHUNK  # type: ignore[arg-type]


def test_threshold_is_a_parameter() -> None:
    text = "abcdef!!!!"  # 0.4
    assert chunk_reject_reason(text, 0.5) is None
    assert chunk_reject_reason(text, 0.39) == REASON_NON_ALNUM


def test_non_ascii_path_agrees_with_the_definition_on_every_code_point():
    """The regex shortcut of the non-ASCII path against the per-character definition (isalnum or
    a combining mark counts as content), for every Unicode code point."""
    import unicodedata

    def by_definition(text: str) -> float:
        content = "".join(text.split())
        alnum = sum(1 for ch in content if ch.isalnum() or unicodedata.category(ch)[0] == "M")
        return (len(content) - alnum) / len(content)

    mismatched = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF
                  # "é" keeps the text off the ASCII path; "_" is not alphanumeric.
                  and non_alnum_ratio(f"é{chr(cp)}x_") != by_definition(f"é{chr(cp)}x_")]
    assert mismatched == []
