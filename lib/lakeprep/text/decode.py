"""Turn the raw bytes of one document into text, or into a reason why it is not text.

Called once per document from a pandas UDF, so everything here is plain Python, compiles its
tables once at import, and never raises on bad input: every outcome is a DecodeResult.

Decision order (each step only sees what the previous ones let through):

1. empty input                      -> REASON_EMPTY_INPUT
2. byte-order mark (UTF-32, UTF-8, UTF-16) -> decode as the BOM declares
3. well-known binary magic numbers  -> REASON_BINARY
4. NUL bytes above max_nul_fraction -> BOM-less UTF-16 if the NULs sit on one byte parity,
                                       otherwise REASON_BINARY
5. strict UTF-8
6. UTF-8 with a minority of damaged sequences (truncation, a stray byte) -> UTF-8 + U+FFFD
7. Western single-byte text (cp1252 / latin-1), checked by a conservative heuristic
8. charset-normalizer for every other legacy encoding (shift_jis, cp1251, gb18030, ...)
9. nothing decodes                  -> REASON_UNDECODABLE

Whatever decoded is finally rejected as REASON_BINARY when fewer than min_printable_fraction of
its characters are printable or whitespace.
"""
from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import NamedTuple

from charset_normalizer import from_bytes

REASON_EMPTY_INPUT = "empty_input"
REASON_BINARY = "binary_content"
REASON_UNDECODABLE = "undecodable"


class DecodeResult(NamedTuple):
    """Exactly one of `text` and `reject_reason` is set; `encoding` accompanies `text`."""

    text: str | None
    encoding: str | None
    reject_reason: str | None


# Longest BOM first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Only signatures that cannot open a real text document: each has a control or non-text byte,
# or (PDF, GIF, bzip2) an ASCII marker no prose starts with. An all-ASCII PDF is valid UTF-8,
# which is why this check runs before the UTF-8 attempt.
_BINARY_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",  # JPEG
    b"GIF87a",
    b"GIF89a",
    b"%PDF-",
    b"PK\x03\x04",  # ZIP and everything built on it (docx, xlsx, jar, epub)
    b"PK\x05\x06",  # empty ZIP
    b"PK\x07\x08",  # spanned ZIP
    b"\x1f\x8b",  # gzip
    b"\x7fELF",
    b"BZh91AY&SY",  # bzip2 at the usual block size
    b"\xfd7zXZ\x00",  # xz
    b"7z\xbc\xaf\x27\x1c",
    b"\x28\xb5\x2f\xfd",  # zstd
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # OLE2: legacy doc/xls/ppt/msi
    b"SQLite format 3\x00",
    b"\xca\xfe\xba\xbe",  # Java class / Mach-O fat binary
    b"\xcf\xfa\xed\xfe",  # Mach-O 64-bit
    b"\xfe\xed\xfa\xcf",
)

# Shares for recognising BOM-less UTF-16: ASCII-range characters (spaces, digits, punctuation,
# Latin letters) put a NUL in the high byte of their code unit, so real UTF-16 text has its
# NULs almost all on one parity. Binary data with NULs spreads them over both.
_UTF16_MIN_NUL_UNITS = 0.10
_UTF16_MAX_OTHER_PARITY = 0.10

_HIGH_BYTES = bytes(range(0x80, 0x100))
_C1_BYTE_RE = re.compile(rb"[\x80-\x9f]")
_NON_ASCII_LETTER_BYTES = bytes(
    b for b in range(256) if not (0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A)
)
_UTF8_REPLACEMENT = "\ufffd".encode("utf-8")

