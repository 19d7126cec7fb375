"""The planner's answer did not change when its search got faster: on random studios, the plan
is the one the planner before that change (tests/jobs/planner_before.py) makes, block for block."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs import planner
from jobs.clock import WorkCalendar
from tests.jobs import planner_before

FRESH = ("glue_final_level", "delivery")
KINDS = ["listening", "cleanup", "level_balancing", "eq_enhancement", *FRESH]


def as_plain(result: Any) -> tuple[object, ...]:
    # Each module has its own Block class, so the blocks are compared field by field.
    timelines = {
        eid: [
            (b.engineer_id, b.start, b.end, b.kind, b.stage_id, b.job_id, b.break_kind)
            for b in blocks
        ]
        for eid, blocks in result.timelines.items()
    }
    return (
        result.now,
        timelines,
        result.stage_start,
        result.stage_finish,
        result.stage_engineer,
        result.job_finish,
        result.proposed,
    )


def both(work: list[Any], engineers: list[Any], now: datetime, horizon_days: int) -> None:
    new = planner.plan(work=work, engineers=engineers, now=now, horizon_days=horizon_days)
    old = planner_before.plan(
        work=[planner_before.StageWork(**vars(w)) for w in work],
        engineers=[
            planner_before.EngineerIn(
                id=e.id,
                calendar=e.calendar,
                policy=planner_before.EarBreakPolicy(**vars(e.policy)),
                takes_unassigned=e.takes_unassigned,
            )
            for e in engineers
        ],
        now=now,
        horizon_days=horizon_days,
    )
    assert as_plain(new) == as_plain(old)


calendars = st.builds(
    WorkCalendar,
    tz=st.sampled_from(["UTC", "Europe/London", "America/New_York", "Asia/Tokyo"]),
    # Days up to 23:59 long leave a minute between one day and the next: the bounds the search
    # uses must hold even when the breaks push work over into the next day at once.
    start=st.sampled_from([time(0), time(7), time(9), time(10, 30)]),
    end=st.sampled_from([time(13), time(17), time(19, 45), time(23, 59)]),
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    days_off=st.frozensets(st.dates(date(2026, 3, 1), date(2026, 3, 20)), max_size=4),
)
policies = st.builds(
    planner.EarBreakPolicy,
    max_block=st.integers(20, 90),
    short_break=st.integers(5, 15),
    long_break=st.integers(5, 40),
    long_every=st.integers(1, 5),
    daily_cap=st.integers(30, 1440),
    fresh_ears_break=st.integers(5, 25),
)


# Short days and long stages: work that runs days past the next one, where the search's
# weaker bounds for multi-day work are the ones used.
short_days = st.builds(
    WorkCalendar,
    tz=st.sampled_from(["UTC", "America/New_York"]),
    start=st.sampled_from([time(9), time(14)]),
    end=st.sampled_from([time(15), time(16, 30)]),
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    days_off=st.frozensets(st.dates(date(2026, 3, 1), date(2026, 3, 20)), max_size=4),
)


@st.composite
def studios(
    draw: st.DrawFn, days: st.SearchStrategy[WorkCalendar] = calendars, most_minutes: int = 600
) -> tuple[list[planner.StageWork], list[planner.EngineerIn], datetime]:
    n_eng = draw(st.integers(1, 8))
    engineers = [
        planner.EngineerIn(i + 1, draw(days), draw(policies), takes_unassigned=draw(st.booleans()))
        for i in range(n_eng)
    ]
    now = draw(st.datetimes(datetime(2026, 3, 1), datetime(2026, 3, 8), timezones=st.just(UTC)))
    work: list[planner.StageWork] = []
    sid = 0
    for _ in range(draw(st.integers(0, 14))):
        job_id = uuid.uuid4()
        due = draw(st.one_of(st.none(), st.integers(-5, 300)))
        first = draw(st.integers(0, 5))
        for order in range(first, 6):
            sid += 1
            work.append(
                planner.StageWork(
                    stage_id=sid,
                    job_id=job_id,
                    kind=KINDS[order],
                    order=order,
                    remaining_minutes=draw(st.integers(0, most_minutes)),
                    due_at=None if due is None else now + timedelta(hours=due),
                    # Engineer n_eng + 1 does not exist: that work stays unplanned.
                    assignee_id=draw(st.one_of(st.none(), st.integers(1, n_eng + 1))),
                    fresh_ears=KINDS[order] in FRESH,
                )
            )
    return work, engineers, now


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studios())
def test_random_studios_get_the_same_plan(studio) -> None:
    work, engineers, now = studio
    both(work, engineers, now, horizon_days=30)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studios(days=short_days, most_minutes=3000))
def test_long_stages_over_short_days_get_the_same_plan(studio) -> None:
    work, engineers, now = studio
    both(work, engineers, now, horizon_days=30)


def test_a_busy_studio_gets_the_same_plan() -> None:
    # A few hundred jobs across a dozen engineers in three timezones: weeks of backlog, where
    # most of the search's shortcuts are taken.
    rng = random.Random(14)
    now = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    engineers = [
        planner.EngineerIn(
            id=i + 1,
            calendar=WorkCalendar(
                tz=rng.choice(["Europe/London", "Europe/Berlin", "America/New_York"]),
                start=time(rng.choice([8, 9, 10])),
                end=time(rng.choice([16, 17, 18])),
            ),
            policy=planner.EarBreakPolicy().stricter(
                max_block=rng.choice([None, 45]), daily_cap=rng.choice([None, 300])
            ),
            takes_unassigned=rng.random() < 0.9,
        )
        for i in range(12)
    ]
    work = []
    sid = 0
    for _ in range(300):
        job_id = uuid.UUID(int=rng.getrandbits(128))
        due = now + timedelta(hours=rng.randint(4, 24 * 30))
        for order in range(rng.randint(0, 4), 6):
            sid += 1
            work.append(
                planner.StageWork(
                    stage_id=sid,
                    job_id=job_id,
                    kind=KINDS[order],
                    order=order,
                    remaining_minutes=rng.randint(0, 320),
                    due_at=due,
                    assignee_id=rng.randint(1, 12) if rng.random() < 0.5 else None,
                    fresh_ears=KINDS[order] in FRESH,
                )
            )
    both(work, engineers, now, horizon_days=365)
