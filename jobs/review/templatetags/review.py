"""Template filters of the review room."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.utils.html import escape
from django.utils.safestring import mark_safe

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


_STEPS = {places: Decimal(1).scaleb(-places) for places in range(1, 4)}


@register.filter
def fixed(value: Any, places: int = 1) -> str:
    """`value|floatformat:places|default:"\u2013"` for the measured figures (1 to 3 places), the
    same text made without the template filters' work: rounded half up from the number's
    shortest repr, no sign on a zero, an en dash when there is no number."""
    if value is None or value == "":
        return "\u2013"
    if type(value) in (float, int) and places in _STEPS:
        d = Decimal(repr(value))
        if d.is_finite():
            shown = f"{d.quantize(_STEPS[places], ROUND_HALF_UP):f}"
            return shown[1:] if shown[0] == "-" and not Decimal(shown) else shown
    return str(floatformat(value, places)) or "\u2013"


@register.filter
def format_words(fmt: Any) -> str:
    """A measured format in words, as jobs/portal/format.html writes it (with its closing
    newline): "WAV 24-bit · 48000 Hz · 2 ch", "Not audio (mp3 file)" or a dash; made here
    because it is written twice for every file of the intake report."""
    raw: dict[str, Any] = fmt if isinstance(fmt, dict) else {}

    def shown(key: str) -> str:
        return escape(str(raw.get(key, "")))

    if raw.get("sample_rate"):
        if raw.get("is_float"):
            depth = "float"
        elif raw.get("bit_depth"):
            depth = f"{shown('bit_depth')}-bit"
        else:
            depth = shown("subtype")
        rate = escape(str(floatformat(raw["sample_rate"], "-1")))
        words = f"{shown('container')} {depth} · {rate} Hz · {shown('channels')} ch"
    elif raw.get("container"):
        words = f"Not audio ({escape(str(raw['container']).lower())} file)"
    else:
        words = "\u2013"
    return mark_safe(words + "\n")  # each value escaped above


@register.simple_tag
def waveform_svg(wave: Any) -> str:
    """A file's waveform (jobs.review.waveform.WaveformSvg) as an inline SVG. Written here, not
    in a template: a page draws one per file, with a line per clip mark, and the template's
    cost per value was most of an intake poll's. The names are escaped; the numbers are the
    drawing's coordinates, in SVG's own syntax, so they are written as Python writes them and
    never localized (a decimal comma would break the drawing)."""
    e = escape
    marks = "".join(
        f'<line class="mark mark-{e(mk.kind)}" x1="{mk.x}" x2="{mk.x}" y1="0" '
        f'y2="{wave.wave_height}" vector-effect="non-scaling-stroke"><title>{e(mk.label)}'
        "</title></line>"
        for mk in wave.marks
    )
    label = e(wave.label)
    return mark_safe(
        f'<svg class="waveform" viewBox="0 0 {wave.width} {wave.height}" '
        f'preserveAspectRatio="none" role="img" aria-label="{label}" '
        f'data-marks="{len(wave.marks)}">\n'
        f"  <title>{label}</title>\n"
        f'  <rect class="wave-bg" x="0" y="0" width="{wave.width}" '
        f'height="{wave.wave_height}"/>\n'
        f'  <rect class="loud-bg" x="0" y="{wave.loud_top}" width="{wave.width}" '
        f'height="{wave.loud_height}"/>\n'
        f'  <path class="wave" d="{e(wave.wave_path)}"/>\n'
        f'  <path class="loudness" d="{e(wave.loudness_path)}"/>\n'
        f"  {marks}\n"
        "</svg>\n"
    )
