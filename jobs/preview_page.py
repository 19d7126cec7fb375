"""What the job page shows of the levelling preview: the one waiting for the client's answer, the
previews sent so far, and the moves this viewer has."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from jobs.compiled import columns, instance_from, related_from, rows_compiled_once
from jobs.models import AudioFile, Job, LevellingPreview, PreviewAnswer, StudioPolicy, User
from jobs.services.preview import open_preview


def _max_seconds() -> int:
    """The policy's limit, read without creating the policy row (pages only read)."""
    policy = StudioPolicy.read()
    if policy is None:
        return int(StudioPolicy._meta.get_field("preview_max_seconds").get_default())
    return int(policy.preview_max_seconds)


_PEOPLE = ("sent_by", "answered_by")


def _preview_rows(job_id: Any) -> QuerySet[Any]:
    rows: QuerySet[Any] = LevellingPreview.objects.filter(job_id=job_id).values(
        *columns(LevellingPreview),
        *columns(AudioFile, "audio_file__"),
        *(name for person in _PEOPLE for name in columns(User, f"{person}__")),
    )
    return rows


def _previews(job: Job) -> list[LevellingPreview]:
    """The job's previews, newest first, with their file and people (as select_related loads
    them), from SQL compiled once (jobs.compiled): a job page asks on every view, and most
    jobs have none."""
    previews = []
    for row in rows_compiled_once("job_previews", _preview_rows, job.pk):
        preview: LevellingPreview = instance_from(LevellingPreview, row)
        preview.audio_file = instance_from(AudioFile, row, "audio_file__")
        for person in _PEOPLE:
            setattr(preview, person, related_from(User, row, f"{person}__"))
        previews.append(preview)
    return previews


def preview_context(job: Job, user: User) -> dict[str, Any]:
    """What the preview region shows this viewer: the preview waiting for an answer, the
    previews sent so far (the studio's list), and the moves this viewer has."""
    previews = _previews(job)
    waiting = open_preview(job, previews)
    # The studio sees every preview sent; the client the newest (waiting, or what they answered).
    sent = previews if user.is_studio else previews[:1]
    can_send = user.may_send_preview and job.awaits_acknowledgement
    return {
        "preview": {
            "waiting": waiting,
            "sent": sent,
            "can_send": can_send,
            "can_answer": waiting is not None and user.may_hand_in(job),
            # The limit is shown only on the form for sending one: read only for it.
            "max_seconds": _max_seconds() if can_send else None,
            "answers": PreviewAnswer.choices,
        }
    }
