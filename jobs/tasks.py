"""Celery tasks of the workflow: re-plan after changes, the beat task that warns managers, and
fetching a cloud share link into a job, and removing abandoned uploads.

Thin on purpose: each calls functions of jobs/plan_store.py, jobs/notifications.py and
jobs/cloud.py that are safe to run twice or twice at once (the plan is recomputed from scratch;
alerts are claimed before they are sent; a fetched file with the name of a current one becomes
its next version).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.core.cache import cache

from jobs.cloud import (
    FETCH_TASK,
    CloudLinkError,
    TransientCloudError,
    cloud_link_fetch,
    cloud_link_record,
)
from jobs.models import Job, User
from jobs.notifications import deadline_alerts_send
from jobs.plan_store import plan_refresh
from jobs.upload_sweep import partial_uploads_sweep

# Set while a re-plan is queued and not yet started (see jobs.services.core.replan_soon).
REPLAN_QUEUED = "jobs:replan-queued"
REPLAN_DELAY_S = 5
# The name the link task had before it moved here: messages queued before then still carry it,
# so it stays registered until no broker can hold such a message.
LEGACY_FETCH_TASK = "intake.cloud_link_fetch"


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


def _cloud_link_fetch(self: Any, job_id: str, url: str, kind: str, user_id: int) -> int:
    """Fetch a share link into the job. A service that does not answer is tried again with
    backoff; whatever finally happens is written on the job's history for the client."""
    job = Job.objects.get(pk=job_id)
    by = User.objects.get(pk=user_id)
    try:
        added = cloud_link_fetch(job=job, url=url, kind=kind, by=by)
    except TransientCloudError as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(countdown=15 * 2**self.request.retries) from None
        cloud_link_record(
            job=job,
            url=url,
            by=by,
            ok=False,
            message=(
                f"{exc} We tried {self.max_retries + 1} times; check that the link opens in "
                "a private browser window, then add it again."
            ),
        )
        return 0
    except CloudLinkError as exc:
        cloud_link_record(job=job, url=url, by=by, ok=False, message=str(exc))
        return 0
    names = ", ".join(f.original_name for f in added)
    cloud_link_record(
        job=job, url=url, by=by, ok=True, message=f"Added {len(added)} file(s): {names}"
    )
    return len(added)


cloud_link_fetch_task = shared_task(bind=True, name=FETCH_TASK, max_retries=3)(_cloud_link_fetch)
shared_task(bind=True, name=LEGACY_FETCH_TASK, max_retries=3)(_cloud_link_fetch)


@shared_task(name="jobs.partial_uploads_sweep")
def partial_uploads_sweep_task() -> int:
    """Remove uploads abandoned halfway (beat); returns how many were removed."""
    return partial_uploads_sweep()
