"""The listening sessions' beat task (its own module: the sessions use the stage services, which
queue the re-plan task, so living in jobs.tasks would make an import cycle)."""

from __future__ import annotations

from celery import shared_task

from jobs.sessions import sessions_close_forgotten


@shared_task(name="jobs.sessions_close_forgotten")
def sessions_close_forgotten_task() -> int:
    """Close listening sessions left open, their time capped; returns how many."""
    return sessions_close_forgotten()
