from django.urls import path

from jobs.review import comment_views, guest_views, views

urlpatterns = [
    path("files/<uuid:file_id>/peaks/", views.file_peaks, name="file_peaks"),
    path("files/<uuid:file_id>/stream/", views.file_stream, name="file_stream"),
    path("jobs/<uuid:job_id>/comments/", comment_views.comment_create, name="comment_create"),
    path("jobs/<uuid:job_id>/markers/", comment_views.comment_markers, name="comment_markers"),
    path(
        "jobs/<uuid:job_id>/revision/comments/",
        comment_views.job_revision_comments,
        name="job_revision_comments",
    ),
    path(
        "comments/<int:comment_id>/reply/",
        comment_views.comment_reply_view,
        name="comment_reply",
    ),
    path(
        "comments/<int:comment_id>/resolve/",
        comment_views.comment_resolve_view,
        name="comment_resolve",
    ),
    path(
        "jobs/<uuid:job_id>/guests/", guest_views.guest_link_create_view, name="guest_link_create"
    ),
    path(
        "guests/<int:link_id>/revoke/", guest_views.guest_link_revoke_view, name="guest_link_revoke"
    ),
    # The token is the credential (guests have no account); a wrong one is a 404.
    path("review/<str:token>/", guest_views.guest_review, name="guest_review"),
    path(
        "review/<str:token>/files/<uuid:file_id>/stream/",
        guest_views.guest_stream,
        name="guest_stream",
    ),
    path(
        "review/<str:token>/files/<uuid:file_id>/peaks/",
        guest_views.guest_peaks,
        name="guest_peaks",
    ),
    path(
        "review/<str:token>/files/<uuid:file_id>/download/",
        guest_views.guest_download,
        name="guest_download",
    ),
    path("review/<str:token>/comments/", guest_views.guest_comment, name="guest_comment"),
    path("review/<str:token>/approve/", guest_views.guest_approve_view, name="guest_approve"),
]
