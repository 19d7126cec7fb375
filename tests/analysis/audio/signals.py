"""Test signals written with numpy + soundfile: sines at given levels, sequences of them, and
files in the formats intake accepts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from analysis.audio.measure import measure_file
from analysis.audio.report import Report


def amp(dbfs: float) -> float:
    return float(10.0 ** (dbfs / 20.0))


def sine(
    freq: float, dbfs: float, seconds: float, rate: int, *, phase: float = 0.0
) -> NDArray[np.float64]:
    n = round(seconds * rate)
    return amp(dbfs) * np.sin(2 * np.pi * freq * np.arange(n) / rate + phase)


def sequence(parts: list[tuple[float, float]], rate: int, freq: float = 1000.0) -> NDArray:
    """(dBFS or None for silence, seconds) segments of a continuous-phase sine."""
    out = []
    start = 0
    for dbfs, seconds in parts:
        n = round(seconds * rate)
        t = (start + np.arange(n)) / rate
        level = 0.0 if dbfs is None else amp(dbfs)
        out.append(level * np.sin(2 * np.pi * freq * t))
        start += n
    return np.concatenate(out)


def stereo(x: NDArray) -> NDArray:
    return np.stack([x, x], axis=1)


def write(
    path: Path, data: NDArray, rate: int, subtype: str = "FLOAT", fmt: str | None = None
) -> Path:
    sf.write(str(path), data, rate, subtype=subtype, format=fmt)
    return path


def measure(
    tmp_path: Path, data: NDArray, rate: int, subtype: str = "FLOAT", name: str = "t.wav"
) -> Report:
    return measure_file(write(tmp_path / name, data, rate, subtype))
