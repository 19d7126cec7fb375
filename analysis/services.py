"""Intake's writes: hand a job in and queue the measurement of its files, add a master and queue
its measurement, measure one file (claimed by a conditional UPDATE), run the job rules once when
the last file is measured, and reconcile work that got stuck. Tasks in analysis/tasks.py are thin
wrappers over these functions.

The writes that cross both apps live here, not in jobs: `jobs` below its views never imports
this module (docs/architecture.md, "Layers"), so the views call `intake_submit` and `master_add`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import IO, Any, TypeVar

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from analysis.audio.isolate import measure_isolated
from analysis.audio.length import declared_length
from analysis.audio.report import Report
from analysis.intake import IntakeFile, IntakeResult, JobInfo, intake_evaluate
from analysis.intake.run import intake_file
from analysis.models import (
    AnalysisStatus,
    FileAnalysis,
    IntakeFinding,
    IntakeReport,
    report_summary,
)
from analysis.policy import current_job_thresholds, current_thresholds
from jobs.models import (
    STUDIO_FILE_KINDS,
    AudioFile,
    EventKind,
    FileKind,
    Job,
    JobEvent,
    JobStatus,
    LevellingPreview,
    StudioPolicy,
    User,
)
from jobs.review.services import review_after_measure
from jobs.services import job_record_verdict, job_start_analysis, job_submit
from jobs.services.preview import preview_record, preview_refusal
from jobs.storage import local_path
from jobs.uploads import UploadError, audio_file_add, safe_original_name

log = logging.getLogger(__name__)

INTAKE_KINDS = (FileKind.STEM, FileKind.ROUGH_MIX, FileKind.REFERENCE)

# Test seam (documented in tests/worker.py): seconds to sleep after claiming a file, so a fault
# test can kill a worker in the middle of an analysis. Never set in production.
TEST_DELAY_ENV = "HEADROOM_TEST_ANALYSIS_DELAY_S"

# The tasks that run these services (analysis/tasks.py) are queued by their registered names:
# that module imports this one, so importing it back would make a cycle.
MEASURE_TASK = "analysis.file_measure"
FINISH_TASK = "analysis.intake_finish"


def pending_timeout() -> timedelta:
    return timedelta(seconds=settings.ANALYSIS_PENDING_TIMEOUT_S)


def running_timeout() -> timedelta:
    return timedelta(seconds=settings.ANALYSIS_RUNNING_TIMEOUT_S)


def max_attempts() -> int:
    return settings.ANALYSIS_MAX_ATTEMPTS


# --- queueing ----------------------------------------------------------------------------------


def _queue_files(ids: list[int]) -> None:
    task = current_app.tasks[MEASURE_TASK]
    for analysis_id in ids:
        task.delay_on_commit(analysis_id)  # type: ignore[attr-defined]


def _queue_finish(job_id: Any) -> None:
    current_app.tasks[FINISH_TASK].delay_on_commit(str(job_id))  # type: ignore[attr-defined]


def intake_start(*, job: Job) -> list[int]:
    """A submitted job goes to analysis: one pending FileAnalysis per current file (files measured
    before keep their report), one task per file queued after commit. Returns the queued ids."""
    with transaction.atomic():
        job_start_analysis(job=job)
        now = timezone.now()
        queued: list[int] = []
        for audio in AudioFile.objects.filter(job=job, is_current=True, kind__in=INTAKE_KINDS):
            analysis, created = FileAnalysis.objects.get_or_create(
                audio_file=audio, defaults={"queued_at": now}
            )
            if not created and analysis.status == AnalysisStatus.DONE:
                continue
            if not created:
                FileAnalysis.objects.filter(pk=analysis.pk).update(
                    status=AnalysisStatus.PENDING,
                    attempts=0,
                    queued_at=now,
                    claimed_at=None,
                    error="",
                )
            queued.append(analysis.pk)
        if queued:
            _queue_files(queued)
        else:
            _queue_finish(job.pk)  # everything was measured before: judge the job now
    return queued


def intake_submit(*, job: Job, by: User) -> list[int]:
    """The client (or a manager) hands the job in: submitted, then intake started, in one
    transaction, so measuring starts after the commit. Raises jobs' WorkflowError as
    `job_submit` does, and then nothing is queued. Returns the queued analysis ids."""
    with transaction.atomic():
        job_submit(job=job, by=by)
        return intake_start(job=job)


def master_add(*, job: Job, content: IO[bytes], name: str, by: User) -> AudioFile:
    """Store a master of the job's current round (`audio_file_add`: same checks, versions and
    history as any upload) and queue its measurement, in one transaction: a master is never
    stored without being measured. Who may upload masters is the caller's check. Raises
    UploadError."""
    return _studio_file_add(
        job=job, content=content, name=name, kind=FileKind.MASTER, by=by, then=lambda a: a
    )


T = TypeVar("T")


def _studio_file_add(
    *,
    job: Job,
    content: IO[bytes],
    name: str,
    kind: str,
    by: User,
    then: Callable[[AudioFile], T],
) -> T:
    """Store a studio file (a master or a levelling preview), run `then` on it and queue its
    measuring, all in one transaction; should the transaction fail after the bytes were stored,
    the bytes go too. Returns what `then` returned."""
    audio: AudioFile | None = None
    try:
        with transaction.atomic():
            audio = audio_file_add(job=job, content=content, name=name, kind=kind, by=by)
            done = then(audio)
            master_measure_start(master=audio)
    except BaseException:
        if audio is not None:  # stored, then the transaction failed: the bytes go too
            audio.file.storage.delete(audio.file.name or "")
        raise
    return done


def preview_length_refusal(*, content: IO[bytes], name: str) -> str:
    """Why this file cannot be a levelling preview ("" when it can): it must be lossless audio
    no longer than the policy's limit, read from its header before anything is stored."""
    limit = StudioPolicy.current().preview_max_seconds
    found = declared_length(content)
    shown = safe_original_name(name)
    if found.seconds is None:
        return (
            f"{shown} is not a preview we can play: it looks like {found.what}. Send a WAV, "
            "AIFF or FLAC file."
        )
    if found.seconds > limit:
        return (
            f"{shown} is {found.seconds:.1f} s long; a levelling preview is at most {limit} s. "
            "Send a shorter excerpt (the passage around the clipping)."
        )
    return ""


