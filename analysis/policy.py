"""The thresholds intake judges by: the studio policy row when a migrated database is reachable,
the documented defaults otherwise (so `analyze` and `check_intake` work on a fresh checkout)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, transaction

from analysis.audio.findings import Thresholds
from analysis.intake.rules import JobThresholds

log = logging.getLogger(__name__)


def _policy_row() -> Any | None:
    from jobs.models import StudioPolicy

    try:
        with transaction.atomic():  # a savepoint: a failed read leaves the caller's work intact
            return StudioPolicy.read()
    except (DatabaseError, ImproperlyConfigured) as exc:
        log.debug("studio policy unavailable, using defaults: %s", exc)
        return None


def thresholds_from_policy(policy: Any | None) -> Thresholds:
    if policy is None:
        return Thresholds()
    return Thresholds(
        allowed_clip_events=policy.allowed_clip_events,
        low_headroom_dbfs=policy.low_headroom_dbfs,
        dc_offset_dbfs=policy.dc_offset_dbfs,
        phase_correlation=policy.phase_inverted_correlation,
        true_peak_ceiling_dbtp=policy.delivery_true_peak_ceiling_dbtp,
    )


def job_thresholds_from_policy(policy: Any | None) -> JobThresholds:
    if policy is None:
        return JobThresholds()
    return JobThresholds(
        stems_offset_tolerance_ms=policy.stems_offset_tolerance_ms,
        rough_mix_min_correlation=policy.rough_mix_min_correlation,
    )


def current_thresholds() -> Thresholds:
    """Per-file thresholds from the studio policy, or the defaults without a database."""
    return thresholds_from_policy(_policy_row())


def current_job_thresholds() -> JobThresholds:
    """Job-level thresholds from the studio policy, or the defaults without a database."""
    return job_thresholds_from_policy(_policy_row())
