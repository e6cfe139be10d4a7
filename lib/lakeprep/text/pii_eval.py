"""A labeled evaluation set for the PII detectors, and its precision / recall.

Each example is a snippet of real text (sampled from a corpus directory) or, without one, of
neutral sentences embedded below, into which sentences carrying PII values of known type and
position are planted, together with look-alikes that no detector may report (ISBNs, order
numbers, dates, timestamps, versions, Luhn-failing numbers, IBANs with a wrong check digit,
invalid SSNs, private and documentation IPs, UUIDs, hashes, MAC addresses, part numbers).
Everything is drawn from one seeded ``random.Random``, so a seed and a corpus give the same
set on every machine.

Real text already contains PII (the kernel's CREDITS and MAINTAINERS files are full of e-mail
addresses) and things detectors take for PII. Nobody reviews the snippets, so those matches
cannot be labeled true or false: the detectors are run on each snippet *before* planting, and
their matches ("pre-existing") are counted separately and left out of the scores. Dropping
every snippet with a match instead would also drop exactly the real text that fools a
detector, and make the measured precision look better than it is.

Scoring is per type. A detected span is a true positive when a planted value of the same
type has exactly the same start and end ("exact"); a span that only overlaps a planted value
of its type counts in the "overlap" columns, which show how much of the exact-match loss is
boundary disagreement. Every other detected span is a false positive, except a pre-existing
one; a planted value with no exact match is a false negative.
"""

from __future__ import annotations

import ipaddress
import os
import random
import string
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lakeprep.text import pii

__all__ = [
    "Example",
    "Planted",
    "TypeScore",
    "Evaluation",
    "FALLBACK_SENTENCES",
    "LOOKALIKE_KINDS",
    "evaluate",
    "generate_examples",
    "measure_throughput",
    "render_markdown",
    "sample_text",
]

TYPES: tuple[str, ...] = pii.DEFAULT_DETECTORS


@dataclass(frozen=True)
class Planted:
    """A value planted at ``text[start:end]``: a PII type, or a look-alike kind."""

    label: str
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class Example:
    text: str
    source: str                          # corpus file name, or "fallback"
    gold: tuple[Planted, ...]            # planted PII, label = detector type
    lookalikes: tuple[Planted, ...]      # planted look-alikes, label = look-alike kind
    preexisting: tuple[pii.PiiSpan, ...]  # matches in the snippet before planting (shifted)


# --------------------------------------------------------------------------------------
# Snippets
# --------------------------------------------------------------------------------------
# Neutral sentences for machines without the dev corpus (CI): no digits that could combine
# with a planted value, no PII, a mix of lengths and punctuation.
FALLBACK_SENTENCES: tuple[str, ...] = (
    "The river rose slowly through the night and reached the bridge by morning.",
    "Most of the volunteers had never planted a tree before this spring.",
    "She kept a notebook of every bird she saw from the kitchen window.",
    "The committee postponed its decision until the survey results were in.",
    "A light rain made the cobblestones shine under the street lamps.",
    "He argued that the old mill should become a library, not a parking lot.",
    "The recipe calls for a pinch of salt, fresh thyme and a splash of vinegar.",
    "After the storm, the ferry schedule was cut to one crossing a day.",
    "Nobody on the team expected the prototype to survive the drop test.",
    "The museum reopened its east wing with a small exhibition of maps.",
    "Farmers in the valley switched to drip irrigation during the drought.",
    "The choir rehearsed in the gym because the hall roof was leaking.",
    "Our neighbour repairs clocks in a shed behind the house.",
    "The report recommends planting hedges to slow erosion along the fields.",
    "Students measured the shadow of the flagpole at noon every week.",
    "The bakery on the corner sells out of rye bread before nine.",
    "Several readers wrote in to complain about the new font.",
    "Engineers replaced the worn cables on the old suspension bridge.",
    "The hikers turned back when fog settled over the ridge.",
    "A stray cat has adopted the night shift at the fire station.",
    "The council approved a plan to paint murals on the underpass.",
    "Her first novel was rejected by a dozen publishers before it found a home.",
    "The orchard lost half its blossoms to a late frost.",
    "He learned to sail on a borrowed dinghy one windy summer.",
    "The lecture covered the history of canals and the towns they built.",
    "Local musicians played on the square every Friday evening.",
    "The old lighthouse keeper kept meticulous weather logs.",
    "Wind turbines now line the hills above the harbour.",
    "The library extended its hours during the exam period.",
    "Children collected acorns to feed the deer in the park.",
    "The editor trimmed the article to fit on a single page.",
    "Beekeepers reported a strong harvest after the mild winter.",
    "The train slowed as it climbed toward the mountain pass.",
    "A new footpath connects the village to the nature reserve.",
    "The chef insisted on grinding the spices by hand.",
    "Residents gathered to discuss the future of the market hall.",
    "The telescope was donated by a retired astronomy teacher.",
    "Heavy snow closed the school for the rest of the week.",
    "The documentary follows three families through a harvest season.",
    "Critics praised the quiet, patient pace of the film.",
)

