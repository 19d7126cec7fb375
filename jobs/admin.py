"""Everything in the studio's data, reachable in the Django admin."""

from __future__ import annotations

from typing import Any

from axes.utils import reset
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import ForeignKey, URLField
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from jobs.models import (
    STUDIO_ROLES,
    AudioFile,
    EarBreak,
    EngineerDayOff,
    EngineerProfile,
    Job,
    JobEvent,
    LevellingPreview,
    ListeningSession,
    Organisation,
    PartialUpload,
    PolicyChange,
    RecallNote,
    Stage,
    StudioDayOff,
    StudioPolicy,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    list_display = ("username", "email", "role", "organisation", "is_active")
    list_filter = ("role", "is_active", "is_staff")
    fieldsets = (
        *BaseUserAdmin.fieldsets,  # type: ignore[misc]
        ("Studio", {"fields": ("role", "organisation", "timezone")}),
    )
    actions = ["unlock_logins"]

    @admin.action(description="Lift login lock-outs (failed attempts from every address)")
    def unlock_logins(self, request: HttpRequest, queryset: Any) -> None:
        names = list(queryset.values_list("username", flat=True))
        cleared = sum(reset(username=name) for name in names)
        self.message_user(
            request, f"Cleared {cleared} failed-login record(s) for {', '.join(names)}."
        )


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin[Organisation]):
    list_display = ("name", "created_at")
    search_fields = ("name",)


class AudioFileInline(admin.TabularInline[AudioFile, Job]):
    model = AudioFile
    extra = 0
    fields = ("kind", "original_name", "version", "is_current", "size_bytes", "sha256")
    readonly_fields = fields
    can_delete = False


def assignable_people() -> Any:
    """Who a stage may go to (`User.may_be_assigned`, as a query): never a client."""
    return User.objects.filter(role__in=STUDIO_ROLES, is_active=True).order_by("first_name")


