"""Thin views over the studio's work: read through selectors, call services, render templates.

A view never measures audio: uploads go to jobs.uploads, intake to analysis.services, moves to
jobs.services. With htmx (or the upload script) a view renders only the region that changed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from analysis.models import AnalysisStatus
from analysis.selectors import (
    delivery_checks,
    file_measurements,
    intake_files,
    latest_intake_report,
)
from analysis.services import intake_submit, master_add
from jobs.access import audio_file_for, job_for
from jobs.cloud import CloudLinkError, cloud_link_submit
from jobs.fragments import content_key
from jobs.models import (
    INTAKE_RUNNING,
    STUDIO_FILE_KINDS,
    AudioFile,
    FileKind,
    Job,
    JobStatus,
    Stage,
    StageKind,
    StageStatus,
    User,
)
from jobs.portal import (
    delivery_key,
    files_key,
    home_cards,
    intake_file_rows,
    intake_headline,
    intake_key,
    stages_key,
)
from jobs.preview_page import preview_context
from jobs.review.context import room_context
from jobs.review.room import RoomFiles, room_files, room_picks
from jobs.review.selectors import attach_waveforms, peak_overviews
from jobs.review.streaming import open_stored
from jobs.selectors import client_home_jobs, home_jobs, job_history, round_stage_list
from jobs.services import (
    NotAllowed,
    WorkflowError,
    job_acknowledge,
    job_approve,
    job_create,
    job_deliver,
    job_request_revision,
)
from jobs.stage_work_views import stage_work_context
from jobs.timeline import job_timeline, timeline_key
from jobs.uploads import (
    UPLOADABLE_STATUSES,
    UploadError,
    attachment_disposition,
    audio_file_add,
    upload_refusals,
)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _require_hand_in(user: User, job: Job) -> None:
    if not user.may_hand_in(job):
        raise PermissionDenied("Only the client or a manager can hand in files for this job.")


def _intake_context(job: Job, user: User, room: RoomFiles | None = None) -> dict[str, Any]:
    """The intake region. `room`: the job page's room_files, if read: the peak overviews of the
    intake files and of the room's sources are then read together, once, if any is drawn."""
    files = intake_files(job)
    measurements = file_measurements(files)
    if room is not None:
        room.overviews = peak_overviews([*files, *(f for f, _ in room_picks(room))])
    attach_waveforms(measurements, room.overviews if room is not None else None)
    report, findings = latest_intake_report(job)
    file_rows, job_findings = intake_file_rows(measurements, findings)
    return {
        "file_rows": file_rows,
        "intake_key": intake_key(file_rows),
        "job_findings": job_findings,
        "headline": intake_headline(report.verdict, findings, needs_ack=job.awaits_acknowledgement)
        if report
        else "",
        "job": job,
        "files": files,
        "measurements": measurements,
        "report": report,
        "findings": findings,
        "errors": [f for f in findings if f.severity == "error"],
        "warnings": [f for f in findings if f.severity == "warning"],
        "infos": [f for f in findings if f.severity == "info"],
        "polling": job.status in INTAKE_RUNNING,
        "needs_attention": any(
            m["analysis"] and m["analysis"].status == AnalysisStatus.NEEDS_ATTENTION
            for m in measurements
        ),
        "can_hand_in": user.may_hand_in(job) and job.status in UPLOADABLE_STATUSES,
        "can_acknowledge": user.may_hand_in(job) and job.awaits_acknowledgement,
        "kinds": [
            (FileKind.STEM, "Stems"),
            (FileKind.ROUGH_MIX, "Rough mix"),
            (FileKind.REFERENCE, "Reference"),
        ],
    }


