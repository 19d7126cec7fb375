"""Intake reports and measurements in the admin: the verdict with every finding and its fix, the
per-file measurements, and a way to give a file that needs attention another try."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from analysis.models import AnalysisStatus, FileAnalysis, IntakeFinding, IntakeReport


class IntakeFindingInline(admin.TabularInline[IntakeFinding, IntakeReport]):
    model = IntakeFinding
    extra = 0
    fields = ("severity", "code", "file_name", "at_s", "message")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IntakeReport)
class IntakeReportAdmin(admin.ModelAdmin[IntakeReport]):
    list_display = ("job", "verdict", "errors", "warnings", "created_at")
    list_filter = ("verdict",)
    search_fields = ("job__track_title", "job__artist", "job__organisation__name")
    readonly_fields = ("job", "verdict", "summary", "created_at")
    inlines = [IntakeFindingInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[IntakeReport]:
        return super().get_queryset(request).select_related("job").prefetch_related("findings")

    @admin.display(description="errors")
    def errors(self, obj: IntakeReport) -> int:
        return sum(f.severity == "error" for f in obj.findings.all())

    @admin.display(description="warnings")
    def warnings(self, obj: IntakeReport) -> int:
        return sum(f.severity == "warning" for f in obj.findings.all())


def _fmt(report: dict[str, Any] | None, key: str, digits: int = 2) -> str:
    value = (report or {}).get(key)
    return "-" if value is None else f"{value:.{digits}f}"


@admin.register(FileAnalysis)
class FileAnalysisAdmin(admin.ModelAdmin[FileAnalysis]):
    list_display = (
        "audio_file",
        "job",
        "status",
        "attempts",
        "format",
        "peak",
        "true_peak",
        "lufs",
        "finished_at",
    )
    list_filter = ("status",)
    search_fields = ("audio_file__original_name", "audio_file__job__track_title")
    readonly_fields = (
        "audio_file",
        "status",
        "attempts",
        "queued_at",
        "claimed_at",
        "finished_at",
        "error",
        "report",
    )
    actions = ["requeue"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FileAnalysis]:
        return super().get_queryset(request).select_related("audio_file__job")

    @admin.display(description="job")
    def job(self, obj: FileAnalysis) -> str:
        return str(obj.audio_file.job)

    @admin.display(description="format")
    def format(self, obj: FileAnalysis) -> str:
        fmt = (obj.report or {}).get("format") or {}
        if not fmt:
            return "-"
        depth = "float" if fmt.get("is_float") else f"{fmt.get('bit_depth')}-bit"
        return f"{fmt.get('container')} {depth} {fmt.get('sample_rate')} Hz"

    @admin.display(description="peak dBFS")
    def peak(self, obj: FileAnalysis) -> str:
        return _fmt(obj.report, "sample_peak_dbfs")

    @admin.display(description="true peak dBTP")
    def true_peak(self, obj: FileAnalysis) -> str:
        return _fmt(obj.report, "true_peak_dbtp")

    @admin.display(description="LUFS")
    def lufs(self, obj: FileAnalysis) -> str:
        return _fmt(obj.report, "integrated_lufs", 1)

    @admin.action(description="Measure again (after it needed attention)")
    def requeue(self, request: HttpRequest, queryset: QuerySet[FileAnalysis]) -> None:
        # Imported here: the services bring Celery and most of the project with them, which the
        # admin's registration at every Django set-up (commands included) should not pay.
        from analysis.services import file_requeue

        done = 0
        for analysis in queryset.exclude(status=AnalysisStatus.DONE):
            file_requeue(analysis=analysis)
            done += 1
        self.message_user(request, f"{done} file(s) queued for measuring.", messages.SUCCESS)
