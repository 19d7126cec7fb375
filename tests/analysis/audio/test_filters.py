"""The filters themselves: K-weighting against the coefficients BS.1770 publishes for 48 kHz, the
true-peak interpolator against its passband spec, and the pruned true-peak meter against full
oversampling of every sample (pruning must never change the reading)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import freqz, sosfilt

from analysis.audio import sections
from analysis.audio.filters import k_weighting, k_weighting_sections, true_peak_filter
from analysis.audio.synth import music_like
from analysis.audio.truepeak import TruePeakMeter


def test_k_weighting_matches_the_published_48k_coefficients() -> None:
    # ITU-R BS.1770-4, Tables 1 and 2 (pre-filter and RLB filter at 48 kHz)
    shelf_b = [1.53512485958697, -2.69169618940638, 1.19839281085285]
    shelf_a = [1.0, -1.69065929318241, 0.73248077421585]
    hp_b = [1.0, -2.0, 1.0]
    hp_a = [1.0, -1.99004745483398, 0.99007225036621]
    b, a = k_weighting(48000)
    assert np.allclose(b, np.convolve(shelf_b, hp_b), atol=1e-6)
    assert np.allclose(a, np.convolve(shelf_a, hp_a), atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loop", ["loaded", "public"])
def test_sections_in_blocks_equal_scipy_sosfilt_over_the_whole(dtype: type, loop: str) -> None:
    # The loop loaded from scipy's extension file (and the public fallback) with the state
    # carried across uneven blocks, against scipy.signal.sosfilt over the whole signal at once.
    sos = k_weighting_sections(44100).astype(dtype)
    x = np.random.default_rng(7).standard_normal((3, 10007)).astype(dtype)
    expected = sosfilt(sos, x, axis=1)
    run = sections._LOOP if loop == "loaded" else sections._public
    if loop == "loaded":
        assert run is not sections._public  # this scipy's loop was found and checked
    zi = np.zeros((3, len(sos), 2), dtype=dtype)
    pieces = []
    for lo, hi in [(0, 1), (1, 4000), (4000, 4001), (4001, 10007)]:
        y = np.ascontiguousarray(x[:, lo:hi])
        run(sos, y, zi)
        pieces.append(y)
    got = np.concatenate(pieces, axis=1)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert np.allclose(got, expected, rtol=0, atol=tolerance * np.abs(expected).max())


@pytest.mark.parametrize("rate", [44100, 48000, 96000, 192000])
def test_interpolator_passband_and_factor(rate: int) -> None:
    flt = true_peak_filter(rate)
    assert flt.factor == (4 if rate < 88200 else 2)
    # rebuild the prototype from the branches: phase 0 is the delay, the matrix holds the rest
    taps = np.zeros((flt.factor, flt.taps))
    taps[0, flt.center] = 1.0
    taps[1:] = flt.matrix[::-1].T
    proto = taps.T.reshape(-1)  # h[k*L + p] = branch p, tap k
    freqs, response = freqz(proto, worN=8192, fs=flt.factor)
    gain_db = 20 * np.log10(np.abs(response[freqs <= 0.40]) / flt.factor)
    assert gain_db.min() >= -0.05 and gain_db.max() <= 0.05


def brute_force_peak(x: np.ndarray, rate: int) -> float:
    """Every in-between phase at every position whose window lies inside the signal."""
    flt = true_peak_filter(rate)
    peak = float(np.abs(x).max())
    for channel in x:
        for p in range(flt.matrix.shape[1]):
            y = np.convolve(channel.astype(np.float64), flt.matrix[::-1, p], "valid")
            peak = max(peak, float(np.abs(y).max()))
    return peak


@pytest.mark.parametrize("material", ["noise", "music", "bursts"])
@pytest.mark.parametrize("rate", [48000, 96000])
def test_pruning_never_changes_the_reading(material: str, rate: int) -> None:
    rng = np.random.default_rng(rate)
    n = rate * 3 + 123  # not a whole number of blocks or chunks
    if material == "noise":
        x = (0.2 * rng.standard_normal((2, n))).astype(np.float32)
    elif material == "music":
        x = music_like(1.0, n / rate, rate).T.copy()
    else:  # quiet noise with rare loud high-frequency bursts: the peak hides between samples
        x = (0.01 * rng.standard_normal((2, n))).astype(np.float32)
        for at in rng.integers(0, n - 64, 12):
            x[:, at : at + 64] += 0.7 * np.cos(np.pi * 0.43 * np.arange(64) + rng.uniform(0, 6))
    meter = TruePeakMeter(rate, 2, rate // 100)
    sample_peak = 0.0
    block = rate
    for start in range(0, n, block):
        part = np.ascontiguousarray(x[:, start : start + block])
        sample_peak = max(sample_peak, float(np.abs(part).max()))
        meter.feed(part, sample_peak)
    reading = meter.flush()
    assert reading == pytest.approx(brute_force_peak(x, rate), rel=1e-5)
    if material != "noise":
        assert meter.chunks_oversampled < meter.chunks_total / 4  # the bound does prune
