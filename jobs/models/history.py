"""The append-only history of each job."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models.labels import ChoiceLabels
from jobs.models.work import Job


class AppendOnlyQuerySet(models.QuerySet["JobEvent"]):
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


class JobEvent(ChoiceLabels, models.Model):
    """The append-only history of a job: who changed what, when, from what, to what. The database
    refuses UPDATE and DELETE on this table too (a trigger; see the migration)."""

    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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