# Non-ASCII characters that Western European text encoded as cp1252/latin-1 actually uses.
# Deliberately missing: ð Ð ý Ý þ Þ (these bytes are Turkish ğ ı ş in cp1254, and Icelandic is
# better served by the detector) and rare symbols (¤ ¦ ¨ ¯ ¸ ˆ ˜ ƒ ¬) whose bytes are letters in
# other code pages. A document with any other non-ASCII character goes to charset-normalizer.
_WESTERN_LETTERS = "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜßàáâãäåæçèéêëìíîïñòóôõöøùúûüÿŒœŠšŽžŸªº"
_WESTERN_APOSTROPHES = "’‘´·"  # legitimately sit between two letters (it’s, l·l)
_WESTERN_SYMBOLS = "\u00a0¡¢£¥§©«\u00ad®°±²³µ¶¹»¼½¾¿×÷€‚„…†‡‰‹›“”•–—™"
_WESTERN_CHARS = frozenset(_WESTERN_LETTERS + _WESTERN_APOSTROPHES + _WESTERN_SYMBOLS)
# A search, not a scan: CJK or Cyrillic read as cp1252 fails on its first foreign character.
_NON_WESTERN_RE = re.compile(r"[^\x00-\x7f" + re.escape("".join(sorted(_WESTERN_CHARS))) + "]")
_WESTERN_LETTER_RE = re.compile("[" + _WESTERN_LETTERS + "]")
# A symbol wedged inside a word means the bytes were letters in another code page (cp1250
# Polish "mo¿e" for może, "szko³a" for szkoła): no Western text writes symbols mid-word.
# The symbol comes first in the pattern so the engine can skip ahead to candidate symbols
# instead of evaluating a lookbehind at every position (4x faster).
_SYMBOL_IN_WORD_RE = re.compile(
    "[" + re.escape(_WESTERN_SYMBOLS.replace("\u00ad", "")) + "]"
    + "(?<=[A-Za-z" + _WESTERN_LETTERS + "].)(?=[A-Za-z" + _WESTERN_LETTERS + "])"
)
# Western languages write mostly unaccented letters (French, among the most accented, stays
# under ~5%); Cyrillic or Greek read through cp1252 is nearly all accented "letters".
_WESTERN_MAX_ACCENTED_SHARE = 0.25

# Detector names for one encoding family mapped to the label recorded in the lake.
_ENCODING_ALIASES = {
    "cp932": "shift_jis",  # Microsoft's superset; decoded with it, labelled as the family
    "shift_jis_2004": "shift_jis",
    "shift_jisx0213": "shift_jis",
    "iso8859-1": "latin-1",
}


# Terminal formatting codes found in old plain-text files (man-page / fortune overstrike
# underlining "_\bx", bells, ANSI escapes). They are text conventions, not signs of binary data;
# the cleaner applies or removes them.
_TERMINAL_CONTROLS = frozenset("\x07\x08\x1b")


def _printable_or_space(ch: str) -> bool:
    return ch.isprintable() or ch.isspace() or ch in _TERMINAL_CONTROLS


def _bmp_class(predicate: Callable[[str], bool]) -> str:
    """Regex character-class body of all Basic Multilingual Plane code points matching predicate."""
    ranges = []
    start = None
    for cp in range(0x10001):
        inside = cp <= 0xFFFF and predicate(chr(cp))
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            first, last = re.escape(chr(start)), re.escape(chr(cp - 1))
            ranges.append(first if start == cp - 1 else f"{first}-{last}")
            start = None
    return "".join(ranges)


# Runs of characters that *may* be non-printable: the exact BMP set, plus every astral
# character. The astral plane is mostly unassigned, and spelling out its hundreds of ranges makes
# the regex engine test each one for every character (~50x slower); astral characters are rare,
# so they are checked one by one in Python instead. Built from the running Python's Unicode
# tables so the check always agrees with str.isprintable().
_MAYBE_NON_PRINTABLE_RE = re.compile(
    "[" + _bmp_class(lambda ch: not _printable_or_space(ch)) + "\U00010000-\U0010ffff]+"
)


def _printable_fraction(text: str) -> float:
    if not text:
        return 1.0
    bad = 0
    for run in _MAYBE_NON_PRINTABLE_RE.findall(text):
        bad += sum(1 for ch in run if not _printable_or_space(ch))
    return 1.0 - bad / len(text)


def _normalize_encoding(name: str) -> str:
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        canonical = name.lower().replace("_", "-")
    return _ENCODING_ALIASES.get(canonical, canonical)


