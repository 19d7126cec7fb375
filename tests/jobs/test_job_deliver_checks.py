"""job_deliver checks every current master of the round before it ships: measured, passing the
delivery check (true peak at or below the policy's ceiling), and its stored bytes still hashing to
the SHA-256 recorded when it was stored. Nobody, a manager included, gets past a failed check."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from analysis.models import AnalysisStatus, FileAnalysis
from analysis.services import analysis_reconcile, file_measure, master_add, master_measure_start
from jobs.models import EventKind, JobEvent, JobStatus, StudioPolicy, User
from jobs.services import WrongState, job_deliver
from tests.factories import make_audio_file
from tests.jobs.helpers import accepted_job, master_wav, upload_master, work_through
from tests.s3 import s3_client, s3_endpoint, s3_storage

__all__ = ["s3_endpoint", "s3_storage"]  # fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(client_user: User, engineer: User):
    """A job whose six stages are done by `engineer`: only the masters are missing."""
    job = accepted_job(client_user)
    work_through(job, engineer)
    assert job.status == JobStatus.IN_PROGRESS
    return job


def _status_events(job) -> int:
    return JobEvent.objects.filter(job=job, kind=EventKind.STATUS).count()


def test_a_clean_master_is_delivered_and_named_in_the_history(ready, engineer: User) -> None:
    master = upload_master(ready, engineer, content=master_wav(-1.5))
    job_deliver(job=ready, by=engineer)
    ready.refresh_from_db()
    assert ready.status == JobStatus.DELIVERED
    event = JobEvent.objects.filter(job=ready, to_value=JobStatus.DELIVERED).get()
    assert master.original_name in event.note


@pytest.mark.parametrize("who", ["engineer", "manager"])
def test_a_hot_master_blocks_delivery_with_the_fix_in_the_message(
    ready, engineer: User, manager: User, who: str
) -> None:
    upload_master(ready, engineer, content=master_wav(-0.1), name="Hot master.wav")
    before = _status_events(ready)
    with pytest.raises(WrongState) as refused:
        job_deliver(job=ready, by=engineer if who == "engineer" else manager)
    message = refused.value.message
    assert "Hot master.wav" in message
    assert "true peak -0.1 dBTP" in message
    assert "Set the limiter's ceiling to -1.0 dBTP" in message
    ready.refresh_from_db()
    assert ready.status == JobStatus.IN_PROGRESS
    assert _status_events(ready) == before


def test_every_current_master_must_pass(ready, engineer: User) -> None:
    upload_master(ready, engineer, content=master_wav(-1.5), name="Radio edit.wav")
    upload_master(ready, engineer, content=master_wav(-0.1), name="Album version.wav")
    with pytest.raises(WrongState, match=re.escape("Album version.wav: true peak")):
        job_deliver(job=ready, by=engineer)


def test_a_new_version_that_passes_replaces_a_hot_one(ready, engineer: User) -> None:
    upload_master(ready, engineer, content=master_wav(-0.1))
    fixed = master_add(
        job=ready,
        content=io.BytesIO(master_wav(-1.5)),
        name="Master - Billie Jean.wav",
        by=engineer,
    )
    assert fixed.version == 2
    assert file_measure(analysis_id=fixed.analysis.pk) == "measured"
    job_deliver(job=ready, by=engineer)
    assert ready.status == JobStatus.DELIVERED


def test_the_check_uses_todays_ceiling(ready, engineer: User) -> None:
    upload_master(ready, engineer, content=master_wav(-1.5))
    policy = StudioPolicy.current()
    policy.delivery_true_peak_ceiling_dbtp = -2.0
    policy.save()
    with pytest.raises(WrongState, match=re.escape("Set the limiter's ceiling to -2.0 dBTP")):
        job_deliver(job=ready, by=engineer)


def test_a_master_not_yet_measured_blocks_delivery(ready, engineer: User) -> None:
    master = make_audio_file(
        ready, kind="master", name="Master.wav", content=master_wav(-1.5), uploaded_by=engineer
    )
    with pytest.raises(WrongState, match=re.escape("Master.wav is still being measured")):
        job_deliver(job=ready, by=engineer)
    FileAnalysis.objects.create(audio_file=master)  # queued, not measured yet
    with pytest.raises(WrongState, match="still being measured"):
        job_deliver(job=ready, by=engineer)


def test_a_master_that_could_not_be_measured_blocks_delivery(ready, engineer: User) -> None:
    master = make_audio_file(
        ready, kind="master", name="Master.wav", content=master_wav(-1.5), uploaded_by=engineer
    )
    FileAnalysis.objects.create(
        audio_file=master, status=AnalysisStatus.NEEDS_ATTENTION, error="gave up"
    )
    with pytest.raises(WrongState, match="could not be measured"):
        job_deliver(job=ready, by=engineer)


def test_an_unreadable_master_blocks_delivery_with_its_finding(ready, engineer: User) -> None:
    upload_master(ready, engineer, content=b"<html>not audio</html>" * 20, name="Oops.wav")
    with pytest.raises(WrongState, match=re.escape("Oops.wav cannot be read")):
        job_deliver(job=ready, by=engineer)


@pytest.mark.parametrize("who", ["engineer", "manager"])
def test_a_master_altered_in_storage_is_not_delivered(
    ready, engineer: User, manager: User, who: str, settings
) -> None:
    master = upload_master(ready, engineer, content=master_wav(-1.5))
    stored = Path(settings.MEDIA_ROOT) / master.file.name
    data = bytearray(stored.read_bytes())
    data[-1] ^= 0x01  # one bit of the last sample
    stored.write_bytes(bytes(data))
    with pytest.raises(WrongState, match="changed in storage after it was uploaded"):
        job_deliver(job=ready, by=engineer if who == "engineer" else manager)
    ready.refresh_from_db()
    assert ready.status == JobStatus.IN_PROGRESS


def test_a_master_missing_from_storage_is_not_delivered(ready, engineer: User, settings) -> None:
    master = upload_master(ready, engineer, content=master_wav(-1.5))
    (Path(settings.MEDIA_ROOT) / master.file.name).unlink()
    with pytest.raises(WrongState, match="cannot be read back from storage"):
        job_deliver(job=ready, by=engineer)


def test_the_hash_is_streamed_in_pieces(ready, engineer: User, monkeypatch) -> None:
    from django.core.files.storage import FileSystemStorage

    from analysis import delivery

    master = upload_master(ready, engineer, content=master_wav(-1.5))
    monkeypatch.setattr(delivery, "HASH_CHUNK", 4096)
    reads: list[int] = []
    original_open = FileSystemStorage.open

    class Counting:
        """The open file, with every read's size noted."""

        def __init__(self, raw: Any) -> None:
            self.raw = raw

        def read(self, size: int = -1) -> bytes:
            reads.append(size)
            return bytes(self.raw.read(size))

        def __getattr__(self, name: str) -> Any:
            return getattr(self.raw, name)

    def counting_open(self: FileSystemStorage, name: str, mode: str = "rb") -> Any:
        opened = original_open(self, name, mode)
        opened.file = Counting(opened.file)
        return opened

    monkeypatch.setattr(FileSystemStorage, "open", counting_open)
    assert delivery.stored_sha256(master) == master.sha256
    assert reads and all(size == 4096 for size in reads)
    assert len(reads) > master.size_bytes // 4096