_WHITESPACE = frozenset(" \t\n\r\f\v")


class _Snippets:
    """Seeded snippets: windows of corpus files, or runs of fallback sentences."""

    def __init__(self, rng: random.Random, corpus_dir: Path | None) -> None:
        self.rng = rng
        self.files: list[Path] = []
        if corpus_dir is not None:
            self.files = sorted(p for p in corpus_dir.iterdir() if p.suffix == ".txt" and p.is_file())
            if not self.files:
                raise ValueError(f"no .txt files in {corpus_dir}")

    def next(self) -> tuple[str, str]:
        if not self.files:
            count = self.rng.randint(2, 6)
            return " ".join(self.rng.choice(FALLBACK_SENTENCES) for _ in range(count)), "fallback"
        for _ in range(100):
            path = self.rng.choice(self.files)
            text = path.read_text(encoding="utf-8", errors="replace")
            snippet = self._window(text, self.rng.randint(200, 800))
            if snippet.strip():
                return snippet, path.name
        raise ValueError("the corpus yields only empty snippets")

    def _window(self, text: str, size: int) -> str:
        if len(text) <= size:
            return text
        start = self.rng.randrange(len(text) - size)
        end = start + size
        # Widen to whitespace on both sides so no token (or PII value) is cut in half.
        while start > 0 and text[start - 1] not in _WHITESPACE:
            start -= 1
        while end < len(text) and text[end] not in _WHITESPACE:
            end += 1
        return text[start:end]


# --------------------------------------------------------------------------------------
# Planted PII values
# --------------------------------------------------------------------------------------
_FIRST = ("jane", "omar", "li", "sofia", "raj", "anna", "tomas", "keiko", "amara", "lucas",
          "fatima", "noah", "ingrid", "diego", "mei", "olu", "sven", "priya", "hana", "mateo")
_LAST = ("doe", "haddad", "wei", "rossi", "patel", "novak", "berg", "tanaka", "okafor",
         "silva", "khan", "meyer", "lind", "garcia", "chen", "adeyemi", "holm", "iyer")
_DOMAINS = ("example.com", "example.org", "mail.example.net", "corp.example.co.uk",
            "brightfield.io", "northwind-traders.com", "uni-example.de", "post.example.fr",
            "lists.example.edu", "riverside.example.ca")


def _email(rng: random.Random) -> str:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}",
                        f"{first}{rng.randint(1, 99)}", f"{first}.{last}+{rng.choice(['news', 'work'])}",
                        f"{last}-{first}"])
    return f"{local}@{rng.choice(_DOMAINS)}"


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def _phone(rng: random.Random) -> str:
    npa = f"{rng.randint(2, 9)}{_digits(rng, 2)}"
    nxx = f"{rng.randint(2, 9)}{_digits(rng, 2)}"
    line = _digits(rng, 4)
    form = rng.randrange(8)
    if form == 0:
        return f"({npa}) {nxx}-{line}"
    if form == 1:
        return f"{npa}-{nxx}-{line}"
    if form == 2:
        return f"{npa}.{nxx}.{line}"
    if form == 3:
        return f"+1 {npa} {nxx} {line}"
    if form == 4:
        return f"1-{rng.choice(['800', '888', '877'])}-{nxx}-{line}"
    if form == 5:
        return f"+1{npa}{nxx}{line}"
    # ITU-T E.164 outside zone 1: country code, then groups.
    cc = rng.choice(["44", "49", "33", "39", "34", "91", "81", "61", "27", "55"])
    rest = _digits(rng, rng.randint(8, 10))
    if form == 6:
        return f"+{cc}{rest}"
    return f"+{cc} {rest[:2]} {rest[2:6]} {rest[6:]}"


def _luhn_complete(partial: str) -> str:
    """``partial`` + the Luhn check digit (ISO/IEC 7812-1 Annex B)."""
    total = 0
    for position, char in enumerate(reversed(partial)):
        value = int(char)
        if position % 2 == 0:  # doubled: the check digit will be appended to the right
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return partial + str((10 - total % 10) % 10)


