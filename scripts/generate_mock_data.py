#!/usr/bin/env python3
"""Generate a deterministic mock input corpus for the lakeprep text pipeline.

Everything is synthesised from the word lists and templates below (no downloads), so the
same --seed always yields byte-identical output. manifest.json records what was planted in
each document so end-to-end tests can assert on decoding, filtering and PII detection.

Usage: generate_mock_data.py --out DIR [--docs N] [--seed S] [--quiet]
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import sys
import time
from pathlib import Path
from random import Random

import pyarrow as pa
import pyarrow.parquet as pq

MIN_DOCS = 100
DUPLICATES = 4
JSONL_PATH = "hf_export/train.jsonl"
PARQUET_PATH = "hf_export/shards/train-00000-of-00001.parquet"

# topic -> (titles, subjects, claims, contexts). Claims are written to fit any subject of
# their topic, so random combinations stay grammatical and on-topic.
TOPICS = {
    "gardening": (
        "Spring Planting Notes|What the Soil Is Telling You|A Year in the Vegetable Patch|Why My Tomatoes Failed",
        "the compost heap|a raised bed|heavy clay soil|the tomato crop|a thick layer of mulch|the rain barrel|the herb border|a shady corner of the yard",
        "holds moisture far longer than most gardeners expect|needs more attention in a dry spring|decides how the rest of the season goes|rewards patience more than expensive tools|changes character completely after a wet winter|is easy to neglect until something goes wrong|does better with less fuss than the seed packets suggest",
        "by the end of April|after a week of steady rain|on a cold north-facing slope|in a small urban garden|during the hottest part of July",
    ),
    "astronomy": (
        "Observing Notes from the Back Porch|A Beginner's Guide to the Night Sky|Chasing the Andromeda Galaxy|What Light Pollution Hides",
        "a small refracting telescope|the winter sky|the waxing moon|a good star chart|the planet Jupiter|the local astronomy club|a dark observing site",
        "reveals far more detail than people expect|rewards anyone willing to wait for clear weather|looks completely different through binoculars|changes noticeably from one week to the next|takes a while to appreciate properly|becomes easier to understand with a little practice",
        "on a cold January night|about an hour after sunset|far from the city lights|when the air is unusually steady|during the autumn months",
    ),
    "cooking": (
        "Weeknight Dinners Without Stress|The Case for Cooking Dried Beans|Notes on Bread Baking|Learning to Season by Taste",
        "a cast iron skillet|the sourdough starter|a pot of slow-cooked beans|fresh basil|the spice drawer|a sharp chef's knife|homemade stock",
        "makes a bigger difference than any recipe|needs less attention than its reputation suggests|improves almost every simple dish|is worth the extra twenty minutes|tends to be the first thing beginners get wrong|keeps surprisingly well in the fridge",
        "on a busy weeknight|when guests arrive early|in a tiny apartment kitchen|at the end of a long day|during the colder months",
    ),
    "transit": (
        "How the New Bus Network Changed My Commute|Notes on Urban Rail|Why Frequency Matters More Than Speed|A Week Without a Car",
        "the crosstown bus|the new light rail line|a reliable timetable|the city council|the regional rail network|a protected bike lane|the morning commute",
        "shapes daily life more than most residents realise|depends on decisions made years in advance|works best when service is frequent|struggles whenever funding is cut|changes how people think about distance|rarely gets the attention it deserves",
        "during the morning rush|on a rainy Monday|across the older neighbourhoods|after the latest budget review|in most mid-sized cities",
    ),
    "software": (
        "Lessons From Maintaining a Legacy Codebase|Notes on Code Review|Why Our Deployments Got Boring|Testing Without Tears",
        "the build pipeline|a well-written test suite|the legacy billing module|code review|the on-call rotation|a small refactoring|the release checklist",
        "saves more time than it costs|tends to break at the worst possible moment|reveals problems long before customers notice them|becomes easier once the team agrees on conventions|is only as good as the people maintaining it|pays for itself within a few months",
        "on a Friday afternoon|during a busy release week|in a team of five engineers|after the last major outage|when deadlines are tight",
    ),
    "cycling": (
        "Riding Through the Winter|What I Learned From My First Century Ride|Basic Bike Maintenance|Choosing the Right Tyres",
        "a well-maintained chain|the rear derailleur|a good pair of gloves|the long climb out of town|tyre pressure|the weekly group ride|a sturdy touring bike",
        "matters more than the price of the frame|needs checking more often than most riders think|makes the difference between misery and enjoyment|changes the way the whole ride feels|is easy to overlook until something fails|teaches patience in a way few other things do",
        "on wet autumn roads|in the first hour of a long ride|when the wind picks up|on quiet country lanes|after a winter in the shed",
    ),
    "finance": (
        "A Plain Guide to Household Budgets|Why Index Funds Became the Default|Saving for the Unexpected|Understanding Your Pension",
        "an emergency fund|the monthly budget|a low-cost index fund|compound interest|the household spreadsheet|a fixed-rate mortgage|the annual tax return",
        "works quietly in the background for years|is less complicated than the industry makes it sound|protects families from the worst surprises|rewards consistency far more than cleverness|deserves a careful review once a year|tends to be ignored until it is urgent",
        "over a period of decades|during a recession|when interest rates rise|at the start of a new job|in the first year of retirement",
    ),
    "ecology": (
        "Life Between the Tides|What the Salt Marsh Remembers|Counting Seabirds in Spring|Notes From a Coastal Survey",
        "the salt marsh|a healthy kelp forest|the local seabird colony|the tidal estuary|a single rock pool|the shifting sandbar|the coastal dune system",
        "supports far more life than it appears to|responds quickly to changes in water temperature|recovers slowly after a severe storm|is more fragile than most visitors realise|changes noticeably from one season to the next|depends on processes nobody fully understands yet",
        "at low tide|after the winter storms|along the northern coast|during the breeding season|in the early morning light",
    ),
    "history": (
        "The Mill Town Before the Railway|Reading Old Parish Records|A Short History of the Market Square|Letters From the Front",
        "the old market square|the parish archive|a faded photograph|the textile mill|the town's first railway station|a bundle of family letters|the local historical society",
        "tells a more complicated story than the plaque suggests|survived several fires and two floods|shaped the town for more than a century|reveals how ordinary people actually lived|was almost lost during the redevelopment|still raises questions nobody can answer",
        "in the late nineteenth century|before the First World War|during the long economic decline|according to the surviving records|within living memory",
    ),
    "music": (
        "Practising Scales Without Boredom|What Playing in a Band Taught Me|Learning to Read Music as an Adult|The Quiet Power of the Metronome",
        "a daily practice routine|the metronome|an old upright piano|the community orchestra|sight reading|a good teacher|the second movement",
        "improves slowly and then all at once|requires more patience than talent|sounds different in every room|teaches lessons that apply far beyond music|becomes enjoyable once the basics are secure|is harder to master than it looks",
        "in the first few months|before a concert|on a quiet Sunday morning|after years away from the instrument|with a little encouragement",
    ),
}
GENERIC_HEADINGS = "Background|What We Learned|Common Mistakes|A Closer Look|Practical Advice|Looking Ahead|Summary|The Short Version|Questions Worth Asking|Where to Start"
TEMPLATES = [
    "{S} {c}.", "{X}, {s} {c}.", "{S} {c}, and {s2} {c2}.", "Most people underestimate how often {s} {c}.",
    "{S} {c} {x}, although {s2} {c2}.", "In my experience, {s} {c}.", "It sounds obvious, but {s} {c} {x}.",
    "Ask anyone who has tried it and they will tell you that {s} {c}.", "What surprised me most was that {s} {c}.",
    "{S} {c}; {s2}, on the other hand, {c2}.", "There is an old rule of thumb that {s} {c} {x}.",
    "The evidence is mixed, but the general view is that {s} {c}.", "Looking back, {s} {c}.",
    "But is it really true that {s} {c} {x}?", "Why does this matter? Because {s} {c}.",
]
SHORT_SENTENCES = [
    "That matters.", "Not always, of course.", "The details are where it gets interesting.",
    "Nobody quite agrees on why.", "It took me years to learn that.", "This is worth repeating.",
    "Here is the short version.", "The numbers bear this out.", "Timing is everything.", "I was wrong about this for a long time.",
]
FOREIGN = {
    "fr": ["Le marché du samedi matin attire les habitants de tout le quartier.",
           "Nous avons pris un café près de la gare avant de repartir vers la côte.",
           "Cette idée paraît naïve, mais elle a déjà changé la façon dont nous travaillons.",
           "Les élèves préfèrent réviser ensemble à la bibliothèque municipale.",
           "Il faut prévoir une journée entière pour visiter le château et ses jardins.",
           "Après la pluie, les rues de la vieille ville sentaient le pain chaud."],
    "de": ["Die Straßenbahn fährt am Wochenende nur alle zwanzig Minuten.",
           "Wir haben über die Größe der Wohnung lange diskutiert, bevor wir unterschrieben haben.",
           "Im Frühling blühen die Obstbäume entlang des Flusses besonders schön.",
           "Der Bäcker an der Ecke öffnet schon um sechs Uhr morgens.",
           "Für die Prüfung müssen die Schüler drei Aufsätze schreiben.",
           "Übung macht den Meister, sagt meine Großmutter immer."],
    "es": ["El mercado de la plaza abre temprano y cierra antes del mediodía.",
           "Pedimos unos jalapeños y una jarra de limonada mientras esperábamos.",
           "La señora García enseña música en la escuela del barrio desde hace años.",
           "Mañana iremos a la montaña si el pronóstico no cambia.",
           "Los niños aprendieron a nadar en el río durante el verano.",
           "¿Quién dejó la puerta del jardín abierta otra vez?"],
}
# Loanword sentences: every one carries a non-ASCII Latin-1 character, so a Latin-1 file
# built from them can never be valid UTF-8 by accident.
LATIN1_SENTENCES = [
    "We finally met at the café on the corner, and the whole afternoon felt like déjà vu.",
    "Her naïve plan to repaint the façade in a single weekend did not survive the first estimate.",
    "He rewrote his résumé twice before sending it to the coöperative bakery downtown.",
    "The jalapeño salsa was easily the best thing on the menu that evening.",
    "Dessert was a crème brûlée that the chef insisted on torching at the table.",
    "The über-efficient manager scheduled a tête-à-tête with every new hire.",
]
CP1252_SENTENCES = [
    "\u201cIt\u2019s only a draft,\u201d she said, \u201cso don\u2019t quote me yet.\u201d",
    "The caf\u00e9 charged \u20ac4 for a coffee \u2014 steep, but the view was worth it.",
    "He called it a \u2018temporary\u2019 fix; it lasted eleven years.",
]
JAPANESE = ["今日はとても良い天気ですね。", "駅の近くに新しい喫茶店ができました。", "この本は図書館で借りることができます。",
            "来週の会議は午後三時から始まります。", "日本語の文章を正しく読み込めるか確認します。"]
NAV = ["Home | About | Contact", "Home | News | Sports | Weather | Contact", "Skip to main content", "Sign in | Register | Help"]
COOKIE = ["We use cookies to improve your experience. By continuing to browse, you agree to our use of cookies.",
          "Accept all cookies | Manage preferences", "This site uses cookies. Learn more in our cookie policy."]
JS_NOTICE = ["Please enable JavaScript to view this page.", "You need to enable JavaScript to run this app."]
FOOTER = ["\u00a9 2024 Example Media Ltd. All rights reserved.", "Privacy Policy | Terms of Use | Cookie Settings",
          "Follow us on Twitter, Facebook and Instagram", "Subscribe to our newsletter", "Back to top"]
FIRST = "james|maria|wei|fatima|olga|daniel|priya|lucas|amara|kenji|sofia|liam".split("|")
LAST = "smith|garcia|chen|okafor|novak|dubois|patel|silva|mensah|tanaka|rossi|murphy".split("|")
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "test.example.co.uk"]
AREA = ["415", "212", "646", "312", "617", "206", "303", "512", "718", "202"]
E164_INTL = ["+442071838750", "+4930901820", "+33142685300", "+61293744000", "+81312345678"]
KNOWN_CARDS = ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "4012888888881881",
               "6011 1111 1111 1117", "3714-496353-98431"]
PII_SENTENCES = {
    "email": ["You can reach the coordinator at {v} if anything is unclear.", "Send corrections to {v} before Friday.",
              "For press enquiries, write to {v} and mention this article."],
    "phone": ["Call the front desk at {v} between nine and five.", "Her direct line is {v}, though she rarely picks up.",
              "If the office is closed, leave a message on {v}."],
    "credit_card": ["The booking was paid with card {v}, which the clerk read aloud.",
                    "Customer note: card number {v} was entered twice by mistake.",
                    "He wrote {v} on the back of the receipt, which was not a good idea."],
}
LOOKALIKE_SENTENCES = {
    "non_luhn_16": ["Tracking reference {v} was printed on the side of the box.", "The gift voucher code {v} expired last month."],
    "order_number": ["Your order {v} shipped this morning and should arrive within three days.", "Please quote order {v} in any reply."],
    "isbn": ["The second edition (ISBN {v}) fixed most of the errors.", "The library lists it under ISBN {v}."],
    "date": ["The meeting was moved to {v} after the venue cancelled.", "The survey closed on {v}."],
    "timestamp": ["The log entry stamped {v} marks the moment the backup finished.", "The sensor reported {v} as its last reading time."],
    "version": ["After upgrading to version {v}, the problem disappeared.", "The bug was introduced in release {v}."],
}
ART_CHARS = "/\\|_-=+*~^<>()[]{}:;'`,!?@$%&"  # no '#' or '.': keep the Gopher symbol rule quiet
PUNCT_RUNS = "!?-*=~_+;:,"
ASCII_ART = [r"""
  /\_/\
 ( o o )
  > ^ <
