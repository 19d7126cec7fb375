"""The jobs app's registration with Django."""

from django.apps import AppConfig

from studio.startup import tasks_at_setup


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Studio work"

    def ready(self) -> None:
        # jobs.cloud queues the link task by its registered name (cloud.FETCH_TASK); importing the
        # Celery app and the tasks here registers it in every process, not only in a worker.
        # Commands that queue nothing leave them out (studio.startup).
        if tasks_at_setup():
            import studio.celery  # noqa: F401
            from jobs import tasks  # noqa: F401
