"""The studio policy as a form: validation with clear errors, a history entry per change, and a
re-plan at once (a shorter listening limit changes an engineer's plan)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from jobs.models import STAGE_ORDER, JobStatus, PolicyChange, Role, Stage, StudioPolicy, User
from jobs.planner import WORK
from jobs.workload import workload
from tests.factories import make_job, make_user

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _login(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _form(**changes: Any) -> dict[str, Any]:
    p = StudioPolicy.current()
    data: dict[str, Any] = {
        "promise_days": p.promise_days,
        "revision_promise_days": p.revision_promise_days,
        "clock_mode": p.clock_mode,
        "timezone": p.timezone,
        "workday_start": p.workday_start.strftime("%H:%M"),
        "workday_end": p.workday_end.strftime("%H:%M"),
        "working_weekdays": list(p.working_weekdays),
        "at_risk_margin_hours": p.at_risk_margin_hours,
        "max_continuous_listening_min": p.max_continuous_listening_min,
        "short_break_min": p.short_break_min,
        "long_break_min": p.long_break_min,
        "long_break_every": p.long_break_every,
        "daily_listening_cap_min": p.daily_listening_cap_min,
        "fresh_ears_break_min": p.fresh_ears_break_min,
        "session_dose_limit_pct": p.session_dose_limit_pct,
        "daily_dose_limit_pct": p.daily_dose_limit_pct,
        "preview_max_seconds": p.preview_max_seconds,
    }
    data.update(changes)
    return data


def test_a_shorter_listening_limit_is_recorded_and_replans_at_once(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with time_machine.travel(MONDAY, tick=False):
        ada = make_user(Role.ENGINEER)
        job = make_job(
            status=JobStatus.IN_PROGRESS, accepted_at=MONDAY, due_at=MONDAY + timedelta(days=3)
        )
        for position, kind in enumerate(STAGE_ORDER):
            Stage.objects.create(job=job, kind=kind, position=position, assignee=ada)
        manager = make_user(Role.MANAGER)
        browser = _login(manager)

        def longest_block() -> int:
            (load,) = workload().engineers
            return max(b.minutes for d in load.days for b in d.blocks if b.kind == WORK)

        assert longest_block() == 45  # the longest stage, whole: under the 50-minute limit
        with django_capture_on_commit_callbacks(execute=True):
            response = browser.post(
                "/policy/", _form(max_continuous_listening_min=20, working_weekdays=[0, 1, 2, 3])
            )
        assert response.status_code == 302
        assert longest_block() == 20
        changes = {c.field: (c.from_value, c.to_value, c.actor) for c in PolicyChange.objects.all()}
        assert changes == {
            "max_continuous_listening_min": ("50", "20", manager),
            "working_weekdays": ("0, 1, 2, 3, 4", "0, 1, 2, 3", manager),
        }
        page = browser.get("/policy/").content.decode()
        assert "max_continuous_listening_min" in page and 'value="20"' in page
        # The stored plan followed too: the stages' predicted finishes are set.
        assert Stage.objects.filter(job=job, predicted_finish_at__isnull=False).count() == 6


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"workday_start": "18:00", "workday_end": "09:00"}, "must end after it starts"),
        ({"promise_days": 0}, "Promise at least one day"),
        ({"max_continuous_listening_min": 2}, "at least 5 minutes"),
        ({"short_break_min": 40, "long_break_min": 20}, "cannot be shorter"),
        ({"daily_listening_cap_min": 10}, "at least one listening block"),
        ({"timezone": "Mars/Olympus"}, "Select a valid choice"),
        ({"workday_start": "nine"}, "Enter a valid time"),
        ({"daily_dose_limit_pct": 150}, "between 1 and 100 % of the daily allowance"),
        ({"session_dose_limit_pct": 0}, "between 1 and 100 % of the daily allowance"),
        ({"session_dose_limit_pct": 60, "daily_dose_limit_pct": 50}, "cannot exceed the day"),
        ({"preview_max_seconds": 2}, "5 to 600 seconds long"),
    ],
)
def test_bad_settings_get_a_clear_error_and_nothing_is_saved(
    changes: dict[str, Any], message: str
) -> None:
    browser = _login(make_user(Role.MANAGER))
    before = StudioPolicy.current().updated_at
    response = browser.post("/policy/", _form(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PolicyChange.objects.exists()
    assert StudioPolicy.current().updated_at == before


def test_only_managers_see_or_change_the_policy() -> None:
    for role in (Role.ENGINEER, Role.CLIENT):
        c = _login(make_user(role))
        assert c.get("/policy/").status_code == 403
        assert c.post("/policy/", _form(promise_days=9)).status_code == 403
    assert StudioPolicy.current().promise_days != 9
    assert Client().get("/policy/").status_code == 302
