"""Detectors that flag PII-like spans in a chunk of text.

Matches are flags, never rejection reasons: the pipeline records which PII types a chunk
contains (and, later, can redact the spans). The detectors therefore aim for precision on
web/prose text: each one insists on token boundaries so that digits inside dates, versions,
IP addresses, ISBNs, timestamps, order numbers and identifiers are not reported.

Every function here is plain Python called once per chunk inside an Arrow UDF, so regexes
are compiled once at import, patterns are written so that a failed attempt cannot backtrack
exponentially, and odd input (None, NaN, non-str) yields "no PII" instead of an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Iterable, Mapping, Sequence

__all__ = [
    "DEFAULT_DETECTORS",
    "DETECTORS",
    "PiiSpan",
    "find_credit_cards",
    "find_emails",
    "find_phones",
    "find_pii",
    "find_pii_spans",
    "luhn_valid",
    "validate_detectors",
]

TYPE_EMAIL = "email"
TYPE_PHONE = "phone"
TYPE_CREDIT_CARD = "credit_card"


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One detected value; ``text[start:end] == value``."""

    type: str
    start: int
    end: int
    value: str


# --------------------------------------------------------------------------------------
# email
# --------------------------------------------------------------------------------------
# A pragmatic subset of the RFC 5322 section 3.4.1 addr-spec: the dot-atom local part restricted
# to the characters real addresses use (letters, digits, . _ % + -; no leading, trailing or
# doubled dot), and a DNS domain (RFC 1035 labels: alphanumeric at both ends, hyphens inside,
# at most 63 characters) that has at least one dot and ends in an alphabetic TLD of 2+ letters.
# Requiring the dot and the alphabetic TLD is what drops user@localhost, a@b and
# lodash@4.17.21-style package pins.
_EMAIL_RE = re.compile(
    r"""
    # Refuse to start in the middle of a token. Besides avoiding matches glued to a word,
    # this keeps the scan linear: without it a long run of local-part characters with no
    # '@' would be re-matched from every position (quadratic).
    (?<![\w.%+\-@])
    [A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*
    @
    (?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+
    (?P<tld>[A-Za-z]{2,63})
    # A trailing sentence period is fine; a further label, word character or '@' means the
    # candidate is a prefix of something else (e.g. x@y.com2, x@y.com.evil-).
    (?![\w\-@]|\.[\w\-])
    """,
    re.VERBOSE,
)

# File names such as image@2x.png (Apple's @2x/@3x asset naming) and name@version.js look like
# addresses to the pattern above. None of these extensions is a delegated IANA top-level
# domain, so rejecting them as TLDs costs no real address. Extensions that are also ccTLDs or
# gTLDs (.zip, .mov, .py, .sh, .md, .ai, ...) are deliberately absent.
_FILE_EXTENSION_TLDS = frozenset(
    {
        "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff",
        "heic", "heif", "avif", "psd", "pdf", "txt", "csv", "json", "xml", "yaml",
        "yml", "html", "htm", "css", "scss", "js", "jsx", "tsx", "woff", "ttf",
    }
)


def find_emails(text: str) -> list[PiiSpan]:
    """Email-address spans in ``text``."""
    if not isinstance(text, str) or "@" not in text:
        return []
    return [
        PiiSpan(TYPE_EMAIL, m.start(), m.end(), m.group())
        for m in _EMAIL_RE.finditer(text)
        if m.group("tld").lower() not in _FILE_EXTENSION_TLDS
    ]


