"""The desk's kept row fragments (jobs.fragments): *next* and *up for grabs* are always what a
desk rendered from nothing shows, after every change to what a row shows, the clock moving
on included (its times are in words and the time left counts down)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import caches
from django.test import Client, RequestFactory
from django.utils import timezone

from jobs.models import DeadlineStatus, Job, Role, Stage, StageKind, User
from jobs.services import stage_assign
from tests.factories import make_user
from tests.jobs.fragment_checks import masked, same_as_from_nothing
from tests.jobs.helpers import accepted_job, stages_of

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _desks(c: Client) -> tuple[str, str]:
    """The desk and its htmx regions (as every move answers them)."""
    return masked(c.get("/desk/")), masked(c.get("/desk/", **HTMX))


def _same_as_from_nothing(c: Client) -> tuple[str, str]:
    return same_as_from_nothing(lambda: _desks(c))


def _region(page: str, name: str) -> str:
    return page.split(f'id="desk-{name}"')[1].split("</section>")[0]


@pytest.fixture
def desk(client_user: User, engineer: User, frozen: object) -> tuple[Client, Job, list[Stage]]:
    """A job whose first two stages are the engineer's (next) and the rest up for grabs."""
    job = accepted_job(client_user, track_title="Glasshouse", artist="The Lamps")
    stages = stages_of(job)
    for stage in stages[:2]:
        stage_assign(stage=stage, by=engineer, engineer=engineer)
    c = Client()
    c.force_login(engineer)
    return c, job, stages


def test_next_and_up_for_grabs_follow_every_change_to_a_job(
    desk: tuple[Client, Job, list[Stage]],
) -> None:
    c, job, _ = desk
    page, _ = _same_as_from_nothing(c)
    assert "Glasshouse" in _region(page, "next") and "Glasshouse" in _region(page, "grabs")

    Job.objects.filter(pk=job.pk).update(track_title="Hothouse")
    page, _ = _same_as_from_nothing(c)
    assert "Glasshouse" not in page and "Hothouse" in _region(page, "grabs")

    Job.objects.filter(pk=job.pk).update(artist="")
    page, _ = _same_as_from_nothing(c)
    assert "The Lamps" not in page

    Job.objects.filter(pk=job.pk).update(deadline_status=DeadlineStatus.AT_RISK)
    page, _ = _same_as_from_nothing(c)
    assert "deadline-at_risk" in _region(page, "next")
    assert "deadline-at_risk" in _region(page, "grabs")

    assert job.due_at is not None
    Job.objects.filter(pk=job.pk).update(due_at=job.due_at + timedelta(seconds=1))
    page, _ = _same_as_from_nothing(c)  # the same words, another moment
    assert (job.due_at + timedelta(seconds=1)).isoformat() in _region(page, "grabs")

    Job.objects.filter(pk=job.pk).update(due_at=job.due_at + timedelta(days=20))
    page, _ = _same_as_from_nothing(c)
    assert (job.due_at + timedelta(days=20)).isoformat() in _region(page, "grabs")

    Job.objects.filter(pk=job.pk).update(revision_round=1)
    Stage.objects.filter(job=job).update(revision_round=1)
    page, _ = _same_as_from_nothing(c)
    assert "round 2" in _region(page, "next") and "round 2" in _region(page, "grabs")


