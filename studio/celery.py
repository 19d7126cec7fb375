"""The Celery application; its settings live in studio/settings.py under CELERY_*."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("headroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Intake's reconciler: re-queues files stuck in pending/running from the database state.
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "analysis-reconcile": {
        "task": "analysis.reconcile",
        "schedule": float(os.environ.get("ANALYSIS_RECONCILE_EVERY_S", "60")),
    },
}

# The workflow's deadline check: re-plan, then alert managers once per job at risk or overdue.
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "jobs-deadlines-check": {
        "task": "jobs.deadlines_check",
        "schedule": float(os.environ.get("DEADLINES_CHECK_EVERY_S", "300")),
    },
}
