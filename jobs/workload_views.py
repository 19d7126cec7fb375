"""The manager's workload page: every engineer's next days from the plan, the unassigned work
with the engineer the plan proposes, and reassigning any open stage (through stage_assign)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from jobs.access import stage_for
from jobs.board_views import require_manager
from jobs.selectors import studio_member
from jobs.services import WorkflowError, stage_assign
from jobs.workload import workload


@require_GET
@login_required
def workload_view(request: HttpRequest) -> HttpResponse:
    require_manager(request)
    load = workload(page=request.GET.get("page"), unassigned_page=request.GET.get("unassigned"))
    return render(request, "jobs/workload.html", {"load": load})


@require_POST
@login_required
def workload_assign(request: HttpRequest, stage_id: int) -> HttpResponse:
    """Give a stage to the engineer chosen (the proposal is the form's default). The form carries
    whom the stage was with when it was drawn: if that changed meanwhile, nothing is done."""
    stage = stage_for(request.user, stage_id)  # type: ignore[arg-type]
    user = require_manager(request)
    label = f"{stage.job.track_title} · {stage.get_kind_display()}"
    was = request.POST.get("was", "")
    if was != str(stage.assignee_id or ""):
        now = stage.assignee.get_full_name() if stage.assignee else "no one"
        messages.error(
            request,
            f"{label} changed hands while the page was open (it is now with {now}). "
            "Nothing was changed; check and try again.",
        )
        return redirect("workload")
    raw = request.POST.get("engineer", "")
    engineer = studio_member(int(raw)) if raw.isdigit() else None
    if engineer is None:
        messages.error(request, "Choose an engineer from the list.")
        return redirect("workload")
    try:
        stage_assign(stage=stage, by=user, engineer=engineer)
    except WorkflowError as exc:
        messages.error(request, f"{label}: {exc.message}")
    else:
        who = engineer.get_full_name() or engineer.username
        messages.success(request, f"{label} is now {who}'s; the plan has been redone.")
    return redirect("workload")
