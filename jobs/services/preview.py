"""The levelling preview's moves: the studio sends a short sample of the levelled master while the
client decides about minor clipping, and the client answers carry on (the work goes ahead, the
clock starts) or re-export (the job waits for fixed files, as after a re-export request).

Storing and measuring the preview's audio crosses into analysis, so `analysis.services.
preview_add` stores the file and calls `preview_record` in the same transaction."""

from __future__ import annotations

from django.db import transaction

from jobs.models import (
    AudioFile,
    EventKind,
    FileKind,
    Job,
    JobStatus,
    LevellingPreview,
    PreviewAnswer,
    User,
    Verdict,
)
from jobs.services.core import NotAllowed, WorkflowError, WrongState, locked
from jobs.services.intake import _accept, _require_hand_in, _set_verdict

PREVIEW_EVENT = "levelling preview"  # the history's subject for the preview's moves
MAX_NOTE = 4000


def _after_commit(send: str, **ids: object) -> None:
    def run() -> None:
        from jobs import notifications

        getattr(notifications, send)(**ids)

    transaction.on_commit(run)


def preview_refusal(*, job: Job, by: User, note: str) -> str:
    """Why this person cannot send this job a preview now ("" when they can): checked before
    the file is stored, and again under the job's lock when it is recorded."""
    if not by.may_send_preview:
        return "Only the studio's engineers and managers send a levelling preview."
    if not job.awaits_acknowledgement:
        return (
            "A levelling preview is for a job waiting on the client over minor clipping; this "
            f"one is {job.get_status_display().lower()}."
        )
    if not note.strip():
        return "Add a note for the client: what the preview does with the clipping."
    if len(note) > MAX_NOTE:
        return f"Keep the note under {MAX_NOTE} characters."
    return ""


def preview_record(*, job: Job, audio: AudioFile, note: str, by: User) -> LevellingPreview:
    """Record a stored preview file as the job's preview for the client to answer; the client is
    emailed after the commit. Call it in the transaction that stored the file."""
    if audio.kind != FileKind.PREVIEW or audio.job_id != job.pk:
        raise WorkflowError("That file is not a levelling preview of this job.")
    with locked(job, by=by, replan=False) as move:
        refusal = preview_refusal(job=move.job, by=by, note=note)
        if refusal:
            raise NotAllowed(refusal) if not by.may_send_preview else WrongState(refusal)
        preview = LevellingPreview.objects.create(
            job=move.job, audio_file=audio, note=note.strip(), sent_by=by, sent_at=move.at
        )
        move.record(
            EventKind.NOTE,
            subject=PREVIEW_EVENT,
            to_value="sent",
            note=f"{audio.original_name}: {preview.note}"[:2000],
        )
    _after_commit("notify_preview_sent", preview_id=preview.pk)
    return preview


def open_preview(job: Job, sent: list[LevellingPreview] | None = None) -> LevellingPreview | None:
    """The preview the client is asked to answer: the newest, while the job still waits on
    the client over minor clipping and it is unanswered. `sent`: the job's previews, newest
    first, if the caller read them."""
    if not job.awaits_acknowledgement:
        return None
    if sent is not None:
        newest = sent[0] if sent else None
    else:
        newest = job.previews.select_related("audio_file", "sent_by").first()
    return newest if newest is not None and newest.is_open else None


def _what_changed(job: Job) -> str:
    if job.status == JobStatus.AWAITING_CLIENT and job.verdict == Verdict.REEXPORT_REQUESTED:
        return "the job now waits for fixed files to be uploaded"
    if job.acknowledged_at is not None or job.status not in (JobStatus.AWAITING_CLIENT,):
        return f"the job has gone ahead: it is {job.get_status_display().lower()}"
    return f"the job is {job.get_status_display().lower()}"


def preview_answer(*, job: Job, preview_id: int, answer: str, by: User) -> LevellingPreview:
    """The client's answer to the newest preview: carry on acknowledges the warnings (the job is
    accepted and the clock starts, as `job_acknowledge`); re-export turns the verdict into a
    re-export request, so the job waits for new files. The studio is emailed after the commit.
    An answer to an older preview, or after the job moved on, is refused with what changed."""
    if answer not in PreviewAnswer.values:
        raise WorkflowError("Choose carry on with these files, or re-export.")
    with locked(job, by=by) as move:
        _require_hand_in(by, move.job, "answer the levelling preview")
        try:
            preview = move.lock(LevellingPreview.objects.get(pk=preview_id, job=move.job))
        except LevellingPreview.DoesNotExist:
            raise WrongState("That preview is not one of this job's.") from None
        if not preview.is_open:
            raise WrongState(
                f"This preview was already answered ({preview.get_answer_display().lower()}) "
                f"and {_what_changed(move.job)}; nothing was changed."
            )
        newest = move.job.previews.values_list("pk", flat=True).first()
        if newest != preview.pk:
            raise WrongState(
                "The studio sent a newer preview meanwhile: listen to it, then answer; nothing "
                "was changed."
            )
        if not move.job.awaits_acknowledgement:
            raise WrongState(f"Since the preview was sent, {_what_changed(move.job)}.")
        preview.answer = answer
        preview.answered_by = by
        preview.answered_at = move.at
        label = PreviewAnswer(answer).label
        move.record(EventKind.NOTE, subject=PREVIEW_EVENT, to_value=str(label))
        if answer == PreviewAnswer.CARRY_ON:
            move.job.acknowledged_at = move.at
            _accept(move)
        else:
            _set_verdict(
                move,
                Verdict.REEXPORT_REQUESTED,
                note="After hearing the levelling preview, the client will re-export the files.",
            )
    _after_commit("notify_preview_answered", preview_id=preview.pk)
    return preview
