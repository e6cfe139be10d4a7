"""Unit tests for lakeprep.text.pii: positives and, above all, the look-alikes that must not match."""

from __future__ import annotations

import random
import re
import time
from types import MappingProxyType

import pytest

from lakeprep.text import pii
from lakeprep.text.pii import (
    DEFAULT_DETECTORS,
    DETECTORS,
    PLACEHOLDERS,
    PiiSpan,
    find_credit_cards,
    find_emails,
    find_ibans,
    find_ipv4,
    find_ipv6,
    find_phones,
    find_pii,
    find_pii_spans,
    find_ssns,
    iban_valid,
    luhn_valid,
    redact,
    redact_spans,
    ssn_valid,
    validate_detectors,
)


def values(spans: list[PiiSpan]) -> list[str]:
    return [span.value for span in spans]


# --------------------------------------------------------------------------------------
# email
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("write to jane.doe@example.com today", "jane.doe@example.com"),
        ("john.doe+news@mail.example.co.uk", "john.doe+news@mail.example.co.uk"),
        ("first_last-1@sub-domain.example.org", "first_last-1@sub-domain.example.org"),
        ("Mail: Support@Example.IO", "Support@Example.IO"),
        # A sentence-final period is punctuation, not part of the domain.
        ("Contact jane@example.com.", "jane@example.com"),
        ("<jane@example.com>", "jane@example.com"),
        ("mailto:jane@example.com", "jane@example.com"),
    ],
)
def test_email_positive(text: str, expected: str) -> None:
    assert values(find_emails(text)) == [expected]


EMAIL_NEGATIVES = [
    "user@localhost",           # no dot in the domain
    "ping @handle on twitter",  # no local part
    "a@b",
    "image@2x.png",             # retina asset name, .png is not a TLD
    "logo@3x.WEBP",
    "see icon@2x.jpg and report.pdf",
    "user@example.c",           # one-letter TLD
    "user@example.123",         # numeric TLD
    "npm i lodash@4.17.21",     # package pin
    "x@y.com2",                 # TLD glued to a digit
    "john..doe@example.com",    # doubled dot: the local part cannot end at '..'
    ".doe@example.com",         # local part starting with a dot
    "éjane@example.com",        # glued to a (non-ASCII) word
    "jane@example.com-foo",     # domain continues with a hyphenated token
    "a@b@example.com",          # '@' directly before the local part
]


@pytest.mark.parametrize("text", EMAIL_NEGATIVES)
def test_email_negative(text: str) -> None:
    assert find_emails(text) == []


def test_email_spans_point_into_text() -> None:
    text = "a: jane@example.com, b: bob.smith@corp.example.net"
    spans = find_emails(text)
    assert values(spans) == ["jane@example.com", "bob.smith@corp.example.net"]
    for span in spans:
        assert span.type == "email"
        assert text[span.start:span.end] == span.value


# --------------------------------------------------------------------------------------
# phone
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("call (415) 555-0132 now", "(415) 555-0132"),
        ("call (415)555-0132", "(415)555-0132"),
        ("call 415-555-0132.", "415-555-0132"),
        ("call 415.555.0132", "415.555.0132"),
        ("call 415 555 0132", "415 555 0132"),
        ("call +1 415 555 0132", "+1 415 555 0132"),
        ("call +1-415-555-0132", "+1-415-555-0132"),
        ("call +1 (415) 555-0132", "+1 (415) 555-0132"),
        ("toll free 1-800-555-0199", "1-800-555-0199"),
        ("toll free 1 (800) 555-0199", "1 (800) 555-0199"),
        ("call +14155550132", "+14155550132"),
        # ITU-T E.164 outside zone 1
        ("London +44 20 7946 0958", "+44 20 7946 0958"),
        ("London +442079460958", "+442079460958"),
        ("Berlin +49-30-1234567", "+49-30-1234567"),
        ("Paris +33 1 23 45 67 89", "+33 1 23 45 67 89"),
        ("Delhi +91 98765 43210", "+91 98765 43210"),
        ("Beijing +8613800138000", "+8613800138000"),
        ("eight digits +49301234", "+49301234"),
        ("fifteen digits +491234567890123", "+491234567890123"),
    ],
)
def test_phone_positive(text: str, expected: str) -> None:
    assert values(find_phones(text)) == [expected]


PHONE_NEGATIVES = [
    # dates and timestamps
    "on 2024-01-15 we shipped",
    "on 2024.01.15 we shipped",
    "on 15.01.2024 we shipped",
    "at 2024-01-15T12:30:45Z",
    "at 2024-01-15 12:30:45.123",
    "id 20240115123045",
    # versions and IP addresses
    "version 1.2.3.4",
    "Windows 10.0.19041.1",
    "host 192.168.100.200 and 10.255.255.255",
    "build 415.555.0132.7",       # a fourth component makes it a version string
    "v2.415.555.0132",            # '.' before: part of a dotted number
    # ISBNs and order numbers
    "ISBN 978-3-16-148410-0",
    "ISBN 978-415-555-0132",      # '-' before: one hyphenated token
    "order #123456789",
    "order #415-555-0132",
    "order #4155550132",
    # bare 10/11-digit runs are ids, not formatted phone numbers
    "account 4155550132",
    "account 14155550132",
    # digits that belong to a longer run
    "9415-555-0132",
    "415-555-01329",
    "415-555-0132-12",
    # embedded in words, identifiers or paths
    "abc415-555-0132",
    "415-555-0132abc",
    "ref_415-555-0132",
    "https://example.com/415-555-0132",
    # NANP validity: area code and exchange start with 2-9
    "call 115-555-0132",
    "call 015-555-0132",
    "call 415-155-0132",
    "call 415-055-0132",
    "call (115) 555-0132",
    "call +1 123 456 7890",
    "call +11234567890",
    # inconsistent separators
    "call 415-555.0132",
    "call 415 555-0132",
    # E.164: country code never starts with 0; 8-15 digits; single separators
    "dial +0123456789",
    "dial +4412345",
    "dial +4412345678901234",
    "dial +44  20 7946 0958",
    "dial +44 20 7946 0958 12 34",
    "x+442079460958",
    "UTC+05:30 and +0100",
]


