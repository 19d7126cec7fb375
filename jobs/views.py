"""Thin views over the studio's work: read the models, call services, render templates.

A view never measures audio: uploads go to jobs.uploads, intake to analysis.services, moves to
jobs.services. With htmx (or the upload script) a view renders only the region that changed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from analysis.intake.naming import stem_importance
from analysis.models import AnalysisStatus, IntakeReport
from analysis.services import intake_start
from jobs.access import job_for, jobs_visible_to
from jobs.cloud import CloudLinkError, cloud_link_submit
from jobs.models import FileKind, Job, JobStatus, User
from jobs.services import NotAllowed, WorkflowError, job_acknowledge, job_create, job_submit
from jobs.uploads import UPLOADABLE_STATUSES, UploadError, audio_file_add, upload_refusals

INTAKE_RUNNING = frozenset({JobStatus.SUBMITTED, JobStatus.ANALYSING})


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _may_hand_in(user: User, job: Job) -> bool:
    """The job's client (any member of its organisation) or a manager hands files in."""
    return user.is_manager or (user.is_client and user.organisation_id == job.organisation_id)


def _require_hand_in(user: User, job: Job) -> None:
    if not _may_hand_in(user, job):
        raise PermissionDenied("Only the client or a manager can hand in files for this job.")


def _files(job: Job) -> list[Any]:
    files = list(
        job.files.filter(is_current=True).exclude(kind=FileKind.MASTER).select_related("analysis")
    )
    kind_order = {FileKind.STEM: 0, FileKind.ROUGH_MIX: 1, FileKind.REFERENCE: 2}
    return sorted(
        files, key=lambda f: (kind_order.get(f.kind, 9), stem_importance(f.original_name))
    )


def _intake_context(job: Job, user: User) -> dict[str, Any]:
    files = _files(job)
    report: IntakeReport | None = (
        job.intake_reports.prefetch_related("findings").order_by("-created_at").first()
    )
    measurements = []
    for f in files:
        analysis = getattr(f, "analysis", None)
        measurements.append(
            {
                "file": f,
                "analysis": analysis,
                "report": analysis.report if analysis and analysis.report else None,
            }
        )
    findings = list(report.findings.all()) if report else []
    return {
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
        "can_hand_in": _may_hand_in(user, job) and job.status in UPLOADABLE_STATUSES,
        "can_acknowledge": _may_hand_in(user, job)
        and job.status == JobStatus.AWAITING_CLIENT
        and job.verdict == "accepted_with_warnings"
        and job.acknowledged_at is None,
        "kinds": [
            (FileKind.STEM, "Stems"),
            (FileKind.ROUGH_MIX, "Rough mix"),
            (FileKind.REFERENCE, "Reference"),
        ],
    }


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    jobs = (
        jobs_visible_to(_user(request))
        .select_related("organisation")
        .order_by("due_at", "-created_at")
    )
    return render(request, "jobs/home.html", {"jobs": jobs})


@require_http_methods(["GET", "POST"])
@login_required
def job_new(request: HttpRequest) -> HttpResponse:
    """A client opens a job for one track, then adds files on the job's page."""
    user = _user(request)
    if not user.is_client:
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
    stages = job.stages.filter(revision_round=job.revision_round).select_related("assignee")
    events = job.events.select_related("actor")
    context = {**_intake_context(job, _user(request)), "stages": stages, "events": events}
    return render(request, "jobs/job_detail.html", context)


@require_POST
@login_required
def job_upload(request: HtmxHttpRequest, job_id: UUID) -> HttpResponse:
    """Add files (stems, the rough mix, references). The cap handler has already skipped any
    file past a cap; each kept file is stored, hashed and typed by jobs.uploads."""
    job = job_for(_user(request), job_id)
    _require_hand_in(_user(request), job)
    kind = request.POST.get("kind", FileKind.STEM)
    problems = upload_refusals(request)
    added = []
    uploads = request.FILES.getlist("files")
    if not uploads and not problems:
        problems.append("Choose at least one file to upload.")
    for upload in uploads:
        try:
            added.append(
                audio_file_add(
                    job=job, content=upload, name=upload.name or "", kind=kind, by=_user(request)
                )
            )
        except UploadError as exc:
            problems.append(str(exc))
    status = 200 if added or not problems else 400
    if request.htmx:
        context = {**_intake_context(job, _user(request)), "added": added, "problems": problems}
        return render(request, "jobs/job_detail.html#files", context, status=status)
    for f in added:
        messages.success(request, f"Added {f.original_name} (v{f.version}).")
    for p in problems:
        messages.error(request, p)
    return redirect("job_detail", job_id=job.pk)


@require_POST
@login_required
def job_submit_view(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """Hand the current files to intake; measuring starts after the commit."""
    job = job_for(_user(request), job_id)
    _require_hand_in(_user(request), job)
    try:
        with transaction.atomic():
            job_submit(job=job, by=_user(request))
            intake_start(job=job)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    except WorkflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Submitted: your files are being checked.")
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
