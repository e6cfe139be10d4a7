"""Text cleaning: every step changes something only it handles, and cleaning is idempotent."""
import pytest

from lakeprep.config import load_settings
from lakeprep.text import clean as C

FORM = load_settings().clean.unicode_form
PROSE = ("The river rose slowly through the night, and by morning the lower fields were under "
         "water.\n\nFarmers moved their animals to the hill pastures while the town council met "
         "to decide whether the old bridge could still carry the weight of the supply trucks.")


def clean(text, form=FORM):
    return C.clean_text(text, form)


# --- the pipeline as a whole ------------------------------------------------------------------

def test_steps_are_exported_in_their_documented_order():
    assert [name for name, _ in C.CLEANING_STEPS] == [
        "strip_markup", "normalize_line_endings", "apply_backspaces", "remove_control_and_format",
        "normalize_unicode", "normalize_spaces", "collapse_whitespace", "strip_document"]


def test_plain_prose_passes_through_unchanged():
    assert clean(PROSE) == PROSE


def test_code_with_comparisons_and_generics_passes_through_unchanged():
    code = ("def pick(a, b):\n    if a < b and b > 0:\n        return a\n    return b\n\n"
            "Map<String, List<Integer>> m = new HashMap<>();\nOptional<B> b; Pair<A> p; Foo<I> i;")
    assert clean(code) == code


MIXED = (
    "\ufeff<!DOCTYPE html>\r\n<html><head><title>Caf\u00e9 &amp; Co</title>"
    "<script>if (a < b) { x = 1; }</script><style>p { color: red }</style></head>\r\n"
    "<body>\n  <!-- nav -->\n  <h1>Menu</h1>\n  <p>Cre\u0300me br\u00fbl\u00e9e&nbsp;&mdash; "
    "\u201cthe best\u201d\u200b in   town.</p>\n  <ul><li>tea</li><li>coffee</li></ul>\n"
    "  <table><tr><td>a</td><td>b</td></tr></table>\n"
    "  <pre>def f():\n\treturn 1  # two  spaces</pre>\n"
    "  <p>&amp;amp; &#39;quoted&#39; \u00a0\u3000 x\t\ty \u00ad</p>\n</body></html>\n\n\n"
)


def test_mixed_sample_is_cleaned_as_documented():
    assert clean(MIXED) == (
        "Café & Co\n\nMenu\n\nCrème brûlée — “the best” in town.\n\ntea\ncoffee\n\na b\n\n"
        "def f():\n\treturn 1 # two spaces\n\n& 'quoted' x y")


@pytest.mark.parametrize("form", ["NFC", "NFKC"])
@pytest.mark.parametrize("sample", [
    MIXED, PROSE, "  a\u00a0\u00a0b\r\n\r\n\r\n\tc\u200b  ", "&amp;amp;lt;"])
def test_cleaning_is_idempotent(sample, form):
    once = clean(sample, form)
    assert clean(once, form) == once


def test_none_and_empty_become_empty_text():
    assert clean(None) == ""
    assert clean("") == ""


def test_unknown_unicode_form_is_a_configuration_error():
    with pytest.raises(ValueError):
        clean("text", "NFX")
    # Even on an empty document, so a bad setting stops the job at once.
    with pytest.raises(ValueError):
        clean("", "NFX")


# --- 1. markup --------------------------------------------------------------------------------

def test_html_tags_are_stripped_and_blocks_become_newlines():
    html = ("<div><h2>Title</h2><p>First <b>bold</b> para.</p>"
            "<p>Second <a href='/x'>link</a>.</p></div>")
    assert clean(html) == "Title\n\nFirst bold para.\n\nSecond link."


def test_script_style_and_noscript_blocks_are_dropped_with_their_content():
    html = ("<p>keep</p><script type='text/javascript'>var hidden = 1;</script>"
            "<style>.hidden{}</style><noscript>hidden too</noscript><p>this</p>")
    assert clean(html) == "keep\n\nthis"


def test_unclosed_script_runs_to_the_end_of_a_truncated_page():
    assert clean("<p>keep</p><p>this</p><script>var cut = 'off") == "keep\n\nthis"


def test_html_comments_are_dropped_with_the_markup_they_comment_out():
    assert clean("<p>keep</p><!-- old:\n<p>hidden</p> --><p>this</p>") == "keep\n\nthis"


