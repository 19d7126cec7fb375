"""How the stems' sum lines up with the rough mix: offset and correlation.

Both signals are read with soundfile in blocks, folded to mono, low-passed and decimated to about
4 kHz (0.25 ms per sample), and only an excerpt is compared: up to 60 s from the middle of the
song for the stems, with 2 s more on each side for the rough mix. Memory and time stay bounded
whatever the length and format; the cross-correlation runs by FFT over lags up to +/-2 s,
refined to well under 1 ms by a parabola through the peak.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from scipy import signal

TARGET_RATE = 4000.0  # Hz after decimation: 0.25 ms resolution before interpolation
MAX_LAG_S = 2.0
BLOCK_FRAMES = 65536
EXCERPT_S = 60.0


@dataclass(frozen=True)
class Alignment:
    offset_ms: float  # > 0: the rough mix is later than the stems' sum by this much
    correlation: float  # normalised cross-correlation at the best lag, -1..1


class _Decimator:
    """Anti-alias low-pass with its state carried across blocks, then keep every n-th sample."""

    def __init__(self, rate: int) -> None:
        self.factor = max(1, int(rate // TARGET_RATE))
        self.rate = rate / self.factor
        self.sos = signal.butter(8, 0.4 * self.rate, fs=rate, output="sos")
        self.zi = np.zeros((self.sos.shape[0], 2))
        self.phase = 0

    def push(self, mono: np.ndarray) -> np.ndarray:
        filtered, self.zi = signal.sosfilt(self.sos, mono, zi=self.zi)
        kept = filtered[self.phase :: self.factor]
        self.phase = (self.phase - len(mono)) % self.factor
        out: np.ndarray = kept.astype(np.float32)
        return out


def _mono(block: np.ndarray) -> np.ndarray:
    return block.mean(axis=1, dtype=np.float64) if block.ndim == 2 else block.astype(np.float64)


def read_sum(
    paths: Sequence[str], *, start_s: float = 0.0, seconds: float | None = None
) -> tuple[np.ndarray, float]:
    """The decimated mono sum of several files read in lockstep from `start_s` for `seconds`
    (all at the first file's rate)."""
    with ExitStack() as stack:
        files = [stack.enter_context(sf.SoundFile(p)) for p in paths]
        rate = files[0].samplerate
        decimator = _Decimator(rate)
        for f in files:
            f.seek(min(int(start_s * f.samplerate), f.frames))
        limit = int((seconds if seconds is not None else 1e9) * rate)
        chunks: list[np.ndarray] = []
        done = 0
        while done < limit:
            want = min(BLOCK_FRAMES, limit - done)
            total: np.ndarray | None = None
            longest = 0
            for f in files:
                block = f.read(want, dtype="float32", always_2d=True)
                if not len(block):
                    continue
                mono = _mono(block)
                longest = max(longest, len(mono))
                if total is None:
                    total = np.zeros(want)
                total[: len(mono)] += mono
            if total is None:
                break
            chunks.append(decimator.push(total[:longest]))
            done += longest
        out = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        return out, decimator.rate


def _resample_to(x: np.ndarray, rate: float, target: float) -> np.ndarray:
    if abs(rate - target) < 1e-6 or not len(x):
        return x
    n = int(len(x) * target / rate)
    out: np.ndarray = np.interp(np.arange(n) / target, np.arange(len(x)) / rate, x)
    return out.astype(np.float32)


def correlate(
    stems_sum: np.ndarray, rough: np.ndarray, rate: float, *, centre_s: float = 0.0
) -> Alignment | None:
    """Best lag (by FFT) of `rough` against `stems_sum` within +/-2 s of `centre_s`, with the
    correlation normalised by the energy of the overlapping parts. None when either signal is
    silent or too short."""
    x = stems_sum.astype(np.float64) - float(np.mean(stems_sum)) if len(stems_sum) else stems_sum
    y = rough.astype(np.float64) - float(np.mean(rough)) if len(rough) else rough
    if len(x) < 16 or len(y) < 16 or not np.any(x) or not np.any(y):
        return None
    centre = round(centre_s * rate)
    lo = max(centre - int(MAX_LAG_S * rate), -(len(x) - 1))
    hi = min(centre + int(MAX_LAG_S * rate), len(y) - 1)
    if hi <= lo:
        return None
    n = 1 << int(np.ceil(np.log2(len(x) + len(y))))
    spectrum = np.fft.rfft(y, n) * np.conj(np.fft.rfft(x, n))
    full = np.fft.irfft(spectrum, n)
    # c[k] = sum_n x[n] y[n+k] for k in lo..hi
    lags = np.arange(lo, hi + 1)
    c = full[lags % n]
    # Energy of the parts that overlap at each lag, from cumulative sums.
    cx = np.concatenate([[0.0], np.cumsum(x * x)])
    cy = np.concatenate([[0.0], np.cumsum(y * y)])
    x_start = np.clip(-lags, 0, len(x))
    overlap = np.minimum(len(x) - x_start, len(y) - np.clip(lags, 0, len(y)))
    overlap = np.clip(overlap, 0, None)
    ex = cx[np.clip(x_start + overlap, 0, len(x))] - cx[x_start]
    y_start = np.clip(lags, 0, len(y))
    ey = cy[np.clip(y_start + overlap, 0, len(y))] - cy[y_start]
    denom = np.sqrt(np.maximum(ex * ey, 1e-30))
    normalised = np.where(overlap > 0, c / denom, 0.0)
    best = int(np.argmax(np.abs(c)))
    shift = 0.0
    if 0 < best < len(c) - 1:
        a, b, d = c[best - 1], c[best], c[best + 1]
        curvature = a - 2 * b + d
        if curvature != 0:
            shift = float(np.clip(0.5 * (a - d) / curvature, -0.5, 0.5))
    offset_ms = (lags[best] + shift) / rate * 1000.0
    return Alignment(offset_ms=offset_ms, correlation=float(np.clip(normalised[best], -1, 1)))


def align(stem_paths: Sequence[str], rough_path: str) -> Alignment | None:
    """Offset and correlation of the rough mix against the sum of the stems, on an excerpt."""
    info = sf.info(stem_paths[0])
    length_s = info.frames / info.samplerate
    excerpt = min(length_s, EXCERPT_S)
    start = max(0.0, (length_s - excerpt) / 2)
    rough_start = max(0.0, start - MAX_LAG_S)
    stems_sum, rate = read_sum(stem_paths, start_s=start, seconds=excerpt)
    rough, rough_rate = read_sum(
        [rough_path], start_s=rough_start, seconds=excerpt + (start - rough_start) + MAX_LAG_S
    )
    # The rough excerpt starts earlier by the margin: search around it, then take it away.
    margin = start - rough_start
    result = correlate(stems_sum, _resample_to(rough, rough_rate, rate), rate, centre_s=margin)
    if result is None:
        return None
    return Alignment(offset_ms=result.offset_ms - margin * 1000.0, correlation=result.correlation)
