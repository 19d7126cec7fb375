"""iCalendar feeds behind a secret per-user URL: an engineer's planned work blocks and breaks,
and for a manager the studio's due dates.

Calendar apps cannot log in, so the token in the URL is the credential: it is long and random
(`User.calendar_token`), a wrong one is a 404, and rotating it revokes old subscriptions. The text
is written by hand (RFC 5545) to avoid a dependency for a few dozen lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from jobs.models import CLOSED, Job, JobStatus, Stage, User
from jobs.plan_store import engineer_timeline
from jobs.planner import WORK

_PRODID = "-//Headroom//Studio schedule//EN"


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets are folded (CRLF and a space), never inside a character."""
    out: list[str] = []
    current = ""
    size = 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > 75:
            out.append(current)
            current, size = " ", 1
        current += ch
        size += n
    out.append(current)
    return "\r\n".join(out)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(
    *, uid: str, start: datetime, end: datetime, summary: str, description: str = ""
) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{_stamp(timezone.now())}",
        f"DTSTART:{_stamp(start)}",
        f"DTEND:{_stamp(end)}",
        f"SUMMARY:{_escape(summary)}",
    ]
    if description:
        lines.append(f"DESCRIPTION:{_escape(description)}")
    lines.append("END:VEVENT")
    return lines


def calendar_text(name: str, events: Iterable[list[str]]) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{_PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(name)}",
    ]
    for e in events:
        lines.extend(e)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _host() -> str:
    host = settings.SITE_URL.split("//")[-1].split("/")[0].split(":")[0]
    return host or "headroom"


def engineer_events(user: User, *, now: datetime | None = None) -> list[list[str]]:
    """The user's planned work blocks and ear breaks from the current plan."""
    blocks = engineer_timeline(engineer=user, now=now)
    stage_ids = {b.stage_id for b in blocks if b.stage_id is not None}
    stages = {s.pk: s for s in Stage.objects.filter(pk__in=stage_ids).select_related("job")}
    host = _host()
    events = []
    for b in blocks:
        if b.kind == WORK and b.stage_id in stages:
            stage = stages[b.stage_id]
            summary = f"{stage.get_kind_display()}: {stage.job}"
            description = f"Due {stage.job.due_at:%Y-%m-%d %H:%M} UTC" if stage.job.due_at else ""
        else:
            summary = f"Ear break ({b.break_kind.replace('_', ' ')})"
            description = "Away from the speakers."
        events.append(
            _event(
                uid=f"{b.kind}-{user.pk}-{_stamp(b.start)}@{host}",
                start=b.start,
                end=b.end,
                summary=summary,
                description=description,
            )
        )
    return events


def due_date_events() -> list[list[str]]:
    """Every open job's due date, as a zero-length event at the moment it is due."""
    host = _host()
    jobs = (
        Job.objects.filter(due_at__isnull=False)
        # Delivered work has met its date; closed work has none left.
        .exclude(status__in=[*(s.value for s in CLOSED), JobStatus.DELIVERED])
        .select_related("organisation")
    )
    return [
        _event(
            uid=f"due-{job.pk}-{job.revision_round}@{host}",
            start=job.due_at,
            end=job.due_at,
            summary=f"Due: {job} ({job.organisation})",
            description=f"{job.get_status_display()}, {job.get_deadline_status_display()}"
            + (f", round {job.revision_round}" if job.revision_round else ""),
        )
        for job in jobs
        if job.due_at is not None
    ]


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    user = User.objects.filter(calendar_token=token, is_active=True).first() if token else None
    if user is None or not user.is_studio:
        raise Http404("No such calendar")
    events = engineer_events(user)
    if user.is_manager:
        events += due_date_events()
    body = calendar_text(f"Headroom: {user.get_full_name() or user.username}", events)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


def calendar_url(user: User) -> str:
    return f"{settings.SITE_URL}{reverse('calendar_feed', args=[user.calendar_token])}"
