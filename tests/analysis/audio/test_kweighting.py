"""K-weighted energy: channels filtered two at a time (as one complex signal) give what each
channel filtered on its own gives, whatever the layout, across blocks of any length."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from analysis.audio.filters import channel_weights, k_weighting_sections
from analysis.audio.kweighting import KWeightedEnergy
from analysis.audio.sections import sosfilt_inplace


def one_channel_at_a_time(x: np.ndarray, rate: int, unit: int) -> np.ndarray:
    """The energy of each 10 ms unit, every channel filtered alone (in float32, as the meter's
    sections are) and weighted by BS.1770's channel weights."""
    sos = k_weighting_sections(rate).astype(np.float32)
    weights = channel_weights(x.shape[0])
    units = x.shape[1] // unit
    total = np.zeros(units)
    for c in range(x.shape[0]):
        y = x[c : c + 1].copy()
        sosfilt_inplace(sos, y, np.zeros((1, sos.shape[0], 2), dtype=np.float32))
        squares = y[0, : units * unit].astype(np.float64).reshape(units, unit) ** 2
        total += weights[c] * squares.sum(axis=1)
    return total


@pytest.mark.parametrize(
    ("channels", "rate"),
    [(1, 48000), (2, 44100), (3, 48000), (5, 96000), (6, 48000), (8, 48000)],
)
def test_pairs_measure_as_each_channel_alone(channels: int, rate: int) -> None:
    rng = np.random.default_rng(channels)
    unit = rate // 100
    x = (rng.standard_normal((channels, unit * 37)) * 0.2).astype(np.float32)
    x[-1] *= 0.3  # channels of one weight that differ
    meter = KWeightedEnergy(rate, channels, unit)
    # Fed in blocks of whole units of different lengths: the filter state runs across them.
    cuts = [0, unit * 5, unit * 6, unit * 20, unit * 37]
    fed = np.concatenate([meter.feed(x[:, a:b].copy()) for a, b in pairwise(cuts)])
    expected = one_channel_at_a_time(x, rate, unit)
    assert fed.shape == expected.shape == (37,)
    np.testing.assert_allclose(fed, expected, rtol=2e-5)
    if channels >= 6:  # the LFE is not measured: changing it changes nothing
        louder = x.copy()
        louder[3] *= 10
        again = KWeightedEnergy(rate, channels, unit).feed(louder)
        np.testing.assert_array_equal(again, KWeightedEnergy(rate, channels, unit).feed(x))


def test_a_block_shorter_than_a_unit_counts_nothing_but_is_filtered() -> None:
    rate, unit = 48000, 480
    x = (np.random.default_rng(1).standard_normal((2, unit * 3)) * 0.1).astype(np.float32)
    split = KWeightedEnergy(rate, 2, unit)
    assert split.feed(x[:, :100].copy()).shape == (0,)
    rest = split.feed(x[:, 100:].copy())
    # The units now start 100 samples in, with the filter's state carried over those 100: the
    # same energies as the whole signal filtered in one go, counted from sample 100.
    sos = k_weighting_sections(rate).astype(np.float32)
    y = x.copy()
    sosfilt_inplace(sos, y, np.zeros((2, sos.shape[0], 2), dtype=np.float32))
    squares = y[:, 100 : 100 + 2 * unit].astype(np.float64) ** 2
    expected = squares.reshape(2, 2, unit).sum(axis=(0, 2))
    np.testing.assert_allclose(rest, expected, rtol=2e-5)
