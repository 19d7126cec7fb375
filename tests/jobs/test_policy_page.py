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
from jobs.policy_form import PolicyForm, form_value
from jobs.workload import workload
from tests.factories import make_job, make_user

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _login(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _form(**changes: Any) -> dict[str, Any]:
    """Every field of the policy form as the page shows it now, with `changes` made."""
    form = PolicyForm(instance=StudioPolicy.current())
    data: dict[str, Any] = {name: form_value(form[name].initial) for name in form.fields}
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
            "working_weekdays": ("Mon, Tue, Wed, Thu, Fri", "Mon, Tue, Wed, Thu", manager),
        }
        page = browser.get("/policy/").content.decode()
        assert "Longest listening without a break (minutes)</td>" in page and 'value="20"' in page
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
