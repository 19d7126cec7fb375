"""Sound dose: how much of a day's safe listening a level and a time use up.

NIOSH's recommended exposure limit is 85 dBA for 8 hours with a 3 dB exchange rate: every 3 dB
louder halves the time allowed (88 dBA for 4 h, 91 dBA for 2 h, 94 dBA for 1 h). A dose is the
share of that daily allowance used, in percent: 100 % is the whole day's allowance, and doses of
different levels add up.

Engineers calibrate their monitors by playing pink noise at -20 dBFS RMS and reading the sound
pressure level at the listening position (studios commonly set 79 to 85 dB SPL there); material
louder or quieter than the reference plays that much louder or quieter. A meter reading of the
monitors is taken as dBA here: it is what a studio has, and the limit is a guide, not a
measurement for a hearing-conservation programme.

Plain code (no Django): the services and the planner call it with minutes and decibels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

CRITERION_LEVEL_DBA = 85.0
CRITERION_MINUTES = 8 * 60
EXCHANGE_RATE_DB = 3.0
# The level a calibration reads: pink noise at this RMS level.
REFERENCE_DBFS = -20.0
# Outside this a reading is a typo or a broken meter, not a monitoring level.
MIN_SPL_DB = 60.0
MAX_SPL_DB = 100.0


class LevelOutOfRange(ValueError):
    """A calibration or monitoring level no studio monitors at; the message gives the range."""

    def __init__(self, what: str, value: float) -> None:
        self.message = (
            f"{what} must be between {MIN_SPL_DB:g} and {MAX_SPL_DB:g} dB SPL; {value:g} is not."
        )
        super().__init__(self.message)


def check_level(value: float, what: str = "A monitoring level") -> float:
    """The level itself if it is plausible; refused with the range otherwise."""
    if not (MIN_SPL_DB <= value <= MAX_SPL_DB):  # NaN compares false, so it is refused too
        raise LevelOutOfRange(what, value)
    return float(value)


def allowed_minutes(level_dba: float) -> float:
    """How long a day may be spent at this level: 8 h at 85 dBA, half as long per 3 dB more."""
    return CRITERION_MINUTES / 2 ** ((level_dba - CRITERION_LEVEL_DBA) / EXCHANGE_RATE_DB)


def dose_percent(exposures: Iterable[tuple[float, float]]) -> float:
    """The dose of (level in dBA, minutes) exposures, in percent of the daily allowance."""
    return sum(100.0 * minutes / allowed_minutes(level) for level, minutes in exposures)


def minutes_left(level_dba: float, dose_so_far: float, limit_percent: float) -> float:
    """How many more minutes at this level before the dose reaches the limit (0 when it has)."""
    return max(0.0, (limit_percent - dose_so_far) / 100.0 * allowed_minutes(level_dba))


def monitoring_level(reference_spl_db: float, programme_dbfs: float = REFERENCE_DBFS) -> float:
    """The level at the listening position of material at `programme_dbfs` RMS, for monitors
    calibrated so that pink noise at -20 dBFS RMS reads `reference_spl_db`."""
    return reference_spl_db + (programme_dbfs - REFERENCE_DBFS)


@dataclass(frozen=True)
class Exposure:
    """A stretch of listening at one level."""

    start: datetime
    end: datetime
    level_dba: float

    @property
    def minutes(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds() / 60.0)


def exposures(
    levels: Sequence[tuple[datetime, float]],
    end: datetime,
    rests: Iterable[tuple[datetime, datetime]] = (),
) -> list[Exposure]:
    """The stretches of listening of one session: `levels` are the moments the level was set (the
    first is the start), `end` when it stopped, `rests` the breaks taken (cut out)."""
    pieces = []
    ordered = sorted(levels)
    for i, (at, level) in enumerate(ordered):
        until = ordered[i + 1][0] if i + 1 < len(ordered) else end
        until = min(until, end)
        if until > at:
            pieces.append(Exposure(at, until, level))
    for rest_start, rest_end in rests:
        cut = []
        for p in pieces:
            if rest_end <= p.start or rest_start >= p.end:
                cut.append(p)
                continue
            if rest_start > p.start:
                cut.append(Exposure(p.start, rest_start, p.level_dba))
            if rest_end < p.end:
                cut.append(Exposure(rest_end, p.end, p.level_dba))
        pieces = cut
    return pieces


def dose_between(
    pieces: Iterable[Exposure], start: datetime | None = None, end: datetime | None = None
) -> float:
    """The dose of the listening that falls between `start` and `end` (either open)."""
    total = 0.0
    for p in pieces:
        a = max(p.start, start) if start else p.start
        b = min(p.end, end) if end else p.end
        if b > a:
            total += dose_percent([(p.level_dba, (b - a) / timedelta(minutes=1))])
    return total
