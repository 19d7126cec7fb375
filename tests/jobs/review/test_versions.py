"""Every version of every file is listed, with who, when, size, SHA-256 and what it measured;
a re-upload adds a version and overwrites nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from jobs.models import AudioFile, JobStatus, User
from jobs.review.room import file_versions
from tests.factories import make_job
from tests.jobs.review.helpers import tone

pytestmark = pytest.mark.django_db


def test_a_reupload_is_a_second_version_and_both_are_listed(client_user: User) -> None:
    job = make_job(client=client_user, status=JobStatus.DRAFT)
    c = Client()
    c.force_login(client_user)
    first, second = tone(1.0, dbfs=-12), tone(1.0, dbfs=-6)
    for content in (first, second):
        response = c.post(
            f"/jobs/{job.pk}/files/",
            {"files": [SimpleUploadedFile("Bass - Billie Jean.wav", content)], "kind": "stem"},
        )
        assert response.status_code == 302
    v1, v2 = AudioFile.objects.filter(job=job).order_by("version")
    assert (v1.version, v1.is_current, v2.version, v2.is_current) == (1, False, 2, True)
    with v1.file.open("rb") as fh:
        assert fh.read() == first  # the first upload is untouched

    [line] = file_versions(job, client_user)
    assert [v.file.version for v in line.versions] == [2, 1]
    body = c.get(f"/jobs/{job.pk}/").content.decode()
    section = body.split('id="versions"')[1].split("</details>")[0]
    assert "Every version of every file (2)" in body
    assert v1.sha256[:12] in section and v2.sha256[:12] in section
    assert section.count("<tr") == 3  # the header and both versions
    assert client_user.username in section or client_user.get_full_name() in section
