"""The review room in the admin: comments, guest links (revocable, never their token), review
copies and peaks (read only: they are made by the measuring pipeline)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from jobs.review.guests import guest_link_revoke
from jobs.review.models import Comment, FilePeaks, GuestLink, ReviewCopy


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin[Comment]):
    list_display = ("job", "audio_file", "start_s", "end_s", "visibility", "author", "resolved_at")
    list_filter = ("visibility",)
    search_fields = ("text", "job__track_title")
    raw_id_fields = ("job", "audio_file", "parent", "author", "guest", "resolved_by")


@admin.register(GuestLink)
class GuestLinkAdmin(admin.ModelAdmin[GuestLink]):
    list_display = ("label", "job", "created_by", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = ("token_hash", "token_hint", "password", "created_at", "last_used_at")
    raw_id_fields = ("job", "created_by", "revoked_by")
    actions = ["revoke"]

    @admin.action(description="Revoke the selected links")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for link in queryset.filter(revoked_at__isnull=True).select_related("job"):
            guest_link_revoke(link=link, by=request.user)  # type: ignore[arg-type]


@admin.register(ReviewCopy)
class ReviewCopyAdmin(admin.ModelAdmin[ReviewCopy]):
    list_display = ("audio_file", "container", "subtype", "status", "size_bytes", "finished_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in ReviewCopy._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(FilePeaks)
class FilePeaksAdmin(admin.ModelAdmin[FilePeaks]):
    list_display = ("audio_file", "created_at")
    exclude = ("data",)
    readonly_fields = ("audio_file", "overview", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
