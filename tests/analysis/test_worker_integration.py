"""Intake through real Celery worker processes on Redis against PostgreSQL: upload -> analysis
-> verdict; a worker SIGKILLed mid-analysis; Redis restarted with work queued."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from analysis.models import AnalysisStatus, FileAnalysis, IntakeReport
from analysis.services import TEST_DELAY_ENV, intake_start
from jobs.models import EventKind, FileKind, Job, JobEvent, JobStatus, Verdict
from jobs.services import job_submit
from tests.factories import make_audio_file, make_job
from tests.worker import (
    broker_url,
    celery_worker_factory,
    redis_cli,
    redis_db,
    redis_restart,
    wait_until,
)

__all__ = ["celery_worker_factory"]  # the fixture, imported for pytest

pytestmark = [pytest.mark.worker]
RATE = 48000


def _wav(seconds: float, seed: int) -> bytes:
    sig = 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))
    buf = io.BytesIO()
    sf.write(buf, np.stack([sig, sig * 0.8], axis=1), RATE, subtype="PCM_24", format="WAV")
    return buf.getvalue()


def _judged(job: Job) -> Job | None:
    job.refresh_from_db()
    return job if job.status not in (JobStatus.SUBMITTED, JobStatus.ANALYSING) else None


def test_upload_analysis_verdict_through_a_real_worker(celery_worker_factory) -> None:
    celery_worker_factory()
    job = make_job()
    c = Client()
    c.force_login(job.created_by)
    stems = [
        SimpleUploadedFile("Bass - Billie Jean.wav", _wav(2, 1)),
        SimpleUploadedFile("Keys - Billie Jean.wav", _wav(2, 2)),
        SimpleUploadedFile("notes.wav", b"<html><body>not audio</body></html>"),
    ]
    assert (
        c.post(reverse("job_upload", args=[job.pk]), {"files": stems, "kind": "stem"}).status_code
        == 302
    )
    assert c.post(reverse("job_submit", args=[job.pk])).status_code == 302
    wait_until(lambda: _judged(job), timeout=60)
    assert set(
        FileAnalysis.objects.filter(audio_file__job=job).values_list("status", flat=True)
    ) == {AnalysisStatus.DONE}
    report = IntakeReport.objects.get(job=job)
    assert report.verdict == Verdict.REEXPORT_REQUESTED
    unreadable = report.findings.get(code="unreadable_file")
    assert unreadable.file_name == "notes.wav" and "HTML" in unreadable.message
    assert job.status == JobStatus.AWAITING_CLIENT
    assert "Re-export requested" in c.get(reverse("job_intake", args=[job.pk])).content.decode()


def test_a_worker_killed_mid_analysis_loses_nothing_and_measures_once(
    celery_worker_factory,
) -> None:
    first = celery_worker_factory(extra_env={TEST_DELAY_ENV: "120"})
    job = make_job()
    audio = make_audio_file(job, name="Bass - Billie Jean.wav", content=_wav(2, 1))
    job_submit(job=job, by=job.created_by)
    intake_start(job=job)
    analysis = FileAnalysis.objects.get(audio_file=audio)
    wait_until(
        lambda: FileAnalysis.objects.filter(pk=analysis.pk, status=AnalysisStatus.RUNNING).exists(),
        timeout=30,
    )
    first.kill()  # SIGKILL in the middle of the analysis (it sleeps in the test seam)
    analysis.refresh_from_db()
    assert analysis.status == AnalysisStatus.RUNNING and analysis.report is None

    celery_worker_factory(
        beat=True,
        extra_env={"ANALYSIS_RUNNING_TIMEOUT_S": "3", "ANALYSIS_PENDING_TIMEOUT_S": "3"},
    )
    wait_until(lambda: _judged(job), timeout=60)
    analysis.refresh_from_db()
    assert (
        analysis.status == AnalysisStatus.DONE and analysis.report["format"]["frames"] == 2 * RATE
    )
    assert analysis.attempts == 2  # the killed claim, then the one that finished
    assert IntakeReport.objects.filter(job=job).count() == 1
    assert JobEvent.objects.filter(job=job, kind=EventKind.VERDICT).count() == 1


def test_a_redis_restart_with_work_queued_loses_nothing(celery_worker_factory, settings) -> None:
    job = make_job()
    for i, name in enumerate(["Bass - Billie Jean.wav", "Keys - Billie Jean.wav"]):
        make_audio_file(job, name=name, content=_wav(1.5, i))
    make_audio_file(job, name="Rough.wav", kind=FileKind.ROUGH_MIX, content=_wav(1.5, 5))
    job_submit(job=job, by=job.created_by)
    intake_start(job=job)  # three tasks queued in Redis, no worker yet
    queue = celery_worker_factory.env["CELERY_TASK_DEFAULT_QUEUE"]
    assert int(redis_cli("-n", str(redis_db()), "llen", queue)) == 3, broker_url()

    redis_restart()  # Redis keeps nothing: the queue is gone
    try:
        assert int(redis_cli("-n", str(redis_db()), "llen", queue) or 0) == 0
        assert (
            FileAnalysis.objects.filter(audio_file__job=job, status=AnalysisStatus.PENDING).count()
            == 3
        )
        celery_worker_factory(beat=True, extra_env={"ANALYSIS_PENDING_TIMEOUT_S": "2"})
        wait_until(lambda: _judged(job), timeout=60)
    finally:
        assert redis_cli("ping") == "PONG"  # never leave Redis stopped
    assert set(
        FileAnalysis.objects.filter(audio_file__job=job).values_list("status", flat=True)
    ) == {AnalysisStatus.DONE}
    assert IntakeReport.objects.filter(job=job).count() == 1
