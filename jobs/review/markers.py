"""Comments as DAW markers: a CSV that REAPER's Region/Marker Manager imports (`#,Name,Start,
End,Length,Color`, markers `M1`, regions `R1`, times as m:ss.mmm as with a Minutes:Seconds
ruler), and a plain marker list for any other DAW. Plain Python: no Django."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

from analysis.audio.findings import fmt_time

HEADER = ["#", "Name", "Start", "End", "Length", "Color"]
_TIME = re.compile(r"^\s*(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Marker:
    name: str
    start_s: float
    end_s: float | None = None  # a region when set
    color: str = ""  # RRGGBB, or "" for REAPER's default

    @property
    def is_region(self) -> bool:
        return self.end_s is not None


def parse_time(text: str) -> float:
    """Seconds from "m:ss.mmm", "h:mm:ss.mmm" or plain seconds ("12.5"). ValueError with a
    sentence for anything else."""
    value = (text or "").strip()
    if not value:
        raise ValueError("Give a time, such as 1:23.456.")
    match = _TIME.match(value)
    if match:
        hours, minutes, seconds = match.groups()
        if float(seconds) >= 60:
            raise ValueError(f"{value!r}: the seconds must be under 60.")
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    try:
        seconds_only = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time: write it as m:ss.mmm, e.g. 1:23.456.") from None
    if not seconds_only >= 0 or seconds_only == float("inf"):
        raise ValueError(f"{value!r} is not a time: it must be zero or more seconds.")
    return seconds_only


def _one_line(text: str) -> str:
    return " ".join(text.split())


def reaper_csv(markers: Iterable[Marker]) -> str:
    """Markers first as M1, M2..., then regions as R1, R2..., each in time order."""
    ordered = sorted(markers, key=lambda m: (m.is_region, m.start_s))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    counts = {"M": 0, "R": 0}
    for m in ordered:
        kind = "R" if m.is_region else "M"
        counts[kind] += 1
        end = length = ""
        if m.end_s is not None:
            end, length = fmt_time(m.end_s), fmt_time(m.end_s - m.start_s)
        writer.writerow(
            [f"{kind}{counts[kind]}", _one_line(m.name), fmt_time(m.start_s), end, length, m.color]
        )
    return out.getvalue()


def marker_list(markers: Iterable[Marker], *, title: str = "") -> str:
    """One line per marker in time order: `m:ss.mmm  name` or `m:ss.mmm-m:ss.mmm  name`."""
    lines = [title] if title else []
    for m in sorted(markers, key=lambda m: m.start_s):
        at = fmt_time(m.start_s) + (f"-{fmt_time(m.end_s)}" if m.end_s is not None else "")
        lines.append(f"{at}  {_one_line(m.name)}")
    return "\n".join(lines) + "\n"


def parse_reaper_csv(text: str) -> list[Marker]:
    """Read a Region/Marker Manager CSV back (ours, or REAPER's own in Minutes:Seconds)."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or [c.strip() for c in rows[0][:5]] != HEADER[:5]:
        raise ValueError("not a REAPER marker CSV: the first row must be #,Name,Start,End,Length")
    found = []
    for row in rows[1:]:
        if not row:
            continue
        row = row + [""] * (6 - len(row))
        ident, name, start, end = row[0].strip(), row[1], row[2], row[3]
        if ident[:1] not in ("M", "R"):
            raise ValueError(f"{ident!r} is neither a marker (M1) nor a region (R1)")
        region = ident.startswith("R")
        found.append(
            Marker(name, parse_time(start), parse_time(end) if region else None, row[5].strip())
        )
    return found
