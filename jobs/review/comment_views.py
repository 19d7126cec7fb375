"""Comments in the review room: add, reply, resolve, export as DAW markers, and the client's
revision request made of its comments. Each works as a plain form; with htmx the answer is the
room's comments region. A refusal says why (400 for the wrong moment or bad input, 403 for the
wrong person), never a server error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from jobs.access import audio_file_for, job_for
from jobs.models import AudioFile, Job, User
from jobs.review.access import comment_for
from jobs.review.comments import comment_add, comment_reply, comment_resolve
from jobs.review.comments import revision_request_from_comments as request_revision
from jobs.review.context import room_context
from jobs.review.markers import Marker, marker_list, parse_time, reaper_csv
from jobs.review.models import Visibility
from jobs.review.room import comments_visible_to
from jobs.services import NotAllowed, WorkflowError

COMMENTS = "jobs/review/room.html#comments"
COLORS: dict[str, str] = {Visibility.CLIENT: "D97706", Visibility.INTERNAL: "3F5F8A"}


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _answer(request: HtmxHttpRequest, job: Job, move: Callable[[], Any], done: str) -> HttpResponse:
    """Make the move; answer with the comments region (htmx) or back to the job page."""
    status, error = 200, ""
    try:
        move()
    except WorkflowError as exc:
        status, error = (403 if isinstance(exc, NotAllowed) else 400), exc.message
    if request.htmx:
        context = room_context(job, _user(request))
        context["room"]["error"] = error
        context["room"]["done"] = "" if error else done
        return render(request, COMMENTS, {"job": job, **context}, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect(reverse("job_detail", args=[job.pk]) + "#comments")


def _file(user: User, value: str) -> AudioFile:
    """A file id from a form or query string: a malformed one is no file at all (404)."""
    try:
        file_id = UUID(value)
    except (ValueError, TypeError):
        raise Http404("No such file") from None
    return audio_file_for(user, file_id)


def form_time(value: str, what: str) -> float:
    try:
        return parse_time(value)
    except ValueError as exc:
        raise WorkflowError(f"The {what}: {exc}") from None


@require_POST
@login_required
def comment_create(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """A comment at a moment (start) or over a range (start and end) of one file version."""
    user = _user(request)
    job = job_for(user, job_id)
    if not (user.is_studio or user.is_client_of(job)):
        raise PermissionDenied("Only the studio and the job's client comment here.")
    audio = _file(user, request.POST.get("file", ""))
    if audio.job_id != job.pk:
        raise PermissionDenied("That file belongs to another job.")

    def move() -> None:
        end = request.POST.get("end", "").strip()
        comment_add(
            audio=audio,
            by=user,
            text=request.POST.get("text", ""),
            start_s=form_time(request.POST.get("start", ""), "start"),
            end_s=form_time(end, "end") if end else None,
            visibility=request.POST.get("visibility", Visibility.CLIENT),
        )

    return _answer(request, job, move, "Comment added.")


@require_POST
@login_required
def comment_reply_view(request: HtmxHttpRequest, comment_id: int) -> HttpResponse:
    user = _user(request)
    parent = comment_for(user, comment_id)
    if not (user.is_studio or user.is_client_of(parent.job)):
        raise PermissionDenied("Only the studio and the job's client reply here.")
    return _answer(
        request,
        parent.job,
        lambda: comment_reply(parent=parent, by=user, text=request.POST.get("text", "")),
        "Reply added.",
    )


@require_POST
@login_required
def comment_resolve_view(request: HtmxHttpRequest, comment_id: int) -> HttpResponse:
    user = _user(request)
    comment = comment_for(user, comment_id)
    resolved = request.POST.get("resolved", "1") != "0"
    return _answer(
        request,
        comment.job,
        lambda: comment_resolve(comment=comment, by=user, resolved=resolved),
        "Marked as resolved." if resolved else "Opened again.",
    )


@require_GET
@login_required
def comment_markers(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """The comments this viewer may see as DAW markers: REAPER's CSV (default) or a plain list
    (?format=txt); one file's with ?file=<id>."""
    user = _user(request)
    job = job_for(user, job_id)
    comments = comments_visible_to(user, job).filter(parent__isnull=True)
    name = job.track_title
    if request.GET.get("file"):
        audio = _file(user, request.GET["file"])
        comments = comments.filter(audio_file=audio)
        name = audio.original_name.rsplit(".", 1)[0]
    markers = [
        Marker(
            f"{'[studio] ' if c.visibility == Visibility.INTERNAL else ''}{c.text} "
            f"({c.author_name}{'' if c.is_open else ', resolved'})",
            c.start_s,
            c.end_s,
            COLORS.get(c.visibility, ""),
        )
        for c in comments.select_related("author", "guest").order_by("start_s")
    ]
    stem = slugify(name) or "markers"
    if request.GET.get("format") == "txt":
        body = marker_list(markers, title=f"Markers: {name}")
        response = HttpResponse(body, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{stem}-markers.txt"'
    else:
        response = HttpResponse(reaper_csv(markers), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{stem}-markers.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@login_required
def job_revision_comments(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """The client asks for a revision made of the comments they tick (and an optional note)."""
    user = _user(request)
    job = job_for(user, job_id)
    if not user.is_client_of(job):
        raise PermissionDenied("Only the job's client can ask for a revision.")
    try:
        ids = [int(v) for v in request.POST.getlist("comments")]
    except ValueError:
        ids = []
    try:
        request_revision(job=job, by=user, comment_ids=ids, note=request.POST.get("note", ""))
    except WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Revision requested: the studio starts a new round.")
    return redirect("job_detail", job_id=job.pk)
