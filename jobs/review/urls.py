from django.urls import path

from jobs.review import views

urlpatterns = [
    path("files/<uuid:file_id>/peaks/", views.file_peaks, name="file_peaks"),
    path("files/<uuid:file_id>/stream/", views.file_stream, name="file_stream"),
]
