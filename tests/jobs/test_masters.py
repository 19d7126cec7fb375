"""Masters on the job page: the delivery engineer or a manager uploads them, they are measured at
once without moving the job, the delivery region shows them beside the rough mix and references
with the delivery check, and the client downloads, approves or asks for a revision."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from analysis.models import AnalysisStatus, FileAnalysis, IntakeReport
from analysis.services import file_measure
from jobs.models import AudioFile, FileKind, Job, JobStatus, Role, User
from jobs.services import job_deliver
from jobs.uploads import attachment_disposition
from tests.factories import make_audio_file, make_user, wav_bytes
from tests.jobs.helpers import accepted_job, master_wav, upload_master, work_through
from tests.s3 import s3_endpoint, s3_storage

__all__ = ["s3_endpoint", "s3_storage"]  # fixtures

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def ready(client_user: User, engineer: User) -> Job:
    """A job in progress whose six stages are done by `engineer` (the delivery engineer)."""
    job = accepted_job(client_user)
    make_audio_file(job, kind=FileKind.ROUGH_MIX, name="Billie Jean (rough).wav")
    work_through(job, engineer)
    assert job.status == JobStatus.IN_PROGRESS
    return job


@pytest.fixture
def delivered(ready: Job, engineer: User) -> tuple[Job, AudioFile]:
    master = upload_master(ready, engineer, content=master_wav(-1.5))
    job_deliver(job=ready, by=engineer)
    return ready, master


def _upload(c: Client, job: Job, name: str, data: bytes, **extra: Any):
    return c.post(
        reverse("job_master_upload", args=[job.pk]),
        {"files": [SimpleUploadedFile(name, data, "audio/wav")]},
        **extra,
    )


def _download(c: Client, audio: AudioFile):
    return c.get(reverse("file_download", args=[audio.pk]))


# --- uploading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["engineer", "manager"])
def test_the_delivery_engineer_or_a_manager_uploads_a_master_measured_without_moving_the_job(
    ready: Job, engineer: User, manager: User, who: str, django_capture_on_commit_callbacks
) -> None:
    verdict, reports = ready.verdict, IntakeReport.objects.filter(job=ready).count()
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(
            _client(engineer if who == "engineer" else manager),
            ready,
            "Master - Billie Jean.wav",
            master_wav(-1.5),
        )
    assert response.status_code == 302
    master = AudioFile.objects.get(job=ready, kind=FileKind.MASTER)
    assert (master.revision_round, master.version, master.is_current) == (0, 1, True)
    analysis = FileAnalysis.objects.get(audio_file=master)
    assert analysis.status == AnalysisStatus.DONE
    assert analysis.report["true_peak_dbtp"] == pytest.approx(-1.5, abs=0.05)
    assert [f["code"] for f in analysis.report["findings"]] == ["dual_mono"]
    ready.refresh_from_db()
    assert ready.status == JobStatus.IN_PROGRESS
    assert ready.verdict == verdict
    assert IntakeReport.objects.filter(job=ready).count() == reports


def test_a_hot_master_is_stored_with_its_finding_as_a_master(
    ready: Job, engineer: User, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        _upload(_client(engineer), ready, "Master.wav", master_wav(-0.1))
    report = FileAnalysis.objects.get(audio_file__job=ready, audio_file__kind="master").report
    over = [f for f in report["findings"] if f["code"] == "true_peak_over"]
    assert over and over[0]["severity"] == "error"
    assert "Set the limiter's ceiling to -1.0 dBTP" in over[0]["message"]


def test_a_reupload_with_the_same_name_is_a_new_version(
    ready: Job, engineer: User, django_capture_on_commit_callbacks
) -> None:
    c = _client(engineer)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(c, ready, "Master.wav", master_wav(-0.1))
        response = _upload(c, ready, "Master.wav", master_wav(-1.5), **HTMX)
    assert response.status_code == 200
    assert b'id="delivery"' in response.content
    versions = AudioFile.objects.filter(job=ready, kind=FileKind.MASTER).order_by("version")
    assert [(m.version, m.is_current) for m in versions] == [(1, False), (2, True)]
    assert versions[0].lineage == versions[1].lineage
    job_deliver(job=ready, by=engineer)  # the hot v1 no longer counts


def test_a_client_never_uploads_masters(
    ready: Job, client_user: User, django_capture_on_commit_callbacks
) -> None:
    c = _client(client_user)
    assert _upload(c, ready, "Master.wav", master_wav(-1.5)).status_code == 403
    sneaky = c.post(
        reverse("job_upload", args=[ready.pk]),
        {"files": [SimpleUploadedFile("Master.wav", master_wav(-1.5))], "kind": "master"},
    )
    assert sneaky.status_code == 403
    assert not AudioFile.objects.filter(job=ready, kind=FileKind.MASTER).exists()


def test_an_engineer_not_on_the_delivery_stage_gets_403_and_an_outsider_404(
    ready: Job, outsider: User
) -> None:
    other_engineer = make_user(Role.ENGINEER)
    assert _upload(_client(other_engineer), ready, "M.wav", master_wav(-1.5)).status_code == 403
    assert _upload(_client(outsider), ready, "M.wav", master_wav(-1.5)).status_code == 404
    assert not AudioFile.objects.filter(job=ready, kind=FileKind.MASTER).exists()


def test_masters_wait_for_the_work_to_be_in_progress(delivered, engineer: User) -> None:
    job, _ = delivered
    response = _upload(_client(engineer), job, "Late.wav", master_wav(-1.5), **HTMX)
    assert response.status_code == 400
    assert b"Masters can be uploaded while the job is in progress" in response.content
    assert AudioFile.objects.filter(job=job, kind=FileKind.MASTER).count() == 1


# --- the delivery region -----------------------------------------------------------------------


def test_the_page_shows_each_master_beside_the_rough_mix_and_references(
    ready: Job, engineer: User
) -> None:
    rough = AudioFile.objects.get(job=ready, kind=FileKind.ROUGH_MIX)
    file_measure(analysis_id=FileAnalysis.objects.create(audio_file=rough).pk)
    reference = make_audio_file(ready, kind=FileKind.REFERENCE, name="Thriller ref.wav")
    upload_master(ready, engineer, content=master_wav(-1.5, seconds=3.5), name="Clean.wav")
    upload_master(ready, engineer, content=master_wav(-0.1), name="Hot.wav")
    body = _client(engineer).get(reverse("job_detail", args=[ready.pk])).content.decode()
    region = body[
        body.index('id="delivery"') : body.index("</section>", body.index('id="delivery"'))
    ]
    for name in ("Clean.wav", "Hot.wav", "Billie Jean (rough).wav", reference.original_name):
        assert name in region
    clean = FileAnalysis.objects.get(audio_file__original_name="Clean.wav").report
    assert f"{clean['integrated_lufs']:.1f}" in region
    assert f"{clean['true_peak_dbtp']:.1f}" in region
    assert f"{clean['max_short_term_lufs']:.1f}" in region
    assert "Pass" in region
    assert "Set the limiter&#x27;s ceiling to -1.0 dBTP" in region
    # A failing master: Deliver is not offered, and the region says what is missing.
    assert reverse("job_deliver", args=[ready.pk]) not in region
    assert "every master has to pass the delivery check" in region
    assert reverse("job_master_upload", args=[ready.pk]) in region


def test_the_region_polls_while_a_master_is_measured(ready: Job, engineer: User) -> None:
    master = make_audio_file(ready, kind="master", name="M.wav", content=master_wav(-1.5))
    FileAnalysis.objects.create(audio_file=master)
    c = _client(engineer)
    page = c.get(reverse("job_detail", args=[ready.pk])).content.decode()
    assert f'hx-get="{reverse("job_delivery", args=[ready.pk])}"' in page
    region = c.get(reverse("job_delivery", args=[ready.pk]), **HTMX)
    assert region.status_code == 200
    assert "Measuring" in region.content.decode()
    assert "<html" not in region.content.decode()
    plain = c.get(reverse("job_delivery", args=[ready.pk]))
    assert plain.status_code == 302


def test_a_client_sees_no_master_before_delivery(
    ready: Job, client_user: User, engineer: User
) -> None:
    upload_master(ready, engineer, content=master_wav(-1.5), name="Secret master.wav")
    body = _client(client_user).get(reverse("job_detail", args=[ready.pk])).content.decode()
    assert "Secret master.wav" not in body
    assert reverse("job_deliver", args=[ready.pk]) not in body


# --- delivering --------------------------------------------------------------------------------


def test_deliver_refuses_a_hot_master_with_the_fix_and_lets_a_clean_one_through(
    ready: Job, engineer: User, django_capture_on_commit_callbacks
) -> None:
    c = _client(engineer)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(c, ready, "Master.wav", master_wav(-0.1))
    refused = c.post(reverse("job_deliver", args=[ready.pk]))
    assert refused.status_code == 400
    assert "Set the limiter&#x27;s ceiling to -1.0 dBTP" in refused.content.decode()
    ready.refresh_from_db()
    assert ready.status == JobStatus.IN_PROGRESS
    with django_capture_on_commit_callbacks(execute=True):
        _upload(c, ready, "Master.wav", master_wav(-1.5))  # v2, rendered with the right ceiling
    assert c.post(reverse("job_deliver", args=[ready.pk])).status_code == 302
    ready.refresh_from_db()
    assert ready.status == JobStatus.DELIVERED


def test_a_refused_delivery_answers_htmx_with_the_region(ready: Job, engineer: User) -> None:
    response = _client(engineer).post(reverse("job_deliver", args=[ready.pk]), **HTMX)
    assert response.status_code == 400
    assert "Upload the master for this round" in response.content.decode()
    assert "<html" not in response.content.decode()


def test_only_the_studio_delivers(
    ready: Job, engineer: User, client_user: User, outsider: User
) -> None:
    upload_master(ready, engineer, content=master_wav(-1.5))
    assert _client(client_user).post(reverse("job_deliver", args=[ready.pk])).status_code == 403
    assert (
        _client(make_user(Role.ENGINEER)).post(reverse("job_deliver", args=[ready.pk])).status_code
        == 403
    )
    assert _client(outsider).post(reverse("job_deliver", args=[ready.pk])).status_code == 404
    ready.refresh_from_db()
    assert ready.status == JobStatus.IN_PROGRESS


def test_a_tampered_master_is_refused_at_the_button_too(
    ready: Job, manager: User, engineer: User, settings
) -> None:
    master = upload_master(ready, engineer, content=master_wav(-1.5))
    (Path(settings.MEDIA_ROOT) / master.file.name).write_bytes(master_wav(-1.6))
    response = _client(manager).post(reverse("job_deliver", args=[ready.pk]))
    assert response.status_code == 400
    assert "changed in storage" in response.content.decode()


# --- downloading -------------------------------------------------------------------------------


def test_the_client_downloads_the_master_once_delivered(
    ready: Job, engineer: User, client_user: User
) -> None:
    master = upload_master(ready, engineer, content=master_wav(-1.5))
    c = _client(client_user)
    assert _download(c, master).status_code == 404
    job_deliver(job=ready, by=engineer)
    response = _download(c, master)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == master.file.open("rb").read()
    master.file.close()
    assert response["Content-Disposition"].startswith("attachment;")
    assert master.file.name.rsplit("/", 1)[-1] not in response["Content-Disposition"]
    assert 'filename="Master - Billie Jean.wav"' in response["Content-Disposition"]
    page = c.get(reverse("job_detail", args=[ready.pk])).content.decode()
    assert reverse("file_download", args=[master.pk]) in page


def test_outsiders_get_404_for_every_file(delivered, outsider: User) -> None:
    job, master = delivered
    stem = AudioFile.objects.filter(job=job, kind=FileKind.STEM).first()
    assert stem is not None
    c = _client(outsider)
    assert _download(c, master).status_code == 404
    assert _download(c, stem).status_code == 404
    assert Client().get(reverse("file_download", args=[master.pk])).status_code == 302


def test_the_studio_and_the_client_download_what_they_may_see(
    ready: Job, engineer: User, client_user: User
) -> None:
    stem = AudioFile.objects.filter(job=ready, kind=FileKind.STEM).get()
    master = upload_master(ready, engineer, content=master_wav(-1.5))
    assert _download(_client(client_user), stem).status_code == 200
    assert _download(_client(engineer), stem).status_code == 200
    assert _download(_client(engineer), master).status_code == 200


def test_superseded_versions_of_a_delivered_round_stay_studio_only(
    ready: Job, engineer: User, client_user: User
) -> None:
    old = upload_master(ready, engineer, content=master_wav(-0.1))
    AudioFile.objects.filter(pk=old.pk).update(is_current=False)
    new = upload_master(ready, engineer, content=master_wav(-1.5), name="Master v2.wav")
    job_deliver(job=ready, by=engineer)
    c = _client(client_user)
    assert _download(c, new).status_code == 200
    assert _download(c, old).status_code == 404


@pytest.mark.parametrize(
    ("name", "fallback", "exact"),
    [
        ('../../x".wav', 'filename="x_.wav"', "x%22.wav"),
        ("Mix\u202egnp.wav", 'filename="Mixgnp.wav"', "Mixgnp.wav"),
        ("Beyoncé\u200f - Halo.wav", 'filename="Beyonc_ - Halo.wav"', "Beyonc%C3%A9%20-%20Halo"),
        ("..\\..\\evil;x=1.wav", 'filename="evil_x=1.wav"', "evil%3Bx%3D1.wav"),
    ],
)
def test_the_download_name_is_made_safe(
    ready: Job, manager: User, name: str, fallback: str, exact: str
) -> None:
    audio = make_audio_file(ready, kind=FileKind.REFERENCE, name=name)
    header = _download(_client(manager), audio)["Content-Disposition"]
    assert header.startswith("attachment; ")
    assert fallback in header
    assert f"filename*=UTF-8''{exact}" in header
    assert "/" not in unquote(header) and "\\" not in header.replace('\\"', "")
    assert "\u202e" not in header and "\u200f" not in unquote(header)
    assert header == attachment_disposition(name)


def test_a_file_missing_from_storage_is_404_not_500(ready: Job, manager: User, settings) -> None:
    stem = AudioFile.objects.filter(job=ready, kind=FileKind.STEM).get()
    (Path(settings.MEDIA_ROOT) / stem.file.name).unlink()
    assert _download(_client(manager), stem).status_code == 404


def test_downloads_stream_from_s3(s3_storage: str, ready: Job, engineer: User) -> None:
    data = wav_bytes(1.0)
    reference = make_audio_file(ready, kind=FileKind.REFERENCE, name="Ref.wav", content=data)
    response = _download(_client(engineer), reference)
    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == data
    assert 'filename="Ref.wav"' in response["Content-Disposition"]


# --- the client's answer -----------------------------------------------------------------------


def test_the_client_approves_a_delivered_job(delivered, client_user: User) -> None:
    job, _ = delivered
    page = _client(client_user).get(reverse("job_detail", args=[job.pk])).content.decode()
    assert reverse("job_approve", args=[job.pk]) in page
    assert reverse("job_revision", args=[job.pk]) in page
    response = _client(client_user).post(reverse("job_approve", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.APPROVED


def test_the_client_asks_for_a_revision_and_keeps_the_delivered_master(
    delivered, client_user: User, engineer: User
) -> None:
    job, master = delivered
    c = _client(client_user)
    assert c.post(reverse("job_revision", args=[job.pk]), {"note": " "}).status_code == 400
    response = c.post(reverse("job_revision", args=[job.pk]), {"note": "Vocal 1 dB up"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.revision_round) == (JobStatus.REVISION_REQUESTED, 1)
    # Round 1 starts its own masters; the client keeps round 0's and waits for round 1's.
    work_through(job, engineer)
    new = upload_master(job, engineer, content=master_wav(-1.5))
    assert (new.version, new.revision_round) == (1, 1)
    assert _download(c, master).status_code == 200
    assert _download(c, new).status_code == 404
    master.refresh_from_db()
    assert master.is_current


@pytest.mark.parametrize("url_name", ["job_approve", "job_revision"])
def test_only_the_client_answers_a_delivery(
    delivered, url_name: str, engineer: User, manager: User, outsider: User
) -> None:
    job, _ = delivered
    url = reverse(url_name, args=[job.pk])
    assert _client(engineer).post(url, {"note": "x"}).status_code == 403
    assert _client(manager).post(url, {"note": "x"}).status_code == 403
    assert _client(outsider).post(url, {"note": "x"}).status_code == 404
    job.refresh_from_db()
    assert job.status == JobStatus.DELIVERED


def test_answering_before_delivery_is_refused_with_the_reason(
    ready: Job, client_user: User
) -> None:
    response = _client(client_user).post(reverse("job_approve", args=[ready.pk]))
    assert response.status_code == 400
    assert "cannot be approved" in response.content.decode()


def test_the_delivery_posts_need_the_csrf_token(delivered, client_user: User) -> None:
    job, _ = delivered
    c = Client(enforce_csrf_checks=True)
    c.force_login(client_user)
    for name in ("job_master_upload", "job_deliver", "job_approve", "job_revision"):
        assert c.post(reverse(name, args=[job.pk]), {"note": "x"}).status_code == 403, name
    job.refresh_from_db()
    assert job.status == JobStatus.DELIVERED
