"""Per-file findings: turn a measured Report into what the client reads (what, where, how to fix),
judged against the studio policy's thresholds."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .report import Finding, Report, Severity

GIB = 1024**3


@dataclass(frozen=True)
class Thresholds:
    """The studio policy's per-file limits, with the defaults from intake-analysis.md."""

    allowed_clip_events: int = 3  # more than this is an error; 1..this many is minor (warning)
    low_headroom_dbfs: float = -3.0  # sample peak above this (and no clipping): low_headroom
    target_peak_dbfs: float = -6.0  # what a re-export should peak at (3 to 6 dB of headroom)
    dc_offset_dbfs: float = -60.0  # |DC| above this on any channel (0.1 % of full scale)
    phase_correlation: float = -0.9  # stereo correlation below this: phase_inverted
    true_peak_ceiling_dbtp: float = -1.0  # a delivered master must not exceed this
    flat_top_min_events: int = 2  # flat tops must recur before they count as clipping
    max_decoded_bytes: int = 8 * GIB  # frames * channels * 4 bytes, checked before decoding


def phase_inverted(correlation: float | None, t: Thresholds) -> bool:
    """Stereo channels anti-correlated beyond the policy's limit (one side polarity-inverted)."""
    return correlation is not None and correlation < t.phase_correlation


KINDS = ("stem", "rough_mix", "reference", "master", "preview")
# Finished material the client keeps as it is: its findings inform and never ask for a re-export.
INFORM_KINDS = ("rough_mix", "reference", "preview")
_FINISHED = {
    "rough_mix": "For information: a rough mix may keep its master-bus processing, so there is "
    "nothing to change; we use it only to hear the balance you intend.",
    "reference": "For information: a reference is finished material, so there is nothing to "
    "change; we use it only to hear the sound you want.",
    "preview": "For information: a levelling preview is the studio's sample of the levelled "
    "master, played beside the rough mix; nothing in it is judged.",
}
_UNREAD = {
    "rough_mix": "We will work from the stems without it; upload it again if you want us to "
    "hear the balance you intend.",
    "reference": "We will work without it; upload it again if you want us to hear it.",
    "preview": "Send the preview again as a WAV, AIFF or FLAC file.",
}
_INTEGRITY = {
    "truncated_file",
    "container_mismatch",
    "unreadable_file",
    "empty_file",
    "silent_file",
}


def fmt_time(seconds: float) -> str:
    """m:ss.mmm, the way engineers read a DAW's time line."""
    millis = max(0, round(seconds * 1000))
    minutes, rest = divmod(millis, 60_000)
    return f"{minutes}:{rest // 1000:02d}.{rest % 1000:03d}"


def _times(times: list[float], limit: int = 5) -> str:
    shown = ", ".join(fmt_time(t) for t in times[:limit])
    return shown + (" and later" if len(times) > limit else "")


def _stem_name(name: str) -> str:
    base, dot, ext = name.rpartition(".")
    return base if dot and base and 1 <= len(ext) <= 5 and " " not in ext else name


def _fader(peak_db: float, target_db: float) -> int:
    """Whole dB the master fader must come down for the peak to reach the target, rounded up
    (with 0.05 dB of slack, so a peak measured at +3.0001 dBFS asks for 9 dB, not 10)."""
    return max(1, math.ceil(peak_db - target_db - 0.05))


def _channel(index: int, channels: int) -> str:
    if channels == 2:
        return ("left", "right")[index]
    if channels == 1:
        return "mono"
    return f"channel {index + 1}"


