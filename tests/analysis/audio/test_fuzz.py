"""Mutated WAV, AIFF and FLAC bytes: every input ends in a Report (perhaps only findings), never
an exception in the caller or a hang. Runs through the isolated child, as uploads do; a Python
exception inside the measuring code would show as "the decoder failed", which fails the test."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.audio.isolate import Limits, measure_isolated
from analysis.audio.report import Report


def _valid(fmt: str, subtype: str) -> bytes:
    rate = 8000
    t = np.arange(rate // 4) / rate
    x = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 660 * t)], 1)
    buf = io.BytesIO()
    sf.write(buf, x, rate, subtype=subtype, format=fmt)
    return buf.getvalue()


SEEDS = {
    "wav": _valid("WAV", "PCM_16"),
    "aiff": _valid("AIFF", "PCM_24"),
    "flac": _valid("FLAC", "PCM_16"),
    "rf64": _valid("RF64", "FLOAT"),
}
LIMITS = Limits(base_seconds=20.0, seconds_per_mib=0.0)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[kind])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "set", "cut", "insert", "header"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set":
            data[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        else:  # hit the headers and chunk sizes, where parsers are most fragile
            at = draw(st.integers(0, min(len(data), 64) - 1))
            data[at : at + 4] = draw(st.binary(min_size=4, max_size=4))
    return kind, bytes(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_files_end_in_a_report(case: tuple[str, bytes]) -> None:
    kind, data = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz.{kind}"
        path.write_bytes(data)
        report = measure_isolated(path, limits=LIMITS)
    assert isinstance(report, Report)
    for finding in report.findings:
        assert "decoder failed" not in finding.message, finding.message
        assert "did not finish" not in finding.message, finding.message
    fmt = report.format
    if report.unreadable is None and report.truncated is None and fmt is not None and fmt.frames:
        assert report.waveform is not None  # a sound file was measured all the way