def _delivery_context(
    job: Job,
    user: User,
    measurements: list[dict[str, Any]],
    room: RoomFiles,
    stages: list[Stage],
) -> dict[str, Any]:
    """The delivery region: each master beside the rough mix and the references (loudness, true
    peak, loudness range), the delivery check of each master, and the moves this viewer has.
    The rough mix and references come from intake's `measurements`, the masters from `room`
    (the page's room_files) and the round's stages from `stages`, all already read."""
    checks = delivery_checks(job, user, room.files)
    masters = [{"file": c.master, "analysis": None, "report": c.report, "check": c} for c in checks]
    comparison = sorted(
        (m for m in measurements if m["file"].kind in (FileKind.ROUGH_MIX, FileKind.REFERENCE)),
        key=lambda m: (m["file"].kind, m["file"].original_name),
    )
    may_master = user.may_deliver(job, stages)
    in_progress = job.status == JobStatus.IN_PROGRESS
    blocker = _deliver_blocker(job, checks, stages) if may_master and in_progress else ""
    return {
        "job": job,
        "master_rows": masters,
        "comparison_rows": comparison,
        "delivery_key": delivery_key([*masters, *comparison]),
        "can_upload_master": may_master and in_progress,
        # Offered only when it can succeed; otherwise the page says what is missing.
        "can_deliver": may_master and in_progress and not blocker,
        "deliver_blocker": blocker,
        "can_respond": user.may_review(job) and job.status == JobStatus.DELIVERED,
        "delivery_polling": in_progress and any(c.measuring for c in checks),
    }


def _deliver_blocker(job: Job, checks: list[Any], stages: list[Stage]) -> str:
    """What stands between the round and delivery, as job_deliver would say it ("" if nothing
    does; the service still checks everything again, the bytes included). `stages`: the
    round's stages."""
    delivery = next((s for s in stages if s.kind == StageKind.DELIVERY), None)
    if delivery is None or delivery.status != StageStatus.DONE:
        return "finish the delivery stage."
    if not checks:
        return "upload the master for this round."
    if any(c.measuring for c in checks):
        return "the masters are still being measured."
    if not all(c.passes for c in checks):
        return "every master has to pass the delivery check."
    return ""


def _page_context(job: Job, user: User) -> dict[str, Any]:
    # Read once and shared: the viewer's files (the room, the versions, the masters) and the
    # round's stages (the list, the delivery blocker).
    room = room_files(job, user)
    stages = round_stage_list(job)
    intake = _intake_context(job, user, room)
    timeline = job_timeline(job, job_history(job), viewer=user)
    return {
        **intake,
        **_delivery_context(job, user, intake["measurements"], room, stages),
        **room_context(job, user, read=room),
        **preview_context(job, user),
        "files_key": files_key(intake["files"]),
        "stages": stages,
        "stages_key": stages_key(stages, studio=user.is_studio),
        "timeline": timeline,
        "timeline_key": timeline_key(timeline),
        "work": stage_work_context(job, user, measurements=intake["measurements"], stages=stages),
    }


STUDIO_JOBS_PER_PAGE = 50


def _job_list_key(jobs: list[Job]) -> str:
    """Everything a row of the studio's job list shows (jobs/home.html), and the zone its
    times are written in: fifty rows of template lookups and filters are most of that page."""
    return content_key(
        str(timezone.get_current_timezone()),
        tuple(
            (j.pk, j.track_title, j.artist, j.organisation.name, j.status, j.verdict, j.due_at,
             j.deadline_status)
            for j in jobs
        ),
    )  # fmt: skip


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    match = request.resolver_match
    if match is not None and match.url_name == "home":
        # After logging in too (LOGIN_REDIRECT_URL is home): an engineer's day starts at the
        # desk, a manager's at the deadline board; the list of every job is jobs/all/.
        if user.is_engineer:
            return redirect("desk")
        if user.is_manager:
            return redirect("board")
    if user.is_studio:
        # The whole studio's jobs: a page at a time (the board sorts and filters them all).
        page = Paginator(home_jobs(user), STUDIO_JOBS_PER_PAGE).get_page(request.GET.get("page"))
        jobs = list(page.object_list)
        context = {"jobs": jobs, "jobs_key": _job_list_key(jobs), "page": page, "cards": None}
        return render(request, "jobs/home.html", context)
    own = client_home_jobs(user)
    cards = home_cards(own, user.organisation_id)
    return render(request, "jobs/home.html", {"jobs": own, "cards": cards})


