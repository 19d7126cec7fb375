"""Side by side with libebur128 (pyebur128) on music-like material: integrated loudness within
0.05 LU and true peak within 0.2 dB, as intake-analysis.md asks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyebur128 as pe
import pytest
import soundfile as sf

from analysis.audio.measure import measure_file
from analysis.audio.synth import music_like


@pytest.mark.parametrize(
    ("rate", "subtype"), [(48000, "PCM_24"), (44100, "FLOAT"), (96000, "PCM_16")]
)
def test_agrees_with_libebur128(tmp_path: Path, rate: int, subtype: str) -> None:
    x = music_like(0.0, 12.0, rate, seed=rate)
    path = tmp_path / "music.wav"
    sf.write(str(path), x, rate, subtype=subtype)
    decoded, _ = sf.read(str(path), dtype="float64")

    mode = (
        pe.MeasurementMode.MODE_I | pe.MeasurementMode.MODE_TRUE_PEAK | pe.MeasurementMode.MODE_LRA
    )
    state = pe.R128State(2, rate, mode)
    state.add_frames(np.ascontiguousarray(decoded).ravel(), len(decoded))
    their_i = pe.get_loudness_global(state)
    their_tp = 20 * math.log10(max(pe.get_true_peak(state, c) for c in range(2)))

    ours = measure_file(path)
    assert ours.integrated_lufs is not None and ours.true_peak_dbtp is not None
    assert abs(ours.integrated_lufs - their_i) <= 0.05, (ours.integrated_lufs, their_i)
    assert abs(ours.true_peak_dbtp - their_tp) <= 0.2, (ours.true_peak_dbtp, their_tp)
    their_lra = pe.get_loudness_range(state)
    assert ours.loudness_range_lu is not None and abs(ours.loudness_range_lu - their_lra) <= 1.0
