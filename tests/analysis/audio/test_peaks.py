"""Waveform peaks: known signals give known minima and maxima per 20 ms bucket, whatever the
block sizes of the measuring pass, and ten minutes of stereo stay small."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.audio.filters import true_peak_filter
from analysis.audio.peaks import (
    LEVELS,
    PeakBuilder,
    Peaks,
    peaks_from_overview,
    samples_per_bucket,
)
from analysis.audio.truepeak import TruePeakMeter
from tests.analysis.audio.signals import measure


def _peaks(report_peaks: bytes | None) -> Peaks:
    assert report_peaks is not None
    return Peaks.from_bytes(report_peaks)


def test_a_known_signal_gives_known_minima_and_maxima(tmp_path: Path) -> None:
    rate = 48000
    n = 2 * rate
    left = np.where(np.arange(n) < rate, 0.5, -0.25)  # a step: +0.5 for 1 s, then -0.25
    right = 0.8 * np.sin(2 * np.pi * 1000.0 * np.arange(n) / rate)  # 20 cycles a bucket
    report = measure(tmp_path, np.stack([left, right], axis=1), rate)
    peaks = _peaks(report.peaks)

    assert (peaks.sample_rate, peaks.samples_per_bucket, peaks.channels) == (rate, 960, 2)
    assert peaks.buckets == 100 and peaks.buckets_per_second == 50.0
    assert peaks.duration_s == pytest.approx(2.0)
    # The envelope holds the signal: the minimum rounds down, the maximum up (0.5 * 127 = 63.5).
    assert set(peaks.max[0, :50]) == {64} and set(peaks.min[0, :50]) == {63}
    assert set(peaks.max[0, 50:]) == {-31} and set(peaks.min[0, 50:]) == {-32}  # -0.25 * 127
    assert set(peaks.max[1]) == {102} and set(peaks.min[1]) == {-102}  # 0.8 * 127 = 101.6
    top, bottom = peaks.envelope(4)
    assert top == pytest.approx([0.8, 0.8, 0.8, 0.8], abs=1 / LEVELS)
    assert bottom == pytest.approx([-0.8] * 4, abs=1 / LEVELS)


def test_full_scale_of_an_integer_file_reads_full_scale(tmp_path: Path) -> None:
    rate = 44100
    x = np.zeros(rate)
    x[1000] = 1.0  # positive full scale of a 24-bit file is 8388607 / 8388608
    x[30000] = -1.0
    peaks = _peaks(measure(tmp_path, np.stack([x, x], axis=1), rate, "PCM_24").peaks)
    assert peaks.samples_per_bucket == 882
    assert peaks.max[0, 1000 // 882] == LEVELS and peaks.min[0, 30000 // 882] == -LEVELS
    assert peaks.max[0, 5] == 0 and peaks.min[0, 5] == 0  # silence reads zero, not a step


def test_block_boundaries_do_not_change_the_peaks() -> None:
    rng = np.random.default_rng(3)
    x = np.clip(rng.standard_normal((2, 48000 * 3 + 123)) * 0.2, -0.99, 0.99).astype(np.float32)
    whole = PeakBuilder(48000, 2, x.shape[1])
    whole.feed(x)
    expected = whole.finish()
    pieces = PeakBuilder(48000, 2, x.shape[1])
    cuts = np.sort(rng.choice(x.shape[1], size=40, replace=False))
    for part in np.split(x, cuts, axis=1):
        pieces.feed(part)
    got = pieces.finish()
    assert got.buckets == -(-x.shape[1] // 960)  # the last, partial bucket is kept
    assert np.array_equal(got.min, expected.min) and np.array_equal(got.max, expected.max)
    # And each bucket is exactly the quantised extreme of its samples.
    b = 17
    seg = x[:, b * 960 : (b + 1) * 960]
    assert list(got.max[:, b]) == list(np.ceil(seg.max(axis=1) * LEVELS - 1e-4).astype(int))
    assert list(got.min[:, b]) == list(np.floor(seg.min(axis=1) * LEVELS + 1e-4).astype(int))


def test_ten_minutes_of_stereo_stay_under_100_kb_and_round_trip() -> None:
    rate, seconds = 48000, 600
    builder = PeakBuilder(rate, 2, rate * seconds)
    rng = np.random.default_rng(11)
    for second in range(seconds):
        # Noise, loud and quiet by turns: harder to compress than music.
        level = 0.3 + 0.6 * abs(np.sin(second / 7.0))
        builder.feed((rng.standard_normal((2, rate)) * level / 3).astype(np.float32))
    peaks = builder.finish()
    data = peaks.to_bytes()
    assert peaks.buckets == seconds * 50
    assert len(data) < 100_000, len(data)
    back = Peaks.from_bytes(data)
    assert np.array_equal(back.min, peaks.min) and np.array_equal(back.max, peaks.max)
    assert (back.sample_rate, back.samples_per_bucket, back.frames) == (rate, 960, rate * seconds)


def test_damaged_peaks_data_is_refused() -> None:
    with pytest.raises(ValueError):
        Peaks.from_bytes(b"HRPK")
    good = PeakBuilder(8000, 1, 8000)
    good.feed(np.zeros((1, 8000), np.float32))
    data = good.finish().to_bytes()
    with pytest.raises(ValueError):
        Peaks.from_bytes(b"XXXX" + data[4:])


def test_a_coarse_overview_becomes_peaks_for_files_measured_before() -> None:
    peaks = peaks_from_overview(
        [[-0.5, -1.0], [0.0, -0.1]], [[0.5, 1.0], [0.2, 0.1]], sample_rate=44100, frames=44100
    )
    assert peaks.buckets == 2 and peaks.channels == 2
    assert list(peaks.max[0]) == [64, 127] and list(peaks.min[0]) == [-64, -127]


def test_true_peak_overs_are_found_where_they_are_and_nowhere_else(tmp_path: Path) -> None:
    """A quarter-rate sine at 45 degrees: every sample is 0.707 of its amplitude, so an
    amplitude of 1.2 peaks at -1.4 dBFS on the samples and +1.58 dBTP between them."""
    rate = 48000
    t = np.arange(3 * rate) / rate
    quiet = 0.1 * np.sin(2 * np.pi * 1000.0 * t)
    # faded in and out over 10 ms, so the switch itself adds no overshoot
    fade = np.clip(np.minimum(t - 1.0, 1.5 - t) / 0.01, 0.0, 1.0)
    x = np.where(fade > 0, fade * 1.2 * np.sin(2 * np.pi * 12000.0 * t + np.pi / 4), quiet)
    report = measure(tmp_path, np.stack([x, x], axis=1), rate)
    peaks = _peaks(report.peaks)
    assert report.sample_peak_dbfs == pytest.approx(-1.4, abs=0.05)
    assert len(peaks.overs) == 1
    first, dbtp = peaks.overs[0]
    assert first == 50  # 1.0 s, in 20 ms buckets
    assert dbtp == pytest.approx(20 * np.log10(1.2), abs=0.05)
    assert dbtp == pytest.approx(report.true_peak_dbtp, abs=0.01)  # the meter's reading
    assert peaks.over_times() == [{"at_s": 1.0, "dbtp": pytest.approx(dbtp, abs=0.01)}]


def test_a_file_under_0_dbtp_has_no_overs(tmp_path: Path) -> None:
    rate = 44100
    t = np.arange(2 * rate) / rate
    x = 10 ** (-0.5 / 20) * np.sin(2 * np.pi * 997.0 * t)  # -0.5 dBTP
    peaks = _peaks(measure(tmp_path, np.stack([x, x], axis=1), rate, "PCM_24").peaks)
    assert peaks.overs == ()


def _brute_force_overs(x: np.ndarray, rate: int, per: int) -> dict[int, float]:
    """Per bucket, the highest |sample| or |interpolated value| (windows inside the signal) in
    float64, where it is over full scale."""
    flt = true_peak_filter(rate)
    hist = flt.taps - 1
    n = x.shape[1]
    top = np.zeros(-(-n // per))
    for channel in x.astype(np.float64):
        np.maximum.at(top, np.arange(n) // per, np.abs(channel))
        for p in range(flt.matrix.shape[1]):
            y = np.convolve(channel, flt.matrix[::-1, p].astype(np.float64), "valid")
            np.maximum.at(top, (np.arange(len(y)) + hist) // per, np.abs(y))
    return {int(b): float(v) for b, v in enumerate(top) if v > 1.0}


@pytest.mark.parametrize("rate", [44100, 96000])
def test_overs_with_the_meters_bounds_are_the_overs_without_them(rate: int) -> None:
    # Quiet noise, loud noise whose bounds pass full scale without an over, and short clicks
    # of a quarter-rate sine at 45 degrees (samples at 0.71 of the amplitude) just before
    # bucket starts, so their overs spill into the next bucket only by the filter's length:
    # some over full scale between the samples only, some under. Fed in uneven blocks, some
    # shorter than a bucket, so buckets straddle blocks and chunks.
    rng = np.random.default_rng(rate)
    n = rate * 4 + 77
    per = samples_per_bucket(rate, n)
    x = (0.02 * rng.standard_normal((2, n))).astype(np.float32)
    x[:, rate : 2 * rate] = np.clip(0.3 * rng.standard_normal((2, rate)), -0.9, 0.9)
    t = np.arange(6)
    for i in range(40):
        at = (2 * rate // per + 2 * i) * per - (i * 7) % 30
        amplitude = 1.25 if i % 3 else 0.9
        x[i % 2, at : at + 6] = amplitude * np.sin(np.pi / 2 * t + np.pi / 4)
    chunk = rate // 100
    with_bounds = PeakBuilder(rate, 2, n)
    without = PeakBuilder(rate, 2, n)
    meter = TruePeakMeter(rate, 2, chunk)
    sizes = [rate, 100, 37, rate // 2 + 5, 960, 1]
    start, i, sample_peak = 0, 0, 0.0
    while start < n:
        part = np.ascontiguousarray(x[:, start : start + sizes[i % len(sizes)]])
        sample_peak = max(sample_peak, float(np.abs(part).max()))
        with_bounds.feed(part, meter.feed(part, sample_peak), chunk)
        without.feed(part)
        start += part.shape[1]
        i += 1
    found = with_bounds.finish(meter.flush())
    assert found.overs == without.finish().overs
    assert with_bounds.over_finder.overs == without.over_finder.overs
    expected = _brute_force_overs(x, rate, with_bounds.per)
    got = with_bounds.over_finder.overs
    assert {b for b, v in expected.items() if v > 1.0 + 1e-4} <= set(got) <= set(expected)
    assert len(got) >= 26  # every loud click is there
    for b, v in got.items():
        assert v == pytest.approx(expected[b], rel=1e-5)
