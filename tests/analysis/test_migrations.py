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


@pytest.mark.django_db(transaction=True)
def test_the_summaries_are_filled_in_for_reports_already_stored() -> None:
    from analysis.models import FileAnalysis, report_summary

    audio, pending = make_audio_file(make_job()), make_audio_file(make_job())
    report = {"integrated_lufs": -14.2, "format": {"rate": 48000}, "waveform": [1, 2, 3],
              "short_term_lufs": [-20.0, -19.5]}  # fmt: skip
    before = ("analysis", "0003_rename_finding_intakefinding")
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([before])
        old = MigrationExecutor(connection).loader.project_state([before]).apps
        rows = old.get_model("analysis", "FileAnalysis").objects
        rows.create(
            audio_file_id=audio.pk, status="done", report=report, finished_at=audio.uploaded_at
        )
        rows.create(audio_file_id=pending.pk)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    done = FileAnalysis.objects.get(audio_file=audio)
    assert (
        done.summary
        == report_summary(report)
        == {
            "integrated_lufs": -14.2,
            "format": {"rate": 48000},
        }
    )
    assert done.report == report  # the report itself is kept whole
    assert FileAnalysis.objects.get(audio_file=pending).summary is None
