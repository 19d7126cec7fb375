"""iCalendar feeds behind a secret per-user URL: an engineer's planned work blocks and breaks,
and for a manager the studio's due dates.

Calendar apps cannot log in, so the token in the URL is the credential: it is long and random
(`User.calendar_token`), a wrong one is a 404, and rotating it revokes old subscriptions. The
iCalendar text (RFC 5545) is written by the `icalendar` library, which escapes and folds what
people typed (a track title can hold anything, line breaks included).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from icalendar import Calendar, Event, vText

from jobs.models import CLOSED, Job, JobStatus, Stage, User
from jobs.plan_store import engineer_timeline
from jobs.planner import WORK

_PRODID = "-//Headroom//Studio schedule//EN"
# C0 controls and DEL are not allowed in iCalendar text (tab is); line breaks are the library's
# to escape, so a bare CR, LF or CRLF all become one escaped line break.
_CONTROLS = {c: None for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]}


def _text(text: str) -> str:
    return text.translate(_CONTROLS)


def _event(
    *, uid: str, start: datetime, end: datetime, summary: str, description: str = ""
) -> Event:
    event = Event()
    event.add("uid", _text(uid))
    event.add("dtstamp", timezone.now().astimezone(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("summary", _text(summary))
    if description:
        event.add("description", _text(description))
    return event


def calendar_text(name: str, events: Iterable[Event]) -> str:
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", _PRODID)
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # An X- property has no known type: said to be TEXT, so it is escaped like the others.
    cal.add("x-wr-calname", vText(_text(name)))
    for event in events:
        cal.add_component(event)
    text: str = cal.to_ical().decode("utf-8")
    return text


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _host() -> str:
    host = settings.SITE_URL.split("//")[-1].split("/")[0].split(":")[0]
    return host or "headroom"


def engineer_events(user: User, *, now: datetime | None = None) -> list[Event]:
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


def due_date_events() -> list[Event]:
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