def preview_add(
    *, job: Job, content: IO[bytes], name: str, note: str, by: User
) -> LevellingPreview:
    """Send the client a levelling preview: checked (who, the job's state, the note, the length
    from the file's header) before any byte is stored, then stored as any file is
    (`audio_file_add`), recorded for the client to answer and queued for measuring, in one
    transaction. Raises UploadError for the file, jobs' WorkflowError for the move."""
    refusal = preview_refusal(job=job, by=by, note=note) or preview_length_refusal(
        content=content, name=name
    )
    if refusal:
        raise UploadError(refusal)
    return _studio_file_add(
        job=job,
        content=content,
        name=name,
        kind=FileKind.PREVIEW,
        by=by,
        then=lambda audio: preview_record(job=job, audio=audio, note=note, by=by),
    )


def master_measure_start(*, master: AudioFile) -> FileAnalysis:
    """A master (or a levelling preview) is measured as soon as it is stored, by the same
    pipeline as intake, but outside it: one pending FileAnalysis, its task queued after commit.
    Call it inside the transaction that adds the file. A master's report carries the findings
    as a master (the delivery check)."""
    if master.kind not in STUDIO_FILE_KINDS:
        raise ValueError("only the studio's masters and previews are measured outside intake")
    analysis, _ = FileAnalysis.objects.get_or_create(
        audio_file=master, defaults={"queued_at": timezone.now()}
    )
    _queue_files([analysis.pk])
    return analysis


