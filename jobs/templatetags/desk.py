"""Filters for the desk's timers: durations as a listening clock reads them."""

from __future__ import annotations

from datetime import timedelta

from django import template

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
