"""Fixtures for the workflow tests: a frozen clock on a known Monday and the studio's people."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine

from jobs.models import Role, User
from tests.browser import chromium  # noqa: F401 (the browser tests' Chromium of their own)
from tests.factories import make_user

# Monday 2026-03-02 10:00 UTC (10:00 in London too: no summer time yet).
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: object) -> None:
    # The factories set real passwords; the default hasher would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _no_replan_pending() -> Iterator[None]:
    # The "re-plan queued" mark lives in the cache, which outlives a test; start each one clean.
    from django.core.cache import cache

    from jobs.tasks import REPLAN_QUEUED

    cache.delete(REPLAN_QUEUED)
    yield
    cache.delete(REPLAN_QUEUED)


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture
def manager(db: None) -> User:
    return make_user(Role.MANAGER)


@pytest.fixture
def engineer(db: None) -> User:
    return make_user(Role.ENGINEER)


@pytest.fixture
def client_user(db: None) -> User:
    return make_user(Role.CLIENT)


@pytest.fixture
def outsider(db: None) -> User:
    return make_user(Role.CLIENT)
