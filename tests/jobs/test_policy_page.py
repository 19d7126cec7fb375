"""The studio policy as a form: validation with clear errors, a history entry per change, and a
re-plan at once (a shorter listening limit changes an engineer's plan)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.test import Client

from jobs.models import (
    STAGE_ORDER,
    EngineerDayOff,
    JobStatus,
    PolicyChange,
    Role,
    Stage,
    StudioDayOff,
    StudioPolicy,
    User,
)
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


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"allowed_clip_events": 500}, "allowed_clip_events", "between 0 and 100 clip events"),
        ({"low_headroom_dbfs": 3}, "low_headroom_dbfs", "between -24 and 0 dBFS"),
        ({"dc_offset_dbfs": -5}, "dc_offset_dbfs", "between -120 and -20 dBFS"),
        ({"phase_inverted_correlation": 0.5}, "phase_inverted_correlation", "between -1 and 0"),
        (
            {"delivery_true_peak_ceiling_dbtp": 2},
            "delivery_true_peak_ceiling_dbtp",
            "between -6 and 0 dBTP",
        ),
        ({"stems_offset_tolerance_ms": 5000}, "stems_offset_tolerance_ms", "within ±2 s"),
        ({"rough_mix_min_correlation": 1.5}, "rough_mix_min_correlation", "between 0 and 1"),
        ({"low_headroom_dbfs": "loud"}, "low_headroom_dbfs", "Enter a number"),
        (
            {"max_file_bytes": 8, "max_job_bytes": 4},
            "max_job_bytes",
            "at least one file of the largest size",
        ),
        ({"max_client_bytes": 1}, "max_client_bytes", "at least one whole job"),
        ({"max_file_bytes": 0}, "max_file_bytes", "between 0.01 GB (10 MB) and 100 GB"),
        ({"estimate_cleanup_base": -5}, "estimate_cleanup_base", "Between 0 and 600 minutes"),
        (
            {"estimate_cleanup_per_stem": 500},
            "estimate_cleanup_per_stem",
            "Between 0 and 120 minutes per stem",
        ),
        ({"estimate_delivery_base": ""}, "estimate_delivery_base", "Give the minutes"),
        (
            {"checklist_cleanup": "every stem soloed\nnoise removed\nEvery stem soloed"},
            "checklist_cleanup",
            "“Every stem soloed” is listed twice",
        ),
        ({"checklist_delivery": "x" * 130}, "checklist_delivery", "under 120 characters"),
        (
            {"checklist_listening": "\n".join(f"item {i}" for i in range(20))},
            "checklist_listening",
            "Listening has 20 items; keep it to 15 at most",
        ),
    ],
)
def test_thresholds_sizes_estimates_and_checklists_are_checked_in_the_studios_words(
    changes: dict[str, Any], field: str, message: str
) -> None:
    browser = _login(make_user(Role.MANAGER))
    before = StudioPolicy.current().updated_at
    response = browser.post("/policy/", _form(**changes))
    assert response.status_code == 400
    page = response.content.decode()
    # The message sits under its own field.
    assert f'id="id_{field}-error">' in page
    assert message in page.split(f'id="id_{field}-error">')[1].split("</p>")[0]
    assert not PolicyChange.objects.exists()
    assert StudioPolicy.current().updated_at == before


def test_thresholds_sizes_estimates_and_checklists_are_saved_with_a_readable_history(
    django_capture_on_commit_callbacks: Any,
) -> None:
    manager = make_user(Role.MANAGER, username="maya", first_name="Maya")
    browser = _login(manager)
    page = browser.get("/policy/").content.decode()
    # Sizes show in GB, estimates and checklists as plain fields, not JSON.
    assert 'name="max_file_bytes" value="4.0"' in page
    assert 'name="estimate_eq_enhancement_per_stem" value="8"' in page
    assert "every stem soloed\nnoise and clicks removed</textarea>" in page
    with mock.patch("jobs.plan_store.plan_refresh") as replan:
        with django_capture_on_commit_callbacks(execute=True):
            response = browser.post(
                "/policy/",
                _form(
                    low_headroom_dbfs="-6",
                    max_file_bytes="0.5",
                    estimate_cleanup_per_stem="12",
                    checklist_cleanup="every stem soloed\n\n  noise and clicks removed \nfades",
                ),
            )
    assert response.status_code == 302
    replan.assert_called_once()
    policy = StudioPolicy.current()
    assert policy.low_headroom_dbfs == -6.0 and policy.max_file_bytes == 512 * 1024**2
    assert policy.stage_estimates["cleanup"] == {"base": 15, "per_stem": 12}
    assert policy.estimate_minutes("cleanup", 4) == 15 + 48
    assert policy.checklists["cleanup"] == [
        "every stem soloed",
        "noise and clicks removed",
        "fades",
    ]
    assert policy.checklists["delivery"] == StudioPolicy().checklists["delivery"]
    changes = {c.field: (c.from_value, c.to_value) for c in PolicyChange.objects.all()}
    assert changes == {
        "low_headroom_dbfs": ("-3", "-6"),
        "max_file_bytes": ("4 GB", "512 MB"),
        "stage_estimates.cleanup": ("15 min + 10 per stem", "15 min + 12 per stem"),
        "checklists.cleanup": (
            "every stem soloed; noise and clicks removed",
            "every stem soloed; noise and clicks removed; fades",
        ),
    }
    history = browser.get("/policy/").content.decode().split('id="history-title"')[1]
    assert "Estimate for Cleanup" in history and "Checklist for Cleanup" in history
    assert "Largest file (GB)" in history and "4 GB" in history and "512 MB" in history
    assert '<td data-label="Who">Maya</td>' in history


def test_a_stale_form_says_what_changed_and_keeps_the_other_edits() -> None:
    ada_browser = _login(make_user(Role.MANAGER, first_name="Ada"))
    mine = _form(promise_days=5)  # loaded now, saved after someone else's change
    ben = make_user(Role.MANAGER, first_name="Ben")
    assert _login(ben).post("/policy/", _form(short_break_min=12)).status_code == 302
    answer = ada_browser.post("/policy/", {**mine, "long_break_min": 40})
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "changed while you were editing; nothing was saved" in page
    assert "Ben," in page and "<strong>Short ear break (minutes)</strong> 10 → 12" in page
    policy = StudioPolicy.current()
    assert (policy.short_break_min, policy.promise_days, policy.long_break_min) == (12, 3, 30)
    # The form shows Ben's value for what he changed and Ada's own edits for the rest, with the
    # version refreshed: saving it again applies Ada's edits and keeps Ben's.
    (short,) = re.findall(r'<input[^>]*name="short_break_min"[^>]*>', page)
    assert 'value="12"' in short and 'class="changed-meanwhile"' in short
    (promise,) = re.findall(r'<input[^>]*name="promise_days"[^>]*>', page)
    assert "changed-meanwhile" not in promise
    assert 'name="promise_days" value="5"' in page and 'name="long_break_min" value="40"' in page
    again = {**mine, "long_break_min": 40, "short_break_min": 12}
    again["version"] = StudioPolicy.current().updated_at.isoformat()
    assert ada_browser.post("/policy/", again).status_code == 302
    policy = StudioPolicy.current()
    assert (policy.short_break_min, policy.promise_days, policy.long_break_min) == (12, 5, 40)
    # A form without its version (or a garbled one) is not saved blind either.
    blind = {**_form(promise_days=7), "version": "yesterday"}
    assert ada_browser.post("/policy/", blind).status_code == 409
    assert StudioPolicy.current().promise_days == 5


def test_days_off_are_added_and_removed_with_history_and_a_replan(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with time_machine.travel(MONDAY, tick=False):
        manager = make_user(Role.MANAGER, first_name="Maya")
        ada = make_user(Role.ENGINEER, first_name="Ada", last_name="Byron")
        browser = _login(manager)
        with mock.patch("jobs.plan_store.plan_refresh") as replan:
            with django_capture_on_commit_callbacks(execute=True):
                added = browser.post(
                    "/policy/days-off/",
                    {"action": "add_studio", "studio-date": "2026-12-25", "studio-reason": "Xmas"},
                )
                browser.post(
                    "/policy/days-off/",
                    {
                        "action": "add_engineer",
                        "engineer-engineer": ada.pk,
                        "engineer-date": "2026-12-02",
                        "engineer-reason": "dentist",
                    },
                )
        assert added.status_code == 302 and added["Location"] == "/policy/#days-off"
        assert replan.call_count == 2
        studio = StudioDayOff.objects.get()
        assert (studio.date, studio.reason) == (date(2026, 12, 25), "Xmas")
        assert EngineerDayOff.objects.get().engineer == ada
        page = browser.get("/policy/").content.decode()
        assert "Fri 25 Dec 2026 · Xmas" in page and "Wed 2 Dec 2026 · dentist" in page
        with mock.patch("jobs.plan_store.plan_refresh") as replan:
            with django_capture_on_commit_callbacks(execute=True):
                removed = browser.post(
                    "/policy/days-off/", {"action": "remove_studio", "day_off": studio.pk}
                )
        assert removed.status_code == 302 and not StudioDayOff.objects.exists()
        replan.assert_called_once()
        # Removing it again (another tab) says so instead of failing.
        again = browser.post("/policy/days-off/", {"action": "remove_studio", "day_off": studio.pk})
        assert again.status_code == 400 and "removed meanwhile" in again.content.decode()
        rows = [
            (c.field, c.from_value, c.to_value, c.actor)
            for c in PolicyChange.objects.order_by("at", "pk")
        ]
        assert rows == [
            ("studio_day_off", "", "Fri 25 Dec 2026 (Xmas)", manager),
            ("engineer_day_off", "", "Ada Byron: Wed 2 Dec 2026 (dentist)", manager),
            ("studio_day_off", "Fri 25 Dec 2026 (Xmas)", "", manager),
        ]
        history = browser.get("/policy/").content.decode().split('id="history-title"')[1]
        assert "Studio day off" in history and "An engineer&#x27;s day off" in history


@pytest.mark.parametrize(
    ("post", "message"),
    [
        ({"action": "add_studio", "studio-date": ""}, "Give the day."),
        ({"action": "add_studio", "studio-date": "25/12"}, "Give the day as a date."),
        ({"action": "add_studio", "studio-date": "2026-11-27"}, "That day has passed"),
        ({"action": "add_studio", "studio-date": "2026-12-24"}, "already a studio day off"),
        (
            {"action": "add_studio", "studio-date": "2026-12-28", "studio-reason": "x" * 201},
            "under 200",
        ),
        ({"action": "add_engineer", "engineer-date": "2026-12-03"}, "Choose whose day off it is"),
        (
            {"action": "add_engineer", "engineer-engineer": "ADA", "engineer-date": "2026-12-01"},
            "is already off on Tue 1 Dec 2026",
        ),
        ({"action": "remove_engineer", "day_off": "first"}, "Choose the day off to remove"),
        ({"action": "shout"}, "Unknown action"),
    ],
)
def test_a_bad_day_off_gets_a_clear_error_and_nothing_changes(
    post: dict[str, Any], message: str
) -> None:
    with time_machine.travel(MONDAY, tick=False):
        ada = make_user(Role.ENGINEER, first_name="Ada")
        StudioDayOff.objects.create(date=date(2026, 12, 24))
        EngineerDayOff.objects.create(engineer=ada, date=date(2026, 12, 1))
        if post.get("engineer-engineer") == "ADA":
            post = {**post, "engineer-engineer": ada.pk}
        answer = _login(make_user(Role.MANAGER)).post("/policy/days-off/", post)
        assert answer.status_code == 400
        assert message in answer.content.decode()
        assert StudioDayOff.objects.count() == 1 and EngineerDayOff.objects.count() == 1
        assert not PolicyChange.objects.exists()


def test_a_client_cannot_be_given_a_day_off() -> None:
    with time_machine.travel(MONDAY, tick=False):
        nova = make_user(Role.CLIENT)
        answer = _login(make_user(Role.MANAGER)).post(
            "/policy/days-off/",
            {"action": "add_engineer", "engineer-engineer": nova.pk, "engineer-date": "2026-12-03"},
        )
        assert (
            answer.status_code == 400 and "Choose someone at the studio" in answer.content.decode()
        )
        assert not EngineerDayOff.objects.exists()


def test_only_managers_change_days_off() -> None:
    with time_machine.travel(MONDAY, tick=False):
        post = {"action": "add_studio", "studio-date": "2026-12-25"}
        for role in (Role.ENGINEER, Role.CLIENT):
            assert _login(make_user(role)).post("/policy/days-off/", post).status_code == 403
        assert Client().post("/policy/days-off/", post)["Location"].startswith("/login/")
        assert _login(make_user(Role.MANAGER)).get("/policy/days-off/").status_code == 405
        assert not StudioDayOff.objects.exists()


def test_a_size_shown_rounded_and_left_alone_is_not_a_change() -> None:
    policy = StudioPolicy.current()
    policy.max_file_bytes = 10 * 1024**2  # 10 MB shows as 0.01 GB
    policy.save()
    browser = _login(make_user(Role.MANAGER))
    assert 'name="max_file_bytes" value="0.01"' in browser.get("/policy/").content.decode()
    assert browser.post("/policy/", _form()).status_code == 302
    assert StudioPolicy.current().max_file_bytes == 10 * 1024**2
    assert not PolicyChange.objects.exists()