def test_list_items_are_lines_not_paragraphs():
    assert clean("<ul><li>tea</li><li>coffee</li></ul>") == "tea\ncoffee"


def test_line_break_tags():
    assert clean("<p>one<br>two<br/>three</p>") == "one\ntwo\nthree"


def test_table_cells_do_not_fuse():
    table = "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>"
    assert clean(table) == "a b\nc d"


def test_html_source_whitespace_is_collapsed_like_a_browser_does():
    html = "<div>\n    <p>This paragraph is\n       wrapped in the source.</p>\n</div>"
    assert clean(html) == "This paragraph is wrapped in the source."


def test_pre_blocks_keep_their_lines_and_indentation():
    html = "<p>Example:</p><pre><code>def f():\n    return 1</code></pre><p>done</p>"
    assert clean(html) == "Example:\n\ndef f():\n    return 1\n\ndone"


def test_unknown_tags_are_stripped_once_the_document_is_html():
    html = "<p>Word <o:p>document</o:p> with <my-widget>custom</my-widget> tags</p><p>end</p>"
    assert clean(html) == "Word document with custom tags\n\nend"


@pytest.mark.parametrize("start", [
    "<!DOCTYPE html>\n", "\ufeff  <!doctype HTML>", "<?xml version='1.0'?>\n<html>"])
def test_document_starting_as_html_is_html_regardless_of_density(start):
    long_text = "plain words " * 500
    assert clean(start + long_text + "<b>x</b>") == long_text.strip() + " x"


def test_prose_mentioning_an_html_tag_is_not_html():
    text = "To start a page, write <html> at the top and close it with </html> at the end."
    assert clean(text) == text


def test_two_tags_are_not_enough_to_call_a_text_html():
    text = "Write <b>bold</b> like this."
    assert clean(text) == text
    assert clean("Write <b>bold</b> and <i>italic</i>.") == "Write bold and italic."


def test_tags_without_a_closing_tag_are_not_html():
    # Three known element names, as generics produce them; no closing tag, so not markup.
    text = "Optional<B> first; Optional<I> second; Optional<U> third;"
    assert clean(text) == text
    assert clean(text + " </b>") == "Optional first; Optional second; Optional third;"


def test_sparse_tags_in_a_long_text_are_not_html():
    # Four tags in ~4,800 characters: below one tag per 1,000 characters.
    text = ("A long discussion about markup. " * 150) + "It mentions <b>bold</b> and <i>x</i> once."
    assert clean(text) == text
    dense = ("A short discussion. " * 10) + "It mentions <b>bold</b> and <i>x</i> once."
    assert clean(dense).endswith("It mentions bold and x once.")


@pytest.mark.parametrize("escaped, plain", [
    ("Fish &amp; chips", "Fish & chips"),
    ("it&#39;s", "it's"),
    ("&#x41;&#66;", "AB"),
    ("&lt;tag&gt;", "<tag>"),
    ("&copy; 2024", "© 2024"),
])
def test_entities_are_decoded_in_any_text(escaped, plain):
    assert clean(escaped) == plain


def test_entities_without_semicolon_are_left_alone():
    url = "https://example.org/?page=1&section=2&copy=3&lt=4"
    assert clean(url) == url


def test_unknown_entities_are_left_alone():
    assert clean("&notanentity; stays") == "&notanentity; stays"


def test_double_escaped_entities_are_decoded_to_the_end():
    assert clean("Tom &amp;amp; Jerry &amp;quot;live&amp;quot;") == 'Tom & Jerry "live"'


def test_entities_are_decoded_before_the_other_steps_see_the_text():
    # An entity can produce a line separator, a format character, an exotic space or a
    # combining mark; each must still be handled by its own later step.
    assert clean("a&#x2028;b") == "a\nb"
    assert clean("zero&#8203;width") == "zerowidth"
    assert clean("a&nbsp;&nbsp;b") == "a b"
    assert clean("e&#769;") == "\u00e9"


# --- 2. line endings --------------------------------------------------------------------------

def test_crlf_and_cr_become_lf():
    assert clean("one\r\ntwo\rthree") == "one\ntwo\nthree"


@pytest.mark.parametrize("separator", ["\x0b", "\x0c", "\x85", "\u2028", "\u2029"])
def test_other_line_breaks_become_lf_instead_of_fusing_words(separator):
    assert clean(f"page one{separator}page two") == "page one\npage two"


