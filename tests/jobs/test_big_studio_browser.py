"""A studio bigger than one page, in Chromium: the board, the workload and the studio's job list
come a page at a time, the page links keep the board's filters, and nothing scrolls sideways on
a phone."""

from __future__ import annotations

import re
from datetime import time as clock_time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from jobs.models import STAGE_ORDER, JobStatus, Role, Stage, StudioPolicy
from jobs.plan_store import plan_refresh
from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    csp_violations,
    screenshot,
    watch_csp,
)
from tests.browser import (
    on_db_thread as _db,
)
from tests.factories import make_job, make_organisation, make_user

PASSWORD = "correct horse battery staple"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _setup() -> int:
    StudioPolicy.objects.update_or_create(
        pk=1,
        defaults={
            "workday_start": clock_time(0, 0),
            "workday_end": clock_time(23, 59),
            "working_weekdays": [0, 1, 2, 3, 4, 5, 6],
        },
    )
    make_user(Role.MANAGER, username="maya", first_name="Maya")  # password: PASSWORD
    engineers = [
        make_user(Role.ENGINEER, username=f"eng{i}", first_name=f"Engineer {i:02d}")
        for i in range(12)
    ]
    org = make_organisation("Nova Records")
    client = make_user(Role.CLIENT, organisation=org)
    now = timezone.now()
    for n in range(60):
        job = make_job(
            client=client,
            status=JobStatus.IN_PROGRESS,
            track_title=f"Long Night {n:02d}",
            accepted_at=now - timedelta(hours=2),
            due_at=now + timedelta(hours=6 + 3 * n),
        )
        for position, kind in enumerate(STAGE_ORDER):
            Stage.objects.create(
                job=job,
                kind=kind,
                position=position,
                assignee=engineers[n % 12] if n % 3 else None,
            )
    plan_refresh()
    return engineers[1].pk


def test_a_big_studio_pages_through_its_work(live_server: Any) -> None:
    from playwright.sync_api import sync_playwright

    engineer = _db(_setup)
    base = live_server.url
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for width in (1366, 390):
            page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
            seen = watch_csp(page)
            page.goto(base + "/login/")
            page.fill("input[name=username]", "maya")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r".*/$"))

            for path, name in (
                ("/board/", "board"),
                ("/workload/", "workload"),
                ("/", "jobs"),
            ):
                page.goto(base + path)
                assert page.locator(".pager a[rel=next]").count() >= 1, path
                assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), path
                assert csp_violations(page, seen) == []
                screenshot(page, f"big-studio-{name}-{width}")
                # And the screen where the page links are, as it looks there.
                page.locator(".pager").last.scroll_into_view_if_needed()
                page.screenshot(path=str(SCREENSHOTS / f"big-studio-{name}-{width}-pager.png"))
                seen.clear()
                page.evaluate("window.__cspViolations = []")

            # The board's next page comes in through htmx and keeps the engineer filter.
            page.goto(base + "/board/")
            assert page.locator("tr.board-row").count() == 50
            page.click(".pager a[rel=next]")
            page.wait_for_url(re.compile(r".*page=2"))
            assert page.locator("tr.board-row").count() == 10
            assert "51\u201360 shown" in page.inner_text(".board-total")
            # htmx readies the swapped-in board (its filter form among it) as it settles, after the
            # address has changed: a choice made before that would go to a form it ignores.
            page.wait_for_function("() => !document.querySelector('.htmx-settling, .htmx-request')")
            page.select_option("#board-engineer", str(engineer))
            page.wait_for_url(re.compile(rf".*engineer={engineer}"))
            assert "page=" not in page.url  # a new filter starts at the first page
            assert csp_violations(page, seen) == []
        browser.close()
