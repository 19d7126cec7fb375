"""Stage moves: start, finish, skip, reopen and assign, in the order the six stages run. A move
that PostgreSQL picks as a deadlock's victim (a re-plan locks in the other order) runs once more."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import transaction
from django.utils.formats import date_format
from django.utils.timezone import localtime

from jobs.models import (
    CLOCK_RUNNING,
    CLOSED,
    FRESH_EARS_STAGES,
    STAGE_FINISHED,
    STAGE_OPEN,
    BreakOutcome,
    EarBreak,
    EventKind,
    JobStatus,
    ListeningSession,
    RecallNote,
    Stage,
    StageStatus,
    StudioPolicy,
    User,
)
from jobs.services.core import (
    Move,
    NotAllowed,
    WorkflowError,
    WrongState,
    locked,
    once_more_if_deadlocked,
    require_reason,
    require_status,
)


@contextmanager
def _stage_move(stage: Stage, by: User) -> Iterator[tuple[Move, Stage]]:
    """A move on one stage: its job locked first, then the stage (the order every move keeps)."""
    with locked(stage.job, by=by) as move:
        row = move.lock(stage)
        row.job = move.job
        yield move, row


def _require_current_round(stage: Stage) -> None:
    if not stage.in_current_round:
        raise WrongState("This stage belongs to an earlier round.")


def _require_moveable(
    move: Move, stage: Stage, job_states: frozenset[str] | set[str], what: str
) -> None:
    """The checks every move of a stage's work starts with: who, the job's state, the round."""
    if move.by is None or not move.by.may_move(stage):
        raise NotAllowed("Only the engineer assigned to this stage or a manager can move it.")
    require_status(move.job, job_states, what)
    _require_current_round(stage)


def _require_nobody_listening(stages: list[Stage], message: str) -> None:
    if ListeningSession.objects.filter(stage__in=stages, ended_at__isnull=True).exists():
        raise WrongState(message)


def _require_previous_finished(stage: Stage) -> None:
    earlier = Stage.objects.filter(
        job=stage.job, revision_round=stage.revision_round, position__lt=stage.position
    ).exclude(status__in=STAGE_FINISHED)
    if earlier.exists():
        first = earlier.order_by("position").first()
        assert first is not None
        raise WrongState(f"{first.get_kind_display()} has to be done or skipped first.")


def _set_stage_status(move: Move, stage: Stage, status: str, *, note: str = "") -> None:
    move.record(
        EventKind.STAGE, subject=stage.kind, from_value=stage.status, to_value=status, note=note
    )
    stage.status = status


def _job_into_progress(move: Move) -> None:
    if move.job.status in (JobStatus.ACCEPTED, JobStatus.REVISION_REQUESTED):
        move.set_status(JobStatus.IN_PROGRESS)


def fresh_ears_from(*, engineer_id: int, now: datetime) -> datetime | None:
    """When this engineer's ears are fresh again (None: they are now). Fresh means a break of the
    policy's length since the last listening (a day's night counts); a break taken at the end
    of the last session is rest, and listening right now is never fresh."""
    rest = timedelta(minutes=StudioPolicy.current().fresh_ears_break_min)
    if ListeningSession.objects.filter(engineer_id=engineer_id, ended_at__isnull=True).exists():
        return now + rest
    last = (
        ListeningSession.objects.filter(engineer_id=engineer_id, ended_at__isnull=False)
        .order_by("-ended_at")
        .first()
    )
    if last is None or last.ended_at is None:
        return None
    end = last.ended_at
    for b in EarBreak.objects.filter(
        session=last, outcome=BreakOutcome.TAKEN, started_at__lt=end, ended_at__gte=end
    ):
        if b.started_at is not None:
            end = min(end, b.started_at)
    return end + rest if end + rest > now else None


def _require_fresh_ears(move: Move, stage: Stage, override: str) -> None:
    """Glue/final level and delivery start only on fresh ears; a manager may override with a
    reason, which the history keeps."""
    if stage.kind not in FRESH_EARS_STAGES:
        return
    listener = stage.assignee_id or (move.by.pk if move.by else None)
    if listener is None:
        return
    earliest = fresh_ears_from(engineer_id=listener, now=move.at)
    if earliest is None:
        return
    if override.strip() and move.by is not None and move.by.may_manage:
        # Whose ears were overridden is kept, for the break-compliance page.
        ears = stage.assignee or move.by
        move.record(
            EventKind.STAGE,
            subject=stage.kind,
            from_value="fresh ears",
            to_value=f"overridden for {ears.username}",
            note=override.strip(),
        )
        return
    at = date_format(localtime(earliest), "H:i")
    minutes = StudioPolicy.current().fresh_ears_break_min
    raise WrongState(
        f"{stage.get_kind_display()} needs fresh ears: a break of at least {minutes} minutes "
        f"after listening. It can start from {at}."
    )


@once_more_if_deadlocked
def stage_start(*, stage: Stage, by: User, override: str = "") -> Stage:
    """Begin a stage; the one before must be done or skipped, and the fresh-ears stages need a
    rest first (`override`: a manager's reason to start anyway)."""
    with _stage_move(stage, by) as (move, row):
        _require_moveable(move, row, CLOCK_RUNNING, "have work started")
        if row.status != StageStatus.PENDING:
            raise WrongState(f"{row.get_kind_display()} is not pending.")
        _require_previous_finished(row)
        _require_fresh_ears(move, row, override)
        _set_stage_status(move, row, StageStatus.IN_PROGRESS)
        row.started_at = move.at
        row.finished_at = None
        _job_into_progress(move)
    return row


@once_more_if_deadlocked
def stage_finish(*, stage: Stage, by: User, notes: str | None = None) -> Stage:
    """Mark an in-progress stage done (optionally saving the recall notes)."""
    with _stage_move(stage, by) as (move, row):
        _require_moveable(move, row, {JobStatus.IN_PROGRESS}, "have a stage finished")
        if row.status != StageStatus.IN_PROGRESS:
            raise WrongState(f"{row.get_kind_display()} is not in progress.")
        _require_nobody_listening([row], "Stop the listening session before finishing the stage.")
        _set_stage_status(move, row, StageStatus.DONE)
        row.finished_at = move.at
        # A finished stage has a real finish; the plan's guesses no longer apply.
        row.predicted_finish_at = None
        row.proposed_assignee = None
        if notes is not None:
            row.notes = notes
    return row


@once_more_if_deadlocked
def stage_skip(*, stage: Stage, by: User, reason: str) -> Stage:
    """Skip a stage the job does not need (the reason is kept); order still holds."""
    reason = require_reason(reason, "skip a stage")
    with _stage_move(stage, by) as (move, row):
        _require_moveable(move, row, CLOCK_RUNNING, "have a stage skipped")
        if row.status not in STAGE_OPEN:
            raise WrongState(f"{row.get_kind_display()} is already finished.")
        _require_nobody_listening([row], "Stop the listening session before skipping the stage.")
        _require_previous_finished(row)
        _set_stage_status(move, row, StageStatus.SKIPPED, note=reason)
        row.skip_reason = reason
        row.finished_at = move.at if row.started_at else None
        row.predicted_finish_at = None
        row.proposed_assignee = None
        _job_into_progress(move)
    return row


@once_more_if_deadlocked
def stage_reopen(*, stage: Stage, by: User, reason: str = "") -> Stage:
    """Go back to a finished stage: it is in progress again and every later stage of the round
    returns to pending, because their work was based on what is being redone."""
    with _stage_move(stage, by) as (move, row):
        _require_moveable(move, row, {JobStatus.IN_PROGRESS}, "have a stage reopened")
        if row.status not in STAGE_FINISHED:
            raise WrongState(f"{row.get_kind_display()} is not finished.")
        round_stages = (
            Stage.objects.select_for_update()
            .filter(job=move.job, revision_round=row.revision_round)
            .order_by("position")
        )
        later = [s for s in round_stages if s.position > row.position]
        _require_nobody_listening(
            later, "Someone is listening on a later stage; stop that session first."
        )
        _set_stage_status(move, row, StageStatus.IN_PROGRESS, note=reason)
        row.skip_reason = ""
        row.finished_at = None
        row.started_at = move.at
        for s in later:
            if s.status == StageStatus.PENDING:
                continue
            _set_stage_status(
                move, s, StageStatus.PENDING, note=f"{row.get_kind_display()} reopened"
            )
            s.skip_reason = ""
            s.started_at = None
            s.finished_at = None
            s.save()
    return row


@once_more_if_deadlocked
def stage_assign(*, stage: Stage, by: User, engineer: User | None) -> Stage:
    """Give a stage to an engineer (None to unassign). A manager assigns anyone in the studio; an
    engineer may only take unassigned work for themself."""
    with _stage_move(stage, by) as (move, row):
        if by.may_manage:
            if engineer is not None and not engineer.may_be_assigned:
                raise WorkflowError("Work can only go to the studio's engineers and managers.")
        elif by.is_engineer:
            if engineer is None or engineer.pk != by.pk:
                raise NotAllowed("An engineer can only take work for themself.")
            if not by.may_take(row):
                raise NotAllowed("This stage is someone else's; ask a manager to reassign it.")
        else:
            raise NotAllowed("Only the studio can assign work.")
        if move.job.status in CLOSED or move.job.status == JobStatus.DELIVERED:
            raise WrongState("The work on this job is finished.")
        _require_current_round(row)
        if not row.is_open:
            raise WrongState(f"{row.get_kind_display()} is already finished.")
        _require_nobody_listening(
            [row], "Someone is listening on this stage; stop that session first."
        )
        new_id = engineer.pk if engineer is not None else None
        if row.assignee_id == new_id:
            return row  # nothing changed: nothing is saved or re-planned
        move.record(
            EventKind.ASSIGNEE,
            subject=row.kind,
            from_value=row.assignee.username if row.assignee else "",
            to_value=engineer.username if engineer else "",
        )
        _tell_engineers(stage_id=row.pk, old_id=row.assignee_id, new_id=new_id, by_id=by.pk)
        row.assignee = engineer
        row.proposed_assignee = None
    return row


def _tell_engineers(*, stage_id: int, old_id: int | None, new_id: int | None, by_id: int) -> None:
    """Whoever lost or got the stage hears of it by email, once the move is committed."""

    def send() -> None:
        from jobs.notifications import notify_reassigned

        notify_reassigned(stage_id=stage_id, old_id=old_id, new_id=new_id, by_id=by_id)

    transaction.on_commit(send)


@once_more_if_deadlocked
def stage_take(*, stage: Stage, by: User) -> Stage:
    """Take an unassigned stage for oneself (the desk's *up for grabs*). Under the job's lock, so
    of two people taking one stage at once the first wins and the second is told who has it."""
    with _stage_move(stage, by) as (move, row):
        if not (by.is_studio and by.is_active):
            raise NotAllowed("Only the studio's engineers and managers take work.")
        if move.job.status not in CLOCK_RUNNING:
            raise WrongState("This job is not open for work.")
        _require_current_round(row)
        if not row.is_open:
            raise WrongState(f"{row.get_kind_display()} is already finished.")
        if not by.may_take(row):
            holder = row.assignee.get_full_name() or row.assignee.username if row.assignee else ""
            raise WrongState(f"{row.get_kind_display()} was taken meanwhile by {holder}.")
        if row.assignee_id == by.pk:
            return row
        move.record(EventKind.ASSIGNEE, subject=row.kind, from_value="", to_value=by.username)
        row.assignee = by
        row.proposed_assignee = None
    return row


def checklist_for(stage: Stage, policy: StudioPolicy | None = None) -> list[dict[str, object]]:
    """The stage's checklist: the studio policy's items for its kind, each with its tick (who,
    when) where one was stored. Ticks are keyed by the item's text, so an item the policy has
    since dropped or reworded keeps its tick, shown as no longer on the checklist (`retired`).
    A finished stage shows the list it was finished with."""
    stored = {str(e.get("item")): e for e in (stage.checklist or []) if isinstance(e, dict)}
    if stored and not stage.is_open:
        items = list(stored)
        current: set[str] = set(items)
    else:
        items = (policy or StudioPolicy.current()).checklist_items(stage.kind)
        current = set(items)
        items += [i for i in stored if i not in current and stored[i].get("done")]
    return [
        {
            "item": i,
            "done": bool(stored.get(i, {}).get("done")),
            **({} if i in current else {"retired": True}),
            **_tick_of(stored.get(i)),
        }
        for i in items
    ]


def _tick_of(entry: dict[str, object] | None) -> dict[str, object]:
    if not entry or not entry.get("done"):
        return {}
    return {"by": entry.get("by", ""), "at": entry.get("at", "")}


def stage_checklist_tick(*, stage: Stage, by: User, item: str, done: bool) -> Stage:
    """Tick (or untick) one item of an open stage's checklist; the tick keeps who and when."""
    with _stage_move(stage, by) as (move, row):
        if move.by is None or not move.by.may_move(row):
            raise NotAllowed("Only the engineer assigned to this stage or a manager can tick it.")
        _require_current_round(row)
        if not row.is_open:
            raise WrongState(f"{row.get_kind_display()} is finished; reopen it to change it.")
        items = [str(e["item"]) for e in checklist_for(row)]
        if item not in items:
            raise WorkflowError("That is not an item of this stage's checklist.")
        entries = {str(e["item"]): dict(e) for e in checklist_for(row)}
        entries[item] = (
            {"item": item, "done": True, "by": by.username, "at": move.at.isoformat()}
            if done
            else {"item": item, "done": False}
        )
        for entry in entries.values():
            entry.pop("retired", None)
        row.checklist = [entries[i] for i in items]
    return row


def stage_unticked(stage: Stage) -> list[str]:
    return [str(e["item"]) for e in checklist_for(stage) if not e["done"]]


def recall_note_add(*, stage: Stage, by: User, text: str) -> RecallNote:
    """Add an entry to the stage's recall sheet (settings, decisions); entries are kept."""
    text = text.strip()
    if not text:
        raise WorkflowError("Write the note first.")
    if not (by.is_studio and by.is_active):
        raise NotAllowed("Only the studio writes recall notes.")
    with _stage_move(stage, by) as (move, row):
        if not (by.may_move(row) or by.may_take(row)):
            raise NotAllowed("Only the engineer on this stage or a manager writes its notes.")
        return RecallNote.objects.create(stage=row, author=by, at=move.at, text=text)