@require_http_methods(["GET", "POST"])
@login_required
def job_new(request: HttpRequest) -> HttpResponse:
    """A client opens a job for one track, then adds files on the job's page."""
    user = _user(request)
    if not user.may_open_jobs:
        raise PermissionDenied("Only clients open jobs.")
    fields = {
        name: request.POST.get(name, "")
        for name in ("track_title", "artist", "notes", "reference_notes")
    }
    error = ""
    if request.method == "POST":
        try:
            job = job_create(by=user, **fields)
        except WorkflowError as exc:
            error = exc.message
        else:
            return redirect("job_detail", job_id=job.pk)
    return render(
        request,
        "jobs/job_new.html",
        {"fields": fields, "error": error},
        status=400 if error else 200,
    )


@require_GET
@login_required
def job_detail(request: HttpRequest, job_id: UUID) -> HttpResponse:
    job = job_for(_user(request), job_id)
    return render(request, "jobs/job_detail.html", _page_context(job, _user(request)))


def _store_uploads(request: HttpRequest, job: Job, kind: str) -> tuple[list[AudioFile], list[str]]:
    """Each uploaded file through `audio_file_add` (a master through `master_add`, which also
    queues its measurement); what was added and what was refused."""
    problems = upload_refusals(request)
    added = []
    uploads = request.FILES.getlist("files")
    if not uploads and not problems:
        problems.append("Choose at least one file to upload.")
    for upload in uploads:
        name, by = upload.name or "", _user(request)
        try:
            if kind == FileKind.MASTER:
                added.append(master_add(job=job, content=upload, name=name, by=by))
            else:
                added.append(audio_file_add(job=job, content=upload, name=name, kind=kind, by=by))
        except UploadError as exc:
            problems.append(str(exc))
    return added, problems


def _after_upload(
    request: HtmxHttpRequest,
    job: Job,
    added: list[AudioFile],
    problems: list[str],
    region: str,
) -> HttpResponse:
    status = 200 if added or not problems else 400
    if request.htmx:
        context = {**_page_context(job, _user(request)), "added": added, "problems": problems}
        return render(request, f"jobs/job_detail.html#{region}", context, status=status)
    for f in added:
        messages.success(request, f"Added {f.original_name} (v{f.version}).")
    for p in problems:
        messages.error(request, p)
    return redirect("job_detail", job_id=job.pk)


