"""The demo studio: every job state, real audio measured by the real pipeline, and a second run
changes nothing."""

from __future__ import annotations

import io

import pytest
import soundfile as sf
from django.core.management import call_command

from analysis.models import AnalysisStatus, FileAnalysis, IntakeReport
from jobs.models import AudioFile, DeadlineStatus, Job, JobEvent, JobStatus, Role, User, Verdict
from jobs.review.models import FilePeaks

# Committed for real: the intake tasks are queued on commit, as in `make run`.
pytestmark = pytest.mark.django_db(transaction=True)


def test_it_seeds_a_studio_with_jobs_in_every_state_and_real_audio() -> None:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "headroom-demo" in out.getvalue()
    assert User.objects.filter(role=Role.MANAGER).count() == 1
    assert User.objects.filter(role=Role.ENGINEER).count() == 2
    assert User.objects.filter(role=Role.CLIENT).values("organisation").distinct().count() == 2
    assert set(Job.objects.values_list("status", flat=True)) == set(JobStatus.values)
    for audio in AudioFile.objects.all()[:6]:
        with audio.file.open("rb") as fh:
            info = sf.info(fh)
        assert info.frames > 0 and info.channels == 2

    # Verdicts come from measuring the demo audio, not from the seed's say-so.
    clipped = Job.objects.get(track_title="Glass Harbour")
    report = IntakeReport.objects.filter(job=clipped).latest()
    assert report.verdict == Verdict.REEXPORT_REQUESTED
    assert report.findings.filter(code="clipping", severity="error").exists()
    assert FileAnalysis.objects.filter(status=AnalysisStatus.DONE).count() >= 40
    assert set(Job.objects.values_list("deadline_status", flat=True)) == set(DeadlineStatus.values)
    assert JobEvent.objects.filter(job__track_title="Tidal", to_value="approved").exists()

    # The review room has something real on it: comments on the delivered job, a guest link.
    northern = Job.objects.get(track_title="Northern Line")
    assert northern.comments.filter(visibility="client", end_s__isnull=False).exists()
    assert northern.comments.filter(visibility="internal").exists()
    assert northern.comments.filter(parent__isnull=False).exists()
    assert northern.guest_links.filter(revoked_at__isnull=True).count() == 1
    assert "/review/" in out.getvalue()
    assert FilePeaks.objects.filter(audio_file__job=northern).count() == northern.files.count()

    # Engineers have calibrations and their sessions levels, so the desk and compliance show doses.
    from jobs.models import EngineerProfile, ListeningSession

    assert not EngineerProfile.objects.filter(calibration_spl_db__isnull=True).exists()
    for username in ("ada", "ben"):
        leveled = ListeningSession.objects.filter(engineer__username=username).exclude(levels=[])
        assert leveled.count() >= 5 and all(s.dose_percent > 0 for s in leveled)
    assert ListeningSession.objects.filter(dose_percent__gt=100).exists()
    # A job waits on the client's answer to a levelling preview, measured like any file.
    afterglow = Job.objects.get(track_title="Afterglow")
    [preview] = afterglow.previews.all()
    assert afterglow.awaits_acknowledgement and preview.answer == ""
    assert preview.audio_file.analysis.status == AnalysisStatus.DONE

    jobs, files = Job.objects.count(), AudioFile.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert (Job.objects.count(), AudioFile.objects.count()) == (jobs, files)
    assert northern.comments.count() == 5 and northern.guest_links.count() == 1
