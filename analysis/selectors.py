"""Reads of intake's and the delivery check's results for pages: what was measured, found and
checked, loaded in a fixed number of queries. Views call these; they write nothing."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet

from analysis.delivery import MasterCheck, current_masters, master_checks
from analysis.intake.naming import stem_importance
from analysis.models import IntakeReport, ReportWithoutBulk, report_value
from jobs.access import files_visible_to
from jobs.models import STUDIO_FILE_KINDS, AudioFile, FileKind, Job, User

# --- the job page: intake's files and report, the masters' delivery checks ------------------------

# The measurements the pages show. The whole report (waveform, loudness over time) is tens of
# kilobytes a file, so pages read only these keys of it from the database.
SUMMARY_KEYS = (
    "format",
    "sample_peak_dbfs",
    "true_peak_dbtp",
    "headroom_db",
    "integrated_lufs",
    "loudness_range_lu",
    "max_short_term_lufs",
    "clipping",
)
_KIND_ORDER: dict[str, int] = {FileKind.STEM: 0, FileKind.ROUGH_MIX: 1, FileKind.REFERENCE: 2}


def _summarised(files: QuerySet[AudioFile], report: str) -> QuerySet[AudioFile]:
    return files.defer(report).annotate(summary_report=ReportWithoutBulk(F(report)))


def _summary(row: Any) -> dict[str, Any] | None:
    report = report_value(row.summary_report)
    summary = {key: report.get(key) for key in SUMMARY_KEYS}
    return summary if summary["format"] is not None else None


def intake_files(job: Job) -> list[AudioFile]:
    """The job's current stems, rough mix and references, each with its analysis and the summary
    of its measurement; stems first, the most important by name first."""
    files = _summarised(
        job.files.filter(is_current=True)
        .exclude(kind__in=STUDIO_FILE_KINDS)
        .select_related("analysis"),
        "analysis__report",
    )
    return sorted(
        files, key=lambda f: (_KIND_ORDER.get(f.kind, 9), stem_importance(f.original_name))
    )


def file_measurements(files: list[AudioFile]) -> list[dict[str, Any]]:
    """Each file of `intake_files` with its analysis and its measurement summary (None until it
    is measured)."""
    rows = []
    for f in files:
        analysis = getattr(f, "analysis", None)
        rows.append({"file": f, "analysis": analysis, "report": _summary(f) if analysis else None})
    return rows


def latest_intake_report(job: Job) -> IntakeReport | None:
    """The job's latest intake report with its findings."""
    return job.intake_reports.prefetch_related("findings").order_by("-created_at").first()


def masters_shown(job: Job, user: User) -> list[AudioFile]:
    """The studio sees the round's current masters; a client sees the masters of the latest
    round delivered to them (none before the first delivery)."""
    if user.is_studio:
        return current_masters(job)
    visible = list(
        files_visible_to(user)
        .filter(job=job, kind=FileKind.MASTER)
        .order_by("-revision_round", "original_name")
    )
    return [m for m in visible if m.revision_round == visible[0].revision_round] if visible else []


def delivery_checks(job: Job, user: User) -> list[MasterCheck]:
    """The delivery check of each master the viewer is shown."""
    return master_checks(masters_shown(job, user))
