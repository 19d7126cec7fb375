"""Synthetic programme material for the tests and the benchmark: deterministic, streamable
"music-like" audio (drums, bass, chords, noise bed, sections at different levels)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

TEMPO_BEAT_S = 0.5  # 120 bpm


def music_like(start_s: float, seconds: float, rate: int, *, seed: int = 7) -> NDArray[np.float32]:
    """Stereo (frames x 2) float32 from `start_s` for `seconds`: the same time always gives the
    same samples, so a long file can be written block by block. Peaks stay below -0.5 dBFS."""
    n = round(seconds * rate)
    first = round(start_s * rate)
    t = (first + np.arange(n)) / rate
    rng = np.random.default_rng([seed, first])
    out = np.zeros((n, 2))

    beat = np.floor(t / TEMPO_BEAT_S)
    in_beat = t - beat * TEMPO_BEAT_S
    # kick on every beat: a falling 100 -> 50 Hz sine with a fast decay
    kick_phase = 2 * np.pi * (50 * in_beat + 50 * 0.03 * (1 - np.exp(-in_beat / 0.03)))
    kick = 0.55 * np.sin(kick_phase) * np.exp(-in_beat / 0.12)
    # snare on beats 2 and 4: noise with a short decay
    noise = rng.standard_normal((n, 2))
    snare = (beat % 2 == 1)[:, None] * noise * 0.12 * np.exp(-in_beat / 0.08)[:, None]
    # hats on every eighth: bright (first difference of noise), quiet, panned
    eighth = t - np.floor(t / 0.25) * 0.25
    bright = np.diff(noise, axis=0, prepend=0.0)
    hats = bright * 0.03 * np.exp(-eighth / 0.02)[:, None]
    hats *= np.array([0.6, 1.0])
    # bass: a few harmonics, root changing every bar
    bar = np.floor(t / (4 * TEMPO_BEAT_S)).astype(np.int64)
    roots = np.array([55.0, 73.42, 82.41, 61.74])[bar % 4]
    phase = 2 * np.pi * roots * t
    bass = 0.2 * np.sum([np.sin(k * phase) / k for k in range(1, 5)], axis=0)
    # chords: three notes with a few harmonics, slow tremolo, spread across the image
    chord = np.zeros((n, 2))
    for i, ratio in enumerate((1.0, 1.26, 1.5)):
        f = roots * 4 * ratio
        voice = np.sum([np.sin(2 * np.pi * k * f * t + i) / (k * k) for k in range(1, 4)], axis=0)
        pan = np.array([0.3 + 0.3 * i, 0.9 - 0.3 * i])
        chord += (
            0.07 * voice[:, None] * pan * (0.8 + 0.2 * np.sin(2 * np.pi * 0.3 * t + i))[:, None]
        )
    mix = kick[:, None] + snare + hats + bass[:, None] + chord + 0.003 * noise
    # sections: 16 s loud, 16 s about 6 dB softer, with a one-second ramp between them
    section = 0.75 + 0.25 * np.clip(np.sin(2 * np.pi * t / 32.0) * 4, -1, 1)
    out = mix * section[:, None]
    # a gentle master-bus saturation, like most finished material
    saturated: NDArray[np.float32] = (np.tanh(1.2 * out) / np.tanh(1.2) * 0.85).astype(np.float32)
    return saturated