# --------------------------------------------------------------------------------------
# phone
# --------------------------------------------------------------------------------------
# NANP (North American Numbering Plan, administered by NANPA): numbers are NPA-NXX-XXXX where
# the area code (NPA) and the central-office exchange (NXX) start with 2-9, because 0 and 1
# are reserved for operator and long-distance prefixes. Its E.164 country code is 1.
# ITU-T E.164: an international number is at most 15 digits and begins with a country code
# that never starts with 0; written with a leading '+'. The 8-digit minimum is ours: shorter
# '+' numbers are mostly arithmetic or offsets.
#
# Separators are required for the bare NANP forms: an unseparated 10-digit run is
# indistinguishable from order numbers, epoch timestamps and other ids, and is not reported.
_PHONE_RE = re.compile(
    r"""
    # Redundant with the alternatives below, but a leading character test lets the scan skip
    # most positions before evaluating the lookbehind: about 2x faster on prose.
    (?=[+(0-9])
    # Not glued to a word, a decimal/version/date component, an URL path or an '#id'.
    (?<![\w.+\-/#@])
    (?:
        # NANP, human-formatted: optional country code 1, then (NPA) or NPA + separator.
        (?:\+?1(?:[\-. ]|(?=\()))?
        (?:
            \([2-9][0-9]{2}\)\ ?
          | [2-9][0-9]{2}(?P<sep>[\-. ])
        )
        [2-9][0-9]{2}
        # The exchange/line separator must repeat the area/exchange one (415-555.0132 is not
        # a formatting anyone uses); after "(NPA)" any separator is accepted.
        (?(sep)(?P=sep)|[\-. ])
        [0-9]{4}
        # A further ".5" or "-12" means a version string or a longer hyphenated id.
        (?![\w+]|[.\-][0-9])
      |
        # E.164 compact form of a NANP number: +1 NPA NXX XXXX without separators.
        \+1[2-9][0-9]{2}[2-9][0-9]{6}(?!\w)
      |
        # E.164 outside zone 1 (every country code starting with 1 is NANP, handled above).
        # One digit per repetition with an optional single separator before it, so there is
        # exactly one way to match a given string: no backtracking blow-up.
        \+[2-9](?:[\ \-]?[0-9]){7,14}
        # More digits after the 15th means this is not an E.164 number at all.
        (?![\w+]|[\ \-.][0-9])
    )
    """,
    re.VERBOSE,
)


def find_phones(text: str) -> list[PiiSpan]:
    """Phone-number spans (NANP formats and ``+`` E.164) in ``text``."""
    if not isinstance(text, str):
        return []
    return [PiiSpan(TYPE_PHONE, m.start(), m.end(), m.group()) for m in _PHONE_RE.finditer(text)]


# --------------------------------------------------------------------------------------
# credit_card
# --------------------------------------------------------------------------------------
_CARD_RE = re.compile(
    r"""
    # The first digit is consumed before the boundary check (a 2-character lookbehind over
    # "previous char + this digit") because a pattern that starts with a plain character class
    # lets the scan skip non-digits quickly: about 3x faster on prose than leading with the
    # lookbehind. The check itself: not the tail of a longer digit run, a decimal, an
    # identifier, a '+' phone number or a hyphenated id.
    [0-9](?<![\w.,+\-][0-9])
    (?:
        [0-9]{12,18}
      |
        # Printed groupings (4-4-4-4, 4-6-5, 4-6-4, 4-4-4-4-3, ...): a 4-digit first group, then
        # groups of 3-6 digits, all joined by the same single separator.
        [0-9]{3}(?P<sep>[\ \-])[0-9]{3,6}(?:(?P=sep)[0-9]{3,6}){1,3}
    )
    # Not the head of a longer run. A following " 12/25" is allowed (prose after a spaced card
    # number), a following "-7" or ".5" is not (same token).
    (?![\w]|[.,\-][0-9])
    """,
    re.VERBOSE,
)

# Issuer identification number (IIN) ranges per ISO/IEC 7812-1 registrations as published by
# the networks: (lowest prefix, highest prefix, allowed PAN lengths). Prefixes of one table row
# share a digit count, so a numeric range compare on the leading digits is exact.
_IIN_TABLE: tuple[tuple[int, int, frozenset[int]], ...] = (
    (4, 4, frozenset({13, 16, 19})),               # Visa
    (51, 55, frozenset({16})),                     # Mastercard
    (2221, 2720, frozenset({16})),                 # Mastercard 2-series
    (34, 34, frozenset({15})),                     # American Express
    (37, 37, frozenset({15})),                     # American Express
    (6011, 6011, frozenset({16, 17, 18, 19})),     # Discover
    (644, 649, frozenset({16, 17, 18, 19})),       # Discover
    (65, 65, frozenset({16, 17, 18, 19})),         # Discover
    (3528, 3589, frozenset({16, 17, 18, 19})),     # JCB
    (300, 305, frozenset({14})),                   # Diners Club Carte Blanche
    (36, 36, frozenset({14, 15, 16, 17, 18, 19})), # Diners Club International
    (38, 38, frozenset({14, 16})),                 # Diners Club (legacy 38 range)
    (62, 62, frozenset({16, 17, 18, 19})),         # UnionPay
)


