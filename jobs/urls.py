from django.urls import include, path

from jobs import desk_views, feeds, plan_views, stage_views, stage_work_views, upload_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("jobs/new/", views.job_new, name="job_new"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<uuid:job_id>/files/", views.job_upload, name="job_upload"),
    path("jobs/<uuid:job_id>/submit/", views.job_submit_view, name="job_submit"),
    path("jobs/<uuid:job_id>/acknowledge/", views.job_acknowledge_view, name="job_acknowledge"),
    path("jobs/<uuid:job_id>/intake/", views.job_intake, name="job_intake"),
    # Resumable hand-in: the job's tus endpoint, and S3 multipart when files are on S3.
    path("jobs/<uuid:job_id>/uploads/", upload_views.tus_create, name="tus_create"),
    path(
        "jobs/<uuid:job_id>/uploads/<uuid:upload_id>/",
        upload_views.tus_upload,
        name="tus_upload",
    ),
    path("jobs/<uuid:job_id>/s3-uploads/", upload_views.s3_upload_start, name="s3_upload_start"),
    path(
        "jobs/<uuid:job_id>/s3-uploads/<uuid:upload_id>/sign/",
        upload_views.s3_upload_sign,
        name="s3_upload_sign",
    ),
    path(
        "jobs/<uuid:job_id>/s3-uploads/<uuid:upload_id>/join/",
        upload_views.s3_upload_join,
        name="s3_upload_join",
    ),
    path("jobs/<uuid:job_id>/cloud-link/", views.job_cloud_link, name="job_cloud_link"),
    path("jobs/<uuid:job_id>/masters/", views.job_master_upload, name="job_master_upload"),
    path("jobs/<uuid:job_id>/delivery/", views.job_delivery, name="job_delivery"),
    path("jobs/<uuid:job_id>/deliver/", views.job_deliver_view, name="job_deliver"),
    path("jobs/<uuid:job_id>/approve/", views.job_approve_view, name="job_approve"),
    path("jobs/<uuid:job_id>/revision/", views.job_revision_view, name="job_revision"),
    path("files/<uuid:file_id>/download/", views.file_download, name="file_download"),
    # The token is the credential (calendar apps cannot log in); a wrong one is a 404.
    path("calendar/<str:token>.ics", feeds.calendar_feed, name="calendar_feed"),
    path("queue/", stage_views.queue, name="queue"),
    path("stages/<int:stage_id>/start/", stage_views.stage_start_view, name="stage_start"),
    path("stages/<int:stage_id>/finish/", stage_views.stage_finish_view, name="stage_finish"),
    path("stages/<int:stage_id>/skip/", stage_views.stage_skip_view, name="stage_skip"),
    path("stages/<int:stage_id>/reopen/", stage_views.stage_reopen_view, name="stage_reopen"),
    path("stages/<int:stage_id>/assign/", stage_views.stage_assign_view, name="stage_assign"),
    # The engineer's desk: its stage moves and the listening session answer the desk's regions.
    path("desk/", desk_views.desk, name="desk"),
    path("plan/", plan_views.my_plan, name="my_plan"),
    path("jobs/all/", views.home, name="job_list"),
    path("stages/<int:stage_id>/take/", desk_views.stage_take_view, name="stage_take"),
    path("desk/stages/<int:stage_id>/start/", desk_views.desk_start_view, name="desk_start"),
    path("desk/stages/<int:stage_id>/finish/", desk_views.desk_finish_view, name="desk_finish"),
    path("desk/stages/<int:stage_id>/skip/", desk_views.desk_skip_view, name="desk_skip"),
    path("desk/stages/<int:stage_id>/listen/", desk_views.session_start_view, name="session_start"),
    path("sessions/<int:session_id>/tick/", desk_views.session_tick_view, name="session_tick"),
    path("sessions/<int:session_id>/stop/", desk_views.session_stop_view, name="session_stop"),
    path(
        "sessions/<int:session_id>/break/take/",
        desk_views.session_break_take_view,
        name="session_break_take",
    ),
    path(
        "sessions/<int:session_id>/break/skip/",
        desk_views.session_break_skip_view,
        name="session_break_skip",
    ),
    path("stages/<int:stage_id>/work/", stage_work_views.stage_work_view, name="stage_work"),
    path("", include("jobs.review.urls")),
]
