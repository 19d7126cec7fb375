"""Per-file findings: turn a measured Report into what the client reads (what, where, how to fix),
judged against the studio policy's thresholds."""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3


@dataclass(frozen=True)
class Thresholds:
    """The studio policy's per-file limits, with the defaults from intake-analysis.md."""

    allowed_clip_events: int = 3  # more than this is an error; 1..this many is minor (warning)
    low_headroom_dbfs: float = -3.0  # sample peak above this (and no clipping): low_headroom
    target_peak_dbfs: float = -6.0  # what a re-export should peak at (3 to 6 dB of headroom)
    dc_offset_dbfs: float = -60.0  # |DC| above this on any channel (0.1 % of full scale)
    phase_correlation: float = -0.9  # stereo correlation below this: phase_inverted
    true_peak_ceiling_dbtp: float = -1.0  # a delivered master must not exceed this
    flat_top_min_events: int = 2  # flat tops must recur before they count as clipping
    max_decoded_bytes: int = 8 * GIB  # frames * channels * 4 bytes, checked before decoding
