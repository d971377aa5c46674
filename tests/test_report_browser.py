"""The QA report in a real headless browser (Debian's chromium, driven over the DevTools protocol).

The pages must load with no console error and no request outside `file:`/`data:` (they are
self-contained), every image must decode, and a screenshot of the plots must show them.
Skipped when no chromium is installed (`tests/browser_setup.sh` installs it).
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from .test_products import SAMPLE, build_output

# `make test` installs Debian's chromium first (tests/browser_setup.sh): a missing browser is a
# failed setup, not a reason to skip.
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
assert CHROMIUM, "no chromium on PATH: run `make browser` (tests/browser_setup.sh)"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--no-default-browser-check", "--remote-debugging-port=0",
    "--window-size=1200,1600", "--hide-scrollbars",
]
PLOT_BLUE = (0x4C, 0x78, 0xA8)  # plots.PALETTE[0]


class Page:
    """One browser tab over the DevTools protocol: commands get replies, events are kept."""

    def __init__(self, ws_url: str) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=15, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(method)
            self.events.append(json.loads(self.ws.recv()))

    def open(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        return self.send("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and requests that would leave the file."""
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(f"console.{params['type']}: {params.get('args')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
            elif method == "Network.requestWillBeSent" and not params["request"]["url"].startswith(("file:", "data:")):
                out.append(f"network request: {params['request']['url']}")
            elif method == "Network.loadingFailed":
                out.append(f"failed to load: {params.get('errorText')}")
        return out

    def screenshot(self) -> bytes:
        return base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_output(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    assert CHROMIUM is not None
    proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("chromium did not start (see tests/browser_setup.sh)")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.load(resp)
        tab = Page(next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page"))
        for domain in ("Page", "Runtime", "Log", "Network"):
            tab.send(f"{domain}.enable")
        yield tab
        tab.ws.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def blue_pixels(png: bytes) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(n for n, color in image.getcolors(maxcolors=1 << 20) or [] if color == PLOT_BLUE)


def test_report_loads_clean_and_shows_the_plots(output: Path, page: Page, tmp_path: Path) -> None:
    page.open((output / "report.html").as_uri())
    assert page.problems() == []
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(images) == 6 and all(ok and w > 100 and h > 50 for ok, w, h in images), images
    page.evaluate("document.querySelector('.plots').scrollIntoView()")
    shot = page.screenshot()
    (tmp_path / "report.png").write_bytes(shot)
    assert blue_pixels(shot) > 2000  # the bars are drawn, not just an empty frame
    links = page.evaluate("Array.from(document.querySelectorAll('a[href^=\"report/\"]')).map(a => a.href)")
    assert any(SAMPLE.stem in href for href in links)


def test_document_page_loads_clean_with_mentions(output: Path, page: Page) -> None:
    page.open((output / "report" / f"{SAMPLE.stem}.html").as_uri())
    assert page.problems() == []
    counts = page.evaluate("[document.querySelectorAll('mark.entity').length, document.querySelectorAll('section.sec').length]")
    assert counts[0] > 100 and counts[1] > 50
    assert page.evaluate("document.querySelector('a[href=\"../report.html\"]') !== null")
