"""Template filters for the manager's pages: lengths of time as a studio says them."""

from __future__ import annotations

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def span(delta: timedelta | None) -> str:
    """A length of time in days and hours ("2 d 4 h", "35 min", a minus sign when behind)."""
    if delta is None:
        return "\u2013"  # an en dash: no value
    sign = "\u2212" if delta < timedelta(0) else ""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {mins} min" if mins and hours < 3 else f"{hours} h"
    else:
        text = f"{mins} min"
    return sign + text


@register.filter
def minutes(value: int | None) -> str:
    """A number of minutes as hours and minutes ("4 h 30 min")."""
    if not value:
        return "0 min"
    hours, mins = divmod(int(value), 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"
