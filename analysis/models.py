"""What intake measured: one analysis per uploaded file, and the report of each intake run with
its findings. A stored finding is an `IntakeFinding` (severity: `FindingSeverity`), so the names
never clash with the measuring code's plain `Finding` and `Severity` (analysis/audio/report.py)."""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from jobs.models import AudioFile, Job, Verdict
from jobs.models.labels import ChoiceLabels

# The bulky keys of a report (the waveform and the loudness curve: most of its tens of
# kilobytes), which pages never show: a report's `summary` is the rest.
_BULKY_KEYS = ("waveform", "short_term_lufs")


def report_summary(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """What pages read of a report: all of it but the bulky keys."""
    if report is None:
        return None
    return {k: v for k, v in report.items() if k not in _BULKY_KEYS}


def report_value(found: Any) -> dict[str, Any]:
    """What ReportWithoutBulk read, as a dict (a backend may hand back the JSON text)."""
    if isinstance(found, str):
        found = json.loads(found)
    return found if isinstance(found, dict) else {}


class AnalysisStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Measured"
    FAILED = "failed", "Failed"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"


class FileAnalysis(ChoiceLabels, models.Model):
    """The measurement of one file. A task claims it (pending -> running) with a conditional
    UPDATE, so running twice, or two at once, gives one result."""

    audio_file = models.OneToOneField(AudioFile, on_delete=models.CASCADE, related_name="analysis")
    status = models.CharField(
        max_length=16, choices=AnalysisStatus.choices, default=AnalysisStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)  # analysis.audio.report.Report.to_dict()
    # report_summary(report), kept with it: pages read this, never the whole report (reading the
    # report's keys meant decompressing and rebuilding it for every file of every page).
    summary = models.JSONField(null=True, blank=True, editable=False)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "file analyses"
        indexes = [models.Index(fields=["status", "claimed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AnalysisStatus.values), name="analysis_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(report__isnull=False, finished_at__isnull=False),
                name="analysis_done_has_report",
            ),
            models.CheckConstraint(
                condition=~Q(status="running") | Q(claimed_at__isnull=False),
                name="analysis_running_is_claimed",
            ),
        ]

    def __str__(self) -> str:
        return f"Analysis of {self.audio_file}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.summary = report_summary(self.report)
        fields = kwargs.get("update_fields")
        if fields is not None and "report" in fields:
            kwargs["update_fields"] = {*fields, "summary"}
        super().save(*args, **kwargs)


class IntakeReport(ChoiceLabels, models.Model):
    """One intake run over the job's current files: the verdict and every finding."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="intake_reports")
    created_at = models.DateTimeField(default=timezone.now)
    verdict = models.CharField(max_length=24, choices=Verdict.choices)
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        get_latest_by = "created_at"
        constraints = [
            models.CheckConstraint(
                condition=Q(verdict__in=Verdict.values), name="intake_verdict_valid"
            )
        ]

    def __str__(self) -> str:
        return f"Intake of {self.job}: {self.get_verdict_display()}"


class FindingSeverity(models.TextChoices):
    ERROR = "error", "Error"
    WARNING = "warning", "Warning"
    INFO = "info", "Info"


class IntakeFinding(ChoiceLabels, models.Model):
    """One finding of an intake report, as the job rules made it (analysis.audio.report.Finding)."""

    report = models.ForeignKey(IntakeReport, on_delete=models.CASCADE, related_name="findings")
    audio_file = models.ForeignKey(
        AudioFile, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings"
    )
    code = models.CharField(max_length=40)
    severity = models.CharField(max_length=8, choices=FindingSeverity.choices)
    message = models.TextField()
    file_name = models.CharField(max_length=400, blank=True)
    at_s = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = "finding"
        ordering = ["report", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=FindingSeverity.values), name="finding_severity_valid"
            ),
            models.CheckConstraint(
                condition=Q(at_s__isnull=True) | Q(at_s__gte=0), name="finding_time_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.severity}: {self.code}"
