"""Rows for the tests that talk to a served app (tests/served.py, or pytest-django's live
server): each function makes them with the real services and answers in JSON-able values, so it
runs in the served app's process (SQLite file) or in the test's own (PostgreSQL) alike."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore

from analysis.models import FileAnalysis
from jobs.models import AudioFile, Job, JobStatus, Role, Stage, StageKind, StageStatus
from tests.factories import make_audio_file, make_job, make_organisation, make_user, wav_bytes

# CSRF: a fixed secret as the cookie and the header, the way a page's script sends it.
CSRF = "burstburstburstburstburstburst12"
PASSWORD = "correct horse battery staple"
STEM = wav_bytes(0.5)


def session_for(user: Any) -> str:
    """A logged-in session for `user`, without a password hash (the throttle is not in play)."""
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return str(store.session_key)


def user(*, username: str, role: str = Role.ENGINEER, hasher: str = "default") -> dict[str, Any]:
    """One person with the factories' password ("correct horse battery staple"), hashed by
    `hasher` (one of PASSWORD_HASHERS)."""
    organisation = make_organisation() if role == Role.CLIENT else None
    made = make_user(role, username=username, organisation=organisation)
    made.password = make_password(PASSWORD, hasher=hasher)
    made.save(update_fields=["password"])
    return {"id": made.pk, "username": made.username}


def burst(*, n: int) -> dict[str, Any]:
    """n clients, each with a draft job to add a file to and a draft job holding a stem to
    submit, and n engineers, each with an accepted job whose listening stage is theirs."""
    clients = []
    for i in range(n):
        client = make_user(Role.CLIENT)
        upload_job = make_job(client=client, track_title=f"Upload {i}")
        submit_job = make_job(client=client, track_title=f"Submit {i}")
        make_audio_file(submit_job, name=f"Bass - Submit {i}.wav", content=STEM)
        clients.append(
            {
                "session": session_for(client),
                "upload_job": str(upload_job.pk),
                "submit_job": str(submit_job.pk),
            }
        )
    owner = make_user(Role.CLIENT)
    stages, engineers = [], []
    for i in range(n):
        engineer = make_user(Role.ENGINEER)
        job = make_job(client=owner, status=JobStatus.ACCEPTED, track_title=f"Move {i}")
        listening = Stage.objects.create(
            job=job, kind=StageKind.LISTENING, position=0, assignee=engineer
        )
        stages.append(listening.pk)
        engineers.append(session_for(engineer))
    return {"clients": clients, "engineers": engineers, "stages": stages}


def burst_outcome(*, upload_jobs: list[str], submit_jobs: list[str], stages: list[int]) -> Any:
    """What the burst left behind: files stored, jobs handed to intake, stages started."""
    return {
        "uploaded": AudioFile.objects.filter(job_id__in=upload_jobs).count(),
        "submitted": Job.objects.filter(pk__in=submit_jobs)
        .exclude(status__in=[JobStatus.DRAFT])
        .count(),
        "analyses": FileAnalysis.objects.filter(audio_file__job_id__in=submit_jobs).count(),
        "started": Stage.objects.filter(pk__in=stages, status=StageStatus.IN_PROGRESS).count(),
    }


def failures(*, username: str) -> int:
    """Failed logins counted for `username`, summed over addresses."""
    from axes.models import AccessAttempt

    return sum(
        AccessAttempt.objects.filter(username=username).values_list(
            "failures_since_start", flat=True
        )
    )
