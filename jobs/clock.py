"""The delivery clock's maths: working time in a studio's calendar and due dates.

Plain layer: pure Python importing nothing from Django or the models. The services load a
`WorkCalendar` from the policy and pass it in, so the rules can be tested (and reused by the
planner) without a database.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A calendar with no working day at all would make every search below run forever.
_MAX_SEARCH_DAYS = 3660


@dataclass(frozen=True)
class WorkCalendar:
    """When someone works: daily hours in a timezone, on some weekdays, minus days off."""

    tz: str = "UTC"
    start: time = time(9, 0)
    end: time = time(18, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    days_off: frozenset[date] = field(default_factory=frozenset)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def day_length(self) -> timedelta:
        # A nominal day (no DST shift): what "one working day" of promise is worth.
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in self.days_off

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working hours of a local day, in UTC, or None on a day off."""
        if not self.is_working_day(day):
            return None
        zone = self.zone
        start = datetime.combine(day, self.start, tzinfo=zone).astimezone(UTC)
        end = datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)
        return start, end

    def windows(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working windows (UTC) that end after `since`, in order, clipped to start at `since`.
        Endless unless the calendar has no working day (then stops after ten years)."""
        day = since.astimezone(self.zone).date() - timedelta(days=1)
        empty = 0
        while empty < _MAX_SEARCH_DAYS:
            w = self.window(day)
            day += timedelta(days=1)
            if w is None:
                empty += 1
                continue
            start, end = w
            if end <= since:
                continue
            empty = 0
            yield max(start, since), end


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the clock works on aware datetimes only")
    # Arithmetic on aware datetimes that share a tzinfo ignores DST shifts; UTC has none.
    return moment.astimezone(UTC)


def add_working_time(calendar: WorkCalendar, start: datetime, amount: timedelta) -> datetime:
    """The moment when `amount` of working time has passed after `start`."""
    start = _utc(start)
    if amount <= timedelta(0):
        return start
    left = amount
    for w_start, w_end in calendar.windows(start):
        available = w_end - w_start
        if left <= available:
            return w_start + left
        left -= available
    raise ValueError("the calendar has no working time")


def working_time_between(calendar: WorkCalendar, start: datetime, end: datetime) -> timedelta:
    """How much working time lies between two moments (zero if end is not after start)."""
    start, end = _utc(start), _utc(end)
    total = timedelta(0)
    if end <= start:
        return total
    for w_start, w_end in calendar.windows(start):
        if w_start >= end:
            break
        total += min(w_end, end) - w_start
    return total


def promise_length(calendar: WorkCalendar, promise_days: int, *, working_days: bool) -> timedelta:
    """What a promise of N days is worth on the clock: N x 24 h, or N working days of hours."""
    if working_days:
        return calendar.day_length * promise_days
    return timedelta(days=promise_days)


def paused_length(
    calendar: WorkCalendar, paused_at: datetime, resumed_at: datetime, *, working_days: bool
) -> timedelta:
    """How much a pause moves the due date: the clock time that passed while it was paused."""
    if working_days:
        return working_time_between(calendar, paused_at, resumed_at)
    return max(_utc(resumed_at) - _utc(paused_at), timedelta(0))


def due_at(
    calendar: WorkCalendar,
    *,
    accepted_at: datetime,
    promise_days: int,
    paused: timedelta = timedelta(0),
    working_days: bool,
) -> datetime:
    """Due = accepted + promise + paused time, in calendar time or the studio's working time."""
    length = promise_length(calendar, promise_days, working_days=working_days) + paused
    if working_days:
        return add_working_time(calendar, accepted_at, length)
    return _utc(accepted_at) + length
