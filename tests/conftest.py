"""Shared fixtures: uploaded files go to a temporary media folder, never the developer's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _tasks_in_process() -> None:
    """In-process tests run tasks eagerly whatever CELERY_BROKER_URL says; the worker tests
    (tests/worker.py) point the app at Redis themselves and put it back afterwards."""
    from studio.celery import app

    app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: object, tmp_path: Path) -> None:
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media  # type: ignore[attr-defined]
    settings.STORAGES = {  # type: ignore[attr-defined]
        **settings.STORAGES,  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media)},
        },
    }
    # Password hashing is deliberately slow; tests hash hundreds of passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]
    # Per-test caches in memory: never the Redis database the Celery broker uses, and no
    # rendered fragment (jobs.fragments) from another test's studio.
    settings.CACHES = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(tmp_path),
        },
        "fragments": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"{tmp_path}:fragments",
            "TIMEOUT": None,
        },
    }
