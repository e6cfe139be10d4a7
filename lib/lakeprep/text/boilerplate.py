"""Remove web and e-mail boilerplate lines from cleaned text, counting each removal by kind.

remove_boilerplate(text) -> (text, counts) runs on the output of clean.clean_text (line endings
are "\\n", entities decoded, spaces normalized) and removes whole lines only:

kind                     what (examples)
navigation               "Skip to content", "Back to top", "Next" / "« Previous", breadcrumbs
                         ("Home > Docs > Page", "Python » 3.11 Documentation »"), menus of short
                         items separated by | • · ("Home | About | Contact"), share lines
                         ("Share on Facebook", "Follow us on Twitter")
cookie_notice            "This website uses cookies...", "We use cookies to improve your
                         browsing experience", "Accept all cookies", "Cookie settings"
javascript_notice        "Please enable JavaScript to view this page.", "JavaScript is disabled
                         in your browser.", "This site requires JavaScript."
policy_footer            "© 2024 Example Inc.", "Copyright (c) 2019 ...", "All rights reserved.",
                         "Privacy Policy | Terms of Use", "Powered by WordPress",
                         "Created using Sphinx 5.3.0."
mail_header              the RFC 5322 header block opening an e-mail (From:, To:, Date:,
                         Received:, X-...:, folded lines), except the Subject, kept as line one
mail_quote_attribution   in e-mails only: "On Mon, 1 Jan 2024, X wrote:" before a "> " quote,
                         "-----Original Message-----"
mail_signature           in e-mails only: the "-- " signature block at the end, "Sent from my
                         iPhone"

Counts are of removed non-blank lines; kinds with nothing removed are absent from the dict.

Conservative by construction; a line is removed only when all of this holds:
- it is at most ``max_line_chars`` long: a longer line is a paragraph that merely mentions
  cookies or JavaScript (web extracts put one paragraph on one line), never a banner or a menu;
- it is not indented by a tab or 4+ spaces (code blocks, preformatted text, tables of docs);
- the pattern covers (almost) the whole line: phrases are matched against the whole line, and
  sentence-like notices (cookies, JavaScript, "Powered by") must stand alone, not be the start
  or the end of a hard-wrapped prose sentence ("The JavaScript engine compiles...", a cookie
  recipe, "...is powered by a boost converter" all stay);
- weak evidence (a lone "|", a single menu word such as "Home" or "index", a cookie button such
  as "Accept" or "OK") is removed only within two non-blank lines of a removed line of the same
  family, so a heading "Contact" or a dialogue line "OK." in prose is never removed on its own.

Not handled here, on purpose: leftover HTML tags. clean.strip_markup already strips tags from
every document that looks like HTML and decodes entities everywhere; on the dev corpus the
remaining tag-only lines are all code examples (XML configs, HTML samples in pydoc and perlpod,
"<dt-bindings/...>" includes), so removing them would only produce false positives.
"""
from __future__ import annotations

import email.errors
import re
from email.header import decode_header, make_header

from lakeprep.text.blocks import line_blocks

DEFAULT_MAX_LINE_CHARS = 200

NAVIGATION = "navigation"
COOKIE_NOTICE = "cookie_notice"
JAVASCRIPT_NOTICE = "javascript_notice"
POLICY_FOOTER = "policy_footer"
MAIL_HEADER = "mail_header"
MAIL_QUOTE_ATTRIBUTION = "mail_quote_attribution"
MAIL_SIGNATURE = "mail_signature"
KINDS = (NAVIGATION, COOKIE_NOTICE, JAVASCRIPT_NOTICE, POLICY_FOOTER, MAIL_HEADER,
         MAIL_QUOTE_ATTRIBUTION, MAIL_SIGNATURE)

# Weak lines may be removed next to a removed line of the same family: site chrome (menus and
# footers sit together) or the cookie banner (its buttons).
_FAMILY = {NAVIGATION: "chrome", POLICY_FOOTER: "chrome", COOKIE_NOTICE: "cookie"}
_WEAK_DISTANCE = 2  # in non-blank lines

# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

