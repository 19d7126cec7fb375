"""The review room's endpoints: waveform peaks and (below) audio streaming, behind the same
access checks as downloads (jobs.access: another client gets 404)."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.http import require_safe

from analysis.audio.peaks import Peaks
from jobs.access import audio_file_for
from jobs.models import AudioFile, User
from jobs.review.selectors import peaks_data, playback_for
from jobs.review.services import review_copy_request
from jobs.review.streaming import stream_response

# A file version never changes (a re-upload is a new version), so its peaks can be cached.
PEAKS_CACHE = "private, max-age=86400"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def peaks_response(request: HttpRequest, audio: AudioFile) -> HttpResponse:
    """The peaks as stored (binary, see analysis.audio.peaks), or as JSON with ?format=json."""
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
    return peaks_response(request, audio_file_for(_user(request), file_id))


def playback_response(request: HttpRequest, audio: AudioFile) -> HttpResponseBase:
    """The file's bytes for the player, with Range; 503 while its review copy is made."""
    playback = playback_for(audio)
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
    return playback_response(request, audio_file_for(_user(request), file_id))
