"""A server error shows a plain page, never Django's technical one, unless DEBUG was asked for."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

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
