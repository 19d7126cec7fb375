"""Filter designs shared by the meters: BS.1770 K-weighting for any sample rate and the true-peak
interpolation filter (BS.1770-4 Annex 2), with the constants the pruning bound needs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray


@lru_cache(maxsize=32)
def k_weighting_sections(sample_rate: int) -> NDArray[np.float64]:
    """The K-weighting cascade as second-order sections, one row (b0, b1, b2, 1, a1, a2) each:
    the high shelf, then the RLB high-pass.

    BS.1770 publishes coefficients for 48 kHz only; like libebur128 we re-derive them from the
    analogue prototypes through the bilinear transform, so every sample rate gets the same curve.
    """
    f0 = 1681.974450955533
    gain_db = 3.999843853973347
    q = 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
        1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0,
    ]  # fmt: skip

    f0 = 38.13547087602444
    q = 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1.0 + k / q + k * k
    high_pass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, high_pass])


def k_weighting(sample_rate: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The same cascade as one 4th-order (b, a), for analysis of the curve. Filtering runs the
    sections: a single 4th-order filter in float32 is 0.3 dB off at 48 kHz (poles near z = 1)."""
    shelf, high_pass = k_weighting_sections(sample_rate)
    return np.convolve(shelf[:3], high_pass[:3]), np.convolve(shelf[3:], high_pass[3:])


def channel_weights(channels: int) -> NDArray[np.float64]:
    """BS.1770 channel weights, with libebur128's default layout (so results compare side by side).

    1-3 channels: all 1.0. 4: L R Ls Rs. 5: L R C Ls Rs. 6 and more: the WAV/SMPTE order
    L R C LFE Ls Rs ...: the LFE is left out (weight 0) and every surround/back channel gets 1.41.
    """
    if channels == 4:
        return np.array([1.0, 1.0, 1.41, 1.41])
    if channels == 5:
        return np.array([1.0, 1.0, 1.0, 1.41, 1.41])
    if channels >= 6:
        return np.array([1.0, 1.0, 1.0, 0.0] + [1.41] * (channels - 4))
    return np.ones(channels)


@dataclass(frozen=True)
class TruePeakFilter:
    factor: int  # oversampling factor L
    taps: int  # taps per polyphase branch T
    center: int  # the branch tap index k where phase 0 is a pure delay (h_0 = delta[k - center])
    # (T, L-1): column p-1 holds branch p's taps reversed, so a window x[n-T+1 .. n] @ matrix gives
    # the interpolated samples between x[n-center] and x[n-center+1]. Phase 0 is the input sample
    # itself (a Nyquist filter), which the sample peak already covers, so it is never computed.
    matrix: NDArray[np.float32]
    l1: float  # max over branches of sum |h_p|: |y| <= l1 * max|x in the window|
    # Tighter bound for smooth material: y_p = linear interpolation + sum q_p * (second difference)
    # + a tiny residual, so |y| <= max|x| * (1 + resid) + q_l1 * max|second difference|.
    q_l1: float
    resid: float


@lru_cache(maxsize=8)
def true_peak_filter(sample_rate: int) -> TruePeakFilter:
    """Kaiser-windowed sinc interpolator: 4x below 88.2 kHz, 2x above (BS.1770-4 Annex 2).

    17 taps per branch, beta 5: passband ripple -0.02/+0.02 dB up to 0.40 fs (the spec asks for
    +/-0.05 dB), images 53 dB down. A windowed sinc is a Nyquist filter: phase 0 reproduces the
    input samples exactly, so only the L-1 in-between phases cost anything.
    """
    factor = 4 if sample_rate < 88200 else 2
    taps = 17
    n = factor * (taps - 1) + 1
    m = np.arange(n)
    centre_hi = (n - 1) // 2
    h = np.sinc((m - centre_hi) / factor) * np.kaiser(n, 5.0)
    branches = np.zeros((factor, taps))
    for p in range(factor):
        t = h[p::factor]
        branches[p, : len(t)] = t
    center = centre_hi // factor
    # Branch p (p >= 1) interpolates at fraction f = p/L after x[n-center]... in tap index terms
    # y_p[n] = sum_k h_p[k] x[n-k] estimates x at time n - center + p/L, which lies between
    # taps k = center (weight 1-f) and k = center-1 (weight f).
    l1 = float(np.abs(branches).sum(axis=1).max())
    q_l1 = 0.0
    resid = 0.0
    for p in range(1, factor):
        f = p / factor
        lin = np.zeros(taps)
        lin[center] = 1.0 - f
        lin[center - 1] = f
        g = branches[p] - lin
        # Remove the tiny residual 0th and 1st moments with a 2-tap correction so that what is
        # left is exactly a second difference filtered by q (g = [1, -2, 1] * q + correction).
        k = np.arange(taps)
        m0 = g.sum()
        m1 = (g * (k - center)).sum()
        corr = np.zeros(taps)
        corr[center] = m0 - m1
        corr[center + 1] = m1
        g2 = g - corr
        q = np.zeros(taps - 2)
        rem = g2.copy()
        for i in range(taps - 2):  # polynomial long division by [1, -2, 1]
            q[i] = rem[i]
            rem[i : i + 3] -= q[i] * np.array([1.0, -2.0, 1.0])
        q_l1 = max(q_l1, float(np.abs(q).sum()))
        resid = max(resid, float(np.abs(corr).sum() + np.abs(rem).sum()))
    matrix = np.ascontiguousarray(branches[1:, ::-1].T.astype(np.float32))
    return TruePeakFilter(factor, taps, center, matrix, l1, q_l1, resid)
