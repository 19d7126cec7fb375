"""The intake report and the measurements in the admin; a file that needs attention can be
measured again from there."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from analysis.models import AnalysisStatus, FileAnalysis, IntakeFinding, IntakeReport
from jobs.models import JobStatus, Role
from tests.factories import make_audio_file, make_job, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    c = Client()
    c.force_login(make_user(Role.MANAGER, is_staff=True, is_superuser=True))
    return c


def test_the_report_shows_every_finding_with_its_fix(staff: Client) -> None:
    job = make_job()
    report = IntakeReport.objects.create(job=job, verdict="reexport_requested", summary="Fix it")
    IntakeFinding.objects.create(
        report=report,
        code="length_mismatch",
        severity="error",
        message="Re-export Bass - Billie Jean.wav with the same start and end",
        file_name="Bass - Billie Jean.wav",
    )
    listing = staff.get(reverse("admin:analysis_intakereport_changelist")).content.decode()
    assert "Billie Jean" in listing
    page = staff.get(reverse("admin:analysis_intakereport_change", args=[report.pk]))
    assert page.status_code == 200
    assert "Re-export Bass - Billie Jean.wav with the same start and end" in page.content.decode()


def test_measurements_are_listed_and_a_stuck_file_can_be_measured_again(
    staff: Client, django_capture_on_commit_callbacks
) -> None:
    job = make_job(status=JobStatus.ANALYSING)
    audio = make_audio_file(job)
    analysis = FileAnalysis.objects.create(
        audio_file=audio, status=AnalysisStatus.NEEDS_ATTENTION, attempts=3, error="gave up"
    )
    listing = staff.get(reverse("admin:analysis_fileanalysis_changelist")).content.decode()
    assert "Needs attention" in listing
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("admin:analysis_fileanalysis_changelist"),
            {"action": "requeue", "_selected_action": [analysis.pk]},
        )
    assert response.status_code == 302
    analysis.refresh_from_db()
    assert analysis.status == AnalysisStatus.DONE and analysis.attempts == 1
    assert analysis.report["format"]["container"] == "WAV"
    listing = staff.get(reverse("admin:analysis_fileanalysis_changelist")).content.decode()
    assert "WAV 24-bit 48000 Hz" in listing
