"""Detectors that flag PII-like spans in a chunk of text.

Matches are flags, never rejection reasons: the pipeline records which PII types a chunk
contains and, with ``pii.redact``, replaces the spans by typed placeholders (``redact``). The
detectors therefore aim for precision on web/prose text: each one insists on token boundaries
so that digits inside dates, versions, IP addresses, ISBNs, timestamps, order numbers and
identifiers are not reported, and each checks what its format defines (Luhn, SSA rules, the
IBAN registry and mod 97, the IANA special-purpose address registries).

Every function here is plain Python called once per chunk inside an Arrow UDF, so regexes
are compiled once at import, patterns are written so that a failed attempt cannot backtrack
exponentially, and odd input (None, NaN, non-str) yields "no PII" instead of an exception.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "DEFAULT_DETECTORS",
    "DETECTORS",
    "PLACEHOLDERS",
    "PiiSpan",
    "find_credit_cards",
    "find_emails",
    "find_ibans",
    "find_ipv4",
    "find_ipv6",
    "find_phones",
    "find_pii",
    "find_pii_spans",
    "find_ssns",
    "iban_valid",
    "luhn_valid",
    "redact",
    "redact_spans",
    "ssn_valid",
    "validate_detectors",
]

TYPE_EMAIL = "email"
TYPE_PHONE = "phone"
TYPE_CREDIT_CARD = "credit_card"
TYPE_SSN = "ssn"
TYPE_IBAN = "iban"
TYPE_IPV4 = "ipv4"
TYPE_IPV6 = "ipv6"


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


_WHITESPACE_RE = re.compile(r"\s")


def find_emails(text: str) -> list[PiiSpan]:
    """Email-address spans in ``text``."""
    if not isinstance(text, str) or "@" not in text:
        return []
    # The pattern starts with a lookbehind, so a whole-text scan attempts a match at every
    # position: the slowest detector by far. Only the whitespace-delimited stretches around
    # each '@' are scanned instead. This finds exactly the same matches: a match contains no
    # whitespace, and whitespace is in none of the pattern's lookaround classes, so the
    # lookarounds decide the same at a stretch's ends (the lookbehind sees the character
    # before ``pos``; at ``endpos`` the lookahead sees the end instead of whitespace, both
    # allowed). Each stretch is scanned once, so the work stays linear.
    spans: list[PiiSpan] = []
    previous_end = -1  # index of the whitespace that ended the previous stretch
    at = text.find("@")
    while at != -1:
        start = max(text.rfind(" ", previous_end + 1, at), text.rfind("\n", previous_end + 1, at),
                    previous_end) + 1
        boundary = _WHITESPACE_RE.search(text, at)
        end = boundary.start() if boundary is not None else len(text)
        spans.extend(
            PiiSpan(TYPE_EMAIL, m.start(), m.end(), m.group())
            for m in _EMAIL_RE.finditer(text, start, end)
            if m.group("tld").lower() not in _FILE_EXTENSION_TLDS
        )
        previous_end = end
        at = text.find("@", end + 1) if boundary is not None else -1
    return spans


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
        # A further ".5" or "-12" means a version string or a longer hyphenated id, and a
        # further "-XK" a part number (415-555-0132-XK).
        (?![\w+]|[.\-][0-9]|-[A-Za-z])
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
# ssn, iban, ipv4, ipv6: one scan
# --------------------------------------------------------------------------------------
# Every candidate of these four types contains a digit at a recognisable place (the SSN's
# first digit, the IBAN's first check digit, the IPv4 address's first digit, the first digit
# of a global IPv6 address), so one pattern that starts with a digit class finds them all.
# Scanning a chunk costs about the same per character whatever the pattern, so one scan for
# four types is about four times cheaper than four scans. Each branch carries its own
# boundary checks as lookbehinds over the consumed digit; the branches exclude one another
# (the IBAN branch needs a letter before the digit, the others a non-word character), and a
# candidate that fails validation is retried one character later, so a rejected candidate
# never hides another.
_NUMERIC_RE = re.compile(
    r"""
    [0-9]
    (?:
        # ---- ssn: AAA-GG-SSSS, AAA GG SSSS, or 9 bare digits (keyword checked in code).
        # Not the tail of a word, decimal, id, '+' number, path or '#id'.
        (?<![\w.,+\-/\#@][0-9])
        (?P<ssn>
            [0-9]{2}
            (?:
                -[0-9]{2}-[0-9]{4}
              |
                # Space-separated: a preceding "digit space" or a following " digit" means a
                # row of a number table, not one number.
                (?<![0-9]\ [0-9]{3})\ [0-9]{2}\ [0-9]{4}(?!\ [0-9])
              |
                (?P<ssn_bare>[0-9]{6})
            )
        )
        # Not the head of a longer token: "123-45-6789-01", "123-45-6789.5", "123456789x".
        (?![\w]|[.,\-/][0-9])
      |
        # ---- ipv4: dotted decimal (RFC 791 notation). Loose about octet values: the ipaddress
        # parser rejects octets above 255 and leading zeros (octal for inet_aton, decimal for
        # others: ambiguous). Not inside a word, a longer dotted number (1.2.3.4.5), a
        # hyphenated token (libfoo-1.2.3.4) or a '+' number; '/', ':' and '@' before are fine.
        (?<![\w.\-+][0-9])
        (?P<ipv4>[0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})
        # Nor the head of one: "1.2.3.4.5", "1.2.3.4-rc1", "1.2.3.4a". ":80" and "/24" are fine.
        (?![\w]|[.\-][\w])
      |
        # ---- ipv6: text forms of RFC 4291 section 2.2 (full, '::'-compressed, dotted-quad
        # tail). A public address is global unicast, 2000::/3 (IANA IPv6 Address Space
        # registry): its first hextet is four hex digits starting with 2 or 3. Anchoring on that
        # skips times (12:30:45), MAC addresses, C++ scopes and "a::b"; the ipaddress parser
        # checks the real grammar (group count, one '::').
        (?<![\w:.][23])(?<=[23])
        (?P<ipv6>
            [0-9A-Fa-f]{3}
            (?::[0-9A-Fa-f]{0,4}){2,7}
            (?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?
        )
        # Not followed by more address characters ("...::1.2") or a word; a "/64" prefix
        # length, "]:443", "%zone" or sentence punctuation (a colon included) is fine.
        (?![\w]|:[\w:]|\.[0-9A-Fa-f])
      |
        # ---- iban (ISO 13616-1): country code, check digits, BBAN; the digit consumed is the
        # first check digit. The two letters before it must not continue a word, an URL path,
        # a hyphenated or dotted token.
        (?<=(?<![\w\-./@\#])[A-Z]{2}[0-9])
        (?P<iban>
            [0-9]
            (?:
                # Electronic format: no spaces, 15-34 characters in all.
                [A-Z0-9]{11,30}
              |
                # Paper format: groups of four separated by one space, the last one possibly
                # shorter.
                (?P<iban_groups>(?:\ [A-Z0-9]{4}){2,7}(?:\ [A-Z0-9]{1,3})?)
            )
        )
        (?![A-Za-z0-9]|[\-.][A-Za-z0-9])
    )
    """,
    re.VERBOSE,
)

# ---- ssn rules
# A bare 9-digit run is reported only right after a keyword ("SSN", "social security
# number", ...): without one, 9-digit runs are far more often ZIP+4 codes without the hyphen,
# ABA routing numbers, order numbers or other ids than SSNs, which the SSA prints hyphenated.
# Keywords: "SSN", "SSN#", "SSNs", "SSAN", "soc. sec. no.", "social security number:",
# optionally followed by "is"/"was"/"of".
_SSN_KEYWORD_RE = re.compile(
    r"""
    (?:
        \b(?:ssns?|ssan|ss\#)
      | \bsoc(?:ial|\.)?[\s\-]*sec(?:urity|\.)?(?:[\s\-]*(?:numbers?|nos?\.?|\#|card))?
    )
    [\s:\#=.\-]*
    (?:(?:is|was|of|number|no\.?)[\s:\#]+)?
    $
    """,
    re.VERBOSE | re.IGNORECASE,
)

# A 3-2-4 number right after one of these words is a part, order, case or account number.
_SSN_NEGATIVE_CONTEXT_RE = re.compile(
    r"""
    \b(?:part|p/n|pn|sku|model|item|order|invoice|ref|reference|ticket|tracking|lot|catalog
         |cat|case|claim|policy|account|acct|serial|patent|docket|isbn|issn)
    (?:\s*(?:no\.?|number|\#))?
    [\s:\#=.\-]*$
    """,
    re.VERBOSE | re.IGNORECASE,
)

# Numbers the SSA never issues: area 000, 666 and 900-999, group 00, serial 0000 (SSA, "Social
# Security Number Randomization", https://www.ssa.gov/employer/randomization.html).
# Two numbers were printed in advertising and then used by thousands of people, so the SSA
# voided them: 078-05-1120 (the Woolworth wallet insert, 1938) and 219-09-9999 (an SSA
# pamphlet, 1940) (https://www.ssa.gov/history/ssn/misused.html).
_SSN_VOIDED = frozenset({"078051120", "219099999"})
_SSN_CONTEXT = 40  # characters before a candidate searched for a keyword


def ssn_valid(digits: str) -> bool:
    """True when ``digits`` (9 ASCII digits) is a number the SSA can have issued."""
    if not isinstance(digits, str) or len(digits) != 9 or not (digits.isascii() and digits.isdigit()):
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return (
        area not in ("000", "666")
        and area[0] != "9"
        and group != "00"
        and serial != "0000"
        and digits not in _SSN_VOIDED
    )


def _ssn_span(text: str, m: re.Match[str]) -> PiiSpan | None:
    start, value = m.start(), m.group()
    if not ssn_valid(value.replace("-", "").replace(" ", "")):
        return None
    context = text[max(0, start - _SSN_CONTEXT):start]
    if m.group("ssn_bare") is not None:
        if not _SSN_KEYWORD_RE.search(context):
            return None
    elif _SSN_NEGATIVE_CONTEXT_RE.search(context):
        return None
    return PiiSpan(TYPE_SSN, start, m.end(), value)


# ---- iban rules
# BBAN structures from the SWIFT IBAN Registry (https://www.swift.com/standards/data-standards/iban),
# in its notation: "n" digits, "a" upper-case letters, "c" letters or digits, each preceded by
# a count. All 89 countries of the registry release used here: the 36 SEPA countries and the
# others. IBAN length = 4 + BBAN length.
_IBAN_BBAN_FORMATS: Mapping[str, str] = MappingProxyType({
    "AD": "4n4n12c", "AE": "3n16n", "AL": "8n16c", "AT": "5n11n", "AZ": "4a20c",
    "BA": "3n3n8n2n", "BE": "3n7n2n", "BG": "4a4n2n8c", "BH": "4a14c", "BI": "5n5n11n2n",
    "BR": "8n5n10n1a1c", "BY": "4c4n16c", "CH": "5n12c", "CR": "4n14n", "CY": "3n5n16c",
    "CZ": "4n6n10n", "DE": "8n10n", "DJ": "5n5n11n2n", "DK": "4n9n1n", "DO": "4c20n",
    "EE": "2n14n", "EG": "4n4n17n", "ES": "4n4n1n1n10n", "FI": "3n11n", "FK": "2a12n",
    "FO": "4n9n1n", "FR": "5n5n11c2n", "GB": "4a6n8n", "GE": "2a16n", "GI": "4a15c",
    "GL": "4n9n1n", "GR": "3n4n16c", "GT": "4c20c", "HN": "4a20n", "HR": "7n10n",
    "HU": "3n4n1n15n1n", "IE": "4a6n8n", "IL": "3n3n13n", "IQ": "4a3n12n", "IS": "4n2n6n10n",
    "IT": "1a5n5n12c", "JO": "4a4n18c", "KW": "4a22c", "KZ": "3n13c", "LB": "4n20c",
    "LC": "4a24c", "LI": "5n12c", "LT": "5n11n", "LU": "3n13c", "LV": "4a13c",
    "LY": "3n3n15n", "MC": "5n5n11c2n", "MD": "2c18c", "ME": "3n13n2n", "MK": "3n10c2n",
    "MN": "4n12n", "MR": "5n5n11n2n", "MT": "4a5n18c", "MU": "4a2n2n12n3n3a", "NI": "4a20n",
    "NL": "4a10n", "NO": "4n6n1n", "OM": "3n16c", "PK": "4a16c", "PL": "8n16n",
    "PS": "4a21c", "PT": "4n4n11n2n", "QA": "4a21c", "RO": "4a16c", "RS": "3n13n2n",
    "RU": "9n5n15c", "SA": "2n18c", "SC": "4a2n2n16n3a", "SD": "2n12n", "SE": "3n16n1n",
    "SI": "5n8n2n", "SK": "4n6n10n", "SM": "1a5n5n12c", "SO": "4n3n12n", "ST": "8n11n2n",
    "SV": "4a20n", "TL": "3n14n2n", "TN": "2n3n13n2n", "TR": "5n1n16c", "UA": "6n19c",
    "VA": "3n15n", "VG": "4a16n", "XK": "4n10n2n", "YE": "4a4n18c",
})

# The registry's "c" admits lower case too; IBANs are written in upper case in practice
# (ISO 13616-1 prints them so), and accepting lower case would let ordinary words in.
_BBAN_CLASSES = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Z0-9]"}


def _bban_regex(spec: str) -> re.Pattern[str]:
    parts = re.findall(r"([0-9]+)([nac])", spec)
    if "".join(count + kind for count, kind in parts) != spec:
        raise ValueError(f"bad BBAN format {spec!r}")
    return re.compile("".join(f"{_BBAN_CLASSES[kind]}{{{count}}}" for count, kind in parts))


# country -> (IBAN length, compiled BBAN structure)
_IBAN_COUNTRIES: Mapping[str, tuple[int, re.Pattern[str]]] = MappingProxyType({
    country: (4 + sum(int(n) for n in re.findall(r"[0-9]+", spec)), _bban_regex(spec))
    for country, spec in _IBAN_BBAN_FORMATS.items()
})


def iban_valid(iban: str) -> bool:
    """ISO 13616 check of an IBAN in electronic format (no spaces, upper case).

    Country registered, length and BBAN structure as registered, check digits 02-98 and the
    ISO 7064 MOD 97-10 check: move the first four characters to the end, letters to numbers
    (A=10 ... Z=35), the integer mod 97 must be 1.
    """
    if not isinstance(iban, str) or not iban.isascii():
        return False
    country = _IBAN_COUNTRIES.get(iban[:2])
    if country is None or len(iban) != country[0]:
        return False
    check = iban[2:4]
    if not check.isdigit() or not "02" <= check <= "98" or not country[1].fullmatch(iban, 4):
        return False
    rearranged = iban[4:] + iban[:4]
    # int(char, 36) maps 0-9 to themselves and A-Z to 10-35, as ISO 7064 requires.
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _iban_span(text: str, m: re.Match[str]) -> PiiSpan | None:
    start = m.start() - 2  # the match starts at the first check digit
    value = text[start:m.end()]
    compact = value.replace(" ", "")
    country = _IBAN_COUNTRIES.get(compact[:2])
    if country is None:
        return None
    length = country[0]
    if m.group("iban_groups") is not None and len(compact) > length and length % 4 == 0:
        # A paper-format IBAN whose length is a multiple of four ends with a full group, so
        # unrelated groups after it ("BE68 5390 0754 7034 2024") were swallowed: cut them.
        compact = compact[:length]
        value = value[: length + length // 4 - 1]
    if not iban_valid(compact):
        return None
    return PiiSpan(TYPE_IBAN, start, start + len(value), value)


# ---- ip rules
# Only public (globally routable) addresses are personal data worth flagging: private,
# loopback, link-local, shared (CGNAT), multicast, reserved and documentation addresses
# identify no one. Python's ipaddress.is_global follows the IANA special-purpose address
# registries (RFC 6890); multicast, reserved and the documentation ranges are excluded
# explicitly because is_global keeps multicast (224.0.0.1, ff02::1), most of the reserved IPv6
# space (be::, 1:2:3:4:5:6:7:8 are "global" to it) and, depending on the Python release, the
# newer documentation prefix 3fff::/20 (RFC 9637).
_DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # RFC 5737
                "2001:db8::/32",                                     # RFC 3849
                "3fff::/20")                                         # RFC 9637
)


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        address.is_global
        and not address.is_multicast
        and not address.is_reserved
        and not any(address in net for net in _DOCUMENTATION_NETWORKS)
    )


# Four dotted numbers right after these words are a version, a section or an OID, not an
# address: "version 1.2.3.4", "release 2.0.1.3", "section 3.1.4.1", "OID 1.3.6.1", "rv:1.8.1.1";
# so are "Firefox/2.0.0.1" (a product/version token; "//1.2.3.4" of an URL is fine) and
# "novas==3.1.1.3" (a pin).
_IPV4_NEGATIVE_CONTEXT_RE = re.compile(
    r"""
    (?:
        \b(?:v|ver|version|versions|release|releases|rel|build|revision|rev|rv|firmware|fw
             |kernel|linux|patch|update|upgrade|section|sections|chapter|clause|step|figure
             |fig|table|errata|erratum|oid|rule|python|perl|java|node|gcc|libc|glibc)
        \.?[\s:=\#(]*
      | [^\W_]/ | ==
    )
    $
    """,
    re.VERBOSE | re.IGNORECASE,
)
_IPV4_CONTEXT = 16

# Version and section numbers have small components ("2.20.4.1", "36.1.1.2", "4.3.3.75"),
# and in technical text they outnumber addresses many times: in the dev corpus (69 MB, see
# docs/PII_EVAL.md), 256 of the 269 public-looking four-part numbers that these rules reject
# are versions, specification sections or firmware levels, 13 are addresses (mostly 1.2.3.4
# placeholders); without the rule IPv4 precision there would be about 0.3. Only about 3 % of
# random public addresses have all four octets below 100. Such an address is reported only
# with evidence that it is one: a network word in the 40 characters before it or the 24 after it ("ping 8.8.8.8",
# "12.0.0.4 via ..."), "//" or "@" right before it (URL, user@host), or a port or prefix
# length right after it ("1.2.3.4:8080", "11.0.0.0/30").
_IPV4_SMALL_OCTETS = 100
_IPV4_EVIDENCE_WORD_RE = re.compile(
    r"""
    (?<![A-Za-z])
    (?:ip|ips|ipv4|ipv6|ip4|ipaddr|address|addresses|addr|host|hosts|hostname|server|servers
      |ping|dns|nameserver|resolver|route|routes|via|gateway|gw|src|dst|source|destination
      |peer|client|proxy|connect|connected|connecting|inet|listen|listening|bind|ifconfig
      |nexthop|neighbor|neighbour|firewall|subnet|network|vpn|ssh|telnet|http|https|ftp)
    (?![A-Za-z])
    """,
    re.VERBOSE | re.IGNORECASE,
)
_IPV4_EVIDENCE_CONTEXT = 40
_IPV4_EVIDENCE_AFTER = 24
_IPV4_EVIDENCE_AFTER_RE = re.compile(r":[0-9]{1,5}(?![0-9])|/[0-9]{1,2}(?![0-9])")


def _ipv4_span(text: str, m: re.Match[str]) -> PiiSpan | None:
    start, end, value = m.start(), m.end(), m.group()
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        return None
    if not _is_public(address):
        return None
    if _IPV4_NEGATIVE_CONTEXT_RE.search(text[max(0, start - _IPV4_CONTEXT):start]):
        return None
    if max(address.packed) < _IPV4_SMALL_OCTETS and not (
        text[max(0, start - 2):start] == "//"
        or text[start - 1:start] == "@"
        or _IPV4_EVIDENCE_AFTER_RE.match(text, end)
        or _IPV4_EVIDENCE_WORD_RE.search(text[max(0, start - _IPV4_EVIDENCE_CONTEXT):start])
        or _IPV4_EVIDENCE_WORD_RE.search(text[end:end + _IPV4_EVIDENCE_AFTER])
    ):
        return None
    return PiiSpan(TYPE_IPV4, start, end, value)


def _ipv6_span(text: str, m: re.Match[str]) -> PiiSpan | None:
    start, value = m.start(), m.group()
    if value.endswith(":") and not value.endswith("::"):
        # "... 2001:4860:4860::8888: the resolver": a colon of the sentence, which the
        # pattern took as an empty group.
        value = value[:-1]
    if value.endswith("::") and value.count(":") == 2 and not text.startswith("/", m.end()):
        # "hhhh::" alone is mostly a year or a number before the "::" that opens a
        # reStructuredText literal block ("... 4 Jan 2004::"); as an address it is a bare
        # network prefix, which is written with its length ("2002::/16").
        return None
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        return None
    if not _is_public(address):
        return None
    return PiiSpan(TYPE_IPV6, start, start + len(value), value)


_NUMERIC_VALIDATORS: Mapping[str, Callable[[str, re.Match[str]], PiiSpan | None]] = MappingProxyType({
    TYPE_SSN: _ssn_span,
    TYPE_IBAN: _iban_span,
    TYPE_IPV4: _ipv4_span,
    TYPE_IPV6: _ipv6_span,
})


def _find_numeric(text: str, wanted: frozenset[str]) -> list[PiiSpan]:
    """Spans of the ``wanted`` types among ssn, iban, ipv4 and ipv6, from one scan."""
    if not isinstance(text, str):
        return []
    spans: list[PiiSpan] = []
    pos = 0
    while (m := _NUMERIC_RE.search(text, pos)) is not None:
        # Exactly one of the four type groups took part in the match.
        kind = next(name for name in _NUMERIC_VALIDATORS if m.start(name) != -1)
        span = _NUMERIC_VALIDATORS[kind](text, m) if kind in wanted else None
        if span is None:
            pos = m.start() + 1
        else:
            spans.append(span)
            pos = span.end
    return spans


def find_ssns(text: str) -> list[PiiSpan]:
    """US Social Security number spans (SSA-valid; bare 9 digits only after a keyword)."""
    return _find_numeric(text, frozenset({TYPE_SSN}))


def find_ibans(text: str) -> list[PiiSpan]:
    """IBAN spans (registered country, length, BBAN structure, mod-97 check) in ``text``."""
    return _find_numeric(text, frozenset({TYPE_IBAN}))


def find_ipv4(text: str) -> list[PiiSpan]:
    """Public IPv4 address spans (dotted decimal, not a version/section number) in ``text``."""
    return _find_numeric(text, frozenset({TYPE_IPV4}))


def find_ipv6(text: str) -> list[PiiSpan]:
    """Public IPv6 address spans (global unicast, not documentation) in ``text``."""
    return _find_numeric(text, frozenset({TYPE_IPV6}))


# --------------------------------------------------------------------------------------
# registry and public entry points
# --------------------------------------------------------------------------------------
# Registry order is also the tie-break order when spans of two types cover the same text.
DETECTORS: Mapping[str, Callable[[str], list[PiiSpan]]] = MappingProxyType(
    {
        TYPE_EMAIL: find_emails,
        TYPE_PHONE: find_phones,
        TYPE_CREDIT_CARD: find_credit_cards,
        TYPE_SSN: find_ssns,
        TYPE_IBAN: find_ibans,
        TYPE_IPV4: find_ipv4,
        TYPE_IPV6: find_ipv6,
    }
)

DEFAULT_DETECTORS: tuple[str, ...] = tuple(DETECTORS)

# What ``redact`` writes instead of a span. IPv4 and IPv6 stay two types for flagging and
# evaluation, but share one placeholder: the text after redaction need not say which.
PLACEHOLDERS: Mapping[str, str] = MappingProxyType(
    {
        TYPE_EMAIL: "[EMAIL]",
        TYPE_PHONE: "[PHONE]",
        TYPE_CREDIT_CARD: "[CREDIT_CARD]",
        TYPE_SSN: "[SSN]",
        TYPE_IBAN: "[IBAN]",
        TYPE_IPV4: "[IP_ADDRESS]",
        TYPE_IPV6: "[IP_ADDRESS]",
    }
)

_PRIORITY = {name: index for index, name in enumerate(DETECTORS)}


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

    A span lying entirely inside another detector's span is dropped: the digits of a spaced
    IBAN can form a Luhn-valid card number, but they are part of the IBAN and counting them
    twice would flag a card that is not there. Spans that only partly overlap are all kept
    (each detector runs independently); ``redact`` merges them.
    """
    names = validate_detectors(detectors)
    if not isinstance(text, str) or not text:
        return []
    spans: list[PiiSpan] = []
    numeric = frozenset(name for name in names if name in _NUMERIC_VALIDATORS)
    for name in names:
        if name not in numeric:
            spans.extend(DETECTORS[name](text))
    if numeric:
        spans.extend(_find_numeric(text, numeric))  # one scan for all of them
    if len(spans) < 2:
        return spans
    # Outer spans sort before the spans they contain (same start: longer first; same extent:
    # registry order), so one sweep with the furthest end seen so far finds every contained one.
    spans.sort(key=lambda span: (span.start, -span.end, _PRIORITY[span.type]))
    kept: list[PiiSpan] = []
    reach = -1
    for span in spans:
        if span.end <= reach:
            continue
        kept.append(span)
        reach = span.end
    return kept


def find_pii(text: str, detectors: Sequence[str] = DEFAULT_DETECTORS) -> dict[str, int]:
    """Count of matches per PII type; types with no match are absent."""
    counts: dict[str, int] = {}
    for span in find_pii_spans(text, detectors):
        counts[span.type] = counts.get(span.type, 0) + 1
    return counts


def redact(text: str, detectors: Sequence[str] = DEFAULT_DETECTORS) -> tuple[str, dict[str, int]]:
    """``text`` with every detected span replaced by its type's placeholder, and the number
    of placeholders written per type (types with none are absent).

    Overlapping spans are merged into one region so that no detected character survives; the
    region gets the placeholder of its longest span, ties going to the earliest start, then to
    registry order. Spans that merely touch stay separate. Odd input (None, NaN, non-str)
    gives ``("", {})``, like ``find_pii`` gives no PII.
    """
    redacted, placeholders = redact_spans(text, detectors)
    counts: dict[str, int] = {}
    for span in placeholders:
        counts[span.type] = counts.get(span.type, 0) + 1
    return redacted, counts


def redact_spans(text: str, detectors: Sequence[str] = DEFAULT_DETECTORS) -> tuple[str, list[PiiSpan]]:
    """Like ``redact``, but returns where each placeholder sits in the redacted text: one
    ``PiiSpan(type, start, end, placeholder)`` per replaced region, ``redacted[start:end] ==
    placeholder``. Text cut into chunks after redaction can then be flagged per chunk from
    these offsets instead of searching for placeholder strings (which a document may also
    contain literally)."""
    if not isinstance(text, str):
        validate_detectors(detectors)
        return "", []
    spans = find_pii_spans(text, detectors)
    if not spans:
        return text, []
    pieces: list[str] = []
    placed: list[PiiSpan] = []
    length = 0
    cursor = 0
    index = 0
    while index < len(spans):
        # find_pii_spans orders by start, so the spans overlapping a region are consecutive.
        region_start, region_end = spans[index].start, spans[index].end
        best = spans[index]
        index += 1
        while index < len(spans) and spans[index].start < region_end:
            span = spans[index]
            region_end = max(region_end, span.end)
            if (span.end - span.start, -span.start, -_PRIORITY[span.type]) > (
                    best.end - best.start, -best.start, -_PRIORITY[best.type]):
                best = span
            index += 1
        pieces.append(text[cursor:region_start])
        length += region_start - cursor
        placeholder = PLACEHOLDERS[best.type]
        placed.append(PiiSpan(best.type, length, length + len(placeholder), placeholder))
        pieces.append(placeholder)
        length += len(placeholder)
        cursor = region_end
    pieces.append(text[cursor:])
    return "".join(pieces), placed