# Alone on a line, these are navigation links, whatever surrounds them.
_NAV_STRONG_ITEMS = frozenset("""
skip to content|skip to main content|skip to navigation|skip to main navigation|skip navigation|
skip to search|skip to footer|jump to navigation|jump to content|jump to main content|
jump to search|back to top|return to top|go to top|scroll to top|top of page|back to top of page|
next|previous|prev|next page|previous page|prev page|next post|previous post|next article|
previous article|next topic|previous topic|next chapter|previous chapter|next section|
previous section|older posts|newer posts|older entries|newer entries|show source|
view page source|edit this page|edit on github|toggle navigation|toggle menu|open menu|close menu|
main menu|main navigation""".replace("\n", "").split("|"))
_SOCIAL = frozenset("facebook twitter linkedin reddit pinterest whatsapp telegram tumblr mastodon "
                    "bluesky instagram youtube tiktok email e-mail".split())
_POLICY_ITEMS = frozenset("""
privacy|privacy policy|privacy notice|privacy statement|privacy settings|terms|terms of use|
terms of service|terms and conditions|terms & conditions|cookie policy|cookies|cookie settings|
legal|legal notice|imprint|impressum|accessibility|accessibility statement|disclaimer|
trademarks|copyright|do not sell my personal information|your privacy choices""".replace(
    "\n", "").split("|"))
# Menu entries: on their own only weak evidence (a heading "Contact" is content), but a line of
# several of them is a menu.
_NAV_ITEMS = _NAV_STRONG_ITEMS | _SOCIAL | frozenset("""
home|homepage|home page|menu|search|navigation|nav|index|modules|site map|sitemap|this page|
report a bug|view source|up|top|to top|back|forward|first|last|share|share this|share this page|
share this article|share this post|follow us|print|print this page|about|about us|contact|
contact us|blog|news|faq|faqs|help|support|login|log in|sign in|sign up|register|logout|log out|
account|my account|products|services|pricing|docs|documentation|download|downloads|community|
careers|jobs|press|shop|store|cart|subscribe|rss|archive|archives|categories|tags|events|forum|
forums|team|partners|resources|feedback""".replace("\n", "").split("|"))
_HOME_ITEMS = frozenset("home|home page|homepage|start|main page|index|top".split("|"))
# Buttons of a cookie banner: weak evidence, removed only next to a banner line.
_COOKIE_BUTTONS = frozenset("""
accept|accept all|accept cookies|reject|reject all|decline|decline all|deny|allow|allow all|
allow cookies|got it|ok|okay|i agree|agree|i accept|agree and close|accept and close|
agree and continue|accept and continue|dismiss|close|learn more|more info|more information|
read more|settings|preferences|customize|customise|manage options|manage preferences|
necessary only|only necessary|essential only|save preferences|save settings""".replace(
    "\n", "").split("|"))

# ---------------------------------------------------------------------------------------------
# Line shapes
# ---------------------------------------------------------------------------------------------

# Arrows, chevrons and separators that decorate navigation links ("« Previous", "Next →").
_DECOR = " \t«»‹›←→↑↓⇐⇒<>|•·^"
_SEPARATOR_ONLY_RE = re.compile(r"[|•·»«‹›]+")
# reStructuredText / setext heading underline: the line above it is a section title ("Support"
# over "-------" in a kernel doc is content, however menu-like the word).
_UNDERLINE_RE = re.compile(r"([=\-~^\"'`#*+_])\1{2,}\s*")
# A menu item (up to 4 words) / breadcrumb label (up to 12): words of letters, digits and name
# punctuation, starting with a letter or digit (so "-l" or "$x" of a shell pipeline is never a label).
_LABEL_WORD = r"[^\W_][\w'’&.+-]*"
_MENU_LABEL_RE = re.compile(_LABEL_WORD + r"(?: [\w'’&.+/-]+){0,3}")
_CRUMB_LABEL_RE = re.compile(_LABEL_WORD + r"(?: [\w'’&.+/:,()-]+){0,11}")
_MENU_SPLIT_RE = re.compile(r"\s+[|•·]\s+")
# Breadcrumb separators need spaces around them: "a>b" and "/usr/share" are not breadcrumbs.
_CRUMB_SPLIT_RE = re.compile(r"\s+(>|»|›|/|→)\s+")
_DECORATED_LABEL_RE = re.compile(r"(?:([«‹←]) *)?(" + _LABEL_WORD + r"(?: [\w'’&.+-]+){0,3})"
                                 r"(?: *([|»›→]))?")