# (prefix generator, length) of the networks in the detector's IIN table.
_CARD_SPECS = (
    (lambda r: "4", 16), (lambda r: "4", 13), (lambda r: "4", 19),
    (lambda r: str(r.randint(51, 55)), 16), (lambda r: str(r.randint(2221, 2720)), 16),
    (lambda r: r.choice(["34", "37"]), 15),
    (lambda r: r.choice(["6011", "65", str(r.randint(644, 649))]), 16),
    (lambda r: str(r.randint(3528, 3589)), 16),
    (lambda r: r.choice(["36", str(r.randint(300, 305))]), 14),
    (lambda r: "62", 16),
)


def _card_number(rng: random.Random) -> str:
    prefix_of, length = rng.choice(_CARD_SPECS)
    prefix = prefix_of(rng)
    return _luhn_complete(prefix + _digits(rng, length - len(prefix) - 1))


def _group_card(rng: random.Random, number: str) -> str:
    form = rng.randrange(3)
    if form == 0 or len(number) == 13:
        # 13-digit Visa numbers have no customary grouping: printed unseparated.
        return number
    sep = " " if form == 1 else "-"
    if len(number) == 15:                       # Amex prints 4-6-5
        return sep.join((number[:4], number[4:10], number[10:]))
    if len(number) == 14:                       # Diners prints 4-6-4
        return sep.join((number[:4], number[4:10], number[10:]))
    return sep.join(number[i:i + 4] for i in range(0, len(number), 4))


def _credit_card(rng: random.Random) -> str:
    return _group_card(rng, _card_number(rng))


def _ssn_digits(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        if area == 666:
            continue
        digits = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        if digits not in ("078051120", "219099999"):
            return digits


def _ssn(rng: random.Random) -> tuple[str, str]:
    """(value, form): the bare form is planted only in templates that name it."""
    digits = _ssn_digits(rng)
    form = rng.choices(["hyphen", "space", "bare"], weights=[70, 15, 15])[0]
    if form == "hyphen":
        return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}", form
    if form == "space":
        return f"{digits[:3]} {digits[3:5]} {digits[5:]}", form
    return digits, form


# BBAN structures of a sample of registry countries (SWIFT IBAN Registry), SEPA-heavy.
_IBAN_SAMPLE = {
    "DE": "8n10n", "FR": "5n5n11c2n", "GB": "4a6n8n", "NL": "4a10n", "BE": "3n7n2n",
    "ES": "4n4n1n1n10n", "IT": "1a5n5n12c", "AT": "5n11n", "CH": "5n12c", "PL": "8n16n",
    "SE": "3n16n1n", "NO": "4n6n1n", "DK": "4n9n1n", "FI": "3n11n", "IE": "4a6n8n",
    "PT": "4n4n11n2n", "LU": "3n13c", "MT": "4a5n18c", "CY": "3n5n16c", "GR": "3n4n16c",
    "SA": "2n18c", "AE": "3n16n", "TR": "5n1n16c", "BR": "8n5n10n1a1c", "RO": "4a16c",
}


def _iban_check(country: str, bban: str) -> str:
    # ISO 7064 MOD 97-10: check = 98 - (BBAN + country + "00", letters as 10..35) mod 97.
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{98 - number % 97:02d}"


def _random_bban(rng: random.Random, spec: str) -> str:
    out = []
    number = ""
    for char in spec:
        if char.isdigit():
            number += char
            continue
        pool = {"n": string.digits, "a": string.ascii_uppercase,
                "c": string.digits * 3 + string.ascii_uppercase}[char]
        out.extend(rng.choice(pool) for _ in range(int(number)))
        number = ""
    return "".join(out)


def _iban_compact(rng: random.Random) -> str:
    country = rng.choice(sorted(_IBAN_SAMPLE))
    bban = _random_bban(rng, _IBAN_SAMPLE[country])
    return country + _iban_check(country, bban) + bban


def _paper(compact: str) -> str:
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def _iban(rng: random.Random) -> str:
    compact = _iban_compact(rng)
    return _paper(compact) if rng.random() < 0.6 else compact


_DOCUMENTATION = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20"))


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (address.is_global and not address.is_multicast and not address.is_reserved
            and not any(address in net for net in _DOCUMENTATION))


def _ipv4(rng: random.Random) -> str:
    if rng.random() < 0.1:  # well-known resolvers: small octets
        return rng.choice(["8.8.8.8", "8.8.4.4", "1.1.1.1", "9.9.9.9", "208.67.222.222"])
    while True:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if _public(address):
            return str(address)


