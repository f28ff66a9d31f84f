"""The course in a real browser: JupyterLab runs lessons 04 and 05 and their explorers answer
the keyboard; ``make demo`` (Voilà dashboard of the gradient-flow, learning-rate and RNN
explorers) and ``make slides`` (the same as reveal.js slides) serve live explorers.

Each test moves sliders the way a person does (focus the slider's handle, press ArrowRight or
End), changes a drop-down, and checks that the PNG bytes shown in the page changed. The time
from key press to the new figure being loaded in the page is printed and kept in
``test-artifacts/browser/latency.json``; screenshots go to ``test-artifacts/browser/``.

Set ``BPCOURSE_UPDATE_README_IMAGE=1`` to also refresh ``docs/images/gradient_flow_explorer.png``
(the picture in the README) from the dashboard test.

Needs a Chromium on PATH (or ``BPCOURSE_CHROMIUM``); the tests are skipped, saying so, when none
is found. Every server is stopped by its process id, kernels included, however a test ends.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import browser_utils as bu
import pytest

CHROMIUM = bu.find_chromium()

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # One pytest-xdist worker runs the whole module: its JupyterLab server and Chromium are
    # module fixtures, started once.
    pytest.mark.xdist_group("jupyterlab"),
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium found (install Debian's `chromium` or set BPCOURSE_CHROMIUM)",
    ),
]

LESSON_04 = "04_gradient_descent"
LESSON_05 = "05_vanishing_exploding"
VIEWPORT = {"width": 1280, "height": 1000}
CHANGE_TIMEOUT_S = 15.0  # a control change must show a new figure within this
MEDIAN_BOUND_MS = 3000.0  # sanity bound on the median key-to-figure time (target: < 300 ms)
LATENCIES: dict[str, list[float]] = {}


def _say(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """Print past pytest's capture, so the measurements show in every run's output."""
    with capsys.disabled():
        print(text)


def _record(capsys: pytest.CaptureFixture[str], name: str, moves: list[bu.Move]) -> None:
    """Keep the key-to-figure times of slider moves and print their median."""
    times = [m.latency_ms for m in moves if m.action in ("ArrowRight", "ArrowLeft", "End")]
    LATENCIES[name] = times
    bu.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (bu.ARTIFACTS / "latency.json").write_text(json.dumps(LATENCIES, indent=1))
    med = bu.median(times)
    _say(
        capsys,
        f"\n[{name}] key press -> new figure: median {med:.0f} ms over {len(times)} moves "
        f"({', '.join(f'{t:.0f}' for t in times)} ms); screenshots in {bu.ARTIFACTS}",
    )
    assert med < MEDIAN_BOUND_MS, f"{name}: median {med:.0f} ms from key to figure"


def _assert_all_changed(moves: list[bu.Move]) -> None:
    for m in moves:
        assert m.after and m.after != m.before, f"{m.control} {m.action}: figure unchanged"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    assert CHROMIUM is not None
    with sync_api.sync_playwright() as pw:
        chromium = bu.launch_chromium(pw, CHROMIUM)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bu.ServerProcess]:
    """JupyterLab serving a scratch copy of lessons 04 and 05 (instructor versions)."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    for aid in (LESSON_04, LESSON_05):
        source = bu.ROOT / "solutions" / aid
        if source.is_dir():
            shutil.copytree(source, root / aid)
    root.mkdir(exist_ok=True)
    with bu.running(bu.lab_server(root, tmp / "home")) as server:
        yield server


