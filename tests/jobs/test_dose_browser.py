"""Sound dose in Chromium: an engineer records a calibration, starts listening louder than usual
from the desk and is prompted for a break by the dose well before the minute limit (the session's
time moved on the server by backdating its rows, never slept), turns the monitors down; the
manager reads the doses on break compliance. No CSP violation; nothing scrolls sideways at
390 px."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jobs.dose import dose_percent
from jobs.models import ListeningSession, Role, Stage, User
from jobs.services import stage_assign, stage_start
from tests.browser import CHROMIUM, CHROMIUM_ARGS, csp_violations, screenshot, wait_until, watch_csp
from tests.browser import on_db_thread as _db
from tests.factories import make_user
from tests.jobs.helpers import accepted_job, stages_of

PASSWORD = "correct horse battery staple"


def _studio() -> tuple[User, User, Stage]:
    client = make_user(Role.CLIENT)
    engineer = make_user(Role.ENGINEER, first_name="Ada", last_name="Okafor")
    manager = make_user(Role.MANAGER, first_name="Mo", last_name="Reyes")
    stage = stages_of(accepted_job(client, track_title="Glasshouse"))[0]
    stage_assign(stage=stage, by=engineer, engineer=engineer)
    stage_start(stage=stage, by=engineer)
    # Earlier today: an hour at 88 dBA, a quarter of the day's dose.
    start = timezone.now() - timedelta(hours=3)
    ListeningSession.objects.create(
        engineer=engineer,
        stage=stage,
        started_at=start,
        ended_at=start + timedelta(minutes=60),
        work_seconds=3600,
        levels=[[start.isoformat(), 88.0]],
        dose_percent=dose_percent([(88.0, 60)]),
    )
    return engineer, manager, stage


def _backdate_open_session(minutes: int) -> None:
    session = ListeningSession.objects.get(ended_at__isnull=True)
    shift = timedelta(minutes=minutes)
    session.started_at -= shift
    session.levels = [
        [(timezone.datetime.fromisoformat(at) - shift).isoformat(), db] for at, db in session.levels
    ]
    session.save(update_fields=["started_at", "levels"])


def _login(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_loud_session_is_stopped_by_its_dose_and_the_manager_sees_it(live_server: Any) -> None:
    from playwright.sync_api import sync_playwright

    engineer, manager, _ = _db(_studio)
    base = live_server.url
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = chromium.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            seen = watch_csp(page)
            _login(page, base, engineer.username)

            # A calibration out of range is refused with the range; then one is saved.
            page.goto(base + "/me/hearing/")
            page.fill("input[name=calibration_spl_db]", "112")
            page.click("text=Save the calibration")
            assert "between 60 and 100 dB SPL" in page.inner_text("main")
            page.fill("input[name=calibration_spl_db]", "83")
            page.fill("input[name=monitoring_level_db]", "")
            page.click("text=Save the calibration")
            wait_until(page, "document.body.innerText.includes('Calibration saved')")
            screenshot(page, "hearing-1366")

            # The desk proposes the usual level; this session is louder.
            page.goto(base + "/desk/")
            assert page.input_value("#desk-now input[name=level_db]") == "83"
            assert "sound dose 25 % of 100 %" in page.inner_text("#desk-now")
            screenshot(page, "dose-desk-1366-before")
            page.fill("#desk-now input[name=level_db]", "94")
            page.locator("#desk-now button", has_text="Start listening").click()
            wait_until(page, "!!document.querySelector('[data-session-timer]')")
            assert page.is_hidden("[data-break-prompt]")
            # 16 minutes at 94 dBA: past the sitting's 25 % (15 min), far short of 50 minutes.
            _db(lambda: _backdate_open_session(16))
            page.reload()
            wait_until(page, "!document.querySelector('[data-break-prompt]').hidden")
            prompt = page.inner_text("[data-break-prompt]")
            assert "Your ears have had 25 % of the day's sound dose" in prompt
            assert "Sound dose today" in page.inner_text(".session-times")
            screenshot(page, "dose-desk-1366-prompt")

            # Turning down is taken from now.
            page.fill(".session-level input[name=level_db]", "82")
            page.click("text=Change the level")

            def levels() -> list[float]:
                session = ListeningSession.objects.get(ended_at__isnull=True)
                return [db for _, db in session.levels]

            deadline = timezone.now() + timedelta(seconds=10)
            while _db(levels) != [94.0, 82.0] and timezone.now() < deadline:
                page.wait_for_timeout(100)
            assert _db(levels) == [94.0, 82.0]
            assert page.input_value(".session-level input[name=level_db]") == "82"
            assert csp_violations(page, seen) == []

            phone = chromium.new_context(viewport={"width": 390, "height": 844})
            small = phone.new_page()
            small_seen = watch_csp(small)
            _login(small, base, engineer.username)
            for path, name in (("/desk/", "dose-desk-390"), ("/me/hearing/", "hearing-390")):
                small.goto(base + path)
                assert small.evaluate("document.documentElement.scrollWidth") <= 390, path
                screenshot(small, name)
            page.click("text=Stop listening")
            wait_until(page, "!document.querySelector('[data-session-timer]')")

            # The manager's compliance shows today's dose for Ada.
            for p, width in ((page, 1366), (small, 390)):
                p.context.clear_cookies()
                _login(p, base, manager.username)
                p.goto(base + "/compliance/")
                text = p.inner_text("main")
                assert "highest sound dose" in text and "dose " in text
                assert p.evaluate("document.documentElement.scrollWidth") <= width
                screenshot(p, f"dose-compliance-{width}")
            assert csp_violations(small, small_seen) == []
            assert csp_violations(page, seen) == []
            phone.close()
            context.close()
        finally:
            chromium.close()