@pytest.mark.parametrize("text", PHONE_NEGATIVES)
def test_phone_negative(text: str) -> None:
    assert find_phones(text) == []


def test_phone_nanp_with_country_code_is_one_span_not_two() -> None:
    text = "call +1 415 555 0132 or +14155550132"
    assert values(find_phones(text)) == ["+1 415 555 0132", "+14155550132"]


# --------------------------------------------------------------------------------------
# credit_card
# --------------------------------------------------------------------------------------
VALID_CARDS = {
    "visa-16": "4111111111111111",
    "visa-16b": "4012888888881881",
    "visa-13": "4222222222222",
    "visa-19": "4111111111111111110",
    "mastercard-55": "5555555555554444",
    "mastercard-51": "5105105105105100",
    "mastercard-2221": "2221000000000009",
    "mastercard-2223": "2223003122003222",
    "mastercard-2720": "2720999999999996",
    "amex-37": "378282246310005",
    "amex-34": "343434343434343",
    "discover-6011": "6011111111111117",
    "discover-65": "6500000000000002",
    "discover-644": "6445644564456445",
    "jcb-3530": "3530111333300000",
    "jcb-3589": "3589000000000003",
    "diners-305": "30569309025904",
    "diners-300": "30000000000004",
    "diners-36": "36227206271667",
    "diners-38": "38520000023237",
    "unionpay-16": "6200000000000005",
    "unionpay-19": "6212345678901234569",
}


@pytest.mark.parametrize("number", VALID_CARDS.values(), ids=VALID_CARDS.keys())
def test_credit_card_positive_each_issuer(number: str) -> None:
    text = f"paid with {number} yesterday"
    assert values(find_credit_cards(text)) == [number]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("card 4111 1111 1111 1111.", "4111 1111 1111 1111"),
        ("card 4111-1111-1111-1111,", "4111-1111-1111-1111"),
        ("amex 3782 822463 10005", "3782 822463 10005"),
        ("diners 3056 930902 5904", "3056 930902 5904"),
        ("unionpay 6212 3456 7890 1234 569", "6212 3456 7890 1234 569"),
        # Prose after a space-grouped number: the trailing group is not part of the card.
        ("card 4111 1111 1111 1111 12/25", "4111 1111 1111 1111"),
        ("card 4111 1111 1111 1111 2024 expiry", "4111 1111 1111 1111"),
        # A stray group before a card does not hide it.
        ("ref 1234 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ],
)
def test_credit_card_positive_grouped(text: str, expected: str) -> None:
    assert values(find_credit_cards(text)) == [expected]


CARD_NEGATIVES = [
    # Luhn failures
    "4111111111111112",
    "5555555555554445",
    "4111 1111 1111 1112",
    # Luhn-valid, but no issuer uses the prefix
    "1234567812345670",
    "9999999999999995",
    "7000000000000005",
    "0000000000000000",
    # Luhn-valid, just outside an issuer range
    "2220000000000000",
    "2721000000000004",
    "5600000000000003",
    "6012000000000003",
    "6430000000000007",
    "3527000000000008",
    "3590000000000000",
    "30600000000001",
    # Luhn-valid, known prefix, wrong length for the issuer
    "3782822463100003",   # Amex is 15 digits
    "3434343434343434",
    "411111111111116",    # Visa is 13, 16 or 19
    "3600000000004",      # Diners 36 is 14-19
    "601100000000001",    # Discover is 16-19
    "35300000000003",     # JCB is 16-19
    "51051051051051",     # Mastercard is 16
    # part of a longer digit run
    "94111111111111111",
    "41111111111111111107",
    "x4111111111111111",
    "4111111111111111x",
    "1.4111111111111111",
    "4111111111111111.5",
    "+4111111111111111",
    "4111111111111111-1",
    "4111-1111-1111-1111-1111",
    "9999-4111-1111-1111-1111",   # a valid card inside a longer hyphenated token
    # ISBN-13 (Luhn-valid example), grouped or not; timestamps (Luhn-valid example)
    "ISBN 9781402810077",
    "ISBN 978-1-4028-1007-7",
    "ts 20240115123000",
    # inconsistent or doubled separators
    "4111 1111-1111 1111",
    "4111  1111 1111 1111",
]


@pytest.mark.parametrize("text", CARD_NEGATIVES)
def test_credit_card_negative(text: str) -> None:
    assert find_credit_cards(text) == []


def test_credit_card_negatives_are_luhn_valid_where_claimed() -> None:
    # Guards the negative cases above: they must fail for the reason the comment gives.
    for number in ("1234567812345670", "9999999999999995", "7000000000000005", "2220000000000000",
                   "2721000000000004", "5600000000000003", "6012000000000003", "6430000000000007",
                   "3527000000000008", "3590000000000000", "30600000000001", "3782822463100003",
                   "411111111111116", "3434343434343434", "3600000000004", "601100000000001", "35300000000003",
                   "51051051051051", "9781402810077", "20240115123000", "4111111111111111110"):
        assert luhn_valid(number), number