# A table's rule line: "---|---", "=====", "_____", "+----+----+".
_TABLE_RULE_RE = re.compile(r"[\s|+:]*[-=_~]{3,}[-=_~\s|+:]*")

_NETWORKS = (r"(?:facebook|twitter|x|linkedin|reddit|pinterest|whatsapp|telegram|tumblr|"
             r"mastodon|bluesky|instagram|youtube|tiktok|e-?mail|mail|hacker news)")
_NETWORK_LIST = _NETWORKS + r"(?:(?:\s*[,/&|]\s*|,? and |,? or )" + _NETWORKS + r")*"
_SHARE_RE = re.compile(
    r"(?:share|tweet|pin|post|send)(?: (?:it|this|this (?:page|post|article|story|video|recipe"
    r"|link)))? (?:on|via|to|with|by) " + _NETWORK_LIST + r"[.!:]?"
    r"|follow us (?:on|via) " + _NETWORK_LIST + r"[.!:]?", re.IGNORECASE)

# Cookie banners. Alone sufficient: phrases that only a website says about itself.
_COOKIE_STRONG_RE = re.compile(
    r"\b(?:this|our) (?:web ?site|web ?page|site|portal) (?:uses|is using|may use|places|stores|"
    r"sets)(?: \w+){0,2} cookies\b"
    r"|\bcookies? (?:policy|settings|preferences|consent|notice|statement|banner|declaration|"
    r"choices)\b"
    r"|\b(?:accept|allow|reject|decline|refuse|deny)(?: all)? (?:the )?(?:optional |"
    r"non-essential |third[- ]party |analytics? |tracking )cookies\b"
    r"|\b(?:accept|allow|reject|decline|refuse|deny) all(?: the)? cookies\b"
    r"|\bmanage (?:your )?cookies\b"
    r"|\b(?:accept|agree to|consent to) (?:our|the) use of cookies\b",
    re.IGNORECASE)
# Ambiguous on their own ("we use cookies from the bakery"): need a web word in the same line.
_COOKIE_PHRASE_RE = re.compile(
    r"\bwe (?:use|place|store|set) (?:\w+ )?cookies\b|\buses? cookies\b|\buse of cookies\b"
    r"|\b(?:accept|allow|reject|decline|refuse|deny) (?:\w+ )?cookies\b"
    r"|\bcookies (?:help|are used|allow us|enable us)\b", re.IGNORECASE)
_WEB_CONTEXT_RE = re.compile(
    r"\b(?:web ?sites?|site|browser|browsing|online|experience|consent|privacy|analytics|"
    r"personali[sz]\w*|third[- ]part\w*|advertis\w*|ads|traffic|visitors?|opt[- ]out|gdpr|ccpa|"
    r"tracking|policy|settings|preferences|content)\b", re.IGNORECASE)

# JavaScript notices: each sentence of the line must be a notice (or filler such as "Please
# enable it in your browser."), so prose about the language never matches.
_JS = r"(?:javascript|java script|js)"
_JS_TAIL = r"(?: (?:in|on|for) (?:your|this|the) (?:web )?(?:browser|device|site|page)(?: settings)?)?" \
           r"(?:,? (?:to|for|in order to) [^.!?]{1,60})?(?: and (?:reload|refresh) (?:the|this) page)?"
_JS_NOTICE_RE = re.compile(
    r"(?:(?:sorry|oops|warning|note|notice|error|attention)[,:!]? )?"
    r"(?:(?:it (?:looks|seems) like|we(?:'ve| have)? detected(?: that)?|unfortunately,?) )?"
    r"(?:"
    r"(?:your (?:web )?browser(?:'s)? )?" + _JS + r" (?:is|has been|appears to be|seems to be|must be|"
    r"needs to be|should be) (?:currently )?(?:disabled|turned off|switched off|not enabled|"
    r"not available|not supported|blocked|required|enabled|turned on|switched on)" + _JS_TAIL +
    r"|(?:please |kindly )?(?:you (?:will )?(?:need|have|must) to |you must )?(?:enable|turn on|"
    r"activate|allow|switch on) " + _JS + _JS_TAIL +
    r"|(?:this|the|our) (?:web ?site|site|web ?page|page|app|application|web app|content|feature|"
    r"form|game|tool|video|player|map|document) (?:requires|needs|uses|works best with|"
    r"cannot be displayed without|does not work without|doesn't work without) " + _JS +
    r"(?: (?:to be )?(?:enabled|turned on))?" + _JS_TAIL +
    r"|your (?:web )?browser (?:does not|doesn't|do not|cannot|can't|may not) (?:support|run|"
    r"have|execute) " + _JS + r"(?: enabled| turned on)?" + _JS_TAIL +
    r"|" + _JS + r" (?:required|disabled|is off|not enabled|not detected|is not enabled)"
    r"|(?:you need|you must have|requires?) " + _JS + r" (?:enabled|turned on)" + _JS_TAIL +
    r")[.!]*", re.IGNORECASE)
