"""Guest review pages: the link's token is the credential (no login); a missing link is a 404,
a revoked or expired one says so (410); a password, when set, is asked once per browser
session. The guest hears what the job's client hears and does only what the link grants.
Sharing and revoking links are on the job page, for the client and managers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from analysis.audio.findings import fmt_time
from jobs.access import job_for
from jobs.models import AudioFile, JobStatus, User
from jobs.review.access import guest_link_for
from jobs.review.comment_views import form_time
from jobs.review.comments import comment_add
from jobs.review.context import room_context
from jobs.review.guests import (
    guest_approve,
    guest_link_create,
    guest_link_revoke,
    guest_password_ok,
    guest_used,
    link_by_token,
)
from jobs.review.models import GuestLink
from jobs.review.room import visible_files
from jobs.review.streaming import open_stored
from jobs.review.views import peaks_response, playback_response
from jobs.services import NotAllowed, WorkflowError
from jobs.uploads import attachment_disposition

SESSION_KEY = "review_guest_links"
MAX_PASSWORD_TRIES = 10  # per link, every 15 minutes
TRIES_WINDOW_S = 15 * 60


class _Refused(Exception):
    """A link that no longer opens: answer with the page that says so."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _unlocked(request: HttpRequest, link: GuestLink) -> bool:
    return not link.has_password or str(link.pk) in request.session.get(SESSION_KEY, {})


def _gone(request: HttpRequest, link: GuestLink) -> HttpResponse:
    return render(request, "jobs/review/guest_gone.html", {"link": link}, status=410)


def _link(request: HttpRequest, token: str) -> GuestLink:
    """The active, unlocked link of this token, or the right refusal."""
    link = link_by_token(token)
    if link is None:
        raise Http404("No such review link")
    if link.state() != "active":
        raise _Refused(_gone(request, link))
    if not _unlocked(request, link):
        raise PermissionDenied("Open the review link and give its password first.")
    return link


def _guest_urls(token: str) -> Any:
    def urls(audio: AudioFile) -> dict[str, str]:
        return {
            "stream": reverse("guest_stream", args=[token, audio.pk]),
            "peaks": reverse("guest_peaks", args=[token, audio.pk]),
            "download": reverse("guest_download", args=[token, audio.pk]),
        }

    return urls


def _page_context(link: GuestLink, token: str) -> dict[str, Any]:
    context = room_context(
        link.job,
        None,
        guest=link,
        urls=_guest_urls(token),
        comment_action=reverse("guest_comment", args=[token]),
    )
    return {
        **context,
        "link": link,
        "job": link.job,
        "token": token,
        "can_approve": link.can_approve and link.job.status == JobStatus.DELIVERED,
    }


@require_http_methods(["GET", "POST"])
def guest_review(request: HttpRequest, token: str) -> HttpResponse:
    """The shared delivery: the player, the comments, and what the link grants."""
    link = link_by_token(token)
    if link is None:
        return render(request, "jobs/review/guest_gone.html", {"link": None}, status=404)
    if link.state() != "active":
        return _gone(request, link)
    if not _unlocked(request, link):
        error = ""
        if request.method == "POST":
            tries_key = f"guest-password-tries:{link.pk}"
            tries = cache.get(tries_key, 0)
            if tries >= MAX_PASSWORD_TRIES:
                error = "Too many wrong passwords: wait a quarter of an hour and try again."
            elif guest_password_ok(link, request.POST.get("password", "")):
                unlocked = request.session.get(SESSION_KEY, {})
                unlocked[str(link.pk)] = timezone.now().isoformat()
                request.session[SESSION_KEY] = unlocked
                guest_used(link, "opened")
                return redirect("guest_review", token=token)
            else:
                cache.set(tries_key, tries + 1, TRIES_WINDOW_S)
                guest_used(link, "wrong password")
                error = "That password is not right."
        return render(
            request,
            "jobs/review/guest_password.html",
            {"link": link, "error": error},
            status=403 if error else 200,
        )
    opened = request.session.get(SESSION_KEY, {})
    if str(link.pk) not in opened:  # one "opened" per browser session, not one per page view
        opened[str(link.pk)] = timezone.now().isoformat()
        request.session[SESSION_KEY] = opened
        guest_used(link, "opened")
    return render(request, "jobs/review/guest.html", _page_context(link, token))


def _guest_file(request: HttpRequest, token: str, file_id: UUID) -> tuple[GuestLink, AudioFile]:
    link = _link(request, token)
    try:
        audio = visible_files(link.job, None).get(pk=file_id)
    except AudioFile.DoesNotExist:
        raise Http404("No such file") from None
    return link, audio


