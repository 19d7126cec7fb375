"""The studio's policy and working time: the one editable policy row and the days the studio is
closed."""

from __future__ import annotations

import zlib
from datetime import time

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from analysis.audio.findings import Thresholds
from jobs.models.labels import ChoiceLabels
from jobs.models.stages import DEFAULT_CHECKLISTS


class ClockMode(models.TextChoices):
    CALENDAR = "calendar", "Calendar time"
    WORKING_DAYS = "working_days", "Working days"


def default_stage_estimates() -> dict[str, dict[str, int]]:
    """Minutes per stage kind: a base plus a time per stem."""
    return {
        "listening": {"base": 30, "per_stem": 0},
        "cleanup": {"base": 15, "per_stem": 10},
        "level_balancing": {"base": 30, "per_stem": 3},
        "eq_enhancement": {"base": 45, "per_stem": 8},
        "glue_final_level": {"base": 45, "per_stem": 0},
        "delivery": {"base": 30, "per_stem": 0},
    }


def default_checklists() -> dict[str, list[str]]:
    """The items an engineer ticks per stage kind, until the studio writes its own."""
    return {kind: list(items) for kind, items in DEFAULT_CHECKLISTS.items()}


def default_working_weekdays() -> list[int]:
    return [0, 1, 2, 3, 4]  # Monday..Friday


class StudioPolicy(ChoiceLabels, models.Model):
    """The studio's one editable policy: promise, calendar, ear breaks, intake thresholds and
    stage estimates. There is exactly one row (pk=1); `StudioPolicy.current()` returns it."""

    # Delivery clock
    promise_days = models.PositiveSmallIntegerField(default=3)
    revision_promise_days = models.PositiveSmallIntegerField(default=2)
    clock_mode = models.CharField(
        max_length=16, choices=ClockMode.choices, default=ClockMode.CALENDAR
    )
    timezone = models.CharField(max_length=64, default="Europe/London")
    workday_start = models.TimeField(default=time(9, 0))
    workday_end = models.TimeField(default=time(18, 0))
    working_weekdays = models.JSONField(default=default_working_weekdays)
    at_risk_margin_hours = models.PositiveSmallIntegerField(default=0)

    # Ear breaks
    max_continuous_listening_min = models.PositiveSmallIntegerField(default=50)
    short_break_min = models.PositiveSmallIntegerField(default=10)
    long_break_min = models.PositiveSmallIntegerField(default=30)
    long_break_every = models.PositiveSmallIntegerField(default=4)
    daily_listening_cap_min = models.PositiveSmallIntegerField(default=360)
    fresh_ears_break_min = models.PositiveSmallIntegerField(default=15)
    # Sound dose (jobs/dose.py), in percent of NIOSH's daily allowance: a break is prompted when
    # one sitting (listening since the last break) or the day reaches its limit.
    session_dose_limit_pct = models.PositiveSmallIntegerField(default=25)
    daily_dose_limit_pct = models.PositiveSmallIntegerField(default=100)

    # Intake thresholds
    # (the per-file defaults are the measuring code's, so the two cannot drift apart)
    allowed_clip_events = models.PositiveSmallIntegerField(default=Thresholds.allowed_clip_events)
    low_headroom_dbfs = models.FloatField(default=Thresholds.low_headroom_dbfs)
    dc_offset_dbfs = models.FloatField(default=Thresholds.dc_offset_dbfs)
    phase_inverted_correlation = models.FloatField(default=Thresholds.phase_correlation)
    delivery_true_peak_ceiling_dbtp = models.FloatField(default=Thresholds.true_peak_ceiling_dbtp)
    stems_offset_tolerance_ms = models.FloatField(default=1.0)
    rough_mix_min_correlation = models.FloatField(default=0.8)
    max_file_bytes = models.BigIntegerField(default=4 * 1024**3)
    max_job_bytes = models.BigIntegerField(default=40 * 1024**3)
    # Across all of one client's jobs (masters aside): opening jobs is free, storage is not.
    max_client_bytes = models.BigIntegerField(default=200 * 1024**3)

    # The longest levelling preview the studio sends a client deciding about minor clipping.
    preview_max_seconds = models.PositiveSmallIntegerField(default=60)

    stage_estimates = models.JSONField(default=default_stage_estimates)
    # The checklist per stage kind: {kind: [item, ...]}; ticks on a stage are keyed by item text.
    checklists = models.JSONField(default=default_checklists)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "studio policy"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="policy_single_row"),
            models.CheckConstraint(
                condition=Q(promise_days__gte=1), name="policy_promise_positive"
            ),
            models.CheckConstraint(
                condition=Q(workday_start__lt=models.F("workday_end")),
                name="policy_workday_ordered",
            ),
            models.CheckConstraint(
                condition=Q(max_continuous_listening_min__gte=5), name="policy_listening_min"
            ),
            models.CheckConstraint(
                condition=Q(long_break_every__gte=1), name="policy_long_break_every_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_file_bytes__gt=0)
                & Q(max_job_bytes__gte=models.F("max_file_bytes")),
                name="policy_size_caps",
            ),
            models.CheckConstraint(
                condition=Q(max_client_bytes__gte=models.F("max_job_bytes")),
                name="policy_client_cap",
            ),
            models.CheckConstraint(
                condition=Q(clock_mode__in=ClockMode.values), name="policy_clock_mode_valid"
            ),
            models.CheckConstraint(
                condition=Q(session_dose_limit_pct__gte=1)
                & Q(session_dose_limit_pct__lte=models.F("daily_dose_limit_pct"))
                & Q(daily_dose_limit_pct__lte=100),
                name="policy_dose_limits",
            ),
            models.CheckConstraint(
                condition=Q(preview_max_seconds__gte=1), name="policy_preview_length_positive"
            ),
        ]

    def __str__(self) -> str:
        return "Studio policy"

    def save(self, *args: object, **kwargs: object) -> None:
        super().save(*args, **kwargs)  # type: ignore[arg-type]
        _forget_policy()

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)  # type: ignore[arg-type]
        _forget_policy()
        return deleted

    @classmethod
    def current(cls) -> StudioPolicy:
        """The policy row, made with its defaults the first time. Read through the cache (see
        `read`); a write that must see the row as committed locks it instead
        (`select_for_update().get(pk=1)`)."""
        policy = cls.read()
        if policy is None:
            policy, _ = cls.objects.get_or_create(pk=1)
            _keep(policy)
        return policy

    @classmethod
    def read(cls) -> StudioPolicy | None:
        """The policy row without making it, or None. Nearly every page reads the policy, and it
        changes a few times a year, so the row is kept in the cache (Redis, shared by every
        process, when there is one): `save` and `delete` drop it once they commit, and it is
        kept at most POLICY_CACHE_S besides (a change made outside the application, in psql)."""
        policy = cache.get(POLICY_CACHE_KEY)
        if isinstance(policy, cls):
            return policy
        policy = cls.objects.filter(pk=1).first()
        if policy is not None:
            _keep(policy)
        return policy

    def estimate_minutes(self, kind: str, stems: int) -> int:
        entry = (self.stage_estimates or {}).get(kind) or default_stage_estimates()[kind]
        return int(entry.get("base", 0)) + int(entry.get("per_stem", 0)) * stems

    def checklist_items(self, kind: str) -> list[str]:
        """The items of a stage kind's checklist (the default list for a kind never set)."""
        stored = (self.checklists or {}).get(kind)
        if not isinstance(stored, list):
            return list(DEFAULT_CHECKLISTS.get(kind, []))
        return [str(item) for item in stored]