_JS_FILLER_RE = re.compile(
    r"(?:please |kindly )?(?:enable|turn on|activate) (?:it|them)(?: (?:in|on) your (?:web )?"
    r"browser(?: settings)?)?(?: and (?:reload|refresh) (?:the|this) page| and try again)?[.!]*"
    r"|(?:sorry|oops|thank you|thanks)[.!]*"
    r"|(?:learn|find out|see|click here to (?:learn|see|find out)) (?:more|how)(?: [^.!?]{0,40})?[.!]*",
    re.IGNORECASE)
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+")

# Footers.
_COPYRIGHT_RE = re.compile(r"(?:©|\(c\) *\d{4}|copyright *(?:©|\(c\)|\d{4}))", re.IGNORECASE)
_RIGHTS_RESERVED_RE = re.compile(r"all rights reserved\.?", re.IGNORECASE)
_POWERED_BY_RE = re.compile(r"(?:proudly )?powered by \S[^.!?]{0,60}[.!]?", re.IGNORECASE)
_GENERATOR_RE = re.compile(
    r"(?:created|built|generated|made|site built|page generated|documentation (?:built|generated))"
    r" (?:using|with|by) (?:sphinx|jekyll|hugo|wordpress|mkdocs|docusaurus|gatsby|ghost|blogger|"
    r"squarespace|wix|drupal|joomla|pelican|hexo|gitbook|doxygen|read the docs|javadoc|rustdoc|"
    r"pandoc)\b.{0,80}", re.IGNORECASE)

# Candidate gate. A strong rule needs either a separator or keyword somewhere in the line
# (menus, breadcrumbs, cookie and JavaScript notices) or one of a few words at its start (link
# lines, share lines, footers); other lines (most lines of prose) are never classified. Found with
# str.find on the lowered text and str.startswith per line: a regex alternation doing the same
# ran at 2-10 MB/s, these at C speed.
_ANYWHERE = ("cookie", "javascript", "java script", " js ", " js.", "js is", " | ", " • ", " · ",
             " > ", " » ", " › ", " / ", " → ")
_LEADING_DECOR = _DECOR + "-–—"
_START_WORDS = tuple("""
skip|jump|back|return|go |scroll|top|next|prev|older|newer|show|view|edit|toggle|open|close|
main|share|tweet|pin|post|send|follow|created|built|generated|made|site built|page generated|
documentation|proudly|powered|all rights|copyright|(c)|©|facebook|twitter|linkedin|reddit|
pinterest|whatsapp|telegram|tumblr|mastodon|bluesky|instagram|youtube|tiktok|email|e-mail|
js """.replace("\n", "").split("|"))

# E-mail.
_FIELD_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9_-]{0,75}):(?:[ \t]+(.*)|$)")
# mbox "From_" line (also the first line of `git format-patch` output).
_MBOX_FROM_RE = re.compile(
    r"From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|"
    r"Dec) +\d{1,2} \d\d:\d\d:\d\d(?: [+-]\d{4})? \d{4}\s*")  # clean_text squeezes "Jan  1"
# A header block must have From plus one of these: a single "Subject:" line or an ABI entry
# ("What: / Date: / Contact:") is not an e-mail.
_MAIL_COMPANION_FIELDS = frozenset("to cc subject date message-id newsgroups sent reply-to "
                                   "in-reply-to references".split())
_ATTRIBUTION_RE = re.compile(
    r"(?:on |le |am |el |il |op ).{4,200}(?:wrote|writes|a écrit|schrieb|escribió|ha scritto|"
    r"schreef) ?:|.{1,100} (?:wrote|writes) ?:", re.IGNORECASE)
