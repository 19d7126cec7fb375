"""The studio's work: people, clients, jobs, files, stages, history, policy and working time."""

from __future__ import annotations

import secrets
import uuid
from datetime import time, timedelta
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone

from analysis.audio.findings import Thresholds


class Role(models.TextChoices):
    CLIENT = "client", "Client"
    ENGINEER = "engineer", "Engineer"
    MANAGER = "manager", "Manager"


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


class User(AbstractUser):
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
        """Engineers and managers see the studio's work; clients see only their own."""
        return self.role in (Role.ENGINEER, Role.MANAGER)

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

    def may_take(self, stage: Stage) -> bool:
        """Someone in the studio takes a stage for themself while it is no one else's."""
        return self.is_studio and stage.assignee_id in (None, self.pk)

    def may_deliver(self, job: Job) -> bool:
        """The engineer on the round's delivery stage, or a manager, uploads and delivers the
        round's masters."""
        if self.may_manage:
            return True
        return (
            self.is_engineer
            and self.stages.filter(
                job_id=job.pk, revision_round=job.revision_round, kind=StageKind.DELIVERY
            ).exists()
        )

    def may_review(self, job: Job) -> bool:
        """Approving a delivered master or asking for a revision is the job's client's call."""
        return self.is_client_of(job)


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


def default_working_weekdays() -> list[int]:
    return [0, 1, 2, 3, 4]  # Monday..Friday


class StudioPolicy(models.Model):
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

    stage_estimates = models.JSONField(default=default_stage_estimates)
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
                condition=Q(clock_mode__in=ClockMode.values), name="policy_clock_mode_valid"
            ),
        ]

    def __str__(self) -> str:
        return "Studio policy"

    @classmethod
    def current(cls) -> StudioPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy

    def estimate_minutes(self, kind: str, stems: int) -> int:
        entry = (self.stage_estimates or {}).get(kind) or default_stage_estimates()[kind]
        return int(entry.get("base", 0)) + int(entry.get("per_stem", 0)) * stems


class StudioDayOff(models.Model):
    """A day the whole studio is closed; the working-days clock skips it."""

    date = models.DateField(unique=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}".strip()


