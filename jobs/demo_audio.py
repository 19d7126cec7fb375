"""Music-like audio for the demo studio, made with numpy: a short song's stems, its rough mix,
a louder reference and a master. Deterministic, a few seconds long, so seeding is quick."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

RATE = 44100
SECONDS = 4.0

INSTRUMENTS = ("Lead Vocals", "Bass", "Drums", "Keys", "Guitars")


def _envelope(n: int, period: int, decay: float) -> np.ndarray:
    t = (np.arange(n) % period) / RATE
    return np.exp(-t * decay)


def stem(instrument: str, *, seconds: float = SECONDS, seed: int = 0) -> np.ndarray:
    """One instrument, stereo float32, peaking near -8 dBFS (the headroom studios ask for)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    rng = np.random.default_rng(seed + sum(map(ord, instrument)))
    beat = int(RATE * 0.5)  # 120 bpm
    if instrument == "Drums":
        kick = np.sin(2 * np.pi * 55 * t * np.exp(-(t % 0.5) * 8)) * _envelope(n, beat, 18)
        hats = rng.standard_normal(n) * _envelope(n, beat // 2, 60) * 0.3
        left, right = kick + hats * 0.8, kick + hats
    elif instrument == "Bass":
        notes = np.repeat([41.2, 41.2, 55.0, 49.0], n // 4 + 1)[:n]
        tone = np.sin(2 * np.pi * np.cumsum(notes) / RATE)
        left = right = np.tanh(2 * tone) * _envelope(n, beat, 3)
    elif instrument == "Lead Vocals":
        vibrato = 220 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
        phase = 2 * np.pi * np.cumsum(vibrato) / RATE
        voice = sum(np.sin(k * phase) / k for k in range(1, 6))
        swell = 0.5 - 0.5 * np.cos(2 * np.pi * t / 1.5)
        left = right = voice * swell
    else:  # chords for keys and guitars, spread in stereo
        root = 261.6 if instrument == "Keys" else 329.6
        chord = sum(np.sin(2 * np.pi * root * r * t) for r in (1.0, 1.26, 1.5))
        left = chord * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t))
        right = chord * (0.6 + 0.4 * np.cos(2 * np.pi * 0.25 * t))
    data = np.stack([left, right], axis=1)
    data -= data.mean(axis=0)  # no DC offset: a clean export
    data *= 0.4 / np.max(np.abs(data))  # -8 dBFS
    return data.astype(np.float32)


def mix(stems: list[np.ndarray], gain: float = 1.0) -> np.ndarray:
    total = np.sum(stems, axis=0) * gain
    peak = float(np.max(np.abs(total)))
    if peak > 0.89:  # keep the rough mix below -1 dBFS
        total *= 0.89 / peak
    out: np.ndarray = total.astype(np.float32)
    return out


def master(stems: list[np.ndarray]) -> np.ndarray:
    """A louder, limited version: soft-clipped and brought to about -1.2 dBFS."""
    total = np.tanh(np.sum(stems, axis=0) * 2.0)
    total -= total.mean(axis=0)
    out: np.ndarray = (total * (0.87 / np.max(np.abs(total)))).astype(np.float32)
    return out


def hard_clip(data: np.ndarray, gain_db: float) -> np.ndarray:
    """Turned up and clipped at full scale, as a stem exported too hot."""
    return np.clip(data * 10 ** (gain_db / 20), -1.0, 1.0).astype(np.float32)


def wav(data: np.ndarray, *, subtype: str = "PCM_24", rate: int = RATE) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, data, rate, subtype=subtype, format="WAV")
    return buf.getvalue()


def minor_clips(data: np.ndarray, times_s: tuple[float, ...]) -> np.ndarray:
    """A few short runs of full-scale samples: minor clipping the client is asked about."""
    out = data.copy()
    for at in times_s:
        start = int(at * RATE)
        out[start : start + 4, :] = 1.0
    return out