_FORWARD_MARKER_RE = re.compile(
    r"-{2,} ?(?:original message|forwarded message) ?-{2,}|begin forwarded message:",
    re.IGNORECASE)
_SENT_FROM_RE = re.compile(
    r"sent from my (?:iphone|ipad|android(?: \w+)?|blackberry(?: \w+)?|samsung(?: \w+)?|"
    r"galaxy(?: \w+)?|mobile(?: device)?|phone|smartphone)[.!]?|get outlook for (?:ios|android)",
    re.IGNORECASE)
_MAX_SIGNATURE_LINES = 10  # RFC 3676 / netiquette ask for 4; legal disclaimers run longer


def _norm(item: str) -> str:
    return " ".join(item.lower().split())


def _is_code_like(line: str) -> bool:
    # Indented by a tab or 4+ spaces: a code block, preformatted text or a doc table.
    return line.startswith("\t") or line.startswith("    ")


def _label_ok(item: str, pattern: re.Pattern, max_chars: int) -> bool:
    # Underscores belong to identifiers (METH_VARARGS | METH_KEYWORDS, O_RDONLY | O_CREAT), not
    # to link labels.
    return len(item) <= max_chars and "_" not in item and pattern.fullmatch(item) is not None


def _adjacent_pipe_line(lines: list[str], i: int) -> bool:
    # A pipe line directly above or below makes this one a table row, not a menu.
    for j in (i - 1, i + 1):
        if 0 <= j < len(lines) and ("|" in lines[j] or _TABLE_RULE_RE.fullmatch(lines[j])):
            return True
    return False


def _menu_kind(lines: list[str], i: int, s: str) -> str | None:
    """navigation / policy_footer for a menu line ("Home | About | Contact"), else None."""
    if not _MENU_SPLIT_RE.search(s):
        return None
    items = [p.strip(_DECOR) for p in _MENU_SPLIT_RE.split(s.strip(" |•·"))]
    items = [p for p in items if p]
    if len(items) < 2 or not all(_label_ok(p, _MENU_LABEL_RE, 30) for p in items):
        return None
    if _adjacent_pipe_line(lines, i):
        return None
    keys = [_norm(p) for p in items]
    known = sum(k in _NAV_ITEMS or k in _POLICY_ITEMS for k in keys)
    # Capitalised words ("Sport · Weather · Travel") or page numbers; all-capital items are
    # constants or acronyms (DMA | IRQ | MMIO) unless the vocabulary knows them.
    title_like = all(p.isdigit() or p[0].isupper() and any(c.islower() for c in p)
                     for p in items)
    if not (known == len(items)
            or len(items) >= 3 and 2 * known >= len(items)
            or len(items) >= 3 and title_like and not s.lstrip().startswith("|")):
        return None
    return POLICY_FOOTER if all(k in _POLICY_ITEMS for k in keys) else NAVIGATION


def _is_breadcrumb(s: str) -> bool:
    s = re.sub(r"^you are here\s*:\s*", "", s, flags=re.IGNORECASE)
    parts = _CRUMB_SPLIT_RE.split(" " + s.strip() + " ")
    # parts alternates label, separator, label, ...; a trailing separator leaves an empty label.
    labels = [p.strip() for p in parts[0::2]]
    seps = set(parts[1::2])
    if len(seps) != 1 or len(parts) < 5:  # one kind of separator, used at least twice
        return False
    if labels and not labels[-1]:
        labels = labels[:-1]
    if len(labels) < 2 or not all(labels):
        return False
    if not all(_label_ok(p, _CRUMB_LABEL_RE, 40) for p in labels[:-1]):
        return False
    if not _label_ok(labels[-1], _CRUMB_LABEL_RE, 80):
        return False
    # ">" and "/" also separate comparisons, shell redirections and paths: only a trail that
    # starts at the site's home counts. "»" and "›" are navigation glyphs.
    return seps <= {"»", "›"} or _norm(labels[0]) in _HOME_ITEMS


def _is_social_list(s: str) -> bool:
    tokens = [t for t in re.split(r"[\s,|•·/]+", s.lower()) if t]
    return len(tokens) >= 2 and all(t in _SOCIAL for t in tokens)


_CONTINUATION_WORDS = frozenset("""
a an the this that these those my your our their its his her of to in on at by for from with
into onto about over under than as and or but nor if when while because so see is are was were
be been has have had will would can could should may might must not no""".split())


