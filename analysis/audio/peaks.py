"""Waveform peaks for drawing and zooming: min/max per channel in 20 ms buckets, quantised to
1/127 of full scale and stored compactly (about 80 KB for ten minutes of stereo). Built in the
measuring pass from the blocks it already decodes, so drawing a waveform never decodes again."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .filters import true_peak_filter

PEAKS_PER_SECOND = 50  # 20 ms buckets: a few seconds fill a screen with detail
LEVELS = 127  # int8: +/-127 is +/- full scale
MAX_BUCKETS = 360_000  # two hours at 50 a second; longer files get wider buckets
MAX_CANDIDATE_SAMPLES = 4_000_000  # kept for interpolation at the end: 16 MB of float32
MAX_OVERS = 50  # true-peak overs kept (the first ones), as clipping keeps its first events
SAFETY = 1.0 + 1e-5  # float32 rounding in the bounds: pruning stays exact
MAGIC = b"HRPK"
VERSION = 1
# magic, version, channels, overs, sample rate, samples per bucket, frames, buckets
_HEADER = struct.Struct("<4sBBHIIQI")
_OVER = struct.Struct("<If")  # first bucket of a true-peak over, its highest dBTP


def samples_per_bucket(sample_rate: int, frames: int) -> int:
    """Whole samples per bucket: 50 a second (882 at 44.1 kHz, 960 at 48 kHz), wider only for
    files so long that the peaks would outgrow MAX_BUCKETS."""
    per = max(1, round(sample_rate / PEAKS_PER_SECOND))
    if frames > per * MAX_BUCKETS:
        per = -(-frames // MAX_BUCKETS)
    return per


@dataclass(frozen=True)
class Peaks:
    """Per channel and bucket, the lowest and highest sample in 1/127 of full scale. The
    minimum is rounded down and the maximum up, so the drawn envelope always holds the signal."""

    sample_rate: int
    samples_per_bucket: int
    frames: int
    min: NDArray[np.int8]  # channels x buckets
    max: NDArray[np.int8]
    overs: tuple[tuple[int, float], ...] = ()  # true peak over 0 dBTP: (first bucket, dBTP)

    @property
    def channels(self) -> int:
        return int(self.min.shape[0])

    @property
    def buckets(self) -> int:
        return int(self.min.shape[1])

    @property
    def buckets_per_second(self) -> float:
        return self.sample_rate / self.samples_per_bucket

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def over_times(self) -> list[dict[str, float]]:
        """The true-peak overs as [{"at_s", "dbtp"}], for the pages."""
        rate = self.buckets_per_second
        return [{"at_s": round(b / rate, 3), "dbtp": round(v, 2)} for b, v in self.overs]

    def to_bytes(self) -> bytes:
        """A 28-byte header, the true-peak overs (8 bytes each), then zlib over each channel's
        minima then maxima as byte-wise differences from the previous bucket (neighbouring
        buckets are alike, so this halves the size of music before zlib even starts)."""
        header = _HEADER.pack(
            MAGIC,
            VERSION,
            self.channels,
            len(self.overs),
            self.sample_rate,
            self.samples_per_bucket,
            self.frames,
            self.buckets,
        )
        planes = np.stack([self.min, self.max], axis=1).astype(np.int16)  # ch x 2 x buckets
        deltas = np.diff(planes, axis=2, prepend=0).astype(np.uint8)  # wraps mod 256
        overs = b"".join(_OVER.pack(b, v) for b, v in self.overs)
        return header + overs + zlib.compress(deltas.tobytes(), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> Peaks:
        if len(data) < _HEADER.size:
            raise ValueError("peaks data is too short")
        magic, version, channels, n_overs, rate, per, frames, buckets = _HEADER.unpack_from(data)
        if magic != MAGIC or version != VERSION:
            raise ValueError("not Headroom peaks data")
        start = _HEADER.size + n_overs * _OVER.size
        overs = tuple(
            _OVER.unpack_from(data, _HEADER.size + i * _OVER.size) for i in range(n_overs)
        )
        try:
            raw = np.frombuffer(zlib.decompress(data[start:]), dtype=np.uint8)
        except zlib.error as exc:
            raise ValueError(f"peaks data is damaged ({exc})") from None
        if raw.size != channels * 2 * buckets:
            raise ValueError("peaks data does not match its header")
        planes = np.cumsum(raw.reshape(channels, 2, buckets), axis=2, dtype=np.uint8).view(np.int8)
        return cls(rate, per, frames, planes[:, 0].copy(), planes[:, 1].copy(), overs)

    def envelope(self, columns: int) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """(highest, lowest) over all channels in `columns` equal slices of the file, as
        fractions of full scale: what a small overview draws."""
        columns = max(1, min(columns, self.buckets)) if self.buckets else 0
        if not columns:
            return np.zeros(0, np.float32), np.zeros(0, np.float32)
        edges = (np.arange(columns) * self.buckets) // columns
        top = np.maximum.reduceat(self.max.max(axis=0), edges)
        bottom = np.minimum.reduceat(self.min.min(axis=0), edges)
        scale = np.float32(1.0 / LEVELS)
        return top.astype(np.float32) * scale, bottom.astype(np.float32) * scale


def quantise_max(x: NDArray[np.floating]) -> NDArray[np.int8]:
    out: NDArray[np.int8] = _clip_levels(np.ceil(x * LEVELS - 1e-4)).astype(np.int8)
    return out


def quantise_min(x: NDArray[np.floating]) -> NDArray[np.int8]:
    out: NDArray[np.int8] = _clip_levels(np.floor(x * LEVELS + 1e-4)).astype(np.int8)
    return out


def _clip_levels(v: NDArray[np.floating]) -> NDArray[np.floating]:
    # np.clip, without its Python-level argument handling (it runs for every block)
    out: NDArray[np.floating] = np.minimum(np.maximum(v, -LEVELS), LEVELS)
    return out


class PeakBuilder:
    """Fed the measuring pass's blocks (channels x frames, float32, NaN already cleaned) in
    order; keeps the partial bucket between blocks. Memory: two bytes per bucket and channel."""

    def __init__(self, sample_rate: int, channels: int, frames: int) -> None:
        self.rate = sample_rate
        self.per = samples_per_bucket(sample_rate, frames)
        self.frames = 0
        self.mins: list[NDArray[np.int8]] = []
        self.maxs: list[NDArray[np.int8]] = []
        self.part_n = 0
        self.part_min = np.zeros(channels, np.float32)
        self.part_max = np.zeros(channels, np.float32)
        self.over_finder = OverFinder(sample_rate, channels, self.per)

    def feed(
        self,
        x: NDArray[np.float32],
        chunk_bounds: NDArray[np.float32] | None = None,
        chunk: int = 0,
    ) -> None:
        """`chunk_bounds`: upper bounds on the interpolated values per channel and chunk of
        `chunk` samples of this block (TruePeakMeter.feed returns them), when the caller has
        them: the over finder then looks only where an over is possible."""
        n = x.shape[1]
        self.frames += n
        per, pos = self.per, 0
        block_peak = 0.0
        if self.part_n:
            take = min(per - self.part_n, n)
            self._extend(x[:, :take])
            block_peak = max(float(self.part_max.max()), -float(self.part_min.min()))
            pos = take
            if self.part_n == per:
                self._emit_partial()
        whole = (n - pos) // per
        if whole:
            block = x[:, pos : pos + whole * per].reshape(x.shape[0], whole, per)
            hi, lo = block.max(axis=2), block.min(axis=2)
            block_peak = max(block_peak, float(hi.max()), -float(lo.min()))
            self.maxs.append(quantise_max(hi))
            self.mins.append(quantise_min(lo))
            pos += whole * per
        if pos < n:
            self._extend(x[:, pos:])
            block_peak = max(block_peak, float(self.part_max.max()), -float(self.part_min.min()))
        self.over_finder.feed(x, block_peak, chunk_bounds, chunk)

    def _extend(self, seg: NDArray[np.float32]) -> None:
        lo, hi = seg.min(axis=1), seg.max(axis=1)
        if self.part_n:
            lo, hi = np.minimum(lo, self.part_min), np.maximum(hi, self.part_max)
        self.part_min, self.part_max = lo, hi
        self.part_n += seg.shape[1]

    def _emit_partial(self) -> None:
        self.maxs.append(quantise_max(self.part_max)[:, None])
        self.mins.append(quantise_min(self.part_min)[:, None])
        self.part_n = 0

    def finish(self, true_peak: float | None = None) -> Peaks:
        """`true_peak`: the file's true-peak reading (linear), when the caller has it: a file
        whose reading stays at or under full scale has no overs to look for."""
        if self.part_n:
            self._emit_partial()
        ch = len(self.part_min)
        empty = np.zeros((ch, 0), np.int8)
        lo = np.concatenate(self.mins, axis=1) if self.mins else empty
        hi = np.concatenate(self.maxs, axis=1) if self.maxs else empty
        return Peaks(
            self.rate, self.per, self.frames, lo, hi, tuple(self.over_finder.finish(true_peak))
        )


def peaks_from_overview(
    minima: list[list[float]], maxima: list[list[float]], *, sample_rate: int, frames: int
) -> Peaks:
    """Peaks from a report's coarse waveform overview (its N buckets cover the file evenly),
    for files measured before fine peaks were kept: coarser, but drawn the same way."""
    lo = np.asarray(minima, dtype=np.float64)
    hi = np.asarray(maxima, dtype=np.float64)
    buckets = lo.shape[1] if lo.ndim == 2 else 0
    per = max(1, -(-frames // buckets)) if buckets else 1
    if lo.ndim != 2 or lo.shape != hi.shape:
        lo = hi = np.zeros((1, 0))
    return Peaks(sample_rate, per, frames, quantise_min(lo), quantise_max(hi))


class OverFinder:
    """Where the true peak goes over 0 dBTP, bucket by bucket (the buckets of PeakBuilder).

    Exact, with the true-peak meter's interpolator, but cheap: a bucket is oversampled only when
    an upper bound from its samples (peak and second difference, as in analysis.audio.truepeak)
    says an over is possible there, and a block is skipped outright when even the filter's L1
    gain times its peak stays under full scale (every stem with the headroom studios ask for).
    """

    def __init__(self, sample_rate: int, channels: int, per: int) -> None:
        self.flt = true_peak_filter(sample_rate)
        self.hist = self.flt.taps - 1
        self.per = per
        self.buf = np.zeros((channels, self.hist), np.float32)  # history + a partial bucket
        self.next_bucket = 0  # the bucket that starts after the history in `buf`
        self.first = True
        self.overs: dict[int, float] = {}  # bucket -> highest |interpolated|, linear
        self._candidates: list[tuple[NDArray[np.float32], NDArray[np.int64], bool]] = []
        self._candidate_count = 0
        # per channel, the meter's bound over the last block's final outputs: the first bucket
        # completed by the next block holds some of them
        self.previous_tail = np.full(channels, np.inf, np.float32)

    def feed(
        self,
        x: NDArray[np.float32],
        block_peak: float,
        chunk_bounds: NDArray[np.float32] | None = None,
        chunk: int = 0,
    ) -> None:
        """`chunk_bounds` (channels x chunks of `chunk` samples), when the caller has them: the
        true-peak meter's exact bounds on |interpolated value| over the outputs whose windows
        end in each chunk of this block (TruePeakMeter.feed returns them)."""
        per, hist = self.per, self.hist
        n = x.shape[1]
        held = self.buf.shape[1] - hist
        whole = (held + n) // per
        ch = x.shape[0]
        if chunk_bounds is not None and chunk > 0 and n:
            bucket_bound = self._bucket_bounds(chunk_bounds, chunk, held, whole)
            # what the next call's first bucket needs from this block: its last `left` outputs
            left = (held + n) % per
            first_chunk = max(0, (n - left) // chunk)
            tail = chunk_bounds[:, first_chunk:].max(axis=1, initial=0.0)
            self.previous_tail = tail if left <= n else np.maximum(tail, self.previous_tail)
        else:
            bucket_bound = np.full((ch, whole), np.inf, np.float32)
            self.previous_tail = np.full(ch, np.inf, np.float32)
        worth = 0.0
        if whole and (bucket_bound > 1.0).any():
            worth = max(block_peak, float(np.abs(self.buf).max(initial=0.0))) * self.flt.l1 * SAFETY
        if worth > 1.0:
            self._check(x, bucket_bound)
        # What the next block needs: the history and the partial bucket, the end of buf + x.
        keep = hist + (held + n) % per
        tail_x = x[:, -keep:] if keep <= n else np.concatenate([self.buf, x], axis=1)
        self.buf = tail_x[:, -keep:].copy()
        if whole:
            self.first = False
        self.next_bucket += whole

    def _bucket_bounds(
        self, chunk_bounds: NDArray[np.float32], chunk: int, held: int, whole: int
    ) -> NDArray[np.float32]:
        """Per channel and completed bucket, the highest chunk bound over the bucket's outputs.
        Bucket j's outputs end at block samples [j*per - held, (j+1)*per - held): the chunks
        from lo_j to hi_j, and for j = 0 the previous block's tail as well."""
        ch = chunk_bounds.shape[0]
        if not whole:
            return np.zeros((ch, 0), np.float32)
        starts = np.arange(whole) * self.per - held
        lo = np.maximum(starts, 0) // chunk
        hi = (starts + self.per - 1) // chunk
        # reduceat covers [lo_j, lo_j+1), and lo_j+1 is hi_j or hi_j + 1: adding hi_j makes it
        # exactly [lo_j, hi_j] (the last bucket takes the rest of the block: still a bound)
        out = np.maximum(np.maximum.reduceat(chunk_bounds, lo, axis=1), chunk_bounds[:, hi])
        if starts[0] < 0:
            out[:, 0] = np.maximum(out[:, 0], self.previous_tail)
        return out

    def _check(self, x: NDArray[np.float32], bucket_bound: NDArray[np.float32]) -> None:
        """`x`: the block, whose whole buckets follow the history and partial bucket in `buf`;
        `bucket_bound`: an upper bound per channel and completed bucket from the true-peak
        meter (inf without one). Only buckets whose bound reaches full scale are looked at,
        with a bound from their own window."""
        flt = self.flt
        cc, jj = np.nonzero(bucket_bound > 1.0)
        if not len(jj):
            return
        windows = self._windows(x, cc, jj)
        # The peak and second difference over each output window (analysis.audio.truepeak).
        wmax = np.abs(windows).max(axis=1)
        d2 = windows[:, 2:] - 2.0 * windows[:, 1:-1] + windows[:, :-2]
        d2max = np.abs(d2).max(axis=1)
        bound = np.minimum(wmax * flt.l1, wmax * (1.0 + flt.resid) + d2max * flt.q_l1) * SAFETY
        keep = bound > 1.0
        if not keep.any():
            return
        windows, jj = windows[keep], jj[keep]
        # Kept, not interpolated yet: when the file's true peak turns out to stay at or under
        # full scale (most loud masters and stems), none of them can hold an over.
        self._candidates.append((windows, jj + self.next_bucket, self.first))
        self._candidate_count += windows.size
        if self._candidate_count > MAX_CANDIDATE_SAMPLES:
            self._resolve()

    def _windows(
        self, x: NDArray[np.float32], cc: NDArray[np.intp], jj: NDArray[np.intp]
    ) -> NDArray[np.float32]:
        """The input window (history included) of bucket jj[i] on channel cc[i], out of buf + x
        without joining the two: only a window that starts in `buf` needs the joined head."""
        per, width = self.per, self.per + self.hist
        rows = np.arange(width)
        start = jj * per - self.buf.shape[1]  # where the window starts in x
        windows = np.empty((len(jj), width), np.float32)
        inside = start >= 0
        windows[inside] = x[cc[inside, None], start[inside, None] + rows]
        if not inside.all():
            head = np.concatenate([self.buf, x[:, :width]], axis=1)
            early = ~inside
            windows[early] = head[cc[early, None], (jj[early] * per)[:, None] + rows]
        return windows

    def _resolve(self) -> None:
        """Interpolate the kept candidate buckets and record their overs."""
        hist = self.hist
        for windows, buckets, first in self._candidates:
            found = self._interpolated_peaks(windows)
            if first:  # outputs before the file's first sample would invent an onset click
                head = buckets == 0
                if head.any():
                    found[head] = self._interpolated_peaks(windows[head], skip=hist)
            found = np.maximum(found, np.abs(windows[:, hist:]).max(axis=1))
            for key, v in zip(buckets.tolist(), found, strict=True):
                if v > 1.0:
                    self.overs[key] = max(self.overs.get(key, 0.0), float(v))
        self._candidates, self._candidate_count = [], 0

    def _interpolated_peaks(
        self, windows: NDArray[np.float32], skip: int = 0
    ) -> NDArray[np.floating]:
        matrix = self.flt.matrix
        taps, phases = matrix.shape
        s = windows.shape[1] - (taps - 1)
        top = np.zeros(len(windows), np.float32)
        for p in range(phases):
            acc = windows[:, :s] * matrix[0, p]
            for t in range(1, taps):
                acc += windows[:, t : t + s] * matrix[t, p]
            top = np.maximum(top, np.abs(acc[:, skip:]).max(axis=1, initial=0.0))
        return top

    def finish(self, true_peak: float | None = None) -> list[tuple[int, float]]:
        """Runs of over buckets as (first bucket, highest dBTP), the first MAX_OVERS of them.
        `true_peak`: the file's reading from the true-peak meter (linear), when known."""
        if true_peak is not None and true_peak * SAFETY <= 1.0:
            self._candidates, self._candidate_count = [], 0  # nothing can be over full scale
        self._resolve()
        held = self.buf.shape[1] - self.hist
        if held and float(np.abs(self.buf).max()) * self.flt.l1 * SAFETY > 1.0:
            # The last, partial bucket: only outputs whose window lies inside the file.
            top = float(
                self._interpolated_peaks(self.buf, skip=self.hist if self.first else 0).max()
            )
            top = max(top, float(np.abs(self.buf[:, self.hist :]).max()))
            if top > 1.0:
                self.overs[self.next_bucket] = max(self.overs.get(self.next_bucket, 0.0), top)
        runs: list[tuple[int, float]] = []
        last = -2
        for bucket in sorted(self.overs):
            dbtp = 20.0 * float(np.log10(self.overs[bucket]))
            if bucket == last + 1 and runs:
                runs[-1] = (runs[-1][0], max(runs[-1][1], dbtp))
            elif len(runs) < MAX_OVERS:
                runs.append((bucket, dbtp))
            else:
                break
            last = bucket
        return runs
