"""Break compliance for a chosen period: listening per day against the cap, breaks due, taken
and skipped per engineer, the CSV, bad periods and who may see it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from jobs.models import EarBreak, JobEvent, JobStatus, ListeningSession, Role, Stage, User
from jobs.services import stage_assign, stage_start
from tests.factories import make_job, make_user
from tests.jobs.helpers import accepted_job, stages_of, work_through

pytestmark = pytest.mark.django_db
DAY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday, GMT in London


def _login(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _history() -> tuple[User, User]:
    ada = make_user(Role.ENGINEER, first_name="Ada")
    ben = make_user(Role.ENGINEER, first_name="Ben")
    job = make_job(status=JobStatus.IN_PROGRESS)
    stage = Stage.objects.create(job=job, kind="listening", position=0, assignee=ada)
    for hours, minutes in ((0, 200), (4, 200)):  # 400 minutes on one day: over the 360 cap
        start = DAY + timedelta(hours=hours)
        ListeningSession.objects.create(
            engineer=ada,
            stage=stage,
            started_at=start,
            ended_at=start + timedelta(minutes=minutes),
            work_seconds=minutes * 60,
        )
    for outcome in ("taken", "taken", "skipped", "prompted"):
        taken = outcome == "taken"
        EarBreak.objects.create(
            engineer=ada,
            kind="short",
            outcome=outcome,
            prompted_at=DAY,
            started_at=DAY if taken else None,
            ended_at=DAY + timedelta(minutes=10) if taken else None,
            planned_minutes=10,
        )
    # Outside the period: not counted.
    EarBreak.objects.create(
        engineer=ada,
        kind="short",
        outcome="skipped",
        prompted_at=DAY - timedelta(days=10),
        planned_minutes=10,
    )
    return ada, ben


def test_listening_against_the_cap_and_the_breaks_per_engineer() -> None:
    _history()
    page = _login(make_user(Role.MANAGER)).get("/compliance/?start=2026-11-23&end=2026-11-29")
    assert page.status_code == 200
    body = page.content.decode()
    ada_part = body.split("Ada")[1].split("Ben")[0]
    assert (
        "Breaks due <strong>4</strong> · taken <strong>2</strong> · skipped <strong>1</strong>"
        in ada_part
    )
    assert "(67% taken)" in ada_part
    assert "1 day over the cap" in ada_part
    assert "6 h 40 min" in ada_part


def test_the_csv_has_a_line_per_engineer_and_day_and_the_break_counts() -> None:
    _history()
    response = _login(make_user(Role.MANAGER)).get(
        "/compliance.csv?start=2026-11-24&end=2026-11-25"
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "Engineer",
        "Day",
        "Listening (min)",
        "Daily cap (min)",
        "Over cap",
        "Sound dose (%)",
        "Dose limit (%)",
        "Over dose limit",
    ]
    # Ada's sessions had no monitoring level: no dose is claimed for them.
    assert ["Ada", "2026-11-24", "400", "360", "yes", "", "100", ""] in rows
    assert ["Ada", "2026-11-25", "0", "360", "", "", "100", ""] in rows
    assert ["Ada", "4", "2", "1", "67"] in rows
    assert ["Ben", "0", "0", "0", ""] in rows


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("start=2026-11-29&end=2026-11-23", "ends before it starts"),
        ("start=yesterday&end=2026-11-23", "Give both dates"),
        ("start=2026-01-01&end=2026-11-23", "at most 62 days"),
    ],
)
def test_a_bad_period_says_so_and_shows_a_sensible_one(query: str, message: str) -> None:
    response = _login(make_user(Role.MANAGER)).get(f"/compliance/?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()


def test_only_managers_see_compliance() -> None:
    for role in (Role.ENGINEER, Role.CLIENT):
        for path in ("/compliance/", "/compliance.csv"):
            assert _login(make_user(role)).get(path).status_code == 403
    assert Client().get("/compliance/").status_code == 302


def _loud_days(ben: User) -> None:
    job = make_job(status=JobStatus.IN_PROGRESS)
    stage = Stage.objects.create(job=job, kind="listening", position=0, assignee=ben)
    # Tuesday: an hour at 88 dBA (25 %) and an hour at 94 dBA (100 %); Wednesday 2 h at 85 (25 %).
    for start, minutes, level, dose in (
        (DAY, 60, 88.0, 25.0),
        (DAY + timedelta(hours=2), 60, 94.0, 100.0),
        (DAY + timedelta(days=1), 120, 85.0, 25.0),
    ):
        ListeningSession.objects.create(
            engineer=ben,
            stage=stage,
            started_at=start,
            ended_at=start + timedelta(minutes=minutes),
            work_seconds=minutes * 60,
            levels=[[start.isoformat(), level]],
            dose_percent=dose,
        )


def test_doses_per_engineer_and_day_on_the_page_and_in_the_csv() -> None:
    _, ben = _history()
    _loud_days(ben)
    manager = _login(make_user(Role.MANAGER))
    body = manager.get("/compliance/?start=2026-11-24&end=2026-11-25").content.decode()
    ben_part = body.split("Ben")[1]
    assert "highest sound dose 125 %" in ben_part
    assert "1 day over the dose limit" in ben_part
    assert ben_part.count("data-day-dose>dose 125 %") == 1
    assert ben_part.count("data-day-dose>dose 25 %") == 1
    assert "sound dose" not in body.split("Ada")[1].split("Ben")[0]
    rows = list(
        csv.reader(
            io.StringIO(
                manager.get("/compliance.csv?start=2026-11-24&end=2026-11-25").content.decode()
            )
        )
    )
    assert ["Ben", "2026-11-24", "120", "360", "", "125", "100", "yes"] in rows
    assert ["Ben", "2026-11-25", "120", "360", "", "25", "100", ""] in rows


def test_fresh_ears_overrides_are_counted_per_engineer_on_the_page_and_in_the_csv(
    client_user: User,
) -> None:
    with time_machine.travel(DAY, tick=False):
        ada, ben = _history()
        maya = make_user(Role.MANAGER, first_name="Maya")
        job = accepted_job(client_user, track_title="Copper Sky")
        work_through(job, ada, upto=4)
        glue = stages_of(job)[4]
        stage_assign(stage=glue, by=ada, engineer=ada)
        # Ada stopped listening five minutes ago: glue needs fresh ears, Maya overrides.
        ListeningSession.objects.create(
            engineer=ada,
            stage=stages_of(job)[3],
            started_at=DAY - timedelta(minutes=40),
            ended_at=DAY - timedelta(minutes=5),
            work_seconds=35 * 60,
        )
        stage_start(stage=glue, by=maya, override="client session booked at 11")
    # An override recorded before the history named whose ears: matched to the stage started
    # in the same move (Ben's delivery on another job).
    other = make_job(status=JobStatus.IN_PROGRESS, track_title="=HYPERLINK(1)")
    then = DAY + timedelta(days=1)
    Stage.objects.create(
        job=other, kind="delivery", position=5, assignee=ben, status="in_progress", started_at=then
    )
    JobEvent.objects.create(
        job=other,
        at=then,
        actor=maya,
        kind="stage",
        subject="delivery",
        from_value="fresh ears",
        to_value="overridden",
        note="mastering for a deadline",
    )
    # Outside the period: not counted.
    JobEvent.objects.create(
        job=other,
        at=DAY - timedelta(days=20),
        actor=maya,
        kind="stage",
        subject="delivery",
        from_value="fresh ears",
        to_value=f"overridden for {ben.username}",
    )
    browser = _login(maya)
    body = browser.get("/compliance/?start=2026-11-23&end=2026-11-29").content.decode()
    ada_part = body.split(">Ada<")[1].split(">Ben<")[0]
    ben_part = body.split(">Ben<")[1]
    assert "Fresh-ears overrides <strong>1</strong>" in ada_part
    assert "Tue 24 Nov, 10:00" in ada_part and "Copper Sky</a>, Glue and final level" in ada_part
    assert "by Maya: “client session booked at 11”" in ada_part
    assert "Fresh-ears overrides <strong>1</strong>" in ben_part
    assert "=HYPERLINK(1)</a>, Delivery" in ben_part and "mastering for a deadline" in ben_part
    rows = list(
        csv.reader(
            io.StringIO(
                browser.get("/compliance.csv?start=2026-11-23&end=2026-11-29").content.decode()
            )
        )
    )
    assert [
        "Engineer",
        "Fresh-ears override at",
        "Track",
        "Stage",
        "Overridden by",
        "Reason",
    ] in rows
    overrides = rows[
        rows.index(
            ["Engineer", "Fresh-ears override at", "Track", "Stage", "Overridden by", "Reason"]
        )
        + 1 :
    ]
    assert overrides == [
        [
            "Ada",
            "2026-11-24 10:00",
            "Copper Sky",
            "Glue and final level",
            "Maya",
            "client session booked at 11",
        ],
        [  # a title a spreadsheet would run as a formula is kept as text
            "Ben",
            "2026-11-25 10:00",
            "'=HYPERLINK(1)",
            "Delivery",
            "Maya",
            "mastering for a deadline",
        ],
    ]


def test_the_overrides_cost_the_same_queries_for_one_or_many() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ada, ben = _history()
    browser = _login(make_user(Role.MANAGER))
    browser.get("/compliance/")  # the policy row and the session exist before counting

    def overrides(n: int, engineer: User) -> int:
        for _ in range(n):
            job = make_job(status=JobStatus.IN_PROGRESS)
            JobEvent.objects.create(
                job=job,
                at=DAY,
                kind="stage",
                subject="delivery",
                from_value="fresh ears",
                to_value=f"overridden for {engineer.username}",
            )
            JobEvent.objects.create(  # an older record, matched through its stage
                job=job,
                at=DAY + timedelta(hours=1),
                kind="stage",
                subject="glue_final_level",
                from_value="fresh ears",
                to_value="overridden",
            )
            Stage.objects.create(
                job=job,
                kind="glue_final_level",
                position=4,
                assignee=engineer,
                status="in_progress",
                started_at=DAY + timedelta(hours=1),
            )
        with CaptureQueriesContext(connection) as queries:
            page = browser.get("/compliance/?start=2026-11-23&end=2026-11-29")
        assert page.status_code == 200
        return len(queries)

    one = overrides(1, ada)
    assert overrides(6, ben) == one
    page = browser.get("/compliance/?start=2026-11-23&end=2026-11-29").content.decode()
    assert "Fresh-ears overrides <strong>12</strong>" in page.split(">Ben<")[1]
