"""Thin views over the studio's work: read the models, call services, render templates."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from jobs.access import job_for, jobs_visible_to


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    jobs = (
        jobs_visible_to(request.user)  # type: ignore[arg-type]
        .select_related("organisation")
        .order_by("due_at", "-created_at")
    )
    return render(request, "jobs/home.html", {"jobs": jobs})


@require_GET
@login_required
def job_detail(request: HttpRequest, job_id: UUID) -> HttpResponse:
    job = job_for(request.user, job_id)  # type: ignore[arg-type]
    files = job.files.filter(is_current=True).select_related("analysis")
    stages = job.stages.filter(revision_round=job.revision_round).select_related("assignee")
    events = job.events.select_related("actor")
    return render(
        request,
        "jobs/job_detail.html",
        {"job": job, "files": files, "stages": stages, "events": events},
    )
