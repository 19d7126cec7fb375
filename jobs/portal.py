"""Reads for the client's home page: each job's progress through the six stages, when to expect
the master, and the one thing the job waits for from the client."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone

from jobs.compiled import rows_compiled_once
from jobs.fragments import content_key
from jobs.models import (
    CLOCK_RUNNING,
    STAGE_FINISHED,
    STAGE_ORDER,
    AudioFile,
    Job,
    JobStatus,
    LevellingPreview,
    Stage,
    StageKind,
    Verdict,
)
from jobs.review.selectors import wave_key
from jobs.timeline import local_time, studio_tz


@dataclass(frozen=True)
class Ask:
    """What the job needs from the client, with where to do it."""

    text: str
    action: str
    url: str


@dataclass(frozen=True)
class Card:
    job: Job
    done: int  # stages finished in the current round, of len(STAGE_ORDER)
    current: str  # the stage being worked on, or where the job stands, in words
    expected: datetime | None  # the plan's finish, never later than the promise until it passed
    ask: Ask | None
    expected_words: str = ""  # `expected` at the studio's local time
    late: bool = False  # the promised date has passed and the master is not delivered

    @property
    def total(self) -> int:
        return len(STAGE_ORDER)

    @property
    def shows_progress(self) -> bool:
        """Stages mean something from acceptance on, and not for a job the studio let go."""
        return self.job.accepted_at is not None and self.job.status not in _LET_GO


_STANDING: dict[str, str] = {
    JobStatus.DRAFT: "Not submitted yet",
    JobStatus.SUBMITTED: "Intake is checking the files",
    JobStatus.ANALYSING: "Intake is checking the files",
    JobStatus.AWAITING_CLIENT: "Waiting for you",
    JobStatus.ACCEPTED: "Accepted, mastering starts soon",
    JobStatus.DELIVERED: "Master delivered",
    JobStatus.APPROVED: "Approved",
    JobStatus.DECLINED: "Declined by the studio",
    JobStatus.ON_HOLD: "On hold",
    JobStatus.CANCELLED: "Cancelled",
}


_LET_GO = frozenset({JobStatus.DECLINED, JobStatus.CANCELLED})


def expected_delivery(job: Job, now: datetime | None = None) -> datetime | None:
    """When the client can expect the master: the plan's predicted finish while it keeps the
    promise, otherwise the promised due date (the studio's problem, not the client's). Once the
    promise has passed it cannot stand: then the plan's finish, if it is still ahead."""
    if job.status not in CLOCK_RUNNING or job.due_at is None:
        return None
    predicted = job.predicted_finish_at
    now = now or timezone.now()
    if now >= job.due_at:
        return predicted if predicted is not None and predicted > now else None
    return predicted if predicted is not None and predicted <= job.due_at else job.due_at


def client_ask(job: Job, *, preview_waiting: bool = False) -> Ask | None:
    """The one thing the job waits for from the client, if any (`preview_waiting`: the studio
    sent a levelling preview the client has not answered)."""
    page = reverse("job_detail", args=[job.pk])
    if job.status == JobStatus.DRAFT:
        return Ask("Add your stems, rough mix and references, then submit them.", "Add files", page)
    if job.awaits_acknowledgement and preview_waiting:
        return Ask(
            "The studio sent a preview of the levelled master: hear it beside your rough mix, "
            "then tell us to carry on with these files or that you'll re-export.",
            "Hear the preview",
            f"{page}#levelling-preview",
        )
    if job.awaits_acknowledgement:
        return Ask(
            "Some stems clip slightly: go ahead as they are, or upload fixed files.",
            "Review the warnings",
            reverse("job_intake", args=[job.pk]),
        )
    if job.status == JobStatus.AWAITING_CLIENT and job.verdict == Verdict.REEXPORT_REQUESTED:
        return Ask(
            "Some files need a new export before we can start.",
            "See what to fix",
            reverse("job_intake", args=[job.pk]),
        )
    if job.status == JobStatus.DELIVERED:
        return Ask(
            "Your master is ready: listen, then approve it or ask for a revision.",
            "Listen and review",
            f"{page}#review-room",
        )
    return None


