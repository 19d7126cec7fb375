from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "jobs.review"
    label = "review"
    verbose_name = "Review room"
    default_auto_field = "django.db.models.BigAutoField"
