"""My plan: today and the coming working days as a timeline of work blocks and ear breaks, from
the same planner as the calendar feed, with days off, the daily listening cap and due dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst, slugify
from django.views.decorators.http import require_GET

from jobs.compiled import columns, instance_from, rows_compiled_once
from jobs.fragments import content_key
from jobs.models import EngineerDayOff, EngineerProfile, Stage, StudioDayOff, StudioPolicy, User
from jobs.plan_store import ear_break_policy, engineer_calendar, engineer_timeline
from jobs.planner import WORK
from jobs.selectors import stages_from

PLAN_DAYS = 7  # calendar days shown: a working week and its weekend


@dataclass
class PlanBlock:
    start: datetime
    end: datetime
    minutes: int
    is_work: bool
    label: str
    break_kind: str = ""
    job_id: Any = None
    overdue_at_end: bool = False
    # What the page shows, worked out once in Python (a week has a hundred blocks, and each
    # filter in the template costs more than the formatting itself).
    start_iso: str = ""
    end_iso: str = ""
    start_hm: str = ""
    end_hm: str = ""
    text: str = ""  # the label as shown (a break's with a capital)
    slug: str = ""  # the break's kind for its class
    url: str = ""  # the job page, for a work block


@dataclass
class PlanDay:
    day: date
    working: bool
    off_reason: str
    window: tuple[datetime, datetime] | None
    blocks: list[PlanBlock] = field(default_factory=list)
    dues: list[tuple[datetime, str]] = field(default_factory=list)
    listening_minutes: int = 0
    title: str = ""  # "Tuesday 1 December"
    hours: tuple[str, str] = ("", "")  # the working window, "09:00", "18:00"
    due_times: list[tuple[str, str]] = field(default_factory=list)  # ("17:00", track title)
    key: str = ""  # of everything the day shows, a kept fragment (jobs/plan.html)


def _hm(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as the `time:"H:i"` filter shows it in the engineer's zone."""
    return moment.astimezone(zone).strftime("%H:%M")


def _shown(days: list[PlanDay], zone: ZoneInfo, daily_cap: int) -> None:
    """Fill in each day's and block's display strings, and the day's key from them: a week of
    blocks was most of the page's rendering, and most days look the same from one view to the
    next."""
    urls: dict[Any, str] = {}
    for day in days:
        day.title = date_format(day.day, "l j F")
        if day.window is not None:
            day.hours = (_hm(day.window[0], zone), _hm(day.window[1], zone))
        day.due_times = [(_hm(due, zone), title) for due, title in day.dues]
        for b in day.blocks:
            b.start_iso, b.end_iso = b.start.isoformat(), b.end.isoformat()
            b.start_hm, b.end_hm = _hm(b.start, zone), _hm(b.end, zone)
            if b.is_work:
                b.text = b.label
                if b.job_id not in urls:
                    urls[b.job_id] = reverse("job_detail", args=[b.job_id])
                b.url = urls[b.job_id]
            else:
                b.text = capfirst(b.label) or ""
                b.slug = slugify(b.break_kind)
        day.key = content_key(
            day is days[0],  # "today"
            daily_cap,
            day.title,
            day.working,
            day.off_reason,
            day.hours,
            day.listening_minutes,
            tuple(day.due_times),
            tuple(
                (
                    b.is_work,
                    b.slug,
                    b.overdue_at_end,
                    b.start_iso,
                    b.start_hm,
                    b.end_iso,
                    b.end_hm,
                    b.url,
                    b.text,
                    b.minutes,
                )
                for b in day.blocks
            ),
        )


def _studio_days_off(first: date, last: date) -> QuerySet[Any]:
    rows: QuerySet[Any] = StudioDayOff.objects.filter(date__gte=first, date__lt=last).values(
        "date", "reason"
    )
    return rows


def _own_days_off(user_id: int, first: date, last: date) -> QuerySet[Any]:
    rows: QuerySet[Any] = EngineerDayOff.objects.filter(
        engineer_id=user_id, date__gte=first, date__lt=last
    ).values("date", "reason")
    return rows


def _stage_rows(*stage_ids: int) -> QuerySet[Any]:
    """What a work block shows of its stage and job (compiled once for each number of stages
    in the week, jobs.compiled)."""
    rows: QuerySet[Any] = Stage.objects.filter(pk__in=stage_ids).values(
        "id", "kind", "job_id", "job__id", "job__track_title", "job__due_at"
    )
    return rows


