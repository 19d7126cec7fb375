"""The review room's rows: each file's waveform peaks (beside its measurement, never inside the
report's JSON)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from jobs.models import AudioFile


class FilePeaks(models.Model):
    """Waveform peaks of one file version, from its measuring pass: `data` is
    analysis.audio.peaks.Peaks.to_bytes() (tens of KB, read only by the peaks endpoint);
    `overview` a few hundred columns and the loudness over time, for the pages' small SVG."""

    audio_file = models.OneToOneField(AudioFile, on_delete=models.CASCADE, related_name="peaks")
    data = models.BinaryField()
    overview = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "file peaks"

    def __str__(self) -> str:
        return f"Peaks of {self.audio_file}"
