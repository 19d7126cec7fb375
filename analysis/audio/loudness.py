"""BS.1770-4 / EBU R128 loudness from per-10 ms K-weighted energies: integrated (gated), loudness
range (EBU Tech 3342), max momentary and short-term with a 10 ms hop, short-term once a second."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

ABS_GATE_LUFS = -70.0
REL_GATE_LU = -10.0  # integrated loudness
LRA_REL_GATE_LU = -20.0  # loudness range
UNITS_PER_100MS = 10


def lufs(z: float) -> float | None:
    """Loudness of a mean square (channel-weighted); None for silence, never -inf."""
    return -0.691 + 10.0 * math.log10(z) if z > 0.0 else None


def _lufs_array(z: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(z)


def _threshold(level: float) -> float:
    return float(10.0 ** ((level + 0.691) / 10.0))


@dataclass
class Loudness:
    integrated_lufs: float | None
    loudness_range_lu: float | None
    max_momentary_lufs: float | None
    max_short_term_lufs: float | None
    short_term_lufs: list[float | None]


def windows(cum: NDArray[np.float64], width: int, hop: int, unit: int) -> NDArray[np.float64]:
    """Mean square of every complete window of `width` units, starting every `hop` units."""
    count = len(cum) - 1
    if count < width:
        return np.zeros(0)
    starts = np.arange(0, count - width + 1, hop)
    return (cum[starts + width] - cum[starts]) / (width * unit)


def from_energies(energy: NDArray[np.float64], unit: int) -> Loudness:
    """`energy[i]`: sum over channels of weight * sum of squared K-weighted samples in 10 ms unit i
    (`unit` samples). Only complete 400 ms / 3 s windows count, as BS.1770 and Tech 3342 say."""
    cum = np.concatenate([[0.0], np.cumsum(energy, dtype=np.float64)])
    cum = np.maximum.accumulate(cum)  # rounding must never make a window's energy negative

    gating = windows(cum, 40, UNITS_PER_100MS, unit)  # 400 ms, 75 % overlap
    integrated = None
    passed = gating[gating > _threshold(ABS_GATE_LUFS)]
    if len(passed):
        rel = _threshold(lufs(float(passed.mean())) + REL_GATE_LU)  # type: ignore[operator]
        kept = passed[passed > rel]
        integrated = lufs(float(kept.mean())) if len(kept) else None

    lra = None
    short = windows(cum, 300, UNITS_PER_100MS, unit)  # 3 s every 100 ms (10 Hz, Tech 3342)
    passed = short[short > _threshold(ABS_GATE_LUFS)]
    if len(passed):
        rel = _threshold(lufs(float(passed.mean())) + LRA_REL_GATE_LU)  # type: ignore[operator]
        kept = _lufs_array(passed[passed > rel])
        if len(kept):
            low, high = np.percentile(kept, [10.0, 95.0])
            lra = float(high - low)

    momentary = windows(cum, 40, 1, unit)
    short_hop = windows(cum, 300, 1, unit)
    max_m = lufs(float(momentary.max())) if len(momentary) else None
    max_s = lufs(float(short_hop.max())) if len(short_hop) else None

    # Loudness over time for the plot: the 3 s window ending at each whole second; the first two
    # seconds average what there is so the curve starts at the start.
    per_second: list[float | None] = []
    for sec in range(1, (len(cum) - 1) // 100 + 1):
        end = sec * 100
        start = max(0, end - 300)
        per_second.append(lufs(float((cum[end] - cum[start]) / ((end - start) * unit))))
    return Loudness(integrated, lra, max_m, max_s, per_second)
