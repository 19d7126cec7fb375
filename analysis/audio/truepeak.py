"""Streaming true-peak meter (BS.1770-4 Annex 2) that oversamples only where the peak can be.

The interpolated value can never exceed an exact bound computed from the input window (the
filter's L1 gain times the window's peak, or a tighter one from the second difference), so a
chunk whose bound is at or below the reading cannot change it and is never oversampled. Chunks
that might matter are kept (their input windows, a few KB each) and oversampled highest bound
first, so the reading soon reaches the file's real peak and most candidates fall below it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .filters import true_peak_filter

# float32 rounding in the bound and the product: keep a margin so pruning stays exact
SAFETY = 1.0 + 1e-5
MAX_PENDING = 4096  # chunks kept before a flush: 4096 x (chunk + 16) floats, ~8 MB at 48 kHz


class TruePeakMeter:
    """Feed blocks of samples (channels x frames, float32, full scale 1.0) in order."""

    def __init__(self, sample_rate: int, channels: int, chunk: int) -> None:
        self.filter = true_peak_filter(sample_rate)
        self.chunk = chunk
        self.channels = channels
        self.history = np.zeros((channels, self.filter.taps - 1), dtype=np.float32)
        self.peak = 0.0  # highest |interpolated| value found so far (linear)
        self.floor = 0.0  # the reading without oversampling: sample peak so far
        self.chunks_total = 0
        self.chunks_oversampled = 0
        self._bounds: list[NDArray[np.float32]] = []
        self._windows: list[NDArray[np.float32]] = []
        self._ranges: list[NDArray[np.int64]] = []  # per kept chunk: valid outputs [lo, hi)
        self._pending = 0
        self._first = True  # the next block is the file's first
        self._xw: NDArray[np.float32] | None = None  # reused buffers: no allocation per block
        self._work: NDArray[np.float32] | None = None
        self._diff: NDArray[np.float32] | None = None

    def feed(self, x: NDArray[np.float32], sample_peak: float) -> NDArray[np.float32]:
        """`x`: channels x frames; `sample_peak`: highest |sample| so far, this block included.
        Returns exact upper bounds on |interpolated value| per channel and chunk of this block
        (over the outputs whose windows end in the chunk), so other meters (the peaks' over
        finder) can skip what cannot matter without computing the same bounds again."""
        ch, n = x.shape
        if n == 0:
            return np.zeros((ch, 0), dtype=np.float32)
        flt = self.filter
        s = self.chunk
        hist = flt.taps - 1
        nch = -(-n // s)
        width = (nch + 1) * s
        self.chunks_total += nch * ch
        self.floor = max(self.floor, sample_peak, self.peak)
        first, self._first = self._first, False
        # window for the outputs of chunk i: xw[:, i*s : i*s + s + hist]
        if self._xw is None or self._xw.shape[1] < width:
            self._xw = np.zeros((ch, width), dtype=np.float32)
            self._work = np.empty((ch, width), dtype=np.float32)
            self._diff = np.empty((ch, width), dtype=np.float32)
        xw = self._xw[:, :width]
        work = self._work[:, :width]  # type: ignore[index]
        xw[:, :hist] = self.history
        xw[:, hist : hist + n] = x
        xw[:, hist + n :] = 0.0
        self.history = x[:, n - hist :].copy() if n >= hist else xw[:, n : n + hist].copy()

        np.abs(xw, out=work)
        a = work.reshape(ch, nch + 1, s).max(axis=2)
        wmax = np.maximum(a[:, :-1], a[:, 1:])  # hist <= s: a window spans two chunks at most
        bound: NDArray[np.float32] = wmax * np.float32(flt.l1 * SAFETY)
        if not (bound > self.floor).any():
            return bound
        # second difference: (x[i+2] - x[i+1]) - (x[i+1] - x[i]), the first difference in
        # `diff` and the second in `work`. Never from one buffer into itself shifted by one:
        # numpy would see the overlap and copy the operands first (twice as slow).
        diff = self._diff[:, :width]  # type: ignore[index]
        np.subtract(xw[:, 1:], xw[:, :-1], out=diff[:, :-1])
        np.subtract(diff[:, 1:-1], diff[:, :-2], out=work[:, :-2])
        work[:, -2:] = 0.0
        np.abs(work, out=work)
        d2c = work.reshape(ch, nch + 1, s).max(axis=2)
        d2w = np.maximum(d2c[:, :-1], d2c[:, 1:])
        tight = (wmax * np.float32(1.0 + flt.resid) + d2w * np.float32(flt.q_l1)) * SAFETY
        bound = np.minimum(bound, tight)
        cc, ii = np.nonzero(bound > self.floor)
        if len(ii) == 0:
            return bound
        b = bound[cc, ii]
        lo = np.where((ii == 0) & first, hist, 0)
        hi = np.minimum(s, n - ii * s)
        # Only outputs whose whole window lies inside the file count: before the first sample
        # and after the last the signal is unknown, and taking it as silence would invent an
        # onset "click" (an abrupt start over-reads by up to 0.7 dB, in libebur128 as well).
        ranges = np.stack([lo, hi], axis=1)
        # The block's most promising chunk right away: it lifts the floor to about the real
        # peak so far, and most other candidates of this and later blocks fall below it.
        top = int(np.argmax(b))
        rows = np.arange(s + hist)
        self._oversample(xw[cc[top], ii[top] * s + rows][None, :], ranges[top : top + 1])
        self.floor = max(self.floor, self.peak)
        keep = b > self.floor
        keep[top] = False
        if not keep.any():
            return bound
        cc, ii = cc[keep], ii[keep]
        self._windows.append(xw[cc[:, None], ii[:, None] * s + rows[None, :]])
        self._bounds.append(b[keep])
        self._ranges.append(ranges[keep])
        self._pending += len(ii)
        if self._pending > MAX_PENDING:
            self.flush()
        return bound

    def flush(self) -> float:
        """Oversample the kept chunks, highest bound first, until none can beat the reading.
        Returns the reading so far (linear): max(sample peak, interpolated peak)."""
        if self._pending:
            bounds = np.concatenate(self._bounds)
            windows = np.concatenate(self._windows)
            ranges = np.concatenate(self._ranges)
            self._bounds, self._windows, self._ranges, self._pending = [], [], [], 0
            order = np.argsort(bounds)[::-1]
            bounds, windows, ranges = bounds[order], windows[order], ranges[order]
            start, step = 0, 1
            while start < len(bounds) and bounds[start] > self.floor:
                stop = start + step
                # stop at the first bound the reading already beats
                stop = start + int(np.searchsorted(-bounds[start:stop], -self.floor, "left"))
                self._oversample(windows[start:stop], ranges[start:stop])
                self.floor = max(self.floor, self.peak)
                start, step = stop, step * 4  # small batches first: they raise the floor soonest
        return max(self.floor, self.peak)

    def _oversample(self, windows: NDArray[np.float32], ranges: NDArray[np.int64]) -> None:
        """Polyphase interpolation of whole chunks at once: one multiply-add per tap over a
        (phases x chunks x chunk) array, every phase in the same numpy call (a single chunk,
        as each block oversamples, is then 34 calls instead of 102), in batches that stay in
        the cache."""
        if len(windows) == 0:
            return
        matrix = self.filter.matrix
        taps, phases = matrix.shape
        # column t of `coef`: tap t of every phase, shaped to broadcast over chunks x samples
        coef = matrix[:, :, None, None]
        s = self.chunk
        peak = self.peak
        batch = max(1, 65536 // (s * phases))
        for j in range(0, len(windows), batch):
            w = windows[None, j : j + batch]
            r = ranges[j : j + batch]
            acc = np.empty((phases, w.shape[1], s), dtype=np.float32)
            tmp = np.empty_like(acc)
            np.multiply(w[:, :, :s], coef[0], out=acc)
            for t in range(1, taps):
                np.multiply(w[:, :, t : t + s], coef[t], out=tmp)
                acc += tmp
            if (r[:, 0] > 0).any() or (r[:, 1] < s).any():
                at = np.arange(s)[None, :]
                acc *= ((at >= r[:, :1]) & (at < r[:, 1:])).astype(np.float32)
            peak = max(peak, float(acc.max()), -float(acc.min()))
        self.chunks_oversampled += len(windows)
        self.peak = peak
