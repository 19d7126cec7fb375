"""The writes that cross both apps, as the views call them: hand a job in and start its intake,
add a master and queue its measurement. Each is one transaction: a failure leaves nothing
half-done (no submitted job without intake, no stored master without its measurement)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from celery import current_app

from analysis import services, tasks
from analysis.models import AnalysisStatus, FileAnalysis
from analysis.services import intake_submit, master_add
from jobs import cloud
from jobs import tasks as jobs_tasks
from jobs.models import AudioFile, FileKind, JobStatus, Role, User
from jobs.services import NotAllowed
from jobs.uploads import UploadError
from tests.factories import make_audio_file, make_job, make_user
from tests.jobs.helpers import accepted_job, master_wav, work_through

pytestmark = pytest.mark.django_db


def test_submitting_starts_intake_after_the_commit(django_capture_on_commit_callbacks) -> None:
    job = make_job()
    make_audio_file(job)
    with django_capture_on_commit_callbacks() as queued:
        (analysis_id,) = intake_submit(job=job, by=job.created_by)
    job.refresh_from_db()
    assert job.status == JobStatus.ANALYSING
    assert FileAnalysis.objects.get(pk=analysis_id).status == AnalysisStatus.PENDING
    for callback in queued:  # the commit: the task runs (in process here)
        callback()
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED
    assert FileAnalysis.objects.get(pk=analysis_id).status == AnalysisStatus.DONE


def test_a_refused_submission_queues_nothing(django_capture_on_commit_callbacks) -> None:
    job = make_job()
    make_audio_file(job)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        with pytest.raises(NotAllowed):
            intake_submit(job=job, by=make_user(Role.CLIENT))
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT and not queued and not FileAnalysis.objects.exists()


def test_a_failed_intake_start_leaves_the_job_a_draft(monkeypatch) -> None:
    job = make_job()
    make_audio_file(job)

    def broken(ids: list[int]) -> None:
        raise RuntimeError("broker gone")

    monkeypatch.setattr(services, "_queue_files", broken)
    with pytest.raises(RuntimeError):
        intake_submit(job=job, by=job.created_by)
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT and not FileAnalysis.objects.exists()


@pytest.fixture
def engineer() -> User:
    return make_user(Role.ENGINEER)


@pytest.fixture
def in_progress(engineer: User) -> Any:
    job = accepted_job(make_user(Role.CLIENT))
    work_through(job, engineer)
    return job


def test_a_master_is_stored_and_measured(
    in_progress, engineer: User, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        master = master_add(
            job=in_progress, content=io.BytesIO(master_wav(-1.5)), name="M.wav", by=engineer
        )
    assert master.kind == FileKind.MASTER and master.revision_round == in_progress.revision_round
    assert FileAnalysis.objects.get(audio_file=master).status == AnalysisStatus.DONE


def test_a_master_whose_measurement_cannot_be_queued_is_not_kept(
    in_progress, engineer: User, settings: Any, monkeypatch
) -> None:
    def broken(*, master: AudioFile) -> None:
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "master_measure_start", broken)
    with pytest.raises(RuntimeError):
        master_add(job=in_progress, content=io.BytesIO(master_wav(-1.5)), name="M.wav", by=engineer)
    assert not AudioFile.objects.filter(kind=FileKind.MASTER).exists()
    media = Path(settings.MEDIA_ROOT)
    stored = {p.name for p in media.rglob("*") if p.is_file()}
    assert stored == {Path(f.file.name).name for f in AudioFile.objects.all()}


def test_a_master_is_refused_before_the_work_is_in_progress(engineer: User) -> None:
    job = make_job()
    with pytest.raises(UploadError, match="while the job is in progress"):
        master_add(job=job, content=io.BytesIO(master_wav(-1.5)), name="M.wav", by=engineer)
    assert not AudioFile.objects.exists()


def _body(task: Any) -> Any:
    return getattr(task.run, "__func__", task.run)  # a bound task's run is a method


def test_the_services_queue_the_tasks_registered_under_their_names() -> None:
    assert _body(current_app.tasks[services.MEASURE_TASK]) is _body(tasks.file_measure_task)
    assert _body(current_app.tasks[services.FINISH_TASK]) is _body(tasks.intake_finish)
    fetch = current_app.tasks[cloud.FETCH_TASK]
    assert _body(fetch) is _body(jobs_tasks.cloud_link_fetch_task)


def test_a_file_queued_under_the_old_task_name_is_still_measured() -> None:
    job = make_job(status=JobStatus.ANALYSING)
    analysis = FileAnalysis.objects.create(audio_file=make_audio_file(job))
    assert current_app.tasks[tasks.LEGACY_MEASURE_TASK].apply(args=[analysis.pk]).get() == (
        "measured"
    )
    analysis.refresh_from_db()
    assert analysis.status == AnalysisStatus.DONE


def test_a_link_queued_under_the_old_task_name_still_runs() -> None:
    old = current_app.tasks[jobs_tasks.LEGACY_FETCH_TASK]
    new = current_app.tasks[cloud.FETCH_TASK]
    assert _body(old) is _body(new) and old.max_retries == new.max_retries
