"""Filters for the desk's timers: durations as a listening clock reads them, and moments in the
viewer's local time in words."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime

register = template.Library()


@register.filter
def clock(value: timedelta | None) -> str:
    """1:05:09 for an hour and a bit, 12:04 under an hour (what the script shows too)."""
    if value is None:
        return "\u2013"
    seconds = max(0, int(value.total_seconds()))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@register.filter
def seconds(value: timedelta | None) -> int:
    return int(value.total_seconds()) if value is not None else 0


@register.filter
def hours(value: timedelta | None) -> str:
    """Today's listening against the cap: 1 h 05 min, 6 min."""
    seconds = max(0, int(value.total_seconds())) if value is not None else 0
    h, m = divmod(seconds // 60, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min"


@register.filter
def when(value: datetime | None, now: datetime | None = None) -> str:
    """A moment in the viewer's local time (the timezone the view activated), in words: "today
    at 14:30", "tomorrow at 09:00", "yesterday at 17:10", "Thursday at 11:00" within the coming
    week, else "Mon 9 Mar at 14:30" (with the year when it is not this one)."""
    if value is None:
        return "\u2013"
    local = localtime(value)
    today = localtime(now or timezone.now()).date()
    at = f"at {local:%H:%M}"
    days = (local.date() - today).days
    if days == 0:
        return f"today {at}"
    if days == 1:
        return f"tomorrow {at}"
    if days == -1:
        return f"yesterday {at}"
    if 1 < days < 7:
        return f"{date_format(local, 'l')} {at}"
    return f"{date_format(local, 'D j M' if local.year == today.year else 'D j M Y')} {at}"
