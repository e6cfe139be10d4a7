"""Language identification (CLD2 via pycld2, offline) and the allow-list rule."""
import random
import sys
from pathlib import Path

import pycld2
import pytest
import yaml

from lakeprep.config import ConfigError, LanguageSettings, load_settings
from lakeprep.text import language
from lakeprep.text.language import (
    REASON_LANGUAGE_NOT_ALLOWED,
    LanguageResult,
    detect_language,
    is_allowed,
    language_reject_reason,
    normalize_code,
    sample_text,
    sanitize_for_cld2,
)

CONF = Path(__file__).resolve().parents[2] / "conf"

# One sentence each, written for these tests (same content in every language).
SAMPLES = {
    "en": "The river flooded the lower town after three days of heavy rain, and the council "
          "opened the school gym as a shelter for families who had lost their homes.",
    "fr": "La rivière a inondé la ville basse après trois jours de pluie abondante, et la mairie "
          "a ouvert le gymnase de l'école pour accueillir les familles qui avaient perdu leur maison.",
    "de": "Der Fluss hat nach drei Tagen starken Regens die Unterstadt überschwemmt, und der "
          "Gemeinderat öffnete die Turnhalle der Schule als Unterkunft für Familien, die ihr "
          "Zuhause verloren hatten.",
    "es": "El río inundó la parte baja de la ciudad después de tres días de lluvias intensas, y el "
          "ayuntamiento abrió el gimnasio de la escuela como refugio para las familias que habían "
          "perdido sus casas.",
    "it": "Dopo tre giorni di piogge intense il fiume ha inondato la parte bassa della città, e il "
          "comune ha aperto la palestra della scuola come rifugio per le famiglie che avevano "
          "perso la casa.",
    "ja": "三日間の大雨のあと、川が氾濫して町の低い地域が浸水しました。市役所は家を失った家族のために"
          "学校の体育館を避難所として開放しました。",
    "zh": "连续三天大雨之后，河水泛滥，淹没了城镇的低洼地区。市政府开放了学校的体育馆，作为失去家园的"
          "家庭的临时避难所。",
    "ko": "사흘 동안 폭우가 내린 뒤 강이 범람하여 마을의 낮은 지역이 물에 잠겼습니다. 시청은 집을 잃은 "
          "가족들을 위해 학교 체육관을 대피소로 개방했습니다.",
    "ru": "После трёх дней проливных дождей река вышла из берегов и затопила нижнюю часть города, "
          "и городской совет открыл школьный спортзал как убежище для семей, потерявших свои дома.",
}
TRADITIONAL_CHINESE = ("連續三天大雨之後，河水氾濫，淹沒了城鎮的低窪地區。市政府開放了學校的體育館，"
                       "作為失去家園的家庭的臨時避難所。")
HEBREW = ("לאחר שלושה ימים של גשמים עזים הנהר עלה על גדותיו והציף את העיר התחתית, והמועצה פתחה את "
          "אולם הספורט של בית הספר כמקלט למשפחות שאיבדו את בתיהן.")


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_languages_are_detected(language):
    result = detect_language(SAMPLES[language])
    assert result.language == language
    assert result.is_reliable
    assert 0.9 <= result.confidence <= 1.0


def test_codes_are_bcp47():
    # CLD2 says "zh-Hant" for traditional characters and the withdrawn "iw" for Hebrew.
    assert detect_language(TRADITIONAL_CHINESE).language == "zh-Hant"
    assert detect_language(HEBREW).language == "he"
    assert normalize_code("iw") == "he" and normalize_code("jw") == "jv"
    assert normalize_code("fr") == "fr" and normalize_code("zh-Hant") == "zh-Hant"
    for not_a_language in ("un", "xxx", "xx-Latn", "xx-Arab", "zzb", "zzp"):
        assert normalize_code(not_a_language) == "und"


@pytest.mark.parametrize("text", [
    None, "", "   \n\t", "Hello", "Obvious", "A lame comedy.", "12345 678 90",
    "3.14159 2.71828 1.41421 1.73205", "!!! ??? ... ---", "x" * 500, "2024-01-01 10:00:00",
])
def test_short_numeric_or_symbol_text_is_undetermined(text):
    assert detect_language(text) == LanguageResult("und", 0.0, False)


def test_text_between_angle_brackets_counts():
    # Cleaned text is plain text: in CLD2's HTML mode everything between "<" and ">" (generics,
    # shell redirections, e-mail addresses) would be skipped as a tag.
    text = "<" + SAMPLES["fr"] + " " + SAMPLES["fr"] + ">\n" + SAMPLES["en"][:80]
    assert detect_language(text).language == "fr"


def test_confidence_is_the_share_of_the_top_language():
    mixed = SAMPLES["ja"] * 3 + "\n" + SAMPLES["en"] * 2
    result = detect_language(mixed)
    assert result.language == "ja"
    assert 0.5 < result.confidence < 0.8


def _all_code_points() -> str:
    return "".join(chr(cp) for cp in range(sys.maxunicode + 1))


def test_sanitizer_removes_exactly_what_cld2_refuses():
    everything = _all_code_points()
    with pytest.raises(pycld2.error):
        pycld2.detect("abc\x00def", isPlainText=True)  # the reason the sanitizer exists
    with pytest.raises(UnicodeEncodeError):
        pycld2.detect("abc\ud800def", isPlainText=True)
    # Every code point of Unicode at once: accepted after sanitizing.
    pycld2.detect(sanitize_for_cld2(everything), isPlainText=True)
    # ...and nothing CLD2 accepts is touched (tab, newlines, letters, symbols, private use).
    for kept in ("\t", "\n", "\r", "\x0c", "a", "é", "中", "\U0001F600", "\ue000", "\u00a0"):
        assert sanitize_for_cld2(f"x{kept}y") == f"x{kept}y"
    for refused in ("\x00", "\x0b", "\x7f", "\x85", "\ud800", "\ufdd0", "\uffff", "\U0010fffe"):
        assert sanitize_for_cld2(f"x{refused}y") == "x y"


