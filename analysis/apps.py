"""The analysis app's registration with Django."""

from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    verbose_name = "Intake analysis"

    def ready(self) -> None:
        # The services queue their tasks by registered name (analysis.services.MEASURE_TASK);
        # importing the tasks here registers those names in every process (web, commands,
        # tests), not only in a worker, which finds them by autodiscovery.
        from analysis import tasks  # noqa: F401