# --------------------------------------------------------------------------------------
# luhn_valid
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("digits", ["4111111111111111", "378282246310005", "79927398713", "00", "18"])
def test_luhn_valid_true(digits: str) -> None:
    assert luhn_valid(digits) is True


@pytest.mark.parametrize(
    "digits",
    ["4111111111111112", "79927398710", "19", "", "0", "4111 1111 1111 1111", "4111-1111",
     # Non-ASCII digits; the second one passes a naive ord()-based Luhn sum.
     "٤١١١١١١١١١١١١١١١", "٠٠٠٤", "41111111111111a1", None, 4111111111111111],
)
def test_luhn_valid_false(digits: object) -> None:
    assert luhn_valid(digits) is False  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# Negative cases with a control value
# --------------------------------------------------------------------------------------
# A negative case alone also passes when a detector finds nothing at all (removed, broken
# pattern). Each look-alike is therefore also checked next to a real value of the type:
# exactly that value must come back.
CONTROLS = {
    "email": (find_emails, "ctrl.person@example.org", EMAIL_NEGATIVES),
    "phone": (find_phones, "(212) 555-0187", PHONE_NEGATIVES),
    "credit_card": (find_credit_cards, "5555555555554444", CARD_NEGATIVES),
}


@pytest.mark.parametrize(
    "detector, control, negative",
    [(fn, control, neg) for fn, control, negatives in CONTROLS.values() for neg in negatives],
)
def test_existing_negatives_keep_a_control_value(detector, control: str, negative: str) -> None:
    assert values(detector(f"{control} ; {negative}")) == [control]


# --------------------------------------------------------------------------------------
# ssn
# --------------------------------------------------------------------------------------
SSN_CONTROL = "536-22-1234"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SSN 536-22-1234 on file", "536-22-1234"),
        ("ssn: 536 22 1234", "536 22 1234"),
        ("(536-22-1234)", "536-22-1234"),
        ("ends with 536-22-1234.", "536-22-1234"),
        ("SSN:536-22-1234", "536-22-1234"),
        # Validity edges: areas 001, 665, 667 and 899 are issuable; group 01, serial 0001.
        ("id 001-01-0001", "001-01-0001"),
        ("id 665-12-3456", "665-12-3456"),
        ("id 667-12-3456", "667-12-3456"),
        ("id 899-99-9999", "899-99-9999"),
        # Bare 9 digits: only right after a keyword.
        ("SSN 536221234", "536221234"),
        ("SSN: 536221234", "536221234"),
        ("her SSN is 536221234", "536221234"),
        ("Social Security Number: 536221234", "536221234"),
        ("social security no. 536221234", "536221234"),
        ("Soc. Sec. No. 536221234", "536221234"),
        ("SSN# 536221234", "536221234"),
    ],
)
def test_ssn_positive(text: str, expected: str) -> None:
    assert values(find_ssns(text)) == [expected]


SSN_NEGATIVES = [
    # never issued: area 000, 666, 900-999; group 00; serial 0000
    "000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "987-65-4321",
    "536-00-1234", "536-22-0000",
    # voided after being printed in advertising
    "078-05-1120", "219-09-9999", "SSN 078051120",
    # bare 9-digit runs without a keyword: order numbers, ZIP+4 without hyphen, routing numbers
    "order 536221234", "zip 536221234", "routing 021000021",
    "SSN list: see appendix; id 536221234",   # keyword too far from the number
    "SSN 666221234",                           # keyword, but an invalid area
    # inconsistent separators
    "536-22 1234", "536 22-1234", "536--22-1234",
    # part of a longer token
    "1536-22-1234", "536-22-12345", "536-22-1234-5", "536-22-1234.5", "x536-22-1234",
    "536-22-1234x", "#536-22-1234", "/536-22-1234", "+536-22-1234", "5362212345",
    "SSN 5362212345",
    # rows of number tables
    "12 536 22 1234", "536 22 1234 5",
    # part, order, account numbers in the same shape
    "part no. 536-22-1234", "P/N 536-22-1234", "order #: 536-22-1234", "Account 536-22-1234",
    "SKU 536-22-1234", "case 536-22-1234",
    # other shapes: phone (3-3-4), ZIP+4 (5-4), dates
    "415-555-0132", "94105-1234", "2024-01-15",
]


@pytest.mark.parametrize("negative", SSN_NEGATIVES)
def test_ssn_negative(negative: str) -> None:
    assert values(find_ssns(f"{SSN_CONTROL} ; {negative}")) == [SSN_CONTROL]


@pytest.mark.parametrize(
    "digits, valid",
    [("536221234", True), ("001010001", True), ("000221234", False), ("666221234", False),
     ("900221234", False), ("536001234", False), ("536220000", False), ("078051120", False),
     ("219099999", False), ("53622123", False), ("5362212345", False), ("536-22-1234", False),
     ("٥٣٦٢٢١٢٣٤", False), (None, False), (536221234, False)],
)
def test_ssn_valid(digits: object, valid: bool) -> None:
    assert ssn_valid(digits) is valid  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# iban
# --------------------------------------------------------------------------------------
def with_check_digits(country: str, bban: str) -> str:
    """An IBAN with correct ISO 7064 MOD 97-10 check digits (computed independently here)."""
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


def paper(iban: str) -> str:
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


