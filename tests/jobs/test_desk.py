"""The engineer's desk: now, next and up for grabs; taking work; moves that answer every region;
the listening session's timer, break prompt, breaks taken and skipped, and forgotten sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from jobs.models import (
    BreakOutcome,
    EarBreak,
    JobEvent,
    ListeningSession,
    Role,
    Stage,
    StageStatus,
    StudioPolicy,
    User,
)
from jobs.services import stage_assign, stage_start
from jobs.sessions import session_start, session_stop, sessions_close_forgotten
from tests.factories import make_user
from tests.jobs.conftest import MONDAY_10
from tests.jobs.helpers import accepted_job, stages_of

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def logged_in(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_a_fresh_job_is_up_for_grabs_and_taking_it_moves_it_to_next(
    client_user: User, engineer: User
) -> None:
    job = accepted_job(client_user, track_title="Glasshouse")
    listening = stages_of(job)[0]
    c = logged_in(engineer)
    page = c.get("/desk/").content.decode()
    assert f'id="grab-{listening.pk}"' in page
    answer = c.post(f"/stages/{listening.pk}/take/", **HTMX)
    assert answer.status_code == 200
    body = answer.content.decode()
    # Every region comes back out of band: the stage has left *up for grabs* and is in *next*.
    assert body.count('hx-swap-oob="true"') == 4
    assert f'id="grab-{listening.pk}"' not in body
    assert f'id="desk-stage-{listening.pk}"' in body
    listening.refresh_from_db()
    assert listening.assignee == engineer
    assert JobEvent.objects.filter(job=job, kind="assignee", to_value=engineer.username).exists()


def test_a_busy_desk_shows_the_first_rows_and_all_of_them_on_request(
    client_user: User, engineer: User
) -> None:
    from jobs.desk_views import DESK_ROWS

    for i in range(DESK_ROWS // 6 + 1):  # six stages a job: one job more than a page
        accepted_job(client_user, track_title=f"Track {i}")
    c = logged_in(engineer)
    page = c.get("/desk/").content.decode()
    assert page.count('id="grab-') == DESK_ROWS
    assert "Show everything up for grabs" in page
    everything = c.get("/desk/?all=1").content.decode()
    total = 6 * (DESK_ROWS // 6 + 1)
    assert everything.count('id="grab-') == total and "Show everything" not in everything
    # A take from the full list answers the full list (htmx says which page it came from).
    first = Stage.objects.filter(assignee__isnull=True).order_by("pk").first()
    assert first is not None
    body = c.post(
        f"/stages/{first.pk}/take/", HTTP_HX_CURRENT_URL="http://testserver/desk/?all=1", **HTMX
    ).content.decode()
    assert body.count('id="grab-') == total - 1


def test_without_javascript_a_take_redirects_back_to_the_desk(
    client_user: User, engineer: User
) -> None:
    stage = stages_of(accepted_job(client_user))[0]
    answer = logged_in(engineer).post(f"/stages/{stage.pk}/take/")
    assert answer.status_code == 302 and answer["Location"] == "/desk/"


def test_a_stage_taken_meanwhile_answers_400_with_who_has_it(
    client_user: User, engineer: User
) -> None:
    stage = stages_of(accepted_job(client_user))[0]
    other = make_user(Role.ENGINEER, first_name="Ben", last_name="Castillo")
    stage_assign(stage=stage, by=other, engineer=other)
    answer = logged_in(engineer).post(f"/stages/{stage.pk}/take/", **HTMX)
    assert answer.status_code == 400
    assert "taken meanwhile by Ben Castillo" in answer.content.decode()
    stage.refresh_from_db()
    assert stage.assignee == other


def test_starting_from_the_desk_shows_the_stage_under_now_and_a_stale_start_is_a_400(
    client_user: User, engineer: User
) -> None:
    stage = stages_of(accepted_job(client_user))[0]
    stage_assign(stage=stage, by=engineer, engineer=engineer)
    c = logged_in(engineer)
    body = c.post(f"/desk/stages/{stage.pk}/start/", **HTMX).content.decode()
    now_region = body.split('id="desk-now"')[1].split('id="desk-next"')[0]
    assert "Start listening" in now_region
    again = c.post(f"/desk/stages/{stage.pk}/start/", **HTMX)
    assert again.status_code == 400
    assert "is not pending" in again.content.decode()


def test_clients_and_strangers_have_no_desk(client_user: User) -> None:
    assert logged_in(client_user).get("/desk/").status_code == 403
    assert Client().get("/desk/").status_code == 302


def test_an_engineer_lands_on_the_desk_and_a_manager_on_the_board(
    engineer: User, manager: User, client_user: User
) -> None:
    assert logged_in(engineer).get("/")["Location"] == "/desk/"
    assert logged_in(engineer).get("/jobs/all/").status_code == 200
    assert logged_in(manager).get("/")["Location"] == "/board/"
    assert logged_in(manager).get("/jobs/all/").status_code == 200
    assert logged_in(client_user).get("/").status_code == 200  # a client's home is their jobs
    # Logging in lands each on their page too (the login goes to home, which sends them on).
    for user, landing in ((engineer, "/desk/"), (manager, "/board/")):
        user.set_password("a-long-test-password")
        user.save()
        browser = Client()
        answer = browser.post(
            "/login/", {"username": user.username, "password": "a-long-test-password"}, follow=True
        )
        assert answer.redirect_chain[-1][0] == landing, answer.redirect_chain


def _listening(client_user: User, engineer: User) -> tuple[Stage, ListeningSession]:
    stage = stages_of(accepted_job(client_user))[0]
    stage_assign(stage=stage, by=engineer, engineer=engineer)
    stage_start(stage=stage, by=engineer)
    return stage, session_start(stage=stage, by=engineer)


def test_the_timer_prompts_at_the_limit_and_a_break_is_taken_then_one_skipped(
    client_user: User, engineer: User, frozen
) -> None:
    policy = StudioPolicy.current()
    policy.max_continuous_listening_min = 5
    policy.short_break_min = 2
    policy.save()
    stage, session = _listening(client_user, engineer)
    c = logged_in(engineer)
    before = c.post(f"/sessions/{session.pk}/tick/", **HTMX).content.decode()
    assert 'data-break-prompt role="alert" hidden' in before
    assert not EarBreak.objects.exists()

    frozen.shift(timedelta(minutes=5))
    due = c.post(f"/sessions/{session.pk}/tick/", **HTMX).content.decode()
    assert "Time for a 2-minute break." in due
    assert 'data-break-prompt role="alert">' in due
    assert EarBreak.objects.get().outcome == BreakOutcome.PROMPTED

    taken = c.post(f"/sessions/{session.pk}/break/take/", **HTMX).content.decode()
    assert "On a short break" in taken
    frozen.shift(timedelta(minutes=7))  # 2 resting, then 5 more listening: the next limit
    refused = c.post(f"/sessions/{session.pk}/break/skip/", {"reason": ""}, **HTMX)
    assert refused.status_code == 400 and "Say why" in refused.content.decode()
    c.post(f"/sessions/{session.pk}/break/skip/", {"reason": "client on the phone"}, **HTMX)
    skipped = EarBreak.objects.get(outcome=BreakOutcome.SKIPPED)
    assert skipped.skip_reason == "client on the phone"

    c.post(f"/sessions/{session.pk}/stop/", **HTMX)
    stage.refresh_from_db()
    assert stage.work_seconds == 10 * 60  # twelve minutes, two of them resting


def test_the_poll_answers_the_session_region_alone_until_the_session_ends(
    client_user: User, engineer: User, frozen
) -> None:
    _, session = _listening(client_user, engineer)
    c = logged_in(engineer)
    tick = c.post(f"/sessions/{session.pk}/tick/", **HTMX).content.decode()
    assert 'id="desk-session"' in tick and 'hx-swap-oob="true"' in tick
    assert "desk-next" not in tick and "desk-grabs" not in tick
    session_stop(session=session, by=engineer)  # stopped in another tab
    after = c.post(f"/sessions/{session.pk}/tick/", **HTMX).content.decode()
    assert 'id="desk-now"' in after and "data-session-timer" not in after
    assert "Start listening" in after


def test_a_reload_shows_the_servers_time(client_user: User, engineer: User, frozen) -> None:
    _listening(client_user, engineer)
    frozen.shift(timedelta(minutes=3, seconds=7))
    page = logged_in(engineer).get("/desk/").content.decode()
    assert "<dd data-continuous>3:07</dd>" in page
    assert (
        f'data-server-now="{int((MONDAY_10 + timedelta(minutes=3, seconds=7)).timestamp())}"'
        in page
    )


def test_someone_elses_session_is_a_404(client_user: User, engineer: User, manager: User) -> None:
    _, session = _listening(client_user, engineer)
    for person in (make_user(Role.ENGINEER), manager):
        for action in ("tick", "stop", "break/take", "break/skip"):
            assert logged_in(person).post(f"/sessions/{session.pk}/{action}/").status_code == 404
    session.refresh_from_db()
    assert session.ended_at is None


def test_a_forgotten_session_is_closed_capped_and_the_engineer_is_told(
    client_user: User, engineer: User, frozen
) -> None:
    stage, session = _listening(client_user, engineer)
    frozen.shift(timedelta(minutes=60))
    assert sessions_close_forgotten() == 0  # within the grace of a long break
    frozen.shift(timedelta(hours=3))
    assert sessions_close_forgotten() == 1
    session.refresh_from_db()
    stage.refresh_from_db()
    assert session.capped and session.work_seconds == stage.work_seconds == 50 * 60
    assert session.ended_at == MONDAY_10 + timedelta(minutes=50)
    page = logged_in(engineer).get("/desk/").content.decode()
    assert "was left open" in page and "50 min logged" in page
    assert stage.status == StageStatus.IN_PROGRESS


def test_fresh_ears_refuse_glue_right_after_listening_and_a_manager_may_override(
    client_user: User, engineer: User, manager: User, frozen
) -> None:
    from jobs.services import WrongState, stage_finish
    from tests.jobs.helpers import work_through

    job = accepted_job(client_user)
    work_through(job, engineer, upto=3)
    eq, glue = stages_of(job)[3], stages_of(job)[4]
    stage_assign(stage=eq, by=engineer, engineer=engineer)
    stage_start(stage=eq, by=engineer)
    session = session_start(stage=eq, by=engineer)
    frozen.shift(timedelta(minutes=30))
    session_stop(session=session, by=engineer)
    stage_finish(stage=eq, by=engineer)
    stage_assign(stage=glue, by=engineer, engineer=engineer)
    frozen.shift(timedelta(minutes=5))
    answer = logged_in(engineer).post(f"/desk/stages/{glue.pk}/start/", **HTMX)
    assert answer.status_code == 400
    assert "needs fresh ears" in answer.content.decode()
    assert "It can start from 10:45." in answer.content.decode()  # 10:30 stop + 15 min
    with pytest.raises(WrongState):
        stage_start(stage=glue, by=manager)  # a manager needs a reason too
    stage_start(stage=glue, by=manager, override="client session booked at 11")
    assert JobEvent.objects.filter(
        job=job, to_value=f"overridden for {engineer.username}", note__contains="booked"
    ).exists()


def test_fresh_ears_hold_after_the_break(client_user: User, engineer: User, frozen) -> None:
    from jobs.services import stage_finish
    from tests.jobs.helpers import work_through

    job = accepted_job(client_user)
    work_through(job, engineer, upto=3)
    eq, glue = stages_of(job)[3], stages_of(job)[4]
    stage_assign(stage=eq, by=engineer, engineer=engineer)
    stage_start(stage=eq, by=engineer)
    session_stop(session=session_start(stage=eq, by=engineer), by=engineer)
    stage_finish(stage=eq, by=engineer)
    stage_assign(stage=glue, by=engineer, engineer=engineer)
    frozen.shift(timedelta(minutes=15))
    assert logged_in(engineer).post(f"/desk/stages/{glue.pk}/start/", **HTMX).status_code == 200
    glue.refresh_from_db()
    assert glue.status == StageStatus.IN_PROGRESS


def test_finishing_from_the_desk_with_unticked_items_asks_first(
    client_user: User, engineer: User
) -> None:
    stage = stages_of(accepted_job(client_user))[0]
    stage_assign(stage=stage, by=engineer, engineer=engineer)
    stage_start(stage=stage, by=engineer)
    c = logged_in(engineer)
    asked = c.post(f"/desk/stages/{stage.pk}/finish/", **HTMX)
    assert asked.status_code == 400
    assert "Still unticked: rough mix heard in full, references heard" in asked.content.decode()
    assert "Finish anyway" in asked.content.decode()
    c.post(f"/desk/stages/{stage.pk}/finish/", {"confirm": "yes"}, **HTMX)
    stage.refresh_from_db()
    assert stage.status == StageStatus.DONE


def test_the_desk_and_the_plan_show_the_engineers_local_time_in_words(
    client_user: User, engineer: User, frozen
) -> None:
    """Monday 10:00 UTC is 05:00 in New York: the desk and the plan say so, not 10:00."""
    from jobs.models import EngineerProfile

    EngineerProfile.objects.create(user=engineer, timezone="America/New_York")
    stage, _ = _listening(client_user, engineer)
    c = logged_in(engineer)
    desk = c.get("/desk/").content.decode()
    assert "Times are your local time (America/New_York)" in desk
    assert "started <time" in desk and "today at 05:00</time>" in desk
    assert "due <time" in desk and "Thursday at 05:00</time>" in desk  # three days on
    assert "10:00</time>" not in desk
    tick = c.post(f"/sessions/{stage.sessions.get().pk}/tick/", **HTMX).content.decode()
    assert "05:50</time>" in tick  # the next break, 50 minutes on, in New York time
    plan = c.get("/plan/").content.decode()
    assert "in your local time (America/New_York)" in plan
    assert "Hours 09:00\u201318:00" in plan  # the profile's hours, as the engineer keeps them


def test_moments_in_words() -> None:
    from datetime import UTC, datetime

    from django.utils import timezone, translation

    from jobs.templatetags.desk import when

    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
    with timezone.override("Europe/Berlin"):
        assert when(now, now) == "today at 11:00"
        assert when(now + timedelta(hours=14), now) == "tomorrow at 01:00"
        assert when(now - timedelta(hours=12), now) == "yesterday at 23:00"
        assert when(now + timedelta(days=3), now) == "Thursday at 11:00"
        assert when(now + timedelta(days=9), now) == "Wed 11 Mar at 11:00"
        assert when(now + timedelta(days=300), now) == "Sun 27 Dec at 11:00"
        assert when(now + timedelta(days=400), now) == "Tue 6 Apr 2027 at 12:00"  # summer time
        assert when(None, now) == "\u2013"
        # The day's words are kept for each language: another's are its own.
        with translation.override("de"):
            assert when(now + timedelta(days=3), now) == "Donnerstag at 11:00"
        assert when(now + timedelta(days=3), now) == "Thursday at 11:00"
        # And for each day and today: tomorrow's moment, seen tomorrow, is today's.
        assert when(now + timedelta(days=1), now) == "tomorrow at 11:00"
        assert when(now + timedelta(days=1), now + timedelta(days=1)) == "today at 11:00"


@pytest.mark.parametrize("prefix", ["/", "/studio/"])
def test_the_rows_links_are_the_ones_reverse_makes(prefix: str) -> None:
    """The desk reverses each link once per page and fills in each row's id: the same URL,
    under the request's script prefix too."""
    from uuid import uuid4

    from django.urls import reverse, set_script_prefix

    from jobs.desk_views import _SOME_JOB, _SOME_STAGE, _urls

    set_script_prefix(prefix)
    try:
        for name, placeholder, pk in (
            ("job_detail", _SOME_JOB, uuid4()),
            ("desk_start", _SOME_STAGE, 42),
            ("stage_take", _SOME_STAGE, 7),
        ):
            assert _urls(name, placeholder)(pk) == reverse(name, args=[pk])
            assert reverse(name, args=[pk]).startswith(prefix)
    finally:
        set_script_prefix("/")
