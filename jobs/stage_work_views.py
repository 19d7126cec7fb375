"""Stage work on the job page, for the studio: the stems by importance with their measurements,
the rough mix and references with the client's notes, and per stage its recall notes (kept as a
history), its checklist (ticks with who and when), skip reason and moves. One POST endpoint per
stage runs an action and answers the region (`jobs/stage_work.html#work`); without JavaScript it
goes back to the job page."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from analysis.selectors import file_measurements, intake_files
from jobs.access import stage_for
from jobs.compiled import columns, instance_from, rows_compiled_once
from jobs.fragments import content_key
from jobs.models import FileKind, Job, RecallNote, Stage, StudioPolicy, User
from jobs.selectors import round_stage_list
from jobs.services import (
    NotAllowed,
    WorkflowError,
    checklist_for,
    recall_note_add,
    stage_checklist_tick,
    stage_finish,
    stage_reopen,
    stage_skip,
    stage_start,
    stage_unticked,
)
from jobs.stage_views import HtmxHttpRequest, _row

WORK = "jobs/stage_work.html#work"


def stage_work_context(
    job: Job,
    user: User,
    *,
    error: str = "",
    error_stage: int | None = None,
    confirm: tuple[int, list[str]] | None = None,
    measurements: list[dict[str, Any]] | None = None,
    stages: list[Stage] | None = None,
) -> dict[str, Any]:
    """What the region shows (empty for clients: it is the studio's workbench). `measurements`
    and `stages` (round_stage_list): what the page read already, if it did."""
    if not user.is_studio:
        return {"shown": False}
    if measurements is None:
        measurements = file_measurements(intake_files(job))
    if stages is None:
        stages = round_stage_list(job)
    notes: dict[int, list[RecallNote]] = defaultdict(list)
    for note in _recall_notes(job):
        notes[note.stage_id].append(note)
    policy = StudioPolicy.current()
    checklists = {s.pk: checklist_for(s, policy) for s in stages}
    _ticks_in_words(checklists, ZoneInfo(policy.timezone))
    cards = [
        {
            "row": _row(s, user, error if s.pk == error_stage else ""),
            "notes": notes[s.pk],
            "checklist": checklists[s.pk],
            "confirm": confirm[1] if confirm and confirm[0] == s.pk else None,
        }
        for s in stages
    ]
    stems = [m for m in measurements if m["file"].kind == FileKind.STEM]
    vision = [m for m in measurements if m["file"].kind != FileKind.STEM]
    return {
        "shown": True,
        "job": job,
        "stems": stems,
        "vision": vision,
        "cards": cards,
        "key": _work_key(job, user, stems, vision, cards),
    }


_SHOWN = ("sample_peak_dbfs", "true_peak_dbtp", "headroom_db", "integrated_lufs")


def _person(user: User | None) -> tuple[Any, ...] | None:
    return None if user is None else (user.pk, user.first_name, user.last_name, user.username)


def _work_key(
    job: Job,
    user: User,
    stems: list[dict[str, Any]],
    vision: list[dict[str, Any]],
    cards: list[dict[str, Any]],
) -> str:
    """Everything the region shows (jobs/stage_work.html, the `stage_work` fragment), and the
    zone its notes' times are written in: the stems and the vision with their measurements,
    the client's notes, and each stage's card (its moves for this viewer, checklist, notes)."""

    def measured(m: dict[str, Any]) -> tuple[Any, ...]:
        f, report = m["file"], m["report"]
        return (f.pk, f.kind, f.original_name, report and tuple(report.get(k) for k in _SHOWN))

    def card(c: dict[str, Any]) -> tuple[Any, ...]:
        row, s = c["row"], c["row"].stage
        return (
            s.pk, s.kind, s.status, s.is_open, s.skip_reason, s.notes, _person(s.assignee),
            row.error, row.can_start, row.can_finish, row.can_skip, row.can_reopen, row.can_take,
            tuple(c["confirm"] or ()),
            tuple((n.pk, n.text, n.at, _person(n.author)) for n in c["notes"]),
            tuple(tuple(sorted(item.items())) for item in c["checklist"]),
        )  # fmt: skip

    return content_key(
        str(timezone.get_current_timezone()),
        job.pk,
        job.notes,
        job.reference_notes,
        user.may_manage,
        tuple(measured(m) for m in stems),
        tuple(measured(m) for m in vision),
        tuple(card(c) for c in cards),
    )


def _note_rows(job_id: Any, revision_round: int) -> QuerySet[Any]:
    notes = RecallNote.objects.filter(stage__job_id=job_id, stage__revision_round=revision_round)
    rows: QuerySet[Any] = notes.values(*columns(RecallNote), *columns(User, "author__"))
    return rows


def _recall_notes(job: Job) -> list[RecallNote]:
    """The recall notes of the round's stages with their authors, in each stage's order (at,
    then id), from SQL compiled once."""
    notes = []
    for row in rows_compiled_once("recall_notes", _note_rows, job.pk, job.revision_round):
        note: RecallNote = instance_from(RecallNote, row)
        note.author = instance_from(User, row, "author__")
        notes.append(note)
    return notes


def _ticks_in_words(checklists: dict[int, list[dict[str, object]]], zone: ZoneInfo) -> None:
    """Each tick's who and when as people read them: the name, and the studio's local time
    ("Ada Byron, Tue 1 Dec 14:05"); one query for the names of every stage's ticks."""
    ticks = [c for items in checklists.values() for c in items if c.get("done")]
    usernames = {str(c.get("by", "")) for c in ticks}
    names = {
        u.username: u.get_full_name() or u.username
        for u in User.objects.filter(username__in=usernames)
    }
    for c in ticks:
        by = str(c.get("by", ""))
        c["by_name"] = names.get(by, by)
        try:
            at = datetime.fromisoformat(str(c.get("at", ""))).astimezone(zone)
        except ValueError:
            continue
        c["when"] = f"{at:%a} {at.day} {at:%b %H:%M}"


def _finish(stage: Stage, user: User, post: Any) -> tuple[int, list[str]] | None:
    """Finish, unless items are unticked and the engineer has not confirmed: then ask."""
    unticked = stage_unticked(stage)
    if unticked and post.get("confirm") != "yes":
        return (stage.pk, unticked)
    stage_finish(stage=stage, by=user)
    return None


def _run(stage: Stage, user: User, post: Any) -> tuple[str, tuple[int, list[str]] | None]:
    action = post.get("action", "")
    if action == "note":
        recall_note_add(stage=stage, by=user, text=post.get("text", ""))
        return "Note kept.", None
    if action == "tick":
        stage_checklist_tick(
            stage=stage, by=user, item=post.get("item", ""), done=post.get("done") == "1"
        )
        return "Checklist updated.", None
    if action == "start":
        stage_start(stage=stage, by=user, override=post.get("override", ""))
        return "Started.", None
    if action == "finish":
        confirm = _finish(stage, user, post)
        return ("Some checklist items are unticked." if confirm else "Done."), confirm
    if action == "skip":
        stage_skip(stage=stage, by=user, reason=post.get("reason", ""))
        return "Skipped.", None
    if action == "reopen":
        stage_reopen(stage=stage, by=user, reason=post.get("reason", ""))
        return "Reopened.", None
    raise WorkflowError("Unknown action.")


@require_POST
@login_required
def stage_work_view(request: HtmxHttpRequest, stage_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    stage = stage_for(user, stage_id)  # 404 for a job the viewer may not see
    if not user.is_studio:
        raise PermissionDenied("Stage work is the studio's.")
    error, status, confirm, done = "", 200, None, ""
    try:
        done, confirm = _run(stage, user, request.POST)
    except WorkflowError as exc:
        error, status = exc.message, 403 if isinstance(exc, NotAllowed) else 400
    job = Job.objects.get(pk=stage.job_id)
    if request.htmx:
        work = stage_work_context(job, user, error=error, error_stage=stage.pk, confirm=confirm)
        return render(request, WORK, {"work": work}, status=status)
    if status == 403:
        raise PermissionDenied(error)
    if error:
        messages.error(request, error)
    elif confirm:
        messages.warning(request, f"Still unticked: {', '.join(confirm[1])}. Finish anyway?")
    else:
        messages.success(request, f"{stage.get_kind_display()}: {done}")
    return redirect(f"/jobs/{stage.job_id}/#stage-{stage.pk}")
