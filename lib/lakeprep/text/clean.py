"""Normalize decoded document text before filtering and chunking.

clean_text() applies CLEANING_STEPS in order. The order is chosen so that cleaning is
idempotent (clean_text(clean_text(x)) == clean_text(x)): every step that can *produce*
characters runs before the steps that normalize those characters.

1. strip_markup                  entity decoding can yield line separators, controls, exotic
                                 spaces and combining marks, so it runs before all the others
2. normalize_line_endings
2b. apply_backspaces             terminal overstrike / ANSI codes, before controls are deleted
3. remove_control_and_format     before Unicode normalization: deleting a format character
                                 between a base letter and a combining mark creates a new
                                 composable pair
4. normalize_unicode             NFC or NFKC
5. normalize_spaces              exotic spaces and in-line tabs become plain spaces
6. collapse_whitespace           trailing spaces, in-line runs, 3+ newlines -> one blank line
7. strip_document

Known exception to idempotence: escaped markup that becomes tag-dense once its entities are
decoded (a page *showing* HTML source) is kept as literal tags by the first pass and stripped
by a second one. Likewise characters that normalize into "&", ";", "<" or ">" (NFKC full-width
forms, the Greek question mark under NFC) can complete an entity or tag only a second pass sees.
"""
from __future__ import annotations

import html
import html.entities
import re
import sys
import unicodedata
from collections.abc import Callable

UNICODE_FORMS = ("NFC", "NFKC", "NFD", "NFKD")

# ---------------------------------------------------------------------------------------------
# 1. Markup residue
# ---------------------------------------------------------------------------------------------

# Only real HTML element names count as evidence of markup, so that generics (List<String>) and
# comparisons (a < b, x > y) never make a document look like HTML.
_HTML_ELEMENTS = (
    "a|abbr|address|article|aside|b|blockquote|body|br|button|caption|center|cite|code|dd|del|"
    "details|div|dl|dt|em|figcaption|figure|font|footer|form|h[1-6]|head|header|hr|html|i|"
    "iframe|img|input|ins|kbd|label|li|link|main|meta|nav|noscript|ol|option|p|pre|q|s|script|"
    "section|select|small|span|strong|style|sub|summary|sup|table|tbody|td|textarea|tfoot|th|"
    "thead|title|tr|tt|u|ul"
)
_KNOWN_TAG_RE = re.compile(r"<(/?)(?:" + _HTML_ELEMENTS + r")\b(?:\s[^<>]*)?/?>", re.IGNORECASE)
_HTML_COMMENT_RE = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
# A document that opens as HTML needs no density evidence; only its start counts, so prose that
# mentions <html> somewhere is still judged by density.
_HTML_DOCUMENT_RE = re.compile(
    r"\ufeff?\s*(?:<\?xml[^<>]*>\s*)?(?:<!doctype\s+html|<html[\s>])", re.IGNORECASE
)
# "Meaningful density": at least this many known tags, at least one of them a closing tag (which
# no generic type or comparison produces), and at least one tag per this many characters.
_HTML_MIN_TAGS = 3
_HTML_MAX_CHARS_PER_TAG = 1000