@require_POST
@login_required
def job_upload(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """Add files (stems, the rough mix, references). The cap handler has already skipped any
    file past a cap; each kept file is stored, hashed and typed by jobs.uploads."""
    job = job_for(_user(request), job_id)
    _require_hand_in(_user(request), job)
    kind = request.POST.get("kind", FileKind.STEM)
    if kind in STUDIO_FILE_KINDS:
        raise PermissionDenied(
            "Masters and levelling previews are uploaded by the studio, in their own sections."
        )
    added, problems = _store_uploads(request, job, kind)
    return _after_upload(request, job, added, problems, "files")


@require_POST
@login_required
def job_master_upload(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """The delivery engineer or a manager uploads masters for the job's current round; each is
    measured at once (the delivery check). A master with a current one's name is its next
    version."""
    job = job_for(_user(request), job_id)
    if not _user(request).may_deliver(job):
        raise PermissionDenied("Only the delivery engineer or a manager uploads masters.")
    added, problems = _store_uploads(request, job, FileKind.MASTER)
    return _after_upload(request, job, added, problems, "delivery")


@require_GET
@login_required
def job_delivery(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """The delivery region alone (htmx polls it while masters are measured); the whole job page
    without htmx."""
    job = job_for(_user(request), job_id)
    if not request.htmx:
        return redirect("job_detail", job_id=job.pk)
    return render(request, "jobs/job_detail.html#delivery", _page_context(job, _user(request)))


def _workflow_move(request: HtmxHttpRequest, job: Job, move: Any, success: str) -> HttpResponse:
    """Run a workflow service; a refusal is shown in the delivery region (403 for the wrong
    person, 400 for the wrong moment or a failed check), never a server error."""
    try:
        move()
    except WorkflowError as exc:
        status = 403 if isinstance(exc, NotAllowed) else 400
        job.refresh_from_db()
        context = {**_page_context(job, _user(request)), "delivery_error": exc.message}
        template = "jobs/job_detail.html#delivery" if request.htmx else "jobs/job_detail.html"
        return render(request, template, context, status=status)
    messages.success(request, success)
    return redirect("job_detail", job_id=job.pk)


@require_POST
@login_required
def job_deliver_view(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """Send the round's masters to the client (the service checks them and their bytes)."""
    job = job_for(_user(request), job_id)
    user = _user(request)
    return _workflow_move(
        request,
        job,
        lambda: job_deliver(job=job, by=user),
        "Delivered: the client has been told the masters are ready.",
    )


@require_POST
@login_required
def job_approve_view(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """The client approves the delivered masters; the job is closed."""
    job = job_for(_user(request), job_id)
    user = _user(request)
    return _workflow_move(
        request, job, lambda: job_approve(job=job, by=user), "Approved: thank you!"
    )


@require_POST
@login_required
def job_revision_view(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """The client asks for changes to the delivered masters (the note says what)."""
    job = job_for(_user(request), job_id)
    user = _user(request)
    note = request.POST.get("note", "")
    return _workflow_move(
        request,
        job,
        lambda: job_request_revision(job=job, by=user, note=note),
        "Revision requested: the studio starts a new round.",
    )


@require_GET
@login_required
def file_download(request: HttpRequest, file_id: UUID) -> HttpResponseBase:
    """A file the user may see, streamed from storage as an attachment under the client-facing
    name (made safe; never the stored name). Masters reach a client once their round is
    delivered (jobs.access)."""
    audio = audio_file_for(_user(request), file_id)
    stream = open_stored(audio.file.storage, audio.file.name or "")
    response = FileResponse(stream, content_type="application/octet-stream")
    response["Content-Disposition"] = attachment_disposition(audio.original_name)
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@login_required
def job_submit_view(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """Hand the current files to intake; measuring starts after the commit."""
    job = job_for(_user(request), job_id)
    _require_hand_in(_user(request), job)
    try:
        intake_submit(job=job, by=_user(request))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except WorkflowError as exc:
        messages.error(request, exc.message)
    # No success message: the intake region says the files are being checked until the verdict
    # replaces it, where a message would stay above the verdict.
    return redirect("job_detail", job_id=job.pk)


@require_POST
@login_required
def job_acknowledge_view(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """The client accepts the minor problems intake found and lets the work go ahead."""
    job = job_for(_user(request), job_id)
    _require_hand_in(_user(request), job)
    try:
        job_acknowledge(job=job, by=_user(request))
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Thanks: we go ahead with the files as they are.")
    return redirect("job_detail", job_id=job.pk)


@require_GET
@login_required
def job_intake(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """The intake report: verdict, findings with their fixes, per-file measurements. While the
    files are measured, htmx polls the `report` region."""
    job = job_for(_user(request), job_id)
    context = _intake_context(job, _user(request))
    template = (
        "analysis/intake_report.html#report" if request.htmx else "analysis/intake_report.html"
    )
    response = render(request, template, context)
    if request.htmx and request.GET.get("polling") and not context["polling"]:
        response["HX-Refresh"] = "true"  # the verdict is in: reload so status and files show it
    return response


@require_POST
@login_required
def job_cloud_link(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """Paste a Google Drive, Dropbox or WeTransfer link: it is checked now and fetched by a
    task; the outcome appears in the job's history."""
    job = job_for(_user(request), job_id)
    _require_hand_in(_user(request), job)
    try:
        cloud_link_submit(
            job=job,
            url=request.POST.get("url", ""),
            kind=request.POST.get("kind", FileKind.STEM),
            by=_user(request),
        )
    except CloudLinkError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, "Fetching the files from the link; they appear here when they are in."
        )
    return redirect("job_detail", job_id=job.pk)
