"""The engineers' stage endpoints and queue: every move for the assigned engineer, an outsider
(404), the job's client and another engineer (403) and an anonymous visitor; the htmx row; refused
moves that show their reason; the queue's order and its query count."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from psycopg import errors as pg_errors

from jobs.models import Job, JobStatus, Role, Stage, StageStatus, User
from jobs.services import stage_assign, stage_finish, stage_start
from jobs.services.stages import _require_previous_finished
from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    csp_violations,
    on_db_thread,
    screenshot,
    watch_csp,
)
from tests.factories import make_job, make_user
from tests.jobs.helpers import accepted_job, stages_of

pytestmark = pytest.mark.django_db

SECRET_TITLE = "Quiet Harbour Confidential"


def _login(user: User | None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def _htmx(c: Client, path: str, data: dict[str, str] | None = None) -> Any:
    return c.post(path, data or {}, HTTP_HX_REQUEST="true")


@dataclass
class Move:
    """One endpoint: how to make its move valid for `engineer`, what to post, what it does."""

    name: str
    prepare: Callable[[Stage, User], None]
    data: dict[str, str]
    moved: Callable[[Stage], bool]


def _assign(stage: Stage, engineer: User) -> None:
    stage_assign(stage=stage, by=engineer, engineer=engineer)


def _started(stage: Stage, engineer: User) -> None:
    _assign(stage, engineer)
    stage_start(stage=stage, by=engineer)


def _finished(stage: Stage, engineer: User) -> None:
    _started(stage, engineer)
    stage_finish(stage=stage, by=engineer)


MOVES = [
    Move("stage_start", _assign, {}, lambda s: s.status == StageStatus.IN_PROGRESS),
    Move(
        "stage_finish",
        _started,
        {"notes": "Bass down 1 dB."},
        lambda s: s.status == StageStatus.DONE and s.notes == "Bass down 1 dB.",
    ),
    Move(
        "stage_skip",
        _assign,
        {"reason": "The rough mix is the reference."},
        lambda s: s.status == StageStatus.SKIPPED,
    ),
    Move(
        "stage_reopen",
        _finished,
        {"reason": "Too bright."},
        lambda s: s.status == StageStatus.IN_PROGRESS and s.finished_at is None,
    ),
    Move(
        "stage_assign",
        lambda s, e: None,
        {"engineer": "me"},
        lambda s: s.assignee_id is not None,
    ),
]
MOVE_IDS = [m.name for m in MOVES]


@pytest.fixture
def job(client_user: User) -> Job:
    return accepted_job(client_user, track_title=SECRET_TITLE)


def _first_stage(job: Job) -> Stage:
    return stages_of(job)[0]


def _snapshot(stage: Stage) -> tuple[Any, ...]:
    stage.refresh_from_db()
    return (stage.status, stage.assignee_id, stage.notes, stage.started_at, stage.finished_at)


# --- each move, for each kind of visitor ---------------------------------------------------------


@pytest.mark.parametrize("move", MOVES, ids=MOVE_IDS)
def test_the_assigned_engineer_makes_the_move_and_goes_back_to_the_job(
    move: Move, job: Job, engineer: User
) -> None:
    stage = _first_stage(job)
    move.prepare(stage, engineer)
    response = _login(engineer).post(reverse(move.name, args=[stage.pk]), move.data)
    assert response.status_code == 302
    assert response["Location"] == reverse("job_detail", args=[job.pk])
    stage.refresh_from_db()
    assert move.moved(stage)


@pytest.mark.parametrize("move", MOVES, ids=MOVE_IDS)
def test_an_outside_client_gets_404_and_nothing_moves(
    move: Move, job: Job, engineer: User, outsider: User
) -> None:
    stage = _first_stage(job)
    move.prepare(stage, engineer)
    before = _snapshot(stage)
    c = _login(outsider)
    for response in (
        c.post(reverse(move.name, args=[stage.pk]), move.data),
        _htmx(c, reverse(move.name, args=[stage.pk]), move.data),
    ):
        assert response.status_code == 404
        assert SECRET_TITLE.encode() not in response.content
    assert _snapshot(stage) == before


@pytest.mark.parametrize("move", MOVES, ids=MOVE_IDS)
def test_the_jobs_own_client_gets_403_and_nothing_moves(
    move: Move, job: Job, engineer: User, client_user: User
) -> None:
    stage = _first_stage(job)
    move.prepare(stage, engineer)
    before = _snapshot(stage)
    c = _login(client_user)
    assert c.post(reverse(move.name, args=[stage.pk]), move.data).status_code == 403
    response = _htmx(c, reverse(move.name, args=[stage.pk]), move.data)
    assert response.status_code == 403
    assert b"Only the studio moves stages." in response.content
    assert _snapshot(stage) == before


@pytest.mark.parametrize("move", [m for m in MOVES if m.name != "stage_assign"], ids=MOVE_IDS[:4])
def test_another_engineer_gets_403_with_the_reason(move: Move, job: Job, engineer: User) -> None:
    stage = _first_stage(job)
    move.prepare(stage, engineer)
    before = _snapshot(stage)
    other = _login(make_user(Role.ENGINEER))
    assert other.post(reverse(move.name, args=[stage.pk]), move.data).status_code == 403
    response = _htmx(other, reverse(move.name, args=[stage.pk]), move.data)
    assert response.status_code == 403
    assert b"Only the engineer assigned to this stage or a manager can move it." in (
        response.content
    )
    assert _snapshot(stage) == before


def test_an_engineer_cannot_take_someone_elses_stage(job: Job, engineer: User) -> None:
    stage = _first_stage(job)
    _assign(stage, engineer)
    other = _login(make_user(Role.ENGINEER))
    response = _htmx(other, reverse("stage_assign", args=[stage.pk]), {"engineer": "me"})
    assert response.status_code == 403
    assert b"ask a manager to reassign it" in response.content
    stage.refresh_from_db()
    assert stage.assignee_id == engineer.pk


@pytest.mark.parametrize("move", MOVES, ids=MOVE_IDS)
def test_anonymous_visitors_are_sent_to_log_in(move: Move, job: Job, engineer: User) -> None:
    stage = _first_stage(job)
    move.prepare(stage, engineer)
    before = _snapshot(stage)
    response = _login(None).post(reverse(move.name, args=[stage.pk]), move.data)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert _snapshot(stage) == before


@pytest.mark.parametrize("move", MOVES, ids=MOVE_IDS)
def test_moves_are_post_only(move: Move, job: Job, engineer: User) -> None:
    stage = _first_stage(job)
    assert _login(engineer).get(reverse(move.name, args=[stage.pk])).status_code == 405


@pytest.mark.parametrize("move", MOVES, ids=MOVE_IDS)
def test_a_move_without_the_csrf_token_is_refused(move: Move, job: Job, engineer: User) -> None:
    stage = _first_stage(job)
    move.prepare(stage, engineer)
    before = _snapshot(stage)
    c = Client(enforce_csrf_checks=True)
    c.force_login(engineer)
    assert c.post(reverse(move.name, args=[stage.pk]), move.data).status_code == 403
    assert _snapshot(stage) == before


@pytest.mark.parametrize("move", MOVES, ids=MOVE_IDS)
def test_a_manager_makes_any_move(move: Move, job: Job, engineer: User, manager: User) -> None:
    stage = _first_stage(job)
    move.prepare(stage, engineer)
    response = _htmx(_login(manager), reverse(move.name, args=[stage.pk]), move.data)
    assert response.status_code == 200
    stage.refresh_from_db()
    assert move.moved(stage)


# --- the htmx row --------------------------------------------------------------------------------


@pytest.mark.parametrize("move", MOVES, ids=MOVE_IDS)
def test_with_htmx_a_move_answers_with_the_stage_row(move: Move, job: Job, engineer: User) -> None:
    stage = _first_stage(job)
    move.prepare(stage, engineer)
    response = _htmx(_login(engineer), reverse(move.name, args=[stage.pk]), move.data)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="stage-{stage.pk}"')
    assert "<html" not in body
    stage.refresh_from_db()
    assert move.moved(stage)
    assert stage.get_status_display() in body


def test_the_row_offers_the_next_move(job: Job, engineer: User) -> None:
    stage = _first_stage(job)
    _assign(stage, engineer)
    c = _login(engineer)
    started = _htmx(c, reverse("stage_start", args=[stage.pk])).content.decode()
    assert reverse("stage_finish", args=[stage.pk]) in started
    assert reverse("stage_start", args=[stage.pk]) not in started
    finished = _htmx(c, reverse("stage_finish", args=[stage.pk])).content.decode()
    assert reverse("stage_reopen", args=[stage.pk]) in finished
    assert reverse("stage_finish", args=[stage.pk]) not in finished


def test_finishing_without_notes_keeps_the_recall_notes(job: Job, engineer: User) -> None:
    stage = _first_stage(job)
    _started(stage, engineer)
    Stage.objects.filter(pk=stage.pk).update(notes="Warm low end.")
    _htmx(_login(engineer), reverse("stage_finish", args=[stage.pk]))
    stage.refresh_from_db()
    assert (stage.status, stage.notes) == (StageStatus.DONE, "Warm low end.")


def test_a_manager_gives_a_stage_to_an_engineer_by_id(
    job: Job, engineer: User, manager: User
) -> None:
    stage = _first_stage(job)
    response = _htmx(
        _login(manager), reverse("stage_assign", args=[stage.pk]), {"engineer": str(engineer.pk)}
    )
    assert response.status_code == 200
    stage.refresh_from_db()
    assert stage.assignee_id == engineer.pk


# --- refused moves -------------------------------------------------------------------------------


def test_a_refused_move_shows_its_reason_in_the_row(job: Job, engineer: User) -> None:
    cleanup = stages_of(job)[1]
    _assign(cleanup, engineer)
    response = _htmx(_login(engineer), reverse("stage_start", args=[cleanup.pk]))
    assert response.status_code == 400
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="stage-{cleanup.pk}"')
    assert "Listening has to be done or skipped first." in body
    assert 'role="alert"' in body
    cleanup.refresh_from_db()
    assert cleanup.status == StageStatus.PENDING


def test_a_refused_plain_post_goes_back_to_the_job_with_the_reason(
    job: Job, engineer: User
) -> None:
    cleanup = stages_of(job)[1]
    _assign(cleanup, engineer)
    response = _login(engineer).post(reverse("stage_start", args=[cleanup.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("job_detail", args=[job.pk])
    assert b"Listening has to be done or skipped first." in response.content


def test_skipping_without_a_reason_is_refused(job: Job, engineer: User) -> None:
    stage = _first_stage(job)
    _assign(stage, engineer)
    response = _htmx(_login(engineer), reverse("stage_skip", args=[stage.pk]), {"reason": "  "})
    assert response.status_code == 400
    assert b"Give a reason to skip a stage." in response.content


@pytest.mark.parametrize("value", ["", "nobody", "999999"])
def test_assigning_to_no_such_engineer_is_refused(job: Job, manager: User, value: str) -> None:
    stage = _first_stage(job)
    response = _htmx(_login(manager), reverse("stage_assign", args=[stage.pk]), {"engineer": value})
    assert response.status_code == 400
    stage.refresh_from_db()
    assert stage.assignee_id is None


def test_work_cannot_go_to_a_client(job: Job, manager: User, client_user: User) -> None:
    stage = _first_stage(job)
    c = _login(manager)
    response = _htmx(c, reverse("stage_assign", args=[stage.pk]), {"engineer": str(client_user.pk)})
    assert response.status_code == 400
    assert b"No such engineer in the studio." in response.content


def test_a_move_on_a_finished_stage_is_a_400_not_a_500(job: Job, engineer: User) -> None:
    stage = _first_stage(job)
    _finished(stage, engineer)
    c = _login(engineer)
    for name in ("stage_start", "stage_finish"):
        response = _htmx(c, reverse(name, args=[stage.pk]))
        assert response.status_code == 400, name
    assert _htmx(c, reverse("stage_start", args=[10**9])).status_code == 404


def _fails_first(exc: Exception, step: Callable[..., Any]) -> Callable[..., Any]:
    calls: list[int] = []

    def flaky(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise exc
        return step(*args, **kw)

    return flaky


# A step the start of a stage takes inside its transaction, after the rows are locked: where
# PostgreSQL would pick the move as a deadlock's victim.
_LOCKED_STEP = "jobs.services.stages._require_previous_finished"


def _db_error(cause: Exception) -> OperationalError:
    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


def test_a_move_chosen_as_a_deadlock_victim_is_tried_once_more(
    job: Job, engineer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = _first_stage(job)
    _assign(stage, engineer)
    deadlock = _db_error(pg_errors.DeadlockDetected("deadlock detected"))
    monkeypatch.setattr(_LOCKED_STEP, _fails_first(deadlock, _require_previous_finished))
    response = _htmx(_login(engineer), reverse("stage_start", args=[stage.pk]))
    assert response.status_code == 200
    stage.refresh_from_db()
    assert stage.status == StageStatus.IN_PROGRESS


def test_other_database_errors_are_not_retried(
    job: Job, engineer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = _first_stage(job)
    _assign(stage, engineer)
    lost = _db_error(pg_errors.AdminShutdown("terminating connection"))
    monkeypatch.setattr(_LOCKED_STEP, _fails_first(lost, _require_previous_finished))
    c = _login(engineer)
    c.raise_request_exception = False
    assert _htmx(c, reverse("stage_start", args=[stage.pk])).status_code == 500
    stage.refresh_from_db()
    assert stage.status == StageStatus.PENDING


# --- the queue -----------------------------------------------------------------------------------


def _in_progress_job(owner: User, engineer: User, *, due_in_days: float, title: str) -> Job:
    job = make_job(client=owner, status=JobStatus.IN_PROGRESS, track_title=title)
    Job.objects.filter(pk=job.pk).update(due_at=job.accepted_at + timedelta(days=due_in_days))
    Stage.objects.bulk_create(
        Stage(job=job, kind=kind, position=i, assignee=engineer)
        for i, kind in enumerate(
            [
                "listening",
                "cleanup",
                "level_balancing",
                "eq_enhancement",
                "glue_final_level",
                "delivery",
            ]
        )
    )
    return job


def test_the_queue_lists_my_open_stages_earliest_due_first(
    engineer: User, client_user: User
) -> None:
    _in_progress_job(client_user, engineer, due_in_days=5, title="Late Song")
    soon = _in_progress_job(client_user, engineer, due_in_days=1, title="Soon Song")
    Stage.objects.filter(job=soon, position=0).update(
        status=StageStatus.DONE, started_at=timezone.now(), finished_at=timezone.now()
    )
    _in_progress_job(client_user, make_user(Role.ENGINEER), due_in_days=0.5, title="Not Mine")
    response = _login(engineer).get(reverse("queue"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Not Mine" not in body
    shown = [(r.stage.job.track_title, r.stage.kind) for r in response.context["rows"]]
    assert shown[0] == ("Soon Song", "cleanup")  # listening is done, so not in the queue
    assert len(shown) == 11
    assert [t for t, _ in shown] == ["Soon Song"] * 5 + ["Late Song"] * 6
    assert body.index("Soon Song") < body.index("Late Song")
    # Only the first open stage of each job can start.
    startable = {
        (r.stage.job.track_title, r.stage.kind) for r in response.context["rows"] if r.can_start
    }
    assert startable == {("Soon Song", "cleanup"), ("Late Song", "listening")}


def test_the_queue_htmx_region_is_the_table_only(engineer: User, client_user: User) -> None:
    _in_progress_job(client_user, engineer, due_in_days=2, title="Region Song")
    response = _login(engineer).get(reverse("queue"), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="queue">')
    assert "Region Song" in body and "<html" not in body


def test_clients_have_no_queue_and_anonymous_visitors_log_in(client_user: User) -> None:
    assert _login(client_user).get(reverse("queue")).status_code == 403
    response = _login(None).get(reverse("queue"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_queue_leaves_out_finished_and_closed_work(engineer: User, client_user: User) -> None:
    job = _in_progress_job(client_user, engineer, due_in_days=2, title="Closed Song")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
    response = _login(engineer).get(reverse("queue"))
    assert response.context["rows"] == []
    assert b"Nothing waiting for you." in response.content


def _queue_queries(c: Client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert c.get(reverse("queue")).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", [Role.ENGINEER, Role.MANAGER])
def test_the_queue_costs_the_same_for_10_and_200_stages(role: str, client_user: User) -> None:
    viewer = make_user(role)
    c = _login(viewer)
    for i in range(2):
        _in_progress_job(client_user, viewer, due_in_days=1 + i, title=f"Song {i}")
    Stage.objects.filter(job__track_title="Song 1", position__gte=4).delete()
    assert Stage.objects.filter(assignee=viewer).count() == 10
    small = _queue_queries(c)
    for i in range(2, 34):
        _in_progress_job(client_user, viewer, due_in_days=1 + i, title=f"Song {i}")
    Stage.objects.filter(job__track_title="Song 33", position__gte=4).delete()
    assert Stage.objects.filter(assignee=viewer).count() == 200
    assert _queue_queries(c) == small


# --- in a real browser: htmx swaps the row, a refusal included -----------------------------------


@pytest.mark.browser
def test_in_a_browser_a_move_and_a_refusal_replace_the_row(
    live_server: Any, client_user: User, engineer: User
) -> None:
    from playwright.sync_api import sync_playwright

    job = _in_progress_job(client_user, engineer, due_in_days=2, title="Browser Song")
    listening, cleanup = stages_of(job)[:2]

    def set_status(**fields: str) -> None:
        # On a thread of its own: Playwright's sync API runs an event loop in this one.
        on_db_thread(lambda: Job.objects.filter(pk=job.pk).update(**fields))

    def log_in(page: Any) -> None:
        page.goto(live_server.url + "/login/")
        page.fill("input[name=username]", engineer.username)
        page.fill("input[name=password]", "correct horse battery staple")
        page.click("button[type=submit]")

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page()
            csp = watch_csp(page)  # the pages and htmx work under the CSP, which is on
            log_in(page)
            page.goto(live_server.url + "/queue/")
            row = f"#stage-{listening.pk}"
            page.click(f"{row} button:has-text('Start')")
            page.wait_for_selector(f"{row} button:has-text('Finish')")
            assert "In progress" in page.inner_text(row)
            assert page.url.endswith("/queue/")  # swapped in place, no page load

            # Meanwhile a manager holds the job: the offered Finish is refused, and says why.
            set_status(status=JobStatus.ON_HOLD, status_before_hold=JobStatus.IN_PROGRESS)
            page.click(f"{row} button:has-text('Finish')")
            page.wait_for_selector(f"{row} [role=alert]")
            assert "cannot have a stage finished" in page.inner_text(f"{row} [role=alert]")
            assert page.url.endswith("/queue/")
            assert csp_violations(page, csp) == []

            # On a phone each stage is a card: its due date and its moves (Finish and its notes,
            # once the job is released) are on the screen, and nothing scrolls sideways.
            set_status(status=JobStatus.IN_PROGRESS)
            phone = chromium.new_context(viewport={"width": 390, "height": 844}).new_page()
            log_in(phone)
            phone.goto(live_server.url + "/queue/")
            screenshot(phone, "queue-390")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390
            for part in (f"{row} td.due", f"{row} button:has-text('Finish')", f"{row} textarea"):
                box = phone.locator(part).bounding_box()
                assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= 390, part
            before = "sel => getComputedStyle(document.querySelector(sel), '::before').content"
            assert phone.evaluate(before, f"{row} td.due") == '"Due: "'  # labelled, no header
        finally:
            chromium.close()
    listening.refresh_from_db()
    cleanup.refresh_from_db()
    assert (listening.status, cleanup.status) == (StageStatus.IN_PROGRESS, StageStatus.PENDING)


def test_the_queue_links_the_engineers_own_calendar_feed() -> None:
    engineer = make_user(Role.ENGINEER)
    client = Client()
    client.force_login(engineer)
    body = client.get("/queue/").content.decode()
    assert f"/calendar/{engineer.calendar_token}.ics" in body
    assert client.get(f"/calendar/{engineer.calendar_token}.ics").status_code == 200