def file_findings(
    report: Report, *, kind: str, name: str, thresholds: Thresholds | None = None
) -> list[Finding]:
    """Every per-file finding in intake-analysis.md for one measured file.

    `kind` is "stem", "rough_mix", "reference", "master" or "preview" (informed as a rough mix
    is: the studio's sample, heard and never judged). Level rules (clipping, flat tops,
    over full scale, true peak, headroom) judge stems; for a rough mix or a reference every
    finding is shown at info severity, as an observation without a fix (they are finished
    material the client keeps as it is). A master is judged on delivery: a true peak above the
    policy's ceiling is an error (it must not ship; the limiter's ceiling is wrong), and samples
    clipping or a float file above full scale are errors too.
    """
    t = thresholds or Thresholds()
    found: list[Finding] = []
    fmt = report.format
    stem = _stem_name(name)

    def add(code: str, severity: Severity, message: str, at_s: float | None = None) -> None:
        found.append(Finding(code, severity, message, name, at_s))

    if kind in INFORM_KINDS:
        return [
            _inform(f, kind) for f in file_findings(report, kind="stem", name=name, thresholds=t)
        ]

    if fmt is not None and fmt.lossy:
        what = report.detected_as or "a lossy format"
        add("lossy_format", "warning",
            f"{name} is {what}: lossy compression has already thrown part of the audio away. "
            f"Send the original export of {stem} as WAV, AIFF or FLAC.")  # fmt: skip
    if report.truncated is not None:
        add("truncated_file", "error",
            f"{name} is incomplete: {report.truncated}. Upload {stem} again; if it is cut "
            f"short again, export it again.")  # fmt: skip
    if report.container_mismatch is not None and report.truncated is None:
        container = fmt.container if fmt is not None and fmt.container else "WAV"
        add("container_mismatch", "error",
            f"{name} is not a plain {container} file: {report.container_mismatch}. Export "
            f"{stem} again straight from your DAW (not through a tagging or conversion tool) "
            f"and upload that file.")  # fmt: skip
    if report.unreadable is not None:
        if report.truncated is None:
            add("unreadable_file", "error",
                f"{name} cannot be read: {report.unreadable}. Export {stem} again as a WAV, "
                f"AIFF or FLAC file.")  # fmt: skip
        return found
    if fmt is None:
        add("unreadable_file", "error", f"{name} cannot be read. Export {stem} again as WAV.")
        return found
    if fmt.frames == 0:
        add("empty_file", "error",
            f"{name} holds no audio at all (0 samples). Export {stem} again, with the export "
            f"range covering the song.")  # fmt: skip
        return found
    if report.invalid_samples:
        add("invalid_samples", "error",
            f"{name} contains {report.invalid_samples:,} invalid samples (NaN or infinity), "
            f"usually from a misbehaving plugin: they play as clicks or silence. Find the "
            f"plugin, then export {stem} again.")  # fmt: skip

    _level_findings(report, kind, name, stem, t, add)

    dc_limit = 10.0 ** (t.dc_offset_dbfs / 20.0)
    for i, dc in enumerate(report.dc_offset):
        if abs(dc) > dc_limit:
            add("dc_offset", "warning",
                f"{name} has a DC offset of {100 * dc:+.2f} % of full scale "
                f"({20 * math.log10(abs(dc)):.0f} dBFS) on the {_channel(i, fmt.channels)} "
                f"channel: it wastes headroom and clicks at edits. Remove it (a DC filter or a "
                f"high-pass around 10 Hz) and export {stem} again.")  # fmt: skip
            break
    if report.silence.fully_silent:
        add("silent_file", "warning",
            f"{name} is digital silence from start to end: did the track export empty (muted, "
            f"or routed elsewhere)? Check {stem} and export it again.")  # fmt: skip
    if report.stereo is not None:
        corr = report.stereo.correlation
        if corr is not None and phase_inverted(corr, t):
            add("phase_inverted", "warning",
                f"{name}: the left and right channels cancel each other (correlation "
                f"{corr:+.2f}); one side is polarity-inverted and the file will vanish in mono. "
                f"Check the polarity of {stem}'s channels and export it again.")  # fmt: skip
        if report.stereo.dual_mono:
            add("dual_mono", "info",
                f"{name} is a stereo file whose channels are identical (mono in a stereo "
                f"file). Fine as it is; a mono export of {stem} would do.")  # fmt: skip
    return found