def test_a_stuck_master_analysis_is_requeued_by_the_reconciler(
    ready, engineer: User, settings, django_capture_on_commit_callbacks
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    master = make_audio_file(
        ready, kind="master", name="Master.wav", content=master_wav(-1.5), uploaded_by=engineer
    )
    with django_capture_on_commit_callbacks(execute=False):
        analysis = master_measure_start(master=master)  # the broker loses the task
    FileAnalysis.objects.filter(pk=analysis.pk).update(
        queued_at=timezone.now() - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        counts = analysis_reconcile()
    assert counts["requeued"] == 1
    analysis.refresh_from_db()
    assert analysis.status == AnalysisStatus.DONE
    ready.refresh_from_db()
    assert ready.status == JobStatus.IN_PROGRESS
    job_deliver(job=ready, by=engineer)


def test_on_s3_the_bytes_are_rehashed_from_the_bucket(
    s3_storage: str, s3_endpoint: str, ready, engineer: User
) -> None:
    master = upload_master(ready, engineer, content=master_wav(-1.5))
    s3 = s3_client(s3_endpoint)
    s3.put_object(Bucket=s3_storage, Key=master.file.name, Body=master_wav(-1.6))
    with pytest.raises(WrongState, match="changed in storage"):
        job_deliver(job=ready, by=engineer)
    s3.put_object(Bucket=s3_storage, Key=master.file.name, Body=master_wav(-1.5))
    job_deliver(job=ready, by=engineer)
    assert ready.status == JobStatus.DELIVERED
