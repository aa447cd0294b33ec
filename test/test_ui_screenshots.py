"""Does the real MLflow UI, opened with the lab's command, show what LAB.md tells students to look for?

Drives Debian's chromium through Playwright against `python -m labkit ui` on the shared
solutions store: one UI start (by a process of the tool's, terminated at the end: it must
stop its UI), every page, the same capture as tools/screenshots.py.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from labkit.paths import ROOT

# Its module-scoped fixtures are built once: the whole module runs on one xdist worker.
pytestmark = pytest.mark.xdist_group("test_ui_screenshots")


def load_tool():
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "tools" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


screenshots = load_tool()
# The tool waits on every page for the network to go quiet, at most SETTLE_MS (3 s), then PAUSE_MS
# for the page's animations, so that its committed pictures show no half-drawn table; the UI keeps
# polling, so it always waits that long. Here each page is checked on the texts it shows (waited
# for, as the sorted runs' order is) and its capture on being a PNG of it: no wait is needed (the
# 11 pages each saved 3.5 s of waiting, then still 1 s at 0.5 s).
screenshots.SETTLE_MS = 0
screenshots.PAUSE_MS = 0


STOPPED_UI = """
import sys, time
sys.path.insert(0, {tools!r})
import screenshots
screenshots.exit_on_termination()
with screenshots.lab_ui({uri!r}) as base:
    print(base, flush=True)
    time.sleep(600)
"""


@pytest.fixture(scope="module")
def tool_ui(solutions_store, tmp_path_factory):
    """The tool's UI (screenshots.lab_ui: `python -m labkit ui`) on the solutions' store, started by a
    process of the tool's: the pages are captured on it, then the last test terminates the tool."""
    import subprocess

    code = STOPPED_UI.format(tools=str(ROOT / "tools"), uri=solutions_store.uri)
    tool = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env=solutions_store.env(), cwd=tmp_path_factory.mktemp("tool"))
    try:
        base = tool.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:"), base
        yield tool, base
    finally:
        if tool.poll() is None:
            tool.terminate()  # the tool stops its UI on SIGTERM (the last test checks it does)
            tool.wait(timeout=60)


@pytest.fixture(scope="module")
def captured(tool_ui, solutions_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("screenshots")
    _, base = tool_ui
    return screenshots.capture(base, solutions_store.uri, out), out


def test_every_page_shows_the_names_the_guide_promises(captured):
    shots, _ = captured
    for shot in shots.values():
        assert shot.found == shot.expected, shot.file


def test_every_screenshot_is_a_real_png_of_the_page(captured):
    shots, out = captured
    for shot in shots.values():
        data = (out / shot.file).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, shot.file


def test_the_committed_screenshots_are_the_ones_the_tool_makes(captured):
    shots, _ = captured
    committed = {p.name for p in (ROOT / "docs" / "img").glob("ui-*.png")}
    assert committed == {shot.file for shot in shots.values()}, (
        "docs/img is out of step with tools/screenshots.py: run `python tools/screenshots.py`"
    )


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_terminated_screenshot_tool_stops_its_ui(tool_ui):
    """SIGTERM to the tool (a timeout, a closed terminal) must not leave the UI serving (the
    module's UI, which the pages above were captured on)."""
    import signal
    import time
    import urllib.request

    tool, base = tool_ui
    urllib.request.urlopen(base + "/health", timeout=10).close()
    tool.send_signal(signal.SIGTERM)
    assert tool.wait(timeout=60) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/health", timeout=2).close()
        except OSError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the UI at {base} still answers after the tool was terminated")
