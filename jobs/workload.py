"""Reads for the manager's workload page: every engineer's next working days from the stored
plan (planned listening per day against the daily cap and the working hours, days off, the
blocks of work and breaks), and the unassigned work with the engineer the plan proposes.

The page reads the plan the last re-plan stored (jobs/plan_store.py, `stored_plan`) instead of
planning again, and lists the open stages a page at a time, so it costs the same however many
jobs the studio has."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from jobs.board import shown_name, studio_people
from jobs.clock import WorkCalendar
from jobs.compiled import instance_from, rows_compiled_once
from jobs.fragments import content_key
from jobs.models import CLOCK_RUNNING, STAGE_OPEN, Role, Stage, StudioPolicy, User
from jobs.plan_store import engineers_in, stored_plan
from jobs.planner import WORK
from jobs.selectors import stages_from

DAYS = 5
UNASSIGNED_PER_PAGE = 25
ENGINEERS_PER_PAGE = 10
STAGES_PER_ENGINEER = (
    8  # the most urgent open stages on each, for reassigning; the rest on the board
)


@dataclass(frozen=True)
class Slot:
    """One block of an engineer's day: work on a stage, or an ear break."""

    start: datetime
    end: datetime
    kind: str
    label: str
    # As the page shows them (hours and minutes in the current timezone), worked out with the
    # slot: a week of a dozen engineers is over a thousand slots, too many for template filters.
    start_text: str = ""
    end_text: str = ""

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
    # The day's blocks as the stored plan has them (start and end in epoch minutes, kind,
    # label) and the zone the page shows times in: made into Slots only when read, since a
    # page whose weeks are kept as fragments (EngineerLoad.days_key) reads none.
    raw: list[tuple[int, int, str, str]] = field(default_factory=list)
    zone: tzinfo = UTC

    @cached_property
    def blocks(self) -> list[Slot]:
        out = []
        for start, end, kind, label in self.raw:
            b_start = datetime.fromtimestamp(start * 60, UTC)
            b_end = datetime.fromtimestamp(end * 60, UTC)
            out.append(
                Slot(
                    b_start,
                    b_end,
                    kind,
                    label,
                    start_text=_clock(b_start.astimezone(self.zone)),
                    end_text=_clock(b_end.astimezone(self.zone)),
                )
            )
        return out

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
    stages: list[Stage]  # their most urgent open stages, for reassigning
    open_count: int = 0  # all their open stages
    days_key: str = ""  # the fragment key of their days as the page shows them

    @property
    def more(self) -> int:
        return self.open_count - len(self.stages)

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
    unassigned: list[Unassigned]  # this page of it, most urgent first
    people: list[tuple[int, str]]  # who work can go to: id, name as shown
    labels: dict[int, str]  # stage id -> "Track · Stage"
    unassigned_page: Page[Stage] | None = None
    engineer_page: Page[dict[str, Any]] | None = None  # of jobs.board.studio_people rows
    planned_at: datetime | None = None

    def _links(self, which: str, page: Page[Any] | None) -> list[dict[str, object]]:
        if page is None or not page.has_other_pages():
            return []
        keep = {
            "page": self.engineer_page.number if self.engineer_page else 1,
            "unassigned": self.unassigned_page.number if self.unassigned_page else 1,
        }
        links: list[dict[str, object]] = []
        for rel, label, ok, number in (
            ("prev", "Previous", page.has_previous(), page.number - 1),
            ("next", "Next", page.has_next(), page.number + 1),
        ):
            if ok:
                query = {**keep, which: number}
                links.append(
                    {
                        "rel": rel,
                        "label": label,
                        "query": urlencode({k: v for k, v in query.items() if v != 1}),
                    }
                )
        return links

    @property
    def engineer_links(self) -> list[dict[str, object]]:
        """Previous and next page of engineers, the unassigned list's page kept."""
        return self._links("page", self.engineer_page)

    @property
    def unassigned_links(self) -> list[dict[str, object]]:
        """Previous and next page of unassigned work, the engineers' page kept."""
        return self._links("unassigned", self.unassigned_page)


def _next_working_days(calendars: list[WorkCalendar], today: date, count: int) -> list[date]:
    """The next `count` days on which anyone works (a studio closure day is skipped)."""
    out: list[date] = []
    day = today
    while len(out) < count and day < today + timedelta(days=60):
        if any(c.is_working_day(day) for c in calendars) or not calendars:
            out.append(day)
        day += timedelta(days=1)
    return out


