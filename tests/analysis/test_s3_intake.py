"""Intake on S3-compatible storage (moto on loopback): uploads stream to the bucket with their
hash, and the worker measures a temporary local copy of each object."""

from __future__ import annotations

import hashlib
import io

import pytest

from analysis.models import AnalysisStatus, FileAnalysis, IntakeReport
from analysis.services import intake_start, local_path
from jobs.models import FileKind, Verdict
from jobs.services import job_submit
from jobs.uploads import audio_file_add
from tests.factories import make_job, wav_bytes
from tests.s3 import s3_client, s3_endpoint, s3_storage

__all__ = ["s3_endpoint", "s3_storage"]  # fixtures

pytestmark = pytest.mark.django_db


def test_uploads_and_intake_work_on_s3(
    s3_storage: str, s3_endpoint: str, django_capture_on_commit_callbacks
) -> None:
    job = make_job()
    data = {
        "Bass - Billie Jean.wav": wav_bytes(1.0, freq=110),
        "Keys - Billie Jean.wav": wav_bytes(1.0, freq=660),
    }
    added = [
        audio_file_add(
            job=job, content=io.BytesIO(b), name=n, kind=FileKind.STEM, by=job.created_by
        )
        for n, b in data.items()
    ]
    s3 = s3_client(s3_endpoint)
    for audio in added:
        body = s3.get_object(Bucket=s3_storage, Key=audio.file.name)["Body"].read()
        assert body == data[audio.original_name]
        assert audio.sha256 == hashlib.sha256(body).hexdigest()
    with local_path(added[0].file) as path:
        with open(path, "rb") as fh:
            assert fh.read() == data[added[0].original_name]
    with django_capture_on_commit_callbacks(execute=True):
        job_submit(job=job, by=job.created_by)
        intake_start(job=job)
    assert set(FileAnalysis.objects.values_list("status", flat=True)) == {AnalysisStatus.DONE}
    report = IntakeReport.objects.get(job=job)
    assert report.verdict == Verdict.ACCEPTED_WITH_WARNINGS  # no rough mix: a warning
    assert report.findings.filter(code="missing_rough_mix").exists()
