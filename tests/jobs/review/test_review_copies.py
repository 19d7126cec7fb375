"""Playback is lossless: files a browser plays go out as they are; AIFF, RF64 and 64-bit float
get a review copy (FLAC at the original depth and rate, or float WAV) made by a task, sample for
sample the original. On S3 the player gets a short-lived signed URL that honours Range."""

from __future__ import annotations

import io
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest
import soundfile as sf
from django.test import Client

from jobs.models import User
from jobs.review.models import CopyStatus, ReviewCopy
from jobs.review.playback import review_copy_format
from tests.factories import make_job
from tests.jobs.review.helpers import measured_file, tone
from tests.s3 import s3_endpoint, s3_storage  # noqa: F401

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _body(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("container", "subtype", "copy"),
    [
        ("WAV", "PCM_24", None),
        ("WAV", "PCM_16", None),
        ("WAV", "FLOAT", None),
        ("FLAC", "PCM_24", None),
        ("AIFF", "PCM_24", ("FLAC", "PCM_24")),
        ("AIFF", "PCM_16", ("FLAC", "PCM_16")),
        ("RF64", "PCM_24", ("FLAC", "PCM_24")),
        ("W64", "PCM_U8", ("FLAC", "PCM_S8")),
        ("AIFF", "PCM_32", ("WAV", "PCM_32")),
        ("AIFF", "FLOAT", ("WAV", "FLOAT")),
        ("WAV", "DOUBLE", ("WAV", "FLOAT")),
    ],
)
def test_which_files_need_a_review_copy(
    container: str, subtype: str, copy: tuple[str, str] | None
) -> None:
    fmt = review_copy_format(container, subtype)
    assert (None if fmt is None else (fmt.container, fmt.subtype)) == copy


def _measured_with_copy(
    client_user: User, content: bytes, name: str, capture: object
) -> ReviewCopy:
    with capture(execute=True):  # type: ignore[operator]
        audio = measured_file(make_job(client=client_user), content=content, name=name)
    return ReviewCopy.objects.get(audio_file=audio)


def test_an_aiff_is_played_from_a_flac_copy_identical_sample_for_sample(
    client_user: User, django_capture_on_commit_callbacks: object
) -> None:
    original = tone(1.5, dbfs=-3.0, rate=96000, fmt="AIFF", subtype="PCM_24")
    copy = _measured_with_copy(
        client_user, original, "Lead Vocals.aif", django_capture_on_commit_callbacks
    )
    assert copy.status == CopyStatus.READY and (copy.container, copy.subtype) == ("FLAC", "PCM_24")
    assert copy.size_bytes < len(original)

    c = _client(client_user)
    response = c.get(f"/files/{copy.audio_file_id}/stream/")
    assert response.status_code == 200 and response["Content-Type"] == "audio/flac"
    flac = _body(response)
    a, rate_a = sf.read(io.BytesIO(original), dtype="int32")
    b, rate_b = sf.read(io.BytesIO(flac), dtype="int32")
    assert sf.info(io.BytesIO(flac)).subtype == "PCM_24" and rate_a == rate_b == 96000
    assert np.array_equal(a, b)  # not normalised, limited, dithered or made lossy
    ranged = c.get(f"/files/{copy.audio_file_id}/stream/", HTTP_RANGE="bytes=0-3")
    assert ranged.status_code == 206 and _body(ranged) == b"fLaC"
    # The original stays what downloads send.
    download = c.get(f"/files/{copy.audio_file_id}/download/")
    assert b"".join(download.streaming_content) == original  # type: ignore[attr-defined]


def test_a_64_bit_float_wav_gets_a_float_wav_copy(
    client_user: User, django_capture_on_commit_callbacks: object
) -> None:
    rate = 48000
    x = 0.5 * np.sin(2 * np.pi * 440.0 * np.arange(rate) / rate)
    buf = io.BytesIO()
    sf.write(buf, np.stack([x, -x], axis=1), rate, subtype="DOUBLE", format="WAV")
    copy = _measured_with_copy(
        client_user, buf.getvalue(), "Pad.wav", django_capture_on_commit_callbacks
    )
    assert (copy.status, copy.container, copy.subtype) == (CopyStatus.READY, "WAV", "FLOAT")
    assert "64-bit" in copy.note
    with copy.file.open("rb") as fh:
        y, _ = sf.read(fh, dtype="float64")
    assert np.max(np.abs(y[:, 0] - x)) < 1e-7


def test_while_the_copy_is_made_the_player_is_asked_to_wait(client_user: User) -> None:
    # No on-commit callbacks run here: the copy stays pending, as while a worker is busy.
    audio = measured_file(
        make_job(client=client_user), content=tone(0.5, fmt="AIFF"), name="Keys.aiff"
    )
    response = _client(client_user).get(f"/files/{audio.pk}/stream/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b"being made" in response.content


def test_a_wav_plays_as_it_is(client_user: User) -> None:
    audio = measured_file(make_job(client=client_user), content=tone(0.5))
    assert not ReviewCopy.objects.filter(audio_file=audio).exists()


def test_on_s3_the_player_gets_a_short_lived_signed_url_that_honours_range(
    s3_storage: str,  # noqa: F811
    client_user: User,
) -> None:
    content = tone(1.0)
    audio = measured_file(make_job(client=client_user), content=content)
    response = _client(client_user).get(f"/files/{audio.pk}/stream/")
    assert response.status_code == 302 and response["Cache-Control"] == "no-store"
    url = response["Location"]
    query = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    if "X-Amz-Expires" in query:  # signature version 4
        assert int(query["X-Amz-Expires"][0]) <= 300 and "X-Amz-Signature" in query
    else:  # version 2: an absolute expiry
        assert 0 < int(query["Expires"][0]) - time.time() <= 310 and "Signature" in query
    request = urllib.request.Request(url, headers={"Range": "bytes=10-19"})
    with urllib.request.urlopen(request, timeout=10) as s3:
        assert s3.status == 206
        assert s3.read() == content[10:20]
        assert s3.headers["Content-Type"] == "audio/wav"
        assert s3.headers["Content-Disposition"].startswith("inline")
