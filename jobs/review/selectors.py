"""Reads for the review room's pages and endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db.models.fields.files import FieldFile

from analysis.audio.peaks import peaks_from_overview
from analysis.models import AnalysisStatus, FileAnalysis
from jobs.models import AudioFile
from jobs.review.models import CopyStatus, FilePeaks, ReviewCopy
from jobs.review.playback import CopyFormat, review_copy_format
from jobs.review.streaming import CONTENT_TYPES
from jobs.review.waveform import WaveformSvg, waveform_svg

_BY_SUFFIX = {".wav": "WAV", ".wave": "WAV", ".flac": "FLAC", ".aif": "AIFF", ".aiff": "AIFF"}


@dataclass(frozen=True)
class Playback:
    """What the player is given for one file version: its own bytes, or its review copy."""

    field: FieldFile | None  # None while the review copy is being made
    size: int = 0
    content_type: str = "application/octet-stream"
    etag: str = ""
    note: str = ""  # about the review copy; "" when the original plays
    missing_copy: CopyFormat | None = None  # a copy is needed and was never asked for

    @property
    def preparing(self) -> bool:
        return self.field is None


def _measured_format(audio: AudioFile) -> tuple[str, str]:
    row = (
        FileAnalysis.objects.filter(audio_file=audio, status=AnalysisStatus.DONE)
        .values_list("report__format__container", "report__format__subtype")
        .first()
    )
    return (row[0] or "", row[1] or "") if row else ("", "")


def playback_for(audio: AudioFile, measured_format: tuple[str, str] | None = None) -> Playback:
    """`measured_format`: the file's measured container and subtype ("" for none), if read."""
    container, subtype = measured_format or _measured_format(audio)
    needed = review_copy_format(container, subtype) if container else None
    if needed is not None:
        copy = ReviewCopy.objects.filter(audio_file=audio).first()
        if copy is None:
            return Playback(None, missing_copy=needed)
        if copy.status == CopyStatus.READY:
            return Playback(
                copy.file,
                copy.size_bytes,
                CONTENT_TYPES[copy.container],
                f'"{copy.sha256[:32]}"',
                copy.note,
            )
        if copy.status != CopyStatus.FAILED:
            return Playback(None)
        # A copy that could not be made: the original, which some browsers may still play.
    container = container or _BY_SUFFIX.get(Path(audio.original_name).suffix.lower(), "")
    return Playback(
        audio.file,
        audio.size_bytes,
        CONTENT_TYPES.get(container, "application/octet-stream"),
        f'"{audio.sha256[:32]}"',
    )


def peaks_data(audio: AudioFile) -> bytes | None:
    """The file's peaks as stored, or made from its report's coarse overview when it was
    measured before peaks were kept; None while it is not measured."""
    stored = FilePeaks.objects.filter(audio_file=audio).values_list("data", flat=True).first()
    if stored is not None:
        return bytes(stored)
    return peaks_from_report(audio)


def peaks_from_report(audio: AudioFile) -> bytes | None:
    """Peaks made from the report's coarse overview (a file measured before peaks were kept);
    None while it is not measured."""
    row = (
        FileAnalysis.objects.filter(audio_file=audio, status=AnalysisStatus.DONE)
        .values_list("report__waveform", "report__format")
        .first()
    )
    return peaks_from_waveform(*row) if row is not None else None


def peaks_from_waveform(wave: Any, fmt: Any) -> bytes | None:
    """Peaks made from a report's coarse overview and format (None if it has none)."""
    if not wave or not fmt:
        return None
    return peaks_from_overview(
        wave["min"], wave["max"], sample_rate=int(fmt["sample_rate"]), frames=int(fmt["frames"])
    ).to_bytes()


def peak_overviews(files: list[AudioFile]) -> dict[Any, Any]:
    """file id -> the coarse overview of its stored peaks, for the files that have them (one
    query for all of them)."""
    return dict(
        FilePeaks.objects.filter(audio_file__in=files).values_list("audio_file_id", "overview")
    )


def waveforms_for(
    files: list[AudioFile],
    summaries: dict[Any, dict[str, Any] | None],
    overviews: dict[Any, Any] | None = None,
) -> dict[Any, Any]:
    """file id -> WaveformSvg for the files that have peaks (one query for all of them).
    `summaries`: each file's measured summary (its clipping events), already loaded;
    `overviews`: peak_overviews of (at least) these files, if already read."""
    if overviews is None:
        overviews = peak_overviews(files)
    drawn: dict[Any, WaveformSvg] = {}
    for f in files:
        overview = overviews.get(f.pk)
        if not overview:
            continue
        clipping = (summaries.get(f.pk) or {}).get("clipping") or {}
        drawn[f.pk] = waveform_svg(
            overview,
            clips_s=clipping.get("first_events_s") or [],
            flat_tops_s=clipping.get("first_flat_tops_s") or [],
            overs=overview.get("overs") or [],
            name=f.original_name,
        )
    return drawn


def attach_waveforms(
    measurements: list[dict[str, Any]], overviews: dict[Any, Any] | None = None
) -> None:
    """Give each intake measurement row its `wave` (None when the file has no peaks);
    `overviews`: peak_overviews of these files, if already read."""
    files = [m["file"] for m in measurements]
    waves = waveforms_for(files, {m["file"].pk: m["report"] for m in measurements}, overviews)
    for m in measurements:
        m["wave"] = waves.get(m["file"].pk)
