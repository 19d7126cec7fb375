"""The levelling preview: while a job waits on the client over minor clipping, the studio sends a
short sample of how the levelled master would sound, with a note, and the client answers carry on
with these files or re-export them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models.labels import ChoiceLabels
from jobs.models.work import AudioFile, Job


class PreviewAnswer(models.TextChoices):
    CARRY_ON = "carry_on", "Carry on with these files"
    REEXPORT = "reexport", "I'll re-export"


class LevellingPreview(ChoiceLabels, models.Model):
    """One preview sent to the client; the newest one of a job is the one the client answers.
    Its audio is an `AudioFile` of kind preview, measured like any file."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="previews")
    audio_file = models.OneToOneField(
        AudioFile, on_delete=models.CASCADE, related_name="levelling_preview"
    )
    note = models.TextField()
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    answer = models.CharField(max_length=16, choices=PreviewAnswer.choices, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(answer="") | Q(answer__in=PreviewAnswer.values),
                name="preview_answer_valid",
            ),
            models.CheckConstraint(
                condition=(Q(answer="") & Q(answered_at__isnull=True))
                | (~Q(answer="") & Q(answered_at__isnull=False)),
                name="preview_answer_has_time",
            ),
            models.CheckConstraint(condition=Q(note__regex=r"\S"), name="preview_has_note"),
        ]

    def __str__(self) -> str:
        return f"Levelling preview of {self.job} ({self.sent_at:%Y-%m-%d %H:%M})"

    @property
    def is_open(self) -> bool:
        """Sent and not answered yet."""
        return not self.answer