# Examples published in the SWIFT IBAN Registry, one per structure family.
REGISTRY_EXAMPLES = [
    "DE89 3704 0044 0532 0130 00",
    "GB82 WEST 1234 5698 7654 32",
    "FR14 2004 1010 0505 0001 3M02 606",
    "NL91 ABNA 0417 1643 00",
    "BE68 5390 0754 7034",
    "CH93 0076 2011 6238 5295 7",
    "IT60 X054 2811 1010 0000 0123 456",
    "ES91 2100 0418 4502 0005 1332",
    "AT61 1904 3002 3457 3201",
    "NO93 8601 1117 947",                        # shortest (15)
    "PL61 1090 1014 0000 0712 1981 2874",
    "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
    "LC55 HEMM 0001 0001 0012 0012 0002 3015",
    "BR18 0036 0305 0000 1000 9795 493C 1",
    "RU02 0445 2560 0407 0281 0412 3456 7890 1",  # longest registered (33)
]
IBAN_CONTROL = "DE89 3704 0044 0532 0130 00"


@pytest.mark.parametrize("iban", REGISTRY_EXAMPLES)
def test_iban_positive_paper_and_electronic(iban: str) -> None:
    assert values(find_ibans(f"IBAN: {iban}.")) == [iban]
    compact = iban.replace(" ", "")
    assert values(find_ibans(f"pay to {compact}, thanks")) == [compact]
    assert iban_valid(compact)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("(DE89370400440532013000)", "DE89370400440532013000"),
        ("IBAN:DE89370400440532013000", "DE89370400440532013000"),
        # A full last group followed by an unrelated number: the IBAN is cut at its length.
        ("BE68 5390 0754 7034 2024", "BE68 5390 0754 7034"),
        ("BE68 5390 0754 7034 12", "BE68 5390 0754 7034"),
        # A short last group ends the IBAN; a following group is not swallowed.
        ("DE89 3704 0044 0532 0130 00 1234", "DE89 3704 0044 0532 0130 00"),
        (paper(with_check_digits("GR", "0110125" + "0000000012300695")), None),
    ],
)
def test_iban_positive_boundaries(text: str, expected: str | None) -> None:
    assert values(find_ibans(text)) == [expected or text]


def test_iban_every_registered_country_is_found() -> None:
    # One structurally valid BBAN per country (digits for n and c, letters for a): the length
    # table and the structure table agree, and the detector finds both printed formats.
    fill = {"n": "1", "a": "B", "c": "7"}
    for country, spec in pii._IBAN_BBAN_FORMATS.items():
        bban = "".join(fill[kind] * int(count) for count, kind in re.findall(r"(\d+)([nac])", spec))
        iban = with_check_digits(country, bban)
        assert values(find_ibans(f"x {iban} y")) == [iban], country
        assert values(find_ibans(f"x {paper(iban)} y")) == [paper(iban)], country


def _iban_with_check(check: str) -> str:
    # A German IBAN whose check digits are `check` and that still passes mod 97 (possible only
    # for 00, 01 and 99, the aliases of 97, 98 and 02): rejected by the 02-98 range alone.
    alias = {"00": 97, "01": 98, "99": 2}[check]
    for account in range(10**9, 10**9 + 100_000):
        iban = with_check_digits("DE", f"37040044{account}")
        if int(iban[2:4]) == alias:
            return "DE" + check + iban[4:]
    raise AssertionError("no account found")


IBAN_NEGATIVES = [
    "DE88 3704 0044 0532 0130 00",      # wrong check digits
    "DE89 3704 0044 0532 0130 01",      # one digit changed
    "DE89 3704 0044 0532 1030 00",      # two digits swapped
    "DE89370400440532013001",
    "DE89 3704 0044 0532 0130 0",       # too short for DE
    "DE89 3704 0044 0532 0130 000",     # too long for DE
    paper(with_check_digits("XX", "370400440532013000")),   # unregistered country
    paper(with_check_digits("US", "370400440532013000")),
    # Valid mod 97, wrong structure: a letter where DE has digits, digits where NL has letters.
    paper(with_check_digits("DE", "3704004405320130A0")),
    paper(with_check_digits("NL", "1234" + "0417164300")),
    _iban_with_check("00"), _iban_with_check("01"), _iban_with_check("99"),
    "de89 3704 0044 0532 0130 00",      # lower case
    "De89370400440532013000",
    "DE89 370400440532013000",          # not grouped by four
    "DE89  3704 0044 0532 0130 00",     # doubled space
    "DE89-3704-0044-0532-0130-00",      # hyphens
    "XDE89370400440532013000",          # glued to a word
    "DE89370400440532013000X",
    "DE89370400440532013000-1",
    "https://example.com/DE89370400440532013000",
    "PGP 2048G/EA3C4B19 FF31 33A6 0362 4915 B7EB",   # key fingerprint groups
]


@pytest.mark.parametrize("negative", IBAN_NEGATIVES)
def test_iban_negative(negative: str) -> None:
    assert values(find_ibans(f"{IBAN_CONTROL} ; {negative}")) == [IBAN_CONTROL]


def test_iban_negative_check_digit_cases_pass_mod_97() -> None:
    # Guards the cases above: they fail only because of the check-digit range.
    for check in ("00", "01", "99"):
        iban = _iban_with_check(check)
        rearranged = iban[4:] + iban[:4]
        assert int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1
        assert not iban_valid(iban)


@pytest.mark.parametrize("odd", [None, 42, "", "DE", "DE89", "DE89 3704 0044 0532 0130 00",
                                 "DÉ89370400440532013000"])
