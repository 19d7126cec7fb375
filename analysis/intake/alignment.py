"""How the stems' sum lines up with the rough mix: offset and correlation.

Both signals are read with soundfile in blocks, folded to mono, low-passed and decimated to about
4 kHz (0.25 ms per sample), so a one-hour job needs a few tens of MB whatever the format; the
cross-correlation runs by FFT over lags up to +/-2 s, refined to well under 1 ms by a parabola
through the peak.
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
MAX_SECONDS = 900.0  # longer jobs are compared on their first 15 minutes


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
        return kept.astype(np.float32)


def _mono(block: np.ndarray) -> np.ndarray:
    return block.mean(axis=1, dtype=np.float64) if block.ndim == 2 else block.astype(np.float64)


def read_sum(paths: Sequence[str]) -> tuple[np.ndarray, float]:
    """The decimated mono sum of several files read in lockstep (all at the first file's rate)."""
    with ExitStack() as stack:
        files = [stack.enter_context(sf.SoundFile(p)) for p in paths]
        rate = files[0].samplerate
        decimator = _Decimator(rate)
        limit = int(MAX_SECONDS * rate)
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
    return np.interp(np.arange(n) / target, np.arange(len(x)) / rate, x).astype(np.float32)


def correlate(stems_sum: np.ndarray, rough: np.ndarray, rate: float) -> Alignment | None:
    """Best lag (by FFT) of `rough` against `stems_sum`, with the correlation normalised by the
    energy of the overlapping parts. None when either signal is silent or too short."""
    x = stems_sum.astype(np.float64) - float(np.mean(stems_sum)) if len(stems_sum) else stems_sum
    y = rough.astype(np.float64) - float(np.mean(rough)) if len(rough) else rough
    if len(x) < 16 or len(y) < 16 or not np.any(x) or not np.any(y):
        return None
    max_lag = min(int(MAX_LAG_S * rate), len(x) - 1, len(y) - 1)
    n = 1 << int(np.ceil(np.log2(len(x) + len(y))))
    spectrum = np.fft.rfft(y, n) * np.conj(np.fft.rfft(x, n))
    full = np.fft.irfft(spectrum, n)
    # c[k] = sum_n x[n] y[n+k] for k in -max_lag..max_lag
    lags = np.arange(-max_lag, max_lag + 1)
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
    """Offset and correlation of the rough mix against the sum of the stems."""
    stems_sum, rate = read_sum(stem_paths)
    rough, rough_rate = read_sum([rough_path])
    return correlate(stems_sum, _resample_to(rough, rough_rate, rate), rate)
