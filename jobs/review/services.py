"""The review room's writes after a file is measured: keep its waveform peaks beside the
measurement, and have a lossless review copy made when the browser cannot play the original.
Called by the measuring pipeline (analysis.services) once a report is written."""

from __future__ import annotations

from django.utils import timezone

from analysis.audio.report import Report
from jobs.models import AudioFile
from jobs.review.models import FilePeaks, ReviewCopy
from jobs.review.playback import CopyFormat, review_copy_format
from jobs.review.tasks import review_copy_make_task


def review_after_measure(*, audio: AudioFile, report: Report) -> FilePeaks | None:
    """Keep the peaks the measuring pass built (none for an unreadable or empty file), and
    queue a review copy if the browser cannot play this format."""
    if report.format is not None and report.unreadable is None:
        fmt = review_copy_format(report.format.container, report.format.subtype)
        if fmt is not None:
            review_copy_request(audio=audio, fmt=fmt)
    if report.peaks is None:
        return None
    # numpy is imported when peaks are first kept, not when every process starts.
    from analysis.audio.peaks import Peaks
    from jobs.review.waveform import overview_from

    peaks = Peaks.from_bytes(report.peaks)
    row, _ = FilePeaks.objects.update_or_create(
        audio_file=audio,
        defaults={
            "data": report.peaks,
            "overview": overview_from(peaks, report.short_term_lufs),
            # The pages know the waveform they drew by this stamp (PeakOverviews): peaks
            # written again for the same file (it is measured again) must be a new one.
            "created_at": timezone.now(),
        },
    )
    return row


def review_copy_request(*, audio: AudioFile, fmt: CopyFormat) -> ReviewCopy:
    """One pending copy per file version, its task queued after the commit."""
    copy, created = ReviewCopy.objects.get_or_create(
        audio_file=audio,
        defaults={"container": fmt.container, "subtype": fmt.subtype, "note": fmt.note},
    )
    if created:
        review_copy_make_task.delay_on_commit(copy.pk)  # type: ignore[attr-defined]
    return copy
