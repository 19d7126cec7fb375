"""Reads of intake's and the delivery check's results for pages: what was measured, found and
checked, loaded in a fixed number of queries. Views call these; they write nothing."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet

from analysis.delivery import MasterCheck, master_checks
from analysis.intake.naming import stem_importance
from analysis.models import (
    FileAnalysis,
    IntakeFinding,
    IntakeReport,
    report_value,
)
from jobs.compiled import columns, instance_from, related_from, rows_compiled_once
from jobs.models import STUDIO_FILE_KINDS, AudioFile, FileKind, Job, User
from jobs.review.selectors import peaks_stamp

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


def _summary(row: Any) -> dict[str, Any] | None:
    report = report_value(row.summary_report)
    summary = {key: report.get(key) for key in SUMMARY_KEYS}
    return summary if summary["format"] is not None else None


def _intake_rows(job_id: Any) -> QuerySet[Any]:
    rows: QuerySet[Any] = (
        AudioFile.objects.filter(job_id=job_id, is_current=True)
        .exclude(kind__in=STUDIO_FILE_KINDS)
        .values(
            *columns(AudioFile),
            *columns(FileAnalysis, "analysis__", without=("report", "summary")),
            summary_report=F("analysis__summary"),
            peaks_at=peaks_stamp(),
        )
    )
    return rows


def intake_files(job: Job) -> list[AudioFile]:
    """The job's current stems, rough mix and references, each with its analysis (without the
    bulky report), the summary of its measurement and when its peaks were written; stems first,
    the most important by name first. From SQL compiled once (jobs.compiled): the intake poll
    asks every few seconds."""
    files = []
    for row in rows_compiled_once("intake_files", _intake_rows, job.pk):
        f: AudioFile = instance_from(AudioFile, row)
        analysis = related_from(FileAnalysis, row, "analysis__")
        if analysis is not None:
            analysis._state.fields_cache["audio_file"] = f
        # As select_related leaves them: the analysis, or None, known without another query.
        f._state.fields_cache["analysis"] = analysis
        f.summary_report = row["summary_report"]  # type: ignore[attr-defined]
        f.peaks_at = row["peaks_at"]  # type: ignore[attr-defined]
        files.append(f)
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


def latest_intake_report(job: Job) -> tuple[IntakeReport | None, list[IntakeFinding]]:
    """The job's latest intake report and its findings (none before the first report), from
    SQL compiled once (jobs.compiled)."""
    rows = rows_compiled_once(
        "intake_report",
        lambda j: (
            IntakeReport.objects.filter(job_id=j)
            .order_by("-created_at")
            .values(*columns(IntakeReport))[:1]
        ),
        job.pk,
    )
    if not rows:
        return None, []
    report: IntakeReport = instance_from(IntakeReport, rows[0])
    found = rows_compiled_once(
        "intake_findings",
        lambda r: IntakeFinding.objects.filter(report_id=r).values(*columns(IntakeFinding)),
        report.pk,
    )
    findings = [instance_from(IntakeFinding, row) for row in found]
    for finding in findings:
        finding._state.fields_cache["report"] = report
    return report, findings


def masters_shown(job: Job, user: User, files: list[AudioFile]) -> list[AudioFile]:
    """The masters among the viewer's files (jobs.access.files_visible_to, as the job page read
    them): the studio sees the round's current masters; a client the masters of the latest
    round delivered to them (their files hold only the delivered ones; none before the first
    delivery)."""
    masters = [f for f in files if f.kind == FileKind.MASTER]
    if user.is_studio:
        return [m for m in masters if m.is_current and m.revision_round == job.revision_round]
    if not masters:
        return []
    newest = max(m.revision_round for m in masters)
    return [m for m in masters if m.revision_round == newest]


def delivery_checks(job: Job, user: User, files: list[AudioFile]) -> list[MasterCheck]:
    """The delivery check of each master the viewer is shown (none read when there is none)."""
    shown = masters_shown(job, user, files)
    return master_checks(shown) if shown else []
