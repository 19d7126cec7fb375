"""Filters for the desk's timers: durations as a listening clock reads them, and moments in the
viewer's local time in words."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import get_language

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
    zone = timezone.get_current_timezone()
    local = localtime(value, zone)
    today = localtime(now or timezone.now(), zone).date()
    return f"{_day_in_words(local.date(), today, get_language())} at {local:%H:%M}"


@functools.lru_cache(maxsize=1024)
def _day_in_words(day: date, today: date, language: str | None) -> str:
    """`when`'s day, kept for each day, today and language: a desk words some thirty moments,
    most of them on the same few days, and Django's date formatting is most of that cost."""
    days = (day - today).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    if 1 < days < 7:
        return date_format(day, "l")
    return date_format(day, "D j M" if day.year == today.year else "D j M Y")
