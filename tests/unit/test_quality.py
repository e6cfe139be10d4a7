"""Document quality rules: each rule fails a document that breaks it and passes one that doesn't.

Positive cases check the rule's reason code is reported, so removing a rule from DOCUMENT_RULES
fails its test; negative cases check clean text and near-misses are not flagged. Rules are
tested under ALL_DROP (every rule set to drop) so a test does not depend on the conf's choice of
drop or warn; the actions themselves are tested separately.
"""
import dataclasses
import random
from pathlib import Path

import pytest
import yaml

from lakeprep.config import ConfigError, load_settings
from lakeprep.text import quality as Q

CONF = Path(__file__).resolve().parents[2] / "conf"
CFG = load_settings().document_filter
ALL_DROP = dataclasses.replace(CFG, actions={r: Q.ACTION_DROP for r in Q.RULE_REASONS})

# Varied English prose (no phrase repeated), one paragraph per line, about 230 words: passes
# every rule and scores high. The old fixture was one passage pasted three times, which the
# repetition signals now rightly see as duplicated text.
PROSE = """\
The river rose slowly through the night, and by morning the lower fields were under water.
Farmers moved their animals to the hill pastures while the town council met to decide whether the old bridge could still carry supply trucks.
Nobody in the valley remembered a flood this early in the spring; the snow on the northern ridges had melted within a single warm week.

An engineer from the capital arrived before noon with a team of surveyors and a van full of instruments.
She walked the length of the embankment twice, tapping the stones and writing numbers in a small notebook that she kept in her coat.
By evening her report was ready: the bridge would hold light traffic, but the heavy lorries would have to wait for the water to fall.

The baker on the main square kept his ovens burning all night so that the volunteers filling sandbags would have fresh bread at dawn.
Children carried thermos flasks of tea along the levee, and an old fisherman lent his boat to ferry a family stranded on their roof.
When the crest finally passed three days later, the mayor thanked everyone at a crowded meeting in the school gymnasium.
"""  # noqa: E501 (prose lines of natural length)
PROSE_LINES = [ln for ln in PROSE.split("\n") if ln]
# The prose pasted three times on one line: repeated n-grams, but no repeated line or paragraph.
REPEATED = " ".join([" ".join(PROSE_LINES)] * 3)


def verdict(text, cfg=ALL_DROP, language=None):
    return Q.evaluate(Q.compute_signals(text), cfg, language)


def failures(text, cfg=ALL_DROP, language=None):
    """Every rule the text breaks (dropping or warning)."""
    v = verdict(text, cfg, language)
    return v.drop_reasons + v.warnings


def reasons(text, cfg=CFG, language=None):
    return Q.failed_rules(Q.compute_signals(text), cfg, language)


def signals(**overrides):
    return dataclasses.replace(Q.compute_signals(PROSE), **overrides)


def lines_of(*items):
    return "\n".join(items)


# ------------------------------------------------------------------------------- clean prose


def test_clean_prose_passes_every_rule():
    assert failures(PROSE, language="en") == []
    assert reasons(PROSE) == []


def test_empty_after_cleaning():
    assert reasons("") == [Q.REASON_EMPTY_AFTER_CLEANING]
    assert verdict("").drop_reasons == [Q.REASON_EMPTY_AFTER_CLEANING]


# ----------------------------------------------------------------- the original Gopher five


def test_too_few_words():
    assert reasons("A short note about nothing much.") == [Q.REASON_TOO_FEW_WORDS]
    # The same text passes once the threshold is below its length: the rule, not chance, decides.
    lenient = dataclasses.replace(CFG, min_words=3)
    assert Q.REASON_TOO_FEW_WORDS not in reasons("A short note about nothing much.", lenient)


def test_mean_word_length_out_of_range():
    long_words = " ".join(["Pneumonoultramicroscopicsilicovolcanoconiosis"] * 60)
    assert Q.REASON_MEAN_WORD_LENGTH in reasons(long_words)
    short_words = " ".join(["a b c d"] * 30)
    assert Q.REASON_MEAN_WORD_LENGTH in reasons(short_words)
    assert Q.REASON_MEAN_WORD_LENGTH not in reasons(PROSE)


