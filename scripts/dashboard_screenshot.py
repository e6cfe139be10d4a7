"""Screenshot of a running dashboard (python -m lakeprep.dashboard) with headless Chromium.

    python scripts/dashboard_screenshot.py --url http://127.0.0.1:8501 --out docs/img/dashboard.png

Uses the system's Chromium (Debian's `chromium` package; --chromium or $CHROMIUM to point
elsewhere) through Playwright's driver, so nothing is downloaded. The README's picture is made
this way from a database the two jobs filled (tests/e2e/test_dashboard.py does it with
LAKEPREP_DASHBOARD_SCREENSHOT=docs/img/dashboard.png).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

# The last element of the page (app.py); once it is there every section has been sent.
FOOTER = ".st-key-footer"
WIDTH = 1400


def chromium_path(given: str | None = None) -> str:
    # google-chrome: GitHub's Ubuntu runners ship Chrome, where apt's chromium is only a snap stub.
    path = given or os.environ.get("CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not path:
        raise SystemExit("no Chromium found: install Debian's chromium or pass --chromium PATH")
    return path


def wait_until_rendered(page, timeout_ms: int = 60_000) -> None:
    """Wait until the script run is over (the app root's script state; the footer alone is not
    enough: elements keep arriving after it is drawn), then for the tables' rows and the charts
    (both are filled in after their element appears; the page shows a table only when it has
    rows)."""
    page.wait_for_selector(f'[data-testid="stApp"][data-test-script-state="notRunning"] {FOOTER}',
                           timeout=timeout_ms)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stTable\"]')]"
        ".every(t => t.querySelector('tbody tr'))"
        " && [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]')]"
        ".every(c => c.querySelector('canvas, svg'))", timeout=timeout_ms)


def capture(url: str, out: Path, chromium: str | None = None) -> tuple[Path, int]:
    """Write the whole page to ``out``; returns it and the content height it measured."""
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(chromium), headless=True)
        try:
            # Tall from the start: Streamlit may leave what is far below the fold unrendered.
            page = browser.new_page(viewport={"width": WIDTH, "height": 5000})
            page.goto(url)
            wait_until_rendered(page)
            # Streamlit scrolls its main block inside a fixed-height app view, so a "full page"
            # screenshot would stop at the viewport: make the viewport as tall as the content.
            height = page.evaluate(
                "() => document.querySelector('[data-testid=\"stMainBlockContainer\"]')"
                ".scrollHeight")
            page.set_viewport_size({"width": WIDTH, "height": int(height) + 40})
            wait_until_rendered(page)
            page.wait_for_timeout(1500)  # let charts redraw at the new size
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()
    return out, int(height)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8501", help="the dashboard's URL")
    parser.add_argument("--out", type=Path, default=Path("docs/img/dashboard.png"))
    parser.add_argument("--chromium", help="Chromium executable (default: $CHROMIUM, chromium)")
    args = parser.parse_args(argv)
    print(capture(args.url, args.out, args.chromium)[0])


if __name__ == "__main__":
    sys.exit(main())
