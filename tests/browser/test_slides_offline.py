"""``make slides`` in a lecture hall without network: every non-local request is blocked.

The browser may reach 127.0.0.1 only; everything else is aborted and recorded. The slides must
still be laid out by reveal.js (its style sheet served by Voilà from the machine), show one
section per slide of ``demos/explorers.ipynb``, move to the next slide on a key press, and
the gradient-flow explorer's slider must redraw its figure.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import browser_utils as bu
import pytest

CHROMIUM = bu.find_chromium()
# What `make slides-assets` puts beside Voila's reveal template (jQuery is copied last).
ASSETS = bu.ROOT / ".venv" / "share" / "jupyter" / "voila" / "templates" / "reveal" / "static"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("slides-offline"),
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium found (install Debian's `chromium` or set BPCOURSE_CHROMIUM)",
    ),
]

# Voila's reveal template links an icon font from a CDN that the slides do not use; it is
# blocked like everything else, and nothing else may be asked for.
VOILA_TEMPLATE_CDN = ("cdn.jsdelivr.net/npm/@fortawesome/",)
PRESENT = "Array.from(document.querySelectorAll('.reveal .slides > section'))" + (
    ".findIndex(s => s.classList.contains('present'))"
)


def _local(url: str) -> bool:
    return url.startswith(("http://127.0.0.1:", "data:", "blob:", "ws://127.0.0.1:"))


@pytest.fixture(scope="module")
def assets() -> Path:
    """reveal.js's style sheets, fetched once by ``make slides-assets`` (npm) if missing."""
    if not (ASSETS / "jquery.min.js").is_file():
        out = subprocess.run(
            ["make", "slides-assets"], cwd=bu.ROOT, capture_output=True, text=True, timeout=300
        )
        if out.returncode != 0:
            pytest.skip(f"make slides-assets failed (npm needed once):\n{out.stdout}{out.stderr}")
    return ASSETS


@pytest.fixture
def offline_page(assets: Path) -> Iterator[tuple[Any, list[str]]]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    assert CHROMIUM is not None
    blocked: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = bu.launch_chromium(pw, CHROMIUM)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})

            def route(r: Any) -> None:
                if _local(r.request.url):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            yield context.new_page(), blocked
            context.close()
        finally:
            browser.close()


def test_slides_work_offline(offline_page: tuple[Any, list[str]], tmp_path: Path) -> None:
    page, blocked = offline_page
    with bu.running(bu.voila_from_make("slides", tmp_path / "home")) as server:
        page.goto(server.url)
        page.locator(".reveal .slides").wait_for(state="attached", timeout=60_000)
        page.locator(".reveal.ready").wait_for(state="attached", timeout=60_000)
        flow = bu.explorer(page, "depth", "learning rate", "activation", "init")
        flow.wait_for(state="attached", timeout=60_000)
        server.remember_children()
        # reveal.js's style sheet came from the machine and lays the deck out.
        sheets = page.evaluate("() => Array.from(document.styleSheets, s => s.href || '')")
        reveal_css = [s for s in sheets if s.endswith("/dist/reveal.css")]
        assert reveal_css and all(_local(s) for s in reveal_css), sheets
        assert page.evaluate(
            "() => getComputedStyle(document.querySelector('.reveal .slides')).position"
        ) in ("absolute", "relative")
        cells = json.loads((bu.ROOT / "demos" / "explorers.ipynb").read_text())["cells"]
        kinds = [c["metadata"].get("slideshow", {}).get("slide_type") for c in cells]
        sections = page.locator(".reveal .slides > section")
        assert sections.count() == kinds.count("slide") > 1
        # jQuery (local) is there for the template's scrolling of tall slides.
        assert page.evaluate("() => typeof window.$ === 'function'")
        # Slides move with the keyboard, as in front of a room, up to the explorer's slide.
        slide = sections.filter(has=page.locator(".widget-label", has_text=bu.exact("depth")))
        index = int(slide.first.evaluate("s => Array.from(s.parentNode.children).indexOf(s)"))
        assert page.evaluate(f"() => {PRESENT}") == 0 < index
        page.locator(".reveal .slides > section.present").first.click()
        for i in range(1, index + 1):
            page.keyboard.press("ArrowRight")
            page.wait_for_function(f"() => {PRESENT} === {i}", timeout=10_000)
        # Its slider redraws the figure with no network.
        move = bu.press(flow, "depth", "ArrowRight", 20.0)
        assert move.after and move.after != move.before, "the figure did not change"
        bu.screenshot(page, "voila_slides_offline.png")
    unexpected = [u for u in blocked if not any(cdn in u for cdn in VOILA_TEMPLATE_CDN)]
    assert not unexpected, f"the slides asked the network for {unexpected}"
    print(f"blocked (Voila template extras, unused by the slides): {sorted(set(blocked))}")