def test_the_rows_times_follow_the_clock(desk: tuple[Client, Job, list[Stage]], frozen) -> None:
    c, job, stages = desk
    Stage.objects.filter(pk=stages[0].pk).update(
        predicted_finish_at=job.created_at + timedelta(days=1)
    )
    page, _ = _same_as_from_nothing(c)
    assert "tomorrow at" in _region(page, "next")
    left = _region(page, "next").split('data-label="Time left">')[1].split("</td>")[0]

    frozen.shift(timedelta(hours=1))  # the same words, an hour less left
    page, _ = _same_as_from_nothing(c)
    assert left not in _region(page, "next") and "tomorrow at" in _region(page, "next")

    frozen.shift(timedelta(hours=48))  # the predicted finish is yesterday's, the due date nearer
    page, _ = _same_as_from_nothing(c)
    assert "yesterday at" in _region(page, "next")
    assert left not in _region(page, "next")

    assert job.due_at is not None
    frozen.move_to(job.due_at + timedelta(minutes=1))
    page, _ = _same_as_from_nothing(c)
    assert '<strong class="overdue">overdue</strong>' in _region(page, "next")

    Stage.objects.filter(pk=stages[0].pk).update(predicted_finish_at=None)
    page, _ = _same_as_from_nothing(c)
    assert "not planned yet" in _region(page, "next")

    # Due in a year, only the predicted finish's words change with the clock by a day.
    Job.objects.filter(pk=job.pk).update(due_at=timezone.now() + timedelta(days=400, hours=12))
    finish = timezone.now() + timedelta(days=1)
    Stage.objects.filter(pk=stages[0].pk).update(predicted_finish_at=finish)
    page, _ = _same_as_from_nothing(c)
    assert "tomorrow at" in _region(page, "next")
    Stage.objects.filter(pk=stages[0].pk).update(predicted_finish_at=finish + timedelta(seconds=1))
    page, _ = _same_as_from_nothing(c)  # the same words, another moment
    assert (finish + timedelta(seconds=1)).isoformat() in _region(page, "next")
    frozen.shift(timedelta(days=1))
    page, _ = _same_as_from_nothing(c)
    assert "today at" in _region(page, "next") and "tomorrow at" not in _region(page, "next")


def test_rows_follow_their_stages_and_their_proposed_engineers(
    desk: tuple[Client, Job, list[Stage]], engineer: User
) -> None:
    c, _, stages = desk
    _same_as_from_nothing(c)

    # A stage of another kind (the rows' labels), then one more stage taken (a new row).
    delivery = stages.pop()
    assert delivery.kind == StageKind.DELIVERY  # one stage of a kind a round: make room
    delivery.delete()
    Stage.objects.filter(pk=stages[1].pk).update(kind=StageKind.DELIVERY)
    page, _ = _same_as_from_nothing(c)
    assert "Delivery" in _region(page, "next")
    stage_assign(stage=stages[2], by=engineer, engineer=engineer)
    page, _ = _same_as_from_nothing(c)
    assert f'id="desk-stage-{stages[2].pk}"' in page and f'id="grab-{stages[2].pk}"' not in page

    other = make_user(Role.ENGINEER, first_name="Ben", last_name="Castillo")
    Stage.objects.filter(pk=stages[3].pk).update(proposed_assignee=other)
    page, _ = _same_as_from_nothing(c)
    assert "Ben Castillo" in _region(page, "grabs")
    User.objects.filter(pk=other.pk).update(first_name="Benedict")
    page, _ = _same_as_from_nothing(c)
    assert "Benedict Castillo" in _region(page, "grabs")
    Stage.objects.filter(pk=stages[3].pk).update(proposed_assignee=engineer)
    page, _ = _same_as_from_nothing(c)
    assert "<strong>you</strong>" in _region(page, "grabs")


def test_a_refusal_shows_on_its_row_and_leaves_it_after(
    desk: tuple[Client, Job, list[Stage]],
) -> None:
    c, _, stages = desk
    _same_as_from_nothing(c)

    def refused() -> str:
        answer = c.post(f"/desk/stages/{stages[1].pk}/start/", **HTMX)
        assert answer.status_code == 400
        return masked(answer)

    kept = same_as_from_nothing(refused)  # the second stage waits for the first
    assert "has to be done or skipped first" in _region(kept, "next")
    page, _ = _same_as_from_nothing(c)
    assert "has to be done or skipped first" not in page


def test_a_refusal_on_a_row_up_for_grabs_shows_on_it(
    desk: tuple[Client, Job, list[Stage]], engineer: User
) -> None:
    """The desk with an error on a row up for grabs (a take refused while the stage stays
    there), kept and from nothing."""
    from django.template.loader import render_to_string

    from jobs.desk_views import REGIONS, desk_context

    _, _, stages = desk
    request = RequestFactory().get("/desk/")
    request.user = engineer

    def regions(**error: object) -> str:
        rendered = render_to_string(REGIONS, desk_context(engineer, **error), request=request)
        return masked(rendered)

    plain = regions()
    refused = regions(error="Not now.", error_stage=stages[3].pk)
    assert "Not now." in _region(refused, "grabs")
    caches["fragments"].clear()
    assert (plain, refused) == (regions(), regions(error="Not now.", error_stage=stages[3].pk))
