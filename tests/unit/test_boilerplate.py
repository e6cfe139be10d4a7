"""Boilerplate removal: every kind removes what it should, counts it, and keeps prose."""
from pathlib import Path

import pytest
import yaml

from lakeprep.config import ConfigError, load_settings
from lakeprep.text.boilerplate import (
    COOKIE_NOTICE,
    JAVASCRIPT_NOTICE,
    MAIL_HEADER,
    MAIL_QUOTE_ATTRIBUTION,
    MAIL_SIGNATURE,
    NAVIGATION,
    POLICY_FOOTER,
    remove_boilerplate,
    split_mail_header,
)
from lakeprep.text.clean import clean_text

CONF = Path(__file__).resolve().parents[2] / "conf"

PROSE = ("The river flooded the lower town after three days of heavy rain, and the council "
         "opened the school gym as a shelter.")


def removed(text: str, **kwargs) -> tuple[list[str], dict[str, int]]:
    """Lines removed from ``text`` (in order) and the counts."""
    out, counts = remove_boilerplate(text, **kwargs)
    kept = out.split("\n")
    gone = []
    for line in text.split("\n"):
        if kept and kept[0] == line:
            kept.pop(0)
        elif line.strip():
            gone.append(line)
    return gone, counts


def assert_kept(text: str, **kwargs) -> None:
    out, counts = remove_boilerplate(text, **kwargs)
    assert (out, counts) == (text, {})


def assert_removed(line: str, kind: str, **kwargs) -> None:
    """``line`` between two prose paragraphs is removed alone, counted once as ``kind``."""
    text = f"{PROSE}\n\n{line}\n\n{PROSE}"
    out, counts = remove_boilerplate(text, **kwargs)
    assert out == f"{PROSE}\n\n{PROSE}"
    assert counts == {kind: 1}


# ---------------------------------------------------------------------------------------------
# navigation
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "Skip to content", "Skip to main content", "Jump to navigation", "Back to top",
    "↑ Back to top", "Next", "Previous", "« Previous", "Next »", "next →", "Next topic",
    "Older posts", "View page source", "Edit on GitHub", "Toggle navigation",
])
def test_link_lines_are_navigation(line):
    assert_removed(line, NAVIGATION)


@pytest.mark.parametrize("line", [
    "Home | About | Contact",
    "Home • Blog • Shop • Contact us",
    "Sport · Weather · Travel · Culture",  # title-like labels (not in the menu vocabulary)
    "index | modules | next | previous |",
    "« Previous | Next »",
    "Facebook Twitter LinkedIn",
])
def test_menus_are_navigation(line):
    assert_removed(line, NAVIGATION)


@pytest.mark.parametrize("line", [
    "Home > Docs > Installing",
    "You are here: Home > Products > Garden hoses",
    "Home / Blog / 2024 / Our new office",
    "Python » 3.11.2 Documentation » The Python Standard Library »",
    "Docs › Guides › Getting started",
])
def test_breadcrumbs_are_navigation(line):
    assert_removed(line, NAVIGATION)


@pytest.mark.parametrize("line", [
    "Share on Facebook", "Share this article on Twitter", "Tweet this on X",
    "Follow us on Twitter and Instagram", "Share via email",
])
def test_share_lines_are_navigation(line):
    assert_removed(line, NAVIGATION)