def _standalone(lines: list[str], i: int, s: str) -> bool:
    """The line is not part of a hard-wrapped prose sentence (see the module docstring)."""
    if s[0].islower():
        return False
    prev = lines[i - 1].rstrip() if i > 0 else ""
    if prev and prev[-1] in ",;(-–—&":
        return False
    # "...see the" / "Cookie settings page of your browser": a line ending in an article,
    # preposition or conjunction continues on the next one; headings do not end that way.
    if prev and prev.rsplit(None, 1)[-1] in _CONTINUATION_WORDS:
        return False
    nxt = lines[i + 1].lstrip() if i + 1 < len(lines) else ""
    return not (nxt and nxt[0].islower() and s[-1] not in ".!?")


def _is_js_notice(s: str) -> bool:
    sentences = [x for x in _SENTENCE_SPLIT_RE.split(s) if x]
    notices = 0
    for sentence in sentences:
        if _JS_NOTICE_RE.fullmatch(sentence):
            notices += 1
        elif not _JS_FILLER_RE.fullmatch(sentence):
            return False
    return notices > 0


def _is_cookie_notice(s: str) -> bool:
    if _COOKIE_STRONG_RE.search(s):
        return True
    return bool(_COOKIE_PHRASE_RE.search(s) and _WEB_CONTEXT_RE.search(s))


def _strong_kind(lines: list[str], i: int) -> str | None:
    """Kind of a line that is boilerplate on its own; the caller checked length and indent."""
    s = lines[i].strip()
    low = _norm(s)
    item = _norm(s.strip(_DECOR))
    if item in _NAV_STRONG_ITEMS:
        # "next" alone in lower case may end a wrapped sentence; capitalised or decorated
        # ("Next", "next »", "« previous") it is a link.
        if s[0].isupper() or s != s.strip(_DECOR) or item not in ("next", "previous", "prev"):
            return NAVIGATION
    if _SHARE_RE.fullmatch(low) or _is_social_list(s):
        return NAVIGATION
    kind = _menu_kind(lines, i, s)
    if kind:
        return kind
    if _is_breadcrumb(s):
        return NAVIGATION
    if _RIGHTS_RESERVED_RE.fullmatch(s):
        return POLICY_FOOTER
    if _COPYRIGHT_RE.match(s.lstrip(_DECOR)):
        # "Copyright (C) 2021 Red Hat, Inc. Free use of this software is granted under" runs on
        # into a licence sentence: removing the line would leave its tail dangling. Only a
        # wrapped "... All rights reserved." continuation is part of the notice (removed below).
        nxt = lines[i + 1].lstrip() if i + 1 < len(lines) else ""
        if nxt[:1].islower() and s[-1] not in ".!?" and "rights reserved" not in nxt.lower():
            return None
        return POLICY_FOOTER
    if _GENERATOR_RE.fullmatch(s):
        return POLICY_FOOTER
    if (_POWERED_BY_RE.fullmatch(s) and len(s.split()) <= 10
            and _standalone(lines, i, s)):
        return POLICY_FOOTER
    if "cookie" in low and _is_cookie_notice(s) and _standalone(lines, i, s):
        return COOKIE_NOTICE
    if ("java" in low or "js" in low) and _is_js_notice(s) and _standalone(lines, i, s):
        return JAVASCRIPT_NOTICE
    return None


def _weak_kind(s: str) -> str | None:
    """Kind of a line that is boilerplate only next to other boilerplate of its family."""
    if _SEPARATOR_ONLY_RE.fullmatch(s):
        return NAVIGATION
    item = _norm(s.strip(_DECOR))
    if item in _POLICY_ITEMS:
        return POLICY_FOOTER
    if item in _NAV_ITEMS:
        return NAVIGATION
    m = _DECORATED_LABEL_RE.fullmatch(s)
    if m and (m.group(1) or m.group(3)):  # "modules |", "Python »", "« Glossary"
        return NAVIGATION
    if _norm(s.rstrip(".!")) in _COOKIE_BUTTONS:
        return COOKIE_NOTICE
    return None


def _eligible(line: str, max_line_chars: int) -> bool:
    return bool(line.strip()) and len(line) <= max_line_chars and not _is_code_like(line)