def _ipv6(rng: random.Random) -> str:
    while True:
        # Global unicast 2000::/3 with a random interface part; some with zero runs.
        value = (0b001 << 125) | rng.getrandbits(125)
        if rng.random() < 0.5:
            value &= ~((1 << 64) - 1) | rng.getrandbits(16)  # ::xxxx host part
        address = ipaddress.IPv6Address(value)
        if _public(address):
            break
    text = address.compressed if rng.random() < 0.8 else address.exploded
    return text.upper() if rng.random() < 0.1 else text


# Sentences a value is planted in; "{v}" marks the value. Each type mixes contexts that name
# the kind of value with contexts that do not.
_TEMPLATES: dict[str, tuple[str, ...]] = {
    "email": ("Write to {v} if you have questions.", "Contact: {v}",
              "Send the draft to <{v}> before Friday.", "(reply to {v})",
              "My address is {v}.", "cc: {v}, thanks"),
    "phone": ("Call {v} for support.", "Phone: {v}", "You can reach me at {v} after six.",
              "Our office number is {v}.", "(tel. {v})", "Text {v}, not the landline."),
    "credit_card": ("Card number: {v}", "Please charge {v} for the order.",
                    "The payment was made with card {v}.", "Her card, {v}, was declined.",
                    "Use {v} for the deposit."),
    "ssn": ("SSN: {v}", "His Social Security number is {v}.", "Employee SSN {v} was updated.",
            "The form lists {v} as the SSN.", "Applicant ({v}) was approved."),
    "ssn_bare": ("SSN: {v}", "SSN {v}", "Social Security Number: {v}", "her SSN is {v}."),
    "iban": ("IBAN: {v}", "Please transfer the amount to {v}.", "Account {v} was credited.",
             "Refunds go to IBAN {v}, reference invoice.", "Bank details: {v} (SEPA)."),
    "ipv4": ("Requests from {v} were blocked by the firewall.", "The server at {v} stopped responding.",
             "Login from IP {v} at night.", "Connect to {v}:8443 for the admin page.",
             "The visitor at {v} left a comment.", "Traffic came from {v} and nowhere else.",
             "see http://{v}/status"),
    "ipv6": ("Requests from {v} were blocked.", "The host answered on [{v}]:443.",
             "Assigned address: {v}", "The visitor at {v} left a comment.",
             "Ping {v} to check the tunnel."),
}

_PII_GENERATORS = {
    "email": _email, "phone": _phone, "credit_card": _credit_card, "iban": _iban,
    "ipv4": _ipv4, "ipv6": _ipv6,
}


def _pii_sentence(rng: random.Random, kind: str) -> tuple[str, str]:
    """(sentence with "{v}", value) for a PII type."""
    if kind == "ssn":
        value, form = _ssn(rng)
        return rng.choice(_TEMPLATES["ssn_bare" if form == "bare" else "ssn"]), value
    return rng.choice(_TEMPLATES[kind]), _PII_GENERATORS[kind](rng)


# --------------------------------------------------------------------------------------
# Look-alikes: values that must not be reported as any PII type
# --------------------------------------------------------------------------------------
def _isbn10(rng: random.Random) -> str:
    body = _digits(rng, 9)
    check = sum((10 - i) * int(d) for i, d in enumerate(body)) % 11
    check = (11 - check) % 11
    full = body + ("X" if check == 10 else str(check))
    return rng.choice([full, f"{full[0]}-{full[1:4]}-{full[4:9]}-{full[9]}"])


def _isbn13(rng: random.Random) -> str:
    body = rng.choice(["978", "979"]) + _digits(rng, 9)
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body)) % 10) % 10
    full = body + str(check)
    return rng.choice([full, f"{full[:3]}-{full[3]}-{full[4:7]}-{full[7:12]}-{full[12]}"])


def _order_number(rng: random.Random) -> str:
    return rng.choice([f"#{_digits(rng, 9)}", f"ORD-{rng.randint(2015, 2025)}-{_digits(rng, 6)}",
                       f"#{rng.randint(2, 9)}{_digits(rng, 9)}", f"PO-{_digits(rng, 8)}"])


def _date(rng: random.Random) -> str:
    y, m, d = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{m:02d}/{d:02d}/{y}",
                       f"{d:02d}.{m:02d}.{y}", f"{y}.{m:02d}.{d:02d}", f"{y}{m:02d}{d:02d}"])


