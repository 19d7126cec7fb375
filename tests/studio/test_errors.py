"""A server error shows a plain page, never Django's technical one, unless DEBUG was asked for;
not found and not allowed are the site's own pages, in words."""

from __future__ import annotations

import uuid

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from jobs.models import Role
from tests.factories import make_user
from tests.studio.test_settings import run_manage


def _explode(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("/srv/headroom/media/secret-path.wav: internal detail")


urlpatterns = [path("explode/", _explode)]


def debug_setting(**env: str) -> str:
    result = run_manage(
        "shell", "-v0", "-c", "from django.conf import settings as s; print(s.DEBUG)", **env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_debug_is_off_unless_asked_for() -> None:
    assert debug_setting() == "False"
    assert debug_setting(DEBUG="true") == "True"


def test_production_refuses_debug() -> None:
    result = run_manage(
        "check",
        HEADROOM_PRODUCTION="true",
        DEBUG="true",
        SECRET_KEY="k" * 60,
        ALLOWED_HOSTS="studio.example.com",
    )
    assert result.returncode == 2
    assert "DEBUG=true cannot be combined with HEADROOM_PRODUCTION=true" in result.stderr


@pytest.mark.urls("tests.studio.test_errors")
def test_a_server_error_is_a_plain_page_naming_nothing_internal() -> None:
    response = Client(raise_request_exception=False).get("/explode/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert "Nothing you sent was lost" in body
    for leak in ("Traceback", "RuntimeError", "/srv/headroom", "secret-path", "SECRET_KEY"):
        assert leak not in body


@pytest.mark.django_db
def test_not_found_and_not_allowed_are_pages_of_the_site_that_say_why() -> None:
    client = make_user(Role.CLIENT)
    c = Client()
    c.force_login(client)

    missing = c.get(f"/jobs/{uuid.uuid4()}/")
    assert missing.status_code == 404
    body = missing.content.decode()
    assert "<h1>Not found</h1>" in body and "<p>No such job.</p>" in body
    assert 'class="main-nav"' in body  # the site's own page, with the client's navigation

    # A URL that matches no page says nothing of the resolver.
    nowhere = c.get("/no-such-page/").content.decode()
    assert "<h1>Not found</h1>" in nowhere and "Resolver404" not in nowhere

    # Someone not logged in is not sent back to jobs they do not have.
    stranger = Client().get("/no-such-page/").content.decode()
    assert "<h1>Not found</h1>" in stranger and "Back to your jobs" not in stranger

    refused = c.get("/desk/")
    assert refused.status_code == 403
    assert "<p>The desk is the studio&#x27;s.</p>" in refused.content.decode()
