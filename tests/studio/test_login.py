"""Login attempts are throttled on every login path: 5 failures for one account (its username as
Django normalises it) from one client address, then a 15-minute cool-off."""

from __future__ import annotations

import logging

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from jobs.models import Role, User
from tests.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
LOCKED = b"Too many failed attempts"
# Spellings Django's login form folds into "ben" (Unicode NFKC): full-width and mathematical bold.
FULL_WIDTH_BEN = "\uff42\uff45\uff4e"
BOLD_BEN = "\U0001d41b\U0001d41e\U0001d427"


def attempt(
    client: Client, username: str, password: str, address: str = "10.0.0.1", **extra: str
) -> str:
    response = client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )
    return outcome(response)


def outcome(response) -> str:
    """ "in" (logged in), "locked" (refused by the throttle: 429 with the reason) or "wrong"."""
    if response.status_code == 302:
        return "in"
    if LOCKED in response.content:
        assert response.status_code == 429
        return "locked"
    assert response.status_code == 200
    return "wrong"


def admin_attempt(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        reverse("admin:login") + "?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def test_it_locks_a_user_out_after_five_failures_then_lets_them_back() -> None:
    user = make_user(Role.ENGINEER)
    client = Client()
    with time_machine.travel("2026-11-24 10:00Z", tick=False) as traveller:
        for _ in range(5):
            assert attempt(client, user.username, "wrong") in ("wrong", "locked")
        assert attempt(client, user.username, PASSWORD) == "locked"
        page = client.post(
            "/login/", {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
        )
        assert b"<h1>Log in</h1>" in page.content  # the login page keeps its look
        # Another address is not locked out by this one's failures.
        assert attempt(Client(), user.username, PASSWORD, address="10.0.0.2") == "in"
        traveller.shift(15 * 60 - 5)
        assert attempt(client, user.username, PASSWORD) == "locked"
        traveller.shift(10)
        assert attempt(client, user.username, PASSWORD) == "in"


def test_a_success_resets_the_count() -> None:
    user = make_user(Role.ENGINEER)
    client = Client()
    for _ in range(4):
        attempt(client, user.username, "wrong")
    assert attempt(client, user.username, PASSWORD) == "in"
    client.logout()
    for _ in range(4):
        attempt(client, user.username, "wrong")
    assert attempt(client, user.username, PASSWORD) == "in"


def test_look_alike_spellings_of_a_username_count_against_that_account() -> None:
    make_user(Role.ENGINEER, username="ben")
    client = Client()
    for spelling in (FULL_WIDTH_BEN, BOLD_BEN, "ben", FULL_WIDTH_BEN, BOLD_BEN):
        attempt(client, spelling, "wrong")
    for spelling in ("ben", FULL_WIDTH_BEN, BOLD_BEN):
        assert attempt(client, spelling, PASSWORD) == "locked", spelling


def test_a_look_alike_success_does_not_clear_the_real_accounts_lock() -> None:
    make_user(Role.ENGINEER, username="ben")
    client = Client()
    for _ in range(5):
        attempt(client, "ben", "wrong")
    assert attempt(client, BOLD_BEN, PASSWORD) == "locked"
    assert attempt(client, "ben", PASSWORD) == "locked"


def test_the_admin_login_is_throttled_too_and_shares_the_count() -> None:
    manager = make_user(Role.MANAGER, is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(3):
        attempt(client, manager.username, "wrong")
    for _ in range(2):
        admin_attempt(client, manager.username, "wrong")
    assert outcome(admin_attempt(client, manager.username, PASSWORD)) == "locked"
    assert "_auth_user_id" not in client.session
    assert attempt(client, manager.username, PASSWORD) == "locked"


def test_a_typo_run_locks_only_that_account_from_that_address() -> None:
    ben = make_user(Role.ENGINEER, username="ben")
    ada = make_user(Role.ENGINEER, username="ada")
    for _ in range(5):
        attempt(Client(), ben.username, "wrong", address="10.0.0.1")
    assert attempt(Client(), ada.username, PASSWORD, address="10.0.0.1") == "in"
    assert attempt(Client(), ben.username, PASSWORD, address="10.0.0.2") == "in"


def test_behind_a_trusted_proxy_each_client_keeps_its_own_address(settings) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    ben = make_user(Role.ENGINEER, username="ben")
    proxy = "127.0.0.1"
    # An attacker behind the studio's nginx: nginx appends the address it saw to the header.
    for _ in range(5):
        attempt(Client(), ben.username, "wrong", address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert (
        attempt(Client(), ben.username, PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")
        == "locked"
    )
    # Ben himself, elsewhere, behind the same nginx: not locked by the attacker.
    assert (
        attempt(
            Client(), ben.username, PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="198.51.100.7"
        )
        == "in"
    )
    # A header the attacker writes is not believed: nginx appends the real address after it.
    spoofed = "198.51.100.7, 203.0.113.9"
    assert (
        attempt(Client(), ben.username, PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR=spoofed)
        == "locked"
    )


def test_without_a_trusted_proxy_the_header_is_ignored(settings) -> None:
    settings.TRUSTED_PROXIES = []
    ben = make_user(Role.ENGINEER, username="ben")
    for i in range(5):
        attempt(Client(), ben.username, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    assert (
        attempt(Client(), ben.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7") == "locked"
    )


def test_a_lock_out_is_logged_and_a_manager_can_lift_it(caplog) -> None:
    ben = make_user(Role.ENGINEER, username="ben")
    manager = make_user(Role.MANAGER, is_staff=True, is_superuser=True)
    with caplog.at_level(logging.WARNING, logger="studio.throttle"):
        for _ in range(5):
            attempt(Client(), ben.username, "wrong")
    lines = [r.getMessage() for r in caplog.records if r.name == "studio.throttle"]
    assert any("ben" in line and "10.0.0.1" in line and "locked" in line for line in lines)
    assert attempt(Client(), ben.username, PASSWORD) == "locked"

    staff = Client()
    staff.force_login(manager)
    url = reverse("admin:jobs_user_changelist")
    response = staff.post(url, {"action": "unlock_logins", "_selected_action": [str(ben.pk)]})
    assert response.status_code == 302
    assert attempt(Client(), ben.username, PASSWORD) == "in"


def test_the_login_form_keeps_csrf_protection() -> None:
    user = make_user(Role.ENGINEER)
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 403


def test_unknown_usernames_are_throttled_as_well() -> None:
    client = Client()
    for _ in range(5):
        attempt(client, "nobody", "wrong")
    assert attempt(client, "nobody", "wrong") == "locked"
    assert not User.objects.filter(username="nobody").exists()