def test_mean_word_length_ignores_punctuation_only_tokens():
    # "--" and "|" are layout: 3 real words of 5 letters average 5, not (5*3+2+1)/5.
    assert Q.compute_signals("hello -- world | again").mean_word_length == pytest.approx(5.0)


def test_low_alpha_word_fraction():
    numbers = PROSE + " " + " ".join(str(n) for n in range(10000, 10200))
    assert Q.REASON_LOW_ALPHA_WORDS in reasons(numbers)
    assert Q.REASON_LOW_ALPHA_WORDS not in reasons(PROSE)


def test_high_symbol_word_ratio():
    tags = PROSE + " " + " ".join(f"#tag{i}" for i in range(40)) + " read more..." * 5
    assert Q.REASON_HIGH_SYMBOL_RATIO in reasons(tags)
    assert Q.REASON_HIGH_SYMBOL_RATIO not in reasons(PROSE)


def test_duplicate_lines():
    menu = "\n".join(["Home | About | Contact"] * 10 + PROSE_LINES[:2])
    s = Q.compute_signals(menu)
    assert s.duplicate_line_fraction == pytest.approx(9 / 12, abs=1e-3)
    assert Q.REASON_DUPLICATE_LINES in Q.failed_rules(s, CFG)
    assert Q.REASON_DUPLICATE_LINES not in reasons(PROSE)


# ------------------------------------------------------------------------------ stop words


KEYWORDS = " ".join(f"cheap flights hotel deals{i} booking offers" for i in range(12))


def test_stop_words_only_for_listed_languages():
    assert Q.compute_signals(KEYWORDS).stop_word_count == 0
    assert Q.REASON_FEW_STOP_WORDS in failures(KEYWORDS, language="en")
    # Region subtags and case do not matter: en-US, EN_gb are English.
    assert Q.REASON_FEW_STOP_WORDS in failures(KEYWORDS, language="en-US")
    assert Q.REASON_FEW_STOP_WORDS in failures(KEYWORDS, language="EN_gb")
    # Unknown language: the English word list says nothing, so the rule is not applied.
    assert Q.REASON_FEW_STOP_WORDS not in failures(KEYWORDS, language=None)
    assert Q.REASON_FEW_STOP_WORDS not in failures(KEYWORDS, language="de")
    assert Q.REASON_FEW_STOP_WORDS not in failures(PROSE, language="en")
    german = dataclasses.replace(ALL_DROP, stop_word_languages=("en", "de"))
    assert Q.REASON_FEW_STOP_WORDS in failures(KEYWORDS, german, language="de")


def test_stop_words_counted_as_words_in_any_case_with_punctuation():
    s = Q.compute_signals("The cat, and (of) THAT: theory together tothe be-all")
    # The, and, (of), THAT: -> 4; theory, together, tothe and be-all are other words.
    assert s.stop_word_count == 4
    two = KEYWORDS + " the with"
    assert Q.compute_signals(two).stop_word_count == 2
    assert Q.REASON_FEW_STOP_WORDS not in failures(two, language="en")
    assert Q.REASON_FEW_STOP_WORDS in failures(KEYWORDS + " the", language="en")


# ------------------------------------------------------------------------ bullets, ellipses


def test_bullet_line_fraction():
    items = [f"{b} Product number {i} is available in three colours" for i, b in
             zip(range(20), "•‣◦-*▪►✓•-" * 2)]
    assert Q.compute_signals(lines_of(*items)).bullet_line_fraction == 1.0
    assert Q.REASON_BULLET_LINES in failures(lines_of(*items))
    # Exactly at the threshold (9 of 10 lines) is kept: the rule is "more than 90 %".
    at_limit = lines_of("Our products, listed below, ship worldwide from the warehouse today.",
                        *items[:9]) + "\n" + PROSE
    assert Q.REASON_BULLET_LINES not in failures(at_limit)
    assert Q.REASON_BULLET_LINES not in failures(PROSE)


def test_dashes_that_are_not_bullets():
    not_bullets = lines_of("--verbose prints every step of the build process",
                           "-5 degrees were measured at the northern station",
                           "***", "*emphasis* is written with single stars here",
                           "— Where are you going? asked the old man at the gate.")
    assert Q.compute_signals(not_bullets).bullet_line_fraction == 0.0