@pytest.mark.parametrize("text", [
    # comparisons, shell redirections and paths have ">" and "/" but do not start at "Home"
    "CLOS0 > CLOS1 > CLOS2 > CLOS3.",
    "echo 1 > /proc/sys/vm/drop_caches > /dev/null",
    "Choose File / Save As / PDF to export the drawing.",
    # flags and constants
    "METH_VARARGS | METH_KEYWORDS | METH_FASTCALL",
    "O_RDONLY | O_CREAT | O_TRUNC",
    "DMA | IRQ | MMIO",
    "Py_None | Py_True | Py_False",
    # shell pipelines: lower-case commands, options
    "cat access.log | sort | uniq -c",
    "ps aux | grep python | less",
    # a table header (rule line below) and a table body
    "Name | Size | Description\n================================\nuefi | 64-bit | System table",
    "Alice | 30 | Paris\nBob | 41 | Lyon",
    # a word that ends a wrapped sentence, or a lone menu word without any menu around it
    "The kernel picks whichever task is runnable\nnext.",
    "The scheduler then decides which task runs\nnext",
    "Home\n\n" + PROSE,
    "Contact\n\n" + PROSE,
    # an ASCII diagram's lone bar
    "CPU\n|\nv\nMemory",
    # prose that mentions links
    "Click Next to continue the installation, then Back to review your choices.",
    "Please share this article on social media if it helped you understand the new rules "
    "for pensions and taxes, which change again next year.",
])
def test_navigation_look_alikes_are_kept(text):
    assert_kept(text)


def test_indented_lines_are_never_removed():
    assert_kept("Example menu markup:\n\n    Home | About | Contact\n\tSkip to content")


def test_menu_words_go_only_next_to_a_menu():
    text = f"Skip to content\nNavigation\n|\nindex\nmodules |\n\n{PROSE}\n\nContact\n\n{PROSE}"
    gone, counts = removed(text)
    assert gone == ["Skip to content", "Navigation", "|", "index", "modules |"]
    assert counts == {NAVIGATION: 5}


def test_section_heading_is_kept_next_to_a_footer_line():
    # A reStructuredText heading "Support" two lines from a copyright line stays.
    text = f"Copyright 2008 Simtec Electronics.\n\nSupport\n-------\n\n{PROSE}"
    gone, counts = removed(text)
    assert gone == ["Copyright 2008 Simtec Electronics."]
    assert counts == {POLICY_FOOTER: 1}


# ---------------------------------------------------------------------------------------------
# cookie notices
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "This website uses cookies to improve your experience.",
    "This site uses essential cookies to work.",
    "We use cookies to personalise content and ads and to analyse our traffic.",
    "By continuing to browse this site you agree to our use of cookies.",
    "Accept all cookies",
    "Reject all cookies",
    "Cookie settings",
    "Manage your cookies",
    "Read our Cookie Policy.",
    "THIS WEBSITE USES COOKIES.",
])
def test_cookie_banners_are_removed(line):
    assert_removed(line, COOKIE_NOTICE)


def test_cookie_buttons_go_with_their_banner():
    text = (f"{PROSE}\n\nWe use cookies to give you the best online experience.\nAccept\n"
            f"Reject all\nLearn more\n\n{PROSE}\n\nOK.")
    gone, counts = removed(text)
    assert gone == ["We use cookies to give you the best online experience.", "Accept",
                    "Reject all", "Learn more"]
    assert counts == {COOKIE_NOTICE: 4}


def test_weak_lines_need_an_anchor_of_their_own_family():
    # "OK" is a cookie-banner button: next to a menu it is not navigation.
    gone, counts = removed("Home | About | Contact\nOK\n\n" + PROSE)
    assert gone == ["Home | About | Contact"]
    assert counts == {NAVIGATION: 1}


@pytest.mark.parametrize("text", [
    # a cookie recipe
    "Chocolate chip cookies\n\nWe use cookies from the bakery down the street for this trifle.\n"
    "Bake the cookies for 12 minutes, until the edges are golden.\n"
    "Store the cookies in an airtight container; accept no substitutes for real butter.",
    "Accept the cookies your grandmother offers.",
    # a cookie-consent article: long paragraph, and wrapped prose sentences
    "Regulators found that " + "many sites set tracking cookies before asking, " * 6 +
    "which the directive forbids.",
    "The audit showed that\nthis website uses cookies without consent, contrary to the law.",
    "Browsers store cookies per site; see the\nCookie settings page of your browser for details.",
    "The audit found that at checkout\nthis site uses cookies without asking for consent.",
    # a lone button-like word without a banner
    "OK\n\n" + PROSE,
])
def test_cookie_look_alikes_are_kept(text):
    assert_kept(text)


