"""Document-level quality signals, the keep/drop rules on them, and a quality score.

Sits after cleaning and before chunking. The rules follow the Gopher quality filter (Rae et al.
2021, "Scaling Language Models", appendix A): they are cheap, language-agnostic enough for a first
cut, and their thresholds are published, so every drop can be traced to a cited value in conf/.
Each rule is a small function returning its reason code when the document fails it.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from lakeprep.config import DocumentFilterSettings

REASON_EMPTY_AFTER_CLEANING = "empty_after_cleaning"
REASON_TOO_FEW_WORDS = "too_few_words"
REASON_MEAN_WORD_LENGTH = "mean_word_length_out_of_range"
REASON_LOW_ALPHA_WORDS = "low_alpha_word_fraction"
REASON_HIGH_SYMBOL_RATIO = "high_symbol_word_ratio"
REASON_DUPLICATE_LINES = "high_duplicate_line_fraction"

_HAS_LETTER = re.compile(r"[^\W\d_]")
# Gopher counts "#" and ellipses ("..." or the single character) as the symbols of link farms,
# hashtag lists and truncated teasers.
_SYMBOLS = re.compile(r"#|\.\.\.|…")
_PUNCTUATION_ONLY = re.compile(r"^[^\w]+$")


@dataclass(frozen=True)
class DocumentSignals:
    n_chars: int
    n_words: int
    mean_word_length: float
    alpha_word_fraction: float
    symbol_word_ratio: float
    duplicate_line_fraction: float


def compute_signals(text: str) -> DocumentSignals:
    """Signals over whitespace-separated words and non-empty lines, as Gopher defines them."""
    words = text.split()
    n_words = len(words)
    # Punctuation-only tokens ("-", "--", "|") are layout, not words: they would drag the mean
    # word length down on perfectly good prose with dashes.
    lengths = [len(w) for w in words if not _PUNCTUATION_ONLY.match(w)]
    mean_len = sum(lengths) / len(lengths) if lengths else 0.0
    alpha = sum(1 for w in words if _HAS_LETTER.search(w)) / n_words if n_words else 0.0
    symbols = len(_SYMBOLS.findall(text)) / n_words if n_words else 0.0
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    counts = Counter(lines)
    duplicated = sum(c for c in counts.values() if c > 1) - sum(1 for c in counts.values() if c > 1)
    dup_fraction = duplicated / len(lines) if lines else 0.0
    return DocumentSignals(
        n_chars=len(text),
        n_words=n_words,
        mean_word_length=round(mean_len, 4),
        alpha_word_fraction=round(alpha, 4),
        symbol_word_ratio=round(symbols, 4),
        duplicate_line_fraction=round(dup_fraction, 4),
    )


def reject_too_few_words(s: DocumentSignals, cfg: DocumentFilterSettings) -> str | None:
    # Too little context to teach anything; also catches titles, stubs and empty redirects.
    return REASON_TOO_FEW_WORDS if s.n_words < cfg.min_words else None


def reject_mean_word_length(s: DocumentSignals, cfg: DocumentFilterSettings) -> str | None:
    # Very short mean = number tables / tokens soup; very long = URLs, hashes, base64, no spaces.
    out_of_range = not (cfg.min_mean_word_length <= s.mean_word_length <= cfg.max_mean_word_length)
    return REASON_MEAN_WORD_LENGTH if out_of_range else None


def reject_low_alpha_words(s: DocumentSignals, cfg: DocumentFilterSettings) -> str | None:
    # Natural language is mostly words with letters; numbers and symbols dominate logs and dumps.
    return REASON_LOW_ALPHA_WORDS if s.alpha_word_fraction < cfg.min_alpha_word_fraction else None


def reject_high_symbol_ratio(s: DocumentSignals, cfg: DocumentFilterSettings) -> str | None:
    # Hashtag lists and "read more..." teasers are navigation, not content.
    return REASON_HIGH_SYMBOL_RATIO if s.symbol_word_ratio > cfg.max_symbol_word_ratio else None


def reject_duplicate_lines(s: DocumentSignals, cfg: DocumentFilterSettings) -> str | None:
    # Repeated lines are menus, footers and templates; training on them teaches repetition.
    too_repetitive = s.duplicate_line_fraction > cfg.max_duplicate_line_fraction
    return REASON_DUPLICATE_LINES if too_repetitive else None


# Order matters only for which reason is reported first (reject_reason); all failures are kept.
DOCUMENT_RULES = (
    reject_too_few_words,
    reject_mean_word_length,
    reject_low_alpha_words,
    reject_high_symbol_ratio,
    reject_duplicate_lines,
)


def failed_rules(s: DocumentSignals, cfg: DocumentFilterSettings) -> list[str]:
    if s.n_words == 0:
        return [REASON_EMPTY_AFTER_CLEANING]
    return [reason for rule in DOCUMENT_RULES if (reason := rule(s, cfg)) is not None]


def quality_score(s: DocumentSignals, cfg: DocumentFilterSettings) -> float:
    """A score in [0, 1]: the mean of five component scores, each 1.0 for a clearly good value.

    - length: n_words / (4 * min_words), capped at 1 (longer documents carry more context);
    - alphabetic words: the alpha word fraction itself;
    - word length: 1 inside [min, max] mean word length, falling linearly to 0 one minimum-length
      away from the range;
    - symbols: 1 - symbol_word_ratio / (2 * max ratio), floored at 0;
    - repetition: 1 - duplicate_line_fraction.
    A document exactly at every threshold scores about 0.65; clean prose of a few hundred words
    scores above 0.95. Users pick their own cut-off in SQL (``WHERE quality_score >= 0.8``).
    """
    if s.n_words == 0:
        return 0.0
    length = min(1.0, s.n_words / (4 * cfg.min_words)) if cfg.min_words else 1.0
    lo, hi = cfg.min_mean_word_length, cfg.max_mean_word_length
    distance = max(lo - s.mean_word_length, s.mean_word_length - hi, 0.0)
    word_len = max(0.0, 1.0 - distance / lo) if lo > 0 else (1.0 if distance == 0 else 0.0)
    symbols = max(0.0, 1.0 - s.symbol_word_ratio / (2 * cfg.max_symbol_word_ratio)) \
        if cfg.max_symbol_word_ratio > 0 else float(s.symbol_word_ratio == 0)
    components = (length, s.alpha_word_fraction, word_len, symbols, 1.0 - s.duplicate_line_fraction)
    return round(sum(components) / len(components), 4)
