"""Byte decoding: every branch of decode_bytes, each with a case only that branch gets right."""
import random

import pytest

from lakeprep.config import load_settings
from lakeprep.text import decode as D

CFG = load_settings().decode
FRENCH = "Les élèves étudient à l'école française ; où est le café ? Noël à Orléans, très bien."
POLISH = "Pójdźmy do szkoły, ale najpierw śniadanie i kawałek chleba z masłem oraz herbata."
RUSSIAN = "Привет, мир! Это проверка кодировки текста на русском языке, достаточно длинная строка."
TURKISH = "Türkçe bir metin: şu ağaçların altında ığdır ve İstanbul güzeldir, değil mi?"
JAPANESE = "日本語のテキストです。これはテストの文章で、文字コードの判定を確認します。"
ENGLISH = "Hello world, this is a plain English sentence used to test decoding. " * 5


def dec(data, cfg=CFG):
    return D.decode_bytes(data, cfg.max_nul_fraction, cfg.min_printable_fraction)


def accepted(data):
    result = dec(data)
    assert result.reject_reason is None, result
    return result.text, result.encoding


def test_reason_codes_are_stable_strings():
    # Reports and the quarantine table group on these values.
    assert (D.REASON_EMPTY_INPUT, D.REASON_BINARY, D.REASON_UNDECODABLE) == (
        "empty_input", "binary_content", "undecodable")


# --- empty input ------------------------------------------------------------------------------

def test_zero_bytes_is_empty_input():
    assert dec(b"") == D.DecodeResult(None, None, D.REASON_EMPTY_INPUT)


def test_whitespace_only_decodes_because_emptiness_is_the_document_filters_call():
    assert accepted(b"  \n\t ") == ("  \n\t ", "utf-8")


def test_bytes_like_inputs_are_accepted():
    assert accepted(bytearray(b"plain text")) == ("plain text", "utf-8")
    assert accepted(memoryview(b"plain text")) == ("plain text", "utf-8")


# --- byte-order marks -------------------------------------------------------------------------

@pytest.mark.parametrize("data, encoding", [
    (b"\xef\xbb\xbf" + "hello wörld".encode(), "utf-8-sig"),
    (b"\xff\xfe" + "hello wörld".encode("utf-16-le"), "utf-16-le"),
    (b"\xfe\xff" + "hello wörld".encode("utf-16-be"), "utf-16-be"),
    (b"\xff\xfe\x00\x00" + "hello wörld".encode("utf-32-le"), "utf-32-le"),
    (b"\x00\x00\xfe\xff" + "hello wörld".encode("utf-32-be"), "utf-32-be"),
])
def test_bom_decides_the_encoding_and_is_not_part_of_the_text(data, encoding):
    assert accepted(data) == ("hello wörld", encoding)


def test_bom_with_damaged_body_keeps_the_declared_encoding():
    # Truncated mid-code-unit: the declaration still wins, the damage becomes U+FFFD.
    data = b"\xff\xfe" + "hello".encode("utf-16-le") + b"h"
    assert accepted(data) == ("hello\ufffd", "utf-16-le")


def test_bom_only_is_an_empty_text_not_empty_input():
    assert accepted(b"\xef\xbb\xbf") == ("", "utf-8-sig")


# --- binary content ---------------------------------------------------------------------------

@pytest.mark.parametrize("magic", D._BINARY_MAGIC)
def test_binary_magic_numbers_are_rejected_even_when_the_rest_reads_as_text(magic):
    # No NULs and printable filler: only the signature check can reject these.
    data = magic + b" followed by innocent looking ascii text " * 3
    assert dec(data).reject_reason == D.REASON_BINARY


def test_magic_number_is_checked_before_the_utf16_guess():
    # A ZIP entry with UTF-16 text inside would otherwise pass as BOM-less UTF-16.
    data = b"PK\x03\x04" + "text".encode("utf-16-le") * 50
    assert data.decode("utf-16-le").isprintable()
    assert dec(data).reject_reason == D.REASON_BINARY


def test_png_file_is_binary():
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00"
           b"\x00\x1f\xf3\xffa\x00\x00\x00\x19tEXtSoftware\x00Adobe ImageReadyq\xc9e<")
    assert dec(png) == D.DecodeResult(None, None, D.REASON_BINARY)


def test_ascii_only_pdf_is_binary_although_it_is_valid_utf8():
    pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    assert dec(pdf).reject_reason == D.REASON_BINARY


def test_random_bytes_with_nuls_are_binary():
    data = random.Random(0).randbytes(4096)
    assert data.count(0) > 0
    assert dec(data).reject_reason == D.REASON_BINARY


