"""A delivered job with a measured master and rough mix, for the review room's tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from jobs.models import AudioFile, FileKind, Job, JobStatus, User
from jobs.services import job_deliver
from tests.jobs.helpers import accepted_job, master_wav, upload_master, work_through
from tests.jobs.review.helpers import measured_file, tone


@dataclass
class Delivered:
    job: Job
    master: AudioFile  # 3 s
    rough: AudioFile  # 3 s


@pytest.fixture
def delivered(client_user: User, engineer: User) -> Delivered:
    job = accepted_job(client_user)
    rough = measured_file(
        job, kind=FileKind.ROUGH_MIX, name="Billie Jean rough.wav", content=tone(3.0, dbfs=-18)
    )
    work_through(job, engineer)
    master = upload_master(job, engineer, content=master_wav(-1.5, seconds=3.0))
    job_deliver(job=job, by=engineer)
    job.refresh_from_db()
    assert job.status == JobStatus.DELIVERED
    return Delivered(job, master, rough)
