"""The analysis app's registration with Django."""

from django.apps import AppConfig

from studio.startup import tasks_at_setup


class AnalysisConfig(AppConfig):
    name = "analysis"
    verbose_name = "Intake analysis"

    def ready(self) -> None:
        # The services queue their tasks by registered name (analysis.services.MEASURE_TASK);
        # importing the Celery app and the tasks here registers those names in every process
        # (web, commands, tests), not only in a worker, which finds them by autodiscovery.
        # Commands that queue nothing leave them out (studio.startup).
        if tasks_at_setup():
            import studio.celery  # noqa: F401
            from analysis import tasks  # noqa: F401
