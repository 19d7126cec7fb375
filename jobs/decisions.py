"""Reads for the manager's review queue: the jobs intake could not settle alone (accepted with
warnings, nothing showing the direction, a re-export asked for), each with why it is there."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, Subquery

from analysis.models import IntakeFinding, IntakeReport
from jobs.models import Job, JobStatus, LevellingPreview, Verdict

NO_VISION = "no_vision"
# The statuses a verdict can still be decided in (the override service's own).
DECIDABLE = (JobStatus.SUBMITTED, JobStatus.ANALYSING, JobStatus.AWAITING_CLIENT)


@dataclass
class QueueRow:
    job: Job
    why: list[str]
    preview: str = ""  # minor clipping: "send" a levelling preview, or one is "waiting"


def review_queue() -> list[QueueRow]:
    """Jobs waiting on a human decision, the longest waiting first, in two queries."""
    # Only the latest intake run counts: new files may have fixed what an earlier one found.
    latest = (
        IntakeReport.objects.filter(job=OuterRef(OuterRef("pk")))
        .order_by("-created_at")
        .values("pk")
    )
    no_vision = IntakeFinding.objects.filter(report=Subquery(latest[:1]), code=NO_VISION)
    jobs = (
        Job.objects.filter(status__in=DECIDABLE)
        .annotate(
            no_vision=Exists(no_vision),
            preview_waiting=Exists(LevellingPreview.objects.filter(job=OuterRef("pk"), answer="")),
        )
        .filter(
            Q(no_vision=True)
            | Q(
                status=JobStatus.AWAITING_CLIENT,
                verdict__in=(Verdict.ACCEPTED_WITH_WARNINGS, Verdict.REEXPORT_REQUESTED),
            )
        )
        .select_related("organisation")
        .order_by("submitted_at", "created_at")
    )
    rows = []
    for job in jobs:
        why = []
        if job.verdict == Verdict.ACCEPTED_WITH_WARNINGS:
            why.append("Accepted with warnings: the client has not acknowledged them yet")
        if job.verdict == Verdict.REEXPORT_REQUESTED:
            why.append("Re-export requested: waiting on new files")
        if job.no_vision:  # type: ignore[attr-defined]
            why.append("No vision: no rough mix, reference or reference notes")
        preview = ""
        if job.awaits_acknowledgement:
            preview = "waiting" if job.preview_waiting else "send"  # type: ignore[attr-defined]
            if preview == "waiting":
                why.append("A levelling preview waits for the client's answer")
        rows.append(QueueRow(job=job, why=why, preview=preview))
    return rows