def test_ellipsis_line_fraction():
    teasers = lines_of(*(f"Read the full story about the town council meeting number {i}..."
                         for i in range(6)), "Ten more stories are waiting for you…", PROSE)
    s = Q.compute_signals(teasers)
    assert s.ellipsis_line_fraction == pytest.approx(7 / 16, abs=1e-3)
    assert Q.REASON_ELLIPSIS_LINES in failures(teasers)
    assert Q.REASON_ELLIPSIS_LINES not in failures(PROSE)
    # "..." inside a line is not a truncated line.
    assert Q.compute_signals("Wait... then go.\nAnd so... we left.").ellipsis_line_fraction == 0.0


# ---------------------------------------------------------- duplicate lines and paragraphs


def test_duplicate_paragraph_fraction():
    paragraphs = PROSE.split("\n\n")
    looping = "\n\n".join(paragraphs + [paragraphs[1], paragraphs[2]] * 2)
    s = Q.compute_signals(looping)
    assert s.duplicate_paragraph_fraction == pytest.approx(4 / 7, abs=1e-3)
    assert Q.REASON_DUPLICATE_PARAGRAPHS in failures(looping)
    assert Q.REASON_DUPLICATE_PARAGRAPHS not in failures(PROSE)


def test_duplicate_line_char_fraction_weighs_long_lines():
    disclaimer = ("This message and any attachment are confidential and intended solely for the "
                  "addressee; if you received it in error please notify the sender immediately.")
    text = lines_of(*PROSE_LINES[:3], disclaimer, disclaimer)
    s = Q.compute_signals(text)
    # One repeat among 5 lines: the line count rule is below its 30 %...
    assert s.duplicate_line_fraction == pytest.approx(1 / 5, abs=1e-3)
    assert Q.REASON_DUPLICATE_LINES not in failures(text)
    # ...but the repeat holds more than 20 % of the line characters.
    lines = [ln for ln in text.split("\n") if ln.strip()]
    expected = len(disclaimer) / sum(len(ln) for ln in lines)
    assert s.duplicate_line_char_fraction == pytest.approx(expected, abs=1e-3)
    assert Q.REASON_DUPLICATE_LINE_CHARS in failures(text)
    assert Q.REASON_DUPLICATE_LINE_CHARS not in failures(PROSE)


def test_duplicate_paragraph_char_fraction_weighs_long_paragraphs():
    long_block = PROSE.split("\n\n")[1]
    short = [f"Note {i}: see the appendix." for i in range(6)]
    text = "\n\n".join(short[:3] + [long_block] + short[3:] + [long_block])
    s = Q.compute_signals(text)
    assert s.duplicate_paragraph_fraction == pytest.approx(1 / 8, abs=1e-3)
    assert Q.REASON_DUPLICATE_PARAGRAPHS not in failures(text)
    assert s.duplicate_paragraph_char_fraction > 0.2
    assert Q.REASON_DUPLICATE_PARAGRAPH_CHARS in failures(text)
    assert Q.REASON_DUPLICATE_PARAGRAPH_CHARS not in failures(PROSE)


# ------------------------------------------------------------------------------- n-grams


def spam_with(phrase: str, times: int) -> str:
    # The phrase between unique filler words: only the phrase repeats.
    return " ".join(f"{phrase} filler{i}word" for i in range(times))


@pytest.mark.parametrize("n", Q.TOP_NGRAM_SIZES)
def test_top_ngram_char_fraction(n):
    phrase = " ".join(["buy", "cheap", "pills", "now"][:n])
    spam = spam_with(phrase, 40)
    s = Q.compute_signals(spam)
    phrase_chars = sum(len(w) for w in phrase.split())
    total = sum(len(w) for w in spam.split())
    assert s.top_ngram_char_fraction(n) == pytest.approx(40 * phrase_chars / total, abs=1e-3)
    assert Q.REASON_TOP_NGRAM[n] in failures(spam)
    assert Q.REASON_TOP_NGRAM[n] not in failures(PROSE)


