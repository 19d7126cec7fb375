"""Runs of consecutive flagged samples (clipped or flat-topped) per channel, carried across
block boundaries, then merged across channels into events."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class RunTracker:
    """Collects runs of >= `min_len` flagged samples, with the sample values just outside each run
    (NaN at the file's edges), so callers can tell a cornered flat top from a rounded crest."""

    def __init__(self, channels: int, min_len: int = 3) -> None:
        self.min_len = min_len
        self.open_start = np.full(channels, -1, dtype=np.int64)
        self.open_before = np.full(channels, np.nan)
        self.last = np.full(channels, np.nan)  # the previous block's last sample per channel
        self._parts: list[NDArray[np.float64]] = []  # rows: start, end, before, after, channel

    def feed(self, mask: NDArray[np.bool_] | None, x: NDArray[np.floating], offset: int) -> None:
        """`mask` and `x` are channels x frames; `mask` None means nothing flagged in this block."""
        n = x.shape[1]
        if n == 0:
            return
        for c in range(x.shape[0]):
            m = None if mask is None else mask[c]
            if m is None or not m.any():
                if self.open_start[c] >= 0:
                    self._add(self.open_start[c], offset, self.open_before[c], float(x[c, 0]), c)
                    self.open_start[c] = -1
                continue
            d = np.diff(m.view(np.int8), prepend=np.int8(0), append=np.int8(0))
            st = np.flatnonzero(d == 1)
            en = np.flatnonzero(d == -1)
            before = np.where(st > 0, x[c, np.maximum(st - 1, 0)], self.last[c]).astype(np.float64)
            after = np.where(en < n, x[c, np.minimum(en, n - 1)], np.nan).astype(np.float64)
            gst = (st + offset).astype(np.int64)
            gen = (en + offset).astype(np.int64)
            if self.open_start[c] >= 0:
                if st[0] == 0:
                    gst[0] = self.open_start[c]
                    before[0] = self.open_before[c]
                else:
                    self._add(self.open_start[c], offset, self.open_before[c], float(x[c, 0]), c)
                self.open_start[c] = -1
            if en[-1] == n:  # still running at the block's end: decide in a later block
                self.open_start[c] = gst[-1]
                self.open_before[c] = before[-1]
                gst, gen, before, after = gst[:-1], gen[:-1], before[:-1], after[:-1]
            keep = gen - gst >= self.min_len
            if keep.any():
                rows = np.stack([gst[keep], gen[keep], before[keep], after[keep],
                                 np.full(int(keep.sum()), c)], axis=1)  # fmt: skip
                self._parts.append(rows.astype(np.float64))
        self.last = x[:, -1].astype(np.float64)

    def _add(self, start: int, end: int, before: float, after: float, c: int) -> None:
        if end - start >= self.min_len:
            self._parts.append(np.array([[start, end, before, after, c]], dtype=np.float64))

    def finish(self, end: int) -> NDArray[np.float64]:
        """Close runs still open at the end of the file; return all runs (start, end, before,
        after, channel) sorted by start."""
        for c in np.flatnonzero(self.open_start >= 0):
            self._add(int(self.open_start[c]), end, float(self.open_before[c]), np.nan, int(c))
            self.open_start[c] = -1
        if not self._parts:
            return np.zeros((0, 5))
        runs = np.concatenate(self._parts)
        return runs[np.argsort(runs[:, 0], kind="stable")]


def merge_events(runs: NDArray[np.float64]) -> list[int]:
    """Start frames of events: runs that overlap in time (on any channels) are one event."""
    if len(runs) == 0:
        return []
    ends_so_far = np.maximum.accumulate(runs[:, 1])
    new = np.ones(len(runs), dtype=bool)
    new[1:] = runs[1:, 0] >= ends_so_far[:-1]
    return [int(v) for v in runs[new, 0]]
