"""Unit tests for lakeprep.text.pii: positives and, above all, the look-alikes that must not match."""

from __future__ import annotations

import time

import pytest

from lakeprep.text.pii import (
    DEFAULT_DETECTORS,
    DETECTORS,
    PiiSpan,
    find_credit_cards,
    find_emails,
    find_phones,
    find_pii,
    find_pii_spans,
    luhn_valid,
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


@pytest.mark.parametrize(
    "text",
    [
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
    ],
)
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


@pytest.mark.parametrize(
    "text",
    [
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
    ],
)
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


@pytest.mark.parametrize(
    "text",
    [
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
    ],
)
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
# registry, API and robustness
# --------------------------------------------------------------------------------------
def test_registry_names() -> None:
    assert set(DETECTORS) == {"email", "phone", "credit_card"}
    assert DEFAULT_DETECTORS == ("email", "phone", "credit_card")
    with pytest.raises(TypeError):
        DETECTORS["ssn"] = find_emails  # type: ignore[index]


def test_unknown_detector_raises_with_known_list() -> None:
    with pytest.raises(ValueError) as excinfo:
        find_pii("jane@example.com", ("email", "ssn"))
    message = str(excinfo.value)
    assert "ssn" in message
    for name in DETECTORS:
        assert name in message
    with pytest.raises(ValueError):
        validate_detectors(["iban"])


def test_validate_detectors_dedups_and_accepts_a_single_name() -> None:
    assert validate_detectors(["phone", "email", "phone"]) == ("phone", "email")
    assert validate_detectors("email") == ("email",)
    assert find_pii("jane@example.com jane@example.com", ["email", "email"]) == {"email": 2}


def test_detector_selection_limits_types() -> None:
    text = "jane@example.com 415-555-0132 4111111111111111"
    assert find_pii(text, ("phone",)) == {"phone": 1}
    assert find_pii(text, ()) == {}
    assert find_pii(text) == {"email": 1, "phone": 1, "credit_card": 1}


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
    ],
    ids=["local-run", "dotted-local", "dotted-domain", "hyphen-domain", "digit-run",
         "spaced-digits", "spaced-groups", "hyphen-digits", "plus-spaced", "parens"],
)
def test_adversarial_input_runs_in_linear_time(text: str) -> None:
    # A quadratic scan (e.g. retrying the email local part from every position) takes
    # seconds on 20 kB; the linear patterns take about a millisecond.
    started = time.perf_counter()
    find_pii_spans(text)
    assert time.perf_counter() - started < 0.5