# ---------------------------------------------------------------------------------------------
# JavaScript notices
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "Please enable JavaScript to view this page.",
    "JavaScript is disabled in your browser.",
    "JavaScript is required.",
    "This site requires JavaScript.",
    "You need to enable JavaScript to run this app.",
    "Sorry, your browser does not support JavaScript!",
    "It looks like JavaScript is turned off. Please enable it in your browser settings.",
    "Please activate JavaScript to enable the search functionality.",
    "JavaScript required",
])
def test_javascript_notices_are_removed(line):
    assert_removed(line, JAVASCRIPT_NOTICE)


@pytest.mark.parametrize("text", [
    "The JavaScript engine compiles scripts to bytecode before running them.",
    "JavaScript is required knowledge for this course.",
    "JavaScript is disabled by default in the embedded view, which keeps pages fast.",
    "JavaScript is required to run the examples below, which\nuse the DOM API.",
    "Node.js runs JavaScript outside the browser.",
    "In JavaScript, one can write a = b ? c : d.",
])
def test_javascript_prose_is_kept(text):
    assert_kept(text)


# ---------------------------------------------------------------------------------------------
# policy / footer lines
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    "© 2024 Example Inc.",
    "© Copyright 2001-2026, Python Software Foundation.",
    "Copyright (c) 2019 Foo Ltd. All rights reserved.",
    "Copyright © 2012 Tom Christiansen.",
    "(c) 2006-2009 Secret Lab Technologies Ltd",
    "All rights reserved.",
    "Privacy Policy | Terms of Use",
    "Terms & Conditions | Privacy | Imprint",
    "Powered by WordPress",
    "Proudly powered by Hugo.",
    "Created using Sphinx 5.3.0.",
    "Built with Sphinx using a",
])
def test_footer_lines_are_removed(line):
    assert_removed(line, POLICY_FOOTER)


def test_wrapped_copyright_notice_is_removed_whole():
    text = (f"{PROSE}\n\nCopyright 1998 Tom Christiansen and\nother authors as noted. "
            f"All rights reserved.")
    out, counts = remove_boilerplate(text)
    assert out == PROSE
    assert counts == {POLICY_FOOTER: 2}


def test_footer_links_go_with_the_footer():
    text = f"{PROSE}\n\n© 2024 Example Inc.\nPrivacy Policy\nContact"
    out, counts = remove_boilerplate(text)
    assert out == PROSE
    assert counts == {POLICY_FOOTER: 2, NAVIGATION: 1}


@pytest.mark.parametrize("text", [
    "Copyright law protects original works of authorship.",
    "Copyright (C) 2021 Red Hat, Inc. Free use of this software is granted under\n"
    "the terms of the GNU Lesser General Public License.",
    "# Copyright (c) 2018-2019 The Linux Foundation. All rights reserved.",
    "The LED is powered by a boost converter.",
    "Powered by a boost converter, the LED\nstays lit while the board sleeps.",
    "Privacy Policy\n\nWe collect your name and address only to ship your order.",
    "All rights reserved, the tenant may not sublet the flat without the landlord's consent.",
])
def test_footer_look_alikes_are_kept(text):
    assert_kept(text)


# ---------------------------------------------------------------------------------------------
# e-mail
# ---------------------------------------------------------------------------------------------

MAIL = """\
From alice@example.com Mon Jan  1 10:00:00 2024
Received: from mail.example.com (mail.example.com [192.0.2.1])
\tby mx.example.org with ESMTPS id abc123
\tfor <bob@example.org>; Mon, 1 Jan 2024 10:00:00 +0000
Return-Path: <alice@example.com>
From: Alice Example <alice@example.com>
To: Bob <bob@example.org>
Subject: Re: Flood shelter
 =?UTF-8?B?w6AgbCfDqWNvbGU=?=
Date: Mon, 1 Jan 2024 10:00:00 +0000
Message-ID: <1234@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
X-Mailer: Example Mail 1.0

Hi Bob,

The gym is open from six tonight.

On Sun, 31 Dec 2023 at 18:00, Bob <bob@example.org> wrote:
> Is the shelter ready?
> We have forty families waiting.

Yes, and there are blankets for everyone.

--
Alice Example
Shelter coordinator"""


