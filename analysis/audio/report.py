"""The typed per-file report: the contract between the measuring code, the intake rules, the
database (stored as JSON) and the `analyze` command. Field names follow intake-analysis.md."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    file: str | None = None  # the client's file name; None for job-wide findings
    at_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class AudioFormat:
    container: str  # "WAV", "RF64", "AIFF", "FLAC", or what was recognised ("MP3", "ZIP", ...)
    subtype: str  # libsndfile's subtype name, e.g. "PCM_24", "FLOAT"
    sample_rate: int
    channels: int
    frames: int
    duration_s: float
    bit_depth: int | None  # None for float files
    is_float: bool
    lossy: bool


@dataclass
class Clipping:
    full_scale_samples: int = 0
    events: int = 0
    flat_top_events: int = 0
    first_events_s: list[float] = field(default_factory=list)  # start times, at most 20
    first_flat_tops_s: list[float] = field(default_factory=list)


@dataclass
class Silence:
    leading_s: float = 0.0
    trailing_s: float = 0.0
    fully_silent: bool = False


@dataclass
class Stereo:
    correlation: float | None  # None when either channel is silent
    dual_mono: bool
    phase_inverted: bool


@dataclass
class Waveform:
    buckets: int
    # per channel, `buckets` (min, max) pairs as fractions of full scale
    min: list[list[float]]
    max: list[list[float]]


@dataclass
class Report:
    """Everything measured in one file. Levels that do not exist (silence) are None, never -inf."""

    path: str
    format: AudioFormat | None  # None when the file could not be opened at all
    sample_peak_dbfs: float | None = None
    true_peak_dbtp: float | None = None
    headroom_db: float | None = None
    rms_dbfs: float | None = None
    rms_dbfs_per_channel: list[float | None] = field(default_factory=list)
    integrated_lufs: float | None = None
    loudness_range_lu: float | None = None
    max_momentary_lufs: float | None = None
    max_short_term_lufs: float | None = None
    dc_offset: list[float] = field(default_factory=list)
    clipping: Clipping = field(default_factory=Clipping)
    over_full_scale: bool = False  # float file with samples beyond +/-1.0
    invalid_samples: int = 0  # NaN or Inf samples
    silence: Silence = field(default_factory=Silence)
    stereo: Stereo | None = None
    waveform: Waveform | None = None
    short_term_lufs: list[float | None] = field(default_factory=list)  # one value per second
    findings: list[Finding] = field(default_factory=list)
    # Integrity, filled by the measuring code and turned into findings by findings.file_findings:
    unreadable: str | None = None  # why the file could not be read (None when it was read)
    truncated: str | None = None  # what the header promised versus what the file holds
    container_mismatch: str | None = None  # its container's sizes disagree with the file
    detected_as: str | None = None  # what the content looks like when it is not audio we take
    # analysis.audio.peaks.Peaks.to_bytes(): stored beside the report, never inside its JSON
    peaks: bytes | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("peaks", None)
        cleaned: dict[str, Any] = _clean(d)
        return cleaned

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        """Rebuild a Report from `to_dict()` output (e.g. JSON stored in the database).

        Unknown keys are ignored and missing ones take their defaults, so reports stored by an
        older version of this code still load.
        """
        fmt = d.get("format")
        stereo = d.get("stereo")
        wave = d.get("waveform")
        return cls(
            **_known(
                cls, d, skip={"format", "clipping", "silence", "stereo", "waveform", "findings"}
            ),
            format=AudioFormat(**_known(AudioFormat, fmt)) if fmt else None,
            clipping=Clipping(**_known(Clipping, d.get("clipping") or {})),
            silence=Silence(**_known(Silence, d.get("silence") or {})),
            stereo=Stereo(**_known(Stereo, stereo)) if stereo else None,
            waveform=Waveform(**_known(Waveform, wave)) if wave else None,
            findings=[Finding(**_known(Finding, f)) for f in d.get("findings") or []],
        )


def _known(
    kind: type, d: dict[str, Any], skip: frozenset[str] | set[str] = frozenset()
) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(kind)} - set(skip)
    return {k: v for k, v in d.items() if k in names}


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become None (silence is null, never -inf or NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
