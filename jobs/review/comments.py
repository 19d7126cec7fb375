"""Comments pinned to the track: adding (a moment or a range inside the file's length), replying,
resolving, and the client's revision request made of its comments. Refusals raise
WorkflowError with a sentence for people; nothing is written when one is raised."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analysis.audio.findings import fmt_time
from analysis.models import AnalysisStatus, FileAnalysis
from jobs.models import AudioFile, Job, User
from jobs.review.models import Comment, GuestLink, Visibility
from jobs.services import NotAllowed, WorkflowError, job_request_revision

MAX_TEXT = 4000


def file_duration(audio: AudioFile) -> float | None:
    """The file's measured length in seconds (None until it is measured)."""
    value = (
        FileAnalysis.objects.filter(audio_file=audio, status=AnalysisStatus.DONE)
        .values_list("report__format__duration_s", flat=True)
        .first()
    )
    return float(value) if value is not None else None


def _text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise WorkflowError("Write the comment first.")
    if len(text) > MAX_TEXT:
        raise WorkflowError(f"Keep a comment under {MAX_TEXT} characters ({len(text)} now).")
    return text


def _place(audio: AudioFile, start_s: float, end_s: float | None) -> tuple[float, float | None]:
    duration = file_duration(audio)
    if duration is None:
        raise WorkflowError(
            f"{audio.original_name} is still being measured: comment once its length is known."
        )
    length = fmt_time(duration)
    if not 0 <= start_s <= duration:
        raise WorkflowError(
            f"{fmt_time(max(start_s, 0))} is outside {audio.original_name}, which is "
            f"{length} long: pin the comment between 0:00.000 and {length}."
        )
    if end_s is not None:
        if end_s <= start_s:
            raise WorkflowError("A range must end after it starts.")
        if end_s > duration + 0.0005:  # the last millisecond rounds up
            raise WorkflowError(
                f"The range ends at {fmt_time(end_s)}, after the end of "
                f"{audio.original_name} ({length}): end it at {length} or earlier."
            )
        end_s = min(end_s, duration)
    return round(start_s, 3), None if end_s is None else round(end_s, 3)


def _may_comment(by: User | None, guest: GuestLink | None, job: Job) -> bool:
    if guest is not None:
        return guest.job_id == job.pk and guest.can_comment and guest.state() == "active"
    return by is not None and by.is_active and (by.is_studio or by.is_client_of(job))


def comment_add(
    *,
    audio: AudioFile,
    by: User | None,
    text: str,
    start_s: float,
    end_s: float | None = None,
    visibility: str = Visibility.CLIENT,
    guest: GuestLink | None = None,
) -> Comment:
    """A comment on one file version the commenter may see (the caller checked access). A
    client's or a guest's comment is always shared with the client; the studio chooses."""
    job = audio.job
    if not _may_comment(by, guest, job):
        raise NotAllowed("You cannot comment on this job.")
    if visibility not in Visibility.values:
        raise WorkflowError("Choose who sees the comment.")
    if guest is not None or not (by is not None and by.is_studio):
        visibility = Visibility.CLIENT
    start, end = _place(audio, start_s, end_s)
    return Comment.objects.create(
        job=job,
        audio_file=audio,
        revision_round=job.revision_round,
        author=by if guest is None else None,
        guest=guest,
        visibility=visibility,
        start_s=start,
        end_s=end,
        text=_text(text),
    )


def comment_reply(
    *, parent: Comment, by: User | None, text: str, guest: GuestLink | None = None
) -> Comment:
    """A reply shares the comment's place, file and visibility."""
    if parent.parent_id is not None:
        parent = Comment.objects.get(pk=parent.parent_id)
    if not _may_comment(by, guest, parent.job):
        raise NotAllowed("You cannot reply on this job.")
    return Comment.objects.create(
        job=parent.job,
        audio_file=parent.audio_file,
        revision_round=parent.job.revision_round,
        parent=parent,
        author=by if guest is None else None,
        guest=guest,
        visibility=parent.visibility,
        start_s=parent.start_s,
        end_s=parent.end_s,
        text=_text(text),
    )


def comment_resolve(*, comment: Comment, by: User, resolved: bool = True) -> Comment:
    """The studio, or the job's client on a comment shared with them, marks it done (or open
    again)."""
    allowed = by.is_studio or (
        by.is_client_of(comment.job) and comment.visibility == Visibility.CLIENT
    )
    if not allowed:
        raise NotAllowed("Only the studio or the job's client can resolve this comment.")
    if comment.parent_id is not None:
        raise WorkflowError("Resolve the comment itself, not a reply.")
    fields: dict[str, Any] = (
        {"resolved_at": timezone.now(), "resolved_by": by}
        if resolved
        else {"resolved_at": None, "resolved_by": None}
    )
    Comment.objects.filter(pk=comment.pk).update(**fields)
    comment.refresh_from_db()
    return comment


def requestable_comments(job: Job) -> Any:
    """The comments a client's revision request can be made of: open, shared with the client,
    written by the client's people or guests, on a delivered master, not yet sent."""
    return Comment.objects.filter(
        job=job,
        parent__isnull=True,
        resolved_at__isnull=True,
        requested_in_round__isnull=True,
        visibility=Visibility.CLIENT,
        audio_file__kind="master",
    ).filter(Q(author__organisation_id=job.organisation_id) | Q(guest__isnull=False))


def revision_note(comments: Sequence[Comment], note: str = "") -> str:
    """What the studio reads: each comment where it is, then anything else the client said."""
    lines = []
    for c in comments:
        at = fmt_time(c.start_s) + (f"-{fmt_time(c.end_s)}" if c.end_s is not None else "")
        lines.append(f"{c.audio_file.original_name} {at}: {c.text} ({c.author_name})")
    if note.strip():
        lines.append(note.strip())
    head = f"{len(comments)} comment{'s' if len(comments) != 1 else ''}"
    return (head + ":\n" if comments else "") + "\n".join(lines)


def revision_request_from_comments(
    *, job: Job, by: User, comment_ids: Sequence[int], note: str = ""
) -> Job:
    """The client asks for a revision made of the comments they chose (and an optional note):
    the round the studio then works carries exactly these comments."""
    with transaction.atomic():
        wanted = set(comment_ids)
        comments = list(
            requestable_comments(job)
            .filter(pk__in=wanted)
            .select_for_update(of=("self",))
            .select_related("audio_file", "author", "guest")
            .order_by("audio_file__original_name", "start_s")
        )
        if len(comments) != len(wanted):
            raise WorkflowError(
                "Some of the chosen comments were resolved, removed or already sent meanwhile; "
                "look at the list again and ask once more."
            )
        if not comments and not note.strip():
            raise WorkflowError(
                "Choose the comments that say what should change (click or drag on the "
                "master's waveform to add one), or write a note."
            )
        moved = job_request_revision(job=job, by=by, note=revision_note(comments, note))
        Comment.objects.filter(pk__in=[c.pk for c in comments]).update(
            requested_in_round=moved.revision_round
        )
    return moved