# --- measuring one file ------------------------------------------------------------------------


def file_claim(*, analysis_id: int, now: datetime | None = None) -> int | None:
    """Take the file for measuring: pending (or running past the timeout, its worker presumed
    dead) -> running. Returns the attempt number that owns the claim, or None if not ours."""
    now = now or timezone.now()
    claimed = (
        FileAnalysis.objects.filter(pk=analysis_id, attempts__lt=max_attempts())
        .filter(
            Q(status=AnalysisStatus.PENDING)
            | Q(status=AnalysisStatus.RUNNING, claimed_at__lt=now - running_timeout())
        )
        .update(status=AnalysisStatus.RUNNING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return int(FileAnalysis.objects.values_list("attempts", flat=True).get(pk=analysis_id))


def file_release(*, analysis_id: int, attempt: int, error: str) -> None:
    """Give a claimed file back (a transient failure): pending again, unless it is out of tries."""
    gave_up = attempt >= max_attempts()
    updated = FileAnalysis.objects.filter(
        pk=analysis_id, status=AnalysisStatus.RUNNING, attempts=attempt
    ).update(
        status=AnalysisStatus.NEEDS_ATTENTION if gave_up else AnalysisStatus.PENDING,
        claimed_at=None,
        queued_at=timezone.now(),
        error=error[:2000],
    )
    if updated and gave_up:
        _note_needs_attention(analysis_id, error)


def _note_needs_attention(analysis_id: int, error: str) -> None:
    analysis = FileAnalysis.objects.select_related("audio_file__job").get(pk=analysis_id)
    audio = analysis.audio_file
    JobEvent.objects.create(
        job=audio.job,
        kind=EventKind.FILE,
        subject=audio.original_name[:64],
        from_value="analysis",
        to_value="needs attention",
        note=f"Measuring stopped after {analysis.attempts} attempts: {error}"[:2000],
    )


def file_measure(*, analysis_id: int) -> str:
    """Measure one file and store its report in one write. Returns what happened: "measured",
    "skipped" (someone else has it, or it is done) or "superseded" (our claim was taken over)."""
    attempt = file_claim(analysis_id=analysis_id)
    if attempt is None:
        # A retry after the write (say the finishing step failed): finish the job now.
        done_job = (
            FileAnalysis.objects.filter(
                pk=analysis_id, status=AnalysisStatus.DONE, audio_file__kind__in=INTAKE_KINDS
            )
            .values_list("audio_file__job_id", flat=True)
            .first()
        )
        if done_job is not None:
            intake_finish_if_ready(job_id=done_job)
        return "skipped"
    analysis = FileAnalysis.objects.select_related("audio_file").get(pk=analysis_id)
    audio = analysis.audio_file
    delay = float(os.environ.get(TEST_DELAY_ENV, "0") or 0)
    if delay:
        time.sleep(delay)
    try:
        with local_path(audio.file) as path:
            report = measure_isolated(
                path, thresholds=current_thresholds(), kind=audio.kind, name=audio.original_name
            )
    except Exception as exc:
        # The detail (paths, storage internals) is for the log; the client reads the words.
        log.exception("measuring %s (analysis %s) failed", audio.file.name, analysis_id)
        error = (
            "the stored file could not be read"
            if isinstance(exc, OSError)
            else "measuring failed on our side"
        )
        file_release(analysis_id=analysis_id, attempt=attempt, error=error)
        raise
    report.path = audio.file.name
    found = report.to_dict()
    written = FileAnalysis.objects.filter(
        pk=analysis_id, status=AnalysisStatus.RUNNING, attempts=attempt
    ).update(
        status=AnalysisStatus.DONE,
        report=found,
        summary=report_summary(found),
        finished_at=timezone.now(),
        error="",
    )
    if not written:
        return "superseded"
    review_after_measure(audio=audio, report=report)
    if audio.kind in INTAKE_KINDS:  # a master is judged on delivery, never by intake's rules
        intake_finish_if_ready(job_id=audio.job_id)
    return "measured"


# --- the job's verdict -------------------------------------------------------------------------


def _current_analyses(job_id: Any) -> list[FileAnalysis]:
    return list(
        FileAnalysis.objects.filter(
            audio_file__job_id=job_id,
            audio_file__is_current=True,
            audio_file__kind__in=INTAKE_KINDS,
        ).select_related("audio_file")
    )


def intake_ready(*, job_id: Any) -> bool:
    analyses = _current_analyses(job_id)
    files = AudioFile.objects.filter(job_id=job_id, is_current=True, kind__in=INTAKE_KINDS)
    return (
        bool(analyses)
        and len(analyses) == files.count()
        and all(a.status == AnalysisStatus.DONE for a in analyses)
    )


def intake_finish_if_ready(*, job_id: Any) -> IntakeReport | None:
    if not Job.objects.filter(pk=job_id, status=JobStatus.ANALYSING).exists():
        return None
    if not intake_ready(job_id=job_id):
        return None
    return intake_finish(job_id=job_id)


def _evaluate(job: Job, analyses: list[FileAnalysis]) -> IntakeResult:
    thresholds = current_thresholds()
    with ExitStack() as stack:
        files: list[IntakeFile] = []
        for analysis in analyses:
            audio = analysis.audio_file
            report = Report.from_dict(analysis.report or {})
            path: str | None = None
            if audio.kind in (FileKind.STEM, FileKind.ROUGH_MIX):  # only these are aligned
                try:
                    path = stack.enter_context(local_path(audio.file))
                except OSError:
                    path = None  # alignment skips it; its own report says what it is
            files.append(
                intake_file(
                    report,
                    name=audio.original_name,
                    kind=audio.kind,
                    path=path,
                    thresholds=thresholds,
                )
            )
        return intake_evaluate(
            files,
            job=JobInfo(
                track_title=job.track_title, artist=job.artist, reference_notes=job.reference_notes
            ),
            thresholds=current_job_thresholds(),
        )


def _store(job: Job, result: IntakeResult, analyses: list[FileAnalysis]) -> IntakeReport:
    by_name = {a.audio_file.original_name: a.audio_file for a in analyses}
    report_row = IntakeReport.objects.create(
        job=job, verdict=result.verdict, summary=result.summary
    )
    IntakeFinding.objects.bulk_create(
        IntakeFinding(
            report=report_row,
            audio_file=by_name.get(f.file) if f.file else None,
            code=f.code,
            severity=f.severity,
            message=f.message,
            file_name=(f.file or "")[:400],
            at_s=f.at_s if f.at_s is None or f.at_s >= 0 else None,
        )
        for f in result.findings
    )
    return report_row


def intake_finish(*, job_id: Any) -> IntakeReport | None:
    """Run the job rules over the measured files and record the verdict, once: the job row is
    locked and must still be analysing, so two workers finishing together make one report."""
    job = Job.objects.get(pk=job_id)
    if job.status != JobStatus.ANALYSING or not intake_ready(job_id=job_id):
        return None
    analyses = _current_analyses(job_id)
    result = _evaluate(job, analyses)  # outside the lock: it reads audio for the alignment
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job_id)
        if locked.status != JobStatus.ANALYSING:
            return None
        report_row = _store(locked, result, analyses)
        job_record_verdict(
            job=locked,
            verdict=result.verdict,
            needs_acknowledgement=result.needs_acknowledgement,
            report=report_row,
        )
    return report_row


def intake_report_record(*, job: Job) -> IntakeReport:
    """Measure every current file now, in this process, and record an intake report without
    moving the job (its status and verdict stay as they are): for the demo studio's history and
    for re-checking an old job against today's policy."""
    now = timezone.now()
    for audio in AudioFile.objects.filter(job=job, is_current=True, kind__in=INTAKE_KINDS):
        analysis, _ = FileAnalysis.objects.get_or_create(audio_file=audio)
        if analysis.status == AnalysisStatus.DONE:
            continue
        with local_path(audio.file) as path:
            report = measure_isolated(
                path, thresholds=current_thresholds(), kind=audio.kind, name=audio.original_name
            )
        report.path = audio.file.name
        found = report.to_dict()
        FileAnalysis.objects.filter(pk=analysis.pk).update(
            status=AnalysisStatus.DONE,
            report=found,
            summary=report_summary(found),
            claimed_at=now,
            finished_at=timezone.now(),
            attempts=F("attempts") + 1,
            error="",
        )
        review_after_measure(audio=audio, report=report)
    analyses = _current_analyses(job.pk)
    result = _evaluate(job, analyses)
    with transaction.atomic():
        return _store(job, result, analyses)


# --- reconciling -------------------------------------------------------------------------------


def analysis_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Re-queue files stuck in pending or running past their timeout, give up visibly after the
    last attempt, and finish or start jobs whose step was lost. The database is the source of
    truth: a broker that lost its queue loses nothing here."""
    now = now or timezone.now()
    counts = {"requeued": 0, "gave_up": 0, "finished": 0, "started": 0}
    # Masters and previews are measured outside intake, so they are watched whatever the status.
    stuck = FileAnalysis.objects.filter(
        Q(audio_file__job__status=JobStatus.ANALYSING) | Q(audio_file__kind__in=STUDIO_FILE_KINDS)
    ).filter(
        Q(status=AnalysisStatus.PENDING, queued_at__lt=now - pending_timeout())
        | Q(status=AnalysisStatus.RUNNING, claimed_at__lt=now - running_timeout())
    )
    for analysis in stuck:
        same = FileAnalysis.objects.filter(
            pk=analysis.pk, status=analysis.status, attempts=analysis.attempts
        )
        if analysis.attempts >= max_attempts():
            error = analysis.error or "no worker finished measuring this file"
            if same.update(
                status=AnalysisStatus.NEEDS_ATTENTION,
                claimed_at=None,
                error=f"Gave up after {analysis.attempts} attempts: {error}"[:2000],
            ):
                _note_needs_attention(analysis.pk, error)
                counts["gave_up"] += 1
            continue
        if same.update(status=AnalysisStatus.PENDING, claimed_at=None, queued_at=now):
            _queue_files([analysis.pk])
            counts["requeued"] += 1
    # Files of an analysing job that never got an analysis row (a job moved there by hand).
    orphans = AudioFile.objects.filter(
        job__status=JobStatus.ANALYSING,
        is_current=True,
        kind__in=INTAKE_KINDS,
        analysis__isnull=True,
    )
    for audio in orphans:
        analysis, created = FileAnalysis.objects.get_or_create(
            audio_file=audio, defaults={"queued_at": now}
        )
        if created:
            _queue_files([analysis.pk])
            counts["requeued"] += 1
    for job_id in Job.objects.filter(status=JobStatus.ANALYSING).values_list("pk", flat=True):
        if intake_ready(job_id=job_id):
            _queue_finish(job_id)
            counts["finished"] += 1
    for job in Job.objects.filter(
        status=JobStatus.SUBMITTED, submitted_at__lt=now - pending_timeout()
    ):
        intake_start(job=job)
        counts["started"] += 1
    return counts


def file_requeue(*, analysis: FileAnalysis) -> None:
    """A person asks for another try (after needs attention): pending, attempts reset, queued."""
    with transaction.atomic():
        FileAnalysis.objects.filter(pk=analysis.pk).update(
            status=AnalysisStatus.PENDING,
            attempts=0,
            claimed_at=None,
            queued_at=timezone.now(),
            error="",
        )
        _queue_files([analysis.pk])
