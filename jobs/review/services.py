"""The review room's writes after a file is measured: keep its waveform peaks beside the
measurement. Called by the measuring pipeline (analysis.services) once a report is written."""

from __future__ import annotations

from analysis.audio.peaks import Peaks
from analysis.audio.report import Report
from jobs.models import AudioFile
from jobs.review.models import FilePeaks
from jobs.review.waveform import overview_from


def review_after_measure(*, audio: AudioFile, report: Report) -> FilePeaks | None:
    """Keep the peaks the measuring pass built (none for an unreadable or empty file)."""
    if report.peaks is None:
        return None
    peaks = Peaks.from_bytes(report.peaks)
    row, _ = FilePeaks.objects.update_or_create(
        audio_file=audio,
        defaults={"data": report.peaks, "overview": overview_from(peaks, report.short_term_lufs)},
    )
    return row
