"""Login attempts are throttled: 5 failures per user and address, then a 15-minute cool-off."""

from __future__ import annotations

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from jobs.models import Role
from tests.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


def attempt(client: Client, username: str, password: str, address: str = "10.0.0.1") -> int:
    response = client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )
    return response.status_code  # 302 on success, 200 with errors otherwise


def test_it_locks_a_user_out_after_five_failures_then_lets_them_back() -> None:
    user = make_user(Role.ENGINEER)
    client = Client()
    with time_machine.travel("2026-11-24 10:00Z", tick=False) as traveller:
        for _ in range(5):
            assert attempt(client, user.username, "wrong") == 200
        response = client.post(
            "/login/", {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
        )
        assert response.status_code == 200
        assert b"Too many failed attempts" in response.content
        # Another address is not locked out by this one's failures.
        assert attempt(Client(), user.username, PASSWORD, address="10.0.0.2") == 302
        traveller.shift(15 * 60 + 1)  # the test cache's expiry follows the travelled clock
        assert attempt(client, user.username, PASSWORD) == 302


def test_a_success_resets_the_count() -> None:
    user = make_user(Role.ENGINEER)
    client = Client()
    for _ in range(4):
        attempt(client, user.username, "wrong")
    assert attempt(client, user.username, PASSWORD) == 302
    client.logout()
    for _ in range(4):
        attempt(client, user.username, "wrong")
    assert attempt(client, user.username, PASSWORD) == 302


def test_the_login_form_keeps_csrf_protection() -> None:
    user = make_user(Role.ENGINEER)
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 403
