"""Nobody sees what is not theirs. Walks every URL pattern of the project (from the resolver, so
a new view cannot be forgotten) with another client's object ids, as each role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from jobs.models import (
    FileKind,
    LevellingPreview,
    ListeningSession,
    PartialUpload,
    Role,
    Stage,
    User,
)
from jobs.review.models import Comment, GuestLink
from tests.factories import make_audio_file, make_job, make_user

pytestmark = pytest.mark.django_db

SECRET_TITLE = "Zebra Sunrise Confidential"
# URLs outside the walk: Django's own admin (staff only, tested in test_admin) and the login pages.
SKIPPED_PREFIXES = ("admin/", "login/", "logout/")
# Actions only a job's client (or a manager) takes; an engineer who can see the job gets 403.
CLIENT_ACTIONS = {
    "job_upload",
    "job_submit",
    "job_acknowledge",
    "job_cloud_link",
    "tus_create",
    "s3_upload_start",
    "job_revision_comments",
    "guest_link_create",
    "guest_link_revoke",
    "job_preview_answer",
}


def walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        else:
            yield route, entry


@pytest.fixture
def other_clients_objects() -> dict[str, Any]:
    owner = make_user(Role.CLIENT)
    job = make_job(client=owner, track_title=SECRET_TITLE)
    audio = make_audio_file(job, kind=FileKind.STEM, name=f"Bass - {SECRET_TITLE}.wav")
    stage = Stage.objects.create(job=job, kind="listening", position=0)
    listener = make_user(Role.ENGINEER)
    session = ListeningSession.objects.create(engineer=listener, stage=stage)
    upload = PartialUpload.objects.create(
        job=job, uploaded_by=owner, protocol="tus", kind="stem", original_name="x.wav", length=9
    )
    comment = Comment.objects.create(
        job=job, audio_file=audio, revision_round=0, author=owner, start_s=1.0, text=SECRET_TITLE
    )
    preview = LevellingPreview.objects.create(
        job=job,
        audio_file=make_audio_file(job, kind=FileKind.PREVIEW, name=f"{SECRET_TITLE}.wav"),
        note=SECRET_TITLE,
        sent_by=listener,
    )
    link = GuestLink.objects.create(
        job=job, label=SECRET_TITLE, token_hash="0" * 64, token_hint="0000", created_by=owner
    )
    return {
        "upload_id": upload.pk,
        "comment_id": comment.pk,
        "link_id": link.pk,
        "preview_id": preview.pk,
        "job_id": job.pk,
        "file_id": audio.pk,
        "audio_file_id": audio.pk,
        "stage_id": stage.pk,
        "session_id": session.pk,
        "token": owner.calendar_token + "x",  # a wrong token
    }


def urls_with_ids(objects: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for route, pattern in walk(get_resolver().url_patterns):
        params = list(pattern.pattern.converters)
        if not params:
            continue
        unknown = [p for p in params if p not in objects]
        assert not unknown, f"teach the URL walk about {unknown} in {route}"
        assert pattern.name, f"name the URL pattern {route}"
        found.append((pattern.name, reverse(pattern.name, kwargs={p: objects[p] for p in params})))
    assert found, "the walk found no URL with object ids"
    return found


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_outside_client_gets_404_everywhere_and_sees_nothing(
    other_clients_objects: dict[str, Any], method: str
) -> None:
    outsider = make_user(Role.CLIENT)
    client = Client()
    client.force_login(outsider)
    for name, path in urls_with_ids(other_clients_objects):
        response = getattr(client, method)(path)
        assert response.status_code in (404, 405), (name, path, response.status_code)
        assert SECRET_TITLE.encode() not in response.content, (name, path)


@pytest.mark.parametrize("role", [Role.ENGINEER, Role.MANAGER])
def test_studio_roles_never_hit_a_server_error_and_engineers_cannot_act_for_clients(
    other_clients_objects: dict[str, Any], role: str
) -> None:
    user: User = make_user(role)
    client = Client()
    client.force_login(user)
    for name, path in urls_with_ids(other_clients_objects):
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            assert response.status_code < 500, (name, path, method)
            if role == Role.ENGINEER and name in CLIENT_ACTIONS and method == "post":
                assert response.status_code == 403, (name, path)


def test_anonymous_visitors_are_sent_to_log_in_or_get_404(
    other_clients_objects: dict[str, Any],
) -> None:
    client = Client()
    for name, path in urls_with_ids(other_clients_objects):
        response = client.get(path)
        assert response.status_code in (302, 404, 405), (name, path)
        if response.status_code == 302:
            assert response["Location"].startswith("/login/")
        assert SECRET_TITLE.encode() not in response.content


def test_a_post_without_the_csrf_token_is_refused(other_clients_objects: dict[str, Any]) -> None:
    owner_job_id = other_clients_objects["job_id"]
    from jobs.models import Job

    owner = Job.objects.get(pk=owner_job_id).created_by
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    posts = [path for name, path in urls_with_ids(other_clients_objects) if name in CLIENT_ACTIONS]
    assert posts
    for path in posts:
        assert client.post(path).status_code == 403, path


def test_job_ids_are_not_guessable(other_clients_objects: dict[str, Any]) -> None:
    assert isinstance(other_clients_objects["job_id"], uuid.UUID)
    assert isinstance(other_clients_objects["file_id"], uuid.UUID)


# Manager pages without object ids (the walk above covers only URLs with ids).
MANAGER_PAGES = ("policy", "policy_days_off", "compliance", "compliance_csv")


@pytest.mark.parametrize("name", MANAGER_PAGES)
def test_manager_pages_refuse_everyone_else(name: str) -> None:
    path = reverse(name)
    for role in (Role.ENGINEER, Role.CLIENT):
        c = Client()
        c.force_login(make_user(role))
        for method in ("get", "post"):
            assert getattr(c, method)(path).status_code in (403, 405), (name, role, method)
    assert Client().get(path).status_code in (302, 405)
    manager = Client()
    manager.force_login(make_user(Role.MANAGER))
    for method in ("get", "post"):
        assert getattr(manager, method)(path).status_code < 500, (name, method)
