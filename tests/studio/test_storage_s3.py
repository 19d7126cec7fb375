"""Uploaded audio on S3-compatible storage: generated names, nothing overwritten, bytes intact."""

from __future__ import annotations

import hashlib

import pytest

from tests.factories import make_audio_file, make_job, wav_bytes
from tests.s3 import s3_client, s3_endpoint, s3_storage  # noqa: F401

pytestmark = pytest.mark.django_db


def test_audio_files_are_stored_in_the_bucket_under_generated_names(
    s3_storage: str,  # noqa: F811
    s3_endpoint: str,  # noqa: F811
) -> None:
    job = make_job()
    content = wav_bytes(0.5)
    first = make_audio_file(job, name="../../Lead Vocals - Billie Jean.wav", content=content)
    second = make_audio_file(job, name="../../Lead Vocals - Billie Jean.wav", content=b"x" * 10)

    assert first.file.name.startswith(f"jobs/{job.pk}/")
    assert ".." not in first.file.name and "Vocals" not in first.file.name
    assert first.file.name != second.file.name

    s3 = s3_client(s3_endpoint)
    stored = s3.get_object(Bucket=s3_storage, Key=first.file.name)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == first.sha256
    with first.file.open("rb") as fh:
        assert fh.read() == content


def test_the_bucket_never_overwrites_a_stored_name(s3_storage: str) -> None:  # noqa: F811
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    storage = storages.create_storage(storages.backends["default"])
    first = storage.save("jobs/same/name", ContentFile(b"first"))
    second = storage.save("jobs/same/name", ContentFile(b"second"))
    assert first != second
    with storage.open(first) as fh:
        assert fh.read() == b"first"
