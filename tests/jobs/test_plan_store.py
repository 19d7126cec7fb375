"""The planner on the database: predicted finishes, proposals, the at-risk flag, row locks."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.db import connection

from jobs.models import EngineerDayOff, EngineerProfile, JobEvent, Stage, User
from jobs.plan_store import plan_inputs, plan_refresh
from jobs.services import stage_assign
from tests.factories import make_audio_file
from tests.jobs.conftest import MONDAY_10
from tests.jobs.helpers import accepted_job, stages_of

pytestmark = pytest.mark.django_db


def test_inputs_use_the_policy_estimates_minus_logged_time(
    client_user: User, engineer: User, frozen
) -> None:
    job = accepted_job(client_user)
    for n in range(3):
        make_audio_file(job, name=f"Stem {n}.wav")  # 1 + 3 = 4 current stems
    cleanup = stages_of(job)[1]
    cleanup.work_seconds = 5 * 60
    cleanup.save()
    inputs = plan_inputs()
    by_kind = {w.kind: w for w in inputs.work}
    assert by_kind["cleanup"].remaining_minutes == 15 + 10 * 4 - 5
    assert by_kind["delivery"].fresh_ears
    assert by_kind["listening"].due_at == job.due_at
    assert [e.id for e in inputs.engineers] == [engineer.pk]


def test_refresh_writes_predictions_and_proposals(
    client_user: User, engineer: User, frozen
) -> None:
    job = accepted_job(client_user)
    plan_refresh()
    job.refresh_from_db()
    stages = stages_of(job)
    assert all(s.proposed_assignee_id == engineer.pk for s in stages)
    assert stages[0].predicted_finish_at == MONDAY_10 + timedelta(minutes=30)
    assert job.predicted_finish_at == stages[-1].predicted_finish_at
    assert job.deadline_status == "on_track"


def test_the_at_risk_flag_turns_on_when_the_plan_finishes_late(
    client_user: User, engineer: User, manager: User, frozen
) -> None:
    job = accepted_job(client_user)
    for s in stages_of(job):
        stage_assign(stage=s, by=manager, engineer=engineer)
    plan_refresh()
    job.refresh_from_db()
    assert job.deadline_status == "on_track"
    # The engineer is away for the whole week: the work cannot finish by Thursday 10:00.
    EngineerProfile.objects.create(user=engineer, timezone="UTC")
    for d in range(2, 7):
        EngineerDayOff.objects.create(engineer=engineer, date=date(2026, 3, d))
    plan_refresh()
    job.refresh_from_db()
    assert job.deadline_status == "at_risk"
    assert job.predicted_finish_at > job.due_at
    event = JobEvent.objects.get(job=job, kind="deadline", subject="deadline_status")
    assert (event.from_value, event.to_value) == ("on_track", "at_risk")
    # Re-planning with nothing changed writes no more history.
    plan_refresh()
    assert JobEvent.objects.filter(job=job, subject="deadline_status").count() == 1


def test_a_stricter_engineer_profile_is_planned_with_its_limits(
    client_user: User, engineer: User, manager: User, frozen
) -> None:
    EngineerProfile.objects.create(
        user=engineer, timezone="UTC", workday_start=time(10), max_continuous_listening_min=25
    )
    job = accepted_job(client_user)
    cleanup = stages_of(job)[1]
    stage_assign(stage=cleanup, by=manager, engineer=engineer)
    result = plan_refresh()
    blocks = [b for b in result.timelines[engineer.pk] if b.kind == "work"]
    assert max(b.minutes for b in blocks) == 25


def test_no_engineers_means_at_risk(client_user: User, frozen) -> None:
    job = accepted_job(client_user)
    plan_refresh()
    job.refresh_from_db()
    assert job.deadline_status == "at_risk"
    assert job.predicted_finish_at is None


def test_overdue_once_the_due_date_passes(client_user: User, engineer: User, frozen) -> None:
    job = accepted_job(client_user)
    frozen.shift(timedelta(days=3, minutes=1))
    plan_refresh()
    job.refresh_from_db()
    assert job.deadline_status == "overdue"


def test_moves_replan_after_commit(
    client_user: User, engineer: User, frozen, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = accepted_job(client_user)
    job.refresh_from_db()
    assert job.predicted_finish_at is not None
    assert stages_of(job)[0].proposed_assignee_id == engineer.pk


def test_a_finished_stage_drops_its_prediction(client_user: User, engineer: User, frozen) -> None:
    from jobs.services import stage_finish, stage_start

    job = accepted_job(client_user)
    plan_refresh()
    listening = stages_of(job)[0]
    assert listening.predicted_finish_at is not None
    stage_assign(stage=listening, by=engineer, engineer=engineer)
    stage_start(stage=listening, by=engineer)
    stage_finish(stage=listening, by=engineer)
    listening.refresh_from_db()
    assert listening.predicted_finish_at is None
    assert listening.proposed_assignee is None


def test_engineer_timeline_lists_blocks_until_a_moment(
    client_user: User, engineer: User, frozen
) -> None:
    from jobs.plan_store import engineer_timeline

    accepted_job(client_user)
    everything = engineer_timeline(engineer=engineer)
    first_hour = engineer_timeline(engineer=engineer, until=MONDAY_10 + timedelta(hours=1))
    assert 0 < len(first_hour) < len(everything)
    assert all(b.start < MONDAY_10 + timedelta(hours=1) for b in first_hour)


def test_a_running_session_counts_as_work_done(client_user: User, engineer: User, frozen) -> None:
    from jobs.services import stage_start
    from jobs.sessions import session_start

    job = accepted_job(client_user)
    listening = stages_of(job)[0]
    stage_assign(stage=listening, by=engineer, engineer=engineer)
    stage_start(stage=listening, by=engineer)
    session_start(stage=listening, by=engineer)
    frozen.shift(timedelta(minutes=20))
    by_kind = {w.kind: w for w in plan_inputs().work}
    assert by_kind["listening"].remaining_minutes == 30 - 20


def test_refresh_queries_do_not_grow_with_the_number_of_jobs(
    client_user: User, engineer: User, frozen
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        # The first refresh writes every prediction; the second, after time moved, too.
        frozen.shift(timedelta(minutes=5))
        with CaptureQueriesContext(connection) as ctx:
            plan_refresh()
        return len(ctx.captured_queries)

    accepted_job(client_user)
    plan_refresh()
    few = count()
    for _ in range(6):
        accepted_job(client_user)
    plan_refresh()
    assert count() == few


def test_predictions_are_cleared_when_nobody_can_do_the_work(
    client_user: User, engineer: User, frozen
) -> None:
    job = accepted_job(client_user)
    plan_refresh()
    engineer.is_active = False
    engineer.save()
    plan_refresh()
    job.refresh_from_db()
    stage = stages_of(job)[0]
    assert job.predicted_finish_at is None
    assert job.deadline_status == "at_risk"
    assert stage.predicted_finish_at is None
    assert stage.proposed_assignee_id is None


def test_a_burst_of_moves_queues_one_replan(
    client_user: User,
    engineer: User,
    manager: User,
    frozen,
    monkeypatch,
    django_capture_on_commit_callbacks,
) -> None:
    from django.core.cache import cache

    from jobs.tasks import REPLAN_DELAY_S, REPLAN_QUEUED, plan_refresh_task

    queued: list[int] = []
    # Queued with a short delay, so the moves of one burst land in the same re-plan.
    monkeypatch.setattr(
        plan_refresh_task,
        "apply_async",
        lambda countdown: queued.append(countdown),
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = accepted_job(client_user)
        for stage in stages_of(job):
            stage_assign(stage=stage, by=manager, engineer=engineer)
    assert queued == [REPLAN_DELAY_S]
    plan_refresh_task.run()  # the worker starts on it: the next move queues again
    assert cache.get(REPLAN_QUEUED) is None
    with django_capture_on_commit_callbacks(execute=True):
        stage_assign(stage=stages_of(job)[0], by=manager, engineer=None)
    assert queued == [REPLAN_DELAY_S, REPLAN_DELAY_S]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_replan_locks_jobs_before_stages_in_id_order(
    client_user: User, engineer: User, frozen
) -> None:
    from django.test.utils import CaptureQueriesContext

    job = accepted_job(client_user)
    other = accepted_job(client_user)
    plan_refresh()
    # Only a stage's proposal is out of date: its job is locked all the same, and first.
    Stage.objects.filter(pk=stages_of(job)[2].pk).update(proposed_assignee=None)
    with CaptureQueriesContext(connection) as ctx:
        plan_refresh()
    sql = [q["sql"] for q in ctx.captured_queries]
    locks = [i for i, s in enumerate(sql) if "FOR UPDATE" in s]
    writes = [i for i, s in enumerate(sql) if s.startswith(("UPDATE", "WITH"))]
    assert [sql[i].split(" FROM ")[1].split()[0] for i in locks] == [
        '"jobs_studiopolicy"',
        '"jobs_job"',
        '"jobs_stage"',
    ]
    assert job.pk.hex in sql[locks[1]] and other.pk.hex not in sql[locks[1]]
    assert all(" ORDER BY " in sql[i] for i in locks[1:])
    assert writes and locks[-1] < min(writes)


def test_a_replan_writes_only_what_changed_and_stores_the_plan(
    client_user: User, engineer: User, frozen, django_capture_on_commit_callbacks
) -> None:
    from django.core.cache import cache
    from django.test.utils import CaptureQueriesContext

    from jobs.plan_store import STORED_PLAN, StoredPlan

    first, second = accepted_job(client_user), accepted_job(client_user)
    with django_capture_on_commit_callbacks(execute=True):
        plan_refresh()
    stored = cache.get(STORED_PLAN)
    assert isinstance(stored, StoredPlan)
    planned = [b for b in stored.timeline(engineer.pk) if b.kind == "work"]
    assert {b.stage_id for b in planned} == {s.pk for s in stages_of(first) + stages_of(second)}
    assert all(stored.proposed[s.pk] == engineer.pk for s in stages_of(first))
    assert stored.labels[stages_of(first)[0].pk].endswith(" · Listening")

    def updates() -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            plan_refresh()
        return [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().startswith("WITH v")]

    # Nothing moved: nothing is written.
    assert updates() == []
    # A new job: its stages' predictions (and any job it pushed later) are written, by one
    # statement per table, not one per row.
    accepted_job(client_user)
    written = updates()
    assert 1 <= len(written) <= 2
    assert any('UPDATE "jobs_stage"' in sql for sql in written)


def test_a_failing_replan_writes_nothing_and_leaves_the_collector_on(
    client_user: User, engineer: User, frozen, monkeypatch
) -> None:
    import gc

    from jobs import plan_store

    job = accepted_job(client_user)
    real = plan_store._bulk_set

    def jobs_then_fail(model, names, rows):  # type: ignore[no-untyped-def]
        if model is Stage:
            raise RuntimeError("the database went away")
        real(model, names, rows)

    monkeypatch.setattr(plan_store, "_bulk_set", jobs_then_fail)
    with pytest.raises(RuntimeError):
        plan_refresh()
    assert gc.isenabled()
    job.refresh_from_db()
    assert job.predicted_finish_at is None  # the jobs' writes went back with the stages'
    assert not JobEvent.objects.filter(job=job, subject="deadline_status").exists()
    assert all(s.predicted_finish_at is None for s in stages_of(job))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="array parameters are PostgreSQL's")
def test_array_parameters_reach_the_database_unchanged() -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from jobs.models import Job
    from jobs.plan_store import _pg_array

    note = Job._meta.get_field("track_title")
    texts = ['a "quoted", {braced} \\ back', "NULL", "", None, "plain"]
    when = Stage._meta.get_field("predicted_finish_at")
    moments = [datetime(2026, 3, 2, 10, 0, 5, 123456, tzinfo=UTC), None]
    ids = [uuid4(), None]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::text[], %s::timestamptz[], %s::uuid[], %s::bigint[]",
            [
                _pg_array(note, texts, connection),
                _pg_array(when, moments, connection),
                _pg_array(Job._meta.pk, ids, connection),
                _pg_array(Stage._meta.pk, [2**40, None, 3], connection),
            ],
        )
        assert cursor.fetchone() == (texts, moments, ids, [2**40, None, 3])


def test_a_process_reads_the_stored_plan_in_full_only_when_another_was_stored(
    client_user: User, engineer: User, frozen, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    """The pages that show the plan (workload, my plan) read the small stamp stored with it;
    the plan itself (some hundreds of kilobytes in a big studio) only when it is another."""
    from django.core.cache import cache

    from jobs import plan_store
    from jobs.plan_store import STORED_PLAN, forget_stored_plan, stored_plan

    first = accepted_job(client_user)
    with django_capture_on_commit_callbacks(execute=True):
        plan_refresh()
    read: list[str] = []

    class Counted:
        """The real cache, counting what is read from it."""

        def get(self, key, *args, **kwargs):  # type: ignore[no-untyped-def]
            read.append(key)
            return cache.get(key, *args, **kwargs)

        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(cache, name)

    monkeypatch.setattr(plan_store, "cache", Counted())
    once = stored_plan()
    again = stored_plan()
    assert again is once
    assert read.count(STORED_PLAN) == 1  # the second read was the stamp's alone

    # Another re-plan (another process, say) stores another plan: it is read, and shows it.
    second = accepted_job(client_user)
    with django_capture_on_commit_callbacks(execute=True):
        plan_refresh()
    fresh = stored_plan()
    assert read.count(STORED_PLAN) == 2 and fresh is not once
    assert stages_of(second)[0].pk in fresh.labels and stages_of(first)[0].pk in fresh.labels

    # Forgotten (or evicted): planned afresh, never the plan this process kept.
    forget_stored_plan()
    planned: list[bool] = []
    real_compute = plan_store.plan_compute

    def compute(**kw):  # type: ignore[no-untyped-def]
        planned.append(True)
        return real_compute(**kw)

    monkeypatch.setattr(plan_store, "plan_compute", compute)
    assert stored_plan() is not fresh and planned == [True]


def test_the_stored_plan_holds_the_blocks_of_its_three_weeks_as_planned(
    client_user: User, engineer: User, frozen
) -> None:
    """What the plan pages read: every block that starts before the stored plan's end, in the
    plan's own minutes, and none after."""
    from datetime import UTC, datetime

    from jobs.plan_store import STORED_DAYS, _stored_from, plan_compute

    for _ in range(45):  # a backlog of some seven weeks for the one engineer
        accepted_job(client_user)
    result, inputs = plan_compute()
    stored = _stored_from(result, inputs)
    assert stored.until == result.now + timedelta(days=STORED_DAYS)
    planned = result.timeline(engineer.pk)
    assert planned[-1].start > stored.until  # the cut is exercised

    def minute(moment: datetime) -> int:
        return int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) // 60

    kept = [
        (minute(b.start), minute(b.end), b.kind, b.stage_id, b.break_kind)
        for b in planned
        if b.start < stored.until
    ]
    assert stored.blocks[engineer.pk] == kept
    assert [(b.start, b.end) for b in stored.timeline(engineer.pk)] == [
        (b.start, b.end) for b in planned if b.start < stored.until
    ]
