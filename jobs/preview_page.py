"""What the job page shows of the levelling preview: the one waiting for the client's answer, the
previews sent so far, and the moves this viewer has."""

from __future__ import annotations

from typing import Any

from jobs.models import Job, PreviewAnswer, StudioPolicy, User
from jobs.services.preview import open_preview


def _max_seconds() -> int:
    """The policy's limit, read without creating the policy row (pages only read)."""
    policy = StudioPolicy.read()
    if policy is None:
        return int(StudioPolicy._meta.get_field("preview_max_seconds").get_default())
    return int(policy.preview_max_seconds)


def preview_context(job: Job, user: User) -> dict[str, Any]:
    """What the preview region shows this viewer: the preview waiting for an answer, the
    previews sent so far (the studio's list), and the moves this viewer has."""
    waiting = open_preview(job)
    previews = job.previews.select_related("audio_file", "sent_by", "answered_by")
    # The studio reads every preview sent; the client the newest (waiting, or what they answered).
    sent = list(previews) if user.is_studio else list(previews[:1])
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