def _timestamp(rng: random.Random) -> str:
    y, m, d = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
    hh, mm, ss = rng.randrange(24), rng.randrange(60), rng.randrange(60)
    return rng.choice([f"{y}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}Z",
                       f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}.{rng.randrange(1000):03d}",
                       f"{hh:02d}:{mm:02d}:{ss:02d}", str(rng.randint(1_000_000_000, 1_999_999_999)),
                       f"{y}:{m:02d}:{d:02d} {hh:02d}:{mm:02d}:{ss:02d}"])


def _version(rng: random.Random) -> str:
    parts = [rng.randint(1, 20), rng.randint(0, 30), rng.randint(0, 60), rng.randint(0, 250)]
    dotted = ".".join(str(p) for p in parts[: rng.choice([3, 4, 4, 4])])
    return rng.choice([dotted, f"v{dotted}", f"{dotted}-rc{rng.randint(1, 4)}",
                       f"{dotted}.{rng.randint(0, 9)}"])


def _non_luhn_16(rng: random.Random) -> str:
    valid = _card_number(rng)
    wrong = valid[:-1] + str((int(valid[-1]) + rng.randint(1, 9)) % 10)
    return _group_card(rng, wrong)


def _iban_bad_check(rng: random.Random) -> str:
    compact = _iban_compact(rng)
    if rng.random() < 0.5:
        check = int(compact[2:4])
        new = (check + rng.randint(1, 90)) % 97
        compact = compact[:2] + f"{max(new, 2):02d}" + compact[4:]
    else:
        # One digit of the BBAN changed: ISO 7064 MOD 97-10 detects every single substitution.
        positions = [i for i in range(4, len(compact)) if compact[i].isdigit()]
        i = rng.choice(positions)
        compact = compact[:i] + str((int(compact[i]) + rng.randint(1, 9)) % 10) + compact[i + 1:]
    if pii.iban_valid(compact):  # a changed check digit may land on the right one: redraw
        return _iban_bad_check(rng)
    return _paper(compact) if rng.random() < 0.6 else compact


def _non_ssn_9(rng: random.Random) -> str:
    digits = _ssn_digits(rng)
    form = rng.randrange(7)
    if form == 0:
        digits = rng.choice(["000", "666", str(rng.randint(900, 999))]) + digits[3:]
    elif form == 1:
        digits = digits[:3] + "00" + digits[5:]
    elif form == 2:
        digits = digits[:5] + "0000"
    elif form == 3:
        digits = rng.choice(["078051120", "219099999"])
    if form <= 3:
        return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
    if form == 4:
        return digits                              # bare, no keyword
    if form == 5:
        return f"{digits[:3]}-{digits[3:5]} {digits[5:]}"   # mixed separators
    return f"{digits[:5]}-{digits[5:]}"            # ZIP+4 shape


def _private_ip(rng: random.Random) -> str:
    form = rng.randrange(10)
    if form == 0:
        return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"
    if form == 1:
        return f"172.{rng.randint(16, 31)}.{rng.randrange(256)}.{rng.randint(1, 254)}"
    if form == 2:
        return f"192.168.{rng.randrange(256)}.{rng.randint(1, 254)}"
    if form == 3:
        return rng.choice(["127.0.0.1", "0.0.0.0", "255.255.255.255", "169.254.1.1",
                           f"100.{rng.randint(64, 127)}.{rng.randrange(256)}.{rng.randint(1, 254)}"])
    if form == 4:
        return rng.choice(["192.0.2.", "198.51.100.", "203.0.113."]) + str(rng.randint(1, 254))
    if form == 5:
        return f"{rng.randint(224, 239)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
    if form == 6:
        return f"fe80::{rng.getrandbits(16):x}:{rng.getrandbits(16):x}"
    if form == 7:
        return f"fd{rng.getrandbits(8):02x}:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"
    if form == 8:
        return f"2001:db8:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}"
    return rng.choice(["::1", "::", "ff02::1", "::ffff:10.0.0.1"])


def _uuid(rng: random.Random) -> str:
    value = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return value.upper() if rng.random() < 0.2 else value


def _hex_hash(rng: random.Random) -> str:
    return f"{rng.getrandbits(rng.choice([128, 160, 256])):x}"