def test_iban_valid_false(odd: object) -> None:
    assert iban_valid(odd) is False  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# ipv4
# --------------------------------------------------------------------------------------
IPV4_CONTROL = "151.101.1.69"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("requests from 93.184.216.34 were slow", "93.184.216.34"),
        ("see http://151.101.1.69/path", "151.101.1.69"),
        ("login root@151.101.1.69", "151.101.1.69"),
        ("connect to 151.101.1.69:443", "151.101.1.69"),
        ("(151.101.1.69)", "151.101.1.69"),
        ("it was 151.101.1.69.", "151.101.1.69"),
        ("net 151.101.0.0/16", "151.101.0.0"),
        ("mapped ::ffff:151.101.1.69", "151.101.1.69"),
        # Small octets need a network word nearby or a port / prefix after.
        ("public dns server 8.8.8.8", "8.8.8.8"),
        ("ping -c 1 1.1.1.1", "1.1.1.1"),
        ("8.8.8.8 ping statistics", "8.8.8.8"),
        ("resolver at 9.9.9.9:53", "9.9.9.9"),
        ("route 11.0.0.0/30 dev sw1p1", "11.0.0.0"),
        ("IPADDR=12.34.56.78", "12.34.56.78"),
        ("mount //9.53.21.11/share", "9.53.21.11"),
        # Multicast-free, global: 192.88.99.1 (6to4 relay anycast) stays public.
        ("relay 192.88.99.1", "192.88.99.1"),
    ],
)
def test_ipv4_positive(text: str, expected: str) -> None:
    assert values(find_ipv4(text)) == [expected]


IPV4_NEGATIVES = [
    # private, loopback, link-local, shared (CGNAT), unspecified, benchmarking
    "10.1.2.3", "172.16.5.4", "172.31.255.254", "192.168.1.1", "127.0.0.1", "169.254.10.20",
    "100.64.1.1", "0.0.0.0", "198.18.0.1",
    # multicast, reserved, broadcast
    "224.0.0.251", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    # documentation ranges (RFC 5737)
    "192.0.2.10", "198.51.100.7", "203.0.113.99",
    # not addresses: octet above 255, leading zeros
    "256.101.1.69", "151.101.1.256", "151.101.001.069", "08.08.08.08",
    # parts of longer dotted numbers, hyphenated or glued tokens
    "151.101.1.69.5", "5.151.101.1.69", "libfoo-151.101.1.69", "151.101.1.69-rc1",
    "v151.101.1.69", "151.101.1.69a", "+151.101.1.69", "1.151.101.1.69.2",
    # versions, sections, OIDs right after a keyword
    "version 151.101.1.69", "Version: 4.150.12.200", "release 151.101.1.69", "v 4.150.12.200",
    "firmware 4.150.12.200", "section 151.101.1.69", "OID 1.3.6.1", "rv:1.8.1.1",
    "Firefox/2.0.0.1", "novas==3.1.1.3",
    # small-octet quads without any network evidence: versions and section numbers
    "version 1.2.3.4", "util-linux 2.13.1.1 can", "Current: 2.20.4.1 (scsi module)",
    "36.2.1.2. Extract command", "panic on 2.6.8.1 with", "xlC.C 3.1.4.10 or 4.3.3.75",
    # timestamps and dates
    "12:30:45.123", "2024.01.15",
]


@pytest.mark.parametrize("negative", IPV4_NEGATIVES)
def test_ipv4_negative(negative: str) -> None:
    # The control comes first and has a large octet: it lends no network word to the case.
    assert values(find_ipv4(f"{IPV4_CONTROL} ; {negative}")) == [IPV4_CONTROL]


# --------------------------------------------------------------------------------------
# ipv6
# --------------------------------------------------------------------------------------
IPV6_CONTROL = "2606:4700:4700::1111"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("dns 2001:4860:4860::8888 today", "2001:4860:4860::8888"),
        ("full 2001:4860:4860:0000:0000:0000:0000:8888", "2001:4860:4860:0000:0000:0000:0000:8888"),
        ("upper 2A00:1450:4001:81C::200E", "2A00:1450:4001:81C::200E"),
        ("url http://[2a00:1450:4001:81c::200e]:443/", "2a00:1450:4001:81c::200e"),
        ("prefix 2a00:1450:4001:81c::/64", "2a00:1450:4001:81c::"),
        ("network 2002::/16", "2002::"),
        ("resolver 2001:4860:4860::8888: up", "2001:4860:4860::8888"),
        ("it was 2606:4700:4700::1111.", "2606:4700:4700::1111"),
        ("tail 2a00:1450:4001:81c::151.101.1.69", "2a00:1450:4001:81c::151.101.1.69"),
        ("zone 2a00:1450::1%eth0", "2a00:1450::1"),
    ],
)
def test_ipv6_positive(text: str, expected: str) -> None:
    assert values(find_ipv6(text)) == [expected]


IPV6_NEGATIVES = [
    # documentation (RFC 3849, RFC 9637), Teredo / IETF protocol block, ULA, link-local,
    # multicast, loopback, unspecified, IPv4-mapped, NAT64
    "2001:db8::1", "2001:0db8:85a3::8a2e:370:7334", "3fff::1", "2001::1", "2001:0:4136::1",
    "fc00::1", "fd12:3456:789a::1", "fe80::1", "ff02::1", "::1", "::", "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    # not addresses
    "2001:4860:4860::8888::1", "2001:4860:4860:::8888", "2001:4860:4860::88888",
    "2001:4860:4860:1:2:3:4:5:6", "2001:4860",
    # glued to a word or longer token
    "x2001:4860:4860::8888", "2001:4860:4860::8888g", "a:2001:4860:4860::8888",
    "2001:4860:4860::8888.5",
    # times, dates, MAC addresses, C++ scopes, years before a reST "::"
    "12:30:45", "2024:01:15 12:30:45", "00:1a:2b:3c:4d:5e", "std::vector", "Foo::Bar::baz",
    "4 Jan 2004::", "dead:beef::1",
]