def test_top_ngram_counts_overlapping_words_once_and_ignores_single_occurrences():
    # "ha ha" occurs 4 times in 5 words, overlapping; each word still counts once: fraction 1.
    assert Q.compute_signals("ha ha ha ha ha").top_2gram_char_fraction == 1.0
    # Every 2-gram occurs once: no repetition, even though one 2-gram is a third of the text.
    assert Q.compute_signals("one two three four five six").top_2gram_char_fraction == 0.0


@pytest.mark.parametrize("n", Q.DUPLICATE_NGRAM_SIZES)
def test_duplicate_ngram_char_fraction(n):
    # A passage pasted twice: the first copy is content, the second is duplication -> 0.5.
    passage = " ".join(f"word{i}" for i in range(60))
    twice = passage + "\n" + passage
    s = Q.compute_signals(twice)
    assert s.duplicate_ngram_char_fraction(n) == pytest.approx(0.5, abs=1e-4)
    assert Q.REASON_DUPLICATE_NGRAM[n] in failures(twice)
    assert Q.REASON_DUPLICATE_NGRAM[n] not in failures(PROSE)
    assert Q.compute_signals(PROSE).duplicate_ngram_char_fraction(n) == 0.0


def test_duplicate_ngrams_need_a_repeat_of_that_length():
    # Repeated 6-word phrase: duplicated 5- and 6-grams, but no repeated 7-gram.
    text = "alpha beta gamma delta epsilon zeta one two " \
           "alpha beta gamma delta epsilon zeta three four"
    s = Q.compute_signals(text)
    chars = sum(len(w) for w in "alpha beta gamma delta epsilon zeta".split())
    total = sum(len(w) for w in text.split())
    assert s.duplicate_5gram_char_fraction == pytest.approx(chars / total, abs=1e-3)
    assert s.duplicate_6gram_char_fraction == pytest.approx(chars / total, abs=1e-3)
    assert s.duplicate_7gram_char_fraction == 0.0


def random_texts():
    rng = random.Random(5)
    texts = [PROSE, REPEATED, "ha " * 700, "a b " * 300 + "c", spam_with("click here now", 200)]
    for size in (30, 499, 500, 900, 2500):
        vocabulary = [f"w{i}" for i in range(rng.choice((3, 20, 400)))]
        texts.append(" ".join(rng.choice(vocabulary) for _ in range(size)))
    return texts


@pytest.mark.parametrize("text", random_texts())
def test_python_and_numpy_ngram_paths_agree(text):
    words = text.split()
    assert Q._ngram_fractions_python(words) == pytest.approx(Q._ngram_fractions_numpy(words))


def test_ngram_signals_examine_only_the_first_words(monkeypatch):
    passage = " ".join(f"word{i}" for i in range(60))
    monkeypatch.setattr(Q, "NGRAM_MAX_WORDS", 60)
    # The repeat starts after the cap: invisible to the n-gram signals.
    assert Q.compute_signals(passage + " " + passage).duplicate_5gram_char_fraction == 0.0


# ----------------------------------------------------------------------- FineWeb line rules


def test_terminal_punctuation_line_fraction():
    menu = lines_of(*(f"Category {i} and all of its popular subcategories" for i in range(20)))
    assert Q.compute_signals(menu).terminal_punctuation_line_fraction == 0.0
    assert Q.REASON_LOW_TERMINAL_PUNCTUATION in failures(menu)
    assert Q.REASON_LOW_TERMINAL_PUNCTUATION not in failures(PROSE)
    ends = lines_of("He said it was over.", "Really?", 'She answered "no"', "Stop!",
                    "“Quoted”", "これは文です。", "no punctuation here")
    assert Q.compute_signals(ends).terminal_punctuation_line_fraction == \
        pytest.approx(6 / 7, abs=1e-3)


def test_short_line_fraction():
    nav = lines_of(*(f"Menu entry {i}" for i in range(30)), PROSE)
    s = Q.compute_signals(nav)
    assert s.short_line_fraction == pytest.approx(30 / 39, abs=1e-3)
    assert Q.REASON_SHORT_LINES in failures(nav)
    assert Q.REASON_SHORT_LINES not in failures(PROSE)
    # "Short" is at most 30 characters, after stripping indentation.
    assert Q.compute_signals("x" * 30 + "\n    " + "y" * 31).short_line_fraction == 0.5


# ----------------------------------------------------------------------------- C4 rules


