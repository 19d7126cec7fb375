"""Celery tasks for intake: thin, idempotent, by id. The services claim and write; these only
retry transient failures (database, storage) with backoff. A bad file is never retried: it comes
back from the measuring code as a report with findings."""

from __future__ import annotations

import multiprocessing
from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.db import InterfaceError, OperationalError

from analysis import services

try:  # S3 storage errors, when django-storages' boto3 is installed
    from botocore.exceptions import BotoCoreError, ClientError

    _STORAGE_ERRORS: tuple[type[BaseException], ...] = (BotoCoreError, ClientError)
except ImportError:  # pragma: no cover
    _STORAGE_ERRORS = ()

TRANSIENT: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    OSError,
    *_STORAGE_ERRORS,
)
_RETRY: dict[str, Any] = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 5,
}


@worker_process_init.connect
def _allow_measuring_child(**_: Any) -> None:
    """Prefork pool processes are marked daemonic, and a daemonic process may not start
    children; but each file is measured in its own short-lived child (analysis.audio.isolate),
    which the task joins or kills itself. Lift the flag in pool processes only."""
    multiprocessing.current_process()._config["daemon"] = False  # type: ignore[attr-defined]


def _file_measure(analysis_id: int) -> str:
    try:
        return services.file_measure(analysis_id=analysis_id)
    except SoftTimeLimitExceeded:
        # Released by the service; the reconciler retries it or gives up visibly.
        return "timed out"


file_measure_task = shared_task(name=services.MEASURE_TASK, **_RETRY)(_file_measure)
# The name the task had before "measure" became the one verb: messages queued before then still
# carry it, so it stays registered until no broker can hold such a message.
LEGACY_MEASURE_TASK = "analysis.analyse_file"
shared_task(name=LEGACY_MEASURE_TASK, **_RETRY)(_file_measure)


@shared_task(name=services.FINISH_TASK, **_RETRY)
def intake_finish(job_id: str) -> str | None:
    report = services.intake_finish(job_id=job_id)
    return report.verdict if report is not None else None


@shared_task(name="analysis.reconcile", **_RETRY)
def reconcile() -> dict[str, int]:
    return services.analysis_reconcile()
