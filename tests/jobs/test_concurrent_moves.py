"""Two people making the same move at once: the job lock lets one through and refuses the other.
Needs PostgreSQL (SQLite has no row locks); skipped on SQLite."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from jobs.models import JobEvent, User
from jobs.services import WorkflowError, stage_start
from tests.jobs.helpers import accepted_job, stages_of

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_two_starts_of_one_stage_start_it_once(client_user: User, manager: User) -> None:
    job = accepted_job(client_user)
    listening = stages_of(job)[0]
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def start() -> None:
        try:
            barrier.wait()
            stage_start(stage=listening, by=manager)
            outcomes.append("started")
        except WorkflowError:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "refused", "refused", "started"]
    assert JobEvent.objects.filter(job=job, kind="stage", to_value="in_progress").count() == 1
    assert JobEvent.objects.filter(job=job, kind="status", to_value="in_progress").count() == 1