def test_mail_headers_quote_attribution_and_signature():
    out, counts = remove_boilerplate(MAIL)
    assert out == ("Re: Flood shelter à l'école\n\nHi Bob,\n\nThe gym is open from six tonight.\n\n"
                   "> Is the shelter ready?\n> We have forty families waiting.\n\n"
                   "Yes, and there are blankets for everyone.")
    # 14 header lines (mbox line, 3 Received lines, ...) minus the 2 Subject lines kept as text.
    assert counts == {MAIL_HEADER: 12, MAIL_QUOTE_ATTRIBUTION: 1, MAIL_SIGNATURE: 3}


def test_mail_after_clean_text():
    # clean_text strips the trailing space of "-- ": the separator is "--" by then.
    out, counts = remove_boilerplate(clean_text(MAIL.replace("\n--\n", "\n-- \n")))
    assert out.endswith("blankets for everyone.")
    assert counts[MAIL_SIGNATURE] == 3


def test_minimal_mail_keeps_subject_as_first_line():
    text = "From: a@example.com\nDate: Tue, 2 Jan 2024 09:00:00 +0000\nSubject: Minutes\n\nBody."
    assert split_mail_header(text) == ("Minutes", "Body.", 2)
    assert remove_boilerplate(text) == ("Minutes\n\nBody.", {MAIL_HEADER: 2})
    no_subject = "From: a@example.com\nTo: b@example.com\n\nBody."
    assert remove_boilerplate(no_subject) == ("Body.", {MAIL_HEADER: 2})
    # The subject is kept even when it reads like a navigation link.
    link_like = "From: a@example.com\nTo: b@example.com\nSubject: Next\n\nBody."
    assert remove_boilerplate(link_like) == ("Next\n\nBody.", {MAIL_HEADER: 2})


def test_wrapped_attribution_and_forward_marker():
    text = ("From: a@example.com\nTo: b@example.com\nSubject: Fwd\n\nSee below.\n\n"
            "On Mon, Jan 1, 2024 at 10:00 AM John Doe <\njohn@example.com> wrote:\n> hello\n\n"
            "-----Original Message-----\nOld text.\n\nSent from my iPhone")
    out, counts = remove_boilerplate(text)
    assert out == "Fwd\n\nSee below.\n\n> hello\n\nOld text."
    assert counts == {MAIL_HEADER: 2, MAIL_QUOTE_ATTRIBUTION: 3, MAIL_SIGNATURE: 1}


@pytest.mark.parametrize("text", [
    # sysfs ABI entries: Date and Contact, but no From
    "What:\t\t/sys/bus/mhi/devices/.../serialnumber\nDate:\t\tSept 2020\nKernelVersion:\t5.10\n"
    "Contact:\tBhaumik Bhatt <bbhatt@codeaurora.org>\nDescription:\tThe serial number.",
    # From without any other mail field: an attribution, not an e-mail
    "From: Rudyard Kipling\nSource: Just So Stories\n\nIn the High and Far-Off Times the "
    "Elephant had no trunk.",
    # one field only
    "Subject: Linux box finds it hard to wake up in the morning\n\nI've heard of dogs being "
    "like their owners.",
    "X-Manoj-Position-Advisory: Please note that Manoj likely doubts\n    any facts posited.\n\n"
    "\t\t-- Seen in the headers of a mail",
    # field lines that run straight into prose (no blank line after the block)
    "From: the editor\nTo: all readers\nPlease stop sending us poems.",
    # a header block that is not at the start
    "Here is the mail I got:\n\nFrom: a@example.com\nTo: b@example.com\n\nHi.",
    "Note: this driver is deprecated.\nUse the new one.",
])
def test_mail_look_alikes_are_kept(text):
    assert split_mail_header(text) is None
    assert_kept(text)


