"""`make run`'s steps on a fresh embedded default: migrate, seed the demo, serve; a person logs in
with a demo login in a real browser and sees the demo jobs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import browser, csp_violations, page, watch_csp  # noqa: F401
from tests.net import free_port, wait_listening

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("embedded")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "S3_BUCKET", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(DATABASE_URL=f"sqlite:///{home}/headroom.sqlite3", MEDIA_ROOT=str(home / "media"))
    manage = [sys.executable, "manage.py"]
    for step in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        done = subprocess.run(
            manage + step, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
    assert "manager" in done.stdout and "headroom-demo" in done.stdout
    port = free_port()
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_listening(server, port, timeout=60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_manager_logs_in_and_sees_every_demo_job(served: str, page) -> None:  # noqa: F811
    csp = watch_csp(page)
    page.goto(served + "/")
    assert "/login/" in page.url
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "headroom-demo")
    page.click("button[type=submit]")
    # A manager lands on the deadline board; every job, closed ones too, is one link away.
    page.wait_for_url("**/board/")
    page.goto(served + "/jobs/all/")
    page.wait_for_selector("table.jobs")
    body = page.inner_text("table.jobs")
    for title in ("Paper Planes", "Glass Harbour", "Northern Line", "Tidal"):
        assert title in body
    assert page.locator("table.jobs tbody tr").count() == 16
    page.click("text=Paper Planes")
    page.wait_for_selector("h2:has-text('Stages')")
    assert "Lead Vocals - Paper Planes.wav" in page.inner_text("table.files")
    # The stylesheet is served without DEBUG (the embedded default serves its own static files).
    assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") != ""
    assert page.evaluate("document.styleSheets[0].cssRules.length") > 0
    assert csp_violations(page, csp) == []


def test_a_client_sees_only_their_own_jobs(served: str, page) -> None:  # noqa: F811
    page.goto(served + "/login/")
    page.fill("input[name=username]", "nova")
    page.fill("input[name=password]", "headroom-demo")
    page.click("button[type=submit]")
    page.wait_for_selector(".job-cards")
    body = page.inner_text(".job-cards")
    assert "Paper Planes" in body
    assert "Glass Harbour" not in body  # Echo Park's job
