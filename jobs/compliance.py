"""Reads for the break-compliance page: per engineer and day of a chosen period, the listening
logged against the daily cap and the sound dose against the daily dose limit, the ear breaks
prompted, taken and skipped, and the fresh-ears overrides (a manager starting a fresh-ears stage
without the break, from the job history)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from jobs.board import studio_people
from jobs.compiled import instance_from
from jobs.csv_safe import text_cell
from jobs.fragments import content_key
from jobs.models import (
    BreakOutcome,
    EarBreak,
    EngineerProfile,
    EventKind,
    JobEvent,
    ListeningSession,
    Stage,
    StageKind,
    StudioPolicy,
    User,
)
from jobs.plan_store import ear_break_policy

MAX_DAYS = 62


@dataclass
class DayListening:
    day: date
    minutes: int
    cap: int
    # Percent of the daily allowance, of the sessions with a monitoring level (None: none had).
    dose: float | None = None
    dose_limit: int = 100

    @property
    def over_cap(self) -> bool:
        return self.minutes > self.cap

    @property
    def over_dose(self) -> bool:
        return self.dose is not None and round(self.dose) > self.dose_limit


@dataclass
class FreshEarsOverride:
    """A fresh-ears stage started on this engineer's ears without the break, and why."""

    at: datetime
    job_id: UUID
    track: str
    stage: str
    by: str
    reason: str

    @property
    def when(self) -> str:
        """'Tue 24 Nov, 10:00' at the studio's time (`at` is already in its zone)."""
        return f"{self.at:%a} {self.at.day} {self.at:%b}, {self.at:%H:%M}"


@dataclass
class EngineerCompliance:
    person: User
    days: list[DayListening]
    prompted: int
    taken: int
    skipped: int
    overrides: list[FreshEarsOverride] = field(default_factory=list)
    key: str = ""  # the fragment key of the section the page shows (all of the above)

    @property
    def total_minutes(self) -> int:
        return sum(d.minutes for d in self.days)

    @property
    def days_over_cap(self) -> int:
        return sum(1 for d in self.days if d.over_cap)

    @property
    def days_over_dose(self) -> int:
        return sum(1 for d in self.days if d.over_dose)

    @property
    def highest_dose(self) -> float | None:
        doses = [d.dose for d in self.days if d.dose is not None]
        return max(doses) if doses else None

    @property
    def rate(self) -> int | None:
        answered = self.taken + self.skipped
        return round(100 * self.taken / answered) if answered else None


