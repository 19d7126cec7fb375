"""Guest review: a delivery shared through a link with its own rights, an optional password and
expiry; revocable; every use in the job's history; a revoked or expired link says so."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from jobs.models import JobEvent, JobStatus, Role, User
from jobs.review.guests import guest_link_create
from jobs.review.models import Comment, GuestLink
from tests.factories import make_user
from tests.jobs.review.conftest import Delivered

pytestmark = pytest.mark.django_db


def _client(user: User | None = None) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def _share(d: Delivered, by: User, **rights: object) -> str:
    response = _client(by).post(
        f"/jobs/{d.job.pk}/guests/", {"label": "Jo (artist)", **rights}, follow=True
    )
    found = re.search(r"/review/([A-Za-z0-9_-]{40,})/", response.content.decode())
    assert found, response.content.decode()
    return found.group(1)


def _uses(d: Delivered) -> list[str]:
    return list(
        JobEvent.objects.filter(job=d.job, subject="guest link").values_list("to_value", flat=True)
    )


def test_a_listen_only_guest_plays_but_cannot_download_comment_or_approve(
    delivered: Delivered, client_user: User
) -> None:
    token = _share(delivered, client_user)
    link = GuestLink.objects.get()
    assert link.rights == ["listen"] and len(token) >= 43 and link.token_hash != token
    guest = _client()
    page = guest.get(f"/review/{token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Master - Billie Jean.wav" in body and "Billie Jean rough.wav" in body
    assert "data-source" in body and "/download/" not in body and "Approve" not in body
    assert "data-comment-form" not in body

    master = delivered.master
    stream = guest.get(f"/review/{token}/files/{master.pk}/stream/", HTTP_RANGE="bytes=0-99")
    assert stream.status_code == 206
    assert guest.get(f"/review/{token}/files/{master.pk}/peaks/").status_code == 200
    assert guest.get(f"/review/{token}/files/{master.pk}/download/").status_code == 403
    assert guest.post(f"/review/{token}/approve/").status_code == 403
    assert guest.post(f"/review/{token}/comments/", {"file": str(master.pk)}).status_code == 403
    guest.get(f"/review/{token}/")  # a second look in the same session is the same visit
    assert _uses(delivered) == ["shared", "opened"]
    delivered.job.refresh_from_db()
    assert delivered.job.status == JobStatus.DELIVERED


def test_a_guest_with_rights_comments_downloads_and_approves_for_the_client(
    delivered: Delivered, client_user: User
) -> None:
    token = _share(delivered, client_user, can_comment="1", can_download="1", can_approve="1")
    guest = _client()
    body = guest.get(f"/review/{token}/").content.decode()
    assert "data-comment-form" in body and "/download/" in body and "Approve the master" in body
    master = delivered.master
    said = guest.post(
        f"/review/{token}/comments/",
        {
            "file": str(master.pk),
            "start": "0:01.000",
            "end": "0:02.000",
            "text": "Love the low end",
        },
        HTTP_HX_REQUEST="true",
    )
    assert said.status_code == 200 and b"Love the low end" in said.content
    comment = Comment.objects.get()
    assert comment.author is None and comment.guest.label == "Jo (artist)"
    outside = guest.post(
        f"/review/{token}/comments/",
        {"file": str(master.pk), "start": "0:09.000", "text": "x"},
        HTTP_HX_REQUEST="true",
    )
    assert outside.status_code == 400 and b"is outside" in outside.content
    download = guest.get(f"/review/{token}/files/{master.pk}/download/")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert guest.post(f"/review/{token}/approve/").status_code == 302
    delivered.job.refresh_from_db()
    assert delivered.job.status == JobStatus.APPROVED
    assert _uses(delivered) == ["shared", "opened", "commented", "downloaded", "approved"]
    # The client's page shows the guest's comment and the link's uses.
    page = _client(client_user).get(f"/jobs/{delivered.job.pk}/").content.decode()
    assert "Jo (artist) (guest)" in page and "approved" in page


def test_a_password_is_asked_once_and_wrong_ones_are_recorded(
    delivered: Delivered, client_user: User
) -> None:
    _, token = guest_link_create(
        job=delivered.job, by=client_user, label="Sam", password="open sesame"
    )
    guest = _client()
    form = guest.get(f"/review/{token}/")
    assert form.status_code == 200 and b'type="password"' in form.content
    assert guest.get(f"/review/{token}/files/{delivered.master.pk}/stream/").status_code == 403
    wrong = guest.post(f"/review/{token}/", {"password": "nope"})
    assert wrong.status_code == 403 and b"not right" in wrong.content
    assert guest.post(f"/review/{token}/", {"password": "open sesame"}).status_code == 302
    assert guest.get(f"/review/{token}/").status_code == 200
    assert guest.get(f"/review/{token}/files/{delivered.master.pk}/stream/").status_code == 200
    assert _uses(delivered) == ["shared", "wrong password", "opened"]


def test_revoked_expired_and_unknown_links_say_so(
    delivered: Delivered, client_user: User, manager: User
) -> None:
    token = _share(delivered, client_user)
    link = GuestLink.objects.get()
    assert _client(manager).post(f"/guests/{link.pk}/revoke/").status_code == 302
    gone = _client().get(f"/review/{token}/")
    assert gone.status_code == 410 and b"was revoked on" in gone.content
    assert _client().get(f"/review/{token}/files/{delivered.master.pk}/stream/").status_code == 410
    assert "revoked" in _uses(delivered)

    _, later = guest_link_create(
        job=delivered.job,
        by=client_user,
        label="Ola",
        expires_at=timezone.now() + timedelta(days=2),
    )
    assert _client().get(f"/review/{later}/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        expired = _client().get(f"/review/{later}/")
    assert expired.status_code == 410 and b"expired on" in expired.content
    missing = _client().get("/review/" + "x" * 43 + "/")
    assert missing.status_code == 404 and b"no review link at this address" in missing.content


def test_only_the_client_or_a_manager_shares_and_only_the_client_hands_on_approval(
    delivered: Delivered, client_user: User, engineer: User, manager: User
) -> None:
    assert (
        _client(engineer).post(f"/jobs/{delivered.job.pk}/guests/", {"label": "x"}).status_code
        == 403
    )
    refused = _client(manager).post(
        f"/jobs/{delivered.job.pk}/guests/", {"label": "x", "can_approve": "1"}, follow=True
    )
    assert "only the client can hand it on" in refused.content.decode()
    assert not GuestLink.objects.exists()
    _share(delivered, manager)  # listening and commenting, a manager may share
    outsider = make_user(Role.CLIENT)
    link = GuestLink.objects.get()
    assert _client(outsider).post(f"/guests/{link.pk}/revoke/").status_code == 404
    assert (
        _client(outsider).post(f"/jobs/{delivered.job.pk}/guests/", {"label": "x"}).status_code
        == 404
    )
    bad = _client(client_user).post(
        f"/jobs/{delivered.job.pk}/guests/", {"label": "y", "expires_days": "0"}, follow=True
    )
    assert "from 1 to 365" in bad.content.decode()