# Unclosed blocks (truncated pages) run to the end of the document: what follows an unclosed
# <script> is script.
_INVISIBLE_BLOCK_RE = re.compile(
    r"<(script|style|noscript)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
# Once a document is known to be HTML, any tag-shaped token goes, including custom elements
# (<my-widget>), namespaced Office tags (<o:p>), doctype, CDATA and processing instructions.
_ANY_TAG_RE = re.compile(r"<(/?)([A-Za-z][\w:.-]*)(?:\s[^<>]*)?/?>|<![^<>]*>|<\?[^<>]*>")
# Paragraph-level elements become a blank line, which the chunker treats as a boundary.
_PARAGRAPH_TAGS = frozenset(
    "p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl section article header footer aside "
    "nav main figure hr title form address".split()
)
_LINE_TAGS = frozenset("br div li tr dt dd option caption figcaption".split())
# The next item (or the container's end) already breaks the line; a closing tag adding a second
# newline would leave a blank line between list items.
_ITEM_TAGS = frozenset("li tr dt dd option".split())
_CELL_TAGS = frozenset("td th".split())
# Browsers collapse source whitespace (indentation, line wraps) everywhere except in <pre>;
# doing the same keeps HTML source indentation from surviving as fake code indentation.
_PRE_BLOCK_RE = re.compile(r"(<pre\b[^>]*>.*?</pre\s*>)", re.IGNORECASE | re.DOTALL)
# Single spaces are left alone: rewriting each of them with itself made this step 30% slower.
_HTML_WHITESPACE_RE = re.compile(r"[ \t\n\r\f]{2,}|[\t\n\r\f]")
_SPACE_AROUND_NEWLINE_RE = re.compile(r" *\n *")

_NAMED_ENTITIES = html.entities.html5
# Semicolon required: html.unescape alone also decodes legacy entities without one, which
# would turn a URL's "&section=2" into "§ion=2".
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def _looks_like_html(text: str) -> bool:
    if _HTML_DOCUMENT_RE.match(text):
        return True
    needed = max(_HTML_MIN_TAGS, -(-len(text) // _HTML_MAX_CHARS_PER_TAG))
    tags = 0
    closing = False
    # Stops at the first proof instead of collecting every tag of a large page.
    for match in _KNOWN_TAG_RE.finditer(text):
        tags += 1
        closing = closing or bool(match.group(1))
        if tags >= needed and closing:
            return True
    return False


def _tag_replacement(match: re.Match) -> str:
    name = (match.group(2) or "").lower()
    if name in _PARAGRAPH_TAGS:
        return "\n\n"
    if name in _LINE_TAGS:
        return "" if match.group(1) and name in _ITEM_TAGS else "\n"
    if name in _CELL_TAGS:
        return " "  # keeps neighbouring cells from fusing into one word
    return ""


def _html_to_text(text: str) -> str:
    text = _INVISIBLE_BLOCK_RE.sub("", text)
    text = _HTML_COMMENT_RE.sub("", text)
    parts = _PRE_BLOCK_RE.split(text)  # odd indices are <pre> blocks
    for i, part in enumerate(parts):
        if i % 2:
            parts[i] = _ANY_TAG_RE.sub(_tag_replacement, part)
        else:
            part = _ANY_TAG_RE.sub(_tag_replacement, _HTML_WHITESPACE_RE.sub(" ", part))
            parts[i] = _SPACE_AROUND_NEWLINE_RE.sub("\n", part)
    return "".join(parts)


def _unescape_entity(match: re.Match) -> str:
    entity = match.group(0)
    if entity[1] == "#":
        return html.unescape(entity)  # maps invalid and C1 code points as browsers do
    # Exact lookup: html.unescape would decode the legacy prefix of "&notanentity;" as "¬".
    return _NAMED_ENTITIES.get(entity[1:], entity)


def _unescape_entities(text: str) -> str:
    # Repeat until stable: double-escaped scrapes (&amp;nbsp;, &amp;quot;) are common, and a
    # fixed point keeps the step idempotent. Terminates: every replacement is shorter.
    while "&" in text:
        decoded = _ENTITY_RE.sub(_unescape_entity, text)
        if decoded == text:
            break
        text = decoded
    return text


def markup_counts(text: str) -> dict[str, int]:
    """What strip_markup will remove from ``text``, by kind (kinds with 0 are absent), so the
    report can count markup removals like the boilerplate ones. Same detection as strip_markup."""
    counts: dict[str, int] = {}
    if "<" in text and _looks_like_html(text):
        counts["html_script_style_blocks"] = len(_INVISIBLE_BLOCK_RE.findall(text))
        counts["html_comments"] = len(_HTML_COMMENT_RE.findall(text))
        counts["html_tags"] = len(_ANY_TAG_RE.findall(_HTML_COMMENT_RE.sub(
            "", _INVISIBLE_BLOCK_RE.sub("", text))))
    if "&" in text:
        counts["html_entities"] = sum(
            1 for m in _ENTITY_RE.finditer(text) if _unescape_entity(m) != m.group(0))
    return {kind: n for kind, n in counts.items() if n}


def strip_markup(text: str) -> str:
    # Why: scraped pages keep tags, scripts and entities that are noise to a language model.
    if "<" in text and _looks_like_html(text):
        text = _html_to_text(text)
    return _unescape_entities(text)


# ---------------------------------------------------------------------------------------------
# 2. Line endings
# ---------------------------------------------------------------------------------------------

# After CRLF: a lone CR (classic Mac), vertical tab, form feed (page break), NEL and the Unicode
# line/paragraph separators all end a line; left alone, the control-character step would delete
# them and fuse the adjacent words.
_LINE_BREAKS = ("\r", "\x0b", "\x0c", "\x85", "\u2028", "\u2029")


def normalize_line_endings(text: str) -> str:
    # Why: later steps and the chunker split on "\n" only.
    # str.replace per separator is ~4x faster than one regex alternation.
    text = text.replace("\r\n", "\n")
    for separator in _LINE_BREAKS:
        if separator in text:
            text = text.replace(separator, "\n")
    return text


# ---------------------------------------------------------------------------------------------
# 3. Control and format characters
# ---------------------------------------------------------------------------------------------


def _category_runs() -> dict[str, list[tuple[int, int]]]:
    """Inclusive code point ranges per Unicode general category, from one scan of the tables."""
    runs: dict[str, list[tuple[int, int]]] = {}
    start, current = 0, unicodedata.category("\0")
    for cp in range(1, sys.maxunicode + 2):
        category = unicodedata.category(chr(cp)) if cp <= sys.maxunicode else None
        if category != current:
            runs.setdefault(current, []).append((start, cp - 1))
            start, current = cp, category
    return runs


# Built from the running Python's Unicode tables so newly assigned characters are covered; one
# scan serves both classes below (each scan costs ~0.1 s of import time).
_CATEGORY_RUNS = _category_runs()


def _category_class(categories: set[str], keep: str = "") -> str:
    """Regex character class of all code points in the given categories, minus `keep`."""
    kept = sorted(map(ord, keep))
    runs = sorted(run for category in categories for run in _CATEGORY_RUNS.get(category, ()))
    pieces = []
    for first, last in runs:
        for cp in kept:
            if first <= cp <= last:
                if first < cp:
                    pieces.append((first, cp - 1))
                first = cp + 1
        if first <= last:
            pieces.append((first, last))
    body = "".join(
        re.escape(chr(lo)) if lo == hi else re.escape(chr(lo)) + "-" + re.escape(chr(hi))
        for lo, hi in pieces
    )
    return "[" + body + "]"


# A backspace after a character erases it on a terminal: "_\bx" (underlined x) and "word___\b\b\b"
# are how man pages and fortunes typed emphasis. Erasing what the terminal would erase keeps the
# words readable instead of leaving "___" glued to them.
_OVERSTRIKE_RE = re.compile(r"[^\x08\n]\x08")
# ANSI escape sequences (colours, cursor moves): the control step would remove ESC and leave
# "[1;31m" behind as visible junk.
_ANSI_ESCAPE_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[@-_]")


def apply_backspaces(text: str) -> str:
    # Why: terminal overstrike ("_\bx") and ANSI colour codes are formatting, not content.
    if "\x1b" in text:
        text = _ANSI_ESCAPE_RE.sub("", text)
    while "\x08" in text:
        erased = _OVERSTRIKE_RE.sub("", text)
        if erased == text:
            break  # a backspace at a line start erases nothing; the control step drops it
        text = erased
    return text


# Cc (C0/C1 controls) except newline and tab; Cf (zero-width space/joiners, BOM, soft hyphen,
# bidi marks); Cs (lone surrogates) because they cannot be encoded to UTF-8 for Arrow/Parquet.
_CONTROL_FORMAT_RE = re.compile(_category_class({"Cc", "Cf", "Cs"}, keep="\n\t") + "+")


def remove_control_and_format(text: str) -> str:
    # Why: invisible characters split or glue tokens without any visible trace in the text.
    return _CONTROL_FORMAT_RE.sub("", text)


# ---------------------------------------------------------------------------------------------
# 4. Unicode normalization
# ---------------------------------------------------------------------------------------------


def normalize_unicode(text: str, unicode_form: str = "NFC") -> str:
    # Why: the same visible text must map to the same code points (é vs e + U+0301) for
    # deduplication and tokenization.
    return unicodedata.normalize(unicode_form, text)


# ---------------------------------------------------------------------------------------------
# 5. Exotic spaces and tabs
# ---------------------------------------------------------------------------------------------

_EXOTIC_SPACE_RE = re.compile(_category_class({"Zs"}, keep=" ") + "+")


def _inline_tabs_to_spaces(text: str) -> str:
    # A tab after the first visible character of a line is a column separator; before it, it is
    # indentation and stays. Line by line in Python: a lookbehind regex was 6x slower.
    if "\t" not in text:
        return text
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if "\t" in line:
            body = line.lstrip(" \t")
            lines[i] = line[: len(line) - len(body)] + body.replace("\t", " ")
    return "\n".join(lines)


def normalize_spaces(text: str) -> str:
    # Why: NBSP, em spaces or ideographic spaces tokenize differently from " " while meaning it.
    return _inline_tabs_to_spaces(_EXOTIC_SPACE_RE.sub(" ", text))


# ---------------------------------------------------------------------------------------------
# 6. Whitespace runs
# ---------------------------------------------------------------------------------------------

_TRAILING_SPACE_RE = re.compile(r"[ \t]+(?=\n|\Z)")
# Only runs after the first visible character: leading indentation carries meaning in code.
# Written literal-first (two spaces, then the lookbehind) so the engine can scan for "  ".
_INLINE_SPACE_RUN_RE = re.compile(r"  (?<=\S  ) *")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def collapse_whitespace(text: str) -> str:
    # Why: runs of blanks waste tokens; one blank line is kept as the paragraph boundary.
    text = _TRAILING_SPACE_RE.sub("", text)
    text = _INLINE_SPACE_RUN_RE.sub(" ", text)
    return _BLANK_LINES_RE.sub("\n\n", text)


# ---------------------------------------------------------------------------------------------
# 7. Document edges
# ---------------------------------------------------------------------------------------------


def strip_document(text: str) -> str:
    # Why: leading/trailing blank lines carry nothing and would change chunk boundaries.
    return text.strip()


CLEANING_STEPS: list[tuple[str, Callable[..., str]]] = [
    ("strip_markup", strip_markup),
    ("normalize_line_endings", normalize_line_endings),
    ("apply_backspaces", apply_backspaces),
    ("remove_control_and_format", remove_control_and_format),
    ("normalize_unicode", normalize_unicode),
    ("normalize_spaces", normalize_spaces),
    ("collapse_whitespace", collapse_whitespace),
    ("strip_document", strip_document),
]


def clean_text(text: str | None, unicode_form: str = "NFC") -> str:
    """Apply CLEANING_STEPS in order; None becomes "" (emptiness is the document filter's call).

    Raises ValueError for an unknown unicode_form: that is a configuration error, which should
    stop the job at its first document rather than be silently skipped.
    """
    if unicode_form not in UNICODE_FORMS:
        raise ValueError(f"unicode_form must be one of {UNICODE_FORMS}, got {unicode_form!r}")
    if not text:
        return ""
    for _, step in CLEANING_STEPS:
        text = step(text, unicode_form) if step is normalize_unicode else step(text)
    return text
