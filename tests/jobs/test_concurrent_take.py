"""Two engineers taking one stage at once: one wins, the other is told who has it, and nothing is
half-done (one assignee, one history entry). Needs PostgreSQL's row locks; skipped on SQLite."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from jobs.models import JobEvent, Role, Stage, User
from jobs.services import WorkflowError, stage_take
from tests.factories import make_user
from tests.jobs.helpers import accepted_job, stages_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_two_engineers_taking_one_stage_one_wins_and_the_other_is_told(
    client_user: User,
) -> None:
    job = accepted_job(client_user)
    stage = stages_of(job)[0]
    people = [make_user(Role.ENGINEER) for _ in range(4)]
    barrier = threading.Barrier(len(people))
    won: list[str] = []
    told: list[str] = []

    def take(person: User) -> None:
        try:
            barrier.wait()
            stage_take(stage=Stage.objects.get(pk=stage.pk), by=person)
            won.append(person.username)
        except WorkflowError as exc:
            told.append(exc.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(told) == 3
    stage.refresh_from_db()
    assert stage.assignee is not None and stage.assignee.username == won[0]
    assert all("taken meanwhile by" in message for message in told)
    assert JobEvent.objects.filter(job=job, kind="assignee").count() == 1
