"""The studio's people: clients' organisations, users and what each may do, engineers' hours."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import time

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.dose import MAX_SPL_DB, MIN_SPL_DB
from jobs.models.labels import ChoiceLabels
from jobs.models.policy import default_working_weekdays
from jobs.models.stages import Stage, StageKind
from jobs.models.work import Job


class Role(models.TextChoices):
    CLIENT = "client", "Client"
    ENGINEER = "engineer", "Engineer"
    MANAGER = "manager", "Manager"


# Engineers and managers see the studio's work and can be given it; clients see only their own.
STUDIO_ROLES = frozenset({Role.ENGINEER, Role.MANAGER})


def _calendar_token() -> str:
    return secrets.token_urlsafe(24)


class Organisation(models.Model):
    """A client: an artist, producer or label. Client users belong to one."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(ChoiceLabels, AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CLIENT)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    timezone = models.CharField(max_length=64, default="UTC")
    # The secret in this user's calendar-feed URL; rotating it revokes old subscriptions.
    calendar_token = models.CharField(max_length=64, unique=True, default=_calendar_token)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
            models.CheckConstraint(
                condition=~Q(role="client") | Q(organisation__isnull=False),
                name="client_has_organisation",
            ),
        ]

    @property
    def is_client(self) -> bool:
        return self.role == Role.CLIENT

    @property
    def is_engineer(self) -> bool:
        return self.role == Role.ENGINEER

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_studio(self) -> bool:
        return self.role in STUDIO_ROLES

    def is_client_of(self, job: Job) -> bool:
        """A member of the organisation the job belongs to: its client."""
        return (
            self.role == Role.CLIENT
            and self.organisation_id is not None
            and self.organisation_id == job.organisation_id
        )

    # Who may do what. Services refuse with these and pages offer moves with them, so a rule is
    # written once; the services still check the state of the job and stage under the lock.

    @property
    def may_manage(self) -> bool:
        """A manager still at the studio: holds, resumes, cancels, overrides, assigns anyone."""
        return self.is_active and self.is_manager

    @property
    def may_open_jobs(self) -> bool:
        """A client of an organisation opens jobs for its tracks."""
        return self.is_client and self.organisation_id is not None

    def may_hand_in(self, job: Job) -> bool:
        """The job's client (any member of its organisation) or a manager hands files in,
        submits them and acknowledges intake's warnings."""
        return self.may_manage or self.is_client_of(job)

    def may_move(self, stage: Stage) -> bool:
        """The engineer assigned to a stage, or a manager, starts, finishes, skips or reopens it."""
        return self.may_manage or (self.is_engineer and stage.assignee_id == self.pk)

    @property
    def may_be_assigned(self) -> bool:
        """Work goes to the studio's engineers and managers who are still at the studio."""
        return self.is_studio and self.is_active

    def may_take(self, stage: Stage) -> bool:
        """Someone in the studio takes a stage for themself while it is no one else's."""
        return self.is_studio and stage.assignee_id in (None, self.pk)

    def may_deliver(self, job: Job, round_stages: Iterable[Stage] | None = None) -> bool:
        """The engineer on the round's delivery stage, or a manager, uploads and delivers the
        round's masters. `round_stages`: the round's stages, if read already (the job page)."""
        if self.may_manage:
            return True
        if not self.is_engineer:
            return False
        if round_stages is not None:
            return any(
                s.kind == StageKind.DELIVERY and s.assignee_id == self.pk for s in round_stages
            )
        return self.stages.filter(
            job_id=job.pk, revision_round=job.revision_round, kind=StageKind.DELIVERY
        ).exists()

    @property
    def may_send_preview(self) -> bool:
        """An engineer or a manager still at the studio sends a client a levelling preview."""
        return self.is_active and self.is_studio

    def may_review(self, job: Job) -> bool:
        """Approving a delivered master or asking for a revision is the job's client's call."""
        return self.is_client_of(job)


class EngineerProfile(models.Model):
    """An engineer's working hours and, optionally, a stricter ear-break limit than the studio's."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="engineer_profile")
    timezone = models.CharField(max_length=64, default="Europe/London")
    workday_start = models.TimeField(default=time(9, 0))
    workday_end = models.TimeField(default=time(18, 0))
    working_weekdays = models.JSONField(default=default_working_weekdays)
    max_continuous_listening_min = models.PositiveSmallIntegerField(null=True, blank=True)
    daily_listening_cap_min = models.PositiveSmallIntegerField(null=True, blank=True)
    # Monitor calibration (jobs/dose.py): what pink noise at -20 dBFS RMS reads at the listening
    # position, and the level they usually monitor at (the calibration itself when not given).
    calibration_spl_db = models.FloatField(null=True, blank=True)
    monitoring_level_db = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(workday_start__lt=models.F("workday_end")),
                name="engineer_workday_ordered",
            ),
            models.CheckConstraint(
                condition=Q(calibration_spl_db__isnull=True)
                | Q(calibration_spl_db__gte=MIN_SPL_DB, calibration_spl_db__lte=MAX_SPL_DB),
                name="engineer_calibration_plausible",
            ),
            models.CheckConstraint(
                condition=Q(monitoring_level_db__isnull=True)
                | Q(monitoring_level_db__gte=MIN_SPL_DB, monitoring_level_db__lte=MAX_SPL_DB),
                name="engineer_monitoring_level_plausible",
            ),
        ]

    def __str__(self) -> str:
        return f"Hours of {self.user}"

    @property
    def expected_level_db(self) -> float | None:
        """The level a listening session starts at, unless the engineer says otherwise."""
        if self.monitoring_level_db is not None:
            return self.monitoring_level_db
        return self.calibration_spl_db


class EngineerDayOff(models.Model):
    engineer = models.ForeignKey(User, on_delete=models.CASCADE, related_name="days_off")
    date = models.DateField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["engineer", "date"], name="engineer_day_off_once")
        ]

    def __str__(self) -> str:
        return f"{self.engineer} off {self.date}"