@require_safe
def guest_stream(request: HttpRequest, token: str, file_id: UUID) -> HttpResponseBase:
    try:
        _, audio = _guest_file(request, token, file_id)
    except _Refused as refused:
        return refused.response
    return playback_response(request, audio)


@require_safe
def guest_peaks(request: HttpRequest, token: str, file_id: UUID) -> HttpResponseBase:
    try:
        _, audio = _guest_file(request, token, file_id)
    except _Refused as refused:
        return refused.response
    return peaks_response(request, audio)


@require_safe
def guest_download(request: HttpRequest, token: str, file_id: UUID) -> HttpResponseBase:
    try:
        link, audio = _guest_file(request, token, file_id)
    except _Refused as refused:
        return refused.response
    if not link.can_download:
        raise PermissionDenied("This link lets you listen, not download.")
    stream = open_stored(audio.file.storage, audio.file.name or "")
    guest_used(link, "downloaded", f"{audio.original_name} v{audio.version}")
    response = FileResponse(stream, content_type="application/octet-stream")
    response["Content-Disposition"] = attachment_disposition(audio.original_name)
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
def guest_comment(request: HttpRequest, token: str) -> HttpResponse:
    """A guest's comment (always shared with the client), when the link grants it."""
    try:
        link = _link(request, token)
    except _Refused as refused:
        return refused.response
    if not link.can_comment:
        raise PermissionDenied("This link lets you listen, not comment.")
    try:
        audio = visible_files(link.job, None).get(pk=UUID(request.POST.get("file", "")))
    except (ValueError, AudioFile.DoesNotExist):
        raise Http404("No such file") from None
    status, error = 200, ""
    try:
        end = request.POST.get("end", "").strip()
        comment = comment_add(
            audio=audio,
            by=None,
            guest=link,
            text=request.POST.get("text", ""),
            start_s=form_time(request.POST.get("start", ""), "start"),
            end_s=form_time(end, "end") if end else None,
        )
        guest_used(link, "commented", f"{audio.original_name} at {fmt_time(comment.start_s)}")
    except WorkflowError as exc:
        status, error = (403 if isinstance(exc, NotAllowed) else 400), exc.message
    if getattr(request, "htmx", False):
        context = _page_context(link, token)
        context["room"]["error"] = error
        context["room"]["done"] = "" if error else "Comment added."
        return render(request, "jobs/review/room.html#comments", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Comment added.")
    return redirect(reverse("guest_review", args=[token]) + "#comments")


@require_POST
def guest_approve_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = _link(request, token)
    except _Refused as refused:
        return refused.response
    if not link.can_approve:
        raise PermissionDenied("This link lets you listen, not approve.")
    try:
        guest_approve(link=link)
    except WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Approved: thank you! The studio has been told.")
    return redirect("guest_review", token=token)


# --- sharing, on the job page ------------------------------------------------------------------


@require_POST
@login_required
def guest_link_create_view(request: HttpRequest, job_id: UUID) -> HttpResponse:
    user = _user(request)
    job = job_for(user, job_id)
    if not (user.is_manager or user.is_client_of(job)):
        raise PermissionDenied("Only the job's client or a studio manager shares it.")
    expires_at = None
    days = request.POST.get("expires_days", "").strip()
    try:
        if days:
            if not days.isdigit() or not 1 <= int(days) <= 365:
                raise WorkflowError("Give the expiry as a number of days from 1 to 365.")
            expires_at = timezone.now() + timedelta(days=int(days))
        _, token = guest_link_create(
            job=job,
            by=user,
            label=request.POST.get("label", ""),
            password=request.POST.get("password", ""),
            expires_at=expires_at,
            can_comment=bool(request.POST.get("can_comment")),
            can_download=bool(request.POST.get("can_download")),
            can_approve=bool(request.POST.get("can_approve")),
        )
    except WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        url = request.build_absolute_uri(reverse("guest_review", args=[token]))
        messages.success(
            request, f"Shared. Send this link (it is shown only now): {url}", extra_tags="guest-url"
        )
    return redirect(reverse("job_detail", args=[job.pk]) + "#guests")


@require_POST
@login_required
def guest_link_revoke_view(request: HttpRequest, link_id: int) -> HttpResponse:
    user = _user(request)
    link = guest_link_for(user, link_id)
    if not (user.is_manager or user.is_client_of(link.job)):
        raise PermissionDenied("Only the job's client or a studio manager revokes its links.")
    try:
        guest_link_revoke(link=link, by=user)
    except WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The link for {link.label} no longer opens anything.")
    return redirect(reverse("job_detail", args=[link.job_id]) + "#guests")