def _clock(moment: datetime) -> str:
    """'09:05' (as %H:%M, without strftime: a page has over a thousand)."""
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _open_stages() -> QuerySet[Stage]:
    """The open stages the plan covers (current round of jobs whose clocks run), most urgent
    first."""
    return Stage.objects.filter(
        job__status__in=sorted(s.value for s in CLOCK_RUNNING),
        job__paused_at__isnull=True,
        status__in=STAGE_OPEN,
        revision_round=F("job__revision_round"),
    ).order_by(F("job__due_at").asc(nulls_last=True), "position", "pk")


# What a row of the page shows of an open stage and its job (`_stages`). Not job__id: the query
# around the most urgent's window selects each column once, and job__id is the job_id column
# again, so the rows would be a column short.
_ROW_COLUMNS = ("id", "kind", "position", "assignee_id", "job_id")
_ROW_JOB_COLUMNS = ("job__track_title", "job__due_at")


def _stages(rows: list[dict[str, Any]]) -> list[Stage]:
    """The rows' stages, each with its job (the job's id is the stage's job_id)."""
    for row in rows:
        row["job__id"] = row["job_id"]
    return stages_from(rows)


# The page's three reads of the open stages, compiled once per process (jobs.compiled) for each
# number of engineers on the page and each page of unassigned work: building them in the ORM
# was a fifth of the page.
def _open_counts(*engineers: int) -> QuerySet[Any]:
    """How many open stages each of `engineers` has, and how many nobody has (under None)."""
    rows: QuerySet[Any] = (
        _open_stages()
        .filter(Q(assignee_id__in=engineers) | Q(assignee__isnull=True))
        .order_by()
        .values("assignee_id")
        .annotate(n=Count("pk"))
    )
    return rows


def _most_urgent_of(*engineers: int) -> QuerySet[Any]:
    """The first STAGES_PER_ENGINEER open stages of each of `engineers`, in one query: numbered
    within each engineer's, most urgent first, and cut there. In no order (`_urgent_first`):
    Django orders the rows of a query cut by a window by column numbers that its outer select
    does not have when the ordering's columns are among its values."""
    urgent_first = [F("job__due_at").asc(nulls_last=True), F("position").asc(), F("pk").asc()]
    rows: QuerySet[Any] = (
        _open_stages()
        .filter(assignee_id__in=engineers)
        .annotate(n=Window(RowNumber(), partition_by=[F("assignee_id")], order_by=urgent_first))
        .filter(n__lte=STAGES_PER_ENGINEER)
        .order_by()
        .values(*_ROW_COLUMNS, *_ROW_JOB_COLUMNS)
    )
    return rows


def _urgent_first(row: dict[str, Any]) -> tuple[bool, datetime, int, int]:
    """`_open_stages`' order: due soonest (no due date last), then by position and id."""
    due = row["job__due_at"]
    return (due is None, due or datetime.min.replace(tzinfo=UTC), row["position"], row["id"])


class _UnassignedStages:
    """The unassigned open stages as the Paginator takes them: their number, counted already,
    and a page of them read when it is sliced."""

    def __init__(self, count: int) -> None:
        self._count = count

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, part: slice) -> list[Stage]:
        start = part.start or 0
        stop = self._count if part.stop is None else part.stop
        # A whole page is read, so that the SQL is the same for a page however many stages are
        # left after it, and cut to what the Paginator asked for.
        limit = UNASSIGNED_PER_PAGE

        def page() -> QuerySet[Any]:
            rows: QuerySet[Any] = (
                _open_stages()
                .filter(assignee__isnull=True)
                .values(*_ROW_COLUMNS, *_ROW_JOB_COLUMNS)[start : start + limit]
            )
            return rows

        rows = rows_compiled_once(f"workload_unassigned:{start}:{limit}", page)
        return _stages(rows[: max(0, stop - start)])