def _issuer_accepts(digits: str) -> bool:
    n = len(digits)
    for low, high, lengths in _IIN_TABLE:
        if n in lengths and low <= int(digits[: len(str(low))]) <= high:
            return True
    return False


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check of a string of ASCII digits, per ISO/IEC 7812-1 Annex B.

    Returns False (never raises) for anything that is not a non-empty string of at least two
    ASCII digits: a single digit has no check digit to verify.
    """
    if not isinstance(digits, str) or len(digits) < 2 or not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    # Walk from the right: the check digit is undoubled, every second digit left of it doubled.
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position & 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _valid_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and _issuer_accepts(digits) and luhn_valid(digits)


def find_credit_cards(text: str) -> list[PiiSpan]:
    """Payment-card-number spans (known issuer, valid length, Luhn-valid) in ``text``."""
    if not isinstance(text, str):
        return []
    spans: list[PiiSpan] = []
    pos = 0
    while (m := _CARD_RE.search(text, pos)) is not None:
        span = _card_span(text, m)
        if span is None:
            # Nothing valid from this start, but a later group may still begin a card
            # ("Ref 1234 4111 1111 1111 1111"); the lookbehind stops mid-group restarts.
            pos = m.start() + 1
        else:
            spans.append(span)
            pos = span.end
    return spans


def _card_span(text: str, m: re.Match[str]) -> PiiSpan | None:
    start, value, sep = m.start(), m.group(), m.group("sep")
    if sep is None:
        return PiiSpan(TYPE_CREDIT_CARD, start, m.end(), value) if _valid_card(value) else None
    groups = value.split(sep)
    # Space-grouped numbers are followed by unrelated numbers in prose ("4111 1111 1111 1111
    # 2024"), and the greedy pattern swallows them: fall back to the longest leading run of
    # groups that is a valid card. Hyphens bind groups into one token, so a hyphenated
    # candidate is all-or-nothing.
    fewest = 3 if sep == " " else len(groups)
    for count in range(len(groups), fewest - 1, -1):
        if _valid_card("".join(groups[:count])):
            end = start + len(sep.join(groups[:count]))
            return PiiSpan(TYPE_CREDIT_CARD, start, end, text[start:end])
    return None


# --------------------------------------------------------------------------------------
# registry and public entry points
# --------------------------------------------------------------------------------------
DETECTORS: Mapping[str, Callable[[str], list[PiiSpan]]] = MappingProxyType(
    {
        TYPE_EMAIL: find_emails,
        TYPE_PHONE: find_phones,
        TYPE_CREDIT_CARD: find_credit_cards,
    }
)

DEFAULT_DETECTORS: tuple[str, ...] = (TYPE_EMAIL, TYPE_PHONE, TYPE_CREDIT_CARD)


def validate_detectors(names: Iterable[str] | str) -> tuple[str, ...]:
    """Check detector names from config; return them de-duplicated in their given order.

    Raises ValueError naming the unknown entries and listing the known ones. A bare string is
    taken as one name, so ``detectors: email`` in YAML does not turn into 'e', 'm', ...
    """
    if isinstance(names, str):
        names = (names,)
    resolved = tuple(dict.fromkeys(names))
    unknown = [name for name in resolved if name not in DETECTORS]
    if unknown:
        raise ValueError(
            f"unknown PII detector(s) {unknown!r}; known detectors: {sorted(DETECTORS)!r}"
        )
    return resolved


def find_pii_spans(text: str, detectors: Sequence[str] = DEFAULT_DETECTORS) -> list[PiiSpan]:
    """All spans found by ``detectors``, ordered by position.

    Spans of different types may overlap (each detector runs independently); a redaction step
    has to merge them.
    """
    names = validate_detectors(detectors)
    if not isinstance(text, str) or not text:
        return []
    spans: list[PiiSpan] = []
    for name in names:
        spans.extend(DETECTORS[name](text))
    spans.sort(key=lambda span: (span.start, span.end))
    return spans


def find_pii(text: str, detectors: Sequence[str] = DEFAULT_DETECTORS) -> dict[str, int]:
    """Count of matches per PII type; types with no match are absent."""
    counts: dict[str, int] = {}
    for span in find_pii_spans(text, detectors):
        counts[span.type] = counts.get(span.type, 0) + 1
    return counts
