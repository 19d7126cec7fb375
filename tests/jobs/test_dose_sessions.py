"""Sound dose on the desk: the level a session is monitored at, the dose it accumulates, the break
it prompts when one sitting or the day reaches the studio's limit, refusals outside the plausible
range, the engineer's calibration page, and the planner's daily cap at the expected level."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.test import Client

from jobs.dose import dose_percent
from jobs.models import (
    BreakCause,
    BreakOutcome,
    EarBreak,
    EngineerProfile,
    ListeningSession,
    Role,
    Stage,
    StudioPolicy,
    User,
)
from jobs.plan_store import plan_refresh
from jobs.services import stage_assign, stage_start
from jobs.sessions import dose_today, session_start, session_stop
from tests.factories import make_user
from tests.jobs.helpers import accepted_job, stages_of

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def logged_in(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _started(client_user: User, engineer: User) -> Stage:
    stage = stages_of(accepted_job(client_user))[0]
    stage_assign(stage=stage, by=engineer, engineer=engineer)
    stage_start(stage=stage, by=engineer)
    return stage


def _listen(c: Client, stage: Stage, level: str) -> ListeningSession:
    answer = c.post(f"/desk/stages/{stage.pk}/listen/", {"level_db": level}, **HTMX)
    assert answer.status_code == 200, answer.content.decode()
    return ListeningSession.objects.get(stage=stage, ended_at__isnull=True)


def _tick(c: Client, session: ListeningSession) -> str:
    return c.post(f"/sessions/{session.pk}/tick/", **HTMX).content.decode()


def test_a_louder_session_prompts_a_break_before_the_minute_limit(
    client_user: User, engineer: User, frozen
) -> None:
    # The studio's defaults: 50 minutes without a break, 25 % of the day's dose per sitting.
    policy = StudioPolicy.current()
    assert (policy.max_continuous_listening_min, policy.session_dose_limit_pct) == (50, 25)
    c = logged_in(engineer)
    session = _listen(c, _started(client_user, engineer), "94")  # 25 % at 94 dBA is 15 min
    frozen.shift(timedelta(minutes=14))
    assert 'data-break-prompt role="alert" hidden' in _tick(c, session)
    assert not EarBreak.objects.exists()
    frozen.shift(timedelta(minutes=1))
    due = _tick(c, session)
    assert "Time for a 10-minute break." in due
    assert "Your ears have had 25 % of the day's sound dose since the last break, in 15:00" in due
    prompt = EarBreak.objects.get()
    assert prompt.cause == BreakCause.SESSION_DOSE and prompt.outcome == BreakOutcome.PROMPTED
    # The desk shows the dose beside the listening time: a quarter of the day.
    assert "data-dose-total>25 %</span> of 100 %" in due


def test_a_quiet_session_is_prompted_by_the_minutes(
    client_user: User, engineer: User, frozen
) -> None:
    c = logged_in(engineer)
    session = _listen(c, _started(client_user, engineer), "80")  # 25 % at 80 dBA is 6 h 20
    frozen.shift(timedelta(minutes=49))
    assert 'data-break-prompt role="alert" hidden' in _tick(c, session)
    frozen.shift(timedelta(minutes=1))
    assert "Your ears have listened 50:00 without one." in _tick(c, session)
    assert EarBreak.objects.get().cause == BreakCause.MINUTES


def test_the_days_dose_limit_prompts_when_earlier_listening_has_used_most_of_it(
    client_user: User, engineer: User, frozen
) -> None:
    policy = StudioPolicy.current()
    policy.daily_dose_limit_pct = 30
    policy.save()
    c = logged_in(engineer)
    stage = _started(client_user, engineer)
    first = _listen(c, stage, "88")
    frozen.shift(timedelta(minutes=40))  # 40 of 240 minutes at 88: 16.7 %
    c.post(f"/sessions/{first.pk}/stop/", **HTMX)
    first.refresh_from_db()
    assert first.dose_percent == pytest.approx(100 * 40 / 240)
    frozen.shift(timedelta(minutes=20))  # a rest long enough to start a new sitting
    second = _listen(c, stage, "94")
    # 13.3 % left of the day's 30 %, at 94 dBA (60 min a day): 8 minutes, before the sitting's 15.
    frozen.shift(timedelta(minutes=7, seconds=50))
    assert 'data-break-prompt role="alert" hidden' in _tick(c, second)
    frozen.shift(timedelta(seconds=10))
    due = _tick(c, second)
    assert "Today's sound dose has reached the studio's limit of 30 %" in due
    assert EarBreak.objects.get().cause == BreakCause.DAY_DOSE
    # After the break the day's dose is still spent, so it is asked for again at once.
    c.post(f"/sessions/{second.pk}/break/take/", **HTMX)
    frozen.shift(timedelta(minutes=10))
    assert "Today's sound dose has reached" in _tick(c, second)


def test_changing_the_level_counts_each_part_at_its_level_and_breaks_count_nothing(
    client_user: User, engineer: User, frozen
) -> None:
    c = logged_in(engineer)
    stage = _started(client_user, engineer)
    session = _listen(c, stage, "82")
    frozen.shift(timedelta(minutes=10))
    assert c.post(f"/sessions/{session.pk}/level/", {"level_db": "91"}, **HTMX).status_code == 200
    frozen.shift(timedelta(minutes=10))
    rest = EarBreak.objects.create(
        engineer=engineer, session=session, kind="short", planned_minutes=10
    )
    c.post(f"/sessions/{session.pk}/break/take/", **HTMX)
    assert EarBreak.objects.get(pk=rest.pk).outcome == BreakOutcome.TAKEN
    frozen.shift(timedelta(minutes=15))  # 10 resting, then 5 more at 91
    expected = dose_percent([(82, 10), (91, 15)])
    assert dose_today(engineer=engineer) == pytest.approx(expected)
    c.post(f"/sessions/{session.pk}/stop/", **HTMX)
    session.refresh_from_db()
    assert session.dose_percent == pytest.approx(expected)
    assert [level for _, level in session.levels] == [82.0, 91.0]
    # Between sessions the desk still shows the day so far.
    page = c.get("/desk/").content.decode()
    assert f"sound dose <strong>{round(expected)} %</strong> of 100 %" in page


@pytest.mark.parametrize(
    ("level", "message"),
    [
        ("120", "A monitoring level must be between 60 and 100 dB SPL; 120 is not."),
        ("45", "between 60 and 100 dB SPL; 45 is not."),
        ("loud", "Give the level as a number of dB SPL between 60 and 100."),
    ],
)
def test_a_level_outside_the_plausible_range_is_refused_with_the_range(
    client_user: User, engineer: User, level: str, message: str
) -> None:
    c = logged_in(engineer)
    stage = _started(client_user, engineer)
    refused = c.post(f"/desk/stages/{stage.pk}/listen/", {"level_db": level}, **HTMX)
    assert refused.status_code == 400
    assert message in refused.content.decode()
    assert not ListeningSession.objects.exists()
    session = _listen(c, stage, "83")
    changed = c.post(f"/sessions/{session.pk}/level/", {"level_db": level}, **HTMX)
    assert changed.status_code == 400 and message in changed.content.decode()
    empty = c.post(f"/sessions/{session.pk}/level/", {"level_db": ""}, **HTMX)
    assert empty.status_code == 400
    session.refresh_from_db()
    assert session.level_db == 83.0 and len(session.levels) == 1


def test_a_session_starts_at_the_calibrated_level_and_without_one_counts_no_dose(
    client_user: User, engineer: User, frozen
) -> None:
    stage = _started(client_user, engineer)
    c = logged_in(engineer)
    desk = c.get("/desk/").content.decode()
    assert 'name="level_db"' in desk and "record your monitor calibration" in desk
    session = session_start(stage=stage, by=engineer)
    assert session.levels == []
    frozen.shift(timedelta(minutes=30))
    assert "not counted: no monitoring level" in c.get("/desk/").content.decode()
    session_stop(session=session, by=engineer)
    assert dose_today(engineer=engineer) == 0.0

    EngineerProfile.objects.create(user=engineer, calibration_spl_db=83, monitoring_level_db=86)
    assert 'value="86"' in c.get("/desk/").content.decode()
    again = _listen(c, stage, "")  # left empty: the usual level
    assert again.level_db == 86.0


def test_the_hearing_page_records_a_calibration_and_refuses_one_out_of_range(
    engineer: User,
) -> None:
    c = logged_in(engineer)
    assert c.get("/me/hearing/").status_code == 200
    refused = c.post("/me/hearing/", {"calibration_spl_db": "112", "monitoring_level_db": ""})
    assert refused.status_code == 400
    assert "The calibration must be between 60 and 100 dB SPL; 112 is not." in (
        refused.content.decode()
    )
    assert not EngineerProfile.objects.filter(calibration_spl_db__isnull=False).exists()
    refused = c.post("/me/hearing/", {"calibration_spl_db": "83", "monitoring_level_db": "20"})
    assert refused.status_code == 400
    assert "The usual monitoring level must be between 60 and 100 dB SPL" in (
        refused.content.decode()
    )
    assert c.post("/me/hearing/", {"calibration_spl_db": ""}).status_code == 400
    saved = c.post("/me/hearing/", {"calibration_spl_db": "83", "monitoring_level_db": ""})
    assert saved.status_code == 302
    profile = EngineerProfile.objects.get(user=engineer)
    assert (profile.calibration_spl_db, profile.monitoring_level_db) == (83.0, None)
    page = c.get("/me/hearing/").content.decode()
    # Material 6 dB over the reference plays at 89 dB SPL, which a day allows for 3 h 10 min.
    assert '89&nbsp;dB&nbsp;SPL</td><td data-label="A day allows">3 h 10 min' in page
    assert "Sessions start at <strong>83&nbsp;dB&nbsp;SPL</strong>" in page
    assert 'value="83"' in page


def test_the_hearing_page_is_the_studios(manager: User, client_user: User) -> None:
    assert logged_in(manager).get("/me/hearing/").status_code == 200
    assert logged_in(client_user).get("/me/hearing/").status_code == 403
    assert (
        logged_in(client_user).post("/me/hearing/", {"calibration_spl_db": "83"}).status_code == 403
    )
    anonymous = Client().get("/me/hearing/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert not EngineerProfile.objects.exists()


def test_the_planner_caps_a_loud_engineers_day_where_the_dose_runs_out(
    client_user: User, manager: User, frozen
) -> None:
    policy = StudioPolicy.current()
    estimates = dict(policy.stage_estimates)
    estimates["cleanup"] = {"base": 400, "per_stem": 0}
    policy.stage_estimates = estimates
    policy.save()
    loud, quiet = make_user(Role.ENGINEER), make_user(Role.ENGINEER)
    for person, level in ((loud, 94.0), (quiet, 80.0)):
        EngineerProfile.objects.create(
            user=person, timezone="UTC", workday_start=time(9), calibration_spl_db=level
        )
        stage = stages_of(accepted_job(client_user))[1]
        stage_assign(stage=stage, by=manager, engineer=person)
    result = plan_refresh()

    def first_day(person: User) -> list[int]:
        blocks = [b for b in result.timelines[person.pk] if b.kind == "work"]
        day = blocks[0].start.date()
        return [b.minutes for b in blocks if b.start.date() == day]

    # 94 dBA: a whole day's dose is an hour, a sitting's quarter of it 15 minutes.
    assert sum(first_day(loud)) == 60 and max(first_day(loud)) == 15
    # 80 dBA allows more than the studio's six hours: the minute limits hold.
    assert sum(first_day(quiet)) == 360 and max(first_day(quiet)) == 50


def test_my_plan_says_when_the_dose_caps_the_day(engineer: User, frozen) -> None:
    c = logged_in(engineer)
    assert "sound dose runs out" not in c.get("/plan/").content.decode()
    EngineerProfile.objects.create(user=engineer, calibration_spl_db=91)
    page = c.get("/plan/").content.decode()
    assert "the daily listening cap is 120 min, where the day's sound dose runs out" in page
    assert "91&nbsp;dB&nbsp;SPL" in page


def test_a_forgotten_session_counts_its_dose_only_up_to_where_its_time_was_capped(
    client_user: User, engineer: User, frozen
) -> None:
    from jobs.sessions import sessions_close_forgotten

    session = session_start(stage=_started(client_user, engineer), by=engineer, level_db=85)
    frozen.shift(timedelta(hours=4))
    assert sessions_close_forgotten() == 1
    session.refresh_from_db()
    assert session.capped and session.work_seconds == 50 * 60
    assert session.dose_percent == pytest.approx(100 * 50 / 480)
    assert dose_today(engineer=engineer) == pytest.approx(100 * 50 / 480)