class EngineerProfile(models.Model):
    """An engineer's working hours and, optionally, a stricter ear-break limit than the studio's."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="engineer_profile")
    timezone = models.CharField(max_length=64, default="Europe/London")
    workday_start = models.TimeField(default=time(9, 0))
    workday_end = models.TimeField(default=time(18, 0))
    working_weekdays = models.JSONField(default=default_working_weekdays)
    max_continuous_listening_min = models.PositiveSmallIntegerField(null=True, blank=True)
    daily_listening_cap_min = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(workday_start__lt=models.F("workday_end")),
                name="engineer_workday_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"Hours of {self.user}"


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


class JobStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    ANALYSING = "analysing", "Analysing"
    AWAITING_CLIENT = "awaiting_client", "Waiting on client"
    ACCEPTED = "accepted", "Accepted"
    IN_PROGRESS = "in_progress", "In progress"
    DELIVERED = "delivered", "Delivered"
    REVISION_REQUESTED = "revision_requested", "Revision requested"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    ON_HOLD = "on_hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"


class Verdict(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    ACCEPTED_WITH_WARNINGS = "accepted_with_warnings", "Accepted with warnings"
    REEXPORT_REQUESTED = "reexport_requested", "Re-export requested"
    DECLINED = "declined", "Declined"


class DeadlineStatus(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OVERDUE = "overdue", "Overdue"


# The job's status sets, each written once.
# From acceptance to delivery: the delivery clock runs and the stages can be worked on.
CLOCK_RUNNING = frozenset({JobStatus.ACCEPTED, JobStatus.IN_PROGRESS, JobStatus.REVISION_REQUESTED})
CLOSED = frozenset({JobStatus.APPROVED, JobStatus.DECLINED, JobStatus.CANCELLED})
# Before acceptance: a job may be declined here, and there is no clock yet.
PRE_ACCEPTANCE = frozenset(
    {JobStatus.DRAFT, JobStatus.SUBMITTED, JobStatus.ANALYSING, JobStatus.AWAITING_CLIENT}
)
# Waiting on someone outside the studio's work: a started clock stays stopped.
CLOCK_PAUSED = frozenset({JobStatus.AWAITING_CLIENT, JobStatus.ON_HOLD})
# Intake is measuring the files.
INTAKE_RUNNING = frozenset({JobStatus.SUBMITTED, JobStatus.ANALYSING})


class Job(models.Model):
    """One track to master."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="jobs")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="jobs_created")
    track_title = models.CharField(max_length=200)
    artist = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    reference_notes = models.TextField(
        blank=True, help_text="What to take from the references, in the client's words."
    )
    cloud_link = models.URLField(max_length=1000, blank=True)

    status = models.CharField(max_length=24, choices=JobStatus.choices, default=JobStatus.DRAFT)
    status_before_hold = models.CharField(max_length=24, choices=JobStatus.choices, blank=True)
    verdict = models.CharField(max_length=24, choices=Verdict.choices, blank=True)
    verdict_overridden_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verdict_reason = models.TextField(blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    # The delivery clock. Due = accepted + promise + paused time (see jobs/clock.py).
    accepted_at = models.DateTimeField(null=True, blank=True)
    promise_days = models.PositiveSmallIntegerField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_total = models.DurationField(default=timedelta(0))
    revision_round = models.PositiveSmallIntegerField(default=0)
    deadline_status = models.CharField(
        max_length=16, choices=DeadlineStatus.choices, default=DeadlineStatus.ON_TRACK
    )
    predicted_finish_at = models.DateTimeField(null=True, blank=True)
    at_risk_alerted_at = models.DateTimeField(null=True, blank=True)
    overdue_alerted_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "created_at"]
        indexes = [models.Index(fields=["status", "due_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=JobStatus.values), name="job_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(verdict="") | Q(verdict__in=Verdict.values), name="job_verdict_valid"
            ),
            models.CheckConstraint(
                condition=Q(deadline_status__in=DeadlineStatus.values),
                name="job_deadline_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(due_at__isnull=True) | Q(accepted_at__isnull=False),
                name="job_due_needs_acceptance",
            ),
            models.CheckConstraint(
                condition=Q(due_at__isnull=True) | Q(due_at__gt=models.F("accepted_at")),
                name="job_due_after_acceptance",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=sorted(s.value for s in CLOCK_RUNNING))
                | Q(accepted_at__isnull=False, due_at__isnull=False),
                name="job_running_has_clock",
            ),
            models.CheckConstraint(
                condition=~Q(status="on_hold") | ~Q(status_before_hold=""),
                name="job_hold_remembers_status",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | Q(verdict="declined"),
                name="job_declined_has_verdict",
            ),
            models.CheckConstraint(
                condition=Q(verdict_overridden_by__isnull=True) | ~Q(verdict_reason=""),
                name="job_override_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(track_title__regex=r"\S"), name="job_has_track_title"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.track_title} ({self.artist})" if self.artist else self.track_title

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED

    @property
    def is_workable(self) -> bool:
        """Accepted and not yet delivered: the stages of the current round can be worked on."""
        return self.status in CLOCK_RUNNING

    @property
    def clock_running(self) -> bool:
        return self.status in CLOCK_RUNNING and self.paused_at is None

    def time_left(self, now: Any = None) -> timedelta | None:
        if self.due_at is None:
            return None
        return self.due_at - (now or timezone.now())

    def is_overdue(self, now: Any = None) -> bool:
        left = self.time_left(now)
        return left is not None and left < timedelta(0) and self.status in CLOCK_RUNNING


class FileKind(models.TextChoices):
    STEM = "stem", "Stem"
    ROUGH_MIX = "rough_mix", "Rough mix"
    REFERENCE = "reference", "Reference"
    MASTER = "master", "Master"


def audio_upload_to(instance: AudioFile, filename: str) -> str:
    # The client's file name is data, never a path: the stored name is generated.
    return f"jobs/{instance.job_id}/{uuid.uuid4().hex}"


class AudioFile(models.Model):
    """One uploaded file. A re-upload of the same stem is a new version in the same lineage;
    nothing a client uploaded is overwritten."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=16, choices=FileKind.choices)
    original_name = models.CharField(max_length=400)
    file = models.FileField(upload_to=audio_upload_to, max_length=300)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    lineage = models.UUIDField(default=uuid.uuid4, db_index=True)
    version = models.PositiveSmallIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    revision_round = models.PositiveSmallIntegerField(default=0)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "original_name", "-version"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=FileKind.values), name="file_kind_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="file_version_positive"),
            models.CheckConstraint(condition=Q(size_bytes__gte=0), name="file_size_nonnegative"),
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="file_sha256_hex"
            ),
            models.UniqueConstraint(fields=["lineage", "version"], name="file_version_once"),
            models.UniqueConstraint(
                fields=["lineage"], condition=Q(is_current=True), name="file_one_current_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} v{self.version}"


class StageKind(models.TextChoices):
    LISTENING = "listening", "Listening"
    CLEANUP = "cleanup", "Cleanup"
    LEVEL_BALANCING = "level_balancing", "Level balancing"
    EQ_ENHANCEMENT = "eq_enhancement", "EQ and enhancement"
    GLUE_FINAL_LEVEL = "glue_final_level", "Glue and final level"
    DELIVERY = "delivery", "Delivery"


STAGE_ORDER: list[str] = list(StageKind.values)
# Stages that need fresh ears: they start only after a proper break or at the start of a day.
FRESH_EARS_STAGES = frozenset({StageKind.GLUE_FINAL_LEVEL, StageKind.DELIVERY})

DEFAULT_CHECKLISTS: dict[str, list[str]] = {
    "listening": ["rough mix heard in full", "references heard", "direction noted"],
    "cleanup": ["every stem soloed", "noise and clicks removed"],
    "level_balancing": ["stems gain-staged", "balance matches the rough mix"],
    "eq_enhancement": ["reductive EQ per stem", "saturation and multiband checked"],
    "glue_final_level": ["bus compression set", "final loudness and true peak checked"],
    "delivery": ["compared against reference and rough mix", "masters uploaded"],
}


class StageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


STAGE_OPEN = frozenset({StageStatus.PENDING, StageStatus.IN_PROGRESS})
STAGE_FINISHED = frozenset({StageStatus.DONE, StageStatus.SKIPPED})


class Stage(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="stages")
    kind = models.CharField(max_length=24, choices=StageKind.choices)
    position = models.PositiveSmallIntegerField()  # 0..5, the order of `kind`
    revision_round = models.PositiveSmallIntegerField(default=0)
    assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="stages"
    )
    proposed_assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=StageStatus.choices, default=StageStatus.PENDING
    )
    skip_reason = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    work_seconds = models.PositiveIntegerField(default=0)
    notes = models.TextField(blank=True)
    checklist = models.JSONField(default=list, blank=True)  # [{"item": str, "done": bool}]
    predicted_finish_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "revision_round", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "revision_round", "kind"], name="stage_once_per_round"
            ),
            models.CheckConstraint(condition=Q(kind__in=StageKind.values), name="stage_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=StageStatus.values), name="stage_status_valid"
            ),
            models.CheckConstraint(condition=Q(position__lte=5), name="stage_position_range"),
            models.CheckConstraint(
                condition=~Q(status="skipped") | Q(skip_reason__regex=r"\S"),
                name="stage_skip_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["in_progress", "done"]) | Q(started_at__isnull=False),
                name="stage_started_has_start",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(finished_at__isnull=False),
                name="stage_done_has_finish",
            ),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True)
                | Q(started_at__isnull=True)
                | Q(finished_at__gte=models.F("started_at")),
                name="stage_finish_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.job} · {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in STAGE_OPEN

    @property
    def in_current_round(self) -> bool:
        """Work on an earlier round's stages is over once a revision starts a new round."""
        return self.revision_round == self.job.revision_round


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("the job history is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("the job history is append-only")


class EventKind(models.TextChoices):
    STATUS = "status", "Status"
    STAGE = "stage", "Stage"
    ASSIGNEE = "assignee", "Assignee"
    VERDICT = "verdict", "Verdict"
    DEADLINE = "deadline", "Deadline"
    FILE = "file", "File"
    NOTE = "note", "Note"


class JobEvent(models.Model):
    """The append-only history of a job: who changed what, when, from what, to what. The database
    refuses UPDATE and DELETE on this table too (a trigger; see the migration)."""

    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    subject = models.CharField(max_length=64, blank=True)  # e.g. the stage kind or file name
    from_value = models.CharField(max_length=200, blank=True)
    to_value = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True)

    objects: ClassVar[Any] = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EventKind.values), name="event_kind_valid")
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.from_value} -> {self.to_value}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("the job history is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("the job history is append-only")


class ListeningSession(models.Model):
    """An engineer listening on one stage; its work time is logged on the stage when it stops."""

    engineer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="listening_sessions")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="sessions")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    work_seconds = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["engineer"],
                condition=Q(ended_at__isnull=True),
                name="one_open_session_per_engineer",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="session_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.engineer} on {self.stage}"


class BreakKind(models.TextChoices):
    SHORT = "short", "Short break"
    LONG = "long", "Long break"
    FRESH_EARS = "fresh_ears", "Fresh-ears break"


class BreakOutcome(models.TextChoices):
    PROMPTED = "prompted", "Prompted"
    TAKEN = "taken", "Taken"
    SKIPPED = "skipped", "Skipped"


class EarBreak(models.Model):
    engineer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="ear_breaks")
    session = models.ForeignKey(
        ListeningSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="breaks"
    )
    kind = models.CharField(max_length=16, choices=BreakKind.choices)
    outcome = models.CharField(
        max_length=16, choices=BreakOutcome.choices, default=BreakOutcome.PROMPTED
    )
    prompted_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    planned_minutes = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["-prompted_at"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=BreakKind.values), name="break_kind_valid"),
            models.CheckConstraint(
                condition=~Q(outcome="taken") | Q(started_at__isnull=False),
                name="break_taken_has_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.engineer} {self.kind} {self.outcome}"