def test_nul_fraction_above_threshold_is_binary_even_in_valid_utf8():
    text = ENGLISH.encode("utf-8")
    step = len(text) // 10
    with_nuls = b"\x00".join(text[i:i + step] for i in range(0, len(text), step))
    assert with_nuls.decode("utf-8")  # valid UTF-8: only the NUL rule rejects it
    assert dec(with_nuls).reject_reason == D.REASON_BINARY


def test_nul_fraction_at_or_below_threshold_is_tolerated():
    data = ("x" * 2000).encode() + b"\x00"  # 1 NUL in 2001 bytes, below 0.001
    assert accepted(data)[1] == "utf-8"
    assert D.decode_bytes(data, 0.0, CFG.min_printable_fraction).reject_reason == D.REASON_BINARY


def test_mostly_unprintable_text_is_binary():
    data = bytes(range(1, 32)) * 10 + b"abc"  # valid UTF-8, no NULs, no magic
    assert dec(data).reject_reason == D.REASON_BINARY
    # The threshold, not chance, decides: with no printable requirement it decodes.
    assert D.decode_bytes(data, CFG.max_nul_fraction, 0.0).encoding == "utf-8"


def test_astral_printable_characters_count_as_printable():
    text = "Emoji only \U0001F600\U0001F680\U0001F30D " * 20 + "\U0001D400\U0001D401"
    assert accepted(text.encode("utf-8")) == (text, "utf-8")


def test_astral_non_printable_characters_count_as_non_printable():
    # Supplementary private use (Co) and unassigned (Cn) code points, valid UTF-8.
    data = ("\U000F0000\U000F0001\U0010FFFD\U000E0080" * 50 + "abc").encode("utf-8")
    assert dec(data).reject_reason == D.REASON_BINARY


# --- BOM-less UTF-16 --------------------------------------------------------------------------

@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_bomless_utf16_is_recognised_before_the_nul_check(codec):
    assert accepted(ENGLISH.encode(codec)) == (ENGLISH, codec)


def test_bomless_utf16_with_cjk_and_ascii_spaces():
    text = "日本語のテキストです。 これは test です。"
    assert accepted(text.encode("utf-16-le")) == (text, "utf-16-le")


def test_nuls_on_both_byte_parities_are_not_utf16():
    # As many NULs as UTF-16 text, but on both parities. Read as UTF-16 this would even be
    # printable ("a愀a愀..."), so only the parity rule rejects it.
    data = b"a\x00\x00a" * 64
    assert data.decode("utf-16-le").isprintable()
    assert dec(data).reject_reason == D.REASON_BINARY


def test_a_few_nuls_on_one_parity_are_not_utf16():
    # Single-byte text with stray NULs that happen to share a parity: too few to be the high
    # bytes of UTF-16 text, so binary rather than a UTF-16 reading of ASCII pairs.
    # Letters only, so that even a UTF-16 reading would be printable (CJK ideographs).
    data = bytearray(b"abcdefghijklmnopqrstuvwxyz" * 40)
    for i in (101, 501, 901):
        data[i] = 0
    assert bytes(data).decode("utf-16-le").isprintable()
    assert dec(bytes(data)).reject_reason == D.REASON_BINARY


def test_odd_length_is_not_bomless_utf16():
    assert dec(ENGLISH.encode("utf-16-le") + b"x").reject_reason == D.REASON_BINARY


# --- UTF-8 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["ok", "Hi", "naïve café — ok", "€5", JAPANESE, "\u00e9t\u00e9"])
def test_valid_utf8_wins_over_the_detector_even_when_short(text):
    assert accepted(text.encode("utf-8")) == (text, "utf-8")


def test_damaged_utf8_keeps_its_good_characters():
    # Truncated in the middle of the last character: the accents before it must survive.
    data = "Le café était délicieux, très".encode() + "é".encode()[:1]
    assert accepted(data) == ("Le café était délicieux, très\ufffd", "utf-8")


def test_genuine_replacement_characters_do_not_count_as_damage():
    # Two real U+FFFD plus one broken byte against a single valid é: only the broken byte counts.
    data = "a\ufffd b\ufffd é".encode("utf-8") + b"\xff"
    assert accepted(data) == ("a\ufffd b\ufffd é\ufffd", "utf-8")


def test_text_with_more_broken_than_valid_utf8_is_not_read_as_utf8():
    # Latin-1 French where "É" + no-break space happens to form a valid UTF-8 sequence (C9 A0):
    # one valid sequence against many broken ones is still Latin-1.
    text = FRENCH + " CAFÉ\u00a0!"
    data = text.encode("latin-1")
    assert b"\xc9\xa0" in data
    assert accepted(data) == (text, "latin-1")