@pytest.mark.parametrize("negative", IPV6_NEGATIVES)
def test_ipv6_negative(negative: str) -> None:
    assert values(find_ipv6(f"{IPV6_CONTROL} ; {negative}")) == [IPV6_CONTROL]


# --------------------------------------------------------------------------------------
# the shared scan of ssn, iban, ipv4 and ipv6
# --------------------------------------------------------------------------------------
def test_numeric_types_found_together_and_alone() -> None:
    text = (f"SSN {SSN_CONTROL}, IBAN {IBAN_CONTROL}, host {IPV4_CONTROL}, "
            f"v6 {IPV6_CONTROL}.")
    spans = find_pii_spans(text, ("ssn", "iban", "ipv4", "ipv6"))
    assert [(s.type, s.value) for s in spans] == [
        ("ssn", SSN_CONTROL), ("iban", IBAN_CONTROL), ("ipv4", IPV4_CONTROL), ("ipv6", IPV6_CONTROL)]
    for name, finder in [("ssn", find_ssns), ("iban", find_ibans), ("ipv4", find_ipv4),
                         ("ipv6", find_ipv6)]:
        assert [s.type for s in finder(text)] == [name]
        assert find_pii(text, (name,)) == {name: 1}


def test_rejected_candidate_does_not_hide_a_later_one() -> None:
    # The IPv6 candidate is a documentation address; the IPv4 tail inside it is public.
    assert values(find_ipv4("2001:db8::151.101.1.69")) == ["151.101.1.69"]
    # A bare 9-digit run without keyword is consumed and rejected; the SSN after it is found.
    assert values(find_ssns("123456789 536-22-1234")) == ["536-22-1234"]


# --------------------------------------------------------------------------------------
# overlaps between types
# --------------------------------------------------------------------------------------
# A German IBAN whose bank code and account digits print as the Visa test card in groups.
IBAN_WITH_CARD = paper(with_check_digits("DE", "41111111" + "1111111100"))


def test_span_inside_another_type_is_dropped() -> None:
    assert IBAN_WITH_CARD[5:24] == "4111 1111 1111 1111"
    text = f"Pay {IBAN_WITH_CARD} today"
    assert values(find_credit_cards(text)) == ["4111 1111 1111 1111"]  # alone, the card matches
    assert [(s.type, s.value) for s in find_pii_spans(text)] == [("iban", IBAN_WITH_CARD)]
    assert find_pii(text) == {"iban": 1}
    # Without the IBAN detector the card is reported.
    assert find_pii(text, ("email", "phone", "credit_card")) == {"credit_card": 1}
    # A public IPv4 tail of a public IPv6 address is part of the IPv6 address.
    assert find_pii("at 2a00:1450:4001:81c::151.101.1.69 now") == {"ipv6": 1}


# --------------------------------------------------------------------------------------
# redact
# --------------------------------------------------------------------------------------
def test_redact_replaces_every_type_with_its_placeholder() -> None:
    text = (f"Mail jane@example.com or call (415) 555-0132; card 4111 1111 1111 1111, "
            f"SSN {SSN_CONTROL}, IBAN {IBAN_CONTROL}, from {IPV4_CONTROL} and {IPV6_CONTROL}.")
    redacted, counts = redact(text)
    assert redacted == ("Mail [EMAIL] or call [PHONE]; card [CREDIT_CARD], SSN [SSN], "
                        "IBAN [IBAN], from [IP_ADDRESS] and [IP_ADDRESS].")
    assert counts == {"email": 1, "phone": 1, "credit_card": 1, "ssn": 1, "iban": 1,
                      "ipv4": 1, "ipv6": 1}
    assert counts == find_pii(text)
    assert set(PLACEHOLDERS) == set(DETECTORS)


def test_redact_respects_detector_selection_and_leaves_clean_text_alone() -> None:
    text = "jane@example.com 415-555-0132"
    assert redact(text, ("phone",)) == ("jane@example.com [PHONE]", {"phone": 1})
    assert redact(text, ()) == (text, {})
    clean = "Version 1.2.3.4 shipped on 2024-01-15 with ISBN 978-3-16-148410-0."
    assert redact(clean) == (clean, {})
    with pytest.raises(ValueError):
        redact(text, ("passport",))


def test_redact_spans_locate_each_placeholder() -> None:
    text = f"[EMAIL] literal; mail jane@example.com, card 4111 1111 1111 1111 and {IPV6_CONTROL}"
    redacted, placed = redact_spans(text)
    assert redacted == "[EMAIL] literal; mail [EMAIL], card [CREDIT_CARD] and [IP_ADDRESS]"
    assert [(s.type, s.value) for s in placed] == [
        ("email", "[EMAIL]"), ("credit_card", "[CREDIT_CARD]"), ("ipv6", "[IP_ADDRESS]")]
    for span in placed:
        assert redacted[span.start:span.end] == span.value
    assert placed[0].start == redacted.index("[EMAIL]", 1)  # not the literal one
    assert redact_spans("no pii here") == ("no pii here", [])
    assert redact_spans(None) == ("", [])  # type: ignore[arg-type]


