"""Reads for the review room's pages and endpoints."""

from __future__ import annotations

from typing import Any

from analysis.audio.peaks import peaks_from_overview
from analysis.models import AnalysisStatus, FileAnalysis
from jobs.models import AudioFile
from jobs.review.models import FilePeaks
from jobs.review.waveform import WaveformSvg, waveform_svg


def peaks_data(audio: AudioFile) -> bytes | None:
    """The file's peaks as stored, or made from its report's coarse overview when it was
    measured before peaks were kept; None while it is not measured."""
    stored = FilePeaks.objects.filter(audio_file=audio).values_list("data", flat=True).first()
    if stored is not None:
        return bytes(stored)
    row = (
        FileAnalysis.objects.filter(audio_file=audio, status=AnalysisStatus.DONE)
        .values_list("report__waveform", "report__format")
        .first()
    )
    if row is None or not row[0] or not row[1]:
        return None
    wave, fmt = row
    return peaks_from_overview(
        wave["min"], wave["max"], sample_rate=int(fmt["sample_rate"]), frames=int(fmt["frames"])
    ).to_bytes()


def waveforms_for(files: list[AudioFile], summaries: dict[Any, dict[str, Any] | None]) -> dict:
    """file id -> WaveformSvg for the files that have peaks (one query for all of them).
    `summaries`: each file's measured summary (its clipping events), already loaded."""
    overviews = dict(
        FilePeaks.objects.filter(audio_file__in=files).values_list("audio_file_id", "overview")
    )
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


def attach_waveforms(measurements: list[dict[str, Any]]) -> None:
    """Give each intake measurement row its `wave` (None when the file has no peaks)."""
    files = [m["file"] for m in measurements]
    waves = waveforms_for(files, {m["file"].pk: m["report"] for m in measurements})
    for m in measurements:
        m["wave"] = waves.get(m["file"].pk)
