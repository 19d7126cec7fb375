"""Build submissions for the intake rules from numpy signals written as real audio files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from analysis.audio.report import AudioFormat, Clipping, Finding, Report
from analysis.intake import IntakeFile

RATE = 48000


def noise(seconds: float, *, seed: int, rate: int = RATE, level: float = 0.2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal(int(seconds * rate))).clip(-0.9, 0.9)


@dataclass
class Spec:
    name: str
    signal: np.ndarray
    kind: str = "stem"
    rate: int = RATE
    subtype: str = "PCM_24"
    flat_tops: int = 0
    clip_events: int = 0
    findings: tuple[Finding, ...] = ()


def write(tmp: Path, spec: Spec) -> IntakeFile:
    """Write the signal as a WAV and describe it the way the measuring code does."""
    path = tmp / f"{abs(hash(spec.name))}-{len(list(tmp.iterdir()))}.wav"
    stereo = np.stack([spec.signal, spec.signal], axis=1)
    sf.write(path, stereo, spec.rate, subtype=spec.subtype)
    info = sf.info(str(path))
    is_float = spec.subtype in ("FLOAT", "DOUBLE")
    depth = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32}.get(spec.subtype)
    peak = float(np.max(np.abs(spec.signal))) if len(spec.signal) else 0.0
    report = Report(
        path=str(path),
        format=AudioFormat(
            container="WAV",
            subtype=spec.subtype,
            sample_rate=info.samplerate,
            channels=info.channels,
            frames=info.frames,
            duration_s=info.frames / info.samplerate,
            bit_depth=depth,
            is_float=is_float,
            lossy=False,
        ),
        sample_peak_dbfs=20 * np.log10(peak) if peak else None,
        headroom_db=-20 * np.log10(peak) if peak else None,
        clipping=Clipping(events=spec.clip_events, flat_top_events=spec.flat_tops),
    )
    return IntakeFile(
        name=spec.name,
        kind=spec.kind,
        report=report,
        path=str(path),
        file_findings=spec.findings,
    )


def submission(tmp: Path, *specs: Spec) -> list[IntakeFile]:
    tmp.mkdir(parents=True, exist_ok=True)
    return [write(tmp, s) for s in specs]


def clean_specs(seconds: float = 6.0) -> list[Spec]:
    """Three stems and a rough mix that is exactly their sum, plus a reference."""
    stems = [noise(seconds, seed=i) for i in range(3)]
    mix = sum(stems) / 2
    return [
        Spec("Lead Vocal - Billie Jean.wav", stems[0]),
        Spec("Bass - Billie Jean.wav", stems[1]),
        Spec("Drums - Billie Jean.wav", stems[2]),
        Spec("Billie Jean rough.wav", mix, kind="rough_mix"),
        Spec("Thriller reference.wav", noise(seconds, seed=99), kind="reference"),
    ]
