"""Every job-level finding code, from submissions built with numpy: code, severity, verdict and a
message that names the file and the fix."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from analysis.audio.report import Finding
from analysis.intake import IntakeFile, JobInfo, JobThresholds, intake_evaluate, job_findings
from analysis.intake.rules import fmt_time, verdict_for
from tests.analysis.intake.helpers import RATE, Spec, clean_specs, noise, submission

JOB = JobInfo(track_title="Billie Jean", artist="The Demo Band", reference_notes="")
T = JobThresholds()


def run(files: list[IntakeFile], job: JobInfo = JOB):
    return intake_evaluate(files, job=job, thresholds=T)


def only(result, code: str) -> list[Finding]:
    return [f for f in result.findings if f.code == code]


def test_a_clean_submission_raises_nothing_above_info(tmp_path: Path) -> None:
    result = run(submission(tmp_path, *clean_specs()))
    assert [f for f in result.findings if f.severity != "info"] == []
    assert result.verdict == "accepted"
    assert not result.needs_acknowledgement
    assert result.summary.startswith("Accepted")


def test_no_stems_is_an_error(tmp_path: Path) -> None:
    files = submission(tmp_path, Spec("Rough.wav", noise(2, seed=1), kind="rough_mix"))
    result = run(files)
    [f] = only(result, "no_stems")
    assert f.severity == "error"
    assert "Billie Jean" in f.message and "upload" in f.message
    assert result.verdict == "reexport_requested"


def test_length_mismatch_names_the_file_and_the_difference(tmp_path: Path) -> None:
    specs = clean_specs()
    specs[1] = replace(specs[1], signal=np.concatenate([specs[1].signal, np.zeros(4800)]))
    result = run(submission(tmp_path, *specs))
    [f] = only(result, "length_mismatch")
    assert f.severity == "error"
    assert f.file == "Bass - Billie Jean.wav"
    assert "Bass - Billie Jean.wav" in f.message
    assert "4800 samples (100.000 ms) longer" in f.message
    assert "Re-export Bass - Billie Jean.wav with the same start and end" in f.message
    assert result.verdict == "reexport_requested"


def test_a_rough_mix_of_another_length_is_a_length_mismatch(tmp_path: Path) -> None:
    specs = clean_specs()
    specs[3] = replace(specs[3], signal=specs[3].signal[:-48])
    result = run(submission(tmp_path, *specs))
    [f] = only(result, "length_mismatch")
    assert f.file == "Billie Jean rough.wav"
    assert "48 samples (1.000 ms) shorter" in f.message and "rough mix" in f.message


def test_sample_rate_mismatch(tmp_path: Path) -> None:
    specs = clean_specs()
    specs[2] = replace(specs[2], rate=44100, signal=noise(6, seed=2, rate=44100))
    result = run(submission(tmp_path, *specs))
    [f] = only(result, "sample_rate_mismatch")
    assert f.severity == "error" and f.file == "Drums - Billie Jean.wav"
    assert "44.1 kHz" in f.message and "Re-export Drums - Billie Jean.wav" in f.message
    assert "at 48 kHz" in f.message
    assert not only(result, "length_mismatch")  # same duration: not a second error
    assert result.verdict == "reexport_requested"


def test_bit_depth_mismatch_is_a_warning(tmp_path: Path) -> None:
    specs = clean_specs()
    specs[0] = replace(specs[0], subtype="PCM_16")
    result = run(submission(tmp_path, *specs))
    [f] = only(result, "bit_depth_mismatch")
    assert f.severity == "warning" and f.file == "Lead Vocal - Billie Jean.wav"
    assert "16-bit" in f.message and "as 24-bit" in f.message
    assert result.verdict == "accepted_with_warnings"
    assert not result.needs_acknowledgement


def test_duplicate_stem_name(tmp_path: Path) -> None:
    specs = clean_specs()
    specs.append(Spec("bass - billie jean (alt).wav", np.zeros(6 * RATE)))
    result = run(submission(tmp_path, *specs))
    dupes = only(result, "duplicate_stem_name")
    assert {f.file for f in dupes} == {"Bass - Billie Jean.wav", "bass - billie jean (alt).wav"}
    assert all(f.severity == "error" for f in dupes)
    assert "'Bass 1 - Billie Jean' and 'Bass 2 - Billie Jean'" in dupes[0].message
    assert result.verdict == "reexport_requested"


@pytest.mark.parametrize(
    ("name", "suggested"),
    [
        ("FinalMix32.wav", "Instrument - Billie Jean.wav"),
        ("track 7 (2).wav", "Instrument - Billie Jean.wav"),
        ("gtr2_final.wav", "Guitar 2 - Billie Jean.wav"),
        ("Audio 1 - Billie Jean.wav", "Instrument - Billie Jean.wav"),
        ("KICK_print.wav", "Kick - Billie Jean.wav"),
    ],
)
def test_naming_scheme_suggests_a_name(tmp_path: Path, name: str, suggested: str) -> None:
    specs = clean_specs()
    specs.append(Spec(name, np.zeros(6 * RATE)))
    result = run(submission(tmp_path, *specs))
    [f] = only(result, "naming_scheme")
    assert f.severity == "warning" and f.file == name
    assert name in f.message and f"Rename it to '{suggested}'" in f.message
    assert result.verdict == "accepted_with_warnings"


def test_track_name_mismatch_against_the_job(tmp_path: Path) -> None:
    specs = clean_specs()
    specs[1] = replace(specs[1], name="Bass - Beat It.wav")
    result = run(submission(tmp_path, *specs))
    [f] = only(result, "track_name_mismatch")
    assert f.severity == "warning" and f.file == "Bass - Beat It.wav"
    assert "'Beat It'" in f.message and "rename it to 'Bass - Billie Jean'" in f.message


def test_track_name_mismatch_between_stems_without_a_title(tmp_path: Path) -> None:
    specs = clean_specs()
    specs[1] = replace(specs[1], name="Bass - Beat It.wav")
    result = run(submission(tmp_path, *specs), JobInfo())
    [f] = only(result, "track_name_mismatch")
    assert f.file == "Bass - Beat It.wav" and "the other stems name 'Billie Jean'" in f.message


def test_missing_rough_mix_missing_reference_and_no_vision(tmp_path: Path) -> None:
    specs = [s for s in clean_specs() if s.kind == "stem"]
    result = run(submission(tmp_path, *specs))
    [rough] = only(result, "missing_rough_mix")
    [ref] = only(result, "missing_reference")
    [vision] = only(result, "no_vision")
    assert (rough.severity, ref.severity, vision.severity) == ("warning", "info", "warning")
    assert "rough mix" in rough.message and "Bounce the mix" in rough.message
    assert "reference" in ref.message
    assert "reference notes" in vision.message
    assert result.verdict == "accepted_with_warnings"


def test_reference_notes_are_vision_enough(tmp_path: Path) -> None:
    specs = [s for s in clean_specs() if s.kind == "stem"]
    job = replace(JOB, reference_notes="Warm, like a 1982 vinyl")
    result = run(submission(tmp_path, *specs), job)
    assert only(result, "missing_rough_mix") and not only(result, "no_vision")


@pytest.mark.parametrize("shift_ms", [5.0, -40.0, 250.0])
def test_stems_offset_finds_the_shift(tmp_path: Path, shift_ms: float) -> None:
    specs = clean_specs()
    mix = specs[3].signal
    n = round(shift_ms * RATE / 1000)
    shifted = (
        np.concatenate([np.zeros(n), mix[:-n]])
        if n > 0
        else np.concatenate([mix[-n:], np.zeros(-n)])
    )
    specs[3] = replace(specs[3], signal=shifted)
    result = run(submission(tmp_path, *specs))
    [f] = only(result, "stems_offset")
    assert f.severity == "warning" and f.file == "Billie Jean rough.wav"
    assert f"{abs(shift_ms):.1f} ms" in f.message
    assert ("later" if shift_ms > 0 else "earlier") in f.message
    assert "same start point" in f.message
    assert not only(result, "rough_mix_mismatch")


def test_an_offset_within_a_millisecond_is_not_flagged(tmp_path: Path) -> None:
    specs = clean_specs()
    specs[3] = replace(specs[3], signal=np.concatenate([np.zeros(24), specs[3].signal[:-24]]))
    result = run(submission(tmp_path, *specs))
    assert not only(result, "stems_offset")


def test_rough_mix_mismatch_when_a_stem_is_missing(tmp_path: Path) -> None:
    specs = clean_specs()
    # The rough mix has a loud fourth part the stems lack.
    extra = noise(6, seed=7, level=0.35)  # as loud as the three stems together
    specs[3] = replace(specs[3], signal=(specs[3].signal + extra / 2) * 0.8)
    result = run(submission(tmp_path, *specs))
    [f] = only(result, "rough_mix_mismatch")
    assert f.severity == "warning" and f.file == "Billie Jean rough.wav"
    assert "a stem may be missing" in f.message and "correlation 0." in f.message
    assert not only(result, "stems_offset")


def test_master_bus_on_stems(tmp_path: Path) -> None:
    specs = clean_specs()
    for i in range(3):
        sig = specs[i].signal.copy()
        sig = sig / np.max(np.abs(sig)) * 0.966  # every stem peaks at -0.30 dBFS
        specs[i] = replace(specs[i], signal=sig, flat_tops=5)
    result = run(submission(tmp_path, *specs))
    [f] = only(result, "master_bus_on_stems")
    assert f.severity == "warning"
    assert "Lead Vocal - Billie Jean.wav" in f.message and "-0.30 dBFS" in f.message
    assert "Bypass every plugin on the master bus and re-export all stems" in f.message


def test_stems_peaking_alike_without_flat_tops_are_not_master_bus(tmp_path: Path) -> None:
    specs = clean_specs()
    for i in range(3):
        sig = specs[i].signal / np.max(np.abs(specs[i].signal)) * 0.966
        specs[i] = replace(specs[i], signal=sig)
    assert not only(run(submission(tmp_path, *specs)), "master_bus_on_stems")


def test_minor_clipping_waits_for_acknowledgement() -> None:
    minor = Finding("clipping", "warning", "Bass clips 2 times at 0:01.000", "Bass.wav", 1.0)
    assert verdict_for([minor]) == ("accepted_with_warnings", True)
    major = replace(minor, severity="error")
    assert verdict_for([minor, major]) == ("reexport_requested", False)
    assert verdict_for([Finding("missing_reference", "info", "x")]) == ("accepted", False)


def test_per_file_findings_are_part_of_the_verdict(tmp_path: Path) -> None:
    specs = clean_specs()
    specs[0] = replace(
        specs[0],
        findings=(Finding("clipping", "warning", "clips twice", "Lead Vocal - Billie Jean.wav"),),
    )
    result = run(submission(tmp_path, *specs))
    assert result.verdict == "accepted_with_warnings" and result.needs_acknowledgement
    assert "confirm" in result.summary


def test_unreadable_stems_are_left_out_of_the_format_rules(tmp_path: Path) -> None:
    specs = clean_specs()
    files = submission(tmp_path, *specs)
    broken = replace(
        files[1],
        report=replace(files[1].report, format=None),
        file_findings=(Finding("unreadable_file", "error", "not audio", files[1].name),),
    )
    result = run([files[0], broken, *files[2:]])
    assert result.verdict == "reexport_requested"
    assert not only(result, "length_mismatch") and not only(result, "sample_rate_mismatch")


def test_errors_come_first_and_findings_follow_stem_importance(tmp_path: Path) -> None:
    specs = clean_specs()
    specs[1] = replace(specs[1], subtype="PCM_16")
    specs[2] = replace(specs[2], signal=specs[2].signal[:-10])
    result = run(submission(tmp_path, *specs))
    assert result.findings[0].code == "length_mismatch"


def test_job_findings_without_files() -> None:
    codes = {f.code for f in job_findings([], job=JOB, thresholds=T)}
    assert codes == {"no_stems", "missing_rough_mix", "missing_reference", "no_vision"}


def test_fmt_time() -> None:
    assert fmt_time(0) == "0:00.000"
    assert fmt_time(83.0426) == "1:23.043"


@pytest.mark.parametrize("shift_ms", [30.0, -12.5])
def test_long_files_are_aligned_on_an_excerpt(tmp_path: Path, shift_ms: float) -> None:
    from analysis.intake import alignment

    rate = 8000
    stems = [noise(80, seed=i, rate=rate) for i in range(2)]
    n = round(shift_ms * rate / 1000)
    total = stems[0] + stems[1]
    mix = np.roll(total, n)
    specs = [
        Spec("Bass - Billie Jean.wav", stems[0], rate=rate),
        Spec("Keys - Billie Jean.wav", stems[1], rate=rate),
        Spec("Rough.wav", mix / 2, kind="rough_mix", rate=rate),
    ]
    files = submission(tmp_path, *specs)
    result = alignment.align([f.path for f in files[:2]], files[2].path)
    assert result is not None
    assert result.offset_ms == pytest.approx(shift_ms, abs=0.3)
    assert result.correlation > 0.95


def test_float_stems_among_integer_stems_are_a_bit_depth_mismatch(tmp_path: Path) -> None:
    specs = clean_specs()
    specs[2] = replace(specs[2], subtype="DOUBLE")
    result = run(submission(tmp_path, *specs))
    [f] = only(result, "bit_depth_mismatch")
    assert f.file == "Drums - Billie Jean.wav" and "is 64-bit float" in f.message
