"""The client's intake pages: upload form, submit, the report (verdict, findings with fixes,
per-file measurements), polling while analysing, acknowledgement; owners, outsiders, roles."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from analysis.models import AnalysisStatus, FileAnalysis, IntakeFinding, IntakeReport
from jobs.models import JobStatus, Role, Verdict
from tests.factories import make_audio_file, make_job, make_user

pytestmark = pytest.mark.django_db


def _login(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _measured(job, name: str = "Bass - Billie Jean.wav", **report) -> FileAnalysis:
    audio = make_audio_file(job, name=name)
    base = {
        "path": audio.file.name,
        "format": {
            "container": "WAV",
            "subtype": "PCM_24",
            "sample_rate": 48000,
            "channels": 2,
            "frames": 48000,
            "duration_s": 1.0,
            "bit_depth": 24,
            "is_float": False,
            "lossy": False,
        },
        "sample_peak_dbfs": -6.02,
        "true_peak_dbtp": -5.9,
        "headroom_db": 6.02,
        "integrated_lufs": -18.4,
        "loudness_range_lu": 3.2,
        "clipping": {"events": 0},
    }
    base.update(report)
    return FileAnalysis.objects.create(
        audio_file=audio, status=AnalysisStatus.DONE, report=base, finished_at=audio.uploaded_at
    )


def _report(job, verdict: str, *findings: tuple[str, str, str, str]) -> IntakeReport:
    report = IntakeReport.objects.create(job=job, verdict=verdict, summary="summary")
    for code, severity, message, file_name in findings:
        IntakeFinding.objects.create(
            report=report, code=code, severity=severity, message=message, file_name=file_name
        )
    return report


def test_a_draft_shows_the_upload_form_with_progress() -> None:
    job = make_job()
    body = _login(job.created_by).get(reverse("job_detail", args=[job.pk])).content.decode()
    assert 'enctype="multipart/form-data"' in body and "upload-progress" in body
    assert reverse("job_upload", args=[job.pk]) in body
    assert "js/upload.js" in body


def test_the_report_shows_verdict_findings_with_fixes_and_measurements() -> None:
    job = make_job(status=JobStatus.AWAITING_CLIENT, verdict=Verdict.REEXPORT_REQUESTED)
    _measured(job)
    _report(
        job,
        Verdict.REEXPORT_REQUESTED,
        (
            "length_mismatch",
            "error",
            "Re-export Bass - Billie Jean.wav with the same start",
            "Bass - Billie Jean.wav",
        ),
        ("missing_reference", "info", "No reference track was uploaded.", ""),
    )
    body = _login(job.created_by).get(reverse("job_intake", args=[job.pk])).content.decode()
    assert "Re-export requested" in body
    assert "Re-export Bass - Billie Jean.wav with the same start" in body
    assert 'data-code="length_mismatch"' in body and "severity-error" in body
    assert "-6.02" in body and "-18.4" in body and "48000 Hz" in body
    assert "hx-trigger" not in body  # nothing to wait for


def test_it_polls_while_analysing_and_htmx_gets_only_the_region() -> None:
    job = make_job(status=JobStatus.ANALYSING)
    audio = make_audio_file(job)
    FileAnalysis.objects.create(audio_file=audio)
    c = _login(job.created_by)
    full = c.get(reverse("job_intake", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in full and "<html" in full
    part = c.get(reverse("job_intake", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert part.lstrip().startswith('<section id="intake-report"') and "<html" not in part
    assert "Checking your files" in part and "Pending" in part


def test_a_file_that_needs_attention_is_shown() -> None:
    job = make_job(status=JobStatus.ANALYSING)
    audio = make_audio_file(job)
    FileAnalysis.objects.create(
        audio_file=audio, status=AnalysisStatus.NEEDS_ATTENTION, attempts=3, error="gave up"
    )
    body = _login(job.created_by).get(reverse("job_intake", args=[job.pk])).content.decode()
    assert "could not be measured after several tries" in body and "Needs attention" in body


def test_the_client_acknowledges_minor_clipping() -> None:
    job = make_job(status=JobStatus.AWAITING_CLIENT, verdict=Verdict.ACCEPTED_WITH_WARNINGS)
    _report(
        job, Verdict.ACCEPTED_WITH_WARNINGS, ("clipping", "warning", "Bass clips twice", "Bass.wav")
    )
    c = _login(job.created_by)
    assert (
        "Go ahead with these files" in c.get(reverse("job_detail", args=[job.pk])).content.decode()
    )
    response = c.post(reverse("job_acknowledge", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED and job.acknowledged_at is not None


def test_a_reexport_cannot_be_acknowledged() -> None:
    job = make_job(status=JobStatus.AWAITING_CLIENT, verdict=Verdict.REEXPORT_REQUESTED)
    c = _login(job.created_by)
    response = c.post(reverse("job_acknowledge", args=[job.pk]), follow=True)
    assert "Only warnings can be acknowledged" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.AWAITING_CLIENT


def test_submitting_without_files_says_what_to_do() -> None:
    job = make_job()
    response = _login(job.created_by).post(reverse("job_submit", args=[job.pk]), follow=True)
    assert "Upload at least one file" in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.DRAFT


@pytest.mark.parametrize("name", ["job_detail", "job_intake"])
def test_outsiders_get_404_with_nothing_of_the_job(name: str) -> None:
    job = make_job(track_title="Secret Song")
    body = _login(make_user(Role.CLIENT)).get(reverse(name, args=[job.pk]))
    assert body.status_code == 404 and b"Secret Song" not in body.content


@pytest.mark.parametrize("name", ["job_submit", "job_acknowledge", "job_upload"])
def test_outsiders_cannot_post(name: str) -> None:
    job = make_job()
    assert _login(make_user(Role.CLIENT)).post(reverse(name, args=[job.pk])).status_code == 404


@pytest.mark.parametrize("name", ["job_submit", "job_acknowledge", "job_upload"])
def test_engineers_see_but_do_not_hand_in(name: str) -> None:
    job = make_job()
    c = _login(make_user(Role.ENGINEER))
    assert c.get(reverse("job_intake", args=[job.pk])).status_code == 200
    assert c.post(reverse(name, args=[job.pk])).status_code == 403


def test_names_are_escaped_where_shown() -> None:
    job = make_job(status=JobStatus.ANALYSING)
    audio = make_audio_file(job, name="<script>alert(1)</script>.wav")
    FileAnalysis.objects.create(audio_file=audio)
    body = _login(job.created_by).get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "<script>alert(1)" not in body and "&lt;script&gt;" in body


def test_the_page_reloads_when_the_verdict_arrives_while_polling() -> None:
    job = make_job(status=JobStatus.AWAITING_CLIENT, verdict=Verdict.REEXPORT_REQUESTED)
    c = _login(job.created_by)
    url = reverse("job_intake", args=[job.pk])
    polled = c.get(url + "?polling=1", HTTP_HX_REQUEST="true")
    assert polled["HX-Refresh"] == "true"
    assert "HX-Refresh" not in c.get(url, HTTP_HX_REQUEST="true")
    job.status = JobStatus.ANALYSING
    job.save()
    assert "HX-Refresh" not in c.get(url + "?polling=1", HTTP_HX_REQUEST="true")


def test_the_client_report_starts_with_what_to_fix_and_lists_each_file() -> None:
    from tests.jobs.review.test_peaks_views import measured_file, tone

    job = make_job(status=JobStatus.AWAITING_CLIENT, verdict=Verdict.REEXPORT_REQUESTED)
    measured_file(job, name="Bass - Billie Jean.wav", content=tone(2.0, clip_at=(1.0,)))
    measured_file(job, name="Keys - Billie Jean.wav", content=tone(2.0))
    _report(
        job,
        Verdict.REEXPORT_REQUESTED,
        ("clipping", "error", "Bass clips: export it 6 dB lower", "Bass - Billie Jean.wav"),
        ("length_mismatch", "error", "Keys is longer than the stems", "Keys - Billie Jean.wav"),
        ("naming_scheme", "warning", "Rename Keys", "Keys - Billie Jean.wav"),
        ("missing_reference", "info", "No reference track was uploaded.", ""),
    )
    body = _login(job.created_by).get(reverse("job_intake", args=[job.pk])).content.decode()
    summary = body.index("2 files to fix before we can start.")
    assert summary < body.index("Bass clips") < body.index("All measurements")
    # Each file with its waveform and its fixes as a checklist; the job-wide note apart.
    assert body.count('<li class="intake-file">') == 2 and body.count('<svg class="waveform"') == 2
    assert body.count('type="checkbox"') == 3
    assert '<label for="fix-' in body and "For the whole job" in body


def test_a_text_files_row_says_it_is_not_audio() -> None:
    job = make_job(status=JobStatus.AWAITING_CLIENT, verdict=Verdict.REEXPORT_REQUESTED)
    audio = make_audio_file(job, name="notes.txt", content=b"just some words\n" * 40)
    from analysis.services import file_measure

    analysis = FileAnalysis.objects.create(audio_file=audio)
    file_measure(analysis_id=analysis.pk)
    body = _login(job.created_by).get(reverse("job_intake", args=[job.pk])).content.decode()
    assert "None-bit" not in body and "0 Hz" not in body
    assert "Not audio (" in body