def _inform(f: Finding, kind: str) -> Finding:
    """A stem's finding restated for finished material: what was measured, at info severity,
    with the fix (every sentence from the one that asks for a new export on) left out."""
    observed = f.message
    for cut in (
        " Export ",
        " Send ",
        " Upload ",
        " Remove ",
        " Find ",
        " Check ",
        " Fine as",
        ": did",
    ):
        if cut in observed:
            observed = observed[: observed.index(cut)]
    observed = observed.rstrip(" :")
    observed += "" if observed.endswith((".", "?")) else "."
    tail = _UNREAD[kind] if f.code in _INTEGRITY else _FINISHED[kind]
    return Finding(f.code, "info", f"{observed} {tail}", f.file, f.at_s)


def _level_findings(
    report: Report, kind: str, name: str, stem: str, t: Thresholds, add: Any
) -> None:
    """Level rules for a stem (the fix is a fader move) or a master (judged for delivery)."""
    master = kind == "master"
    clip = report.clipping
    peak = report.sample_peak_dbfs
    true_peak = report.true_peak_dbtp
    # The fix brings the sample peak to the policy's target (-6 dBFS by default): that is the
    # headroom engineers mean. The true-peak rule computes its own move from the true peak.
    fix = _fader(peak if peak is not None else t.target_peak_dbfs, t.target_peak_dbfs)
    lower = f"Export {stem} again with the master fader {fix} dB lower"

    if clip.events:
        severity: Severity = "error" if clip.events > t.allowed_clip_events else "warning"
        first = clip.first_events_s[0] if clip.first_events_s else None
        add("clipping", "error" if master else severity,
            f"{name} clips: {clip.events} clipping event{'s' if clip.events != 1 else ''} "
            f"({clip.full_scale_samples:,} samples at full scale), at "
            f"{_times(clip.first_events_s)}. {lower} (6 dB below the clipping point: how far "
            f"it went over cannot be measured once clipped), and check no plugin clips.",
            first)  # fmt: skip
    if clip.flat_top_events >= t.flat_top_min_events and not clip.events:
        first = clip.first_flat_tops_s[0] if clip.first_flat_tops_s else None
        add("flat_top_clipping", "warning" if not master else "info",
            f"{name} has {clip.flat_top_events} flat-topped peaks at {peak:.1f} dBFS, at "
            f"{_times(clip.first_flat_tops_s)}: it was clipped somewhere and turned down "
            f"afterwards. Find the stage that clips (a plugin or bus driven past 0 dBFS), lower "
            f"the level into it, and export {stem} again.", first)  # fmt: skip
    if report.over_full_scale and peak is not None:
        add("over_full_scale_float", "error" if master else "warning",
            f"{name} peaks at {peak:+.1f} dBFS: a floating-point file above full scale is not "
            f"clipped yet, but it will clip on any conversion to fixed point. "
            f"{lower}.")  # fmt: skip
    if master:
        if true_peak is not None and true_peak > t.true_peak_ceiling_dbtp:
            add("true_peak_over", "error",
                f"{name}: true peak {true_peak:+.1f} dBTP is above the delivery ceiling of "
                f"{t.true_peak_ceiling_dbtp:+.1f} dBTP. Set the limiter's ceiling to "
                f"{t.true_peak_ceiling_dbtp:+.1f} dBTP (true-peak mode) and render the master "
                f"again.")  # fmt: skip
        return
    if true_peak is not None and true_peak > 0.0 and not clip.events and not report.over_full_scale:
        add("true_peak_over", "warning",
            f"{name}: the true peak reaches {true_peak:+.1f} dBTP although no sample clips: it "
            f"will clip after conversion or resampling. Export {stem} again with the master "
            f"fader {_fader(true_peak, t.target_peak_dbfs)} dB lower.")  # fmt: skip
    if (
        peak is not None
        and peak > t.low_headroom_dbfs
        and not clip.events
        and not report.over_full_scale
    ):
        add("low_headroom", "warning",
            f"{name} peaks at {peak:.1f} dBFS: less than the 3 to 6 dB of headroom mastering "
            f"needs. {lower}, so it peaks around {t.target_peak_dbfs:.0f} dBFS.")  # fmt: skip
