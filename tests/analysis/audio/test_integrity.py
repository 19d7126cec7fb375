"""Hostile and broken uploads: the type comes from the bytes, truncation from the chunk sizes,
and every problem ends as a finding in a Report, never as an exception in the caller."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analysis.audio.findings import Thresholds
from analysis.audio.isolate import Limits, Measuring, measure_isolated, measure_isolated_many
from analysis.audio.measure import measure_file
from analysis.audio.report import Report

from .signals import sine, stereo, write

RATE = 48000


def codes(report: Report) -> set[str]:
    return {f.code for f in report.findings}


def good(tmp_path: Path, name: str, fmt: str, subtype: str, seconds: float = 2.0) -> Path:
    x = stereo(sine(440, -12.0, seconds, RATE))
    return write(tmp_path / name, x, RATE, subtype, fmt)


def cut(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize(
    ("name", "fmt", "subtype"),
    [
        ("a.wav", "WAV", "PCM_24"),
        ("a.aiff", "AIFF", "PCM_16"),
        ("a.flac", "FLAC", "PCM_24"),
        ("a.wav", "RF64", "FLOAT"),
    ],
)
def test_a_cut_short_file_is_truncated(tmp_path: Path, name: str, fmt: str, subtype: str) -> None:
    path = cut(good(tmp_path, name, fmt, subtype), 0.6)
    report = measure_isolated(path)
    assert "truncated_file" in codes(report), report.findings
    finding = next(f for f in report.findings if f.code == "truncated_file")
    assert finding.severity == "error" and name in finding.message


def test_a_whole_file_is_not_truncated(tmp_path: Path) -> None:
    files = [("a.wav", "WAV", "PCM_16"), ("b.aiff", "AIFF", "PCM_24"),
             ("c.flac", "FLAC", "PCM_16"), ("d.wav", "RF64", "PCM_24")]  # fmt: skip
    for name, fmt, subtype in files:
        report = measure_isolated(good(tmp_path, name, fmt, subtype))
        assert report.truncated is None and report.unreadable is None, name
        assert report.integrated_lufs is not None


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "stem.wav"
    path.write_bytes(np.random.default_rng(3).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    report = measure_isolated(path)
    assert codes(report) == {"unreadable_file"}


def test_a_zip_named_wav(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "Bass - Song.wav"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("inside.wav", b"RIFF")
    report = measure_isolated(path)
    assert codes(report) == {"unreadable_file"}
    assert "ZIP" in report.findings[0].message and "Bass - Song.wav" in report.findings[0].message


def test_html_named_wav(tmp_path: Path) -> None:
    path = tmp_path / "stem.wav"
    path.write_text("<!DOCTYPE html><html><body>Download failed</body></html>")
    report = measure_isolated(path)
    assert codes(report) == {"unreadable_file"} and "HTML" in report.findings[0].message


def test_an_mp3_is_lossy_and_still_measured(tmp_path: Path) -> None:
    path = tmp_path / "ref.mp3"
    try:
        sf.write(str(path), stereo(sine(440, -12.0, 2.0, 44100)), 44100, format="MP3")
    except (sf.LibsndfileError, TypeError, ValueError):
        pytest.skip("this libsndfile cannot write MP3")
    report = measure_isolated(path)
    assert "lossy_format" in codes(report)
    assert report.format is not None and report.format.lossy
    assert report.integrated_lufs is not None


def test_an_aac_file_is_lossy_and_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "ref.m4a"
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00" + b"\x00" * 200)
    report = measure_isolated(path)
    assert codes(report) == {"lossy_format", "unreadable_file"}


def test_nan_samples(tmp_path: Path) -> None:
    x = stereo(sine(440, -12.0, 2.0, RATE))
    x[1000:1010, 0] = np.nan
    x[5000, 1] = np.inf
    report = measure_isolated(write(tmp_path / "n.wav", x, RATE, "FLOAT"))
    assert "invalid_samples" in codes(report)
    assert report.invalid_samples == 11
    assert report.sample_peak_dbfs == pytest.approx(-12.0, abs=0.01)
    clean = measure_file(write(tmp_path / "c.wav", stereo(sine(440, -12.0, 2.0, RATE)), RATE))
    assert report.integrated_lufs == pytest.approx(clean.integrated_lufs, abs=0.05)
    # (the true peak is higher: the zeroed gap is a real discontinuity between samples)
    assert report.true_peak_dbtp is not None and math.isfinite(report.true_peak_dbtp)
    json.dumps(report.to_dict(), allow_nan=False)


def test_zero_frames(tmp_path: Path) -> None:
    report = measure_isolated(write(tmp_path / "e.wav", np.zeros((0, 2)), RATE, "PCM_16"))
    assert codes(report) == {"empty_file"}


def test_a_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "z.wav"
    path.write_bytes(b"")
    assert codes(measure_isolated(path)) == {"unreadable_file"}


def test_the_decoded_size_cap_is_checked_before_decoding(tmp_path: Path) -> None:
    path = good(tmp_path, "a.wav", "WAV", "PCM_16")
    report = measure_file(path, thresholds=Thresholds(max_decoded_bytes=1000))
    assert report.unreadable is not None and "limit" in report.unreadable
    assert report.integrated_lufs is None


def test_a_header_promising_gigabytes(tmp_path: Path) -> None:
    path = good(tmp_path, "a.wav", "WAV", "PCM_16")
    data = bytearray(path.read_bytes())
    at = data.index(b"data")
    data[at + 4 : at + 8] = (0xFFFFFFF0).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert "truncated_file" in codes(measure_isolated(path))


def test_a_missing_file(tmp_path: Path) -> None:
    assert codes(measure_isolated(tmp_path / "nope.wav")) == {"unreadable_file"}


# --- isolation: real misbehaviour in the child, through the documented `fault` test seam ------


def test_a_segfault_in_the_child_is_one_unreadable_file(tmp_path: Path) -> None:
    path = good(tmp_path, "a.wav", "WAV", "PCM_16")
    report = measure_isolated(path, fault="segfault")
    assert codes(report) == {"unreadable_file"}
    assert "crashed" in report.findings[0].message and "SIGSEGV" in report.findings[0].message
    assert codes(measure_isolated(path)) != {"unreadable_file"}  # the caller is unharmed


def test_a_hanging_child_is_stopped(tmp_path: Path) -> None:
    path = good(tmp_path, "a.wav", "WAV", "PCM_16")
    report = measure_isolated(
        path, fault="hang", limits=Limits(base_seconds=1.0, seconds_per_mib=0)
    )
    assert codes(report) == {"unreadable_file"} and "within" in report.findings[0].message


def test_running_out_of_memory_in_the_child(tmp_path: Path) -> None:
    path = good(tmp_path, "a.wav", "WAV", "PCM_16")
    report = measure_isolated(path, fault="memory")
    assert codes(report) == {"unreadable_file"} and "memory" in report.findings[0].message


def test_the_isolated_report_equals_the_in_process_one(tmp_path: Path) -> None:
    path = good(tmp_path, "a.flac", "FLAC", "PCM_24")
    isolated = measure_isolated(path)
    direct = measure_file(path)
    direct.findings = isolated.findings
    assert isolated.to_dict() == direct.to_dict()
    assert Report.from_dict(json.loads(json.dumps(isolated.to_dict()))) == isolated
    assert os.path.basename(isolated.findings[0].file or "") == "a.flac"


def test_several_files_measured_at_once_keep_their_order(tmp_path: Path) -> None:
    levels = [-6.0, -18.0, -12.0, -24.0]
    paths: list[Path] = []
    for i, level in enumerate(levels):
        x = stereo(sine(440, level, 1.0 + 0.5 * i, RATE))  # the longest last: finishes last
        paths.append(write(tmp_path / f"Keys {i} - Song.wav", x, RATE, "PCM_24", "WAV"))
    junk = tmp_path / "Drums - Song.wav"
    junk.write_bytes(b"PK\x03\x04" + bytes(300))
    order = [paths[3], tmp_path / "missing.wav", paths[0], junk, paths[2], paths[1]]
    reports = measure_isolated_many(order, workers=2, names=[p.stem for p in order])
    assert [r.path for r in reports] == [str(p) for p in order]
    for path, report in zip(order, reports, strict=True):
        if path in paths:
            alone = measure_file(path)
            assert report.sample_peak_dbfs == alone.sample_peak_dbfs
            assert report.integrated_lufs == alone.integrated_lufs
        else:
            assert codes(report) == {"unreadable_file"}
        assert all(f.file == path.stem for f in report.findings)
    assert [round(reports[i].sample_peak_dbfs or 0.0) for i in (2, 5, 4, 0)] == levels


def test_hanging_children_measured_at_once_are_all_stopped(tmp_path: Path) -> None:
    paths = [good(tmp_path, f"a{i}.wav", "WAV", "PCM_16") for i in range(3)]
    reports = measure_isolated_many(
        paths, workers=2, fault="hang", limits=Limits(base_seconds=1.0, seconds_per_mib=0)
    )
    for report in reports:
        assert codes(report) == {"unreadable_file"} and "within" in report.findings[0].message


def test_measuring_started_with_defaults_is_judged_by_the_policy_given_later(
    tmp_path: Path,
) -> None:
    # How `analyze` runs: measuring starts before the studio policy is known (the defaults),
    # and the reports are judged by the policy once it has been read.
    t = np.arange(RATE) / RATE
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    right = -0.3 * np.sin(2 * np.pi * 440 * t) + 0.4 * np.sin(2 * np.pi * 660 * t)
    path = write(tmp_path / "Keys - Song.wav", np.stack([left, right], axis=1), RATE)
    measuring = Measuring([path])  # correlation -0.6: not inverted by the default -0.9
    strict = Thresholds(phase_correlation=-0.5)
    (report,) = measuring.judged(strict, names=["Keys - Song"])
    assert report.stereo is not None
    assert report.stereo.correlation == pytest.approx(-0.6, abs=0.01)
    assert report.stereo.phase_inverted
    assert "phase_inverted" in codes(report)
    (default,) = Measuring([path]).judged(Thresholds())
    assert default.stereo is not None and not default.stereo.phase_inverted
    assert "phase_inverted" not in codes(default)


def test_an_impossible_sample_rate_is_unreadable(tmp_path: Path) -> None:
    # Found by the fuzz test: a damaged rate field (1.39 GHz) once made the decoder try to
    # allocate a 15 GiB block. The header is reported instead.
    path = good(tmp_path, "a.wav", "WAV", "PCM_16")
    data = bytearray(path.read_bytes())
    at = data.index(b"fmt ") + 12
    data[at : at + 4] = (1392516928).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    report = measure_isolated(path)
    assert codes(report) == {"unreadable_file"} and "sample rate" in report.findings[0].message