@pytest.fixture(scope="module")
def lab_page(browser: Any, lab: bu.ServerProcess) -> Iterator[Any]:
    """One JupyterLab page for the lessons: each opens in its own tab, as a learner does."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


def _open_lesson(
    capsys: pytest.CaptureFixture[str], page: Any, lab: bu.ServerProcess, aid: str
) -> None:
    notebook = bu.ROOT / "solutions" / aid / f"{aid}.ipynb"
    assert notebook.is_file(), f"missing lesson notebook {notebook.relative_to(bu.ROOT)}"
    t0 = time.monotonic()
    path = f"{aid}/{aid}.ipynb"
    bu.open_notebook(page, lab.url, path)
    t1 = time.monotonic()
    errors = bu.run_all_cells(page, path, timeout_s=180)
    lab.remember_children()
    _say(
        capsys,
        f"\n[{aid}] opened with an idle kernel in {t1 - t0:.1f} s, Run All took "
        f"{time.monotonic() - t1:.1f} s",
    )
    assert not errors, f"{aid}: cells raised errors in JupyterLab: {errors}"


def _other_option(scope: Any, description: str) -> str:
    select = bu.dropdown(scope, description)
    current = select.evaluate("s => s.options[s.selectedIndex].text")
    options = select.evaluate("s => Array.from(s.options).map(o => o.text)")
    return str(next(o for o in options if o != current))


def _drive_gradient_flow(scope: Any) -> list[bu.Move]:
    moves = [bu.press(scope, "depth", "ArrowRight", CHANGE_TIMEOUT_S) for _ in range(3)]
    start = int(moves[0].readout) - 1
    assert [int(m.readout) for m in moves] == [start + 1, start + 2, start + 3]
    end = bu.press(scope, "depth", "End", CHANGE_TIMEOUT_S)
    assert float(end.readout) == float(bu.slider(scope, "depth").get_attribute("aria-valuemax"))
    moves.append(end)
    moves += [bu.press(scope, "learning rate", "ArrowRight", CHANGE_TIMEOUT_S) for _ in range(2)]
    moves.append(bu.choose(scope, "activation", _other_option(scope, "activation")))
    _assert_all_changed(moves)
    return moves


def _drive_learning_rate(scope: Any) -> list[bu.Move]:
    first = bu.readout(scope, "learning rate")
    moves = [bu.press(scope, "learning rate", "ArrowRight", CHANGE_TIMEOUT_S) for _ in range(3)]
    assert float(moves[-1].readout) > float(first)
    moves.append(bu.press(scope, "learning rate", "End", CHANGE_TIMEOUT_S))
    moves.append(bu.choose(scope, "optimizer", _other_option(scope, "optimizer")))
    _assert_all_changed(moves)
    return moves


def _drive_rnn(scope: Any) -> list[bu.Move]:
    moves = [bu.press(scope, "spectral radius", "ArrowRight", CHANGE_TIMEOUT_S) for _ in range(2)]
    moves.append(bu.press(scope, "sequence length", "End", CHANGE_TIMEOUT_S))
    moves.append(bu.choose(scope, "clipping", _other_option(scope, "clipping")))
    _assert_all_changed(moves)
    return moves


def test_lesson05_gradient_flow_explorer_in_jupyterlab(
    lab_page: Any, lab: bu.ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    page = lab_page
    with bu.screenshot_on_failure(page, "lab_lesson05"):
        _open_lesson(capsys, page, lab, LESSON_05)
        scope = bu.reveal(bu.explorer(page, "depth", "learning rate", "activation", "init"))
        bu.screenshot(scope, "lab_lesson05_before.png")
        moves = _drive_gradient_flow(scope)
        bu.screenshot(scope, "lab_lesson05_after.png")
    _record(capsys, "JupyterLab, lesson 05, gradient_flow_explorer", moves)


def test_lesson04_learning_rate_explorer_in_jupyterlab(
    lab_page: Any, lab: bu.ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    page = lab_page
    with bu.screenshot_on_failure(page, "lab_lesson04"):
        _open_lesson(capsys, page, lab, LESSON_04)
        scope = bu.reveal(bu.explorer(page, "learning rate", "optimizer", without=["depth"]))
        bu.screenshot(scope, "lab_lesson04_before.png")
        moves = _drive_learning_rate(scope)
        bu.screenshot(scope, "lab_lesson04_after.png")
    _record(capsys, "JupyterLab, lesson 04, learning_rate_explorer", moves)


def test_make_demo_dashboard(page: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``make demo``: every explorer of ``demos/explorers.ipynb`` is live, no code on screen."""
    with bu.running(bu.voila_from_make("demo", tmp_path / "home")) as server:
        page.goto(server.url)
        flow = bu.explorer(page, "depth", "learning rate", "activation", "init")
        flow.wait_for(timeout=60_000)
        rate = bu.explorer(page, "learning rate", "optimizer", without=["depth"])
        rate.wait_for(timeout=30_000)
        rnn = bu.explorer(page, "spectral radius", "sequence length", "clipping")
        rnn.wait_for(timeout=30_000)
        server.remember_children()
        assert page.get_by_text("gradient_flow_explorer(").count() == 0, "code on screen"
        if os.environ.get("BPCOURSE_UPDATE_README_IMAGE"):
            image = bu.ROOT / "docs" / "images" / "gradient_flow_explorer.png"
            image.parent.mkdir(parents=True, exist_ok=True)
            flow.screenshot(path=str(image))
            print(f"README image: {image}")
        flow_moves = _drive_gradient_flow(flow)
        rate_moves = _drive_learning_rate(rate)
        rnn_moves = _drive_rnn(rnn)
        bu.screenshot(page, "voila_demo.png")
    _record(capsys, "Voila dashboard, gradient_flow_explorer", flow_moves)
    _record(capsys, "Voila dashboard, learning_rate_explorer", rate_moves)
    _record(capsys, "Voila dashboard, rnn_explorer", rnn_moves)


def test_make_slides(page: Any, tmp_path: Path) -> None:
    """``make slides``: the demo notebook as reveal.js slides, one explorer per slide, live.

    reveal.js's own style sheet comes from a CDN; without network the slides are not laid out
    as slides, but the sections and the live widgets are checked all the same.
    """
    with bu.running(bu.voila_from_make("slides", tmp_path / "home")) as server:
        page.goto(server.url)
        page.locator(".reveal .slides").wait_for(state="attached", timeout=60_000)
        flow = bu.explorer(page, "depth", "learning rate", "activation", "init")
        flow.wait_for(state="attached", timeout=60_000)
        server.remember_children()
        sections = page.locator(".reveal .slides > section")
        cells = json.loads((bu.ROOT / "demos" / "explorers.ipynb").read_text())["cells"]
        kinds = [c["metadata"].get("slideshow", {}).get("slide_type") for c in cells]
        assert sections.count() == kinds.count("slide"), "one section per cell of type slide"
        slide = sections.filter(has=page.locator(".widget-label", has_text=bu.exact("depth")))
        index = int(slide.first.evaluate("s => Array.from(s.parentNode.children).indexOf(s)"))
        page.evaluate("i => window.Reveal && window.Reveal.isReady() && Reveal.slide(i)", index)
        move = bu.press(flow, "depth", "ArrowRight", CHANGE_TIMEOUT_S)
        _assert_all_changed([move])
        bu.screenshot(page, "voila_slides.png")