def _card_stage_rows(organisation_id: int) -> QuerySet[Any]:
    rows: QuerySet[Any] = (
        Stage.objects.filter(
            job__organisation_id=organisation_id, revision_round=F("job__revision_round")
        )
        .values(*_CARD_STAGE_COLUMNS)
        .order_by("position")
    )
    return rows


def _unanswered_preview_rows(organisation_id: int) -> QuerySet[Any]:
    rows: QuerySet[Any] = LevellingPreview.objects.filter(
        job__organisation_id=organisation_id, answer=""
    ).values("job_id")
    return rows


_CARD_STAGE_COLUMNS = ("job_id", "kind", "position", "status")


def home_cards(jobs: Sequence[Job], organisation_id: int | None = None) -> list[Card]:
    """A card per job (the ones waiting on the client first), the stages of every job's current
    round read in one query. With `organisation_id` (`jobs` are all of that organisation's),
    the reads are keyed by the organisation, from SQL compiled once: a list of job ids would
    make new SQL for every length of list. The rows of the organisation's other jobs are never
    looked at, and an unanswered preview counts only for a job that awaits acknowledgement."""
    stage_rows: list[dict[str, Any]] | QuerySet[Any]
    preview_rows: list[dict[str, Any]] | QuerySet[Any]
    if organisation_id is not None:
        stage_rows = rows_compiled_once("home_card_stages", _card_stage_rows, organisation_id)
        # Asked only when a card can say so, as the list's read asks nothing of an empty list.
        preview_rows = (
            rows_compiled_once("home_card_previews", _unanswered_preview_rows, organisation_id)
            if any(j.awaits_acknowledgement for j in jobs)
            else []
        )
    else:
        stage_rows = (
            Stage.objects.filter(
                job__in=[j.pk for j in jobs], revision_round=F("job__revision_round")
            )
            .values(*_CARD_STAGE_COLUMNS)
            .order_by("position")
        )
        preview_rows = LevellingPreview.objects.filter(
            job__in=[j.pk for j in jobs if j.awaits_acknowledgement], answer=""
        ).values("job_id")
    stages: dict[object, list[dict[str, Any]]] = defaultdict(list)
    for row in stage_rows:
        stages[row["job_id"]].append(row)
    waiting = {row["job_id"] for row in preview_rows}
    tz = studio_tz()
    now = timezone.now()
    cards = []
    for job in jobs:
        own = stages.get(job.pk, [])
        done = sum(s["status"] in STAGE_FINISHED for s in own)
        open_stage = next((s for s in own if s["status"] not in STAGE_FINISHED), None)
        if job.status in CLOCK_RUNNING and open_stage is not None:
            kind = StageKind(open_stage["kind"]).label
            current = f"{kind} (stage {done + 1} of {len(STAGE_ORDER)})"
        elif job.status == JobStatus.REVISION_REQUESTED:
            current = "Revision requested"
        else:
            current = _STANDING.get(job.status, job.get_status_display())
        if job.status in (JobStatus.DELIVERED, JobStatus.APPROVED):
            done = len(STAGE_ORDER)
        expected = expected_delivery(job, now)
        cards.append(
            Card(
                job=job,
                done=done,
                current=current,
                expected=expected,
                ask=client_ask(job, preview_waiting=job.pk in waiting),
                expected_words=local_time(expected, tz) if expected else "",
                late=job.status in CLOCK_RUNNING and job.due_at is not None and now >= job.due_at,
            )
        )
    # What waits on the client first, then the work under way, then the finished jobs.
    return sorted(cards, key=lambda c: (c.ask is None, c.job.is_closed))


# --- the intake report for clients: a summary first, then each file with its fixes ------------


def intake_headline(verdict: str, findings: Sequence[Any], *, needs_ack: bool) -> str:
    """The report's first line, in the client's terms: how many files to fix before the work
    can start, or that there is nothing to do."""
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity == "warning"]
    if verdict == Verdict.REEXPORT_REQUESTED:
        files = len({f.file_name for f in errors if f.file_name})
        whole = sum(not f.file_name for f in errors)
        parts = [f"{files} file{'s' * (files != 1)}"] if files else []
        parts += [f"{whole} thing{'s' * (whole != 1)} across the job"] if whole else []
        return f"{' and '.join(parts) or 'Some files'} to fix before we can start."
    if verdict == Verdict.ACCEPTED_WITH_WARNINGS:
        n = f"{len(warnings)} warning{'s' * (len(warnings) != 1)}"
        if needs_ack:
            return f"Accepted with {n}: confirm we should go ahead, or upload fixed files."
        return f"Accepted with {n}: nothing blocks the work."
    if verdict == Verdict.DECLINED:
        return "The studio has declined this job."
    return "All files accepted: nothing to fix."


