"""The levelling preview on the job page: the studio sends one while the job waits on the client
over minor clipping; the client hears it in the review room beside the rough mix and answers."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from analysis.services import preview_add
from jobs.access import job_for
from jobs.models import Job, PreviewAnswer, User
from jobs.services import NotAllowed, WorkflowError
from jobs.services.preview import preview_answer
from jobs.uploads import UploadError, upload_refusals
from jobs.views import _page_context


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _refused(request: HttpRequest, job: Job, message: str, status: int) -> HttpResponse:
    """The job page again with the refusal beside the preview (never a server error)."""
    job.refresh_from_db()
    context = _page_context(job, _user(request))
    context["preview"]["error"] = message
    return render(request, "jobs/job_detail.html", context, status=status)


@require_POST
@login_required
def job_preview_upload(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """An engineer or a manager sends the client a levelling preview with a note; it is checked
    (length from its header, the job's state) before it is stored, then measured."""
    user = _user(request)
    job = job_for(user, job_id)
    if not user.may_send_preview:
        raise PermissionDenied("Only the studio's engineers and managers send a preview.")
    problems = upload_refusals(request)
    upload = request.FILES.get("file")
    if upload is None:
        return _refused(request, job, " ".join(problems) or "Choose the preview's file.", 400)
    try:
        note = request.POST.get("note", "")
        preview_add(job=job, content=upload, name=upload.name or "", note=note, by=user)
    except NotAllowed as exc:
        return _refused(request, job, exc.message, 403)
    except WorkflowError as exc:
        return _refused(request, job, exc.message, 400)
    except UploadError as exc:
        return _refused(request, job, str(exc), 400)
    messages.success(request, "Preview sent: the client has been asked to listen and answer.")
    return redirect("job_detail", job_id=job.pk)


@require_POST
@login_required
def job_preview_answer(request: HttpRequest, job_id: UUID, preview_id: int) -> HttpResponse:
    """The client's answer to the preview: carry on with these files, or re-export them."""
    user = _user(request)
    job = job_for(user, job_id)
    if not user.may_hand_in(job):
        raise PermissionDenied("Only the job's client answers the levelling preview.")
    answer = request.POST.get("answer", "")
    try:
        preview_answer(job=job, preview_id=preview_id, answer=answer, by=user)
    except NotAllowed as exc:
        return _refused(request, job, exc.message, 403)
    except WorkflowError as exc:
        return _refused(request, job, exc.message, 400)
    if answer == PreviewAnswer.CARRY_ON:
        messages.success(request, "Thanks: we carry on with these files and the work starts.")
    else:
        messages.success(request, "Thanks: upload the fixed files here, then submit them again.")
    return redirect("job_detail", job_id=job.pk)
