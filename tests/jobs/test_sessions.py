"""Listening sessions: start, the break prompt, breaks taken or skipped, stop, compliance."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import (
    BreakKind,
    BreakOutcome,
    EarBreak,
    EngineerProfile,
    ListeningSession,
    Role,
    Stage,
    User,
)
from jobs.services import NotAllowed, WrongState, stage_assign, stage_finish, stage_start
from jobs.sessions import (
    break_compliance,
    break_due,
    break_prompt,
    break_skip,
    break_take,
    listening_cap_reached,
    listening_today,
    session_start,
    session_stop,
)
from tests.factories import make_user
from tests.jobs.conftest import MONDAY_10
from tests.jobs.helpers import accepted_job, stages_of, work_through

pytestmark = pytest.mark.django_db


def started_stage(client: User, engineer: User, index: int = 0) -> Stage:
    job = accepted_job(client)
    if index:
        work_through(job, engineer, upto=index)
    stage = stages_of(job)[index]
    stage_assign(stage=stage, by=engineer, engineer=engineer)
    stage_start(stage=stage, by=engineer)
    return stage


def test_a_session_logs_work_time_on_the_stage(client_user: User, engineer: User, frozen) -> None:
    stage = started_stage(client_user, engineer)
    session = session_start(stage=stage, by=engineer)
    frozen.shift(timedelta(minutes=40))
    session_stop(session=session, by=engineer)
    session.refresh_from_db()
    stage.refresh_from_db()
    assert session.ended_at == MONDAY_10 + timedelta(minutes=40)
    assert session.work_seconds == stage.work_seconds == 40 * 60


def test_one_open_session_per_engineer(client_user: User, engineer: User, frozen) -> None:
    stage = started_stage(client_user, engineer)
    session_start(stage=stage, by=engineer)
    with pytest.raises(WrongState):
        session_start(stage=stage, by=engineer)
    assert ListeningSession.objects.count() == 1


def test_it_refuses_a_session_on_someone_elses_or_a_pending_stage(
    client_user: User, engineer: User, frozen
) -> None:
    stage = started_stage(client_user, engineer)
    with pytest.raises(NotAllowed):
        session_start(stage=stage, by=make_user("engineer"))
    pending = stages_of(stage.job)[1]
    stage_assign(stage=pending, by=engineer, engineer=engineer)
    with pytest.raises(WrongState):
        session_start(stage=pending, by=engineer)


def test_the_break_is_prompted_after_the_listening_limit(
    client_user: User, engineer: User, frozen
) -> None:
    stage = started_stage(client_user, engineer)
    session = session_start(stage=stage, by=engineer)
    due = break_due(session=session)
    assert (due.kind, due.due_at, due.minutes) == ("short", MONDAY_10 + timedelta(minutes=50), 10)
    frozen.shift(timedelta(minutes=49))
    assert break_prompt(session=session) is None
    frozen.shift(timedelta(minutes=1))
    prompt = break_prompt(session=session)
    assert prompt is not None and prompt.outcome == "prompted"
    assert break_prompt(session=session) == prompt  # asked once, not again and again
    break_take(ear_break=prompt, by=engineer)
    # The next break is due a whole block after this one ends.
    assert break_due(session=session).due_at == MONDAY_10 + timedelta(minutes=110)
    frozen.shift(timedelta(minutes=30))
    session_stop(session=session, by=engineer)
    session.refresh_from_db()
    assert session.work_seconds == 70 * 60  # 80 minutes, less the 10-minute break


def test_a_stricter_engineer_is_prompted_sooner(client_user: User, engineer: User, frozen) -> None:
    EngineerProfile.objects.create(user=engineer, max_continuous_listening_min=30)
    session = session_start(stage=started_stage(client_user, engineer), by=engineer)
    assert break_due(session=session).due_at == MONDAY_10 + timedelta(minutes=30)


def test_a_skipped_break_is_asked_again_soon(client_user: User, engineer: User, frozen) -> None:
    session = session_start(stage=started_stage(client_user, engineer), by=engineer)
    frozen.shift(timedelta(minutes=50))
    prompt = break_prompt(session=session)
    break_skip(ear_break=prompt, by=engineer)
    assert break_due(session=session).due_at == MONDAY_10 + timedelta(minutes=60)
    with pytest.raises(WrongState):
        break_take(ear_break=prompt, by=engineer)


def test_only_the_prompted_engineer_answers(client_user: User, engineer: User, frozen) -> None:
    session = session_start(stage=started_stage(client_user, engineer), by=engineer)
    frozen.shift(timedelta(minutes=50))
    prompt = break_prompt(session=session)
    with pytest.raises(NotAllowed):
        break_take(ear_break=prompt, by=make_user("engineer"))


def test_every_fourth_break_is_long(client_user: User, engineer: User, frozen) -> None:
    session = session_start(stage=started_stage(client_user, engineer), by=engineer)
    kinds = []
    for _ in range(4):
        frozen.move_to(break_due(session=session).due_at)
        prompt = break_prompt(session=session)
        kinds.append((prompt.kind, prompt.planned_minutes))
        break_take(ear_break=prompt, by=engineer)
    assert kinds == [("short", 10)] * 3 + [("long", 30)]


def test_glue_after_other_listening_needs_a_fresh_ears_break(
    client_user: User, engineer: User, frozen
) -> None:
    job = accepted_job(client_user)
    work_through(job, engineer, upto=3)
    eq = stages_of(job)[3]
    stage_assign(stage=eq, by=engineer, engineer=engineer)
    stage_start(stage=eq, by=engineer)
    s1 = session_start(stage=eq, by=engineer)
    frozen.shift(timedelta(minutes=20))
    session_stop(session=s1, by=engineer)
    stage_finish(stage=eq, by=engineer)
    glue = stages_of(job)[4]
    stage_assign(stage=glue, by=engineer, engineer=engineer)
    with pytest.raises(WrongState, match="needs fresh ears"):
        stage_start(stage=glue, by=engineer)
    # Started anyway on a manager's word, the session still asks for the rest first.
    stage_start(stage=glue, by=make_user(Role.MANAGER), override="mastering session booked")
    s2 = session_start(stage=glue, by=engineer)
    due = break_due(session=s2)
    assert (due.kind, due.due_at, due.minutes) == ("fresh_ears", s2.started_at, 15)


def test_compliance_counts_taken_and_skipped(client_user: User, engineer: User, frozen) -> None:
    session = session_start(stage=started_stage(client_user, engineer), by=engineer)
    frozen.shift(timedelta(minutes=50))
    break_take(ear_break=break_prompt(session=session), by=engineer)
    frozen.move_to(break_due(session=session).due_at)
    break_skip(ear_break=break_prompt(session=session), by=engineer)
    frozen.move_to(break_due(session=session).due_at)
    break_prompt(session=session)
    session_stop(session=session, by=engineer)  # the open prompt counts as skipped
    result = break_compliance()[engineer.pk]
    assert (result.prompted, result.taken, result.skipped) == (3, 1, 2)
    assert result.rate == pytest.approx(1 / 3)
    assert EarBreak.objects.filter(outcome="prompted").count() == 0


def test_it_refuses_to_finish_a_stage_while_listening(
    client_user: User, engineer: User, frozen
) -> None:
    stage = started_stage(client_user, engineer)
    session_start(stage=stage, by=engineer)
    with pytest.raises(WrongState):
        stage_finish(stage=stage, by=engineer)


def test_a_long_enough_rest_before_glue_needs_no_fresh_ears_break(
    client_user: User, engineer: User, frozen
) -> None:
    job = accepted_job(client_user)
    work_through(job, engineer, upto=3)
    eq = stages_of(job)[3]
    stage_assign(stage=eq, by=engineer, engineer=engineer)
    stage_start(stage=eq, by=engineer)
    s1 = session_start(stage=eq, by=engineer)
    frozen.shift(timedelta(minutes=50))
    # A 20-minute break taken at the end of EQ, the session stopped halfway through it.
    EngineerProfile.objects.create(user=engineer)  # studio limits, studio timezone
    prompt = break_prompt(session=s1)
    prompt.planned_minutes = 20
    prompt.save()
    break_take(ear_break=prompt, by=engineer)
    frozen.shift(timedelta(minutes=10))
    session_stop(session=s1, by=engineer)
    stage_finish(stage=eq, by=engineer)
    frozen.shift(timedelta(minutes=10))
    glue = stages_of(job)[4]
    stage_assign(stage=glue, by=engineer, engineer=engineer)
    stage_start(stage=glue, by=engineer)
    s2 = session_start(stage=glue, by=engineer)
    assert break_due(session=s2).kind == "short"
    assert break_due(session=s2).due_at == s2.started_at + timedelta(minutes=50)


def test_listening_today_and_the_daily_cap(client_user: User, engineer: User, frozen) -> None:
    EngineerProfile.objects.create(user=engineer, daily_listening_cap_min=60)
    session = session_start(stage=started_stage(client_user, engineer), by=engineer)
    frozen.shift(timedelta(minutes=30))
    break_take(
        ear_break=EarBreak.objects.create(
            engineer=engineer, session=session, kind="short", planned_minutes=10
        ),
        by=engineer,
    )
    frozen.shift(timedelta(minutes=20))
    assert listening_today(engineer=engineer) == timedelta(minutes=40)
    assert not listening_cap_reached(engineer=engineer)
    frozen.shift(timedelta(minutes=20))
    assert listening_cap_reached(engineer=engineer)


def test_the_timer_reads_the_breaks_the_orm_finds_for_its_sessions(
    client_user: User, engineer: User, frozen
) -> None:
    """The breaks of this session, the ones before it and today's, or asked for today, or
    ended since the ears last rested: read by the sessions' first start and sorted out in
    Python, the same breaks, in the same order, as the ORM's query by their ids."""
    from django.db.models import Q

    from jobs.sessions import _ears_for, _since_sessions, ear_rules

    stages = stages_of(accepted_job(client_user))
    stage_assign(stage=stages[0], by=engineer, engineer=engineer)
    stage_start(stage=stages[0], by=engineer)
    for hours in (0, 1, 26, 27):  # two sessions each day, a break in each, then one more
        session = session_start(stage=stages[0], by=engineer)
        frozen.shift(timedelta(minutes=20))
        EarBreak.objects.create(
            engineer=engineer,
            session=session,
            kind=BreakKind.SHORT,
            outcome=BreakOutcome.SKIPPED,
            planned_minutes=5,
            prompted_at=timezone.now(),
        )
        session_stop(session=session, by=engineer)
        frozen.shift(timedelta(hours=1) if hours in (0, 26) else timedelta(hours=24))
    session = session_start(stage=stages[0], by=engineer)
    now = timezone.now()
    rules = ear_rules(engineer=engineer, now=now)
    ears = _ears_for(session, now, rules)
    ids = {session.pk, *(p.pk for p in ears.previous), *(t.pk for t in ears.today)}
    since = _since_sessions(session, ears.previous, rules.policy)
    orm = EarBreak.objects.filter(engineer_id=engineer.pk).filter(
        Q(session_id__in=ids) | Q(prompted_at__gte=rules.day_start) | Q(ended_at__gt=since)
    )
    assert [b.pk for b in ears.breaks] == [b.pk for b in orm]
    assert len(ears.breaks) == 4
