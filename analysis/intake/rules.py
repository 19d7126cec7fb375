"""Job-level intake rules: pure functions over the per-file Reports of one submission.

They judge the set of files handed in together (export region, formats, names, what is missing,
alignment with the rough mix, a master bus left on) and turn every finding into a verdict. No
Django here: the worker, the in-process pipeline and `check_intake` all call the same code.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from analysis.audio.findings import fmt_time
from analysis.audio.report import SEVERITY_ORDER, Finding, Report
from analysis.intake.naming import (
    clean_display_name,
    instrument_key,
    normalise,
    order_by_importance,
    parse_stem_name,
    suggest_stem_name,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# The kinds and verdicts as jobs.models spells them (FileKind, Verdict); a test holds them equal.
STEM = "stem"
ROUGH_MIX = "rough_mix"
REFERENCE = "reference"
INTAKE_KINDS = (STEM, ROUGH_MIX, REFERENCE)

ACCEPTED = "accepted"
ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
REEXPORT_REQUESTED = "reexport_requested"
VERDICTS = (ACCEPTED, ACCEPTED_WITH_WARNINGS, REEXPORT_REQUESTED)  # a manager may also decline

# Per-file errors that make a file's format meaningless for the job-wide comparisons.
_UNUSABLE = {"unreadable_file", "empty_file"}
_UNREADABLE_FOR_ALIGNMENT = {"unreadable_file", "empty_file", "truncated_file", "invalid_samples"}


@dataclass(frozen=True)
class JobInfo:
    track_title: str = ""
    artist: str = ""
    reference_notes: str = ""


@dataclass(frozen=True)
class JobThresholds:
    stems_offset_tolerance_ms: float = 1.0
    rough_mix_min_correlation: float = 0.8
    master_bus_peak_spread_db: float = 0.1
    master_bus_min_peak_dbfs: float = -1.0


@dataclass(frozen=True)
class IntakeFile:
    """One current file of the submission: its client name, kind, report and (for alignment)
    a local path to read it from."""

    name: str
    kind: str
    report: Report
    path: str | None = None
    file_findings: tuple[Finding, ...] = ()

    @property
    def display(self) -> str:
        return clean_display_name(self.name)


@dataclass
class IntakeResult:
    verdict: str
    needs_acknowledgement: bool
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""


def _usable(f: IntakeFile) -> bool:
    fmt = f.report.format
    if fmt is None or fmt.frames <= 0:
        return False
    codes = {x.code for x in (*f.file_findings, *f.report.findings)}
    return not codes & _UNUSABLE


def _khz(rate: int) -> str:
    return f"{rate / 1000:g} kHz"


def _depth(f: IntakeFile) -> str:
    fmt = f.report.format
    assert fmt is not None
    if fmt.is_float:
        return "64-bit float" if fmt.subtype.upper() == "DOUBLE" else "32-bit float"
    return f"{fmt.bit_depth}-bit" if fmt.bit_depth else fmt.subtype


def _majority(values: Iterable[T]) -> T:
    counts = Counter(values)
    # Most common; ties go to the first seen, so the answer does not depend on hash order.
    return max(counts, key=lambda v: counts[v])


def _names(files: Sequence[IntakeFile]) -> str:
    return ", ".join(f.display for f in files)


def _rule_no_stems(stems: list[IntakeFile], job: JobInfo) -> list[Finding]:
    if stems:
        return []
    title = f"'{job.track_title}'" if job.track_title else "the track"
    return [
        Finding(
            "no_stems",
            "error",
            f"No stems were handed in for {title}. Export every track of the session as its own "
            "WAV, AIFF or FLAC stem (same start and length for all) and upload them.",
        )
    ]


def _rule_sample_rates(stems: list[IntakeFile]) -> list[Finding]:
    rates = {f.report.format.sample_rate for f in stems if f.report.format}
    if len(rates) < 2:
        return []
    common = int(_majority(f.report.format.sample_rate for f in stems if f.report.format))
    out = []
    for f in stems:
        assert f.report.format
        rate = f.report.format.sample_rate
        if rate != common:
            out.append(
                Finding(
                    "sample_rate_mismatch",
                    "error",
                    f"{f.display} is at {_khz(rate)} while the other stems are at "
                    f"{_khz(common)}. Re-export {f.display} from the session at {_khz(common)} "
                    "(do not resample the exported file).",
                    f.name,
                )
            )
    return out


def _rule_bit_depths(stems: list[IntakeFile]) -> list[Finding]:
    depths = {_depth(f) for f in stems}
    if len(depths) < 2:
        return []
    common = str(_majority(_depth(f) for f in stems))
    return [
        Finding(
            "bit_depth_mismatch",
            "warning",
            f"{f.display} is {_depth(f)} while the other stems are {common}. Re-export "
            f"{f.display} as {common} like the rest, straight from the session.",
            f.name,
        )
        for f in stems
        if _depth(f) != common
    ]


def _rule_lengths(stems: list[IntakeFile], rough: list[IntakeFile]) -> list[Finding]:
    if not stems:
        return []
    # Compare in time at the stems' common rate, so a sample-rate error does not double up here.
    rate = int(_majority(f.report.format.sample_rate for f in stems if f.report.format))

    def frames_at_rate(f: IntakeFile) -> int:
        assert f.report.format
        return round(f.report.format.frames * rate / f.report.format.sample_rate)

    common = int(_majority(frames_at_rate(f) for f in stems))
    out = []
    for f in [*stems, *rough]:
        diff = frames_at_rate(f) - common
        if diff == 0:
            continue
        what = "rough mix" if f.kind == ROUGH_MIX else "stem"
        longer = "longer" if diff > 0 else "shorter"
        ms = abs(diff) / rate * 1000
        out.append(
            Finding(
                "length_mismatch",
                "error",
                f"The {what} {f.display} is {abs(diff)} samples ({ms:.3f} ms) {longer} than the "
                f"stems ({common} samples at {_khz(rate)}, {fmt_time(common / rate)}): the export "
                f"region differs. Re-export {f.display} with the same start and end as the other "
                "stems (select the whole song, from the same bar to the same end point).",
                f.name,
            )
        )
    return out


def _rule_names(stems: list[IntakeFile], job: JobInfo) -> list[Finding]:
    out: list[Finding] = []
    parsed = [(f, parse_stem_name(f.name)) for f in stems]
    for f, p in parsed:
        if not p.follows_scheme:
            suggestion = suggest_stem_name(f.name, track_title=job.track_title)
            out.append(
                Finding(
                    "naming_scheme",
                    "warning",
                    f"{f.display} is not named 'Instrument - Track Name'. Rename it to "
                    f"'{suggestion}' (the instrument, a dash, then the track title) so every "
                    "stem says what it is.",
                    f.name,
                )
            )
    # Duplicates: the same instrument name twice among the stems.
    by_instrument: dict[str, list[IntakeFile]] = {}
    for f, p in parsed:
        if p.instrument:
            by_instrument.setdefault(instrument_key(p.instrument), []).append(f)
    for group in by_instrument.values():
        if len(group) < 2:
            continue
        instrument = parse_stem_name(group[0].name).instrument
        track = job.track_title or parse_stem_name(group[0].name).track or "Track Name"
        examples = " and ".join(f"'{instrument} {i} - {track}'" for i in (1, 2))
        for f in group:
            others = _names([g for g in group if g is not f])
            out.append(
                Finding(
                    "duplicate_stem_name",
                    "error",
                    f"{f.display} has the same instrument name '{instrument}' as {others}. "
                    f"Give each stem its own name (e.g. {examples}), or remove the one that "
                    "was uploaded twice.",
                    f.name,
                )
            )
    # Track names: each stem should name this job's track (or, without a title, the same one).
    tracks = [(f, p.track) for f, p in parsed if p.track]
    if job.track_title:
        expected, expected_display = normalise(job.track_title), job.track_title
    elif tracks:
        expected_display = str(_majority(t for _, t in tracks))
        expected = normalise(expected_display)
    else:
        return out
    for f, track in tracks:
        assert track is not None
        got = normalise(track)
        if got and expected and (expected in got or got in expected):
            continue
        instrument = parse_stem_name(f.name).instrument
        out.append(
            Finding(
                "track_name_mismatch",
                "warning",
                f"{f.display} names the track '{track}', but "
                + (
                    f"this job is '{job.track_title}'. "
                    if job.track_title
                    else f"the other stems name '{expected_display}'. "
                )
                + f"Check it comes from the right session; if it does, rename it to "
                f"'{instrument} - {expected_display}'.",
                f.name,
            )
        )
    return out


def _rule_presence(
    stems: list[IntakeFile], rough: list[IntakeFile], refs: list[IntakeFile], job: JobInfo
) -> list[Finding]:
    out = []
    if not rough:
        out.append(
            Finding(
                "missing_rough_mix",
                "warning",
                "No rough mix was uploaded. Bounce the mix as you hear it in the session "
                "(master bus on, same start as the stems) and add it as the rough mix, so we "
                "can check the stems against it and hear the balance you intend.",
            )
        )
    if not refs:
        out.append(
            Finding(
                "missing_reference",
                "info",
                "No reference track was uploaded. If a released song has the sound you want, "
                "add it as a reference (a WAV or FLAC, not a stream rip) and say what to take "
                "from it in the reference notes.",
            )
        )
    if not rough and not refs and not job.reference_notes.strip():
        out.append(
            Finding(
                "no_vision",
                "warning",
                "Nothing shows the direction you want: no rough mix, no reference track and no "
                "reference notes. Add at least one of them (a rough mix bounce, a reference "
                "track, or a few words in the reference notes).",
            )
        )
    return out


def _rule_alignment(
    stems: list[IntakeFile], rough: list[IntakeFile], thresholds: JobThresholds
) -> list[Finding]:
    if len(rough) != 1 or not stems:
        return []
    mix = rough[0]
    readable = [
        f
        for f in stems
        if f.path
        and _usable(f)
        and not {x.code for x in (*f.file_findings, *f.report.findings)} & _UNREADABLE_FOR_ALIGNMENT
    ]
    rates = {f.report.format.sample_rate for f in readable if f.report.format}
    if not readable or len(rates) != 1 or not mix.path or not _usable(mix):
        return []
    # Imported here: it pulls in scipy (most of a second), which only this rule needs.
    from analysis.intake import alignment

    try:
        result = alignment.align([f.path for f in readable if f.path], mix.path)
    except Exception as exc:  # a file that reads badly is reported by its own findings
        log.warning("alignment skipped: %s", exc)
        return []
    if result is None:
        return []
    out = []
    if abs(result.offset_ms) > thresholds.stems_offset_tolerance_ms:
        later = "later" if result.offset_ms > 0 else "earlier"
        out.append(
            Finding(
                "stems_offset",
                "warning",
                f"The rough mix {mix.display} lines up with the sum of the stems only after "
                f"shifting it by {abs(result.offset_ms):.1f} ms (it starts {later} than the "
                "stems): the export start differs. Re-export the rough mix and the stems from "
                "the same start point (e.g. bar 1 at 0:00.000) with the same export region.",
                mix.name,
            )
        )
    if result.correlation < thresholds.rough_mix_min_correlation:
        out.append(
            Finding(
                "rough_mix_mismatch",
                "warning",
                f"The sum of the stems does not match the rough mix {mix.display} "
                f"(correlation {result.correlation:.2f}, below "
                f"{thresholds.rough_mix_min_correlation:.2f}): a stem may be missing or muted, "
                "or the rough mix is another version. Check every track of the session was "
                "exported, and upload the rough mix of this same version.",
                mix.name,
            )
        )
    return out


def _rule_master_bus(stems: list[IntakeFile], thresholds: JobThresholds) -> list[Finding]:
    if len(stems) < 2:
        return []
    peaks = [f.report.sample_peak_dbfs for f in stems]
    if any(p is None for p in peaks):
        return []
    values = [float(p) for p in peaks if p is not None]
    if max(values) - min(values) > thresholds.master_bus_peak_spread_db:
        return []
    if min(values) < thresholds.master_bus_min_peak_dbfs or max(values) > 0.0:
        return []
    if not all(f.report.clipping.flat_top_events + f.report.clipping.events >= 2 for f in stems):
        return []
    return [
        Finding(
            "master_bus_on_stems",
            "warning",
            f"All {len(stems)} stems ({_names(stems)}) peak at {max(values):.2f} dBFS with "
            "recurring flat tops: the master bus processing (limiter, clipper or compressor on "
            "the master fader) was probably left on during the stem export. Bypass every plugin "
            "on the master bus and re-export all stems.",
        )
    ]


def job_findings(
    files: Sequence[IntakeFile], *, job: JobInfo, thresholds: JobThresholds
) -> list[Finding]:
    """Every job-level finding for one submission (per-file findings are not repeated)."""
    stems_all = [f for f in files if f.kind == STEM]
    stems = [f for f in stems_all if _usable(f)]
    rough = [f for f in files if f.kind == ROUGH_MIX and _usable(f)]
    refs = [f for f in files if f.kind == REFERENCE]
    findings = _rule_no_stems(stems_all, job)
    findings += _rule_names(stems_all, job)
    findings += _rule_sample_rates(stems)
    findings += _rule_bit_depths(stems)
    findings += _rule_lengths(stems, rough)
    findings += _rule_presence(stems_all, [f for f in files if f.kind == ROUGH_MIX], refs, job)
    findings += _rule_alignment(stems, rough, thresholds)
    findings += _rule_master_bus(stems, thresholds)
    return findings


def verdict_for(findings: Iterable[Finding]) -> tuple[str, bool]:
    """(verdict, needs_acknowledgement): any error asks for a re-export; warnings accept with
    warnings; minor clipping (a `clipping` warning) waits for the client to acknowledge."""
    findings = list(findings)
    worst = max((SEVERITY_ORDER[f.severity] for f in findings), default=0)
    if worst >= SEVERITY_ORDER["error"]:
        return REEXPORT_REQUESTED, False
    if worst >= SEVERITY_ORDER["warning"]:
        minor_clipping = any(f.code == "clipping" and f.severity == "warning" for f in findings)
        return ACCEPTED_WITH_WARNINGS, minor_clipping
    return ACCEPTED, False


def summarise(verdict: str, findings: Sequence[Finding], *, needs_ack: bool) -> str:
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    if verdict == REEXPORT_REQUESTED:
        head = f"Re-export requested: {errors} problem{'s' * (errors != 1)} to fix"
        head += f" and {warnings} warning{'s' * (warnings != 1)}." if warnings else "."
    elif verdict == ACCEPTED_WITH_WARNINGS:
        head = f"Accepted with {warnings} warning{'s' * (warnings != 1)}."
        if needs_ack:
            head += (
                " Some stems clip slightly: please confirm we should go ahead as they are, or "
                "re-upload them."
            )
    else:
        head = "Accepted: the files are ready for mastering."
    fixes = [f"- {f.message}" for f in findings if f.severity in ("error", "warning")]
    return "\n".join([head, *fixes])


def sort_findings(findings: Sequence[Finding], files: Sequence[IntakeFile]) -> list[Finding]:
    """Errors first, then by stem importance, job-wide findings before a file's."""
    rank = {name: i for i, name in enumerate(order_by_importance([f.name for f in files]))}
    return sorted(
        findings,
        key=lambda f: (
            -SEVERITY_ORDER[f.severity],
            -1 if f.file is None else rank.get(f.file, len(rank)),
        ),
    )


def intake_evaluate(
    files: Sequence[IntakeFile], *, job: JobInfo, thresholds: JobThresholds
) -> IntakeResult:
    """All findings (each file's, then the job's) and the verdict for one submission."""
    per_file = [x for f in files for x in f.file_findings]
    findings = sort_findings(
        [*per_file, *job_findings(files, job=job, thresholds=thresholds)], files
    )
    verdict, needs_ack = verdict_for(findings)
    return IntakeResult(
        verdict=verdict,
        needs_acknowledgement=needs_ack,
        findings=findings,
        summary=summarise(verdict, findings, needs_ack=needs_ack),
    )
