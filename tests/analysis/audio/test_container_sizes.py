"""A WAV or AIFF whose container disagrees with the file is reported with a fix: bytes appended
after the audio (a polyglot: audio plus an archive or a page) and a header that declares a size
far beyond the file. Files as DAWs and libraries write them pass."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
import soundfile as sf

from analysis.audio.isolate import measure_isolated
from analysis.audio.report import Report

from .signals import sine, stereo, write

RATE = 48000


def _good(tmp_path: Path, name: str = "Bass - Song.wav", fmt: str = "WAV") -> Path:
    return write(tmp_path / name, stereo(sine(440, -12.0, 0.5, RATE)), RATE, "PCM_24", fmt)


def _mismatch(report: Report):
    return [f for f in report.findings if f.code == "container_mismatch"]


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("payload.html", "<script>alert(1)</script>")
    return buf.getvalue()


@pytest.mark.parametrize(
    "tail",
    [_zip_bytes(), b"<!doctype html><html><script>alert(1)</script></html>", b"\x00" * 4096],
    ids=["zip", "html", "zeros"],
)
def test_bytes_appended_after_a_wav_are_reported(tmp_path: Path, tail: bytes) -> None:
    path = _good(tmp_path)
    path.write_bytes(path.read_bytes() + tail)
    found = _mismatch(measure_isolated(path, name="Bass - Song.wav"))
    assert len(found) == 1
    assert found[0].severity == "error"
    assert f"{len(tail):,} bytes" in found[0].message and "appended" in found[0].message
    assert "Export Bass - Song again straight from your DAW" in found[0].message


def test_bytes_appended_after_an_aiff_are_reported(tmp_path: Path) -> None:
    path = _good(tmp_path, "Keys - Song.aiff", "AIFF")
    path.write_bytes(path.read_bytes() + _zip_bytes())
    assert _mismatch(measure_isolated(path))


def test_a_riff_size_far_beyond_the_file_is_reported(tmp_path: Path) -> None:
    path = _good(tmp_path)
    data = bytearray(path.read_bytes())
    data[4:8] = struct.pack("<I", 1_000_000_000)
    path.write_bytes(bytes(data))
    report = measure_isolated(path, name="Bass - Song.wav")
    found = _mismatch(report)
    assert len(found) == 1 and "1,000,000,008 bytes long" in found[0].message
    assert report.format is not None and report.format.frames == int(0.5 * RATE)  # still measured


@pytest.mark.parametrize(("fmt", "name"), [("WAV", "a.wav"), ("AIFF", "a.aiff"), ("RF64", "a.wav")])
def test_files_as_written_pass(tmp_path: Path, fmt: str, name: str) -> None:
    assert _mismatch(measure_isolated(_good(tmp_path, name, fmt))) == []


def test_chunks_after_the_audio_pass_even_past_a_stale_riff_size(tmp_path: Path) -> None:
    path = tmp_path / "tagged.wav"
    with sf.SoundFile(path, "w", RATE, 2, "PCM_16", format="WAV") as f:
        f.write(stereo(sine(440, -12.0, 0.5, RATE)))
        f.title = "A title libsndfile writes in a LIST chunk"
    assert _mismatch(measure_isolated(path)) == []
    # A writer that added a chunk and forgot to grow the RIFF size: sloppy, not hostile.
    data = path.read_bytes()
    stale = bytearray(data + b"junk" + struct.pack("<I", 6) + b"abcdef")
    path.write_bytes(bytes(stale))
    assert _mismatch(measure_isolated(path)) == []