def _mac_or_time(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return ":".join(f"{rng.getrandbits(8):02x}" for _ in range(6))
    return f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"


def _dotted_number(rng: random.Random) -> str:
    # Longer dotted numbers (SNMP OIDs, section numbers): contain public-looking quads.
    return ".".join(str(rng.randint(1, 250)) for _ in range(rng.randint(5, 7)))


def _part_number(rng: random.Random) -> str:
    npa, nxx, line = f"{rng.randint(2, 9)}{_digits(rng, 2)}", f"{rng.randint(2, 9)}{_digits(rng, 2)}", _digits(rng, 4)
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(2))
    return rng.choice([
        f"{letters}-{npa}-{nxx}-{line}",          # letter prefix
        f"{npa}-{nxx}-{line}-{letters}",          # letter suffix
        f"{npa}.{nxx}.{line}.{rng.randint(1, 9)}",  # a fourth dotted part
        f"{npa}-{nxx}-{line}-{rng.randint(1, 99)}",  # a fourth hyphenated part
        f"{letters}{npa}{nxx}{line}",            # glued to letters
    ])


_LOOKALIKES = {
    "isbn10": (_isbn10, ("The book is listed as ISBN {v}.", "ISBN {v}")),
    "isbn13": (_isbn13, ("The second edition (ISBN {v}) fixed most errors.", "ISBN-13: {v}")),
    "order_number": (_order_number, ("Your order {v} has shipped.", "Please quote {v} in any reply.")),
    "date": (_date, ("The survey closed on {v}.", "Meeting moved to {v}.")),
    "timestamp": (_timestamp, ("The log entry stamped {v} marks the backup.", "Last seen {v}.")),
    "version": (_version, ("After upgrading to version {v}, it worked.", "The bug was fixed in {v}.",
                           "Requires release {v} or later.")),
    "non_luhn_16": (_non_luhn_16, ("Tracking reference {v} was printed on the box.",
                                   "The voucher code {v} expired.")),
    "iban_bad_check": (_iban_bad_check, ("IBAN: {v}", "Transfer to {v} failed validation.")),
    "non_ssn_9": (_non_ssn_9, ("Reference {v} was filed.", "The form shows {v} in box 4.")),
    "private_ip": (_private_ip, ("The router at {v} restarted.", "Bind to {v} for local tests.")),
    "uuid": (_uuid, ("Request id {v} failed.", "Session {v} expired.")),
    "hex_hash": (_hex_hash, ("Commit {v} fixed it.", "The file hash is {v}.")),
    "mac_or_time": (_mac_or_time, ("The adapter {v} was replaced.", "It happened at {v} sharp.")),
    "dotted_number": (_dotted_number, ("See OID {v} in the MIB.", "Listed under {v}.")),
    "part_number": (_part_number, ("Order part {v} from the catalogue.", "Replace filter {v} yearly.")),
}
LOOKALIKE_KINDS: tuple[str, ...] = tuple(_LOOKALIKES)


# --------------------------------------------------------------------------------------
# Examples
# --------------------------------------------------------------------------------------
def _insertion_points(snippet: str, taken: Sequence[pii.PiiSpan]) -> list[int]:
    """Offsets right after whitespace (or 0) that are not inside a pre-existing match."""
    points = [0] + [i + 1 for i, c in enumerate(snippet) if c in _WHITESPACE]
    return [p for p in points if not any(s.start < p < s.end for s in taken)]


def generate_examples(n: int, seed: int = 0, corpus_dir: str | os.PathLike[str] | None = None,
                      ) -> list[Example]:
    """``n`` labeled examples; the same (n, seed, corpus) always gives the same list."""
    rng = random.Random(seed)
    snippets = _Snippets(rng, Path(corpus_dir) if corpus_dir is not None else None)
    examples = []
    for _ in range(n):
        snippet, source = snippets.next()
        preexisting = pii.find_pii_spans(snippet, TYPES)
        plants: list[tuple[str, bool, str, str]] = []   # (label, is_pii, template, value)
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(TYPES)
            template, value = _pii_sentence(rng, kind)
            plants.append((kind, True, template, value))
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(LOOKALIKE_KINDS)
            make, templates = _LOOKALIKES[kind]
            plants.append((kind, False, rng.choice(templates), make(rng)))
        points = _insertion_points(snippet, preexisting)
        placed = sorted((rng.choice(points), i) for i in range(len(plants)))
        examples.append(_assemble(snippet, source, preexisting, plants, placed))
    return examples


