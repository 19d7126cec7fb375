"""The "who may" rules on the user, the one place services and pages take them from."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.models import Job, JobStatus, Role, Stage, StageKind, User
from jobs.selectors import round_stage_list
from tests.factories import make_job, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(client_user: User) -> Job:
    return make_job(client=client_user, status=JobStatus.IN_PROGRESS)


def _stage(job: Job, kind: str = StageKind.LISTENING, assignee: User | None = None) -> Stage:
    position = list(StageKind.values).index(kind)
    return Stage.objects.create(job=job, kind=kind, position=position, assignee=assignee)


def test_managers_may_everything_in_the_studio_but_a_clients_review(
    manager: User, job: Job
) -> None:
    stage = _stage(job, assignee=make_user(Role.ENGINEER))
    assert manager.may_manage
    assert manager.may_hand_in(job) and manager.may_move(stage) and manager.may_deliver(job)
    assert not manager.may_review(job)
    assert not manager.may_open_jobs
    assert manager.may_be_assigned


def test_an_inactive_manager_may_not_manage(manager: User, job: Job) -> None:
    manager.is_active = False
    stage = _stage(job)
    assert not manager.may_manage and not manager.may_be_assigned
    assert not (manager.may_hand_in(job) or manager.may_move(stage) or manager.may_deliver(job))


def test_an_engineer_moves_only_their_own_stage_and_takes_only_free_work(
    engineer: User, job: Job
) -> None:
    own = _stage(job, StageKind.LISTENING, assignee=engineer)
    free = _stage(job, StageKind.CLEANUP)
    others = _stage(job, StageKind.LEVEL_BALANCING, assignee=make_user(Role.ENGINEER))
    assert engineer.may_move(own)
    assert not engineer.may_move(free) and not engineer.may_move(others)
    assert engineer.may_take(own) and engineer.may_take(free)
    assert not engineer.may_take(others)
    assert not engineer.may_manage and not engineer.may_hand_in(job)
    assert engineer.may_be_assigned


def test_only_the_engineer_on_the_rounds_delivery_stage_may_deliver(
    engineer: User, job: Job, django_assert_num_queries: Any
) -> None:
    _stage(job, StageKind.LISTENING, assignee=engineer)
    assert not engineer.may_deliver(job)
    assert not engineer.may_deliver(job, round_stage_list(job))
    _stage(job, StageKind.DELIVERY, assignee=engineer)
    assert engineer.may_deliver(job)
    with django_assert_num_queries(1):  # the round's stages, read once for the whole page
        assert engineer.may_deliver(job, round_stage_list(job))
    Job.objects.filter(pk=job.pk).update(revision_round=1)
    job.refresh_from_db()
    assert not engineer.may_deliver(job), "an earlier round's delivery stage does not count"
    assert not engineer.may_deliver(job, round_stage_list(job))


def test_the_jobs_client_hands_in_and_reviews_an_outsider_does_not(
    client_user: User, outsider: User, job: Job
) -> None:
    colleague = make_user(Role.CLIENT, organisation=client_user.organisation)
    free = _stage(job, StageKind.DELIVERY)
    for member in (client_user, colleague):
        assert member.may_open_jobs
        assert member.may_hand_in(job) and member.may_review(job)
        assert not member.may_deliver(job) and not member.may_take(free)
        assert not member.may_move(free) and not member.may_manage
        assert not member.may_be_assigned
    assert not outsider.may_hand_in(job) and not outsider.may_review(job)


def test_a_job_is_workable_from_acceptance_to_delivery() -> None:
    workable = {s for s in JobStatus.values if Job(status=s).is_workable}
    assert workable == {JobStatus.ACCEPTED, JobStatus.IN_PROGRESS, JobStatus.REVISION_REQUESTED}


def test_a_stage_of_an_earlier_round_is_not_in_the_current_round(job: Job) -> None:
    stage = _stage(job)
    assert stage.in_current_round
    Job.objects.filter(pk=job.pk).update(revision_round=1)
    assert not Stage.objects.select_related("job").get(pk=stage.pk).in_current_round