def test_lorem_ipsum():
    template = PROSE + "\nLorem Ipsum dolor sit amet, consectetur adipiscing elit.\n"
    assert Q.compute_signals(template).has_lorem_ipsum
    assert Q.REASON_LOREM_IPSUM in reasons(template)
    assert Q.REASON_LOREM_IPSUM not in failures(PROSE)
    # Cicero's own words in real documentation are not placeholder text.
    quoted = PROSE + "\nQui dolorem ipsum quia dolor sit amet, consectetur, adipisci velit.\n"
    assert Q.REASON_LOREM_IPSUM not in failures(quoted)
    # On different lines it is not the placeholder phrase either.
    assert not Q.compute_signals("lorem\nipsum").has_lorem_ipsum


def test_curly_bracket():
    code = PROSE + "\nint main(void) { return 0; }\n"
    assert Q.REASON_CURLY_BRACKET in failures(code)
    assert Q.REASON_CURLY_BRACKET not in failures(PROSE)
    # Conf keeps it a warning: code documentation is content here.
    v = verdict(code, CFG)
    assert Q.REASON_CURLY_BRACKET in v.warnings and Q.REASON_CURLY_BRACKET not in v.drop_reasons
    assert not v.dropped


# ------------------------------------------------------------------------ actions, verdict


def test_warn_rules_keep_the_document_and_drop_rules_reject_it():
    v = verdict(REPEATED, CFG)
    assert not v.dropped and v.reject_reason is None
    assert Q.REASON_DUPLICATE_NGRAM[5] in v.warnings
    assert Q.failed_rules(Q.compute_signals(REPEATED), CFG) == []
    strict = dataclasses.replace(CFG, actions={**CFG.actions, Q.REASON_DUPLICATE_NGRAM[5]: "drop"})
    v = verdict(REPEATED, strict)
    assert v.dropped and v.reject_reason == Q.REASON_DUPLICATE_NGRAM[5]
    assert Q.REASON_DUPLICATE_NGRAM[5] not in v.warnings


def test_all_dropping_reasons_are_listed_in_rule_order():
    junk = lines_of(*(f"Lorem ipsum {i}..." for i in range(10)))
    v = verdict(junk, CFG, language="en")
    assert v.drop_reasons[0] == Q.REASON_TOO_FEW_WORDS == v.reject_reason
    assert Q.REASON_ELLIPSIS_LINES in v.drop_reasons and Q.REASON_LOREM_IPSUM in v.drop_reasons
    order = [Q.RULE_REASONS.index(r) for r in v.drop_reasons]
    assert order == sorted(order)


def test_every_rule_is_registered_with_its_reason_and_an_action():
    # A signals object failing everything: each rule reports its own reason, in RULE_REASONS order.
    worst = signals(n_words=5, mean_word_length=30.0, alpha_word_fraction=0.0,
                    symbol_word_ratio=1.0, duplicate_line_fraction=1.0, stop_word_count=0,
                    bullet_line_fraction=1.0, ellipsis_line_fraction=1.0,
                    duplicate_paragraph_fraction=1.0, duplicate_line_char_fraction=1.0,
                    duplicate_paragraph_char_fraction=1.0,
                    **{f"top_{n}gram_char_fraction": 1.0 for n in Q.TOP_NGRAM_SIZES},
                    **{f"duplicate_{n}gram_char_fraction": 1.0 for n in Q.DUPLICATE_NGRAM_SIZES},
                    terminal_punctuation_line_fraction=0.0, short_line_fraction=1.0,
                    has_lorem_ipsum=True, has_curly_bracket=True)
    assert Q.evaluate(worst, ALL_DROP, "en").drop_reasons == list(Q.RULE_REASONS)
    assert len(Q.DOCUMENT_RULES) == len(set(Q.RULE_REASONS)) == 24
    assert list(CFG.actions) == list(Q.RULE_REASONS)


def load_with(tmp_path, edit):
    raw = yaml.safe_load((CONF / "local.yaml").read_text())
    edit(raw["document_filter"])
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_settings(path)


