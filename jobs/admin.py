"""Everything in the studio's data, reachable in the Django admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from jobs.models import (
    AudioFile,
    EarBreak,
    EngineerDayOff,
    EngineerProfile,
    Job,
    JobEvent,
    ListeningSession,
    Organisation,
    Stage,
    StudioDayOff,
    StudioPolicy,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "role", "organisation", "is_active")
    list_filter = ("role", "is_active", "is_staff")
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        ("Studio", {"fields": ("role", "organisation", "timezone")}),
    )


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


class AudioFileInline(admin.TabularInline):
    model = AudioFile
    extra = 0
    fields = ("kind", "original_name", "version", "is_current", "size_bytes", "sha256")
    readonly_fields = fields
    can_delete = False


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ("revision_round", "kind", "status", "assignee", "started_at", "finished_at")
    readonly_fields = ("revision_round", "kind")


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    fields = ("at", "actor", "kind", "subject", "from_value", "to_value", "note")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "track_title",
        "artist",
        "organisation",
        "status",
        "verdict",
        "due_at",
        "deadline_status",
    )
    list_filter = ("status", "verdict", "deadline_status")
    search_fields = ("track_title", "artist", "organisation__name")
    readonly_fields = ("id", "created_at")
    inlines = [AudioFileInline, StageInline, JobEventInline]


@admin.register(AudioFile)
class AudioFileAdmin(admin.ModelAdmin):
    list_display = ("original_name", "job", "kind", "version", "is_current", "size_bytes")
    list_filter = ("kind", "is_current")
    search_fields = ("original_name", "sha256")
    readonly_fields = ("id", "sha256", "size_bytes", "lineage", "uploaded_at")


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ("job", "kind", "revision_round", "status", "assignee", "predicted_finish_at")
    list_filter = ("kind", "status")


@admin.register(JobEvent)
class JobEventAdmin(admin.ModelAdmin):
    list_display = ("at", "job", "actor", "kind", "subject", "from_value", "to_value")
    list_filter = ("kind",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StudioPolicy)
class StudioPolicyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return not StudioPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.register(StudioDayOff)
admin.site.register(EngineerProfile)
admin.site.register(EngineerDayOff)
admin.site.register(ListeningSession)
admin.site.register(EarBreak)