def period(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def compliance(*, start: date, end: date) -> list[EngineerCompliance]:
    """Every engineer's listening and breaks from `start` to `end` (studio days, inclusive), in a
    fixed number of queries."""
    policy = StudioPolicy.current()
    zone = ZoneInfo(policy.timezone)
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    people: list[User] = [instance_from(User, row) for row in studio_people()]
    profiles = {p.user_id: p for p in EngineerProfile.objects.filter(user__in=people)}
    listened: dict[tuple[int, date], int] = {}
    doses: dict[tuple[int, date], float] = {}
    for row in (
        ListeningSession.objects.filter(started_at__gte=since, started_at__lt=until)
        .annotate(day=TruncDate("started_at", tzinfo=zone))
        .values("engineer_id", "day")
        .annotate(
            seconds=Sum("work_seconds"),
            dose=Sum("dose_percent", filter=~Q(levels=[])),
        )
        .order_by()
    ):
        listened[(row["engineer_id"], row["day"])] = int(row["seconds"] or 0) // 60
        if row["dose"] is not None:
            doses[(row["engineer_id"], row["day"])] = float(row["dose"])
    breaks: dict[int, dict[str, int]] = defaultdict(lambda: {"p": 0, "t": 0, "s": 0})
    for row in (
        EarBreak.objects.filter(prompted_at__gte=since, prompted_at__lt=until)
        .values("engineer_id")
        .annotate(
            p=Count("id"),
            t=Count("id", filter=Q(outcome=BreakOutcome.TAKEN)),
            s=Count("id", filter=Q(outcome=BreakOutcome.SKIPPED)),
        )
        .order_by()
    ):
        breaks[row["engineer_id"]] = row
    overrides = fresh_ears_overrides(since, until, people, zone)
    days = period(start, end)
    out = []
    dose_limit = policy.daily_dose_limit_pct
    for person in people:
        pk = person.pk
        cap = ear_break_policy(policy, profiles.get(pk)).daily_cap
        b = breaks[pk]
        minutes = [listened.get((pk, d), 0) for d in days]
        day_doses = [doses.get((pk, d)) for d in days]
        own = overrides.get(pk, [])
        out.append(
            EngineerCompliance(
                person=person,
                days=[
                    DayListening(d, m, cap, dose, dose_limit)
                    for d, m, dose in zip(days, minutes, day_doses, strict=True)
                ],
                prompted=b["p"],
                taken=b["t"],
                skipped=b["s"],
                overrides=own,
                # Everything the section shows, as plain values (the days are the period's).
                key=content_key(
                    pk,
                    person.get_full_name() or person.username,
                    start,
                    end,
                    cap,
                    dose_limit,
                    b["p"],
                    b["t"],
                    b["s"],
                    minutes,
                    day_doses,
                    [(o.at, o.job_id, o.track, o.stage, o.by, o.reason) for o in own],
                ),
            )
        )
    return out


def fresh_ears_overrides(
    since: datetime, until: datetime, people: list[User], zone: ZoneInfo
) -> dict[int, list[FreshEarsOverride]]:
    """Per engineer, the fresh-ears overrides in the period (at the studio's time), oldest
    first, in two queries at most. The
    history names whose ears ("overridden for ada"); a record from before it did is matched to
    the stage started in the same move."""
    by_username = {p.username: p.pk for p in people}
    events = list(
        JobEvent.objects.filter(
            kind=EventKind.STAGE, from_value="fresh ears", at__gte=since, at__lt=until
        )
        .select_related("job", "actor")
        .order_by("at", "id")
    )
    unnamed = [e for e in events if not e.to_value.startswith("overridden for ")]
    started: dict[tuple[UUID, str, datetime | None], int | None] = {}
    if unnamed:
        for job_id, kind, at, assignee_id in Stage.objects.filter(
            job_id__in={e.job_id for e in unnamed}, started_at__in={e.at for e in unnamed}
        ).values_list("job_id", "kind", "started_at", "assignee_id"):
            started[(job_id, kind, at)] = assignee_id
    kinds = dict(StageKind.choices)
    out: dict[int, list[FreshEarsOverride]] = defaultdict(list)
    for e in events:
        if e.to_value.startswith("overridden for "):
            engineer = by_username.get(e.to_value.removeprefix("overridden for "))
        else:
            engineer = started.get((e.job_id, e.subject, e.at))
        if engineer is None:
            continue
        out[engineer].append(
            FreshEarsOverride(
                at=e.at.astimezone(zone),
                job_id=e.job_id,
                track=e.job.track_title,
                stage=kinds.get(e.subject, e.subject),
                by=(e.actor.get_full_name() or e.actor.username) if e.actor else "",
                reason=e.note,
            )
        )
    return out


def csv_rows(rows: list[EngineerCompliance]) -> list[list[str]]:
    """One line per engineer and day, then the break counts per engineer."""
    out = [
        [
            "Engineer",
            "Day",
            "Listening (min)",
            "Daily cap (min)",
            "Over cap",
            "Sound dose (%)",
            "Dose limit (%)",
            "Over dose limit",
        ]
    ]
    for r in rows:
        name = r.person.get_full_name() or r.person.username
        for d in r.days:
            out.append(
                [
                    name,
                    d.day.isoformat(),
                    str(d.minutes),
                    str(d.cap),
                    "yes" if d.over_cap else "",
                    "" if d.dose is None else f"{d.dose:.0f}",
                    str(d.dose_limit),
                    "yes" if d.over_dose else "",
                ]
            )
    out.append([])
    out.append(["Engineer", "Breaks due", "Taken", "Skipped", "Taken (%)"])
    for r in rows:
        out.append(
            [
                r.person.get_full_name() or r.person.username,
                str(r.prompted),
                str(r.taken),
                str(r.skipped),
                "" if r.rate is None else str(r.rate),
            ]
        )
    out.append([])
    out.append(["Engineer", "Fresh-ears override at", "Track", "Stage", "Overridden by", "Reason"])
    for r in rows:
        name = r.person.get_full_name() or r.person.username
        for o in r.overrides:
            out.append(
                [
                    text_cell(name),
                    o.at.strftime("%Y-%m-%d %H:%M"),
                    text_cell(o.track),
                    o.stage,
                    text_cell(o.by),
                    text_cell(o.reason),
                ]
            )
    return out