def workload(
    *,
    now: datetime | None = None,
    days: int = DAYS,
    page: int | str | None = 1,
    unassigned_page: int | str | None = 1,
) -> Workload:
    """The plan as the workload page shows it, in a fixed number of queries."""
    now = now or timezone.now()
    stored = stored_plan(now=now)
    policy = StudioPolicy.current()
    # Every studio member as a plain row: only the people of this page of engineers and the
    # engineers proposed for this page of work become Users (the menus need only names).
    rows = studio_people()
    by_id = {row["id"]: row for row in rows}
    users: dict[int, User] = {}

    def user(pk: int) -> User | None:
        if pk not in users:
            row = by_id.get(pk)
            if row is None:
                return None
            users[pk] = instance_from(User, row)
        return users[pk]

    # Who has days on the page: the people the plan planned for (engineers, and anyone with
    # work assigned), as in the plan.
    everyone = [r for r in rows if r["role"] == Role.ENGINEER or r["id"] in stored.blocks]
    engineer_page = Paginator(everyone, ENGINEERS_PER_PAGE).get_page(page)
    planned = [u for r in engineer_page.object_list if (u := user(r["id"])) is not None]
    engineers = {e.id: e for e in engineers_in(policy, planned, now=now)}
    calendars = {eid: e.calendar for eid, e in engineers.items()}
    zone = policy.timezone
    today = now.astimezone(ZoneInfo(zone)).date()
    shown = _next_working_days(list(calendars.values()), today, days)

    on_page = [u.pk for u in planned]
    counts = {
        row["assignee_id"]: row["n"]
        for row in rows_compiled_once(f"workload_counts:{len(on_page)}", _open_counts, *on_page)
    }
    mine: dict[int, list[Stage]] = {}
    urgent = rows_compiled_once(
        f"workload_most_urgent:{len(on_page)}:{STAGES_PER_ENGINEER}", _most_urgent_of, *on_page
    )
    for stage in _stages(sorted(urgent, key=_urgent_first)):
        assert stage.assignee_id is not None
        mine.setdefault(stage.assignee_id, []).append(stage)

    loads = []
    shown_zone = timezone.get_current_timezone()  # the page's times, as timezone.localtime
    for person in planned:
        cal = calendars[person.pk]
        per_day = {}
        for d in shown:
            window = cal.window(d)
            hours = int((window[1] - window[0]).total_seconds() // 60) if window else 0
            per_day[d] = Day(
                day=d,
                off=window is None,
                hours_min=hours,
                cap_min=engineers[person.pk].policy.daily_cap,
                zone=shown_zone,
            )
        if shown:
            # Only the blocks of the days shown become datetimes (with a day's margin for
            # timezones).
            lo = int(datetime.combine(shown[0] - timedelta(days=1), time(), UTC).timestamp())
            hi = int(datetime.combine(shown[-1] + timedelta(days=2), time(), UTC).timestamp())
            local = cal.zone
            for start, end, kind, stage_id, break_kind in stored.blocks.get(person.pk, []):
                if not lo // 60 <= start < hi // 60:
                    continue
                d = datetime.fromtimestamp(start * 60, UTC).astimezone(local).date()
                if d not in per_day:
                    continue
                label = (
                    stored.labels.get(stage_id or 0, "")
                    if kind == WORK
                    else f"{(break_kind or 'ear').replace('_', ' ')} break"
                )
                per_day[d].raw.append((start, end, kind, label))
                if kind == WORK:
                    per_day[d].planned_min += end - start
        days_shown = [per_day[d] for d in shown]
        # Everything the days show: the zone of their times, each day's hours, cap and blocks.
        days_key = content_key(
            str(shown_zone),
            [(d.day, d.off, d.hours_min, d.cap_min, d.raw) for d in days_shown],
        )
        loads.append(
            EngineerLoad(
                person=person,
                days=days_shown,
                stages=mine.get(person.pk, []),
                open_count=counts.get(person.pk, 0),
                days_key=days_key,
            )
        )
    todo_page: Page[Stage] = Paginator(
        _UnassignedStages(counts.get(None, 0)),  # type: ignore[arg-type]
        UNASSIGNED_PER_PAGE,
    ).get_page(unassigned_page)
    unassigned = [
        Unassigned(
            stage=s,
            proposed=user(stored.proposed.get(s.pk, 0)),
            finish=stored.finish.get(s.pk),
        )
        for s in todo_page
    ]
    return Workload(
        days=shown,
        engineers=loads,
        unassigned=unassigned,
        people=[(row["id"], shown_name(row)) for row in rows],
        labels=stored.labels,
        unassigned_page=todo_page,
        engineer_page=engineer_page,
        planned_at=stored.now,
    )
