"""The small waveform the pages draw without JavaScript: an overview of a file's peaks (a few
hundred columns and its loudness over time, stored beside the peaks) turned into SVG paths, with
clipping events and true-peak overs marked. Plain Python: no Django."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analysis.audio.findings import fmt_time
from analysis.audio.peaks import LEVELS, Peaks

COLUMNS = 240  # enough for a small drawing; the player zooms on the full peaks
WIDTH, WAVE_HEIGHT, LOUD_HEIGHT, GAP = 480, 56, 20, 4
HEIGHT = WAVE_HEIGHT + GAP + LOUD_HEIGHT
LOUD_FLOOR, LOUD_TOP = -40.0, 0.0  # the loudness strip's scale, LUFS


def overview_from(peaks: Peaks, short_term_lufs: list[float | None]) -> dict[str, Any]:
    """What the SVG needs, small enough to read with every page (a few KB), its two paths
    drawn once here rather than on every page view."""
    top, bottom = peaks.envelope(COLUMNS)
    overview: dict[str, Any] = {
        "duration_s": round(peaks.duration_s, 6),
        "max": [int(v) for v in np.round(top * LEVELS)],
        "min": [int(v) for v in np.round(bottom * LEVELS)],
        "short_term_lufs": [None if v is None else round(float(v), 1) for v in short_term_lufs],
        "overs": peaks.over_times(),
    }
    overview["wave_path"] = _wave_path(overview["max"], overview["min"])
    overview["loudness_path"] = _loudness_path(overview["short_term_lufs"], overview["duration_s"])
    return overview


def _n(value: float) -> str:
    """A coordinate, as short as it can be written."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Mark:
    x: float
    kind: str  # "clip", "flat", "over"
    label: str


@dataclass(frozen=True)
class WaveformSvg:
    wave_path: str
    loudness_path: str
    marks: list[Mark] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    wave_height: int = WAVE_HEIGHT
    loud_top: int = WAVE_HEIGHT + GAP
    loud_height: int = LOUD_HEIGHT
    label: str = ""


def _wave_path(maxima: list[int], minima: list[int]) -> str:
    """One closed shape: along the maxima left to right, back along the minima."""
    n = len(maxima)
    if not n:
        return ""
    mid = WAVE_HEIGHT / 2
    scale = mid / LEVELS
    step = WIDTH / n
    upper = [f"{_n(i * step)},{_n(mid - max(v, 0) * scale - 0.5)}" for i, v in enumerate(maxima)]
    upper.append(f"{WIDTH},{_n(mid - max(maxima[-1], 0) * scale - 0.5)}")
    lower = [f"{WIDTH},{_n(mid - min(minima[-1], 0) * scale + 0.5)}"]
    lower += [
        f"{_n(i * step)},{_n(mid - min(v, 0) * scale + 0.5)}"
        for i, v in reversed(list(enumerate(minima)))
    ]
    return "M" + "L".join(upper + lower) + "Z"


def _loudness_path(values: list[float | None], duration_s: float) -> str:
    """Short-term loudness (one value a second) as an area rising from the strip's floor;
    silence (None) drops to the floor."""
    if not values or duration_s <= 0:
        return ""
    base = WAVE_HEIGHT + GAP + LOUD_HEIGHT
    span = LOUD_TOP - LOUD_FLOOR
    points = [f"0,{_n(base)}"]
    for i, v in enumerate(values):
        x = min(WIDTH, (i + 0.5) * WIDTH / max(duration_s, len(values)))
        level = LOUD_FLOOR if v is None else min(max(v, LOUD_FLOOR), LOUD_TOP)
        points.append(f"{_n(x)},{_n(base - (level - LOUD_FLOOR) / span * LOUD_HEIGHT)}")
    points.append(f"{points[-1].split(',')[0]},{_n(base)}")
    return "M" + "L".join(points) + "Z"


def waveform_svg(
    overview: dict[str, Any],
    *,
    clips_s: list[float] | None = None,
    flat_tops_s: list[float] | None = None,
    overs: list[dict[str, float]] | None = None,
    name: str = "",
) -> WaveformSvg:
    """The drawing of one file. `overs`: [{"at_s", "dbtp"}] true-peak overs to mark."""
    duration = float(overview.get("duration_s") or 0.0)

    def x_of(t: float) -> float:
        return round(min(max(t / duration, 0.0), 1.0) * WIDTH, 1) if duration > 0 else 0.0

    marks = [Mark(x_of(t), "clip", f"Clipping at {fmt_time(t)}") for t in clips_s or []]
    marks += [
        Mark(x_of(t), "flat", f"Flat-topped peak at {fmt_time(t)}") for t in flat_tops_s or []
    ]
    marks += [
        Mark(x_of(o["at_s"]), "over", f"True peak {o['dbtp']:+.1f} dBTP at {fmt_time(o['at_s'])}")
        for o in overs or []
    ]
    parts = [f"Waveform of {name}" if name else "Waveform", f"{fmt_time(duration)} long"]
    if clips_s:
        parts.append(f"{len(clips_s)} clipping event{'s' if len(clips_s) != 1 else ''} marked")
    if overs:
        parts.append(f"{len(overs)} true-peak over{'s' if len(overs) != 1 else ''} marked")
    wave_path = overview.get("wave_path")
    if wave_path is None:  # an overview stored before the paths were
        wave_path = _wave_path(list(overview.get("max") or []), list(overview.get("min") or []))
    loudness_path = overview.get("loudness_path")
    if loudness_path is None:
        loudness_path = _loudness_path(list(overview.get("short_term_lufs") or []), duration)
    return WaveformSvg(
        wave_path=wave_path,
        loudness_path=loudness_path,
        marks=marks,
        label=", ".join(parts) + ".",
    )