def test_mail_only_rules_do_not_touch_other_documents():
    # Attribution, "--" and "Sent from my iPhone" outside an e-mail are content.
    text = ("Alan Cox wrote:\n> It is not a bug.\n\nThat settled it.\n\n--\nSent from my iPhone, "
            "as the joke goes.\n\n\t\t-- Fortune")
    assert_kept(text)


def test_mail_signature_needs_the_end_of_the_mail():
    body = "\n".join(f"Paragraph {i} of the report." for i in range(15))
    text = f"From: a@example.com\nTo: b@example.com\n\nIntro.\n--\n{body}"
    out, counts = remove_boilerplate(text)
    assert out == f"Intro.\n--\n{body}"
    assert counts == {MAIL_HEADER: 2}


def test_attribution_without_quote_is_kept_in_mail():
    text = "From: a@example.com\nTo: b@example.com\n\nMy grandfather wrote:\nwhat a day."
    assert remove_boilerplate(text) == ("My grandfather wrote:\nwhat a day.", {MAIL_HEADER: 2})


# ---------------------------------------------------------------------------------------------
# HTML remnants, limits, output shape
# ---------------------------------------------------------------------------------------------

def test_tag_lines_are_left_to_clean_text():
    # clean_text strips tags of documents that look like HTML; tag-only lines left in others are
    # code examples (this is what they all were in the dev corpus).
    assert_kept("Wrap the list in a table:\n<table>\n<tr><td>x</td></tr>\n</table>")


def test_long_lines_are_never_boilerplate():
    menu = " | ".join(["Home", "About", "Contact", "Blog", "Shop"] * 10)
    assert len(menu) > 200
    assert_kept(menu)
    assert remove_boilerplate(menu, max_line_chars=len(menu))[1] == {NAVIGATION: 1}
    banner = "This website uses cookies to improve your experience. " * 4
    assert_kept(banner.strip())


def test_blank_lines_left_by_removals_are_merged():
    text = f"Skip to content\n\n{PROSE}\n\nBack to top\n\n{PROSE}\n\n© 2024 Example Inc.\n"
    out, counts = remove_boilerplate(text)
    assert out == f"{PROSE}\n\n{PROSE}"
    assert counts == {NAVIGATION: 2, POLICY_FOOTER: 1}


def test_untouched_text_is_returned_as_is():
    text = "  indented first line\n\n\n\nthree blank lines above, trailing blank below\n\n"
    assert remove_boilerplate(text) == (text, {})
    assert remove_boilerplate("") == ("", {})
    assert remove_boilerplate(None) == ("", {})


def test_removal_is_idempotent_on_a_page():
    page = clean_text(
        "<html><body><nav>Skip to content<br>Home | About | Contact</nav>"
        "<p>This website uses cookies to improve your experience.</p><p>Accept</p>"
        f"<h1>Flood</h1><p>{PROSE}</p><p>{PROSE}</p>"
        "<footer><p>© 2024 Example Inc.</p><p>Privacy Policy | Terms of Use</p>"
        "<p>Powered by WordPress</p></footer></body></html>")
    once, counts = remove_boilerplate(page)
    assert once == f"Flood\n\n{PROSE}\n\n{PROSE}"
    assert counts == {NAVIGATION: 2, COOKIE_NOTICE: 2, POLICY_FOOTER: 3}
    assert remove_boilerplate(once) == (once, {})


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------

def test_config_defaults():
    settings = load_settings(CONF / "local.yaml")
    assert settings.boilerplate.enabled is True
    assert settings.boilerplate.max_line_chars == 200


@pytest.mark.parametrize("key,value", [("enabled", "yes"), ("max_line_chars", 0),
                                       ("max_line_chars", "200")])
def test_config_rejects_bad_values(tmp_path, key, value):
    raw = yaml.safe_load((CONF / "local.yaml").read_text())
    raw["boilerplate"][key] = value
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=f"boilerplate.{key}"):
        load_settings(path)
