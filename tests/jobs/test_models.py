"""The database enforces the studio's invariants, and the job history is append-only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from jobs.models import (
    AudioFile,
    JobEvent,
    JobStatus,
    Role,
    Stage,
    StageStatus,
    StudioPolicy,
    User,
)
from tests.factories import make_audio_file, make_job, make_organisation, make_user

pytestmark = pytest.mark.django_db


def refused(make_row) -> bool:  # type: ignore[no-untyped-def]
    try:
        with transaction.atomic():
            make_row()
    except IntegrityError:
        return True
    return False


def test_it_refuses_a_client_without_an_organisation() -> None:
    assert refused(lambda: User.objects.create(username="x", role=Role.CLIENT))
    assert not refused(lambda: User.objects.create(username="e", role=Role.ENGINEER))


def test_it_refuses_an_unknown_role() -> None:
    org = make_organisation()
    assert refused(lambda: User.objects.create(username="x", role="boss", organisation=org))


def test_it_refuses_a_running_job_without_a_clock() -> None:
    job = make_job()
    job.status = JobStatus.IN_PROGRESS
    assert refused(job.save)


def test_it_refuses_a_due_date_before_acceptance() -> None:
    now = timezone.now()
    job = make_job(status=JobStatus.ACCEPTED, accepted_at=now, due_at=now + timedelta(days=3))
    job.due_at = now - timedelta(hours=1)
    assert refused(job.save)


def test_it_refuses_a_hold_that_forgets_where_it_was() -> None:
    job = make_job()
    job.status = JobStatus.ON_HOLD
    job.status_before_hold = ""
    assert refused(job.save)


def test_it_refuses_an_override_without_a_reason() -> None:
    job = make_job()
    job.verdict = "accepted"
    job.verdict_overridden_by = make_user(Role.MANAGER)
    assert refused(job.save)
    job.verdict_reason = "The clipping is part of the sound."
    assert not refused(job.save)


def test_it_refuses_a_declined_job_without_a_declined_verdict() -> None:
    job = make_job()
    job.status = JobStatus.DECLINED
    assert refused(job.save)


def test_it_refuses_a_blank_track_title() -> None:
    assert refused(lambda: make_job(track_title="   "))


def test_it_refuses_bad_file_rows() -> None:
    job = make_job()
    good = make_audio_file(job)
    assert refused(lambda: make_audio_file(job, sha256="not-a-hash"))
    assert refused(lambda: make_audio_file(job, version=0))
    # Two versions of one file: the number is unique, and only one is current.
    assert refused(lambda: make_audio_file(job, lineage=good.lineage, version=1))
    assert refused(lambda: make_audio_file(job, lineage=good.lineage, version=2))
    AudioFile.objects.filter(pk=good.pk).update(is_current=False)
    assert not refused(lambda: make_audio_file(job, lineage=good.lineage, version=2))


def test_it_refuses_bad_stage_rows() -> None:
    job = make_job()

    def stage(**kw):  # type: ignore[no-untyped-def]
        return Stage.objects.create(job=job, kind="cleanup", position=1, **kw)

    assert refused(lambda: stage(status=StageStatus.SKIPPED, skip_reason=""))
    assert refused(lambda: stage(status=StageStatus.IN_PROGRESS))
    now = timezone.now()
    assert refused(lambda: stage(status=StageStatus.DONE, started_at=now))
    assert refused(
        lambda: stage(
            status=StageStatus.DONE, started_at=now, finished_at=now - timedelta(minutes=1)
        )
    )
    stage(status=StageStatus.SKIPPED, skip_reason="No noise to remove")
    assert refused(lambda: stage())  # once per round


def test_the_policy_is_one_row_with_sane_values() -> None:
    policy = StudioPolicy.current()
    assert policy.pk == 1 and policy.promise_days == 3
    assert refused(lambda: StudioPolicy.objects.create(pk=2))
    policy.max_job_bytes = policy.max_file_bytes - 1
    assert refused(policy.save)
    assert StudioPolicy.current().estimate_minutes("cleanup", 5) == 15 + 5 * 10


def test_the_history_is_append_only_through_the_orm() -> None:
    job = make_job()
    event = JobEvent.objects.create(job=job, kind="note", note="first")
    event.note = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        JobEvent.objects.filter(job=job).update(note="x")
    with pytest.raises(PermissionError):
        JobEvent.objects.filter(job=job).delete()
    assert JobEvent.objects.get(pk=event.pk).note == "first"


def test_the_database_itself_refuses_to_rewrite_history() -> None:
    job = make_job()
    event = JobEvent.objects.create(job=job, kind="note", note="first")
    table = JobEvent._meta.db_table
    statements = [f"UPDATE {table} SET note = 'x'"]
    if connection.vendor == "postgresql":  # SQLite keeps DELETE for flush: see the migration
        statements.append(f"DELETE FROM {table}")
    for sql in statements:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql)
    assert JobEvent.objects.get(pk=event.pk).note == "first"