def intake_file_rows(
    measurements: Sequence[dict[str, Any]], findings: Sequence[Any]
) -> tuple[list[dict[str, Any]], list[Any]]:
    """Each measured file with its own findings split into `fixes` (errors and warnings, the
    checklist) and `notes` (information), the files with something to fix first; and the
    findings that concern the whole job."""
    by_file: dict[str, list[Any]] = defaultdict(list)
    whole_job: list[Any] = []
    for f in findings:
        (by_file[f.file_name] if f.file_name else whole_job).append(f)
    rows = []
    for m in measurements:
        own = by_file.get(m["file"].original_name, [])
        fixes = [f for f in own if f.severity in ("error", "warning")]
        notes = [f for f in own if f.severity not in ("error", "warning")]
        rows.append({**m, "fixes": fixes, "notes": notes})
    rows.sort(key=lambda r: not r["fixes"])  # stable: importance order within each group
    return rows, whole_job


def intake_key(rows: Sequence[dict[str, Any]]) -> str:
    """The fragment key (jobs.fragments) of the intake report's files and of its table of
    measurements, from `intake_file_rows`: every value either shows. (The table's order is the
    files' own, made from their kinds and names.)"""

    def said(findings: Sequence[Any]) -> tuple[Any, ...]:
        return tuple((f.severity, f.code, f.message) for f in findings)

    def shown(m: dict[str, Any]) -> tuple[Any, ...]:
        f, a = m["file"], m["analysis"]
        analysis = (a.status, a.error) if a is not None else None
        wave = wave_key(m["wave"])
        return (f.pk, f.original_name, f.kind, f.version, m["report"], analysis, wave,
                said(m["fixes"]), said(m["notes"]))  # fmt: skip

    return content_key(*(shown(m) for m in rows))


# --- the fragment keys (jobs.fragments) of the job page's other parts -------------------------


def files_key(files: Sequence[AudioFile]) -> str:
    """The key of the job page's file list, from `intake_files`: every value it shows."""

    def shown(f: AudioFile) -> tuple[Any, ...]:
        a = getattr(f, "analysis", None)
        return (f.pk, f.original_name, f.kind, f.version, f.size_bytes, a.status if a else None)

    return content_key(*(shown(f) for f in files))


def delivery_key(rows: Sequence[dict[str, Any]]) -> str:
    """The key of the delivery table, from its rows (the masters with their `check`, then the
    rough mix and references): every value it shows."""

    def shown(row: dict[str, Any]) -> tuple[Any, ...]:
        f, r, c = row["file"], row["report"], row.get("check")
        # A measure the report lacks shows as one it holds as None may not: told apart.
        measures = tuple((k in r, r.get(k)) for k in DELIVERY_MEASURES) if r is not None else None
        check = None
        if c is not None:
            errors = tuple((e.code, e.message) for e in c.errors)
            check = (c.status, c.passes, c.measuring, c.measured, errors, f.revision_round)
        return (f.pk, f.original_name, f.kind, f.version, measures, check)

    return content_key(*(shown(row) for row in rows))


# The measurements the delivery table shows of each file's report.
DELIVERY_MEASURES = (
    "integrated_lufs",
    "true_peak_dbtp",
    "loudness_range_lu",
    "max_short_term_lufs",
)


def stages_key(stages: Sequence[Stage], *, studio: bool) -> str:
    """The key of the job page's list of the round's stages (their engineers for the studio)."""

    def shown(s: Stage) -> tuple[Any, ...]:
        a = s.assignee if studio else None
        return (s.kind, s.status, (a.get_full_name() or a.username) if a else None)

    return content_key(*(shown(s) for s in stages))
