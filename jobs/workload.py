"""Reads for the manager's workload page: every engineer's next working days from the current
plan (planned listening per day against the daily cap and the working hours, days off, the
blocks of work and breaks), and the unassigned work with the engineer the plan proposes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from jobs.clock import WorkCalendar
from jobs.models import STAGE_OPEN, STUDIO_ROLES, Stage, User
from jobs.plan_store import plan_compute
from jobs.planner import WORK

DAYS = 5


@dataclass(frozen=True)
class Slot:
    """One block of an engineer's day: work on a stage, or an ear break."""

    start: datetime
    end: datetime
    kind: str
    label: str

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass
class Day:
    day: date
    off: bool
    hours_min: int  # the working hours of the day, in minutes
    planned_min: int = 0  # planned listening
    cap_min: int = 0
    blocks: list[Slot] = field(default_factory=list)

    @property
    def over_cap(self) -> bool:
        return self.planned_min > self.cap_min

    @property
    def load_percent(self) -> int:
        return min(100, round(100 * self.planned_min / self.cap_min)) if self.cap_min else 0


@dataclass
class EngineerLoad:
    person: User
    days: list[Day]
    stages: list[Stage]  # the open stages on them, for reassigning

    @property
    def planned_min(self) -> int:
        return sum(d.planned_min for d in self.days)


@dataclass
class Unassigned:
    stage: Stage
    proposed: User | None
    finish: datetime | None


@dataclass
class Workload:
    days: list[date]
    engineers: list[EngineerLoad]
    unassigned: list[Unassigned]
    people: list[User]  # who work can go to
    labels: dict[int, str]  # stage id -> "Track · Stage"


def _next_working_days(calendars: list[WorkCalendar], today: date, count: int) -> list[date]:
    """The next `count` days on which anyone works (a studio closure day is skipped)."""
    out: list[date] = []
    day = today
    while len(out) < count and day < today + timedelta(days=60):
        if any(c.is_working_day(day) for c in calendars) or not calendars:
            out.append(day)
        day += timedelta(days=1)
    return out


def workload(*, now: datetime | None = None, days: int = DAYS) -> Workload:
    """The plan as the workload page shows it, in a fixed number of queries."""
    result, inputs = plan_compute(now=now)
    now = inputs.now
    by_id = {
        u.pk: u
        for u in User.objects.filter(role__in=STUDIO_ROLES, is_active=True).order_by(
            "first_name", "username"
        )
    }
    open_stages = list(
        Stage.objects.filter(pk__in=list(inputs.stages), status__in=STAGE_OPEN)
        .select_related("job", "assignee")
        .order_by("job__due_at", "position")
    )
    labels = {s.pk: f"{s.job.track_title} · {s.get_kind_display()}" for s in open_stages}
    calendars = {e.id: e.calendar for e in inputs.engineers}
    policies = {e.id: e.policy for e in inputs.engineers}
    zone = inputs.policy.timezone
    today = now.astimezone(ZoneInfo(zone)).date()
    shown = _next_working_days(list(calendars.values()), today, days)
    loads = []
    for person in by_id.values():
        if person.pk not in calendars:
            continue
        cal = calendars[person.pk]
        per_day = {}
        for d in shown:
            window = cal.window(d)
            hours = int((window[1] - window[0]).total_seconds() // 60) if window else 0
            per_day[d] = Day(
                day=d, off=window is None, hours_min=hours, cap_min=policies[person.pk].daily_cap
            )
        for block in result.timelines.get(person.pk, []):
            d = block.start.astimezone(cal.zone).date()
            if d in per_day:
                label = (
                    labels.get(block.stage_id or 0, "")
                    if block.kind == WORK
                    else f"{(block.break_kind or 'ear').replace('_', ' ')} break"
                )
                per_day[d].blocks.append(Slot(block.start, block.end, block.kind, label))
                if block.kind == WORK:
                    per_day[d].planned_min += block.minutes
        loads.append(
            EngineerLoad(
                person=person,
                days=[per_day[d] for d in shown],
                stages=[s for s in open_stages if s.assignee_id == person.pk],
            )
        )
    unassigned = [
        Unassigned(
            stage=s,
            proposed=by_id.get(result.proposed.get(s.pk, 0)),
            finish=result.stage_finish.get(s.pk),
        )
        for s in open_stages
        if s.assignee_id is None
    ]
    return Workload(
        days=shown,
        engineers=loads,
        unassigned=unassigned,
        people=list(by_id.values()),
        labels=labels,
    )
