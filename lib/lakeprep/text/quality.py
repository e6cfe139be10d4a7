"""Document-level quality signals, the keep/warn/drop rules on them, and a quality score.

Sits after cleaning and before chunking. The rules follow published heuristic filters, so every
threshold in conf/ traces back to a cited default:

- Gopher (Rae et al. 2021, "Scaling Language Models", appendix A): word count, mean word length,
  symbol ratio, alphabetic words, stop words, bullet / ellipsis lines, and the repetition family
  (duplicate lines and paragraphs, by count and by characters; top and duplicated word n-grams);
- C4 (Raffel et al. 2020, section 2.2): "lorem ipsum" placeholder text, curly brackets (code);
- FineWeb (Penedo et al. 2024, section 3.5): share of lines ending in terminal punctuation,
  share of short lines.

They are cheap, mostly language-agnostic (the stop-word rule is English-only and applied only to
documents known to be in a configured language), and each is a small function returning its
reason code when the document breaks it. Every rule has an action in conf
(``document_filter.actions``): ``drop`` rejects the document, ``warn`` keeps it and records the
reason code as a warning. ``evaluate`` returns both lists; ``failed_rules`` returns the drop list.

Units: "words" are whitespace-separated tokens; "lines" are the non-empty lines, stripped of
surrounding whitespace (blank lines are paragraph layout, not content); "paragraphs" are the
non-empty blocks between blank lines. Character fractions are over the characters of the units
themselves (word characters for n-grams, line characters for lines), so layout whitespace never
dilutes or inflates them.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import compress, count, repeat
from operator import add, itemgetter, mul

import numpy as np
import pandas as pd

from lakeprep.config import DocumentFilterSettings
from lakeprep.text.blocks import whitespace_blocks

ACTION_DROP = "drop"
ACTION_WARN = "warn"
ACTIONS = (ACTION_DROP, ACTION_WARN)

REASON_EMPTY_AFTER_CLEANING = "empty_after_cleaning"
REASON_TOO_FEW_WORDS = "too_few_words"
REASON_MEAN_WORD_LENGTH = "mean_word_length_out_of_range"
REASON_LOW_ALPHA_WORDS = "low_alpha_word_fraction"
REASON_HIGH_SYMBOL_RATIO = "high_symbol_word_ratio"
REASON_DUPLICATE_LINES = "high_duplicate_line_fraction"
REASON_FEW_STOP_WORDS = "too_few_stop_words"
REASON_BULLET_LINES = "high_bullet_line_fraction"
REASON_ELLIPSIS_LINES = "high_ellipsis_line_fraction"
REASON_DUPLICATE_PARAGRAPHS = "high_duplicate_paragraph_fraction"
REASON_DUPLICATE_LINE_CHARS = "high_duplicate_line_char_fraction"
REASON_DUPLICATE_PARAGRAPH_CHARS = "high_duplicate_paragraph_char_fraction"
TOP_NGRAM_SIZES = (2, 3, 4)
DUPLICATE_NGRAM_SIZES = (5, 6, 7, 8, 9, 10)
NGRAM_SIZES = TOP_NGRAM_SIZES + DUPLICATE_NGRAM_SIZES
REASON_TOP_NGRAM = {n: f"high_top_{n}gram_char_fraction" for n in TOP_NGRAM_SIZES}
REASON_DUPLICATE_NGRAM = {n: f"high_duplicate_{n}gram_char_fraction" for n in DUPLICATE_NGRAM_SIZES}
REASON_LOW_TERMINAL_PUNCTUATION = "low_terminal_punctuation_line_fraction"
REASON_SHORT_LINES = "high_short_line_fraction"
REASON_LOREM_IPSUM = "lorem_ipsum"
REASON_CURLY_BRACKET = "curly_bracket"

# FineWeb's definition of a short line (datatrove FineWebQualityFilter, short_line_length=30).
# Part of what the signal *is*, like the bullet characters below; the threshold on the share of
# such lines is in conf.
SHORT_LINE_MAX_CHARS = 30
# The n-gram signals look at the first NGRAM_MAX_WORDS words only. Repetition shows within the
# first 100,000 words (about 600 kB of text) of any document; beyond that the n-gram tables of a
# multi-megabyte dump would cost hundreds of MB and seconds per document in a Spark worker.
NGRAM_MAX_WORDS = 100_000
# From this many words on, the n-gram signals use numpy/pandas (see _ngram_fractions): measured
# break-even with the plain-Python path on the dev corpus is about 300-400 words.
NUMPY_MIN_WORDS = 500

_HAS_LETTER = re.compile(r"[^\W\d_]")
# Gopher counts "#" and ellipses ("..." or the single character) as the symbols of link farms,
# hashtag lists and truncated teasers.
_SYMBOLS = re.compile(r"#|\.\.\.|…")
_PUNCTUATION_ONLY = re.compile(r"^[^\w]+$")
# Gopher's stop words, matched as whole whitespace-separated words in any case and with
# punctuation attached ("The", "and,", "(of"), so sentence position and commas do not hide them.
_STOP_WORD = re.compile(r"[^\w\s]*(?:the|be|to|of|and|that|have|with)[^\w\s]*", re.IGNORECASE)
# Longer tokens cannot be a stop word with a little punctuation: skip the regex for them.
_STOP_WORD_MAX_CHARS = 12
# Bullet glyphs start a list item on their own; ASCII "-", "*", "+" only when followed by a space
# (Markdown list syntax), so "--verbose", "-5 °C", "***" rules and "*emphasis*" are not bullets.
# Dashes "–" / "—" are left out: they open dialogue lines in French, Spanish or Russian prose.
_BULLET_LINE = re.compile(r"[•‣◦⁃∙●○▪▫■□►▸▶➢➤✓✔·]|[-*+]\s")
_ELLIPSIS_END = ("...", "…")
# FineWeb's terminal punctuation (. ! ? " '), plus typographic closing quotes and the CJK full
# stops, so quoted and CJK prose counts as punctuated too.
_TERMINAL_PUNCTUATION = (".", "!", "?", '"', "'", "”", "’", "»", "。", "！", "？")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# C4 drops pages with the placeholder text (any case, on one line). Unlike C4's plain substring
# test, "lorem" must start a word: Cicero's own "Qui dolorem ipsum quia dolor sit amet", quoted
# in real documentation (perlpodspec), is not placeholder text.
_LOREM_IPSUM = re.compile(r"\blorem[ \t]+ipsum", re.IGNORECASE)


@dataclass(frozen=True)
class DocumentSignals:
    n_chars: int
    n_words: int
    mean_word_length: float
    alpha_word_fraction: float
    symbol_word_ratio: float
    duplicate_line_fraction: float
    stop_word_count: int
    bullet_line_fraction: float
    ellipsis_line_fraction: float
    duplicate_paragraph_fraction: float
    duplicate_line_char_fraction: float
    duplicate_paragraph_char_fraction: float
    top_2gram_char_fraction: float
    top_3gram_char_fraction: float
    top_4gram_char_fraction: float
    duplicate_5gram_char_fraction: float
    duplicate_6gram_char_fraction: float
    duplicate_7gram_char_fraction: float
    duplicate_8gram_char_fraction: float
    duplicate_9gram_char_fraction: float
    duplicate_10gram_char_fraction: float
    terminal_punctuation_line_fraction: float
    short_line_fraction: float
    has_lorem_ipsum: bool
    has_curly_bracket: bool

    def top_ngram_char_fraction(self, n: int) -> float:
        return getattr(self, f"top_{n}gram_char_fraction")

    def duplicate_ngram_char_fraction(self, n: int) -> float:
        return getattr(self, f"duplicate_{n}gram_char_fraction")


@dataclass(frozen=True)
class Verdict:
    """What the rules decided: the reasons that drop the document, and those that only warn.

    Both lists are in rule order; ``drop_reasons[0]`` is the document's reject_reason.
    """

    drop_reasons: list[str]
    warnings: list[str]

    @property
    def dropped(self) -> bool:
        return bool(self.drop_reasons)

    @property
    def reject_reason(self) -> str | None:
        return self.drop_reasons[0] if self.drop_reasons else None


def _duplicate_fractions(units: list[str]) -> tuple[float, float]:
    """(share of units that repeat an earlier one, share of characters in those repeats).

    The first occurrence is the content; only the copies after it are duplication (as in
    Gopher's and datatrove's counting), so a text repeated twice scores 0.5, not 1.0.
    """
    if not units:
        return 0.0, 0.0
    repeated = repeated_chars = 0
    for unit, copies in Counter(units).items():
        if copies > 1:
            repeated += copies - 1
            repeated_chars += len(unit) * (copies - 1)
    total_chars = sum(map(len, units))
    return repeated / len(units), (repeated_chars / total_chars if total_chars else 0.0)


def _ngram_fractions(words: list[str]) -> dict[int, float]:
    """Gopher's n-gram repetition signals over words (the first NGRAM_MAX_WORDS of them).

    - n = 2, 3, 4 ("top"): the share of word characters covered by the most frequent n-gram.
      An n-gram seen only once is not repetition, so the value is 0 then (a 10-word stub would
      otherwise have a "top 2-gram" covering 20 % of it); ties go to the n-gram seen first.
    - n = 5..10 ("duplicate"): the share of word characters covered by repeated n-grams, counted
      as datatrove does in spirit: an n-gram's first occurrence is content and only its later
      occurrences are duplication, so a text pasted twice scores 0.5, not 1.0.
    Either way a word covered by several overlapping occurrences counts once, and the
    denominator is the characters of all the words examined.

    Why it is fast (datatrove spends ~10 ms per document here): words become integer ids and an
    n-gram is one integer (previous key * vocabulary size + next id), never a joined string; and
    repetition narrows down: an (n+1)-gram can repeat only where its n-gram prefix repeats, so
    after one pass over all 2-grams every longer size looks only at the positions still repeated
    (few in ordinary prose). Two equivalent implementations share that plan: plain Python
    (Counter, itertools: C loops, no per-call overhead) for short documents, numpy + pandas'
    hash-table factorize for documents of NUMPY_MIN_WORDS words or more, where their fixed cost
    per call is repaid (4x faster over the dev corpus's 1,000+-word documents). Tests check
    they agree.
    """
    words = words[:NGRAM_MAX_WORDS]
    if len(words) >= NUMPY_MIN_WORDS:
        return _ngram_fractions_numpy(words)
    return _ngram_fractions_python(words)


def _ngram_fractions_python(words: list[str]) -> dict[int, float]:
    out = dict.fromkeys(NGRAM_SIZES, 0.0)
    n_words = len(words)
    lengths = list(map(len, words))
    total = sum(lengths)
    if not total:
        return out
    index = dict(zip(dict.fromkeys(words), count()))
    ids = list(map(index.__getitem__, words))
    base = len(index)
    starts: Sequence[int] = range(n_words)
    keys: list[int] = ids
    for n in NGRAM_SIZES:
        # Extend every surviving (n-1)-gram by its next word; keys stay exact integers.
        cut = bisect_left(starts, n_words - n + 1)
        starts, keys = starts[:cut], keys[:cut]
        keys = list(map(add, map(mul, keys, repeat(base)),
                        map(ids.__getitem__, map(add, starts, repeat(n - 1)))))
        counts = Counter(keys)
        repeated = list(map((1).__lt__, map(counts.__getitem__, keys)))
        starts, keys = list(compress(starts, repeated)), list(compress(keys, repeated))
        if not starts:
            break  # nothing repeats at this size, so nothing longer can
        if n in TOP_NGRAM_SIZES:
            top, _ = max(counts.items(), key=itemgetter(1))  # first maximum = first seen
            covering = compress(starts, map(top.__eq__, keys))
        else:
            first = dict(zip(reversed(keys), reversed(starts)))  # key -> its first position
            covering = compress(starts, map(int.__ne__, map(first.__getitem__, keys), starts))
        covered = bytearray(n_words)
        ones = b"\x01" * n
        for i in covering:
            covered[i:i + n] = ones
        out[n] = sum(compress(lengths, covered)) / total
    return out


def _ngram_fractions_numpy(words: list[str]) -> dict[int, float]:
    out = dict.fromkeys(NGRAM_SIZES, 0.0)
    n_words = len(words)
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=n_words)
    total = int(lengths.sum())
    if not total:
        return out
    # factorize numbers values in order of first appearance, so code order is "first seen".
    ids, vocabulary = pd.factorize(np.array(words, dtype=object))
    ids = ids.astype(np.int64)
    base = len(vocabulary)
    starts = np.arange(n_words, dtype=np.int64)
    keys = ids
    for n in NGRAM_SIZES:
        cut = int(np.searchsorted(starts, n_words - n + 1))
        starts, keys = starts[:cut], keys[:cut]
        # Previous keys are dense codes (< n_words), so key * base + id < n_words * base: exact.
        keys = keys * base + ids[starts + (n - 1)]
        codes, _ = pd.factorize(keys)
        per_code = np.bincount(codes)
        repeated = per_code[codes] > 1
        if not repeated.any():
            break
        if n in TOP_NGRAM_SIZES:
            covering = starts[codes == int(np.argmax(per_code))]  # first maximum = first seen
        else:
            # A position is its n-gram's first occurrence when its code is new, i.e. larger
            # than every code before it.
            seen_max = np.maximum.accumulate(codes)
            later = np.ones(len(codes), dtype=bool)
            later[0] = False
            later[1:] = codes[1:] <= seen_max[:-1]
            covering = starts[repeated & later]
        # Words covered by at least one interval [start, start + n): +1 at starts, -1 at ends.
        # Every start is <= n_words - n, so both counts have exactly n_words + 1 entries.
        delta = (np.bincount(covering, minlength=n_words + 1)
                 - np.bincount(covering + n, minlength=n_words + 1))
        depth = np.cumsum(delta[:n_words])
        out[n] = int(lengths[depth > 0].sum()) / total
        starts, keys = starts[repeated], codes[repeated].astype(np.int64)
    return out


def _has_lorem_ipsum(text: str) -> bool:
    # A case-insensitive regex scans slowly (no literal to search for); a plain substring test
    # on the lower-cased text rules out almost every document first. Lower-cased a block at a
    # time: a whole long text's lower() has a transient peak of ~12 bytes per character.
    return (any("ipsum" in block.lower() for block in whitespace_blocks(text))
            and _LOREM_IPSUM.search(text) is not None)


def compute_signals(text: str) -> DocumentSignals:
    """All signals of one cleaned document (see the module docstring for the units)."""
    # Words are counted a block at a time and only the n-gram signals' first NGRAM_MAX_WORDS
    # are kept: a long document's full word list is one object per word (lakeprep.text.blocks).
    word_counts: Counter[str] = Counter()
    head: list[str] = []
    n_words = 0
    for block in whitespace_blocks(text):
        block_words = block.split()
        n_words += len(block_words)
        word_counts.update(block_words)
        if len(head) < NGRAM_MAX_WORDS:
            head += block_words[:NGRAM_MAX_WORDS - len(head)]
    # Word signals are computed once per distinct word and weighted by its count: documents
    # repeat their words, so this halves the regex work of a per-word loop.
    alpha_words = stop_words = length_words = length_chars = 0
    for word, occurrences in word_counts.items():
        # isalpha() first: a C call that settles most words without the regex.
        if word.isalpha() or _HAS_LETTER.search(word):
            alpha_words += occurrences
            length_words += occurrences
            length_chars += len(word) * occurrences
            if len(word) <= _STOP_WORD_MAX_CHARS and _STOP_WORD.fullmatch(word):
                stop_words += occurrences
        elif not _PUNCTUATION_ONLY.match(word):
            # Punctuation-only tokens ("-", "--", "|") are layout, not words: they would drag
            # the mean word length down on perfectly good prose with dashes.
            length_words += occurrences
            length_chars += len(word) * occurrences
    mean_len = length_chars / length_words if length_words else 0.0
    alpha = alpha_words / n_words if n_words else 0.0
    symbols = len(_SYMBOLS.findall(text)) / n_words if n_words else 0.0

    lines = [ln for ln in map(str.strip, text.split("\n")) if ln]
    n_lines = len(lines)
    dup_lines, dup_line_chars = _duplicate_fractions(lines)
    paragraphs = [p for p in map(str.strip, _PARAGRAPH_BREAK.split(text)) if p]
    dup_paragraphs, dup_paragraph_chars = _duplicate_fractions(paragraphs)
    bullets = sum(1 for ln in lines if _BULLET_LINE.match(ln))
    ellipses = sum(1 for ln in lines if ln.endswith(_ELLIPSIS_END))
    punctuated = sum(1 for ln in lines if ln.endswith(_TERMINAL_PUNCTUATION))
    short = sum(1 for ln in lines if len(ln) <= SHORT_LINE_MAX_CHARS)

    ngrams = _ngram_fractions(head)

    def frac(matching_lines: int) -> float:
        return round(matching_lines / n_lines, 4) if n_lines else 0.0

    return DocumentSignals(
        n_chars=len(text),
        n_words=n_words,
        mean_word_length=round(mean_len, 4),
        alpha_word_fraction=round(alpha, 4),
        symbol_word_ratio=round(symbols, 4),
        duplicate_line_fraction=round(dup_lines, 4),
        stop_word_count=stop_words,
        bullet_line_fraction=frac(bullets),
        ellipsis_line_fraction=frac(ellipses),
        duplicate_paragraph_fraction=round(dup_paragraphs, 4),
        duplicate_line_char_fraction=round(dup_line_chars, 4),
        duplicate_paragraph_char_fraction=round(dup_paragraph_chars, 4),
        top_2gram_char_fraction=round(ngrams[2], 4),
        top_3gram_char_fraction=round(ngrams[3], 4),
        top_4gram_char_fraction=round(ngrams[4], 4),
        duplicate_5gram_char_fraction=round(ngrams[5], 4),
        duplicate_6gram_char_fraction=round(ngrams[6], 4),
        duplicate_7gram_char_fraction=round(ngrams[7], 4),
        duplicate_8gram_char_fraction=round(ngrams[8], 4),
        duplicate_9gram_char_fraction=round(ngrams[9], 4),
        duplicate_10gram_char_fraction=round(ngrams[10], 4),
        terminal_punctuation_line_fraction=frac(punctuated),
        short_line_fraction=frac(short),
        has_lorem_ipsum=_has_lorem_ipsum(text),
        has_curly_bracket="{" in text,
    )


# ---------------------------------------------------------------------------------------------
# Rules: each takes (signals, settings, language) and returns its reason code or None.
# ---------------------------------------------------------------------------------------------

Rule = Callable[[DocumentSignals, DocumentFilterSettings, "str | None"], "str | None"]


def _unsegmented(language: str | None, cfg: DocumentFilterSettings) -> bool:
    return _primary_language(language) in cfg.unsegmented_languages


def estimated_words(s: DocumentSignals, cfg: DocumentFilterSettings,
                    language: str | None = None) -> float:
    """Whitespace words, or for languages written without spaces, characters per word."""
    if _unsegmented(language, cfg):
        return max(s.n_words, s.n_chars / cfg.unsegmented_chars_per_word)
    return s.n_words


def reject_too_few_words(s: DocumentSignals, cfg: DocumentFilterSettings,
                         language: str | None = None) -> str | None:
    # Too little context to teach anything; also catches titles, stubs and empty redirects.
    too_few = estimated_words(s, cfg, language) < cfg.min_words
    return REASON_TOO_FEW_WORDS if too_few else None


def reject_mean_word_length(s: DocumentSignals, cfg: DocumentFilterSettings,
                            language: str | None = None) -> str | None:
    # Very short mean = number tables / tokens soup; very long = URLs, hashes, base64, no spaces.
    # Meaningless where words are not separated by spaces (zh, ja, th, ...).
    if _unsegmented(language, cfg):
        return None
    out_of_range = not (cfg.min_mean_word_length <= s.mean_word_length <= cfg.max_mean_word_length)
    return REASON_MEAN_WORD_LENGTH if out_of_range else None


def reject_low_alpha_words(s: DocumentSignals, cfg: DocumentFilterSettings,
                           language: str | None = None) -> str | None:
    # Natural language is mostly words with letters; numbers and symbols dominate logs and dumps.
    return REASON_LOW_ALPHA_WORDS if s.alpha_word_fraction < cfg.min_alpha_word_fraction else None


def reject_high_symbol_ratio(s: DocumentSignals, cfg: DocumentFilterSettings,
                             language: str | None = None) -> str | None:
    # Hashtag lists and "read more..." teasers are navigation, not content.
    return REASON_HIGH_SYMBOL_RATIO if s.symbol_word_ratio > cfg.max_symbol_word_ratio else None


def reject_duplicate_lines(s: DocumentSignals, cfg: DocumentFilterSettings,
                           language: str | None = None) -> str | None:
    # Repeated lines are menus, footers and templates; training on them teaches repetition.
    too_repetitive = s.duplicate_line_fraction > cfg.max_duplicate_line_fraction
    return REASON_DUPLICATE_LINES if too_repetitive else None


def _primary_language(language: str | None) -> str | None:
    # "en", "EN", "en-US" and "en_GB" are all English: compare the primary subtag only.
    if not language:
        return None
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] or None


def reject_few_stop_words(s: DocumentSignals, cfg: DocumentFilterSettings,
                          language: str | None = None) -> str | None:
    # Real English sentences use function words; keyword lists, tables and code do not. English
    # stop words say nothing about other languages, so the rule needs a known, listed language.
    applies = _primary_language(language) in cfg.stop_word_languages
    return REASON_FEW_STOP_WORDS if applies and s.stop_word_count < cfg.min_stop_words else None


def reject_bullet_lines(s: DocumentSignals, cfg: DocumentFilterSettings,
                        language: str | None = None) -> str | None:
    # A page that is almost only list items is navigation or a link list, not running text.
    return REASON_BULLET_LINES if s.bullet_line_fraction > cfg.max_bullet_line_fraction else None


def reject_ellipsis_lines(s: DocumentSignals, cfg: DocumentFilterSettings,
                          language: str | None = None) -> str | None:
    # Many lines cut off with "..." are teaser lists and truncated snippets, not whole text.
    too_many = s.ellipsis_line_fraction > cfg.max_ellipsis_line_fraction
    return REASON_ELLIPSIS_LINES if too_many else None


def reject_duplicate_paragraphs(s: DocumentSignals, cfg: DocumentFilterSettings,
                                language: str | None = None) -> str | None:
    # Repeated blocks are pasted templates and scraped pages with the same section many times.
    too_many = s.duplicate_paragraph_fraction > cfg.max_duplicate_paragraph_fraction
    return REASON_DUPLICATE_PARAGRAPHS if too_many else None


def reject_duplicate_line_chars(s: DocumentSignals, cfg: DocumentFilterSettings,
                                language: str | None = None) -> str | None:
    # By characters: a few long repeated lines (disclaimers) weigh more than many short ones.
    too_many = s.duplicate_line_char_fraction > cfg.max_duplicate_line_char_fraction
    return REASON_DUPLICATE_LINE_CHARS if too_many else None


def reject_duplicate_paragraph_chars(s: DocumentSignals, cfg: DocumentFilterSettings,
                                     language: str | None = None) -> str | None:
    # By characters: one long repeated paragraph matters even among many short unique ones.
    too_many = s.duplicate_paragraph_char_fraction > cfg.max_duplicate_paragraph_char_fraction
    return REASON_DUPLICATE_PARAGRAPH_CHARS if too_many else None


def _top_ngram_rule(n: int) -> Rule:
    def rule(s: DocumentSignals, cfg: DocumentFilterSettings,
             language: str | None = None) -> str | None:
        # One phrase repeated over and over (spam, keyword stuffing, "click here") dominates.
        too_much = s.top_ngram_char_fraction(n) > cfg.max_top_ngram_char_fraction(n)
        return REASON_TOP_NGRAM[n] if too_much else None
    rule.__name__ = rule.__qualname__ = f"reject_top_{n}gram"
    return rule


def _duplicate_ngram_rule(n: int) -> Rule:
    def rule(s: DocumentSignals, cfg: DocumentFilterSettings,
             language: str | None = None) -> str | None:
        # Long word sequences said again and again: copy-pasted text, generated or looping pages.
        too_much = s.duplicate_ngram_char_fraction(n) > cfg.max_duplicate_ngram_char_fraction(n)
        return REASON_DUPLICATE_NGRAM[n] if too_much else None
    rule.__name__ = rule.__qualname__ = f"reject_duplicate_{n}gram"
    return rule


def reject_low_terminal_punctuation(s: DocumentSignals, cfg: DocumentFilterSettings,
                                    language: str | None = None) -> str | None:
    # Sentences end in punctuation; menus, keyword lists and tables of fragments do not.
    too_few = s.terminal_punctuation_line_fraction < cfg.min_terminal_punctuation_line_fraction
    return REASON_LOW_TERMINAL_PUNCTUATION if too_few else None


def reject_short_lines(s: DocumentSignals, cfg: DocumentFilterSettings,
                       language: str | None = None) -> str | None:
    # Pages made of short lines are navigation, link lists and headings without body text.
    return REASON_SHORT_LINES if s.short_line_fraction > cfg.max_short_line_fraction else None


def reject_lorem_ipsum(s: DocumentSignals, cfg: DocumentFilterSettings,
                       language: str | None = None) -> str | None:
    # Placeholder text means an unfinished template page: whatever surrounds it is not content.
    return REASON_LOREM_IPSUM if s.has_lorem_ipsum else None


def reject_curly_bracket(s: DocumentSignals, cfg: DocumentFilterSettings,
                         language: str | None = None) -> str | None:
    # C4's code filter: "{" marks JavaScript/CSS residue on web pages, but also real code.
    return REASON_CURLY_BRACKET if s.has_curly_bracket else None


# Order matters only for which reason is reported first (reject_reason); all failures are kept.
# The original five Gopher rules come first so their reject_reason does not change.
DOCUMENT_RULES: tuple[Rule, ...] = (
    reject_too_few_words,
    reject_mean_word_length,
    reject_low_alpha_words,
    reject_high_symbol_ratio,
    reject_duplicate_lines,
    reject_few_stop_words,
    reject_bullet_lines,
    reject_ellipsis_lines,
    reject_duplicate_paragraphs,
    reject_duplicate_line_chars,
    reject_duplicate_paragraph_chars,
    *(_top_ngram_rule(n) for n in TOP_NGRAM_SIZES),
    *(_duplicate_ngram_rule(n) for n in DUPLICATE_NGRAM_SIZES),
    reject_low_terminal_punctuation,
    reject_short_lines,
    reject_lorem_ipsum,
    reject_curly_bracket,
)

# The reason code of every rule in DOCUMENT_RULES, in the same order: the keys of
# document_filter.actions (config validation checks the conf names exactly these).
RULE_REASONS: tuple[str, ...] = (
    REASON_TOO_FEW_WORDS,
    REASON_MEAN_WORD_LENGTH,
    REASON_LOW_ALPHA_WORDS,
    REASON_HIGH_SYMBOL_RATIO,
    REASON_DUPLICATE_LINES,
    REASON_FEW_STOP_WORDS,
    REASON_BULLET_LINES,
    REASON_ELLIPSIS_LINES,
    REASON_DUPLICATE_PARAGRAPHS,
    REASON_DUPLICATE_LINE_CHARS,
    REASON_DUPLICATE_PARAGRAPH_CHARS,
    *(REASON_TOP_NGRAM[n] for n in TOP_NGRAM_SIZES),
    *(REASON_DUPLICATE_NGRAM[n] for n in DUPLICATE_NGRAM_SIZES),
    REASON_LOW_TERMINAL_PUNCTUATION,
    REASON_SHORT_LINES,
    REASON_LOREM_IPSUM,
    REASON_CURLY_BRACKET,
)


def evaluate(s: DocumentSignals, cfg: DocumentFilterSettings,
             language: str | None = None) -> Verdict:
    """Run every rule; each failure goes to drop_reasons or warnings by its configured action.

    ``language`` is the document's language code ("en", "en-US", ...) or None when unknown;
    only the stop-word rule uses it, and it is skipped for None or an unlisted language.
    An empty document is always dropped as empty_after_cleaning (no rule can judge it).
    """
    if s.n_words == 0:
        return Verdict(drop_reasons=[REASON_EMPTY_AFTER_CLEANING], warnings=[])
    drops: list[str] = []
    warnings: list[str] = []
    for rule in DOCUMENT_RULES:
        reason = rule(s, cfg, language)
        if reason is None:
            continue
        # Loaded settings name every rule; settings built in code may not, and an unlisted
        # rule then drops, as in the papers the rules come from.
        if cfg.actions.get(reason, ACTION_DROP) == ACTION_WARN:
            warnings.append(reason)
        else:
            drops.append(reason)
    return Verdict(drop_reasons=drops, warnings=warnings)


def failed_rules(s: DocumentSignals, cfg: DocumentFilterSettings,
                 language: str | None = None) -> list[str]:
    """The reasons that drop the document (warn-only failures excluded), in rule order."""
    return evaluate(s, cfg, language).drop_reasons


def _below_max(value: float, limit: float) -> float:
    # 1.0 at 0, 0.5 at the drop threshold, 0.0 at twice the threshold.
    return max(0.0, 1.0 - value / (2 * limit)) if limit > 0 else float(value == 0)


def _above_min(value: float, limit: float) -> float:
    # 1.0 at twice the minimum or more, 0.5 at the threshold, 0.0 at 0.
    return min(1.0, value / (2 * limit)) if limit > 0 else 1.0


def quality_score(s: DocumentSignals, cfg: DocumentFilterSettings,
                  language: str | None = None) -> float:
    """A score in [0, 1]: the mean of six component scores, each 1.0 for a clearly good value,
    halved for a lorem-ipsum page.

    - length: n_words / (4 * min_words), capped at 1 (longer documents carry more context);
    - alphabetic words: the alpha word fraction itself;
    - word length: 1 inside [min, max] mean word length, falling linearly to 0 one minimum-length
      away from the range;
    - symbols: 1 - symbol_word_ratio / (2 * max ratio), floored at 0;
    - repetition: the worst of the repetition signals (duplicate lines and paragraphs by count
      and by characters, top 2-4-gram and duplicated 5-10-gram character fractions), each as
      1 - value / (2 * its threshold), floored at 0: 1.0 without repetition, 0.5 at a threshold;
    - line structure: the worst of bullet lines, ellipsis lines and short lines (same form) and
      terminal punctuation (min(1, fraction / (2 * threshold)): 1.0 from 24 % of lines punctuated).
    Raised by: length, words with letters, prose-like word lengths, lines that end in sentences.
    Lowered by: symbols, any kind of repetition, lists, truncated or short lines; "lorem ipsum"
    halves the score. The stop-word count and curly brackets are not part of it: the first is
    English-only (scores must compare across languages) and the second marks code, not junk.
    For languages written without spaces (``unsegmented_languages``) the length uses the
    estimated word count and the word-length part is 1.
    A document exactly at every threshold scores about 0.59; clean prose of a few hundred words
    scores above 0.9. Users pick their own cut-off in SQL (``WHERE quality_score >= 0.8``).
    """
    if s.n_words == 0:
        return 0.0
    n_words = estimated_words(s, cfg, language)
    length = min(1.0, n_words / (4 * cfg.min_words)) if cfg.min_words else 1.0
    lo, hi = cfg.min_mean_word_length, cfg.max_mean_word_length
    distance = max(lo - s.mean_word_length, s.mean_word_length - hi, 0.0)
    word_len = max(0.0, 1.0 - distance / lo) if lo > 0 else (1.0 if distance == 0 else 0.0)
    if _unsegmented(language, cfg):
        word_len = 1.0  # no word boundaries to measure
    symbols = _below_max(s.symbol_word_ratio, cfg.max_symbol_word_ratio)
    repetition = min(
        _below_max(s.duplicate_line_fraction, cfg.max_duplicate_line_fraction),
        _below_max(s.duplicate_paragraph_fraction, cfg.max_duplicate_paragraph_fraction),
        _below_max(s.duplicate_line_char_fraction, cfg.max_duplicate_line_char_fraction),
        _below_max(s.duplicate_paragraph_char_fraction, cfg.max_duplicate_paragraph_char_fraction),
        *(_below_max(s.top_ngram_char_fraction(n), cfg.max_top_ngram_char_fraction(n))
          for n in TOP_NGRAM_SIZES),
        *(_below_max(s.duplicate_ngram_char_fraction(n), cfg.max_duplicate_ngram_char_fraction(n))
          for n in DUPLICATE_NGRAM_SIZES),
    )
    lines = min(
        _below_max(s.bullet_line_fraction, cfg.max_bullet_line_fraction),
        _below_max(s.ellipsis_line_fraction, cfg.max_ellipsis_line_fraction),
        _below_max(s.short_line_fraction, cfg.max_short_line_fraction),
        _above_min(s.terminal_punctuation_line_fraction,
                   cfg.min_terminal_punctuation_line_fraction),
    )
    components = (length, s.alpha_word_fraction, word_len, symbols, repetition, lines)
    score = sum(components) / len(components)
    if s.has_lorem_ipsum:
        score /= 2
    return round(score, 4)
