"""Celery tasks of the workflow: re-plan after changes, the beat task that warns managers, and
the one that removes abandoned uploads.

Thin on purpose: each calls one function in jobs/planning.py, which is safe to run twice or
twice at once (the plan is recomputed from scratch; alerts are claimed before they are sent).
"""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from jobs.planning import deadline_alerts_send, plan_refresh
from jobs.upload_sweep import partial_uploads_sweep

# Set while a re-plan is queued and not yet started (see jobs.services._replan_soon).
REPLAN_QUEUED = "jobs:replan-queued"
REPLAN_DELAY_S = 5


@shared_task(name="jobs.plan_refresh")
def plan_refresh_task() -> int:
    """Re-plan every engineer's work; returns the number of stages planned."""
    # Cleared before planning, so a move made while this runs queues the next re-plan.
    cache.delete(REPLAN_QUEUED)
    return len(plan_refresh().stage_finish)


@shared_task(name="jobs.deadlines_check")
def deadlines_check() -> int:
    """Re-plan (time has passed, so jobs may now be late), then alert the managers once per job
    that became at risk or overdue. Returns the number of alerts sent."""
    plan_refresh()
    return len(deadline_alerts_send())


@shared_task(name="jobs.partial_uploads_sweep")
def partial_uploads_sweep_task() -> int:
    """Remove uploads abandoned halfway (beat); returns how many were removed."""
    return partial_uploads_sweep()