def test_ascii_with_one_stray_high_byte_decodes_as_latin1():
    # Documented behaviour: with no valid multi-byte UTF-8 at all, one high byte is read as the
    # Western character it encodes rather than rejected.
    data = b"The caf\xe9 opens at nine and closes late in the evening."
    assert accepted(data) == ("The café opens at nine and closes late in the evening.", "latin-1")


# --- Western single-byte ----------------------------------------------------------------------

def test_cp1252_smart_quotes():
    text = "He said \u201chello\u201d \u2014 it\u2019s a \u2018test\u2019 of the smart quotes."
    assert accepted(text.encode("cp1252")) == (text, "cp1252")


def test_short_cp1252_quote():
    assert accepted("\u201cQuote\u201d".encode("cp1252")) == ("\u201cQuote\u201d", "cp1252")


def test_latin1_accented_french():
    assert accepted(FRENCH.encode("latin-1")) == (FRENCH, "latin-1")


def test_latin1_label_only_without_c1_bytes():
    # Same French text plus one euro sign (0x80): cp1252, because latin-1 has a control there.
    text = FRENCH + " Prix : 5 €."
    assert accepted(text.encode("cp1252")) == (text, "cp1252")


def test_cyrillic_through_western_letters_goes_to_the_detector():
    # cp1251 Russian reads as accented Latin letters in cp1252; the share of accented letters
    # gives it away.
    assert accepted(RUSSIAN.encode("cp1251")) == (RUSSIAN, "cp1251")


def test_short_cyrillic_made_only_of_western_looking_letters_is_not_western():
    # Every byte of these words is an accented letter on the Western list; only the share rule
    # rejects the cp1252 reading.
    data = "Москва и Минск".encode("cp1251")
    assert all(ch in D._WESTERN_CHARS for ch in data.decode("cp1252") if not ch.isascii())
    assert D._decode_western(data) is None


def test_turkish_letters_outside_the_western_list_go_to_the_detector():
    assert accepted(TURKISH.encode("cp1254")) == (TURKISH, "cp1254")


def test_symbol_inside_a_word_means_another_code_page():
    # cp1250 Polish: ł is ³ in cp1252, wedged inside "szkoły".
    assert "³" in POLISH.encode("cp1250").decode("cp1252")
    assert accepted(POLISH.encode("cp1250")) == (POLISH, "cp1250")


def test_apostrophe_inside_a_word_is_western():
    # ’ and · legitimately sit between letters.
    text = "It\u2019s the café\u2019s best l\u00b7lesson"
    assert accepted(text.encode("cp1252")) == (text, "cp1252")


# --- detector ---------------------------------------------------------------------------------

def test_shift_jis_japanese():
    assert accepted(JAPANESE.encode("shift_jis")) == (JAPANESE, "shift_jis")


def test_random_bytes_without_nuls_are_undecodable():
    data = bytes(b for b in random.Random(1).randbytes(4000) if b)
    assert not data.startswith(D._BINARY_MAGIC)
    assert dec(data) == D.DecodeResult(None, None, D.REASON_UNDECODABLE)


def test_detector_failure_is_undecodable_not_an_exception(monkeypatch):
    def broken(_data):
        raise RuntimeError("detector bug")

    monkeypatch.setattr(D, "from_bytes", broken)
    assert dec(RUSSIAN.encode("cp1251")).reject_reason == D.REASON_UNDECODABLE


@pytest.mark.parametrize("name, label", [
    ("cp932", "shift_jis"), ("latin_1", "latin-1"), ("utf_16_le", "utf-16-le"),
    ("CP1251", "cp1251"), ("not-a-codec", "not-a-codec"),
])
def test_encoding_labels_are_normalized(name, label):
    assert D._normalize_encoding(name) == label


def test_terminal_control_codes_are_text_not_binary():
    # A short fortune with overstrike underlining and bells: over 5% control characters, but text.
    data = b"I'm not going to *______\x08\x08\x08\x08\x08\x08bother*\x07\x07\x07 comparing C to BASIC."
    result = D.decode_bytes(data, 0.001, 0.95)
    assert result.reject_reason is None and result.encoding == "utf-8"
    # Other C0 controls in the same density still mean binary.
    junk = b"I'm not going to \x01\x02\x03\x04\x05\x06\x0e\x0f\x10\x11 comparing C to BASIC now."
    assert D.decode_bytes(junk, 0.001, 0.95).reject_reason == "binary_content"
