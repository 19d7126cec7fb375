"""In Chromium, under the Content-Security-Policy the app sends: the login page, a client's job
page with its resumable uploader and the admin work, and nothing is blocked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from jobs.models import AudioFile, Role, StudioPolicy
from tests.browser import CHROMIUM, CHROMIUM_ARGS, csp_violations, screenshot, watch_csp
from tests.factories import make_job, make_user, wav_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A page, opened after the test's rows are made: Playwright's sync API runs an event loop
    on this thread, where the ORM then refuses to run until it is closed."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium.new_page(viewport={"width": 1366, "height": 900})
        finally:
            chromium.close()


def _login(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_a_client_uploads_under_the_csp(live_server: Any, tmp_path) -> None:
    owner = make_user(Role.CLIENT)
    job = make_job(client=owner, track_title="Policy Song")
    stem = tmp_path / "Bass - Policy Song.wav"
    stem.write_bytes(wav_bytes(0.5))
    with chromium_page() as page:
        csp = watch_csp(page)
        _login(page, live_server.url, owner.username)
        page.goto(f"{live_server.url}/jobs/{job.pk}/")
        page.set_input_files("#handin input.handin-input", str(stem))
        page.click("#handin .handin-start")
        page.wait_for_selector("table.files >> text=Bass - Policy Song.wav")
        assert page.url.endswith(f"/jobs/{job.pk}/")  # the resumable uploader did it, no form post
        assert page.evaluate("document.styleSheets[0].cssRules.length") > 0
        screenshot(page, "csp-job-upload")
        violations = csp_violations(page, csp)
    assert violations == []
    assert AudioFile.objects.filter(job=job).count() == 1


def test_the_admin_works_under_the_csp(live_server: Any) -> None:
    manager = make_user(Role.MANAGER, is_staff=True, is_superuser=True)
    make_job()
    StudioPolicy.current()
    with chromium_page() as page:
        csp = watch_csp(page)
        page.goto(live_server.url + "/admin/login/")
        page.fill("input[name=username]", manager.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")
        for path in ("/admin/jobs/job/", "/admin/jobs/user/", "/admin/axes/accessattempt/"):
            page.goto(live_server.url + path)
            page.wait_for_selector("#changelist")
        page.goto(live_server.url + "/admin/jobs/studiopolicy/1/change/")
        page.wait_for_selector("input[name=max_client_bytes]")
        screenshot(page, "csp-admin-policy")
        violations = csp_violations(page, csp)
    assert violations == []
