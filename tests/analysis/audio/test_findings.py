"""Per-file findings: codes, severities per kind of file, client-readable messages with time
stamps and the exact fix, and the Report's JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.audio.findings import Thresholds, file_findings, fmt_time
from analysis.audio.report import AudioFormat, Clipping, Report, Stereo

from .signals import measure, sine, stereo

RATE = 48000
NAME = "Bass - Billie Jean.wav"


def report(**kw: object) -> Report:
    fmt = AudioFormat("WAV", "PCM_24", RATE, 2, RATE * 10, 10.0, 24, False, False)
    base = Report(path="x", format=fmt, sample_peak_dbfs=-12.0, true_peak_dbtp=-11.5,
                  dc_offset=[0.0, 0.0])  # fmt: skip
    for k, v in kw.items():
        setattr(base, k, v)
    return base


def by_code(r: Report, kind: str = "stem", t: Thresholds | None = None) -> dict[str, object]:
    return {f.code: f for f in file_findings(r, kind=kind, name=NAME, thresholds=t)}


def test_fmt_time() -> None:
    assert fmt_time(0.0) == "0:00.000"
    assert fmt_time(83.4567) == "1:23.457"
    assert fmt_time(3600.5) == "60:00.500"


def test_a_clean_stem_has_no_findings() -> None:
    assert file_findings(report(), kind="stem", name=NAME) == []


def test_low_headroom_names_the_stem_and_the_fader_move() -> None:
    found = by_code(report(sample_peak_dbfs=-2.0, true_peak_dbtp=-1.9))
    f = found["low_headroom"]
    assert f.severity == "warning"  # type: ignore[attr-defined]
    # a -2.0 dBFS sample peak to -6 dBFS: 4 dB
    assert "Export Bass - Billie Jean again with the master fader 4 dB lower" in f.message  # type: ignore[attr-defined]
    found = by_code(report(sample_peak_dbfs=-1.3, true_peak_dbtp=-1.2))
    assert "5 dB lower" in found["low_headroom"].message  # type: ignore[attr-defined]


def test_clipping_severity_follows_the_policy() -> None:
    minor = report(sample_peak_dbfs=0.0, true_peak_dbtp=0.5,
                   clipping=Clipping(12, 2, 0, [1.5, 83.25]))  # fmt: skip
    f = by_code(minor)["clipping"]
    assert f.severity == "warning" and f.at_s == 1.5  # type: ignore[attr-defined]
    assert "0:01.500, 1:23.250" in f.message  # type: ignore[attr-defined]
    major = report(sample_peak_dbfs=0.0, clipping=Clipping(40, 4, 0, [1.0, 2.0, 3.0, 4.0]))
    assert by_code(major)["clipping"].severity == "error"  # type: ignore[attr-defined]
    assert by_code(major, t=Thresholds(allowed_clip_events=10))["clipping"].severity == "warning"  # type: ignore[attr-defined]
    assert "low_headroom" not in by_code(major) and "true_peak_over" not in by_code(minor)


def test_rough_mix_and_reference_only_inform() -> None:
    loud = report(sample_peak_dbfs=0.0, true_peak_dbtp=0.8, clipping=Clipping(40, 9, 0, [1.0]))
    for kind in ("rough_mix", "reference"):
        assert {f.severity for f in file_findings(loud, kind=kind, name=NAME)} == {"info"}


def _troubled() -> list[Report]:
    """One report per thing a stem would be asked to fix."""
    lossy = report()
    assert lossy.format is not None
    lossy.format.lossy = True
    lossy.detected_as = "MP3"
    silent = report(sample_peak_dbfs=None, true_peak_dbtp=None)
    silent.silence.fully_silent = True
    return [
        report(sample_peak_dbfs=0.0, true_peak_dbtp=0.8, clipping=Clipping(40, 9, 0, [1.0])),
        report(sample_peak_dbfs=-1.0, true_peak_dbtp=-0.9),
        report(sample_peak_dbfs=-0.3, true_peak_dbtp=0.6),
        report(sample_peak_dbfs=-4.0, clipping=Clipping(0, 0, 5, [], [1.0, 2.0])),
        report(dc_offset=[0.002, 0.0], stereo=Stereo(-0.97, False, True)),
        lossy,
        silent,
        Report(path="x", format=None, unreadable="it looks like a ZIP archive"),
    ]


@pytest.mark.parametrize("kind", ["rough_mix", "reference"])
def test_finished_material_is_never_asked_for_a_re_export(kind: str) -> None:
    name = "Reference - Bright Lights.wav"
    for r in _troubled():
        as_stem = file_findings(r, kind="stem", name=name)
        found = file_findings(r, kind=kind, name=name)
        # The same measurements are shown, one for one, as information.
        assert [f.code for f in found] == [f.code for f in as_stem] and found
        for f in found:
            assert f.severity == "info", f
            text = f.message.lower()
            assert "export" not in text and "fader" not in text and "lower" not in text, f
            assert "for information" in text or "without it" in text, f
            assert name in f.message
    clipped = file_findings(_troubled()[0], kind=kind, name=name)[0]
    assert "9 clipping events" in clipped.message and clipped.at_s == 1.0


def test_a_master_is_judged_on_its_true_peak_ceiling() -> None:
    ok = report(sample_peak_dbfs=-1.2, true_peak_dbtp=-1.05)
    assert by_code(ok, kind="master") == {}
    over = report(sample_peak_dbfs=-1.2, true_peak_dbtp=-0.4)
    f = by_code(over, kind="master")["true_peak_over"]
    assert f.severity == "error" and "-1.0 dBTP" in f.message  # type: ignore[attr-defined]


def test_true_peak_over_without_clipping() -> None:
    f = by_code(report(sample_peak_dbfs=-0.3, true_peak_dbtp=0.6))["true_peak_over"]
    assert "+0.6 dBTP" in f.message and "7 dB lower" in f.message  # type: ignore[attr-defined]


def test_dc_phase_dual_mono_and_silence() -> None:
    r = report(dc_offset=[0.002, 0.0], stereo=Stereo(-0.97, False, True))
    found = by_code(r)
    assert "right" not in found["dc_offset"].message and "left" in found["dc_offset"].message  # type: ignore[attr-defined]
    assert found["phase_inverted"].severity == "warning"  # type: ignore[attr-defined]
    assert by_code(report(stereo=Stereo(1.0, True, False)))["dual_mono"].severity == "info"  # type: ignore[attr-defined]
    silent = report(sample_peak_dbfs=None, true_peak_dbtp=None)
    silent.silence.fully_silent = True
    assert set(by_code(silent)) == {"silent_file"}


def test_integrity_findings_stop_the_level_rules() -> None:
    r = Report(path="x", format=None, unreadable="it looks like a ZIP archive")
    found = file_findings(r, kind="stem", name=NAME)
    assert [f.code for f in found] == ["unreadable_file"]
    assert found[0].severity == "error" and NAME in found[0].message


def test_measured_flat_tops_become_a_warning(tmp_path: Path) -> None:
    x = 0.5 * np.clip(1.5 * np.sin(2 * np.pi * 100 * np.arange(RATE) / RATE), -1.0, 1.0)
    codes = (np.round(x * 32768).astype(np.int32)) << 16
    r = measure(tmp_path, codes, RATE, "PCM_16")
    f = by_code(r)["flat_top_clipping"]
    assert f.severity == "warning" and "200 flat-topped peaks" in f.message  # type: ignore[attr-defined]


def test_measured_float_over_full_scale(tmp_path: Path) -> None:
    r = measure(tmp_path, stereo(sine(100, 3.0, 1.0, RATE)), RATE, "FLOAT")
    found = by_code(r)
    assert "over_full_scale_float" in found and "clipping" not in found
    assert "9 dB lower" in found["over_full_scale_float"].message  # type: ignore[attr-defined]


def test_report_round_trip_through_json(tmp_path: Path) -> None:
    r = measure(tmp_path, stereo(sine(440, -12.0, 4.0, RATE)), RATE, "PCM_24")
    r.findings = file_findings(r, kind="stem", name=NAME)
    back = Report.from_dict(json.loads(json.dumps(r.to_dict(), allow_nan=False)))
    assert back == r
    assert Report.from_dict({"path": "old", "format": None, "unknown_key": 1}).path == "old"


@pytest.mark.parametrize("kind", ["stem", "rough_mix", "reference", "master"])
def test_every_kind_is_accepted(kind: str) -> None:
    file_findings(report(), kind=kind, name=NAME)
