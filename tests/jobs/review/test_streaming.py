"""Audio for the player: HTTP Range (206, 416, the whole file for a range that makes no sense),
the right audio type played inline, and the same access checks as downloads."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs.models import FileKind, JobStatus, User
from jobs.review.streaming import ByteRange, Unsatisfiable, parse_range
from tests.factories import make_audio_file, make_job
from tests.jobs.review.helpers import measured_file, tone

pytestmark = pytest.mark.django_db


def _client(user: User | None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def _body(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=100-", ByteRange(100, 999)),
        ("bytes=-100", ByteRange(900, 999)),
        ("bytes=-5000", ByteRange(0, 999)),
        ("bytes=990-5000", ByteRange(990, 999)),
        ("BYTES = 1 - 2", ByteRange(1, 2)),
        (None, None),
        ("", None),
        ("bytes=abc", None),
        ("bytes=5-2", None),
        ("bytes=-", None),
        ("items=0-10", None),
        ("bytes=0-1,5-9", None),  # several ranges: the whole file
        ("bytes=0-99999999999999999999999999", ByteRange(0, 999)),
    ],
)
def test_parse_range(header: str | None, expected: ByteRange | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_a_range_past_the_end_is_unsatisfiable(header: str) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, 1000)


def test_a_range_request_gets_206_with_exactly_those_bytes(client_user: User) -> None:
    content = tone(1.0)
    audio = measured_file(make_job(client=client_user), content=content)
    c = _client(client_user)
    response = c.get(f"/files/{audio.pk}/stream/", HTTP_RANGE="bytes=100-1099")
    assert response.status_code == 206
    assert _body(response) == content[100:1100]
    assert response["Content-Range"] == f"bytes 100-1099/{len(content)}"
    assert response["Content-Length"] == "1000"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"].startswith('inline; filename="Bass - Billie Jean.wav"')

    tail = c.get(f"/files/{audio.pk}/stream/", HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and _body(tail) == content[-10:]

    whole = c.get(f"/files/{audio.pk}/stream/")
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    assert _body(whole) == content and whole["Content-Length"] == str(len(content))

    head = c.head(f"/files/{audio.pk}/stream/", HTTP_RANGE="bytes=0-9")
    assert head.status_code == 206 and head["Content-Length"] == "10"


def test_past_the_end_is_416_and_a_malformed_range_gets_the_whole_file(
    client_user: User,
) -> None:
    content = tone(0.5)
    audio = measured_file(make_job(client=client_user), content=content)
    c = _client(client_user)
    past = c.get(f"/files/{audio.pk}/stream/", HTTP_RANGE=f"bytes={len(content)}-")
    assert past.status_code == 416
    assert past["Content-Range"] == f"bytes */{len(content)}"
    for header in ("bytes=oops", "bytes=9-3", "bytes=0-1,4-5", "pages=1-2"):
        response = c.get(f"/files/{audio.pk}/stream/", HTTP_RANGE=header)
        assert response.status_code == 200, header
        assert _body(response) == content
    # A stale If-Range (the file's ETag changed) gets the whole file, not a mixed one.
    stale = c.get(f"/files/{audio.pk}/stream/", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"x"')
    assert stale.status_code == 200


def test_streaming_has_the_download_access_checks(
    client_user: User, outsider: User, engineer: User
) -> None:
    audio = measured_file(make_job(client=client_user))
    assert _client(outsider).get(f"/files/{audio.pk}/stream/").status_code == 404
    anonymous = _client(None).get(f"/files/{audio.pk}/stream/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert _client(engineer).get(f"/files/{audio.pk}/stream/").status_code == 200

    job = make_job(client=client_user, status=JobStatus.IN_PROGRESS)
    master = measured_file(job, kind=FileKind.MASTER, name="Master.wav", by=engineer)
    assert _client(client_user).get(f"/files/{master.pk}/stream/").status_code == 404
    assert _client(engineer).get(f"/files/{master.pk}/stream/").status_code == 200


def test_a_file_never_measured_still_streams_by_its_name(client_user: User) -> None:
    audio = make_audio_file(make_job(client=client_user), name="Keys.flac", content=b"fLaC" * 10)
    response = _client(client_user).get(f"/files/{audio.pk}/stream/", HTTP_RANGE="bytes=0-3")
    assert response.status_code == 206 and response["Content-Type"] == "audio/flac"


def test_a_file_lost_from_storage_is_a_404_and_an_error_in_the_log(
    client_user: User, caplog: pytest.LogCaptureFixture
) -> None:
    audio = measured_file(make_job(client=client_user), content=tone(1.0))
    audio.file.storage.delete(audio.file.name)
    c = _client(client_user)
    with caplog.at_level("ERROR", logger="jobs.review.streaming"):
        played = c.get(f"/files/{audio.pk}/stream/", HTTP_RANGE="bytes=0-99")
        downloaded = c.get(f"/files/{audio.pk}/download/")
    assert (played.status_code, downloaded.status_code) == (404, 404)
    assert [r.getMessage() for r in caplog.records] == [
        f"stored file {audio.file.name} is missing from storage"
    ] * 2
    # Asking for no bytes reads nothing, and is answered as before.
    assert c.head(f"/files/{audio.pk}/stream/").status_code == 200
