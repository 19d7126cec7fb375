"""Template filters of the review room."""

from __future__ import annotations

from django import template

from analysis.audio.findings import fmt_time

register = template.Library()


@register.filter
def mmss(seconds: float | None) -> str:
    """m:ss.mmm, as a DAW's time line reads."""
    return "" if seconds is None else fmt_time(float(seconds))


@register.filter
def num(value: float | None) -> str:
    """A plain decimal for data attributes, whatever the locale ("" for None)."""
    return "" if value is None else f"{float(value):.3f}".rstrip("0").rstrip(".")


@register.filter
def db(value: float | None) -> str:
    """A gain for people: "-4.2 dB", "0.0 dB"."""
    if value is None:
        return "\u2013"
    shown = f"{float(value):+.1f}".replace("-", "\u2212")
    return "0.0 dB" if shown in ("+0.0", "\u22120.0") else f"{shown} dB"
