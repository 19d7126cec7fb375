"""The Django project: settings, URLs, Celery app.

The Celery app (studio.celery) is made when Django sets up, by the apps' ready() (see
studio.startup), not when this package is imported: importing Celery takes a quarter of a second
that a command which queues no task should not pay. `celery_app` is still here, made on first
use, for `celery -A studio` and for code that asks for it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["celery_app"]


def __getattr__(name: str) -> Any:
    if name == "celery_app":
        from studio.celery import app

        return app
    raise AttributeError(f"module 'studio' has no attribute {name!r}")