def _decode_bom(data: bytes) -> tuple[str, str] | None:
    """Decode as the byte-order mark declares; None when there is no BOM.

    A BOM is a declaration, so damaged sequences become U+FFFD instead of sending the document
    through guessing that would ignore the declaration.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            label = "utf-8-sig" if codec == "utf-8" else codec
            return data[len(bom):].decode(codec, errors="replace"), label
    return None


def _bomless_utf16_codec(data: bytes) -> str | None:
    # Odd lengths are left to the strict decode that follows, which rejects them.
    units = len(data) // 2
    even_nuls = data[0::2].count(0)
    odd_nuls = data[1::2].count(0)
    # Little-endian puts the (NUL) high byte of ASCII-range characters at odd offsets.
    if odd_nuls >= even_nuls:
        dominant, other, codec = odd_nuls, even_nuls, "utf-16-le"
    else:
        dominant, other, codec = even_nuls, odd_nuls, "utf-16-be"
    if dominant < _UTF16_MIN_NUL_UNITS * units or other > _UTF16_MAX_OTHER_PARITY * dominant:
        return None
    return codec


def _decode_damaged_utf8(data: bytes) -> str | None:
    """UTF-8 in which valid multi-byte sequences outnumber broken ones, else None.

    Truncation mid-character or one stray byte is the usual damage; reading such a file as a
    legacy code page would turn every correct accented character into mojibake. Legacy text, in
    turn, almost never contains valid multi-byte UTF-8 sequences, so this does not capture it.
    """
    text = data.decode("utf-8", errors="replace")
    ascii_chars = len(data.translate(None, _HIGH_BYTES))
    damaged = text.count("\ufffd") - data.count(_UTF8_REPLACEMENT)
    valid_non_ascii = len(text) - ascii_chars - damaged
    if valid_non_ascii > 0 and damaged <= valid_non_ascii:
        return text
    return None


def _decode_western(data: bytes) -> tuple[str, str] | None:
    """cp1252/latin-1 when the bytes read as plausible Western European text, else None.

    charset-normalizer is unreliable on short Western text (it picks mac_iceland for cp1252
    smart quotes and cp1250 for French), so this narrow, conservative check runs before it.
    """
    try:
        # Strict: the five bytes cp1252 leaves undefined mean it is not cp1252.
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    if _NON_WESTERN_RE.search(text):
        return None
    accented = len(_WESTERN_LETTER_RE.findall(text))
    ascii_letters = len(data.translate(None, _NON_ASCII_LETTER_BYTES))
    if accented > _WESTERN_MAX_ACCENTED_SHARE * (ascii_letters + accented):
        return None
    if _SYMBOL_IN_WORD_RE.search(text):
        return None
    # cp1252 and latin-1 agree outside 0x80-0x9F; only there does cp1252 add the smart quotes,
    # dashes and euro sign that latin-1 would turn into invisible C1 controls.
    encoding = "cp1252" if _C1_BYTE_RE.search(data) else "latin-1"
    return text, encoding


def _decode_detected(data: bytes) -> tuple[str, str] | None:
    try:
        best = from_bytes(data).best()
        if best is None:
            return None
        return str(best), _normalize_encoding(best.encoding)
    except Exception:  # noqa: BLE001 - a detector failure on odd bytes must not kill the batch
        return None


def _decode(data: bytes, max_nul_fraction: float) -> tuple[str, str] | str:
    """(text, encoding), or a reject reason."""
    bom = _decode_bom(data)
    if bom is not None:
        return bom

    # Before the NUL check: binary formats carry NULs that could, by chance, look like UTF-16.
    if data.startswith(_BINARY_MAGIC):
        return REASON_BINARY

    if data.count(0) > max_nul_fraction * len(data):
        codec = _bomless_utf16_codec(data)
        if codec is None:
            return REASON_BINARY
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            return REASON_BINARY

    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass

    text = _decode_damaged_utf8(data)
    if text is not None:
        return text, "utf-8"

    return _decode_western(data) or _decode_detected(data) or REASON_UNDECODABLE


def decode_bytes(
    data: bytes, max_nul_fraction: float, min_printable_fraction: float
) -> DecodeResult:
    """Decode one document's bytes; see the module docstring for the decision order."""
    if not data:
        return DecodeResult(None, None, REASON_EMPTY_INPUT)
    data = bytes(data)  # a memoryview (zero-copy caller) has no count/startswith/translate
    outcome = _decode(data, max_nul_fraction)
    if isinstance(outcome, str):
        return DecodeResult(None, None, outcome)
    text, encoding = outcome
    if _printable_fraction(text) < min_printable_fraction:
        return DecodeResult(None, None, REASON_BINARY)
    return DecodeResult(text, encoding, None)
