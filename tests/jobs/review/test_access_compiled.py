"""jobs.access.job_for and audio_file_for, their SQL compiled once per process: for every viewer
they find what jobs_visible_to and files_visible_to find (another client's job or file, or a
master not yet delivered, stays a 404 after the SQL was compiled for someone who may see it),
loaded as the ORM loads it, with the caller's annotations converted as the ORM converts them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import OuterRef, Subquery
from django.db.models.expressions import BaseExpression
from django.http import Http404

from analysis.models import FileAnalysis
from jobs.access import audio_file_for, files_visible_to, job_for, jobs_visible_to
from jobs.models import FileKind, JobStatus, Role, User
from jobs.review.views import _peaks_reads, _stream_reads
from tests.factories import make_audio_file, make_job, make_user
from tests.jobs.review.helpers import measured_file

pytestmark = pytest.mark.django_db


def _row(obj: Any, *related: str) -> list[Any]:
    return [getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields] + [
        _row(getattr(obj, name)) for name in related
    ]


def test_each_viewer_finds_the_jobs_they_may_see_and_no_others(engineer: User) -> None:
    a, b = make_user(Role.CLIENT), make_user(Role.CLIENT)
    manager = make_user(Role.MANAGER)
    jobs = [make_job(client=a), make_job(client=b, status=JobStatus.IN_PROGRESS)]
    for viewer in (a, b, manager, engineer, b, a, engineer, manager):
        for job in jobs:
            want = jobs_visible_to(viewer).select_related("organisation", "created_by")
            want_job = want.filter(pk=job.pk).first()
            try:
                got = job_for(viewer, job.pk)
            except Http404:
                got = None
            assert (got is None) == (want_job is None), (viewer.username, job.track_title)
            if got is not None and want_job is not None:
                assert _row(got, "organisation", "created_by") == _row(
                    want_job, "organisation", "created_by"
                )
                assert got._state.adding is False
                assert got.created_by._state.adding is False
    assert [job_for(a, jobs[0].pk).pk, job_for(manager, jobs[1].pk).pk] == [j.pk for j in jobs]
    with pytest.raises(Http404):
        job_for(a, jobs[1].pk)


def _analysis_ids() -> dict[str, BaseExpression]:
    found = FileAnalysis.objects.filter(audio_file=OuterRef("pk")).values("pk")[:1]
    return {"analysis_id": Subquery(found)}


def test_each_viewer_finds_the_files_they_may_see_and_no_others(engineer: User) -> None:
    a, b = make_user(Role.CLIENT), make_user(Role.CLIENT)
    manager = make_user(Role.MANAGER)
    job_a = make_job(client=a, status=JobStatus.IN_PROGRESS)
    job_b = make_job(client=b, status=JobStatus.IN_PROGRESS)
    files = [
        make_audio_file(job_a, name="A stem.wav"),
        make_audio_file(job_b, name="B stem.wav"),
        make_audio_file(job_a, kind=FileKind.MASTER, name="A master.wav", uploaded_by=engineer),
        make_audio_file(job_b, kind=FileKind.MASTER, name="B master.wav", uploaded_by=engineer),
    ]
    job_b.delivered_at = job_b.accepted_at
    job_b.save(update_fields=["delivered_at"])
    # Each viewer twice round, so the SQL compiled for one client serves the other.
    for viewer in (a, b, manager, engineer, b, a, engineer, manager):
        for audio in files:
            want = files_visible_to(viewer).select_related("job").filter(pk=audio.pk).first()
            try:
                got = audio_file_for(viewer, audio.pk, _analysis_ids)
            except Http404:
                got = None
            assert (got is None) == (want is None), (viewer.username, audio.original_name)
            if got is not None and want is not None:
                assert _row(got, "job") == _row(want, "job")
                assert got.analysis_id is None  # type: ignore[attr-defined]
                assert got._state.adding is False and got.job.pk == audio.job_id
    seen = {
        v.username: sorted(f.original_name for f in files if f in files_visible_to(v))
        for v in (a, b, manager)
    }
    assert seen == {
        a.username: ["A stem.wav"],
        b.username: ["B master.wav", "B stem.wav"],
        manager.username: ["A master.wav", "A stem.wav", "B master.wav", "B stem.wav"],
    }


def test_a_client_without_an_organisation_and_an_unknown_file_are_404(client_user: User) -> None:
    audio = make_audio_file(make_job(client=client_user))
    orphan = User(role=Role.CLIENT, username="x")  # unsaved: the database would refuse it
    with pytest.raises(Http404):
        audio_file_for(orphan, audio.pk)
    with pytest.raises(Http404):
        audio_file_for(client_user, make_audio_file(make_job()).pk)
    assert audio_file_for(client_user, audio.pk).pk == audio.pk


def test_the_callers_annotations_come_as_the_orm_converts_them(client_user: User) -> None:
    audio = measured_file(make_job(client=client_user))
    got: dict[str, Any] = {}
    for reads in (_stream_reads, _peaks_reads):
        want = files_visible_to(client_user).annotate(**reads()).get(pk=audio.pk)
        found = audio_file_for(client_user, audio.pk, reads)
        for name in reads():
            got[name], expected = getattr(found, name), getattr(want, name)
            assert (
                bytes(got[name]) == bytes(expected)
                if name == "stored_peaks"
                else got[name] == expected
            ), name
    assert (got["fmt_container"], got["fmt_subtype"]) == ("WAV", "PCM_24")
    assert got["stored_peaks"] and got["old_wave"] is None  # stored: the report is not read


def test_the_reads_are_named_by_a_module_level_function(client_user: User) -> None:
    audio = make_audio_file(make_job(client=client_user))
    with pytest.raises(TypeError, match="module-level"):
        audio_file_for(client_user, audio.pk, lambda: {})