# --- 3. control and format characters ---------------------------------------------------------

@pytest.mark.parametrize("invisible", [
    "\x00", "\x07", "\x1b", "\x7f", "\x9f",  # Cc
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u202e",  # Cf
    "\ud800",  # lone surrogate: cannot be written as UTF-8
])
def test_control_format_and_surrogate_characters_are_removed(invisible):
    assert clean(f"co{invisible}operate") == "cooperate"


def test_newline_and_indenting_tab_survive_control_removal():
    assert clean("x\n\tindented") == "x\n\tindented"


def test_format_characters_go_before_normalization_so_marks_can_compose():
    # e, soft hyphen, combining acute: only once the soft hyphen is gone can NFC compose é.
    assert clean("caf" + "e\u00ad\u0301") == "caf\u00e9"


# --- 4. Unicode normalization -----------------------------------------------------------------

def test_nfc_composes_combining_sequences():
    assert clean("Cre\u0300me") == "Cr\u00e8me"


def test_nfc_keeps_compatibility_characters_and_nfkc_folds_them():
    text = "\ufb01ne x\u00b2 \uff21"  # ﬁ ligature, superscript two, full-width A
    assert clean(text, "NFC") == text
    assert clean(text, "NFKC") == "fine x2 A"


# --- 5. exotic spaces and tabs ----------------------------------------------------------------

@pytest.mark.parametrize("space", ["\u00a0", "\u2002", "\u2003", "\u2009", "\u202f", "\u3000"])
def test_exotic_spaces_become_plain_spaces(space):
    assert clean(f"a{space}b") == "a b"


def test_tabs_inside_a_line_become_spaces():
    assert clean("name\tvalue") == "name value"


def test_leading_tabs_are_indentation_and_stay():
    assert clean("if x:\n\treturn 1") == "if x:\n\treturn 1"


# --- 6. whitespace runs -----------------------------------------------------------------------

def test_trailing_whitespace_is_removed_from_every_line():
    assert clean("one  \ntwo\t\nthree") == "one\ntwo\nthree"


def test_space_runs_inside_a_line_collapse_to_one():
    assert clean("too    many   spaces") == "too many spaces"


def test_leading_indentation_is_kept():
    code = "def f():\n    if x:\n        return  1"
    assert clean(code) == "def f():\n    if x:\n        return 1"


def test_three_or_more_newlines_collapse_to_one_blank_line():
    assert clean("one\n\n\n\n\ntwo") == "one\n\ntwo"
    assert clean("one\n  \n \t \n\ntwo") == "one\n\ntwo"


def test_a_single_blank_line_is_kept_as_the_paragraph_boundary():
    assert clean("one\n\ntwo\nthree") == "one\n\ntwo\nthree"


# --- 7. document edges ------------------------------------------------------------------------

def test_document_is_stripped():
    assert clean("\n\n   text   \n\n") == "text"


def test_whitespace_only_document_becomes_empty():
    assert clean(" \n\t\u00a0\n ") == ""


def test_apply_backspaces_erases_overstrike_and_ansi():
    from lakeprep.text.clean import apply_backspaces
    # Fortune-style underlining: underscores then backspaces then the word, or "_\bx" pairs.
    assert apply_backspaces("the most *______\b\b\b\b\b\bbother*") == "the most *bother*"
    assert apply_backspaces("_\bt_\bh_\ba_\bt") == "that"
    assert apply_backspaces("\x1b[1;31mred\x1b[0m text") == "red text"
    assert apply_backspaces("plain text") == "plain text"
    assert C.clean_text("I'm not going to *___\b\b\bbot*her") == "I'm not going to *bot*her"


def test_markup_counts_match_what_strip_markup_removes():
    page = ("<html><head><style>p {color: red}</style><script>var x = 1;</script></head>"
            "<body><!-- nav --><p>Fish &amp; chips</p><p>Tea&nbsp;time</p></body></html>")
    counts = C.markup_counts(page)
    # html head /head body p /p p /p /body /html = 10 tags once the script and style blocks are gone.
    assert counts == {"html_script_style_blocks": 2, "html_comments": 1, "html_tags": 10,
                      "html_entities": 2}
    assert "<" not in C.strip_markup(page)
    # Plain text with a comparison and an unknown entity: nothing to remove, nothing counted.
    assert C.markup_counts("if a < b and b > c then &notanentity; stays") == {}
