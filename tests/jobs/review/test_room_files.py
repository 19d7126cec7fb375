"""room_files reads, from SQL compiled once per kind of viewer, exactly the files visible_files
lets that viewer see: a master the client has not been delivered stays the studio's."""

from __future__ import annotations

import pytest

from jobs.models import FileKind, Role, User
from jobs.review.room import room_files, visible_files
from tests.factories import make_user
from tests.jobs.helpers import accepted_job, master_wav, upload_master, work_through
from tests.jobs.review.helpers import measured_file, tone

pytestmark = pytest.mark.django_db


def test_each_viewer_reads_the_files_the_access_rule_gives_them(
    client_user: User, engineer: User
) -> None:
    job = accepted_job(client_user)
    rough = measured_file(job, kind=FileKind.ROUGH_MIX, name="Rough.wav", content=tone(2.0))
    measured_file(job, kind=FileKind.STEM, name="Bass.wav", content=tone(2.0), by=client_user)
    work_through(job, engineer)
    master = upload_master(job, engineer, content=master_wav(-1.5, seconds=2.0))
    other_client = make_user(Role.CLIENT)  # another organisation's
    colleague = make_user(Role.CLIENT, organisation=client_user.organisation)
    manager = make_user(Role.MANAGER)

    seen = {}
    for viewer in (client_user, engineer, None, other_client, colleague, manager, client_user):
        read = room_files(job, viewer)
        want = list(
            visible_files(job, viewer)
            .select_related("uploaded_by")
            .order_by("kind", "original_name")
        )
        assert [(f.pk, f.kind, f.version, f.is_current, f.sha256) for f in read.files] == [
            (f.pk, f.kind, f.version, f.is_current, f.sha256) for f in want
        ]
        assert [f.uploaded_by.username for f in read.files] == [
            f.uploaded_by.username for f in want
        ]
        seen[viewer.username if viewer else "guest"] = {f.pk for f in read.files}
        assert set(read.copy_notes) == {f.pk for f in read.files}

    # Not delivered yet: the master is the studio's alone; the rough mix is everyone's on the job.
    assert master.pk in seen[engineer.username] and master.pk in seen[manager.username]
    assert master.pk not in seen[client_user.username] | seen["guest"] | seen[colleague.username]
    assert rough.pk in seen[client_user.username] and rough.pk in seen[colleague.username]
    assert seen[other_client.username] == set()
    # What each file measured comes with it.
    read = room_files(job, client_user)
    assert read.measured[rough.pk]["lufs"] is not None
    assert read.measured[rough.pk]["fmt"]