@pytest.mark.parametrize("seed", range(20))
def test_garbage_never_raises(seed):
    rng = random.Random(seed)
    raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20000)))
    for text in (raw.decode("utf-8", "surrogateescape"), raw.decode("latin-1"),
                 "".join(chr(rng.randrange(sys.maxunicode + 1)) for _ in range(2000))):
        result = detect_language(text)
        assert 0.0 <= result.confidence <= 1.0
        assert isinstance(result.language, str) and result.language


def test_controls_inside_prose_do_not_change_the_answer():
    noisy = SAMPLES["fr"].replace(" ", " \x00\x1b\x7f\x9f\ufffe ")
    assert detect_language(noisy).language == "fr"


def test_long_text_is_sampled_from_start_and_middle():
    text = "A" * 10 + "B" * 10 + "C" * 10
    assert sample_text(text, 100) == text
    sample = sample_text("s" * 5000 + "m" * 5000 + "e" * 5000, 1000)
    assert len(sample) <= 1001
    assert sample.startswith("s" * 500) and "m" * 500 in sample and "e" not in sample
    # English at the start and around the middle, French (the large majority) everywhere else:
    # the sample sees only English; the whole text is mostly French.
    en, fr = SAMPLES["en"] + "\n", SAMPLES["fr"] + "\n"
    doc = en * 30 + fr * 200 + en * 60 + fr * 200
    assert detect_language(doc, max_chars=8192).language == "en"
    assert detect_language(doc, max_chars=10 ** 9).language == "fr"


def test_a_language_found_in_none_of_the_text_is_undetermined(monkeypatch):
    # What CLD2 answered for the bytes of a GIF in the dev corpus: Greek, at 0 % of the text.
    monkeypatch.setattr(language.pycld2, "detect", lambda *a, **k: (
        False, 3603, (("GREEK", "el", 0, 1024.0), ("Unknown", "un", 0, 0.0),
                      ("Unknown", "un", 0, 0.0))))
    assert detect_language("GIF89a ...") == LanguageResult("und", 0.0, False)


def test_a_cld2_error_is_undetermined_not_a_crash(monkeypatch):
    def refuse(*args, **kwargs):
        raise pycld2.error("input contains invalid UTF-8 around byte 0")
    monkeypatch.setattr(language.pycld2, "detect", refuse)
    assert detect_language(SAMPLES["en"]) == LanguageResult("und", 0.0, False)


def _cfg(allowed=(), min_confidence=0.5):
    return LanguageSettings(allowed=tuple(allowed), min_confidence=min_confidence,
                            sample_chars=8192)


def test_empty_allow_list_keeps_every_language():
    for result in (LanguageResult("fr", 0.99, True), LanguageResult("und", 0.0, False),
                   LanguageResult("en", 0.1, False)):
        assert language_reject_reason(result, _cfg()) is None


def test_allow_list_rejects_other_languages():
    cfg = _cfg(["en"])
    assert language_reject_reason(LanguageResult("en", 0.99, True), cfg) is None
    assert language_reject_reason(LanguageResult("fr", 0.99, True), cfg) == REASON_LANGUAGE_NOT_ALLOWED
    assert language_reject_reason(LanguageResult("und", 0.0, False), cfg) == REASON_LANGUAGE_NOT_ALLOWED


def test_allow_list_needs_min_confidence():
    cfg = _cfg(["en"], min_confidence=0.5)
    assert language_reject_reason(LanguageResult("en", 0.5, False), cfg) is None
    assert language_reject_reason(LanguageResult("en", 0.49, False), cfg) == REASON_LANGUAGE_NOT_ALLOWED


def test_listed_und_keeps_undetermined_text():
    cfg = _cfg(["en", "und"], min_confidence=0.9)
    assert language_reject_reason(LanguageResult("und", 0.0, False), cfg) is None


def test_primary_subtag_matches_regional_and_script_variants():
    assert is_allowed("zh-Hant", ("zh",)) and is_allowed("zh", ("zh",))
    assert is_allowed("zh-Hant", ("zh-hant",))
    assert not is_allowed("zh", ("zh-Hant",))  # listing a variant does not allow the rest
    assert not is_allowed("ja", ("zh",))


def _raw():
    return yaml.safe_load((CONF / "local.yaml").read_text())


def _load(tmp_path, raw):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_settings(path)


def test_config_defaults_allow_every_language():
    settings = load_settings(CONF / "local.yaml")
    assert settings.language.allowed == ()
    assert settings.language.min_confidence == 0.5
    assert settings.language.sample_chars == 8192


@pytest.mark.parametrize("key,value", [
    ("allowed", ["english"]), ("allowed", ["en_US"]), ("allowed", "en"),
    ("min_confidence", 1.5), ("sample_chars", 10),
])
def test_config_rejects_bad_language_values(tmp_path, key, value):
    raw = _raw()
    raw["language"][key] = value
    with pytest.raises(ConfigError, match="language"):
        _load(tmp_path, raw)


def test_config_accepts_tags_and_changes_the_fingerprint(tmp_path):
    raw = _raw()
    before = _load(tmp_path, raw).rules_fingerprint()
    raw["language"]["allowed"] = ["en", "zh-Hant", "und"]
    settings = _load(tmp_path, raw)
    assert settings.language.allowed == ("en", "zh-Hant", "und")
    assert settings.rules_fingerprint() != before
