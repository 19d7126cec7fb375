"""Renaming the stored finding (Finding -> IntakeFinding) keeps every row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from analysis.models import IntakeFinding, IntakeReport
from tests.factories import make_audio_file, make_job

BEFORE = ("analysis", "0002_initial")
AFTER = ("analysis", "0003_rename_finding_intakefinding")


@pytest.mark.django_db(transaction=True)
def test_the_rename_keeps_the_findings() -> None:
    job = make_job()
    audio = make_audio_file(job)
    report = IntakeReport.objects.create(job=job, verdict="accepted")
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([BEFORE])
        old = MigrationExecutor(connection).loader.project_state([BEFORE]).apps
        old.get_model("analysis", "Finding").objects.create(
            report_id=report.pk,
            audio_file_id=audio.pk,
            code="clipping",
            severity="warning",
            message="Bass clips twice.",
            file_name=audio.original_name,
            at_s=1.5,
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    kept = IntakeFinding.objects.get()
    assert (kept.report, kept.audio_file, kept.code, kept.at_s) == (report, audio, "clipping", 1.5)
    assert list(report.findings.all()) == [kept]
    assert AFTER in MigrationExecutor(connection).loader.applied_migrations
