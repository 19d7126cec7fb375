"""Peaks reach the page: stored by the measuring pipeline, served behind the download access
checks, and drawn as SVG in the intake report with the clipping events marked."""

from __future__ import annotations

import pytest
from django.test import Client

from analysis.audio.peaks import Peaks
from jobs.models import FileKind, JobStatus, Role, User
from jobs.review.models import FilePeaks
from tests.factories import make_job, make_user
from tests.jobs.review.helpers import measured_file, tone

pytestmark = pytest.mark.django_db


def _client(user: User | None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def test_measuring_a_file_keeps_its_peaks_and_the_owner_gets_them(client_user: User) -> None:
    job = make_job(client=client_user)
    audio = measured_file(job, content=tone(3.0, dbfs=-6.0))
    row = FilePeaks.objects.get(audio_file=audio)
    assert len(row.overview["max"]) == 150 and len(row.overview["short_term_lufs"]) >= 1

    response = _client(client_user).get(f"/files/{audio.pk}/peaks/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert "private" in response["Cache-Control"]
    peaks = Peaks.from_bytes(response.content)
    assert (peaks.buckets, peaks.channels, peaks.buckets_per_second) == (150, 2, 50.0)
    assert int(peaks.max.max()) == 64  # -6 dBFS = 0.501 of full scale, rounded up in 1/127

    as_json = _client(client_user).get(f"/files/{audio.pk}/peaks/?format=json").json()
    assert as_json["samples_per_bucket"] == 960 and len(as_json["max"][0]) == 150


def test_another_client_and_anonymous_visitors_get_no_peaks(
    client_user: User, outsider: User
) -> None:
    audio = measured_file(make_job(client=client_user))
    assert _client(outsider).get(f"/files/{audio.pk}/peaks/").status_code == 404
    anonymous = _client(None).get(f"/files/{audio.pk}/peaks/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_a_master_not_yet_delivered_has_no_peaks_for_the_client(
    client_user: User, engineer: User
) -> None:
    job = make_job(client=client_user, status=JobStatus.IN_PROGRESS)
    master = measured_file(job, kind=FileKind.MASTER, name="Master.wav", by=engineer)
    assert _client(client_user).get(f"/files/{master.pk}/peaks/").status_code == 404
    assert _client(engineer).get(f"/files/{master.pk}/peaks/").status_code == 200


def test_a_file_measured_before_peaks_were_kept_draws_from_its_overview(
    client_user: User,
) -> None:
    audio = measured_file(make_job(client=client_user), content=tone(2.0))
    FilePeaks.objects.filter(audio_file=audio).delete()
    response = _client(client_user).get(f"/files/{audio.pk}/peaks/")
    assert response.status_code == 200
    peaks = Peaks.from_bytes(response.content)
    assert peaks.buckets == 1000 and peaks.duration_s == pytest.approx(2.0)


def test_an_unmeasured_file_has_no_peaks_yet(client_user: User) -> None:
    from tests.factories import make_audio_file

    audio = make_audio_file(make_job(client=client_user))
    response = _client(client_user).get(f"/files/{audio.pk}/peaks/")
    assert response.status_code == 404


def test_the_intake_report_draws_each_waveform_with_its_clipping_marked(
    client_user: User,
) -> None:
    job = make_job(client=client_user, status=JobStatus.AWAITING_CLIENT)
    measured_file(job, name="Bass - Billie Jean.wav", content=tone(4.0, clip_at=(1.0, 3.0)))
    measured_file(job, name="Keys - Billie Jean.wav", content=tone(4.0))
    body = _client(client_user).get(f"/jobs/{job.pk}/intake/").content.decode()
    assert body.count('<svg class="waveform"') == 2
    assert "Clipping at 0:01.000" in body and "Clipping at 0:03.000" in body
    assert body.count('class="mark mark-clip"') == 2
    assert "<script" not in body.split("<main")[1]  # drawn on the server, no script needed
    other = make_user(Role.CLIENT)
    assert _client(other).get(f"/jobs/{job.pk}/intake/").status_code == 404


def test_the_peaks_and_the_player_read_the_file_once(client_user: User) -> None:
    """The access check and what the endpoint serves are one read (after the login's two)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    job = make_job(client=client_user)
    audio = measured_file(job, content=tone(1.0, dbfs=-6.0))
    client = _client(client_user)
    for path, extra in ((f"/files/{audio.pk}/peaks/", {}), (f"/files/{audio.pk}/stream/", {})):
        client.get(path, **extra)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path, HTTP_RANGE="bytes=0-99")
            assert response.status_code in (200, 206), path
            if response.streaming:
                b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert len(ctx.captured_queries) == 3, (path, [q["sql"] for q in ctx.captured_queries])
    FilePeaks.objects.filter(audio_file=audio).delete()  # measured before peaks were kept
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(f"/files/{audio.pk}/peaks/").status_code == 200
    assert len(ctx.captured_queries) == 3