# The key names the fields, so a deploy that adds one never reads a row pickled before it.
_FIELDS = " ".join(f.name for f in StudioPolicy._meta.concrete_fields)
POLICY_CACHE_KEY = f"studio-policy:{zlib.crc32(_FIELDS.encode()):08x}"
POLICY_CACHE_S = 60


def _drop_cached_policy() -> None:
    cache.delete(POLICY_CACHE_KEY)


def _forget_policy() -> None:
    """Drop the cached policy now, and again once the change commits: a page that read the old
    row meanwhile (its transaction began before the commit) must not keep it cached."""
    _drop_cached_policy()
    transaction.on_commit(_drop_cached_policy)


def _keep(policy: StudioPolicy) -> None:
    """Cache the row just read, unless this transaction changed it and has not committed: the
    change may yet be rolled back. (Its pending clean-up says so; a rollback discards it.)"""
    pending = transaction.get_connection().run_on_commit
    if not any(func is _drop_cached_policy for _, func, _ in pending):
        cache.set(POLICY_CACHE_KEY, policy, POLICY_CACHE_S)


class StudioDayOff(models.Model):
    """A day the whole studio is closed; the working-days clock skips it."""

    date = models.DateField(unique=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}".strip()


class PolicyChange(models.Model):
    """One changed setting of the studio policy: who changed it, when, and from what to what."""

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    field = models.CharField(max_length=64)
    from_value = models.TextField(blank=True)
    to_value = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.field}: {self.from_value} → {self.to_value}"