""", r"""
 +-----------+
 |  [=====]  |
 |   (   )   |
 +-----------+
""", r"""
    __|__
 ---@-(_)-@---
   //   \\
"""]
PASS = {"decode": "text", "document": "pass", "fail_rules": [], "chunks": "pass"}
UNKNOWN = {"decode": "text", "document": None, "fail_rules": [], "chunks": None}


def fail(*rules):
    return {"decode": "text", "document": "fail", "fail_rules": list(rules), "chunks": None}


# ---------------------------------------------------------------- numbers
def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return len(digits) > 0 and total % 10 == 0


def luhn_complete(partial: str) -> str:
    return next(partial + str(c) for c in range(10) if luhn_ok(partial + str(c)))


def format_card(num: str, style: str) -> str:
    groups = [num[:4], num[4:10], num[10:]] if len(num) == 15 else [num[i:i + 4] for i in range(0, len(num), 4)]
    return {"space": " ".join(groups), "dash": "-".join(groups), "plain": num}[style]


def random_card(rng: Random) -> str:
    prefix = rng.choice(["4", "51", "52", "53", "54", "55", "34", "37", "6011"])
    length = 15 if prefix in ("34", "37") else 16
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def gen_card(rng: Random) -> str:
    if rng.random() < 0.4:
        return rng.choice(KNOWN_CARDS)
    return format_card(random_card(rng), rng.choice(["space", "dash", "plain"]))


def gen_phone(rng: Random) -> str:
    a, line = rng.choice(AREA), f"01{rng.randrange(100):02d}"  # 555-01xx is reserved for fiction
    fmt = rng.choice(["({a}) 555-{l}", "{a}-555-{l}", "+1 {a} 555 {l}", "{a}.555.{l}", "+1{a}555{l}", "intl"])
    return rng.choice(E164_INTL) if fmt == "intl" else fmt.format(a=a, l=line)


def gen_email(rng: Random) -> str:
    f, last, d = rng.choice(FIRST), rng.choice(LAST), rng.choice(DOMAINS)
    return rng.choice([f"{f}.{last}@{d}", f"{f}{last[0]}@{d}", f"{f}_{last}{rng.randrange(10, 99)}@{d}",
                       f"support+{rng.choice(['billing', 'orders', 'help'])}@{d}"])


def non_luhn(rng: Random, digits: int) -> str:
    while True:
        n = "".join(str(rng.randrange(10)) for _ in range(digits))
        if n[0] != "0" and not luhn_ok(n):
            return n


def gen_lookalike(rng: Random, kind: str) -> str:
    y, m, d = rng.randint(2015, 2025), rng.randint(1, 12), rng.randint(1, 28)
    if kind == "non_luhn_16":
        valid = random_card(rng)[:15]
        bad = valid + str((int(luhn_complete(valid)[-1]) + rng.randint(1, 9)) % 10)
        return format_card(bad, rng.choice(["space", "dash", "plain"]))
    if kind == "order_number":
        return rng.choice([f"ORD-{y}{m:02d}{d:02d}-{rng.randrange(10000):04d}", f"{y}{m:02d}{d:02d}-{rng.randrange(1000, 9999)}",
                           f"No. {rng.randrange(10**7, 10**8)}", non_luhn(rng, rng.choice([13, 14, 18]))])
    if kind == "isbn":
        while True:
            core = "978" + "".join(str(rng.randrange(10)) for _ in range(9))
            check = (10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(core)) % 10) % 10
            full = core + str(check)
            if not luhn_ok(full):  # an ISBN that happened to pass Luhn would be a legitimate card match
                return f"{full[:3]}-{full[3]}-{full[4:7]}-{full[7:12]}-{full[12]}"
    if kind == "date":
        return rng.choice([f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{m:02d}/{d:02d}/{y}",
                           f"{['January', 'March', 'June', 'October'][m % 4]} {d}, {y}"])
    if kind == "timestamp":
        hh, mm, ss = rng.randrange(24), rng.randrange(60), rng.randrange(60)
        # Epoch seconds start with 1, which no NANP area code does: a 10-digit phone look-alike.
        epoch = str(rng.randint(1_500_000_000, 1_750_000_000))
        return rng.choice([f"{y}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}Z", f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}", epoch])
    if kind == "version":
        return rng.choice(["1.2.3.4", "10.0.19045.3570", f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 40)}",
                           f"v{rng.randint(1, 5)}.{rng.randint(0, 12)}.{rng.randint(0, 9)}-rc{rng.randint(1, 4)}"])
    raise ValueError(kind)


# ---------------------------------------------------------------- prose
def pick(rng: Random, piped: str) -> str:
    return rng.choice(piped.split("|"))


def sentence(rng: Random, topic: str) -> str:
    _, subjects, claims, contexts = TOPICS[topic]
    if rng.random() < 0.12:
        return rng.choice(SHORT_SENTENCES)
    s, s2 = rng.sample(subjects.split("|"), 2)
    c, c2 = rng.sample(claims.split("|"), 2)
    x = pick(rng, contexts)
    return rng.choice(TEMPLATES).format(s=s, s2=s2, c=c, c2=c2, x=x, S=s[0].upper() + s[1:], X=x[0].upper() + x[1:])


def paragraph(rng: Random, topic: str) -> str:
    return " ".join(sentence(rng, topic) for _ in range(rng.randint(2, 7)))


def prose_body(rng: Random, topics: list, words: int, headings: bool = False, lists: bool = False) -> str:
    heads = GENERIC_HEADINGS.split("|") + [t for tp in topics for t in TOPICS[tp][0].split("|")]
    rng.shuffle(heads)
    blocks, count, since_head = [], 0, 0
    while count < words:
        topic = topics[min(len(topics) - 1, count * len(topics) // max(words, 1))]
        if headings and since_head > 250 and heads and rng.random() < 0.4:
            blocks.append(rng.choice(["## ", "", "### "]) + heads.pop())
            since_head = 0
        if lists and rng.random() < 0.1:
            _, subjects, claims, _ = TOPICS[topic]
            marker = rng.choice(["-", "*", "1."])
            items = [f"{f'{i + 1}.' if marker == '1.' else marker} {s[0].upper() + s[1:]} {c}."
                     for i, (s, c) in enumerate(zip(rng.sample(subjects.split("|"), 4), rng.sample(claims.split("|"), 4)))]
            blocks.append("A few things to keep in mind:\n" + "\n".join(items[:rng.randint(3, 4)]))
        para = paragraph(rng, topic)
        blocks.append(para)
        count += len(para.split())
        since_head += len(para.split())
    return "\n\n".join(blocks)


def titled(rng: Random, topics: list, words: int, **kw) -> str:
    return pick(rng, TOPICS[topics[0]][0]) + "\n\n" + prose_body(rng, topics, words, **kw) + "\n"


def topics_for(rng: Random, n: int = 1) -> list:
    return rng.sample(list(TOPICS), n)


def plant(rng: Random, text: str, kinds: list, table: dict) -> tuple:
    """Append one sentence per planted value to random paragraphs; returns (text, {kind: [values]})."""
    paras, planted = text.split("\n\n"), {}
    for kind in kinds:
        value = gen_card(rng) if kind == "credit_card" else gen_phone(rng) if kind == "phone" else \
            gen_email(rng) if kind == "email" else gen_lookalike(rng, kind)
        i = rng.randrange(1, len(paras)) if len(paras) > 1 else 0
        paras[i] = paras[i].rstrip("\n") + " " + rng.choice(table[kind]).format(v=value)
        planted.setdefault(kind, []).append(value)
    return "\n\n".join(paras).rstrip("\n") + "\n", planted


# ---------------------------------------------------------------- categories (text level)
def gen_prose_short(rng):
    return titled(rng, topics_for(rng), rng.randint(60, 190)), {}


def gen_prose_medium(rng):
    return titled(rng, topics_for(rng), rng.randint(300, 1500), headings=rng.random() < 0.5, lists=rng.random() < 0.4), {}


def gen_prose_long(rng):
    return titled(rng, topics_for(rng, rng.randint(1, 3)), rng.randint(3000, 7800), headings=True, lists=True), {}


def gen_prose_pii(rng):
    kinds = [rng.choice(["email", "phone", "credit_card"]) for _ in range(rng.randint(2, 5))]
    text, pii = plant(rng, titled(rng, topics_for(rng), rng.randint(150, 600)), kinds, PII_SENTENCES)
    looks = [rng.choice(list(LOOKALIKE_SENTENCES)) for _ in range(rng.randint(0, 3))]
    text, lk = plant(rng, text, looks, LOOKALIKE_SENTENCES)
    return text, {"pii": pii, "lookalikes": lk}


def gen_prose_lookalike(rng):
    looks = rng.sample(list(LOOKALIKE_SENTENCES), 3) + ["non_luhn_16"]
    text, lk = plant(rng, titled(rng, topics_for(rng), rng.randint(150, 500)), looks, LOOKALIKE_SENTENCES)
    return text, {"lookalikes": lk}


def gen_boilerplate_light(rng):
    top = [rng.choice(NAV), "Skip to main content"]
    bottom = [rng.choice(COOKIE), rng.choice(JS_NOTICE)] + rng.sample(FOOTER, 2)
    return "\n".join(top) + "\n" + titled(rng, topics_for(rng), rng.randint(200, 500)) + "\n".join(bottom) + "\n", {}


def gen_boilerplate_heavy(rng):
    # A crawl of a paginated listing: page chrome repeats around each one-line teaser, so
    # most lines are duplicates while the word count stays well above the minimum.
    topic = topics_for(rng)[0]
    chrome = [rng.choice(NAV), rng.choice(JS_NOTICE), rng.choice(COOKIE)] + rng.sample(FOOTER, 3)
    lines = [pick(rng, TOPICS[topic][0]), paragraph(rng, topic)]
    for _ in range(rng.randint(5, 9)):
        lines += chrome[:3] + [sentence(rng, topic)] + chrome[3:]
    return "\n".join(lines) + "\n", {}


def gen_markup_html(rng):
    topic = topics_for(rng)[0]
    title = pick(rng, TOPICS[topic][0])
    paras = []
    for _ in range(rng.randint(2, 6)):
        p = paragraph(rng, topic).replace(" and ", rng.choice([" &amp; ", " and "]))
        p = p.replace(", ", rng.choice([",&nbsp;", ", "]), 1)
        paras.append(rng.choice(["<p>{}</p>", "<p class=\"lead\">{}</p>", "<div><span>{}</span><br/></div>"]).format(p))
    paras.insert(1, f"<p>Read <a href=\"/articles/{rng.randrange(9999)}\">the previous post</a> &mdash; it&#39;s &quot;short&quot;.</p>")
    script = ("<script type=\"text/javascript\">\nwindow.dataLayer = window.dataLayer || [];\n"
              "function track(e) { dataLayer.push({event: e, ts: Date.now()}); }\ntrack('pageview');\n</script>")
    style = "<style>\nbody { font-family: Georgia, serif; max-width: 42em; }\n.nav a { color: #333; }\n</style>"
    if rng.random() < 0.5:
        html = (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n{style}\n{script}\n"
                f"</head>\n<body>\n<div class=\"nav\"><a href=\"/\">Home</a> | <a href=\"/about\">About</a> | "
                f"<a href=\"/contact\">Contact</a></div>\n<article>\n<h1>{title}</h1>\n" + "\n".join(paras) +
                "\n</article>\n<footer>&copy; 2024 Example Media &nbsp;|&nbsp; All rights reserved.</footer>\n</body>\n</html>\n")
    else:
        html = f"<div class=\"post-body\">\n<h2>{title}</h2>\n" + "\n".join(paras) + f"\n</div>\n{script}\n"
    return html, {}


def gen_junk_symbols(rng):
    soup = "!@#$%^&*()_+-=[]{};:'\",<>/?\\|`~"
    return "\n".join(" ".join("".join(rng.choice(soup) for _ in range(rng.randint(2, 12))) for _ in range(rng.randint(4, 10)))
                     for _ in range(rng.randint(15, 50))) + "\n", {}


def art_lines(rng: Random, n: int) -> list:
    return ["".join(rng.choice(ART_CHARS) if rng.random() > 0.02 else " " for _ in range(rng.randint(40, 78))) for _ in range(n)]


def gen_junk_ascii_art(rng):
    parts = [rng.choice(ASCII_ART).strip("\n") for _ in range(rng.randint(1, 3))] + ["\n".join(art_lines(rng, rng.randint(8, 25)))]
    rng.shuffle(parts)
    return "\n\n".join(parts) + "\n", {}


def gen_junk_punctuation(rng):
    return "\n".join(" ".join(rng.choice(PUNCT_RUNS + ".") * rng.randint(3, 40) for _ in range(rng.randint(1, 5)))
                     for _ in range(rng.randint(20, 60))) + "\n", {}


def gen_junk_numbers(rng):
    cols = rng.randint(4, 8)
    rows = ["id | " + " | ".join(f"q{i}" for i in range(1, cols)), "-" * (cols * 10)]
    rows += [f"{r:04d} | " + " | ".join(f"{rng.uniform(-999, 9999):,.2f}" for _ in range(cols - 1)) for r in range(rng.randint(30, 90))]
    return "\n".join(rows) + "\n", {}


def gen_junk_base64(rng):
    blob = base64.b64encode(rng.randbytes(rng.randint(1500, 9000))).decode("ascii")
    lines = [blob[i:i + 76] for i in range(0, len(blob), 76)]
    label = rng.choice(["CERTIFICATE", "PGP MESSAGE", "ENCRYPTED PRIVATE KEY"])
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n", {}


def gen_very_short(rng):
    if rng.random() < 0.4:
        return rng.choice(["Thanks!", "Page not found.", "See attached.", "Lorem ipsum", "TODO", "ok", "404",
                           "Coming soon.", "Click here to continue"]) + "\n", {}
    return " ".join(paragraph(rng, topics_for(rng)[0]).split()[:rng.randint(1, 20)]) + "\n", {}


def gen_mixed_language(rng):
    langs = ["fr", "de", "es"]
    paras = [paragraph(rng, topics_for(rng)[0])]
    for lang in rng.sample(langs, 3):
        paras.append(" ".join(rng.sample(FOREIGN[lang], rng.randint(4, 6))))
        paras.append(paragraph(rng, topics_for(rng)[0]))
    text = "\n\n".join(paras) + "\n"
    return text, {"languages": ["en"] + langs}


def gen_long_mixed_ascii(rng):
    # Prose around a ~4k-token block of unique punctuation lines: every 512-token window
    # inside the block fails the non-alnum rule, while the document as a whole keeps
    # >80% alphabetic words and passes the Gopher filter.
    topics = topics_for(rng, 2)
    head = pick(rng, TOPICS[topics[0]][0]) + "\n\n" + prose_body(rng, topics[:1], rng.randint(2600, 3400), headings=True)
    head += "\n\n## Appendix: Console Banner\n\n"
    art = "\n".join(art_lines(rng, 110) + ["=" * 72] + art_lines(rng, 10))
    tail = "\n\n## Back to the Main Text\n\n" + prose_body(rng, topics[1:], rng.randint(2600, 3400), headings=True) + "\n"
    return head + art + tail, {"junk_span": [len(head), len(head) + len(art)]}


TEXT_CATEGORIES = {  # name -> (generator, expectation, folders, weight for files, weight for records)
    "prose_short": (gen_prose_short, PASS, ["web/news/2023", "web/blog", "forum/threads"], 0.14, 0.25),
    "prose_medium": (gen_prose_medium, PASS, ["web/news/2024", "docs/guides", "docs/manuals/legacy", "web/blog"], 0.22, 0.25),
    "prose_long": (gen_prose_long, PASS, ["docs/manuals", "docs/guides/longform"], 0.04, 0.02),
    "prose_pii": (gen_prose_pii, PASS, ["support/tickets", "forum/threads", "web/blog"], 0.12, 0.12),
    "prose_lookalike": (gen_prose_lookalike, PASS, ["support/orders", "docs/release-notes"], 0.05, 0.05),
    "boilerplate_light": (gen_boilerplate_light, PASS, ["web/pages", "web/news/2024"], 0.07, 0.05),
    "boilerplate_heavy": (gen_boilerplate_heavy, fail("duplicate_lines"), ["web/pages", "web/news/2023"], 0.06, 0.06),
    "markup_html": (gen_markup_html, UNKNOWN, ["web/raw_html", "web/pages/snippets"], 0.07, 0.05),
    "junk_symbols": (gen_junk_symbols, fail("alpha_words"), ["misc/junk"], 0.03, 0.03),
    "junk_ascii_art": (gen_junk_ascii_art, fail("alpha_words"), ["misc/junk", "misc/scraps/old"], 0.03, 0.0),
    "junk_punctuation": (gen_junk_punctuation, fail("alpha_words"), ["misc/junk"], 0.03, 0.0),
    "junk_numbers": (gen_junk_numbers, fail("alpha_words"), ["misc/scraps/old", "misc/junk"], 0.03, 0.0),
    "junk_base64": (gen_junk_base64, fail("mean_word_length"), ["misc/junk"], 0.03, 0.02),
    "very_short": (gen_very_short, fail("min_words"), ["misc/short"], 0.08, 0.07),
    "mixed_language": (gen_mixed_language, PASS, ["intl/mixed"], 0.0, 0.03),
    "long_mixed_ascii": (gen_long_mixed_ascii, {**PASS, "chunks": "some_fail_non_alnum"}, ["docs/manuals"], 0.0, 0.0),
}


def allocate(total: int, weights: dict) -> dict:
    """Largest-remainder split of total over positive weights, at least one each."""
    live = {k: w for k, w in weights.items() if w > 0}
    counts = {k: 1 for k in live}
    rest = total - len(live)
    exact = {k: rest * w / sum(live.values()) for k, w in live.items()}
    for k in live:
        counts[k] += int(exact[k])
    order = sorted(live, key=lambda k: (-(exact[k] - int(exact[k])), k))
    for k in order[:total - sum(counts.values())]:
        counts[k] += 1
    return counts


# ---------------------------------------------------------------- output
class Corpus:
    def __init__(self, out: Path, total: int, quiet: bool):
        self.out, self.total, self.quiet = out, total, quiet
        self.docs, self.done, self.name_seq = {}, 0, 0

    def log(self, msg: str) -> None:
        if not self.quiet:
            print(msg, file=sys.stderr, flush=True)

    def tick(self) -> None:
        self.done += 1
        if self.done % 100 == 0 or self.done == self.total:
            self.log(f"  [{self.done:>5}/{self.total}] documents")

    def entry(self, category, expect, meta, encoding="utf-8"):
        meta = dict(meta)
        pii = meta.pop("pii", {})
        e = {"category": category, "encoding": encoding,
             "pii": {k: pii.get(k, []) for k in ("email", "phone", "credit_card")},
             "lookalikes": meta.pop("lookalikes", {}), "expect": dict(expect)}
        e.update(meta)
        return e

    def file_name(self, stem: str) -> str:
        self.name_seq += 1
        slug = "".join(c if c.isalnum() else "-" for c in stem.lower()).strip("-")
        return f"{'-'.join(filter(None, slug.split('-')))[:40]}-{self.name_seq:04d}.txt"

    def write(self, rel: str, data: bytes, entry: dict) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entry.update(path=rel, record_id=None, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
        self.docs[rel] = entry
        self.tick()


def write_text_categories(c: Corpus, rng: Random, counts: dict) -> None:
    for cat, n in counts.items():
        gen, expect, folders, _, _ = TEXT_CATEGORIES[cat]
        for i in range(n):
            text, meta = gen(rng)
            stem = text.strip().split("\n")[0][:40] if cat.startswith(("prose", "boiler")) else cat
            name = c.file_name(stem)
            if cat == "prose_medium" and i == 0:
                name = f"Meeting notes {c.name_seq:04d}.txt"  # spaces in a path are a classic reader bug
            c.write(f"{rng.choice(folders)}/{name}", text.encode("utf-8"), c.entry(cat, expect, meta))
        c.log(f"  {cat:<20} {n:>5} files")


def prose_with(rng: Random, sentences: list, n_words: int, must: list = None) -> str:
    topic = topics_for(rng)[0]
    paras = [pick(rng, TOPICS[topic][0])]
    if must:  # guarantees the bytes that make this encoding distinguishable are present
        paras.append(paragraph(rng, topic) + " " + rng.choice(must))
    while sum(len(p.split()) for p in paras) < n_words:
        paras.append(paragraph(rng, topic) + " " + " ".join(rng.sample(sentences, min(2, len(sentences)))))
    return "\n\n".join(paras) + "\n"


def write_encodings(c: Corpus, rng: Random) -> None:
    def emit(folder, category, text, data, encoding, expect, **extra):
        # Non-ASCII words are exactly what a wrong codec guess mangles, so they make the best probes.
        snippets = []
        for word in text.split():
            word = word.strip(".,;:!?()")
            if any(ord(ch) > 127 for ch in word) and word not in snippets and len(snippets) < 6:
                snippets.append(word)
        meta = {"expected_snippets": snippets, **extra}
        c.write(f"{folder}/{c.file_name(category)}", data, c.entry(category, expect, meta, encoding))

    foreign = FOREIGN["fr"] + FOREIGN["de"] + FOREIGN["es"]
    for _ in range(3):
        t = prose_with(rng, LATIN1_SENTENCES + foreign, rng.randint(120, 400), must=LATIN1_SENTENCES[:2])
        emit("intl/legacy", "encoding_latin1", t, t.encode("latin-1"), "latin-1", PASS)
    for _ in range(3):
        t = prose_with(rng, CP1252_SENTENCES + LATIN1_SENTENCES, rng.randint(120, 400), must=CP1252_SENTENCES)
        emit("intl/legacy", "encoding_cp1252", t, t.encode("cp1252"), "cp1252", PASS)
    for order in ("le", "le", "be"):
        t = prose_with(rng, LATIN1_SENTENCES + CP1252_SENTENCES, rng.randint(120, 400))
        data = b"\xfe\xff" + t.encode("utf-16-be") if order == "be" else b"\xff\xfe" + t.encode("utf-16-le")
        emit("intl/utf16", "encoding_utf16_bom", t, data, "utf-16", PASS, byte_order=order)
    for _ in range(2):
        t = prose_with(rng, LATIN1_SENTENCES, rng.randint(120, 400))
        emit("intl", "encoding_utf8_bom", t, t.encode("utf-8-sig"), "utf-8-sig", PASS)
    for _ in range(2):
        t = "\n".join(rng.sample(JAPANESE, 4)) + "\n\n" + paragraph(rng, topics_for(rng)[0]) + "\n" + "\n".join(rng.sample(JAPANESE, 3)) + "\n"
        emit("intl/ja", "encoding_shift_jis", t, t.encode("shift_jis"), "shift_jis", UNKNOWN)
    for _ in range(4):
        t, meta = gen_mixed_language(rng)
        emit("intl/mixed", "mixed_language", t, t.encode("utf-8"), "utf-8", PASS, **meta)
    for _ in range(2):
        t = titled(rng, topics_for(rng), rng.randint(150, 400))
        data = bytearray(t.encode("utf-8"))
        for bad in rng.sample([b"\xff", b"\xc3\x28", b"\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xfe"], 4):
            pos = rng.randrange(len(data) // 4, len(data))
            while data[pos] != 0x20:  # splice at a space so no valid multi-byte char is cut
                pos -= 1
            data[pos:pos] = bad
        emit("misc/scraps", "invalid_utf8", t, bytes(data), "invalid-utf-8", UNKNOWN)
    c.log("  encodings / mixed language / invalid UTF-8: 19 files")


def write_binaries(c: Corpus, rng: Random) -> None:
    binaries = [
        ("binary_png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(rng.randint(2000, 8000))),
        ("binary_nul", b"".join(rng.choice([b"\x00" * rng.randint(4, 64), rng.randbytes(8), b"record\xff\xfe"]) for _ in range(300))),
        ("binary_gzip", b"\x1f\x8b\x08\x00" + rng.randbytes(rng.randint(1000, 4000))),
        ("binary_random", rng.randbytes(rng.randint(1000, 4000)) + b"\xff\x00\x89"),
    ]
    for cat, data in binaries:
        c.write(f"misc/attachments/{c.file_name(cat)}", data,
                c.entry(cat, {"decode": "binary", "document": None, "fail_rules": [], "chunks": None}, {}, "binary"))
    c.log(f"  binary               {len(binaries):>5} files")


def write_edge_files(c: Corpus, rng: Random) -> None:
    for _ in range(2):
        t, meta = gen_long_mixed_ascii(rng)
        c.write(f"docs/manuals/{c.file_name('handbook')}", t.encode("utf-8"),
                c.entry("long_mixed_ascii", TEXT_CATEGORIES["long_mixed_ascii"][1], meta))
    for _ in range(2):
        c.write(f"misc/short/{c.file_name('empty')}", b"", c.entry("empty", fail("min_words"), {}))
    for data in (b"   \n\t\n  \r\n", b"\n\n\n\xc2\xa0 \t \n"):
        c.write(f"misc/short/{c.file_name('whitespace')}", data, c.entry("whitespace_only", fail("min_words"), {}))
    for variant in ("crlf_tabs", "zero_width", "control", "all"):
        words = titled(rng, topics_for(rng), rng.randint(150, 350)).split(" ")
        if variant in ("zero_width", "all"):
            words = [w[:len(w) // 2] + "\u200b" + w[len(w) // 2:] if len(w) > 6 and rng.random() < 0.1 else w for w in words]
            words = [w + "\u00a0" if rng.random() < 0.05 else w for w in words]
        t = " ".join(words)
        if variant in ("control", "all"):
            t = "\x1b[32mINFO\x1b[0m " + t.replace(". ", rng.choice([". \x07", ".\x0b ", ". \x0c"]), 3) + "\x1a"
        if variant in ("crlf_tabs", "all"):
            t = "\r\n".join("\t" + ln + "   " if ln and rng.random() < 0.5 else ln for ln in t.split("\n"))
        c.write(f"misc/terminal_logs/{c.file_name('console-' + variant)}", t.encode("utf-8"),
                c.entry("control_chars", UNKNOWN, {"variant": variant}))
    c.log("  long_mixed_ascii / empty / whitespace / control: 10 files")


def write_duplicates(c: Corpus, rng: Random, n: int = DUPLICATES) -> None:
    originals = [p for p, e in c.docs.items() if e["category"] in ("prose_short", "prose_medium")]
    for src in rng.sample(originals, min(n, len(originals))):
        data = (c.out / src).read_bytes()
        rel = f"mirror/copies/{Path(src).stem}-copy.txt"
        e = dict(c.docs[src], category="duplicate", duplicate_of=src, duplicate_category=c.docs[src]["category"])
        c.write(rel, data, e)
    c.log(f"  duplicates           {n:>5} files")


def record_texts(c: Corpus, rng: Random, n: int, prefix: str) -> list:
    weights = {k: v[4] for k, v in TEXT_CATEGORIES.items()}
    out = []
    for cat, k in allocate(n, weights).items():
        gen, expect = TEXT_CATEGORIES[cat][:2]
        for _ in range(k):
            text, meta = gen(rng)
            out.append((cat, text, c.entry(cat, expect, meta)))
    rng.shuffle(out)
    return [(f"{prefix}-{i + 1:06d}", cat, text, e) for i, (cat, text, e) in enumerate(out)]


def write_jsonl(c: Corpus, rng: Random, n: int) -> None:
    no_text = {"decode": "no_text", "document": None, "fail_rules": [], "chunks": None}
    recs = record_texts(c, rng, n - 6, "rec")
    lines = [(rid, cat, json.dumps({"id": rid, "text": text}, ensure_ascii=False), e) for rid, cat, text, e in recs]
    lines += [
        ("rec-null", "text_null", json.dumps({"id": "rec-null", "text": None}), c.entry("text_null", no_text, {})),
        ("rec-missing", "text_missing", json.dumps({"id": "rec-missing", "title": "Draft without body"}), c.entry("text_missing", no_text, {})),
        ("rec-empty", "empty", json.dumps({"id": "rec-empty", "text": ""}), c.entry("empty", fail("min_words"), {})),
    ]
    malformed = ['{"id": "rec-bad-1", "text": "The committee met on Tuesday to discuss the',
                 "{'id': 'rec-bad-2', 'text': 'Single quotes are a Python repr, not JSON.'}",
                 '{"id": "rec-bad-3", "text": "He said "hello" and left without another word."}']
    for m in malformed:
        lines.insert(rng.randrange(len(lines) + 1), (None, "malformed_json", m, c.entry("malformed_json", {**no_text, "decode": "malformed"}, {})))
    path = c.out / JSONL_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for _, _, line, _ in lines), encoding="utf-8")
    for lineno, (rid, _cat, _, e) in enumerate(lines, start=1):
        key = f"{JSONL_PATH}#{rid}" if rid else f"{JSONL_PATH}#line:{lineno}"
        e.update(path=JSONL_PATH, record_id=rid, line=lineno)
        c.docs[key] = e
        c.tick()
    c.log(f"  jsonl records        {len(lines):>5} ({len(malformed)} malformed)")


def write_parquet(c: Corpus, rng: Random, n: int) -> None:
    recs = record_texts(c, rng, n - 1, "pq")
    null_at = rng.randrange(len(recs) + 1)
    recs.insert(null_at, ("pq-null", "text_null", None,
                          c.entry("text_null", {"decode": "no_text", "document": None, "fail_rules": [], "chunks": None}, {})))
    table = pa.table({"id": pa.array([r[0] for r in recs], pa.string()), "text": pa.array([r[2] for r in recs], pa.string())})
    path = c.out / PARQUET_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=100, compression="snappy")
    for row, (rid, _, _, e) in enumerate(recs):
        e.update(path=PARQUET_PATH, record_id=rid, row=row)
        c.docs[f"{PARQUET_PATH}#{rid}"] = e
        c.tick()
    c.log(f"  parquet rows         {len(recs):>5}")


def write_ignored(c: Corpus) -> dict:
    files = {"README.md": "# Mock corpus\n\nGenerated by scripts/generate_mock_data.py; see manifest.json.\n",
             "misc/export.csv": "id,amount\n1,19.99\n2,5.00\n"}
    for rel, text in files.items():
        (c.out / rel).parent.mkdir(parents=True, exist_ok=True)
        (c.out / rel).write_text(text, encoding="utf-8")
    return {rel: {"reason": "extension not in input.text_extensions/jsonl/parquet"} for rel in files}


def generate(out: Path, docs: int = 1200, seed: int = 42, quiet: bool = False) -> dict:
    if docs < MIN_DOCS:
        raise ValueError(f"--docs must be >= {MIN_DOCS} so every category is represented")
    rng = Random(seed)
    if out.exists() and any(out.iterdir()):
        # Stale files from an earlier run would silently join the corpus without a manifest entry,
        # so an old corpus is replaced; anything else is refused rather than deleted.
        if not (out / "manifest.json").is_file() or "generate_mock_data" not in (out / "manifest.json").read_text(errors="replace")[:500]:
            raise ValueError(f"{out} is not empty and holds no generated corpus; refusing to overwrite it")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    started = time.perf_counter()
    n_jsonl, n_parquet = round(docs * 0.25), round(docs * 0.2)
    c = Corpus(out, docs, quiet)
    c.log(f"generating {docs} documents into {out} (seed {seed})")
    write_encodings(c, rng)
    write_binaries(c, rng)
    write_edge_files(c, rng)
    # The fixed-size categories above come first so the weighted ones absorb the remainder
    # and the total lands exactly on --docs.
    weighted = docs - n_jsonl - n_parquet - len(c.docs) - DUPLICATES
    write_text_categories(c, rng, allocate(weighted, {k: v[3] for k, v in TEXT_CATEGORIES.items()}))
    write_duplicates(c, rng)
    write_jsonl(c, rng, n_jsonl)
    write_parquet(c, rng, n_parquet)
    ignored = write_ignored(c)
    by_category = {}
    for e in c.docs.values():
        by_category[e["category"]] = by_category.get(e["category"], 0) + 1
    txt = sum(1 for e in c.docs.values() if e["record_id"] is None and e["path"] not in (JSONL_PATH, PARQUET_PATH))
    jsonl = sum(1 for e in c.docs.values() if e["path"] == JSONL_PATH)
    manifest = {
        "generator": "scripts/generate_mock_data.py", "format_version": 1, "seed": seed, "docs_requested": docs,
        "exports": {"jsonl": JSONL_PATH, "parquet": PARQUET_PATH},
        "totals": {"documents": len(c.docs), "txt_files": txt, "jsonl_records": jsonl,
                   "jsonl_malformed": by_category.get("malformed_json", 0),
                   "parquet_rows": sum(1 for e in c.docs.values() if e["path"] == PARQUET_PATH),
                   "files_on_disk": txt + 2 + len(ignored),
                   "pii": {k: sum(len(e["pii"][k]) for e in c.docs.values()) for k in ("email", "phone", "credit_card")},
                   "by_category": dict(sorted(by_category.items()))},
        "ignored_files": ignored,
        "documents": dict(sorted(c.docs.items())),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    c.log(f"done: {len(c.docs)} documents, {size / 1e6:.1f} MB in {time.perf_counter() - started:.1f}s")
    return manifest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Generate a deterministic mock corpus (txt tree + jsonl/parquet exports "
                                             "+ manifest.json) for the lakeprep pipeline.")
    ap.add_argument("--out", required=True, type=Path,
                    help="output directory; a corpus generated earlier there is replaced, any other non-empty directory is refused")
    ap.add_argument("--docs", type=int, default=1200,
                    help=f"total documents = txt files + jsonl lines + parquet rows (default 1200, min {MIN_DOCS})")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    ap.add_argument("--quiet", action="store_true", help="suppress progress output")
    args = ap.parse_args(argv)
    try:
        generate(args.out, args.docs, args.seed, args.quiet)
    except ValueError as exc:
        ap.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
