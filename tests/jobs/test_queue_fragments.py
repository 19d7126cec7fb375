"""The queue's kept rows (jobs.fragments): the queue is always what one rendered from nothing
shows, after every change to what a row shows, its forms included; each viewer's forms carry
that viewer's own CSRF token."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jobs.models import DeadlineStatus, Job, JobStatus, Role, Stage, StageKind, User
from jobs.services import stage_assign, stage_start
from tests.factories import make_user
from tests.jobs.fragment_checks import masked, same_as_from_nothing
from tests.jobs.helpers import accepted_job, stages_of

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _queues(c: Client) -> tuple[str, str]:
    """The queue page and its htmx region."""
    return masked(c.get("/queue/")), masked(c.get("/queue/", **HTMX))


def _same_as_from_nothing(c: Client) -> str:
    return same_as_from_nothing(lambda: _queues(c))[0]


def _row(page: str, stage: Stage) -> str:
    return page.split(f'id="stage-{stage.pk}"')[1].split("</tr>")[0]


@pytest.fixture
def queue(client_user: User, engineer: User, frozen: object) -> tuple[Client, Job, list[Stage]]:
    """A job whose first three stages are the engineer's, the first started."""
    job = accepted_job(client_user, track_title="Glasshouse", artist="The Lamps")
    stages = stages_of(job)
    for stage in stages[:3]:
        stage_assign(stage=stage, by=engineer, engineer=engineer)
    stage_start(stage=stages[0], by=engineer)
    c = Client()
    c.force_login(engineer)
    return c, job, stages


def test_the_rows_follow_every_change_to_their_job(queue: tuple[Client, Job, list[Stage]]) -> None:
    c, job, stages = queue
    page = _same_as_from_nothing(c)
    assert "Glasshouse" in _row(page, stages[0]) and "In progress" in _row(page, stages[0])

    Job.objects.filter(pk=job.pk).update(track_title="Hothouse")
    page = _same_as_from_nothing(c)
    assert "Glasshouse" not in page and "Hothouse" in _row(page, stages[1])

    Job.objects.filter(pk=job.pk).update(artist="")
    page = _same_as_from_nothing(c)
    assert "The Lamps" not in page

    Job.objects.filter(pk=job.pk).update(deadline_status=DeadlineStatus.AT_RISK)
    page = _same_as_from_nothing(c)
    assert "deadline-at_risk" in _row(page, stages[2])

    assert job.due_at is not None
    Job.objects.filter(pk=job.pk).update(due_at=job.due_at + timedelta(seconds=1))
    page = _same_as_from_nothing(c)  # the same words, another moment
    assert (job.due_at + timedelta(seconds=1)).isoformat() in _row(page, stages[1])

    Job.objects.filter(pk=job.pk).update(due_at=job.due_at + timedelta(days=20))
    page = _same_as_from_nothing(c)
    assert (job.due_at + timedelta(days=20)).isoformat() in _row(page, stages[1])

    running = Job.objects.get(pk=job.pk).status
    Job.objects.filter(pk=job.pk).update(status=JobStatus.ON_HOLD, status_before_hold=running)
    page = _same_as_from_nothing(c)
    assert "(on hold)" in _row(page, stages[1])
    Job.objects.filter(pk=job.pk).update(status=running, status_before_hold="")
    _same_as_from_nothing(c)  # the rows as they were, kept before the next change

    Job.objects.filter(pk=job.pk).update(revision_round=1)
    Stage.objects.filter(job=job).update(revision_round=1)
    page = _same_as_from_nothing(c)
    assert "round 2" in _row(page, stages[1])


def test_the_rows_follow_their_stages_and_engineers(
    queue: tuple[Client, Job, list[Stage]], engineer: User
) -> None:
    c, _, stages = queue
    _same_as_from_nothing(c)

    delivery = stages.pop()
    assert delivery.kind == StageKind.DELIVERY  # one stage of a kind a round: make room
    delivery.delete()
    Stage.objects.filter(pk=stages[1].pk).update(kind=StageKind.DELIVERY)
    page = _same_as_from_nothing(c)
    assert "Delivery" in _row(page, stages[1])

    Stage.objects.filter(pk=stages[2].pk).update(status="in_progress", started_at=timezone.now())
    page = _same_as_from_nothing(c)
    assert "stage-in_progress" in _row(page, stages[2])

    User.objects.filter(pk=engineer.pk).update(first_name="Ada", last_name="Quist")
    page = _same_as_from_nothing(c)
    assert "Ada Quist" in _row(page, stages[1])
    User.objects.filter(pk=engineer.pk).update(last_name="Quest")
    page = _same_as_from_nothing(c)
    assert "Ada Quest" in _row(page, stages[1])
    User.objects.filter(pk=engineer.pk).update(first_name="", last_name="", username="ada-q")
    page = _same_as_from_nothing(c)
    assert "ada-q" in _row(page, stages[1])

    stage_assign(stage=stages[3], by=engineer, engineer=engineer)
    page = _same_as_from_nothing(c)
    assert f'id="stage-{stages[3].pk}"' in page


def test_a_manager_s_rows_follow_the_engineers_their_menu_offers(
    client_user: User, frozen: object
) -> None:
    """A manager's rows have the assign form with every engineer."""
    manager = make_user(Role.MANAGER)
    stages = stages_of(accepted_job(client_user, track_title="Glasshouse"))
    stage_assign(stage=stages[0], by=manager, engineer=manager)
    c = Client()
    c.force_login(manager)
    page = _same_as_from_nothing(c)
    assert 'name="engineer"' in _row(page, stages[0])
    make_user(Role.ENGINEER, first_name="Ben", last_name="Castillo")
    page = _same_as_from_nothing(c)
    assert "Ben Castillo" in _row(page, stages[0])
    User.objects.filter(first_name="Ben").update(last_name="Castle")
    page = _same_as_from_nothing(c)
    assert "Ben Castle<" in _row(page, stages[0]) and "Castillo" not in page


def test_the_rows_follow_the_moves_they_offer(queue: tuple[Client, Job, list[Stage]]) -> None:
    c, _, stages = queue
    page = _same_as_from_nothing(c)
    assert "Finish</button>" in _row(page, stages[0]) and "<form" not in _row(page, stages[1])
    Stage.objects.filter(pk=stages[0].pk).update(notes="Cut 200 Hz on the pads")
    page = _same_as_from_nothing(c)
    assert ">Cut 200 Hz on the pads</textarea>" in _row(page, stages[0])
    # The stage before it skipped: the next one may start.
    Stage.objects.filter(pk=stages[0].pk).update(status="skipped", skip_reason="Heard already")
    page = _same_as_from_nothing(c)
    assert "Start</button>" in _row(page, stages[1])


def test_each_viewer_of_a_kept_row_posts_with_their_own_token(
    queue: tuple[Client, Job, list[Stage]], engineer: User
) -> None:
    """The same engineer in two browsers: the second reads the rows the first kept, with its
    own session's token, which its move is accepted with."""
    _, _, stages = queue
    tokens, browsers = [], []
    for _ in range(2):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(engineer)
        row = _row(browser.get("/queue/").content.decode(), stages[0])
        tokens.append(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', row))
        browsers.append(browser)
    assert tokens[0] and tokens[1] and not set(tokens[0]) & set(tokens[1])
    skipped = browsers[1].post(
        f"/stages/{stages[0].pk}/skip/",
        {"csrfmiddlewaretoken": tokens[1][0], "reason": "Heard already"},
        **HTMX,
    )
    assert skipped.status_code == 200 and "stage-skipped" in skipped.content.decode()
