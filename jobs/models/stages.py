"""A job's six stages per round, and the listening sessions and ear breaks of the engineers who
work on them."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models.labels import ChoiceLabels
from jobs.models.work import Job


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


class Stage(ChoiceLabels, models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="stages")
    kind = models.CharField(max_length=24, choices=StageKind.choices)
    position = models.PositiveSmallIntegerField()  # 0..5, the order of `kind`
    revision_round = models.PositiveSmallIntegerField(default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stages",
    )
    proposed_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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


class ListeningSession(models.Model):
    """An engineer listening on one stage; its work time is logged on the stage when it stops."""

    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="listening_sessions"
    )
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="sessions")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    work_seconds = models.PositiveIntegerField(default=0)
    # Closed by the beat task after being left open: its time was capped, and the engineer is told.
    capped = models.BooleanField(default=False)
    # The monitoring level (dB SPL) and when it was set: [[iso datetime, level], ...], the first
    # at the start; empty when the engineer gave none (no dose is counted then).
    levels = models.JSONField(default=list, blank=True)
    # The sound dose of the session (percent of the daily allowance), written when it stops.
    dose_percent = models.FloatField(default=0.0)

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

    @property
    def level_db(self) -> float | None:
        """The level monitored at now (the last one set)."""
        return float(self.levels[-1][1]) if self.levels else None

    def level_changes(self) -> list[tuple[datetime, float]]:
        return [(datetime.fromisoformat(at), float(db)) for at, db in self.levels]


class BreakKind(models.TextChoices):
    SHORT = "short", "Short break"
    LONG = "long", "Long break"
    FRESH_EARS = "fresh_ears", "Fresh-ears break"


class BreakOutcome(models.TextChoices):
    PROMPTED = "prompted", "Prompted"
    TAKEN = "taken", "Taken"
    SKIPPED = "skipped", "Skipped"


class BreakCause(models.TextChoices):
    MINUTES = "minutes", "Listening time"
    SESSION_DOSE = "session_dose", "Sound dose since the last break"
    DAY_DOSE = "day_dose", "Sound dose today"


class EarBreak(ChoiceLabels, models.Model):
    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ear_breaks"
    )
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
    skip_reason = models.TextField(blank=True)
    # What asked for the break: the minutes listened, or the sound dose reaching a limit.
    cause = models.CharField(max_length=16, choices=BreakCause.choices, default=BreakCause.MINUTES)

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


class RecallNote(models.Model):
    """One entry of a stage's recall sheet: notes are added, never overwritten, so the settings
    of every pass stay readable after the stage ends (and after a reopen)."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="recall_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    text = models.TextField()

    class Meta:
        ordering = ["stage", "at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(text__regex=r"\S"), name="recall_note_not_blank")
        ]

    def __str__(self) -> str:
        return f"Recall note on {self.stage}"