def test_redact_span_inside_another_becomes_one_placeholder() -> None:
    assert redact(f"Pay {IBAN_WITH_CARD} today") == ("Pay [IBAN] today", {"iban": 1})


def _fake(spans_by_type: dict[str, list[tuple[int, int]]]):
    def make(kind: str):
        return lambda text: [PiiSpan(kind, a, b, text[a:b]) for a, b in spans_by_type.get(kind, [])]
    return MappingProxyType({name: make(name) for name in ("email", "phone", "credit_card")})


@pytest.mark.parametrize(
    "spans, expected, counts",
    [
        # Partial overlap: one region, the longer span's type.
        ({"email": [(0, 6)], "phone": [(4, 14)]}, "[PHONE]xxxxxx", {"phone": 1}),
        # Same length: the earlier span's type.
        ({"email": [(0, 6)], "phone": [(3, 9)]}, "[EMAIL]" + "x" * 11, {"email": 1}),
        # Same extent: registry order (email before phone before credit_card).
        ({"credit_card": [(2, 8)], "phone": [(2, 8)]}, "xx[PHONE]" + "x" * 12, {"phone": 1}),
        # A chain of overlaps is one region.
        ({"email": [(0, 4)], "phone": [(3, 12)], "credit_card": [(10, 15)]},
         "[PHONE]xxxxx", {"phone": 1}),
        # Touching spans stay separate.
        ({"email": [(0, 4)], "phone": [(4, 8)]}, "[EMAIL][PHONE]" + "x" * 12, {"email": 1, "phone": 1}),
    ],
    ids=["partial-overlap", "tie-earliest", "tie-registry", "chain", "touching"],
)
def test_redact_merges_overlaps_deterministically(monkeypatch, spans, expected, counts) -> None:
    monkeypatch.setattr(pii, "DETECTORS", _fake(spans))
    assert redact("x" * 20, ("email", "phone", "credit_card")) == (expected, counts)


@pytest.mark.parametrize("odd", [None, float("nan"), 42, b"jane@example.com"])
def test_redact_odd_input(odd: object) -> None:
    assert redact(odd) == ("", {})  # type: ignore[arg-type]
    assert redact("") == ("", {})


# --------------------------------------------------------------------------------------
# registry, API and robustness
# --------------------------------------------------------------------------------------
def test_registry_names() -> None:
    names = ("email", "phone", "credit_card", "ssn", "iban", "ipv4", "ipv6")
    assert tuple(DETECTORS) == names
    assert DEFAULT_DETECTORS == names
    with pytest.raises(TypeError):
        DETECTORS["passport"] = find_emails  # type: ignore[index]
    with pytest.raises(TypeError):
        PLACEHOLDERS["email"] = "[X]"  # type: ignore[index]


SAMPLES = {
    "email": "jane@example.com",
    "phone": "(415) 555-0132",
    "credit_card": "4111 1111 1111 1111",
    "ssn": SSN_CONTROL,
    "iban": IBAN_CONTROL,
    "ipv4": IPV4_CONTROL,
    "ipv6": IPV6_CONTROL,
}


@pytest.mark.parametrize("name", SAMPLES)
def test_each_registered_detector_finds_its_sample_and_only_it(name: str) -> None:
    text = " ; ".join(SAMPLES.values())
    assert find_pii(text, (name,)) == {name: 1}
    assert [span.value for span in DETECTORS[name](text)] == [SAMPLES[name]]


def test_unknown_detector_raises_with_known_list() -> None:
    with pytest.raises(ValueError) as excinfo:
        find_pii("jane@example.com", ("email", "passport"))
    message = str(excinfo.value)
    assert "passport" in message
    for name in DETECTORS:
        assert name in message
    with pytest.raises(ValueError):
        validate_detectors(["ip"])


def test_validate_detectors_dedups_and_accepts_a_single_name() -> None:
    assert validate_detectors(["phone", "email", "phone"]) == ("phone", "email")
    assert validate_detectors("email") == ("email",)
    assert find_pii("jane@example.com jane@example.com", ["email", "email"]) == {"email": 2}


def test_detector_selection_limits_types() -> None:
    text = "jane@example.com 415-555-0132 4111111111111111"
    assert find_pii(text, ("phone",)) == {"phone": 1}
    assert find_pii(text, ()) == {}
    assert find_pii(text) == {"email": 1, "phone": 1, "credit_card": 1}
    assert find_pii(f"{text} {IPV4_CONTROL}", ("ipv4", "email")) == {"email": 1, "ipv4": 1}


@pytest.mark.parametrize("odd", [None, float("nan"), 42, b"jane@example.com", "", "   \n"])
def test_odd_input_never_raises(odd: object) -> None:
    assert find_pii(odd) == {}  # type: ignore[arg-type]
    assert find_pii_spans(odd) == []  # type: ignore[arg-type]
    for detector in DETECTORS.values():
        assert detector(odd) == []  # type: ignore[arg-type]


def test_lone_surrogates_and_controls_do_not_break_matching() -> None:
    text = "\ud800 jane@example.com \x00 415-555-0132 \udfff"
    assert find_pii(text) == {"email": 1, "phone": 1}


