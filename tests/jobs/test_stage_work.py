"""Stage work on the job page: checklist ticks with who and when, finishing with unticked items
asks first and says which, recall notes kept as a history and shown after the stage ends, the
skip reason shown, and the region only for the studio."""

from __future__ import annotations

import re

import pytest
from django.core.cache import caches
from django.test import Client

from jobs.models import Job, RecallNote, Role, StageStatus, StudioPolicy, User
from jobs.services import stage_assign, stage_start
from jobs.templatetags.fragments import CSRF_MARK
from tests.factories import make_user
from tests.jobs.fragment_checks import masked, same_as_from_nothing
from tests.jobs.helpers import accepted_job, stages_of
from tests.jobs.test_intake_views import _measured

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def logged_in(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def started(client_user: User, engineer: User):  # type: ignore[no-untyped-def]
    job = accepted_job(client_user)
    stage = stages_of(job)[0]
    stage_assign(stage=stage, by=engineer, engineer=engineer)
    stage_start(stage=stage, by=engineer)
    return job, stage


def test_finishing_with_unticked_items_asks_and_names_them(
    client_user: User, engineer: User, frozen
) -> None:
    _job, stage = started(client_user, engineer)
    c = logged_in(engineer)
    url = f"/stages/{stage.pk}/work/"
    ticked = c.post(url, {"action": "tick", "item": "references heard", "done": "1"}, **HTMX)
    assert ticked.status_code == 200
    stage.refresh_from_db()
    entry = next(e for e in stage.checklist if e["item"] == "references heard")
    assert (
        entry["done"] and entry["by"] == engineer.username and entry["at"].startswith("2026-03-02")
    )
    asked = c.post(url, {"action": "finish"}, **HTMX).content.decode()
    assert "Still unticked: <strong>rough mix heard in full, direction noted</strong>" in asked
    stage.refresh_from_db()
    assert stage.status == StageStatus.IN_PROGRESS
    c.post(url, {"action": "finish", "confirm": "yes"}, **HTMX)
    stage.refresh_from_db()
    assert stage.status == StageStatus.DONE


def test_recall_notes_are_kept_and_shown_after_the_stage_ends(
    client_user: User, engineer: User
) -> None:
    job, stage = started(client_user, engineer)
    c = logged_in(engineer)
    url = f"/stages/{stage.pk}/work/"
    c.post(url, {"action": "note", "text": "Low end: 2 dB shelf at 80 Hz"}, **HTMX)
    c.post(url, {"action": "note", "text": "Vocal sits 1 dB forward"}, **HTMX)
    assert c.post(url, {"action": "note", "text": "  "}, **HTMX).status_code == 400
    for item in ("rough mix heard in full", "references heard", "direction noted"):
        c.post(url, {"action": "tick", "item": item, "done": "1"}, **HTMX)
    c.post(url, {"action": "finish"}, **HTMX)
    assert RecallNote.objects.filter(stage=stage).count() == 2
    page = c.get(f"/jobs/{job.pk}/").content.decode()
    assert "2 dB shelf at 80 Hz" in page and "Vocal sits 1 dB forward" in page
    stage.refresh_from_db()
    assert stage.status == StageStatus.DONE


def test_a_skip_shows_its_reason_and_another_engineer_cannot_tick(
    client_user: User, engineer: User
) -> None:
    job, stage = started(client_user, engineer)
    other = logged_in(make_user(Role.ENGINEER))
    answer = other.post(
        f"/stages/{stage.pk}/work/",
        {"action": "tick", "item": "references heard", "done": "1"},
        **HTMX,
    )
    assert answer.status_code == 403
    cleanup = stages_of(job)[1]
    c = logged_in(engineer)
    c.post(f"/stages/{stage.pk}/work/", {"action": "finish", "confirm": "yes"}, **HTMX)
    stage_assign(stage=cleanup, by=engineer, engineer=engineer)
    c.post(f"/stages/{cleanup.pk}/work/", {"action": "skip", "reason": "stems are clean"}, **HTMX)
    assert "Skipped: stems are clean" in c.get(f"/jobs/{job.pk}/").content.decode()


def test_the_region_is_the_studios(client_user: User, engineer: User) -> None:
    job, stage = started(client_user, engineer)
    page = logged_in(client_user).get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="stage-work"' not in page
    assert (
        logged_in(client_user).post(f"/stages/{stage.pk}/work/", {"action": "note"}).status_code
        == 403
    )


def test_deliver_is_offered_only_when_it_can_succeed(client_user: User, engineer: User) -> None:
    from tests.jobs.helpers import upload_master, work_through

    job = accepted_job(client_user)
    work_through(job, engineer, upto=5)
    delivery = stages_of(job)[5]
    stage_assign(stage=delivery, by=engineer, engineer=engineer)
    stage_start(stage=delivery, by=engineer)
    c = logged_in(engineer)
    page = c.get(f"/jobs/{job.pk}/").content.decode()
    assert "Before delivering: finish the delivery stage." in page
    assert ">Deliver</button>" not in page
    upload_master(job, engineer)
    c.post(f"/stages/{delivery.pk}/work/", {"action": "finish", "confirm": "yes"})
    page = c.get(f"/jobs/{job.pk}/").content.decode()
    assert ">Deliver</button>" in page and "Before delivering" not in page


def test_the_queue_colours_the_due_date_of_an_overdue_row(
    client_user: User, engineer: User
) -> None:
    job, _stage = started(client_user, engineer)
    job.deadline_status = "overdue"
    job.save(update_fields=["deadline_status"])
    page = logged_in(engineer).get("/queue/").content.decode()
    assert 'class="due"' in page and "deadline-overdue" in page
    css = open("static/css/headroom.css").read()
    assert ".deadline-overdue td.due" in css and "\n.deadline-overdue td:last-child" not in css


def test_the_checklist_comes_from_the_studio_policy_and_old_ticks_stay_readable(
    client_user: User, frozen
) -> None:
    ada = make_user(Role.ENGINEER, username="ada", first_name="Ada", last_name="Byron")
    policy = StudioPolicy.current()
    policy.checklists = {**policy.checklists, "listening": ["rough mix heard", "notes read"]}
    policy.save()
    job, stage = started(client_user, ada)
    assert [e["item"] for e in stage.checklist] == ["rough mix heard", "notes read"]
    c = logged_in(ada)
    url = f"/stages/{stage.pk}/work/"
    assert c.post(url, {"action": "tick", "item": "rough mix heard", "done": "1"}, **HTMX)
    # The tick reads as a person would say it, at the studio's local time (London is on GMT
    # on Monday 2 March 2026 at 10:00 UTC).
    page = c.get(f"/jobs/{job.pk}/").content.decode()
    assert "Ada Byron, <time" in page and ">Mon 2 Mar 10:00</time>" in page
    # The studio rewords the ticked item: the old tick stays, marked as no longer asked for,
    # and the new wording is there to tick; finishing asks only about the current items.
    policy.checklists = {
        **policy.checklists,
        "listening": ["rough mix heard in full", "notes read"],
    }
    policy.save()
    page = c.get(f"/jobs/{job.pk}/").content.decode()
    assert "rough mix heard in full" in page
    assert "✓ rough mix heard</button>" in page
    assert "no longer on the studio's checklist" in page
    asked = c.post(url, {"action": "finish"}, **HTMX).content.decode()
    assert "Still unticked: <strong>rough mix heard in full, notes read</strong>" in asked
    # An item nobody ever listed cannot be ticked.
    refused = c.post(url, {"action": "tick", "item": "made up", "done": "1"}, **HTMX)
    assert refused.status_code == 400


def _region(page: str) -> str:
    return page.split('id="stage-work"')[1].split("</section>")[0]


def _regions(viewers: list[Client], job: Job) -> list[str]:
    """The region on each viewer's job page, with the fragments kept so far, checked against
    the same pages rendered with none kept."""
    return same_as_from_nothing(
        lambda: [_region(masked(c.get(f"/jobs/{job.pk}/"))) for c in viewers]
    )


def test_the_kept_region_follows_every_change_to_what_it_shows(
    client_user: User, engineer: User, manager: User, frozen
) -> None:
    job, stage = started(client_user, engineer)
    viewers = [logged_in(engineer), logged_in(manager)]
    mine, managers = _regions(viewers, job)
    assert "☐ references heard" in mine and "No notes yet." in mine and "Vocal.wav" not in mine

    url = f"/stages/{stage.pk}/work/"
    viewers[0].post(url, {"action": "tick", "item": "references heard", "done": "1"}, **HTMX)
    mine, managers = _regions(viewers, job)
    assert "✓ references heard" in mine and "✓ references heard" in managers
    viewers[0].post(url, {"action": "note", "text": "Kick and bass fight at 60 Hz"}, **HTMX)
    mine, _ = _regions(viewers, job)
    assert "Kick and bass fight at 60 Hz" in mine and "· 1 note</span>" in mine

    # The engineer renamed; the client's notes changed; a stem measured.
    engineer.first_name, engineer.last_name = "Renamed", "Engineer"
    engineer.save()
    Job.objects.filter(pk=job.pk).update(notes="More air on the vocal")
    _measured(job, name="Vocal.wav", integrated_lufs=-18.4)
    mine, _ = _regions(viewers, job)
    assert "Renamed Engineer, <time" in mine and "More air on the vocal" in mine
    assert '<td data-label="LUFS">-18.4</td>' in mine and '<td data-label="Stem">Vocal.wav' in mine

    # The stage skipped: its reason shows and its moves go.
    viewers[0].post(url, {"action": "skip", "reason": "Client asked to skip it"}, **HTMX)
    mine, managers = _regions(viewers, job)
    assert "Skipped: Client asked to skip it" in mine and "Skipped: Client asked to skip it" in (
        managers
    )


def test_a_kept_region_s_forms_carry_each_viewer_s_own_token(
    client_user: User, engineer: User
) -> None:
    """The engineer in two browsers: the region the first page kept is read back into the
    second, with the second session's token, which its form posts with (the first session's
    would be refused)."""
    job, stage = started(client_user, engineer)
    browsers = [Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)]
    tokens = []
    for c in browsers:
        c.force_login(engineer)
        region = _region(c.get(f"/jobs/{job.pk}/").content.decode())
        tokens.append(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', region))
    assert tokens[0] and tokens[1] and not set(tokens[0]) & set(tokens[1])
    assert CSRF_MARK not in "".join(tokens[0] + tokens[1])
    answer = browsers[1].post(
        f"/stages/{stage.pk}/work/",
        {
            "action": "note",
            "text": "Posted from a kept region",
            "csrfmiddlewaretoken": tokens[1][0],
        },
        **HTMX,
    )
    assert answer.status_code == 200 and "Posted from a kept region" in answer.content.decode()
    # What is kept holds the mark, never a viewer's token.
    kept = [bytes(v) for v in caches["fragments"]._cache.values() if b"stage-work" in bytes(v)]
    assert kept and all(CSRF_MARK.encode() in v for v in kept)
    assert not any(token.encode() in v for v in kept for token in tokens[0] + tokens[1])