def _candidate_lines(text: str) -> list[int]:
    """Indices of the lines that pass the candidate gate, in order."""
    found: set[int] = set()
    first_line = 0
    # Lower-cased a block of whole lines at a time (lakeprep.text.blocks: a whole long text's
    # lower() has a transient peak of ~12 bytes per character). lower() keeps every newline (it
    # may change the length of other characters, "İ" -> "i̇"), so line numbers in a lowered
    # block are those of the block.
    for block in line_blocks(text):
        low = block.lower()
        found.update(first_line + i for i, line in enumerate(low.split("\n"))
                     if line.lstrip(_LEADING_DECOR).startswith(_START_WORDS))
        hits: list[int] = []
        for keyword in _ANYWHERE:
            pos = low.find(keyword)
            while pos >= 0:
                hits.append(pos)
                end = low.find("\n", pos)
                if end < 0:
                    break
                pos = low.find(keyword, end + 1)  # one hit per line is enough
        hits.sort()
        line_no, last = first_line, 0
        for pos in hits:
            line_no += low.count("\n", last, pos)
            last = pos
            found.add(line_no)
        first_line += low.count("\n")
    return sorted(found)


# ---------------------------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------------------------


def _decode_subject(value: str) -> str:
    # RFC 2047 encoded words ("=?UTF-8?B?...?=") are how non-ASCII subjects travel.
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (email.errors.HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
        return value


def split_mail_header(text: str) -> tuple[str, str, int] | None:
    """(subject, body, removed header lines) when ``text`` opens with an e-mail header block.

    The block: an optional mbox "From " line, then only "Name: value" fields and folded
    continuation lines (starting with a space or tab), up to the first blank line (or the end);
    it must hold From and one of To/Cc/Subject/Date/Message-ID/Newsgroups/Sent/Reply-To/
    In-Reply-To/References. None when the text is not an e-mail.
    """
    if not text:
        return None
    end = text.find("\n")
    first = text if end < 0 else text[:end]
    if not (first.startswith("From ") or _FIELD_RE.fullmatch(first)):
        return None
    lines = text.split("\n")
    i = 1 if _MBOX_FROM_RE.fullmatch(lines[0]) else 0
    fields: list[tuple[str, list[str]]] = []
    while i < len(lines) and lines[i].strip():
        line = lines[i]
        if line[0] in " \t":
            if not fields:
                return None
            fields[-1][1].append(line.strip())
        else:
            m = _FIELD_RE.fullmatch(line)
            if not m:
                return None
            fields.append((m.group(1).lower(), [(m.group(2) or "").strip()]))
        i += 1
    names = {name for name, _ in fields}
    if "from" not in names or not names & _MAIL_COMPANION_FIELDS:
        return None
    header_lines = i
    subject_parts = next((parts for name, parts in fields if name == "subject"), [])
    # Unfolding (RFC 5322 2.2.3): a folded line continues its field after one space.
    subject = _decode_subject(" ".join(p for p in subject_parts if p)).strip()
    body = "\n".join(lines[i:]).strip("\n")
    return subject, body, header_lines - len(subject_parts)


def _mail_body_removals(lines: list[str], removed: dict[int, str]) -> None:
    """Quote attributions, forward markers and the trailing signature of an e-mail body."""
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    for pos, i in enumerate(nonblank):
        s = lines[i].strip()
        if _FORWARD_MARKER_RE.fullmatch(s):
            removed[i] = MAIL_QUOTE_ATTRIBUTION
            continue
        if s.startswith(">") or not _ATTRIBUTION_RE.fullmatch(s):
            continue
        # Only an attribution that introduces a quote: "X wrote:" before prose is prose.
        nxt = nonblank[pos + 1] if pos + 1 < len(nonblank) else None
        if nxt is None or not lines[nxt].lstrip().startswith(">"):
            continue
        removed[i] = MAIL_QUOTE_ATTRIBUTION
        # Mail clients wrap long attributions: "On Mon, ... John Doe <" / "john@x.org> wrote:".
        if (i > 0 and not s.lower().startswith("on ") and lines[i - 1].strip().lower()
                .startswith("on ") and not lines[i - 1].lstrip().startswith(">")):
            removed[i - 1] = MAIL_QUOTE_ATTRIBUTION
    for i in nonblank:
        if _SENT_FROM_RE.fullmatch(lines[i].strip()):
            removed[i] = MAIL_SIGNATURE
    # The signature separator is "-- " (RFC 3676 4.3); clean_text strips the trailing space.
    seps = [i for i in nonblank if lines[i].rstrip() == "--"]
    if seps:
        start = seps[-1]
        tail = [i for i in nonblank if i >= start]
        if 2 <= len(tail) <= _MAX_SIGNATURE_LINES + 1:
            for i in tail:
                removed[i] = MAIL_SIGNATURE


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _spread_to_weak_lines(lines: list[str], removed: dict[int, str], max_line_chars: int,
                          protected: int) -> None:
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    position = {i: p for p, i in enumerate(nonblank)}
    queue = [i for i, kind in removed.items() if kind in _FAMILY]
    weak_cache: dict[int, str | None] = {}
    while queue:
        anchor = queue.pop()
        family = _FAMILY[removed[anchor]]
        p = position[anchor]
        for q in range(max(0, p - _WEAK_DISTANCE), min(len(nonblank), p + _WEAK_DISTANCE + 1)):
            j = nonblank[q]
            # Reaching over a line is allowed only over a short one (a page title between menu
            # links); a paragraph of prose between them means the menu has ended.
            between = nonblank[(p + q) // 2]
            if abs(q - p) == 2 and between not in removed and len(lines[between].strip()) > 60:
                continue
            if j in removed or j == protected or not _eligible(lines[j], max_line_chars):
                continue
            if j + 1 < len(lines) and _UNDERLINE_RE.fullmatch(lines[j + 1]):
                continue
            if j not in weak_cache:
                weak_cache[j] = _weak_kind(lines[j].strip())
            kind = weak_cache[j]
            if kind is not None and _FAMILY.get(kind) == family:
                removed[j] = kind
                queue.append(j)


def _rebuild(lines: list[str], removed: dict[int, str]) -> str:
    """Lines without the removed ones; blank lines left doubled by a removal are merged and
    blank lines left at either end dropped (clean_text's invariants)."""
    out: list[str] = []
    gap = False  # a line was removed since the last kept line
    for i, line in enumerate(lines):
        if i in removed:
            gap = True
            continue
        if gap and not line.strip() and (not out or not out[-1].strip()):
            continue
        out.append(line)
        if line.strip():
            gap = False
    while gap and out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def remove_boilerplate(text: str | None,
                       max_line_chars: int = DEFAULT_MAX_LINE_CHARS) -> tuple[str, dict[str, int]]:
    """``text`` without its boilerplate lines, and the number of removed lines per kind."""
    if not text:
        return text or "", {}
    counts: dict[str, int] = {}
    mail = split_mail_header(text)
    if mail is not None:
        subject, text, n_header = mail
        if n_header:
            counts[MAIL_HEADER] = n_header
        # The subject is the author's title for the message (like a page title); every other
        # header is routing metadata and addresses. A blank line keeps it its own paragraph.
        text = subject + "\n\n" + text if subject and text else subject or text
    lines = text.split("\n")
    removed: dict[int, str] = {}
    # The kept subject is content even if it reads like a link ("Next steps" is fine, "Next" too).
    protected = 0 if mail is not None and mail[0] else -1
    for i in _candidate_lines(text):
        if i != protected and _eligible(lines[i], max_line_chars):
            kind = _strong_kind(lines, i)
            if kind is not None:
                removed[i] = kind
    # Wrapped copyright notices: "Copyright 1998 Tom Christiansen and" / "other authors as
    # noted. All rights reserved." - the second line belongs to the removed first one.
    for i in [i for i, kind in removed.items() if kind == POLICY_FOOTER]:
        j = i + 1
        if (j < len(lines) and j not in removed and _eligible(lines[j], max_line_chars)
                and "rights reserved" in lines[j].lower() and lines[i].rstrip()[-1:] != "."
                and _COPYRIGHT_RE.match(lines[i].strip().lstrip(_DECOR))):
            removed[j] = POLICY_FOOTER
    if removed:
        _spread_to_weak_lines(lines, removed, max_line_chars, protected)
    if mail is not None:
        _mail_body_removals(lines, removed)
    if not removed:
        return text, counts
    for kind in removed.values():
        counts[kind] = counts.get(kind, 0) + 1
    return _rebuild(lines, removed), counts