def test_actions_config_is_complete_and_valid(tmp_path):
    with pytest.raises(ConfigError, match="missing rules.*lorem_ipsum"):
        load_with(tmp_path, lambda df: df["actions"].pop("lorem_ipsum"))
    with pytest.raises(ConfigError, match="unknown rules.*lorem_ipsun"):
        load_with(tmp_path, lambda df: df["actions"].update(lorem_ipsun="drop"))
    with pytest.raises(ConfigError, match="drop.*warn"):
        load_with(tmp_path, lambda df: df["actions"].update(lorem_ipsum="ignore"))
    with pytest.raises(ConfigError, match="document_filter.max_short_line_fraction"):
        load_with(tmp_path, lambda df: df.update(max_short_line_fraction=1.5))
    settings = load_with(tmp_path, lambda df: df["actions"].update(curly_bracket="drop"))
    assert settings.document_filter.actions["curly_bracket"] == "drop"


# -------------------------------------------------------------------------------- score


def test_quality_score_range_and_order():
    good = Q.quality_score(Q.compute_signals(PROSE), CFG)
    junk = Q.quality_score(Q.compute_signals("## ## ## 123 456 ... ... ...\n" * 20), CFG)
    assert 0.0 <= junk < good <= 1.0
    assert good > 0.9
    assert junk < 0.5
    assert Q.quality_score(Q.compute_signals(""), CFG) == 0.0


def test_quality_score_falls_with_repetition_and_line_structure():
    good = Q.quality_score(Q.compute_signals(PROSE), CFG)
    assert Q.quality_score(Q.compute_signals(REPEATED), CFG) < good - 0.1
    fragments = lines_of(*(f"Fragment {i} of a list" for i in range(60)))
    assert Q.quality_score(Q.compute_signals(fragments), CFG) < good - 0.1


def test_quality_score_halved_by_lorem_ipsum():
    s = Q.compute_signals(PROSE)
    assert Q.quality_score(dataclasses.replace(s, has_lorem_ipsum=True), CFG) == \
        pytest.approx(Q.quality_score(s, CFG) / 2, abs=1e-3)


def test_quality_score_ignores_stop_words_and_curly_brackets():
    s = Q.compute_signals(PROSE)
    assert Q.quality_score(dataclasses.replace(s, stop_word_count=0, has_curly_bracket=True),
                           CFG) == Q.quality_score(s, CFG)


def test_quality_score_at_thresholds_is_documented_value():
    # Every signal exactly at its threshold: length 0.25, alpha 0.8, word length 1, symbols,
    # repetition and line structure 0.5 each -> 3.55 / 6.
    s = signals(n_words=CFG.min_words, mean_word_length=CFG.min_mean_word_length,
                alpha_word_fraction=CFG.min_alpha_word_fraction,
                symbol_word_ratio=CFG.max_symbol_word_ratio,
                duplicate_line_fraction=CFG.max_duplicate_line_fraction,
                duplicate_paragraph_fraction=CFG.max_duplicate_paragraph_fraction,
                duplicate_10gram_char_fraction=CFG.max_duplicate_10gram_char_fraction,
                short_line_fraction=CFG.max_short_line_fraction,
                terminal_punctuation_line_fraction=CFG.min_terminal_punctuation_line_fraction)
    assert Q.quality_score(s, CFG) == pytest.approx(3.55 / 6, abs=0.005)


def test_unsegmented_languages_are_judged_by_characters():
    # Chinese prose: a few whitespace "words" that are whole clauses.
    zh = ("我们在周末去了城市的图书馆，借了许多关于历史和科学的书籍。" * 3 + " "
          "图书馆的工作人员非常热情，帮助我们找到了需要的资料和阅览室。" * 3)
    s = Q.compute_signals(zh)
    assert s.n_words < CFG.min_words and s.mean_word_length > CFG.max_mean_word_length
    # Without a language the whitespace rules misfire; as Chinese the text passes.
    assert Q.REASON_MEAN_WORD_LENGTH in Q.failed_rules(s, CFG, None)
    assert Q.failed_rules(s, CFG, "zh") == []
    assert Q.failed_rules(s, CFG, "zh-Hant") == []
    assert Q.quality_score(s, CFG, "zh") > Q.quality_score(s, CFG, None)
    # A short Chinese snippet still has too few (estimated) words.
    assert Q.REASON_TOO_FEW_WORDS in Q.failed_rules(Q.compute_signals("你好，世界。"), CFG, "zh")