class StageInline(admin.TabularInline[Stage, Job]):
    # Read-only here: a stage moves and changes hands through the services (its own change page
    # assigns through stage_assign), so the history and the plan follow every change.
    model = Stage
    extra = 0
    fields = ("revision_round", "kind", "status", "assignee", "started_at", "finished_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class JobEventInline(admin.TabularInline[JobEvent, Job]):
    model = JobEvent
    extra = 0
    fields = ("at", "actor", "kind", "subject", "from_value", "to_value", "note")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _run_moves(
    modeladmin: admin.ModelAdmin[Any], request: HttpRequest, rows: Any, move: Any, done: str
) -> None:
    # Admin actions go through the workflow services, so roles, states and history still hold.
    from jobs.services import WorkflowError

    ok = 0
    for row in rows:
        try:
            move(row, request.user)
            ok += 1
        except WorkflowError as error:
            modeladmin.message_user(request, f"{row}: {error.message}", level=messages.ERROR)
    if ok:
        modeladmin.message_user(request, f"{done}: {ok}", level=messages.SUCCESS)


@admin.action(description="Put on hold (pauses the delivery clock)")
def hold_jobs(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: Any) -> None:
    from jobs.services import job_hold

    _run_moves(
        modeladmin, request, queryset, lambda j, u: job_hold(job=j, by=u, reason="admin"), "Held"
    )


@admin.action(description="Resume from hold")
def resume_jobs(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: Any) -> None:
    from jobs.services import job_resume

    _run_moves(modeladmin, request, queryset, lambda j, u: job_resume(job=j, by=u), "Resumed")


@admin.action(description="Re-plan the studio now")
def replan(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: Any) -> None:
    from jobs.plan_store import plan_refresh

    result = plan_refresh()
    modeladmin.message_user(request, f"Planned {len(result.stage_finish)} open stages.")


@admin.action(description="Assign to me")
def take_stages(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: Any) -> None:
    from jobs.services import stage_assign

    def take(stage: Any, user: Any) -> None:
        stage_assign(stage=stage, by=user, engineer=user)

    _run_moves(modeladmin, request, queryset, take, "Assigned")


@admin.action(description="Start stage")
def start_stages(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: Any) -> None:
    from jobs.services import stage_start

    _run_moves(modeladmin, request, queryset, lambda s, u: stage_start(stage=s, by=u), "Started")


@admin.action(description="Finish stage")
def finish_stages(modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: Any) -> None:
    from jobs.services import stage_finish

    _run_moves(modeladmin, request, queryset, lambda s, u: stage_finish(stage=s, by=u), "Finished")


@admin.register(Job)
class JobAdmin(admin.ModelAdmin[Job]):
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
    # A cloud link typed without its scheme is an https one (Drive, Dropbox, WeTransfer).
    formfield_overrides = {URLField: {"assume_scheme": "https"}}
    # Status, verdict and the clock change only through the workflow moves (the actions here, the
    # decisions on the job page), which keep the history, the stages and the due date together.
    readonly_fields = (
        "id",
        "decide_in_the_app",
        "organisation",
        "created_by",
        "status",
        "status_before_hold",
        "verdict",
        "verdict_overridden_by",
        "verdict_reason",
        "acknowledged_at",
        "accepted_at",
        "promise_days",
        "due_at",
        "paused_at",
        "paused_total",
        "revision_round",
        "deadline_status",
        "predicted_finish_at",
        "at_risk_alerted_at",
        "overdue_alerted_at",
        "created_at",
        "submitted_at",
        "delivered_at",
        "closed_at",
    )
    inlines = [AudioFileInline, StageInline, JobEventInline]
    actions = [hold_jobs, resume_jobs, replan]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a job is opened by its client, in the app

    @admin.display(description="Decisions")
    def decide_in_the_app(self, obj: Job) -> str:
        return format_html(
            '<a href="{}#manage">Override, decline, hold or cancel on the job page</a>',
            reverse("job_detail", args=[obj.pk]),
        )


@admin.register(AudioFile)
class AudioFileAdmin(admin.ModelAdmin[AudioFile]):
    list_display = ("original_name", "job", "kind", "version", "is_current", "size_bytes")
    list_filter = ("kind", "is_current")
    search_fields = ("original_name", "sha256")
    readonly_fields = ("id", "sha256", "size_bytes", "lineage", "uploaded_at")


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin[Stage]):
    list_display = ("job", "kind", "revision_round", "status", "assignee", "predicted_finish_at")
    list_filter = ("kind", "status")
    actions = [take_stages, start_stages, finish_stages]
    fields = ("job", "kind", "revision_round", "status", "assignee", "notes")
    readonly_fields = ("job", "kind", "revision_round", "status")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a round's stages are made when the job is accepted

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        if db_field.name == "assignee":
            kwargs["queryset"] = assignable_people()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Stage, form: Any, change: bool) -> None:
        # A new engineer goes through stage_assign (history, re-plan, the engineers told); the
        # notes are the only other thing this page writes.
        from jobs.services import WorkflowError, stage_assign

        notes = obj.notes  # stage_assign reloads the stage it moves
        if "assignee" in form.changed_data:
            try:
                stage_assign(stage=obj, by=request.user, engineer=obj.assignee)  # type: ignore[arg-type]
            except WorkflowError as error:
                self.message_user(request, error.message, level=messages.ERROR)
                return
        Stage.objects.filter(pk=obj.pk).update(notes=notes)


@admin.register(JobEvent)
class JobEventAdmin(admin.ModelAdmin[JobEvent]):
    list_display = ("at", "job", "actor", "kind", "subject", "from_value", "to_value")
    list_filter = ("kind",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StudioPolicy)
class StudioPolicyAdmin(admin.ModelAdmin[StudioPolicy]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return not StudioPolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PolicyChange)
class PolicyChangeAdmin(admin.ModelAdmin[PolicyChange]):
    """The policy history: written by the policy page, never edited."""

    list_display = ("at", "actor", "field", "from_value", "to_value")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


admin.site.register(StudioDayOff)
admin.site.register(EngineerProfile)
admin.site.register(EngineerDayOff)
admin.site.register(ListeningSession)
admin.site.register(EarBreak)
admin.site.register(RecallNote)


@admin.register(LevellingPreview)
class LevellingPreviewAdmin(admin.ModelAdmin[LevellingPreview]):
    """Read only: a preview is sent and answered on the job's page, through the workflow."""

    list_display = ("job", "sent_by", "sent_at", "answer")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PartialUpload)
class PartialUploadAdmin(admin.ModelAdmin[PartialUpload]):
    """Uploads under way or finished: how far each got and how many bytes it took."""

    list_display = ("original_name", "job", "protocol", "state", "offset", "length", "updated_at")
    list_filter = ("state", "protocol")
    readonly_fields = [f.name for f in PartialUpload._meta.fields]