def _assemble(snippet: str, source: str, preexisting: Sequence[pii.PiiSpan],
              plants: Sequence[tuple[str, bool, str, str]], placed: Sequence[tuple[int, int]],
              ) -> Example:
    pieces: list[str] = []
    gold: list[Planted] = []
    lookalikes: list[Planted] = []
    length = 0
    cursor = 0
    shifts: list[tuple[int, int]] = []  # (snippet offset, characters inserted before it)
    for point, index in placed:
        pieces.append(snippet[cursor:point])
        length += point - cursor
        cursor = point
        label, is_pii, template, value = plants[index]
        before, after = template.split("{v}")
        # Each planted sentence is followed by a space: the snippet text after it stays a
        # separate token, as the snippet text before it is (insertion points follow whitespace).
        sentence = f"{before}{value}{after} "
        planted = Planted(label, length + len(before), length + len(before) + len(value), value)
        (gold if is_pii else lookalikes).append(planted)
        pieces.append(sentence)
        length += len(sentence)
        shifts.append((point, length - point))
    pieces.append(snippet[cursor:])
    text = "".join(pieces)

    def shift(offset: int) -> int:
        moved = 0
        for point, total in shifts:
            if point <= offset:
                moved = total
        return offset + moved

    shifted = tuple(
        pii.PiiSpan(s.type, shift(s.start), shift(s.start) + (s.end - s.start), s.value)
        for s in preexisting
    )
    return Example(text, source, tuple(gold), tuple(lookalikes), shifted)


# --------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------
@dataclass
class TypeScore:
    gold: int = 0
    predicted: int = 0          # scored predictions (pre-existing ones excluded)
    tp: int = 0                 # exact span and type
    overlap_tp_gold: int = 0    # gold values overlapped by a prediction of their type
    overlap_tp_pred: int = 0    # predictions overlapping a gold value of their type
    preexisting: int = 0        # matches in the unmodified snippets (not scored)

    @property
    def fp(self) -> int:
        return self.predicted - self.tp

    @property
    def fn(self) -> int:
        return self.gold - self.tp

    @staticmethod
    def _ratio(num: int, den: int) -> float | None:
        return num / den if den else None

    @property
    def precision(self) -> float | None:
        return self._ratio(self.tp, self.predicted)

    @property
    def recall(self) -> float | None:
        return self._ratio(self.tp, self.gold)

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    @property
    def overlap_precision(self) -> float | None:
        return self._ratio(self.overlap_tp_pred, self.predicted)

    @property
    def overlap_recall(self) -> float | None:
        return self._ratio(self.overlap_tp_gold, self.gold)


