"""Intake reports and measurements in the admin."""

from django.contrib import admin

from analysis.models import FileAnalysis, Finding, IntakeReport


class FindingInline(admin.TabularInline):
    model = Finding
    extra = 0
    fields = ("severity", "code", "file_name", "at_s", "message")
    readonly_fields = fields
    can_delete = False


@admin.register(IntakeReport)
class IntakeReportAdmin(admin.ModelAdmin):
    list_display = ("job", "verdict", "created_at")
    list_filter = ("verdict",)
    inlines = [FindingInline]


@admin.register(FileAnalysis)
class FileAnalysisAdmin(admin.ModelAdmin):
    list_display = ("audio_file", "status", "attempts", "claimed_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = ("report",)
