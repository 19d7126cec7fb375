"""Template filters for the manager's pages: lengths of time as a studio says them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

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


@register.simple_tag(takes_context=True)
def people_options(
    context: template.Context, people: list[Any], selected: int | None, *, proposed: bool = False
) -> SafeString:
    """The <option>s of a "who does it" menu, `selected` chosen (marked as the plan's proposal
    when `proposed`). The same menu repeats on every row of the workload, so each person's
    option is escaped once per page rather than by a template loop per row."""
    key = f"people_options:{id(people)}"
    names: list[tuple[int, str]] | None = context.render_context.get(key)
    if names is None:
        names = [(p.pk, str(escape(p.get_full_name() or p.username))) for p in people]
        context.render_context[key] = names
    mark = " (proposed)" if proposed else ""
    return mark_safe(
        "".join(
            f'<option value="{pk}" selected>{name}{mark}</option>'
            if pk == selected
            else f'<option value="{pk}">{name}</option>'
            for pk, name in names
        )
    )
