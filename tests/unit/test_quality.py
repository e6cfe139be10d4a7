"""Document quality rules: each rule fails a document that breaks it and passes one that doesn't."""
import dataclasses

import pytest

from lakeprep.config import load_settings
from lakeprep.text import quality as Q

CFG = load_settings().document_filter
PROSE = ("The river rose slowly through the night, and by morning the lower fields were under "
         "water. Farmers moved their animals to the hill pastures while the town council met to "
         "decide whether the old bridge could still carry the weight of the supply trucks. ") * 3


def reasons(text, cfg=CFG):
    return Q.failed_rules(Q.compute_signals(text), cfg)


def test_clean_prose_passes_every_rule():
    assert reasons(PROSE) == []


def test_too_few_words():
    assert reasons("A short note about nothing much.") == [Q.REASON_TOO_FEW_WORDS]
    # The same text passes once the threshold is below its length: the rule, not chance, decides.
    lenient = dataclasses.replace(CFG, min_words=3)
    assert Q.REASON_TOO_FEW_WORDS not in reasons("A short note about nothing much.", lenient)


def test_empty_after_cleaning():
    assert reasons("") == [Q.REASON_EMPTY_AFTER_CLEANING]


def test_mean_word_length_out_of_range():
    long_words = " ".join(["Pneumonoultramicroscopicsilicovolcanoconiosis"] * 60)
    assert Q.REASON_MEAN_WORD_LENGTH in reasons(long_words)
    short_words = " ".join(["a b c d"] * 30)
    assert Q.REASON_MEAN_WORD_LENGTH in reasons(short_words)
    assert Q.REASON_MEAN_WORD_LENGTH not in reasons(PROSE)


def test_low_alpha_word_fraction():
    numbers = PROSE + " " + " ".join(str(n) for n in range(10000, 10200))
    assert Q.REASON_LOW_ALPHA_WORDS in reasons(numbers)
    assert Q.REASON_LOW_ALPHA_WORDS not in reasons(PROSE)


def test_high_symbol_word_ratio():
    tags = PROSE + " " + " ".join(f"#tag{i}" for i in range(40)) + " read more..." * 5
    assert Q.REASON_HIGH_SYMBOL_RATIO in reasons(tags)
    assert Q.REASON_HIGH_SYMBOL_RATIO not in reasons(PROSE)


def test_duplicate_lines():
    menu = "\n".join(["Home | About | Contact"] * 10 + [PROSE[:200], PROSE[200:400]])
    s = Q.compute_signals(menu)
    assert s.duplicate_line_fraction == pytest.approx(9 / 12, abs=1e-3)
    assert Q.REASON_DUPLICATE_LINES in Q.failed_rules(s, CFG)
    assert Q.REASON_DUPLICATE_LINES not in reasons(PROSE)


def test_every_rule_is_registered():
    # Removing a rule from DOCUMENT_RULES would silently stop it: the tests above catch that, and
    # this one names the set so an addition is a conscious change.
    assert len(Q.DOCUMENT_RULES) == 5


def test_quality_score_range_and_order():
    good = Q.quality_score(Q.compute_signals(PROSE), CFG)
    junk = Q.quality_score(Q.compute_signals("## ## ## 123 456 ... ... ...\n" * 20), CFG)
    assert 0.0 <= junk < good <= 1.0
    assert good > 0.9
    assert Q.quality_score(Q.compute_signals(""), CFG) == 0.0


def test_quality_score_at_thresholds_is_documented_value():
    s = Q.DocumentSignals(n_chars=0, n_words=CFG.min_words, mean_word_length=CFG.min_mean_word_length,
                          alpha_word_fraction=CFG.min_alpha_word_fraction,
                          symbol_word_ratio=CFG.max_symbol_word_ratio,
                          duplicate_line_fraction=CFG.max_duplicate_line_fraction)
    assert Q.quality_score(s, CFG) == pytest.approx(0.65, abs=0.01)
