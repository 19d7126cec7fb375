"""Sample peak, clipping (integer codes, float files), flat tops, silence, stereo image, DC and
the waveform overview, on files written at the bit depths clients send."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from .signals import measure, sine, stereo

RATE = 48000


def clipped_sine(gain: float, bits: int, seconds: float = 1.0, freq: float = 100.0) -> np.ndarray:
    """A sine driven `gain` times past full scale and hard-clipped at the format's codes,
    returned as left-justified int32 (what soundfile writes to 16/24-bit files)."""
    full = 2 ** (bits - 1)
    x = gain * np.sin(2 * np.pi * freq * np.arange(round(seconds * RATE)) / RATE)
    codes = np.clip(np.round(x * full), -full, full - 1).astype(np.int64)
    return (codes << (32 - bits)).astype(np.int32)


@pytest.mark.parametrize(("bits", "subtype"), [(16, "PCM_16"), (24, "PCM_24")])
def test_integer_full_scale_runs_are_clipping(tmp_path: Path, bits: int, subtype: str) -> None:
    x = clipped_sine(1.5, bits)  # 100 Hz for 1 s: 100 positive and 100 negative flat crests
    report = measure(tmp_path, x, RATE, subtype)
    assert report.clipping.events == 200
    assert report.clipping.full_scale_samples > 600
    assert report.sample_peak_dbfs == pytest.approx(0.0, abs=1e-9)
    onset = np.arcsin(1 / 1.5) / (2 * np.pi * 100)  # where 1.5 sin(wt) first passes full scale
    assert report.clipping.first_events_s[0] == pytest.approx(onset, abs=0.001)


def test_positive_full_scale_24_bit_code_counts(tmp_path: Path) -> None:
    # Only the positive half clips, at 8388607: a float comparison with 1.0 would miss it.
    x = clipped_sine(1.5, 24)
    x = np.where(x < 0, x // 2, x).astype(np.int32)
    report = measure(tmp_path, x, RATE, "PCM_24")
    assert report.clipping.events == 100


def test_runs_on_both_channels_at_once_are_one_event(tmp_path: Path) -> None:
    x = clipped_sine(1.5, 16)
    y = np.roll(x, 1)  # the right channel's runs overlap the left's
    report = measure(tmp_path, np.stack([x, y], axis=1), RATE, "PCM_16")
    assert report.clipping.events == 200


def test_runs_shorter_than_three_are_not_events(tmp_path: Path) -> None:
    x = np.zeros(RATE, dtype=np.int32)
    x[1000:1002] = np.iinfo(np.int16).max << 16  # two samples at full scale
    report = measure(tmp_path, x, RATE, "PCM_16")
    assert report.clipping.events == 0 and report.clipping.full_scale_samples == 2


def test_a_run_across_a_block_boundary_is_one_event(tmp_path: Path) -> None:
    x = np.zeros(3 * RATE, dtype=np.int32)
    x[RATE - 2 : RATE + 2] = np.iinfo(np.int16).max << 16  # blocks are one second long
    report = measure(tmp_path, x, RATE, "PCM_16")
    assert report.clipping.events == 1
    assert report.clipping.first_events_s == [pytest.approx((RATE - 2) / RATE, abs=1e-3)]


def test_float_above_full_scale_is_over_not_clipping(tmp_path: Path) -> None:
    x = 1.5 * np.sin(2 * np.pi * 100 * np.arange(RATE) / RATE)
    report = measure(tmp_path, stereo(x), RATE, "FLOAT")
    assert report.over_full_scale
    assert report.clipping.events == 0
    assert report.sample_peak_dbfs == pytest.approx(20 * np.log10(1.5), abs=0.01)


def test_float_runs_at_exactly_full_scale_are_clipping(tmp_path: Path) -> None:
    x = np.clip(1.5 * np.sin(2 * np.pi * 100 * np.arange(RATE) / RATE), -1.0, 1.0)
    report = measure(tmp_path, stereo(x), RATE, "FLOAT")
    assert report.clipping.events == 200
    assert not report.over_full_scale


def test_clipped_then_turned_down_is_flat_topped(tmp_path: Path) -> None:
    x = 0.5 * np.clip(1.5 * np.sin(2 * np.pi * 100 * np.arange(RATE) / RATE), -1.0, 1.0)
    codes = (np.round(x * 32768).astype(np.int32)) << 16
    report = measure(tmp_path, codes, RATE, "PCM_16")
    assert report.clipping.events == 0
    assert report.clipping.flat_top_events == 200
    assert report.sample_peak_dbfs == pytest.approx(-6.02, abs=0.01)


@pytest.mark.parametrize("freq", [20.0, 41.0, 5.0])
def test_a_slow_16_bit_sine_has_no_flat_tops(tmp_path: Path, freq: float) -> None:
    # Rounded to 16 bits, the crest of a slow sine is a run of identical samples at the peak in
    # every cycle; it steps off its plateau by one code, a clipped crest falls off a corner.
    x = sine(freq, -6.0, 4.0, RATE)
    codes = (np.round(x * 32768).astype(np.int32)) << 16
    report = measure(tmp_path, codes, RATE, "PCM_16")
    assert report.clipping.flat_top_events == 0


def test_leading_and_trailing_silence(tmp_path: Path) -> None:
    x = np.zeros(5 * RATE)
    x[RATE // 2 : 4 * RATE] = sine(440, -12.0, 3.5, RATE)
    x[RATE // 2] = 0.25  # first non-zero sample at exactly 0.5 s
    x[4 * RATE - 1] = 0.25  # last one at 4 s - 1 sample
    report = measure(tmp_path, stereo(x), RATE)
    assert report.silence.leading_s == pytest.approx(0.5, abs=1e-6)
    assert report.silence.trailing_s == pytest.approx(1.0, abs=1e-6)
    assert not report.silence.fully_silent


def test_stereo_image(tmp_path: Path) -> None:
    x = sine(440, -12.0, 2.0, RATE)
    same = measure(tmp_path, stereo(x), RATE, name="same.wav")
    assert same.stereo is not None and same.stereo.dual_mono
    assert same.stereo.correlation == pytest.approx(1.0, abs=1e-6)
    inverted = measure(tmp_path, np.stack([x, -x], axis=1), RATE, name="inv.wav")
    assert inverted.stereo is not None and inverted.stereo.phase_inverted
    assert not inverted.stereo.dual_mono
    wide = measure(tmp_path, np.stack([x, sine(660, -12.0, 2.0, RATE)], axis=1), RATE, name="w.wav")
    assert wide.stereo is not None and abs(wide.stereo.correlation or 0.0) < 0.05


def test_dc_offset_per_channel(tmp_path: Path) -> None:
    x = sine(440, -12.0, 2.0, RATE)
    report = measure(tmp_path, np.stack([x + 0.01, x], axis=1), RATE)
    assert report.dc_offset[0] == pytest.approx(0.01, abs=1e-4)
    assert abs(report.dc_offset[1]) < 1e-5


def test_waveform_overview(tmp_path: Path) -> None:
    x = np.zeros(10 * RATE)
    x[5 * RATE : 5 * RATE + 10] = 0.5  # a short pulse in the middle
    report = measure(tmp_path, stereo(x), RATE)
    wave = report.waveform
    assert wave is not None and wave.buckets == 1000
    assert len(wave.max) == 2 and len(wave.max[0]) == 1000
    assert wave.max[0][500] == pytest.approx(0.5) and wave.max[0][499] == 0.0
    assert max(wave.max[1]) == pytest.approx(0.5) and min(wave.min[1]) == 0.0


def test_short_file_waveform_and_loudness(tmp_path: Path) -> None:
    x = sine(440, -12.0, 0.01, RATE)  # 480 samples: fewer than buckets, shorter than a block
    report = measure(tmp_path, x, RATE)
    assert report.waveform is not None and report.waveform.buckets == 480
    assert report.integrated_lufs is None  # no complete 400 ms block
    assert report.sample_peak_dbfs == pytest.approx(-12.0, abs=0.01)


def test_32_bit_integer_full_scale(tmp_path: Path) -> None:
    x = np.clip(np.round(1.5 * np.sin(2 * np.pi * 100 * np.arange(RATE) / RATE) * 2**31),
                -(2**31), 2**31 - 1).astype(np.int32)  # fmt: skip
    report = measure(tmp_path, x, RATE, "PCM_32")
    assert report.clipping.events == 200
    assert report.format is not None and report.format.bit_depth == 32


def test_float64_file(tmp_path: Path) -> None:
    report = measure(tmp_path, stereo(sine(997, -20.0, 2.0, RATE)), RATE, "DOUBLE")
    assert report.format is not None and report.format.is_float and report.format.bit_depth is None
    assert report.rms_dbfs == pytest.approx(-23.01, abs=0.01)
