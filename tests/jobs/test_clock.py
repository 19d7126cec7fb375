"""The delivery clock's maths: calendar and working time, weekends, days off, pauses, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.clock import (
    WorkCalendar,
    add_working_time,
    due_at,
    paused_length,
    working_time_between,
)

LONDON = WorkCalendar(tz="Europe/London", start=time(9), end=time(18))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_calendar_mode_is_plain_days() -> None:
    # Friday 16:00 + 3 days = Monday 16:00, weekends count in calendar mode.
    assert due_at(LONDON, accepted_at=utc(2026, 3, 6, 16), promise_days=3, working_days=False) == (
        utc(2026, 3, 9, 16)
    )


def test_working_days_skip_the_weekend() -> None:
    # Friday 16:00 + 3 working days of 9 h: Fri 2 h, Mon 9, Tue 9, Wed 7 h -> Wed 16:00.
    assert due_at(LONDON, accepted_at=utc(2026, 3, 6, 16), promise_days=3, working_days=True) == (
        utc(2026, 3, 11, 16)
    )


def test_acceptance_outside_hours_counts_from_the_next_opening() -> None:
    # Saturday noon: the clock starts Monday 09:00, one working day ends Monday 18:00.
    assert due_at(LONDON, accepted_at=utc(2026, 3, 7, 12), promise_days=1, working_days=True) == (
        utc(2026, 3, 9, 18)
    )


def test_studio_days_off_are_skipped() -> None:
    cal = WorkCalendar(tz="Europe/London", days_off=frozenset({date(2026, 3, 10)}))
    # Mon 10:00 + 2 working days: Mon 8 h, (Tue off), Wed 9 h, Thu 1 h -> Thu 10:00.
    assert due_at(cal, accepted_at=utc(2026, 3, 9, 10), promise_days=2, working_days=True) == (
        utc(2026, 3, 12, 10)
    )


def test_hours_are_in_the_studio_timezone_across_dst() -> None:
    # London moves to BST on 2026-03-29: 09:00 local is 08:00 UTC from then on.
    assert add_working_time(LONDON, utc(2026, 3, 27, 17), timedelta(hours=2)) == (
        utc(2026, 3, 30, 9)
    )
    ny = WorkCalendar(tz="America/New_York")
    assert add_working_time(ny, utc(2026, 3, 2, 12), timedelta(0)) == utc(2026, 3, 2, 12)
    assert add_working_time(ny, utc(2026, 3, 2, 12), timedelta(minutes=1)) == (
        utc(2026, 3, 2, 14, 1)
    )


def test_paused_time_moves_the_due_date() -> None:
    accepted = utc(2026, 3, 2, 10)
    plain = due_at(LONDON, accepted_at=accepted, promise_days=3, working_days=True)
    # Paused from Tuesday 17:00 to Wednesday 10:00: 1 h Tuesday and 1 h Wednesday of work time.
    pause = paused_length(LONDON, utc(2026, 3, 3, 17), utc(2026, 3, 4, 10), working_days=True)
    assert pause == timedelta(hours=2)
    assert due_at(
        LONDON, accepted_at=accepted, promise_days=3, paused=pause, working_days=True
    ) == add_working_time(LONDON, plain, timedelta(hours=2))
    assert paused_length(
        LONDON, utc(2026, 3, 3, 17), utc(2026, 3, 4, 10), working_days=False
    ) == timedelta(hours=17)


def test_a_calendar_with_no_working_days_fails_loudly() -> None:
    with pytest.raises(ValueError):
        add_working_time(WorkCalendar(weekdays=frozenset()), utc(2026, 3, 2), timedelta(hours=1))


def test_it_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        add_working_time(LONDON, datetime(2026, 3, 2, 10), timedelta(hours=1))


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=60, deadline=None)
@given(start=moments, minutes=st.integers(0, 60 * 24 * 10))
def test_adding_then_measuring_working_time_round_trips(start: datetime, minutes: int) -> None:
    amount = timedelta(minutes=minutes)
    end = add_working_time(LONDON, start, amount)
    assert end >= start
    assert working_time_between(LONDON, start, end) == amount


@settings(max_examples=60, deadline=None)
@given(start=moments, days=st.integers(1, 10), pause_minutes=st.integers(0, 5000))
def test_working_day_due_dates_hold_the_promise(
    start: datetime, days: int, pause_minutes: int
) -> None:
    pause = timedelta(minutes=pause_minutes)
    due = due_at(LONDON, accepted_at=start, promise_days=days, paused=pause, working_days=True)
    assert working_time_between(LONDON, start, due) == timedelta(hours=9 * days) + pause
    local = due.astimezone(LONDON.zone)
    assert local.weekday() < 5
    assert time(9) < local.time() <= time(18)
