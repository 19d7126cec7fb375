"""The demo studio: every job state, real audio, and a second run changes nothing."""

from __future__ import annotations

import io

import pytest
import soundfile as sf
from django.core.management import call_command

from jobs.models import AudioFile, Job, JobStatus, Role, User

pytestmark = pytest.mark.django_db


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

    jobs, files = Job.objects.count(), AudioFile.objects.count()
    call_command("seed_demo", stdout=io.StringIO())
    assert (Job.objects.count(), AudioFile.objects.count()) == (jobs, files)
