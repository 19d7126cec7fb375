"""Helpers that walk a job through the workflow with the real services."""

from __future__ import annotations

from jobs.models import FileKind, Job, Stage, StageStatus, User, Verdict
from jobs.services import (
    job_record_verdict,
    job_start_analysis,
    job_submit,
    stage_assign,
    stage_finish,
    stage_start,
)
from tests.factories import make_audio_file, make_job


def accepted_job(client: User, **kw: object) -> Job:
    job = make_job(client=client, **kw)
    make_audio_file(job)
    job_submit(job=job, by=client)
    job_start_analysis(job=job)
    job_record_verdict(job=job, verdict=Verdict.ACCEPTED)
    return job


def stages_of(job: Job) -> list[Stage]:
    return list(
        Stage.objects.filter(job=job, revision_round=job.revision_round).order_by("position")
    )


def work_through(job: Job, engineer: User, *, upto: int = 6) -> list[Stage]:
    """Assign, start and finish the first `upto` stages of the current round."""
    stages = stages_of(job)
    for stage in stages[:upto]:
        if stage.status in (StageStatus.DONE, StageStatus.SKIPPED):
            continue
        stage_assign(stage=stage, by=engineer, engineer=engineer)
        stage_start(stage=stage, by=engineer)
        stage_finish(stage=stage, by=engineer)
    job.refresh_from_db()
    return stages


def upload_master(job: Job, by: User) -> None:
    make_audio_file(
        job,
        kind=FileKind.MASTER,
        name="Master - Billie Jean.wav",
        uploaded_by=by,
        revision_round=job.revision_round,
    )
