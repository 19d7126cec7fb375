"""A studio manager's day in Chromium: a job goes at risk when the re-plan runs later in the
day, the board is filtered down to it, its late stage goes to another engineer, a verdict is
overridden with a reason the client reads on their page and in an email, and a shorter
listening limit in the policy changes an engineer's plan."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from jobs.models import STAGE_ORDER, Job, JobStatus, Role, Stage, StudioPolicy, Verdict
from jobs.plan_store import plan_refresh
from tests.browser import CHROMIUM, CHROMIUM_ARGS, csp_violations, screenshot, wait_until, watch_csp
from tests.browser import on_db_thread as _db
from tests.factories import make_job, make_organisation, make_user

PASSWORD = "correct horse battery staple"
REASON = "The clicks are part of the drum sample; we master the stems as they are."

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _setup() -> dict[str, Any]:
    # A studio that works around the clock, so the plan does not depend on when the test runs.
    StudioPolicy.objects.update_or_create(
        pk=1,
        defaults={
            "workday_start": clock_time(0, 0),
            "workday_end": clock_time(23, 59),
            "working_weekdays": [0, 1, 2, 3, 4, 5, 6],
        },
    )
    manager = make_user(Role.MANAGER, username="maya", first_name="Maya")
    ada = make_user(Role.ENGINEER, username="ada", first_name="Ada", last_name="Okafor")
    ben = make_user(Role.ENGINEER, username="ben", first_name="Ben", last_name="Castillo")
    nova = make_organisation("Nova Records")
    echo = make_organisation("Echo Park")
    nia = make_user(Role.CLIENT, username="nia", organisation=nova)
    elliot = make_user(Role.CLIENT, username="elliot", organisation=echo)
    now = timezone.now()
    copper = make_job(
        client=nia,
        status=JobStatus.IN_PROGRESS,
        track_title="Copper Sky",
        accepted_at=now - timedelta(hours=1),
        due_at=now + timedelta(hours=6),
    )
    for position, kind in enumerate(STAGE_ORDER):
        Stage.objects.create(job=copper, kind=kind, position=position, assignee=ada)
    make_job(
        client=elliot,
        status=JobStatus.IN_PROGRESS,
        track_title="Slow Bloom",
        accepted_at=now - timedelta(hours=1),
        due_at=now + timedelta(days=3),
    )
    blue = make_job(
        client=nia,
        status=JobStatus.AWAITING_CLIENT,
        verdict=Verdict.ACCEPTED_WITH_WARNINGS,
        track_title="Blue Hour",
        submitted_at=now - timedelta(hours=3),
    )
    plan_refresh()
    return {"ada": ada, "ben": ben, "nia": nia, "copper": copper, "blue": blue, "manager": manager}


def _login(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))


def _longest_block(page: Any, engineer: str) -> int:
    """The longest planned work block shown for an engineer on the workload page, in minutes."""
    section = page.locator(".engineer-load", has_text=engineer)
    longest = 0
    for text in section.locator(".slot-work").all_inner_texts():
        start, end = re.findall(r"(\d\d):(\d\d)", text)[:2]
        minutes = (int(end[0]) * 60 + int(end[1])) - (int(start[0]) * 60 + int(start[1]))
        longest = max(longest, minutes % (24 * 60))
    return longest


def _shot(page: Any, seen: list[str], name: str) -> None:
    """Check the page kept to the CSP so far, then screenshot it (Playwright's screenshot hides
    the text caret with a style of its own, which the policy reports)."""
    assert csp_violations(page, seen) == []
    screenshot(page, name)
    seen.clear()
    page.evaluate("window.__cspViolations = []")


# The day starts at 10:00 UTC today (then the clock runs): the plan of a studio open round the
# clock still depends on the hour (in the evening it put the work after midnight, so the
# re-plan two hours on found it on track), and the test runs whenever CI does. Today's date,
# so that the session cookie the browser is given has not expired by the browser's clock.
TEN_TODAY = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)


@time_machine.travel(TEN_TODAY, tick=True)
def test_a_managers_day(live_server: Any) -> None:
    from playwright.sync_api import sync_playwright

    data = _db(_setup)
    base = live_server.url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
        seen = watch_csp(page)
        _login(page, base, "maya")

        # Morning: Copper Sky is on track.
        page.goto(base + "/board/")
        copper_row = page.locator("tr.board-row", has_text="Copper Sky")
        assert "On track" in copper_row.inner_text()
        _shot(page, seen, "manager-day-1-board-morning")

        # Two hours on, nothing has been done: the re-plan finds the work no longer fits.
        def later() -> None:
            with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
                plan_refresh()

        _db(later)
        page.reload()
        assert "At risk" in copper_row.inner_text()
        assert "1 at risk" in page.locator(".board-counts").inner_text()

        # Filter the board (htmx swaps the region, the address follows).
        page.select_option("#board-state", "at_risk")
        wait_until(page, "document.querySelectorAll('tr.board-row').length === 1")
        assert "Copper Sky" in page.locator("tr.board-row").inner_text()
        assert "state=at_risk" in page.url
        page.select_option("#board-engineer", str(data["ada"].pk))
        wait_until(page, f"location.search.includes('engineer={data['ada'].pk}')")
        assert page.locator("tr.board-row").count() == 1
        _shot(page, seen, "manager-day-2-board-at-risk")

        # Give the late stage (Copper Sky's first open one) to Ben.
        page.goto(base + "/workload/")
        ada_section = page.locator(".engineer-load", has_text="Ada Okafor")
        ada_section.locator("summary").click()
        row = ada_section.locator("form.assign-row", has_text="Copper Sky · Listening")
        row.locator("select").select_option(str(data["ben"].pk))
        row.locator("button").click()
        page.wait_for_selector(".messages")
        assert "Copper Sky · Listening is now Ben Castillo's" in page.inner_text(".messages")
        listening = _db(lambda: Stage.objects.get(job=data["copper"], kind="listening"))
        assert listening.assignee_id == data["ben"].pk
        _shot(page, seen, "manager-day-3-workload")

        # Override Blue Hour's verdict with a reason.
        mail.outbox.clear()
        page.goto(base + "/decisions/")
        card = page.locator(".decision-card", has_text="Blue Hour")
        card.locator("textarea").fill(REASON)
        card.locator("button", has_text="Accept despite the findings").click()
        page.wait_for_selector(".messages")
        assert "Accepted" in page.inner_text(".messages")
        blue = _db(lambda: Job.objects.get(pk=data["blue"].pk))
        assert blue.status == JobStatus.ACCEPTED and blue.verdict_reason == REASON
        assert any(REASON in m.body and data["nia"].email in m.to for m in mail.outbox)

        # A shorter listening limit: Ben's plan is cut into shorter blocks at once.
        page.goto(base + "/workload/")
        before = _longest_block(page, "Ben Castillo")
        assert before > 20
        page.goto(base + "/policy/")
        page.fill("#id_max_continuous_listening_min", "20")
        page.click(".policy-form button[type=submit]")
        page.wait_for_selector(".messages")
        assert "the plan has been redone" in page.inner_text(".messages")
        assert "Longest listening without a break" in page.inner_text(".policy-history")
        page.goto(base + "/workload/")
        assert _longest_block(page, "Ben Castillo") == 20
        _shot(page, seen, "manager-day-4-workload-after-policy")

        # The client reads the reason on their job page.
        client_page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        _login(client_page, base, "nia")
        client_page.goto(f"{base}/jobs/{data['blue'].pk}/")
        assert REASON in client_page.inner_text(".studio-note")
        assert client_page.locator("#manage").count() == 0
        width = client_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        screenshot(client_page, "manager-day-5-client-sees-reason-390")
        browser.close()
