"""The review room's endpoints: waveform peaks and (below) audio streaming, behind the same
access checks as downloads (jobs.access: another client gets 404)."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.db.models import BinaryField, JSONField, OuterRef, Subquery
from django.db.models.expressions import BaseExpression
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.http import require_safe

from analysis.audio.peaks import Peaks
from analysis.models import AnalysisStatus, FileAnalysis
from jobs.access import audio_file_for
from jobs.models import AudioFile, User
from jobs.review.models import FilePeaks
from jobs.review.selectors import peaks_data, peaks_from_waveform, playback_for
from jobs.review.services import review_copy_request
from jobs.review.streaming import stream_response

# A file version never changes (a re-upload is a new version), so its peaks can be cached.
PEAKS_CACHE = "private, max-age=86400"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _measured(key: str) -> Subquery:
    found = FileAnalysis.objects.filter(audio_file=OuterRef("pk"), status=AnalysisStatus.DONE)
    return Subquery(found.values(f"report__format__{key}")[:1], output_field=JSONField())


def _peaks_reads() -> dict[str, BaseExpression]:
    """What file_peaks reads with the file: its stored peaks, or (none stored) its report's
    overview and format."""
    stored = FilePeaks.objects.filter(audio_file=OuterRef("pk")).values("data")[:1]
    old = FileAnalysis.objects.filter(
        audio_file=OuterRef("pk"), status=AnalysisStatus.DONE, audio_file__peaks__isnull=True
    )
    return {
        "stored_peaks": Subquery(stored, output_field=BinaryField()),
        "old_wave": Subquery(old.values("report__waveform")[:1], output_field=JSONField()),
        "old_format": Subquery(old.values("report__format")[:1], output_field=JSONField()),
    }


def _stream_reads() -> dict[str, BaseExpression]:
    """What file_stream reads with the file: its measured container and subtype."""
    return {"fmt_container": _measured("container"), "fmt_subtype": _measured("subtype")}


def peaks_response(
    request: HttpRequest, audio: AudioFile, data: bytes | None = None, *, read: bool = False
) -> HttpResponse:
    """The peaks as stored (binary, see analysis.audio.peaks), or as JSON with ?format=json.
    `read`: the file's peaks were already read (`data`, None if it has none yet)."""
    if not read:
        data = peaks_data(audio)
    if data is None:
        raise Http404("This file has no waveform yet: it is still being measured.")
    if request.GET.get("format") == "json":
        peaks = Peaks.from_bytes(data)
        response: HttpResponse = JsonResponse(
            {
                "sample_rate": peaks.sample_rate,
                "samples_per_bucket": peaks.samples_per_bucket,
                "frames": peaks.frames,
                "duration_s": peaks.duration_s,
                "levels": 127,
                "min": peaks.min.tolist(),
                "max": peaks.max.tolist(),
            }
        )
    else:
        response = HttpResponse(data, content_type="application/octet-stream")
    response["Cache-Control"] = PEAKS_CACHE
    response["ETag"] = f'"{audio.sha256[:32]}-peaks"'
    return response


@require_safe
@login_required
def file_peaks(request: HttpRequest, file_id: UUID) -> HttpResponse:
    """The file's peaks, read with the access check: the stored ones, or (a file measured
    before peaks were kept) its report's overview, read only when none are stored."""
    audio = audio_file_for(_user(request), file_id, _peaks_reads)
    found = audio.stored_peaks  # type: ignore[attr-defined]
    data = (
        bytes(found) if found is not None else peaks_from_waveform(audio.old_wave, audio.old_format)  # type: ignore[attr-defined]
    )
    return peaks_response(request, audio, data, read=True)


def playback_response(
    request: HttpRequest, audio: AudioFile, measured_format: tuple[str, str] | None = None
) -> HttpResponseBase:
    """The file's bytes for the player, with Range; 503 while its review copy is made.
    `measured_format`: the file's measured container and subtype, if already read."""
    playback = playback_for(audio, measured_format)
    if playback.missing_copy is not None:
        review_copy_request(audio=audio, fmt=playback.missing_copy)
    if playback.field is None:
        response = HttpResponse(
            "A playable lossless copy of this file is being made; try again in a moment.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = "5"
        return response
    return stream_response(
        request,
        storage=playback.field.storage,
        name=playback.field.name or "",
        size=playback.size,
        content_type=playback.content_type,
        filename=audio.original_name,
        etag=playback.etag,
    )


@require_safe
@login_required
def file_stream(request: HttpRequest, file_id: UUID) -> HttpResponseBase:
    """Audio for the player, behind the same access checks as the download (jobs.access)."""
    audio = audio_file_for(_user(request), file_id, _stream_reads)
    measured = (audio.fmt_container or "", audio.fmt_subtype or "")  # type: ignore[attr-defined]
    return playback_response(request, audio, measured)
