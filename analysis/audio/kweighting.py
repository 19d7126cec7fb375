"""K-weighted energy per 10 ms unit, block by block with the filter state carried across blocks:
what the loudness measures (analysis.audio.loudness) are computed from."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .filters import channel_weights, k_weighting_sections
from .sections import sosfilt_inplace


class KWeightedEnergy:
    """Feed blocks (channels x frames, float32) in order; each returns, per complete unit of
    `unit` frames in the block, the sum over channels of weight x sum of squared K-weighted
    samples. A block should hold whole units: a partial one is filtered but not counted.

    Channels of equal weight are filtered two at a time, packed as one complex signal (one
    channel the real part, the other the imaginary part). The filter's coefficients are real,
    so each part comes out exactly as if filtered on its own, bit for bit; and the filtering
    loop is bound by the latency of one sample's arithmetic, not by the number of operations,
    so a pair costs little more than one channel does (a fifth less time for stereo). A channel
    without a partner of its weight (mono, a centre) is filtered on its own; a channel of weight
    0 (the LFE) is not filtered at all.
    """

    def __init__(self, sample_rate: int, channels: int, unit: int) -> None:
        self.unit = unit
        weights = channel_weights(channels)
        pairs: list[tuple[int, int]] = []
        singles: list[int] = []
        for w in sorted({float(v) for v in weights if v != 0.0}):
            same = [c for c in range(channels) if weights[c] == w]
            pairs += zip(same[0::2], same[1::2], strict=False)
            if len(same) % 2:
                singles.append(same[-1])
        self.pairs = pairs
        self.singles = singles
        self.pair_weights = np.array([weights[a] for a, _ in pairs], dtype=np.float32)
        self.single_weights = np.array([weights[c] for c in singles], dtype=np.float32)
        # Second-order sections in float32: as accurate as float64 here (1e-5 dB at 48 kHz,
        # 5e-4 dB at 192 kHz) and twice as fast; a single 4th-order float32 filter is not
        # (0.3 dB off at 48 kHz: its poles sit too close to z = 1).
        sos = k_weighting_sections(sample_rate)
        self.sos = sos.astype(np.float32)
        self.sos_pairs = sos.astype(np.complex64)
        sections = sos.shape[0]
        self.zi = np.zeros((len(singles), sections, 2), dtype=np.float32)
        self.zi_pairs = np.zeros((len(pairs), sections, 2), dtype=np.complex64)

    def feed(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        """Energies of the block's complete units (none for a block shorter than a unit). `x`
        is only read: the filtering runs on copies, so other measures may read it meanwhile."""
        n = x.shape[1]
        units = n // self.unit
        whole = units * self.unit
        energy = np.zeros(units, dtype=np.float32)
        if self.pairs:
            z = np.empty((len(self.pairs), n), dtype=np.complex64)
            for p, (a, b) in enumerate(self.pairs):
                z[p].real = x[a]
                z[p].imag = x[b]
            sosfilt_inplace(self.sos_pairs, z, self.zi_pairs)
            # Both channels' samples of a unit lie side by side (re, im, re, im, ...).
            v = z.view(np.float32)[:, : 2 * whole].reshape(len(self.pairs), units, 2 * self.unit)
            energy += np.einsum("p,pu->u", self.pair_weights, np.einsum("pui,pui->pu", v, v))
        if self.singles:
            y = x[self.singles]  # a copy: indexing with a list
            sosfilt_inplace(self.sos, y, self.zi)
            yu = y[:, :whole].reshape(len(self.singles), units, self.unit)
            energy += np.einsum("c,cu->u", self.single_weights, np.einsum("cui,cui->cu", yu, yu))
        # (einsum rather than `@` for the weights too: no BLAS, whose thread pool would wake up
        # and compete for the cores, see _Meter._measure)
        return energy.astype(np.float64)
