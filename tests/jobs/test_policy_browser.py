"""The studio policy and break compliance in Chromium, on a desktop and on a phone: the long
policy page in its fieldsets, a studio day off added and a checklist reworded from it, and the
compliance page with a fresh-ears override. No sideways scroll, no CSP violation, nothing axe
calls serious; screenshots of each (outside git)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jobs.models import (
    STAGE_ORDER,
    EngineerDayOff,
    Job,
    JobEvent,
    JobStatus,
    Role,
    Stage,
    StudioDayOff,
    StudioPolicy,
)
from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    axe_serious,
    csp_violations,
    screenshot,
    watch_csp,
)
from tests.browser import (
    on_db_thread as _db,
)
from tests.factories import make_job, make_user

PASSWORD = "correct horse battery staple"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _setup() -> None:
    StudioPolicy.current()
    maya = make_user(Role.MANAGER, username="maya", first_name="Maya")
    ada = make_user(Role.ENGINEER, username="ada", first_name="Ada", last_name="Okafor")
    make_user(Role.ENGINEER, username="ben", first_name="Ben", last_name="Castillo")
    today = timezone.localdate()
    EngineerDayOff.objects.create(engineer=ada, date=today + timedelta(days=3), reason="dentist")
    job = make_job(status=JobStatus.IN_PROGRESS, track_title="Copper Sky")
    for position, kind in enumerate(STAGE_ORDER):
        Stage.objects.create(job=job, kind=kind, position=position, assignee=ada)
    JobEvent.objects.create(
        job=job,
        actor=maya,
        kind="stage",
        subject="glue_final_level",
        from_value="fresh ears",
        to_value="overridden for ada",
        note="the client's session is booked at 11",
    )


def _someone_else_shortens_the_promise() -> None:
    from jobs.services.policy import policy_update

    other = make_user(Role.MANAGER, first_name="Noor")
    policy_update(by=other, values={"promise_days": 2})


def _check(page: Any, seen: list[str], width: int, name: str) -> None:
    page.wait_for_load_state("networkidle")
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{name} scrolls sideways: {wide} px at {width}"
    assert csp_violations(page, seen) == [], name
    screenshot(page, f"{name}-{width}")
    assert axe_serious(page) == [], name
    seen.clear()


@pytest.mark.parametrize("width", [1366, 390])
def test_the_policy_and_compliance_pages_on_a_desk_and_a_phone(
    live_server: Any, width: int
) -> None:
    from playwright.sync_api import sync_playwright

    _db(_setup)
    base = live_server.url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        seen = watch_csp(page)
        page.goto(base + "/login/")
        page.fill("input[name=username]", "maya")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/board/$"))  # a manager lands on the board

        page.goto(base + "/policy/")
        for legend in (
            "Intake thresholds",
            "File sizes",
            "Stage estimates",
            "Checklists per stage",
        ):
            assert page.locator("legend", has_text=legend).count() == 1
        _check(page, seen, width, "policy")

        # A studio day off, from its own small form.
        day = (timezone.localdate() + timedelta(days=10)).isoformat()
        page.fill("#id_studio-date", day)
        page.fill("#id_studio-reason", "Studio move")
        page.click("text=Close the studio that day")
        page.wait_for_url(re.compile(r".*/policy/#days-off$"))
        assert "Studio move" in page.inner_text(".policy-days-off")
        assert _db(lambda: StudioDayOff.objects.get().reason) == "Studio move"

        # A checklist reworded, and a threshold refused in the studio's words first.
        page.fill("#id_low_headroom_dbfs", "4")
        page.fill("#id_checklist_cleanup", "every stem soloed\nclicks and noise removed")
        page.click(".policy-form button[type=submit]")
        assert "between -24 and 0 dBFS" in page.inner_text("#id_low_headroom_dbfs-error")
        _check(page, seen, width, "policy-error")
        page.fill("#id_low_headroom_dbfs", "-4")
        page.click(".policy-form button[type=submit]")
        page.wait_for_selector(".messages")
        assert "the plan has been redone" in page.inner_text(".messages")
        history = page.inner_text(".policy-history")
        assert "Checklist for Cleanup" in history and "clicks and noise removed" in history
        assert _db(lambda: StudioPolicy.current().checklists["cleanup"]) == [
            "every stem soloed",
            "clicks and noise removed",
        ]

        # The stage work shows the reworded checklist, every item readable.
        job_id = _db(lambda: str(Job.objects.get(track_title="Copper Sky").pk))
        page.goto(f"{base}/jobs/{job_id}/")
        cleanup = page.locator("details.work-card", has_text="Cleanup")
        cleanup.locator("summary").click()
        assert cleanup.locator(".tick", has_text="clicks and noise removed").is_visible()
        # The open stage's items are buttons to tick: dark text, not the buttons' white.
        colours = page.evaluate(
            "[...document.querySelectorAll('button.tick')].map(b => getComputedStyle(b).color)"
        )
        assert len(colours) == 3 and "rgb(255, 255, 255)" not in colours, colours
        _check(page, seen, width, "policy-stage-work")

        # Someone else saves the policy while this form is open: saving says what changed.
        page.goto(base + "/policy/")
        _db(_someone_else_shortens_the_promise)
        page.fill("#id_short_break_min", "12")
        page.click(".policy-form button[type=submit]")
        stale = page.inner_text(".policy-stale")
        assert "nothing was saved" in stale and "Promise (days) 3 → 2" in stale
        assert page.input_value("#id_promise_days") == "2"
        assert page.input_value("#id_short_break_min") == "12"
        _check(page, seen, width, "policy-stale")

        page.goto(base + "/compliance/")
        ada = page.locator(".engineer-load", has_text="Ada Okafor")
        assert "Fresh-ears overrides 1" in ada.inner_text()
        assert "the client's session is booked at 11" in ada.inner_text()
        _check(page, seen, width, "compliance")
        browser.close()
