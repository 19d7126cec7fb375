"""Reads for the review room's pages and endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from django.db.models import DateTimeField, OuterRef, Subquery
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


def peaks_stamp() -> Subquery:
    """For a values() of AudioFile rows (room_files, intake_files): when the file's peaks were
    written (None without peaks), read as `peaks_at`. Written again, they get a new time
    (jobs.review.services); written anew, a new row does."""
    written = FilePeaks.objects.filter(audio_file=OuterRef("pk")).values("created_at")[:1]
    return Subquery(written, output_field=DateTimeField())


def peak_overviews(files: list[AudioFile]) -> PeakOverviews:
    """The peak overviews of `files`: now only which files have them and when they were written
    (`peaks_at`, read with the files; one narrow query for files read without it); the
    overviews themselves, JSON that is costly to send and parse, in one query for all the files
    the first time a page draws one. Most pages draw none: their waveforms sit in fragments
    (jobs.fragments) kept under that stamp."""
    if all(hasattr(f, "peaks_at") for f in files):
        stamps = {f.pk: f.peaks_at for f in files if f.peaks_at is not None}  # type: ignore[attr-defined]
    else:
        rows = FilePeaks.objects.filter(audio_file__in=files).values_list(
            "audio_file_id", "created_at"
        )
        stamps = dict(rows)
    return PeakOverviews(stamps)


class PeakOverviews:
    """file id -> the coarse overview of its stored peaks, for the files that have them, read
    when first asked for; `stamp` says which version of them a file has without reading them."""

    def __init__(self, stamps: dict[Any, datetime]) -> None:
        self.stamps = stamps  # file id -> when its peaks were written
        self._read: dict[Any, Any] | None = None

    def stamp(self, file_id: Any) -> datetime | None:
        return self.stamps.get(file_id)

    def get(self, file_id: Any) -> Any:
        if file_id not in self.stamps:
            return None
        if self._read is None:
            self._read = dict(
                FilePeaks.objects.filter(audio_file_id__in=list(self.stamps)).values_list(
                    "audio_file_id", "overview"
                )
            )
        return self._read.get(file_id)


class Wave:
    """One file's small waveform, drawn (`drawn`) only when a page renders it; `key` is
    everything the drawing shows, for the key of a fragment that holds it."""

    def __init__(
        self, overviews: PeakOverviews, audio: AudioFile, clipping: dict[str, Any]
    ) -> None:
        self.overviews, self.file_id, self.name = overviews, audio.pk, audio.original_name
        self.clips_s = clipping.get("first_events_s") or []
        self.flat_tops_s = clipping.get("first_flat_tops_s") or []

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.overviews.stamp(self.file_id), self.name, self.clips_s, self.flat_tops_s)

    @cached_property
    def drawn(self) -> WaveformSvg | None:
        """The drawing (None for an empty overview)."""
        overview = self.overviews.get(self.file_id)
        if not overview:
            return None
        return waveform_svg(
            overview,
            clips_s=self.clips_s,
            flat_tops_s=self.flat_tops_s,
            overs=overview.get("overs") or [],
            name=self.name,
        )


def file_wave(
    overviews: PeakOverviews, audio: AudioFile, summary: dict[str, Any] | None
) -> Wave | None:
    """The file's waveform (None when it has no peaks). `summary`: its measured summary (its
    clipping events), already loaded."""
    if overviews.stamp(audio.pk) is None:
        return None
    return Wave(overviews, audio, (summary or {}).get("clipping") or {})


def wave_key(wave: Wave | None) -> tuple[Any, ...] | None:
    return wave.key if wave is not None else None


def attach_waveforms(
    measurements: list[dict[str, Any]], overviews: PeakOverviews | None = None
) -> None:
    """Give each intake measurement row its `wave` (None when the file has no peaks), drawn
    when shown; `overviews`: peak_overviews of these files, if already read."""
    if overviews is None:
        overviews = peak_overviews([m["file"] for m in measurements])
    for m in measurements:
        m["wave"] = file_wave(overviews, m["file"], m["report"])
