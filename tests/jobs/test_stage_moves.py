"""Stage moves: start, finish, skip, reopen, assign; who may make them and in what order."""

from __future__ import annotations

import pytest

from jobs.models import JobEvent, JobStatus, StageStatus, User
from jobs.services import (
    NotAllowed,
    WorkflowError,
    WrongState,
    job_hold,
    stage_assign,
    stage_finish,
    stage_reopen,
    stage_skip,
    stage_start,
)
from tests.factories import make_user
from tests.jobs.conftest import MONDAY_10
from tests.jobs.helpers import accepted_job, stages_of, work_through

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def test_the_assigned_engineer_starts_the_first_stage(client_user: User, engineer: User) -> None:
    job = accepted_job(client_user)
    listening = stages_of(job)[0]
    stage_assign(stage=listening, by=engineer, engineer=engineer)
    stage_start(stage=listening, by=engineer)
    listening.refresh_from_db()
    job.refresh_from_db()
    assert listening.status == StageStatus.IN_PROGRESS
    assert listening.started_at == MONDAY_10
    assert job.status == JobStatus.IN_PROGRESS
    kinds = list(JobEvent.objects.filter(job=job).values_list("kind", "to_value"))
    assert ("assignee", engineer.username) in kinds
    assert ("stage", "in_progress") in kinds
    assert ("status", "in_progress") in kinds


def test_it_refuses_to_start_out_of_order(client_user: User, engineer: User) -> None:
    job = accepted_job(client_user)
    cleanup = stages_of(job)[1]
    stage_assign(stage=cleanup, by=engineer, engineer=engineer)
    before = JobEvent.objects.count()
    with pytest.raises(WrongState, match="Listening"):
        stage_start(stage=cleanup, by=engineer)
    assert JobEvent.objects.count() == before
    cleanup.refresh_from_db()
    assert cleanup.status == StageStatus.PENDING


def test_a_skipped_stage_lets_the_next_one_start(client_user: User, manager: User) -> None:
    job = accepted_job(client_user)
    listening, cleanup = stages_of(job)[:2]
    stage_skip(stage=listening, by=manager, reason="heard it at intake")
    stage_start(stage=cleanup, by=manager)
    listening.refresh_from_db()
    assert listening.status == StageStatus.SKIPPED
    assert listening.skip_reason == "heard it at intake"


def test_it_refuses_to_skip_without_a_reason(client_user: User, manager: User) -> None:
    job = accepted_job(client_user)
    with pytest.raises(WorkflowError):
        stage_skip(stage=stages_of(job)[0], by=manager, reason="")


def test_it_refuses_moves_by_an_unassigned_engineer_or_a_client(
    client_user: User, engineer: User
) -> None:
    job = accepted_job(client_user)
    listening = stages_of(job)[0]
    other = make_user("engineer")
    stage_assign(stage=listening, by=other, engineer=other)
    for who in (engineer, client_user):
        with pytest.raises(NotAllowed):
            stage_start(stage=listening, by=who)
        with pytest.raises(NotAllowed):
            stage_skip(stage=listening, by=who, reason="x")


def test_an_engineer_takes_only_unassigned_work_for_themself(
    client_user: User, engineer: User, manager: User
) -> None:
    job = accepted_job(client_user)
    listening, cleanup = stages_of(job)[:2]
    other = make_user("engineer")
    with pytest.raises(NotAllowed):
        stage_assign(stage=listening, by=engineer, engineer=other)
    stage_assign(stage=listening, by=other, engineer=other)
    with pytest.raises(NotAllowed):
        stage_assign(stage=listening, by=engineer, engineer=engineer)
    with pytest.raises(NotAllowed):
        stage_assign(stage=cleanup, by=client_user, engineer=engineer)
    # A manager reassigns anyone's work.
    stage_assign(stage=listening, by=manager, engineer=engineer)
    listening.refresh_from_db()
    assert listening.assignee == engineer


def test_it_refuses_to_assign_work_to_a_client(client_user: User, manager: User) -> None:
    job = accepted_job(client_user)
    with pytest.raises(WorkflowError):
        stage_assign(stage=stages_of(job)[0], by=manager, engineer=client_user)


def test_it_refuses_to_finish_a_pending_stage(client_user: User, manager: User) -> None:
    job = accepted_job(client_user)
    stage_start(stage=stages_of(job)[0], by=manager)
    with pytest.raises(WrongState):
        stage_finish(stage=stages_of(job)[1], by=manager)


def test_finishing_keeps_the_recall_notes(client_user: User, manager: User) -> None:
    job = accepted_job(client_user)
    listening = stages_of(job)[0]
    stage_start(stage=listening, by=manager)
    stage_finish(stage=listening, by=manager, notes="bass sits under the kick")
    listening.refresh_from_db()
    assert listening.status == StageStatus.DONE
    assert listening.notes == "bass sits under the kick"
    assert listening.finished_at == MONDAY_10


def test_reopening_sends_later_stages_back_to_pending(client_user: User, engineer: User) -> None:
    job = accepted_job(client_user)
    stages = work_through(job, engineer, upto=4)
    stage_reopen(stage=stages[1], by=engineer, reason="a click left in the snare")
    fresh = stages_of(job)
    assert fresh[1].status == StageStatus.IN_PROGRESS
    assert fresh[1].finished_at is None
    assert [s.status for s in fresh[2:4]] == [StageStatus.PENDING, StageStatus.PENDING]
    assert fresh[2].started_at is None
    assert fresh[0].status == StageStatus.DONE
    assert JobEvent.objects.filter(job=job, subject="eq_enhancement", to_value="pending").exists()


def test_it_refuses_to_reopen_a_pending_stage(client_user: User, manager: User) -> None:
    job = accepted_job(client_user)
    with pytest.raises(WrongState):
        stage_reopen(stage=stages_of(job)[2], by=manager)


def test_it_refuses_stage_moves_while_on_hold(client_user: User, manager: User) -> None:
    job = accepted_job(client_user)
    job_hold(job=job, by=manager, reason="client asked to wait")
    with pytest.raises(WrongState):
        stage_start(stage=stages_of(job)[0], by=manager)