def _profile_rows(user_id: int) -> QuerySet[Any]:
    rows: QuerySet[Any] = (
        EngineerProfile.objects.filter(user_id=user_id)
        .order_by("pk")
        .values(*columns(EngineerProfile))[:1]
    )
    return rows


def engineer_profile(user: User) -> EngineerProfile | None:
    """The engineer's profile (None: they have none), as `.filter(user=user).first()` reads it,
    from SQL compiled once: the plan page reads it on every view."""
    rows = rows_compiled_once("plan_profile", _profile_rows, user.pk)
    return instance_from(EngineerProfile, rows[0]) if rows else None


def _plan_days(
    user: User, now: datetime, profile: EngineerProfile | None
) -> tuple[list[PlanDay], int, ZoneInfo]:
    """The days, the daily listening cap and the engineer's timezone (their hours' zone), by
    the engineer's profile (None: they have none)."""
    policy = StudioPolicy.current()
    today = now.astimezone(timezone.get_current_timezone()).date()
    last = today + timedelta(days=PLAN_DAYS)
    studio_off = {
        r["date"]: r["reason"]
        for r in rows_compiled_once("plan_studio_days_off", _studio_days_off, today, last)
    }
    own_off = {
        r["date"]: r["reason"]
        for r in rows_compiled_once("plan_own_days_off", _own_days_off, user.pk, today, last)
    }
    calendar = engineer_calendar(
        policy,
        profile,
        studio_days_off=frozenset(studio_off),
        own_days_off=frozenset(own_off),
    )
    zone = calendar.zone
    today = now.astimezone(zone).date()
    days = []
    for i in range(PLAN_DAYS):
        d = today + timedelta(days=i)
        reason = own_off.get(d) or studio_off.get(d) or ""
        w = calendar.window(d)
        days.append(PlanDay(d, w is not None, reason or ("" if w else "not a working day"), w))
    until = datetime.combine(today + timedelta(days=PLAN_DAYS), datetime.min.time(), tzinfo=zone)
    blocks = engineer_timeline(engineer=user, now=now, until=until)
    wanted = sorted({b.stage_id for b in blocks if b.stage_id})
    rows = rows_compiled_once(f"plan_stages:{len(wanted)}", _stage_rows, *wanted)
    stages = {s.pk: s for s in stages_from(rows)}
    by_day = {d.day: d for d in days}
    dues_seen: set[Any] = set()
    for b in blocks:
        day = by_day.get(b.start.astimezone(zone).date())
        if day is None:
            continue
        stage = stages.get(b.stage_id) if b.stage_id else None
        if b.kind == WORK and stage is not None:
            label = f"{stage.job.track_title} · {stage.get_kind_display()}"
            due = stage.job.due_at
            day.blocks.append(
                PlanBlock(
                    b.start,
                    b.end,
                    b.minutes,
                    True,
                    label,
                    job_id=stage.job_id,
                    overdue_at_end=due is not None and b.end > due,
                )
            )
            day.listening_minutes += b.minutes
            if due is not None and stage.job_id not in dues_seen:
                dues_seen.add(stage.job_id)
                due_day = by_day.get(due.astimezone(zone).date())
                if due_day is not None:
                    due_day.dues.append((due, stage.job.track_title))
        else:
            kind = (b.break_kind or "short").replace("_", " ")
            day.blocks.append(
                PlanBlock(b.start, b.end, b.minutes, False, f"{kind} break", break_kind=kind)
            )
    cap = ear_break_policy(policy, profile, by_dose=True).daily_cap
    _shown(days, zone, cap)
    return days, cap, zone


@require_GET
@login_required
def my_plan(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not user.is_studio:
        raise PermissionDenied("The plan is the studio's.")
    profile = engineer_profile(user)  # read once for the page
    days, cap, zone = _plan_days(user, timezone.now(), profile)
    # Said when the sound dose at the engineer's usual level is what caps the day.
    by_dose = ear_break_policy(StudioPolicy.current(), profile).daily_cap > cap
    level = profile.expected_level_db if profile and by_dose else None
    context = {"days": days, "daily_cap": cap, "zone": zone, "dose_level": level}
    with timezone.override(zone):  # every time on the page in the engineer's own
        return render(request, "jobs/plan.html", context)
