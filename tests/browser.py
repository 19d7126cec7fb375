"""Playwright driving Debian's Chromium (the project installs it; no browser download)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A Chromium of the test's own, for a test that reads the database between browser steps
    in its own thread (the session's `browser` is for tests that do not). Playwright's sync API
    keeps an event loop running on that thread, where Django refuses database work unless
    DJANGO_ALLOW_ASYNC_UNSAFE and then gives it a connection of the loop's own: closed here
    while the loop still runs, or it stays open and the run cannot drop its test database."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            connections.close_all()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


# Screenshots of the pages the browser tests visit, kept for people to look at (CI keeps the
# folder as an artefact; it is outside git). HEADROOM_SCREENSHOTS moves it.
_DEFAULT_SHOTS = Path(__file__).parents[1] / "screenshots"
SCREENSHOTS = Path(os.environ.get("HEADROOM_SCREENSHOTS") or _DEFAULT_SHOTS)


def screenshot(page: object, name: str) -> Path:
    """Save a full-page PNG of `page` as SCREENSHOTS/name.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


# Every page runs under the project's Content-Security-Policy; a page that breaks it logs a
# violation (the DOM event, and Chromium's console line). Init scripts are injected by the
# browser itself, so the policy does not stop this listener.
_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


def watch_csp(page: Any) -> list[str]:
    """Start collecting CSP violations on `page`; read them with `csp_violations`."""
    seen: list[str] = []
    page.add_init_script(_CSP_LISTENER)
    page.on(
        "console",
        lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return seen


def csp_violations(page: Any, seen: list[str]) -> list[str]:
    """What broke the policy so far (console lines from every page, events from this one)."""
    return seen + list(page.evaluate("window.__cspViolations || []"))


def wait_until(page: Any, expression: str, *, timeout: float = 10_000) -> None:
    """Wait until a JavaScript expression is true on `page`. Playwright's own wait_for_function
    compiles the expression inside the page, which the Content-Security-Policy forbids (no
    eval), so this polls it through evaluate, which the browser runs outside the page's policy."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(50)


# axe-core, vendored with the app; the test adds it to the page (from the site itself, which the
# Content-Security-Policy allows) only when it checks a page: no page of the app loads it.
AXE_URL = "/static/vendor/axe-core-4.10.3/axe.min.js"
_AXE_RUN = """() => axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
  .filter(v => v.impact === "serious" || v.impact === "critical")
  .map(v => `${v.impact} ${v.id}: ` +
    v.nodes.slice(0, 3).map(n => n.target.join(" ")).join("; ")))"""


def axe_serious(page: Any) -> list[str]:
    """The serious and critical accessibility violations axe-core finds on the page as it is.
    Checks that add a style element of their own make Chromium log a CSP line: take the page's
    CSP violations before this."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_URL)
    return list(page.evaluate(_AXE_RUN))


T = TypeVar("T")


def on_db_thread(fn: Callable[[], T]) -> T:
    """ORM work on a thread of its own: Playwright's sync API runs an event loop in the test's
    thread, where Django refuses database calls."""
    from django.db import connection

    def run() -> T:
        try:
            return fn()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()
