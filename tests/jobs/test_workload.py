"""The manager's workload page: engineers' next days from the plan, unassigned work with the
proposed engineer, reassigning (history and both engineers told), stale forms, who may, and
its query count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jobs.models import STAGE_ORDER, Job, JobEvent, JobStatus, Role, Stage, User
from jobs.workload import workload
from tests.factories import make_job, make_user

pytestmark = pytest.mark.django_db
# A Monday morning in the studio's timezone (Europe/London, GMT in December).
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with time_machine.travel(MONDAY, tick=False):
        yield


def _login(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _job_with_stages(engineer: User | None, title: str = "Copper Sky") -> Job:
    job = make_job(
        status=JobStatus.IN_PROGRESS,
        track_title=title,
        accepted_at=MONDAY - timedelta(hours=1),
        due_at=MONDAY + timedelta(days=3),
    )
    for position, kind in enumerate(STAGE_ORDER):
        Stage.objects.create(job=job, kind=kind, position=position, assignee=engineer)
    return job


def test_each_engineer_gets_their_days_with_planned_listening_and_the_cap() -> None:
    ada = make_user(Role.ENGINEER, first_name="Ada")
    make_user(Role.ENGINEER, first_name="Ben")
    _job_with_stages(ada)

    load = workload()

    assert [e.person.first_name for e in load.engineers] == ["Ada", "Ben"]
    ada_load, ben_load = load.engineers
    monday = ada_load.days[0]
    assert monday.day == MONDAY.date() and not monday.off
    assert 0 < monday.planned_min <= monday.cap_min
    assert any("Copper Sky" in b.label for b in monday.blocks)
    assert ben_load.planned_min == 0
    assert len(ada_load.stages) == 6
    # The weekend is not a working day: five days from Monday run to Friday.
    assert [d.weekday() for d in load.days] == [0, 1, 2, 3, 4]


def test_unassigned_work_shows_the_proposal_and_one_click_accepts_it(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ada = make_user(Role.ENGINEER, first_name="Ada")
    job = _job_with_stages(None, "Open Water")
    manager = _login(make_user(Role.MANAGER))
    page = manager.get("/workload/").content.decode()
    assert "Ada (proposed)" in page
    (first, *_) = workload().unassigned
    assert first.proposed == ada

    with django_capture_on_commit_callbacks(execute=True):
        manager.post(f"/workload/stages/{first.stage.pk}/assign/", {"engineer": ada.pk, "was": ""})
    first.stage.refresh_from_db()
    assert first.stage.assignee == ada
    assert JobEvent.objects.filter(job=job, kind="assignee", to_value=ada.username).exists()
    assert [m.to for m in mail.outbox] == [[ada.email]]


def test_reassigning_tells_both_engineers_and_a_stale_form_changes_nothing(
    django_capture_on_commit_callbacks: Any,
) -> None:
    ada, ben = make_user(Role.ENGINEER), make_user(Role.ENGINEER)
    job = _job_with_stages(ada)
    stage = job.stages.get(kind="cleanup")
    manager = _login(make_user(Role.MANAGER))

    with django_capture_on_commit_callbacks(execute=True):
        done = manager.post(
            f"/workload/stages/{stage.pk}/assign/",
            {"engineer": ben.pk, "was": ada.pk},
            follow=True,
        )
    assert "is now" in done.content.decode()
    stage.refresh_from_db()
    assert stage.assignee == ben
    assert sorted(m.to[0] for m in mail.outbox) == sorted([ada.email, ben.email])
    lost = next(m for m in mail.outbox if m.to == [ada.email])
    assert "no longer yours" in lost.body

    stale = manager.post(
        f"/workload/stages/{stage.pk}/assign/", {"engineer": ada.pk, "was": ada.pk}, follow=True
    )
    assert stale.status_code == 200
    assert "changed hands while the page was open" in stale.content.decode()
    stage.refresh_from_db()
    assert stage.assignee == ben

    client_id = job.created_by.pk
    refused = manager.post(
        f"/workload/stages/{stage.pk}/assign/", {"engineer": client_id, "was": ben.pk}, follow=True
    )
    assert "Choose an engineer" in refused.content.decode()


def test_only_managers_see_and_move_the_workload() -> None:
    engineer = make_user(Role.ENGINEER)
    job = _job_with_stages(engineer)
    stage = job.stages.first()
    assert stage is not None
    data = {"engineer": engineer.pk, "was": engineer.pk}
    for user in (engineer, job.created_by):
        assert _login(user).get("/workload/").status_code == 403
        assert _login(user).post(f"/workload/stages/{stage.pk}/assign/", data).status_code == 403
    outsider = _login(make_user(Role.CLIENT))
    assert outsider.post(f"/workload/stages/{stage.pk}/assign/", data).status_code == 404
    assert Client().get("/workload/").status_code == 302


def test_the_workload_costs_the_same_for_10_and_200_jobs() -> None:
    engineers = [make_user(Role.ENGINEER), make_user(Role.ENGINEER)]
    manager = _login(make_user(Role.MANAGER))

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert manager.get("/workload/").status_code == 200
        return len(ctx.captured_queries)

    for i in range(10):
        _job_with_stages(engineers[i % 2] if i % 3 else None, f"Song {i}")
    queries()  # the first request also creates the studio's policy row
    small = queries()
    for i in range(190):
        _job_with_stages(engineers[i % 2] if i % 3 else None, f"Song {i}")
    assert queries() == small


def test_the_page_reads_the_stored_plan_and_does_not_plan_again(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    from jobs import plan_store

    ada = make_user(Role.ENGINEER, first_name="Ada")
    _job_with_stages(ada, "Stored Song")
    with django_capture_on_commit_callbacks(execute=True):
        plan_store.plan_refresh()  # stores the plan once the re-plan commits

    def no_planning(**kw: Any) -> Any:
        raise AssertionError("the page planned again")

    monkeypatch.setattr(plan_store, "plan_compute", no_planning)
    manager = _login(make_user(Role.MANAGER))
    page = manager.get("/workload/").content.decode()
    assert "Stored Song · Listening" in page
    (ada_load,) = workload().engineers
    assert ada_load.days[0].planned_min > 0

    # A plan older than the limit is not shown: the page plans afresh (here: refuses to).
    later = MONDAY + plan_store.STORED_MAX_AGE + timedelta(minutes=1)
    with time_machine.travel(later, tick=False), pytest.raises(AssertionError, match="planned"):
        workload()


def test_a_big_studio_gets_its_work_a_page_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from jobs import workload as workload_module

    monkeypatch.setattr(workload_module, "UNASSIGNED_PER_PAGE", 2)
    monkeypatch.setattr(workload_module, "STAGES_PER_ENGINEER", 4)
    monkeypatch.setattr(workload_module, "ENGINEERS_PER_PAGE", 1)
    ada = make_user(Role.ENGINEER, first_name="Ada")
    make_user(Role.ENGINEER, first_name="Ben")
    _job_with_stages(ada, "Mine")  # six stages on Ada
    _job_with_stages(None, "Open")  # six unassigned

    first = workload()
    assert [u.stage.get_kind_display() for u in first.unassigned] == ["Listening", "Cleanup"]
    (ada_load,) = first.engineers
    assert len(ada_load.stages) == 4 and ada_load.open_count == 6 and ada_load.more == 2
    assert [s.position for s in ada_load.stages] == [0, 1, 2, 3]  # the most urgent first
    manager = _login(make_user(Role.MANAGER))
    page = manager.get("/workload/").content.decode()
    assert f'href="/board/?engineer={ada.pk}">2 more on the board' in page
    assert 'href="?unassigned=2" rel="next"' in page
    assert 'href="?page=2" rel="next"' in page
    # Each list pages on its own, keeping the other's page.
    both = manager.get("/workload/?page=2&unassigned=3").content.decode()
    assert ">Ben " in both and 'href="?unassigned=3" rel="prev"' in both
    assert 'href="?page=2&amp;unassigned=2" rel="prev"' in both
    third = workload(page=2, unassigned_page=3)
    assert [e.person.first_name for e in third.engineers] == ["Ben"]
    assert [u.stage.get_kind_display() for u in third.unassigned] == [
        "Glue and final level",
        "Delivery",
    ]
