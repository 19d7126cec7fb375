"""The intake pipeline in process (eager Celery, as on the embedded default): submit -> one task
per file after commit -> claim -> measure -> the job rules once -> verdict; idempotence, retries,
the reconciler and re-uploads after a re-export."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from django.urls import reverse
from django.utils import timezone

from analysis import services
from analysis.models import AnalysisStatus, FileAnalysis, IntakeReport
from analysis.services import (
    analysis_reconcile,
    file_claim,
    file_measure,
    intake_finish,
    intake_start,
)
from jobs.models import EventKind, FileKind, JobEvent, JobStatus, Verdict
from jobs.services import job_submit
from tests.factories import make_audio_file, make_job

pytestmark = pytest.mark.django_db
RATE = 48000


def _wav(signal: np.ndarray, rate: int = RATE, subtype: str = "PCM_24") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.stack([signal, signal * 0.9], axis=1), rate, subtype=subtype, format="WAV")
    return buf.getvalue()


def _noise(seconds: float, seed: int, level: float = 0.1) -> np.ndarray:
    return level * np.random.default_rng(seed).standard_normal(int(seconds * RATE))


def _clean_job(seconds: float = 3.0, **kw: Any):
    job = make_job(**kw)
    stems = [_noise(seconds, i) for i in range(3)]
    names = ["Lead Vocal - Billie Jean.wav", "Bass - Billie Jean.wav", "Drums - Billie Jean.wav"]
    for name, sig in zip(names, stems, strict=True):
        make_audio_file(job, name=name, content=_wav(sig))
    make_audio_file(job, name="Rough.wav", kind=FileKind.ROUGH_MIX, content=_wav(sum(stems) / 2))
    make_audio_file(
        job, name="Thriller.wav", kind=FileKind.REFERENCE, content=_wav(_noise(seconds, 9))
    )
    return job


def _submit(job, capture) -> None:
    with capture(execute=True):
        job_submit(job=job, by=job.created_by)
        intake_start(job=job)


def test_a_clean_job_is_measured_and_accepted(
    django_capture_on_commit_callbacks, mailoutbox
) -> None:
    job = _clean_job()
    _submit(job, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    analyses = FileAnalysis.objects.filter(audio_file__job=job)
    assert analyses.count() == 5
    assert set(analyses.values_list("status", flat=True)) == {AnalysisStatus.DONE}
    assert all(a.report["format"]["sample_rate"] == RATE for a in analyses)
    report = IntakeReport.objects.get(job=job)
    assert report.verdict == Verdict.ACCEPTED
    assert not report.findings.exclude(severity="info").exists()
    assert job.status == JobStatus.ACCEPTED and job.due_at is not None
    assert len(mailoutbox) == 1 and "Billie Jean" in mailoutbox[0].subject + mailoutbox[0].body


def test_a_fake_wav_and_a_misaligned_rough_mix_ask_for_a_reexport(
    django_capture_on_commit_callbacks,
) -> None:
    job = make_job()
    stems = [_noise(4, i) for i in range(2)]
    make_audio_file(job, name="Bass - Billie Jean.wav", content=_wav(stems[0]))
    make_audio_file(job, name="Keys - Billie Jean.wav", content=_wav(stems[1]))
    make_audio_file(job, name="Vocal - Billie Jean.wav", content=b"PK\x03\x04" + b"\x00" * 500)
    mix = np.concatenate([np.zeros(480), (stems[0] + stems[1])[:-480]])  # 10 ms late
    make_audio_file(job, name="Rough.wav", kind=FileKind.ROUGH_MIX, content=_wav(mix))
    _submit(job, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    report = IntakeReport.objects.get(job=job)
    codes = {f.code: f for f in report.findings.all()}
    assert codes["unreadable_file"].severity == "error"
    assert codes["unreadable_file"].audio_file.original_name == "Vocal - Billie Jean.wav"
    assert "ZIP" in codes["unreadable_file"].message
    assert "10.0 ms" in codes["stems_offset"].message
    assert report.verdict == Verdict.REEXPORT_REQUESTED
    assert job.status == JobStatus.AWAITING_CLIENT


def test_minor_clipping_waits_for_the_client(django_capture_on_commit_callbacks, client) -> None:
    job = _clean_job()
    bass = job.files.get(original_name="Bass - Billie Jean.wav")
    sig = _noise(3, 1)
    for start in (RATE, 2 * RATE):
        sig[start : start + 5] = 1.0  # two clip events of five full-scale samples
    bass.is_current = False
    bass.save()
    make_audio_file(
        job, name="Bass - Billie Jean.wav", content=_wav(sig), lineage=bass.lineage, version=2
    )
    _submit(job, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == JobStatus.AWAITING_CLIENT
    assert job.verdict == Verdict.ACCEPTED_WITH_WARNINGS
    clip = IntakeReport.objects.get(job=job).findings.get(code="clipping")
    assert clip.severity == "warning" and clip.file_name == "Bass - Billie Jean.wav"
    client.force_login(job.created_by)
    client.post(reverse("job_acknowledge", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED


def test_the_view_submits_and_the_page_shows_the_verdict(
    django_capture_on_commit_callbacks, client
) -> None:
    job = _clean_job()
    client.force_login(job.created_by)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("job_submit", args=[job.pk]))
    assert response.status_code == 302
    body = client.get(reverse("job_intake", args=[job.pk])).content.decode()
    assert "Accepted" in body and "Measured" in body and "hx-trigger" not in body


def test_running_a_task_twice_measures_once(django_capture_on_commit_callbacks) -> None:
    job = _clean_job(seconds=1)
    with django_capture_on_commit_callbacks(execute=False):
        job_submit(job=job, by=job.created_by)
        ids = intake_start(job=job)
    results = [file_measure(analysis_id=i) for i in ids]
    assert results == ["measured"] * len(ids)
    assert [file_measure(analysis_id=i) for i in ids] == ["skipped"] * len(ids)
    assert IntakeReport.objects.filter(job=job).count() == 1
    assert intake_finish(job_id=job.pk) is None  # already judged
    assert set(FileAnalysis.objects.values_list("attempts", flat=True)) == {1}


def test_a_stale_claim_is_taken_over_and_the_old_worker_cannot_write(settings) -> None:
    job = make_job(status=JobStatus.ANALYSING)
    audio = make_audio_file(job, content=_wav(_noise(1, 1)))
    analysis = FileAnalysis.objects.create(audio_file=audio)
    first = file_claim(analysis_id=analysis.pk)
    assert first == 1 and file_claim(analysis_id=analysis.pk) is None  # fresh claim: not ours
    later = timezone.now() + timedelta(seconds=settings.ANALYSIS_RUNNING_TIMEOUT_S + 1)
    assert file_claim(analysis_id=analysis.pk, now=later) == 2
    # The first worker comes back and tries to write with its old claim: nothing happens.
    written = FileAnalysis.objects.filter(
        pk=analysis.pk, status=AnalysisStatus.RUNNING, attempts=first
    ).update(status=AnalysisStatus.DONE)
    assert written == 0


def test_a_transient_error_releases_the_file_and_gives_up_visibly(monkeypatch, settings) -> None:
    settings.ANALYSIS_MAX_ATTEMPTS = 2
    job = make_job(status=JobStatus.ANALYSING)
    audio = make_audio_file(job, content=_wav(_noise(1, 1)))
    analysis = FileAnalysis.objects.create(audio_file=audio)

    def storage_down(*a: Any, **k: Any) -> Any:
        raise OSError("storage unreachable")

    monkeypatch.setattr(services, "measure_isolated", storage_down)
    with pytest.raises(OSError):
        file_measure(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    # What it says is for the client's page; the exception's own words are only in the log.
    assert analysis.status == AnalysisStatus.PENDING
    assert analysis.error == "the stored file could not be read"
    with pytest.raises(OSError):
        file_measure(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    assert analysis.status == AnalysisStatus.NEEDS_ATTENTION and analysis.attempts == 2
    event = JobEvent.objects.get(job=job, kind=EventKind.FILE, to_value="needs attention")
    assert "the stored file could not be read" in event.note
    assert "storage unreachable" not in event.note
    assert file_measure(analysis_id=analysis.pk) == "skipped"


def test_the_task_retries_transient_errors_with_backoff() -> None:
    from analysis.tasks import TRANSIENT, file_measure_task

    assert file_measure_task.autoretry_for == TRANSIENT
    assert file_measure_task.retry_backoff and file_measure_task.max_retries == 5
    from django.db import OperationalError

    assert OperationalError in TRANSIENT and OSError in TRANSIENT
    assert ValueError not in TRANSIENT  # a bad file never raises, and a bug is not retried


def test_the_reconciler_requeues_stuck_work_and_gives_up_after_the_last_attempt(
    settings, django_capture_on_commit_callbacks
) -> None:
    job = _clean_job(seconds=1, status=JobStatus.ANALYSING)
    files = list(job.files.all())
    old = timezone.now() - timedelta(hours=2)
    lost = FileAnalysis.objects.create(audio_file=files[0], queued_at=old)  # broker lost it
    dead = FileAnalysis.objects.create(
        audio_file=files[1], status=AnalysisStatus.RUNNING, claimed_at=old, attempts=1
    )
    hopeless = FileAnalysis.objects.create(
        audio_file=files[2],
        status=AnalysisStatus.RUNNING,
        claimed_at=old,
        attempts=settings.ANALYSIS_MAX_ATTEMPTS,
    )
    fresh = [FileAnalysis.objects.create(audio_file=f) for f in files[3:]]
    with django_capture_on_commit_callbacks(execute=True):
        counts = analysis_reconcile()
    assert counts["requeued"] == 2 and counts["gave_up"] == 1
    for a in (lost, dead, hopeless, *fresh):
        a.refresh_from_db()
    assert lost.status == dead.status == AnalysisStatus.DONE  # re-queued and measured
    assert all(a.status == AnalysisStatus.PENDING for a in fresh)  # not stuck yet: left alone
    assert hopeless.status == AnalysisStatus.NEEDS_ATTENTION and "Gave up" in hopeless.error
    job.refresh_from_db()
    assert job.status == JobStatus.ANALYSING  # no verdict while a file needs attention


def test_the_reconciler_finishes_a_job_whose_last_step_was_lost(
    django_capture_on_commit_callbacks,
) -> None:
    job = _clean_job(seconds=1)
    with django_capture_on_commit_callbacks(execute=False):
        job_submit(job=job, by=job.created_by)
        ids = intake_start(job=job)
    for i in ids:
        FileAnalysis.objects.filter(pk=i).update(status=AnalysisStatus.PENDING)
        file_claim(analysis_id=i)
    # Measured, but the finishing step never ran (say the worker died right after the write).
    for i in ids:
        a = FileAnalysis.objects.get(pk=i)
        from analysis.audio.isolate import measure_isolated

        report = measure_isolated(a.audio_file.file.path, thresholds=services.current_thresholds())
        FileAnalysis.objects.filter(pk=i).update(
            status=AnalysisStatus.DONE, report=report.to_dict(), finished_at=timezone.now()
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert analysis_reconcile()["finished"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED and IntakeReport.objects.filter(job=job).count() == 1


def test_a_reupload_after_a_reexport_goes_through_the_same_pipeline(
    django_capture_on_commit_callbacks,
) -> None:
    from jobs.uploads import audio_file_add

    job = _clean_job()
    drums = job.files.get(original_name="Drums - Billie Jean.wav")
    drums.is_current = False
    drums.save()
    short = _noise(2.5, 2)
    make_audio_file(
        job, name="Drums - Billie Jean.wav", content=_wav(short), lineage=drums.lineage, version=2
    )
    _submit(job, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.verdict == Verdict.REEXPORT_REQUESTED and job.status == JobStatus.AWAITING_CLIENT
    first = IntakeReport.objects.get(job=job)
    assert first.findings.filter(code="length_mismatch").exists()
    measured_before = set(FileAnalysis.objects.values_list("pk", "finished_at"))

    fixed = audio_file_add(
        job=job,
        content=io.BytesIO(_wav(_noise(3, 2))),
        name="Drums - Billie Jean.wav",
        kind="stem",
        by=job.created_by,
    )
    assert fixed.version == 3
    _submit(job, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert IntakeReport.objects.filter(job=job).count() == 2
    # Only the new file was measured; the others kept their reports.
    assert measured_before <= set(FileAnalysis.objects.values_list("pk", "finished_at"))
    assert FileAnalysis.objects.get(audio_file=fixed).status == AnalysisStatus.DONE
    assert job.verdict == Verdict.ACCEPTED and job.status == JobStatus.ACCEPTED


def test_a_report_can_be_recorded_without_moving_the_job() -> None:
    from analysis.services import intake_report_record

    job = _clean_job(seconds=1, status=JobStatus.ACCEPTED)
    report = intake_report_record(job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED
    assert report.verdict == Verdict.ACCEPTED
    assert set(
        FileAnalysis.objects.filter(audio_file__job=job).values_list("status", flat=True)
    ) == {AnalysisStatus.DONE}


@pytest.mark.django_db(transaction=True)
def test_two_workers_finishing_together_make_one_report(monkeypatch) -> None:
    """On PostgreSQL: two threads (two connections) judge the same job at the same moment."""
    import threading

    from django.db import connection

    from tests.worker import require_postgres

    require_postgres()
    job = _clean_job(seconds=1)
    job_submit(job=job, by=job.created_by)
    monkeypatch.setattr(services, "_queue_files", lambda ids: None)  # we play the workers
    ids = intake_start(job=job)
    for i in ids:
        file_claim(analysis_id=i)
        a = FileAnalysis.objects.select_related("audio_file").get(pk=i)
        from analysis.audio.isolate import measure_isolated

        r = measure_isolated(a.audio_file.file.path, thresholds=services.current_thresholds())
        FileAnalysis.objects.filter(pk=i).update(
            status=AnalysisStatus.DONE, report=r.to_dict(), finished_at=timezone.now()
        )
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def finish() -> None:
        try:
            barrier.wait()
            results.append(intake_finish(job_id=job.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=finish) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert IntakeReport.objects.filter(job=job).count() == 1
    assert sum(r is not None for r in results) == 1
    assert JobEvent.objects.filter(job=job, kind=EventKind.VERDICT).count() == 1


def _zip_bytes() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Bass.wav", _wav(_noise(0.2, 1)))
    return buf.getvalue()


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (_zip_bytes(), "unreadable_file", "ZIP"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" * 400, "lossy_format", "MP3"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "unreadable_file", "HTML"),
    ],
)
def test_a_disguised_upload_is_reported_not_trusted(
    django_capture_on_commit_callbacks, client, content: bytes, code: str, words: str
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    job = _clean_job(seconds=1)
    client.force_login(job.created_by)
    upload = SimpleUploadedFile("Keys - Billie Jean.wav", content, "audio/wav")
    client.post(reverse("job_upload", args=[job.pk]), {"files": [upload], "kind": "stem"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("job_submit", args=[job.pk]))
    job.refresh_from_db()
    finding = IntakeReport.objects.get(job=job).findings.get(code=code)
    assert finding.file_name == "Keys - Billie Jean.wav" and words in finding.message
    assert "WAV, AIFF or FLAC" in finding.message  # the fix
    stored = job.files.get(original_name="Keys - Billie Jean.wav").file.name
    assert not stored.endswith(".wav")
    assert job.verdict in (Verdict.REEXPORT_REQUESTED, Verdict.ACCEPTED_WITH_WARNINGS)
    page = client.get(reverse("job_intake", args=[job.pk])).content.decode()
    assert "<script>alert(1)" not in page


def test_the_reconciler_measures_files_of_an_analysing_job_that_have_no_row(
    django_capture_on_commit_callbacks,
) -> None:
    job = _clean_job(seconds=1, status=JobStatus.ANALYSING)  # e.g. moved there by hand
    with django_capture_on_commit_callbacks(execute=True):
        counts = analysis_reconcile()
    assert counts["requeued"] == 5
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED and IntakeReport.objects.filter(job=job).count() == 1


def test_a_retry_after_the_write_finishes_the_job(
    monkeypatch, django_capture_on_commit_callbacks
) -> None:
    job = _clean_job(seconds=1)
    with django_capture_on_commit_callbacks(execute=False):
        job_submit(job=job, by=job.created_by)
        ids = intake_start(job=job)
    real_finish = services.intake_finish_if_ready
    calls = {"n": 0}

    def flaky(*, job_id: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == len(ids):  # the last file's finishing step hits a database error
            from django.db import OperationalError

            raise OperationalError("connection lost")
        return real_finish(job_id=job_id)

    monkeypatch.setattr(services, "intake_finish_if_ready", flaky)
    for i in ids[:-1]:
        assert file_measure(analysis_id=i) == "measured"
    from django.db import OperationalError

    with pytest.raises(OperationalError):
        file_measure(analysis_id=ids[-1])  # written, then the finish failed: Celery retries
    job.refresh_from_db()
    assert job.status == JobStatus.ANALYSING
    assert file_measure(analysis_id=ids[-1]) == "skipped"  # the retry
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED and IntakeReport.objects.filter(job=job).count() == 1