def test_mixed_paragraph_counts() -> None:
    text = (
        "Hi team, on 2024-01-15 (build 10.0.19041.1, host 192.168.1.20) Jane Doe "
        "(jane.doe@example.com, cc: ops+alerts@mail.example.co.uk) called from (415) 555-0132; "
        "her London line is +44 20 7946 0958 and the hotline is 1-800-555-0199. "
        "Refund order #123456789 to card 4111 1111 1111 1111, not 4111 1111 1111 1112. "
        "See image@2x.png and ISBN 978-3-16-148410-0; ts 20240115123045."
    )
    assert find_pii(text) == {"email": 2, "phone": 3, "credit_card": 1}
    spans = find_pii_spans(text)
    assert [(span.type, span.value) for span in spans] == [
        ("email", "jane.doe@example.com"),
        ("email", "ops+alerts@mail.example.co.uk"),
        ("phone", "(415) 555-0132"),
        ("phone", "+44 20 7946 0958"),
        ("phone", "1-800-555-0199"),
        ("credit_card", "4111 1111 1111 1111"),
    ]
    for span in spans:
        assert text[span.start:span.end] == span.value
    assert [span.start for span in spans] == sorted(span.start for span in spans)


def test_spans_are_ordered_by_position_across_detectors() -> None:
    text = "card 4111111111111111, call 415-555-0132 or mail jane@example.com"
    assert [span.type for span in find_pii_spans(text)] == ["credit_card", "phone", "email"]


def test_no_pii_returns_empty_dict_without_zero_counts() -> None:
    counts = find_pii("A plain sentence with 3 numbers: 12, 2024 and 3.14.")
    assert counts == {}


@pytest.mark.parametrize(
    "text",
    [
        "a" * 20_000 + "@",
        "a." * 10_000 + "@",
        "x@" + "a." * 10_000 + "!",
        "x@" + "a-" * 10_000,
        "1" * 20_000,
        "1 " * 10_000,
        "1111 " * 4_000,
        "1-" * 10_000,
        "+2 " + "1 " * 10_000,
        "(415) " * 3_000,
        "1." * 10_000,
        "1.1.1." * 4_000,
        "2001:" * 4_000,
        "2001::" * 4_000,
        "2001:" + "0:" * 10_000,
        "DE89 " + "ABCD " * 4_000,
        "DE89" + "A" * 20_000,
        "DE89 " * 4_000,
        "123-45-" * 3_000,
        "SSN " * 5_000 + "536221234",
        "@ " * 10_000,
        "a@" * 10_000,
    ],
    ids=["local-run", "dotted-local", "dotted-domain", "hyphen-domain", "digit-run",
         "spaced-digits", "spaced-groups", "hyphen-digits", "plus-spaced", "parens",
         "dotted-digits", "dotted-quads", "hextets", "compressed-hextets", "zero-groups",
         "iban-groups", "iban-run", "iban-heads", "ssn-heads", "ssn-keywords", "lone-ats",
         "at-chain"],
)
def test_adversarial_input_runs_in_linear_time(text: str) -> None:
    # A quadratic scan (e.g. retrying the email local part from every position) takes
    # seconds on 20 kB; the linear patterns take about a millisecond.
    started = time.perf_counter()
    find_pii_spans(text)
    assert time.perf_counter() - started < 0.5


def test_email_scan_around_each_at_equals_a_whole_text_scan() -> None:
    # find_emails scans only the whitespace-delimited stretches around '@'. It must find what a
    # scan of the whole text finds, whatever surrounds the addresses.
    def whole_text(text: str) -> list[str]:
        return [m.group() for m in pii._EMAIL_RE.finditer(text)
                if m.group("tld").lower() not in pii._FILE_EXTENSION_TLDS]

    rng = random.Random(7)
    pieces = ["jane@example.com", "a.b@c.io", "@", ".", "-", "x", "é", "1", " ", "\n", "\t",
              "\u00a0", "\u2003", ",", "<", ">", ":", "+", "%", "_", "com", "@@"]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        assert values(find_emails(text)) == whole_text(text), repr(text)


# --------------------------------------------------------------------------------------
# the pii section of the configuration
# --------------------------------------------------------------------------------------
def test_config_pii_section_defaults_and_validation(tmp_path) -> None:
    from pathlib import Path

    import yaml

    from lakeprep.config import ConfigError, load_settings

    local = Path(__file__).resolve().parents[2] / "conf" / "local.yaml"
    settings = load_settings(local)
    assert settings.pii.detectors == DEFAULT_DETECTORS
    assert settings.pii.redact is False
    raw = yaml.safe_load(local.read_text())
    path = tmp_path / "c.yaml"
    for bad in ("yes", 1, None):
        raw["pii"]["redact"] = bad
        path.write_text(yaml.safe_dump(raw))
        with pytest.raises(ConfigError, match="pii.redact"):
            load_settings(path)
    del raw["pii"]["redact"]
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="pii.redact"):
        load_settings(path)
    raw["pii"]["redact"] = True
    raw["pii"]["detectors"] = ["ssn", "iban", "ip"]
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="'ip'"):
        load_settings(path)
    raw["pii"]["detectors"] = ["ssn", "ipv6"]
    path.write_text(yaml.safe_dump(raw))
    settings = load_settings(path)
    assert settings.pii.detectors == ("ssn", "ipv6") and settings.pii.redact is True
    assert settings.rules_fingerprint() != load_settings(local).rules_fingerprint()


def test_phone_shaped_part_numbers_are_not_phones():
    # A letter suffix after the line number makes it a catalogue / part number.
    assert find_pii("Order part 415-555-0132-XK today", ("phone",)) == {}
    assert find_pii("Call 415-555-0132 today", ("phone",)) == {"phone": 1}
