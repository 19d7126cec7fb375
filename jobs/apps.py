"""The jobs app's registration with Django."""

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Studio work"

    def ready(self) -> None:
        # jobs.cloud queues the link task by its registered name (cloud.FETCH_TASK); importing the
        # tasks here registers it in every process, not only in a worker.
        from jobs import tasks  # noqa: F401
