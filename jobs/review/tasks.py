"""The review room's task: make a lossless review copy, by id (thin; the service claims)."""

from __future__ import annotations

from celery import shared_task

from jobs.review.copies import review_copy_make


@shared_task(name="review.copy_make", acks_late=True)
def review_copy_make_task(copy_id: int) -> str:
    return review_copy_make(copy_id=copy_id)
