"""Engineers' stage moves and their queue: thin views over the stage services in jobs.services.

With htmx a move answers with the stage's row (`jobs/stage_row.html#row`); a refused move answers
with the same row carrying the reason (403 for the wrong person, 400 for the wrong moment). A plain
POST goes back to the job page with the outcome as a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from jobs.access import stage_for
from jobs.fragments import content_key
from jobs.models import (
    STAGE_FINISHED,
    Job,
    JobStatus,
    Stage,
    StageStatus,
    User,
)
from jobs.selectors import queue_stage_list, stage_row, studio_engineers, studio_member
from jobs.services import (
    NotAllowed,
    WorkflowError,
    stage_assign,
    stage_finish,
    stage_reopen,
    stage_skip,
    stage_start,
)

STAGE_ROW = "jobs/stage_row.html#row"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


@dataclass(frozen=True)
class StageRow:
    """One stage as its row shows it: which moves this viewer is offered (the services still
    decide; an offered move can be refused if the stage changed meanwhile)."""

    stage: Stage
    can_take: bool = False
    can_start: bool = False
    can_finish: bool = False
    can_skip: bool = False
    can_reopen: bool = False
    can_assign: bool = False
    error: str = ""
    due_iso: str = ""
    due_label: str = ""
    key: str = ""  # of the whole row, a kept fragment; empty: not kept

    @cached_property
    def urls(self) -> dict[str, str]:
        """Where the row's forms post (`start`, `finish`, `skip`, `reopen`, `assign`)."""
        at = str(self.stage.pk)
        patterns = _move_patterns(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
        return {move: url.replace(_ANY_STAGE, at) for move, url in patterns}


_ANY_STAGE = "987654321"  # stands for the stage's id in _move_patterns


@lru_cache(maxsize=16)
def _move_patterns(prefix: str, urlconf: str) -> tuple[tuple[str, str], ...]:
    """The moves' URLs of a stage, reversed once for a stand-in id: the queue's forms made two
    reverse() calls each, a fifth of its rows' rendering. They depend only on the URL patterns
    (fixed once loaded) and the script prefix, which key them (as studio.nav does)."""
    return tuple(
        (move, reverse(f"stage_{move}", args=[int(_ANY_STAGE)], urlconf=urlconf))
        for move in ("start", "finish", "skip", "reopen", "assign")
    )


def _user(request: HtmxHttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _due(
    job: Job, labels: dict[Any, tuple[str, str]] | None = None, labelled: bool = True
) -> tuple[str, str]:
    """The job's due date for the row, formatted once per job (a queue lists six stages of each
    job, and formatting a date is a good part of a row's cost); without `labelled`, for a page
    that words the date its own way (the desk), only its ISO form."""
    if labels is not None and job.pk in labels:
        return labels[job.pk]
    due = ("", "")
    if job.due_at is not None:
        label = date_format(localtime(job.due_at), "D j M, H:i") if labelled else ""
        due = (job.due_at.isoformat(), label)
    if labels is not None:
        labels[job.pk] = due
    return due


def _row(
    stage: Stage,
    user: User,
    error: str = "",
    labels: dict[Any, tuple[str, str]] | None = None,
    *,
    labelled: bool = True,
    people: str | None = None,
) -> StageRow:
    """The row of `stage` for `user`; `people`: the `_people_key` of the engineers its menu
    offers, for a page that shows many rows (the queue), where rendering them was most of the
    page's CPU: the row then has the key of the whole row, kept as a fragment."""
    job = stage.job
    due_iso, due_label = _due(job, labels, labelled)
    workable = job.is_workable and stage.in_current_round
    mover = user.may_move(stage)
    blocked = bool(getattr(stage, "blocked", False))
    row = StageRow(
        stage=stage,
        can_take=workable and stage.is_open and stage.assignee_id is None and user.may_take(stage),
        can_start=workable and mover and stage.status == StageStatus.PENDING and not blocked,
        can_finish=workable
        and mover
        and stage.status == StageStatus.IN_PROGRESS
        and job.status == JobStatus.IN_PROGRESS,
        can_skip=workable and mover and stage.is_open and not blocked,
        can_reopen=workable
        and mover
        and stage.status in STAGE_FINISHED
        and job.status == JobStatus.IN_PROGRESS,
        can_assign=workable and user.may_manage and stage.is_open,
        error=error,
        due_iso=due_iso,
        due_label=due_label,
    )
    return row if people is None else replace(row, key=_row_key(row, people))


def _people_key(engineers: list[User]) -> str:
    """The engineers a row's menu offers, as the row's key holds them."""
    return content_key(tuple((e.pk, e.first_name, e.last_name, e.username) for e in engineers))


def _row_key(row: StageRow, people: str) -> str:
    """Every value the row shows (jobs/stage_row.html, the `stage_row` fragment): the stage
    and its job, the moves offered and the engineers its menu offers (`people`)."""
    stage = row.stage
    job, assignee = stage.job, stage.assignee
    return content_key(
        stage.pk,
        stage.status,
        stage.kind,
        stage.revision_round,
        stage.skip_reason,
        stage.notes,
        stage.assignee_id,
        stage.job_id,
        job.track_title,
        job.artist,
        job.status,
        job.deadline_status,
        None
        if assignee is None
        else (assignee.pk, assignee.first_name, assignee.last_name, assignee.username),
        row.error,
        row.due_iso,
        row.due_label,
        (row.can_take, row.can_start, row.can_finish, row.can_skip, row.can_reopen),
        row.can_assign and people,
    )


def _engineers(user: User) -> list[User]:
    """Who a manager can give work to (only managers get the list)."""
    return studio_engineers() if user.may_manage else []


def _render_row(
    request: HtmxHttpRequest, stage_id: int, *, error: str = "", status: int = 200
) -> HttpResponse:
    user = _user(request)
    # Re-read after the move (or the refusal): the row shows what the database now holds. The
    # caller has already checked access with stage_for.
    stage = stage_row(stage_id)
    if stage is None:
        raise Http404("No such stage")
    context = {"row": _row(stage, user, error), "engineers": _engineers(user)}
    return render(request, STAGE_ROW, context, status=status)


def _move(
    request: HtmxHttpRequest,
    stage_id: int,
    move: Callable[[Stage, User], Any],
    done: str,
) -> HttpResponse:
    """Run one move for the viewer; everything a refusal can be ends as a 400 or 403."""
    user = _user(request)
    stage = stage_for(user, stage_id)  # 404 for a job the viewer may not see
    try:
        if not user.is_studio:
            raise NotAllowed("Only the studio moves stages.")
        move(stage, user)
    except WorkflowError as exc:
        status = 403 if isinstance(exc, NotAllowed) else 400
        if request.htmx:
            return _render_row(request, stage_id, error=exc.message, status=status)
        if status == 403:
            raise PermissionDenied(exc.message) from None
        messages.error(request, exc.message)
        return redirect("job_detail", job_id=stage.job_id)
    if request.htmx:
        return _render_row(request, stage_id)
    messages.success(request, f"{stage.get_kind_display()}: {done}.")
    return redirect("job_detail", job_id=stage.job_id)


@require_POST
@login_required
def stage_start_view(request: HtmxHttpRequest, stage_id: int) -> HttpResponse:
    override = request.POST.get("override", "")  # a manager's reason to skip the fresh-ears rest
    return _move(
        request, stage_id, lambda s, u: stage_start(stage=s, by=u, override=override), "started"
    )


@require_POST
@login_required
def stage_finish_view(request: HtmxHttpRequest, stage_id: int) -> HttpResponse:
    """Finish a stage; `notes` (the recall sheet) is saved when the form sends it."""
    notes = request.POST.get("notes")
    return _move(request, stage_id, lambda s, u: stage_finish(stage=s, by=u, notes=notes), "done")


@require_POST
@login_required
def stage_skip_view(request: HtmxHttpRequest, stage_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _move(
        request, stage_id, lambda s, u: stage_skip(stage=s, by=u, reason=reason), "skipped"
    )


@require_POST
@login_required
def stage_reopen_view(request: HtmxHttpRequest, stage_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _move(
        request, stage_id, lambda s, u: stage_reopen(stage=s, by=u, reason=reason), "reopened"
    )


def _engineer_from(value: str, user: User) -> User:
    """`me` or a studio member's id; anything else is a refusal the person can read."""
    value = value.strip()
    if value == "me":
        return user
    if not value.isdigit():
        raise WorkflowError("Choose an engineer.")
    engineer = studio_member(int(value))
    if engineer is None:
        raise WorkflowError("No such engineer in the studio.")
    return engineer


@require_POST
@login_required
def stage_assign_view(request: HtmxHttpRequest, stage_id: int) -> HttpResponse:
    """Give the stage to an engineer (`engineer` is an id, or `me` to take it)."""
    value = request.POST.get("engineer", "")

    def assign(stage: Stage, by: User) -> Stage:
        return stage_assign(stage=stage, by=by, engineer=_engineer_from(value, by))

    return _move(request, stage_id, assign, "assigned")


@require_GET
@login_required
def queue(request: HtmxHttpRequest) -> HttpResponse:
    """The viewer's open stages of the current rounds, earliest due date first."""
    user = _user(request)
    if not user.is_studio:
        raise PermissionDenied("The queue is the studio's.")
    stages = queue_stage_list(user)
    labels: dict[Any, tuple[str, str]] = {}
    engineers = _engineers(user)
    people = _people_key(engineers)
    rows = [_row(s, user, labels=labels, people=people) for s in stages]
    context = {"rows": rows, "engineers": engineers}
    template = "jobs/queue.html#queue" if request.htmx else "jobs/queue.html"
    return render(request, template, context)