@dataclass
class Evaluation:
    source: str
    n_examples: int
    seed: int
    n_chars: int
    scores: dict[str, TypeScore]
    lookalikes_planted: Counter = field(default_factory=Counter)
    lookalike_hits: Counter = field(default_factory=Counter)  # (kind, detected type) -> count
    context_fps: Counter = field(default_factory=Counter)     # type -> FPs outside planted values
    snippets_with_preexisting: int = 0
    error_samples: list[str] = field(default_factory=list)


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def evaluate(examples: Iterable[Example], source: str = "", seed: int = 0,
             detectors: Sequence[str] = TYPES, max_error_samples: int = 0) -> Evaluation:
    """Score ``detectors`` on ``examples`` (see the module docstring for the rules)."""
    scores = {name: TypeScore() for name in detectors}
    result = Evaluation(source, 0, seed, 0, scores)
    for example in examples:
        result.n_examples += 1
        result.n_chars += len(example.text)
        pre = {(s.type, s.start, s.end) for s in example.preexisting if s.type in scores}
        if pre:
            result.snippets_with_preexisting += 1
        for s in example.preexisting:
            if s.type in scores:
                scores[s.type].preexisting += 1
        gold = [g for g in example.gold if g.label in scores]
        exact = {(g.label, g.start, g.end) for g in gold}
        for g in gold:
            scores[g.label].gold += 1
        predictions = pii.find_pii_spans(example.text, detectors)
        found: set[tuple[str, int, int]] = set()
        for p in predictions:
            key = (p.type, p.start, p.end)
            if key in pre:
                continue
            score = scores[p.type]
            score.predicted += 1
            if key in exact:
                score.tp += 1
                found.add(key)
            if any(g.label == p.type and _overlaps(g.start, g.end, p.start, p.end) for g in gold):
                score.overlap_tp_pred += 1
            if key in exact:
                continue
            hit = [la for la in example.lookalikes if _overlaps(la.start, la.end, p.start, p.end)]
            for la in hit:
                result.lookalike_hits[(la.label, p.type)] += 1
            if not hit and not any(_overlaps(g.start, g.end, p.start, p.end) for g in gold):
                result.context_fps[p.type] += 1
            if len(result.error_samples) < max_error_samples:
                result.error_samples.append(
                    f"FP {p.type} {p.value!r} in ...{example.text[max(0, p.start - 40):p.end + 40]!r}")
        for g in gold:
            if any(p.type == g.label and _overlaps(g.start, g.end, p.start, p.end) for p in predictions):
                scores[g.label].overlap_tp_gold += 1
            if (g.label, g.start, g.end) not in found and len(result.error_samples) < max_error_samples:
                result.error_samples.append(
                    f"FN {g.label} {g.value!r} in ...{example.text[max(0, g.start - 40):g.end + 40]!r}")
        for la in example.lookalikes:
            result.lookalikes_planted[la.label] += 1
    return result


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render_markdown(evaluation: Evaluation) -> str:
    """One Markdown section: per-type scores, look-alike hits, pre-existing matches."""
    e = evaluation
    lines = [
        f"### {e.source}",
        "",
        f"{e.n_examples:,} examples, seed {e.seed}, {e.n_chars:,} characters.",
        "",
        "| type | planted | detected | TP | FP | FN | precision | recall | F1 "
        "| overlap P | overlap R | pre-existing (not scored) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    total = TypeScore()
    for name, s in e.scores.items():
        lines.append(
            f"| `{name}` | {s.gold} | {s.predicted} | {s.tp} | {s.fp} | {s.fn} | {_pct(s.precision)} "
            f"| {_pct(s.recall)} | {_pct(s.f1)} | {_pct(s.overlap_precision)} "
            f"| {_pct(s.overlap_recall)} | {s.preexisting} |")
        for attr in ("gold", "predicted", "tp", "overlap_tp_gold", "overlap_tp_pred", "preexisting"):
            setattr(total, attr, getattr(total, attr) + getattr(s, attr))
    lines.append(
        f"| **all (micro)** | {total.gold} | {total.predicted} | {total.tp} | {total.fp} "
        f"| {total.fn} | {_pct(total.precision)} | {_pct(total.recall)} | {_pct(total.f1)} "
        f"| {_pct(total.overlap_precision)} | {_pct(total.overlap_recall)} | {total.preexisting} |")
    lines += ["", f"Snippets with a pre-existing match: {e.snippets_with_preexisting:,} "
                  f"of {e.n_examples:,}.", ""]
    lines += ["Look-alikes planted, and how many of them some detector reported:", "",
              "| look-alike | planted | reported | as |", "| --- | ---: | ---: | --- |"]
    for kind in LOOKALIKE_KINDS:
        hits = {t: c for (k, t), c in e.lookalike_hits.items() if k == kind}
        as_types = ", ".join(f"`{t}` {c}" for t, c in sorted(hits.items())) or "-"
        lines.append(f"| {kind} | {e.lookalikes_planted[kind]} | {sum(hits.values())} | {as_types} |")
    context = ", ".join(f"`{t}` {c}" for t, c in sorted(e.context_fps.items())) or "none"
    lines += ["", f"False positives outside planted values (snippet text around a planted "
                  f"sentence): {context}.", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Throughput
# --------------------------------------------------------------------------------------
def sample_text(target_bytes: int, seed: int = 0, corpus_dir: str | os.PathLike[str] | None = None,
                ) -> str:
    """About ``target_bytes`` of UTF-8 text: whole corpus files in seeded order, or (without a
    corpus) generated examples."""
    parts: list[str] = []
    size = 0
    if corpus_dir is not None:
        files = sorted(p for p in Path(corpus_dir).iterdir() if p.suffix == ".txt")
        random.Random(seed).shuffle(files)
        source: Iterable[str] = (p.read_text(encoding="utf-8", errors="replace") for p in files)
    else:
        source = (e.text for e in generate_examples(target_bytes // 300 + 1, seed))
    for text in source:
        parts.append(text)
        size += len(text.encode("utf-8"))
        if size >= target_bytes:
            break
    return "\n".join(parts)


def measure_throughput(text: str, detectors: Sequence[str] = TYPES, chunk_chars: int = 2_000,
                       repeats: int = 5) -> float:
    """MB/s (10^6 bytes of UTF-8 per CPU second) of ``pii.find_pii`` over ``text`` cut into
    chunk-sized pieces, as the pipeline calls it once per chunk. The best of ``repeats`` runs,
    in process CPU time, so that other load on the machine does not count."""
    import time

    chunks = [text[i:i + chunk_chars] for i in range(0, len(text), chunk_chars)]
    megabytes = len(text.encode("utf-8")) / 1e6
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for chunk in chunks:
            pii.find_pii(chunk, detectors)
        best = min(best, time.process_time() - started)
    return megabytes / best if best > 0 else float("inf")
