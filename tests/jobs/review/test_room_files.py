"""room_files and room_comments read, from SQL compiled once per kind of viewer, exactly what
the access rules let that viewer see: a master the client has not been delivered, and an internal
comment or reply, stay the studio's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import AudioFile, FileKind, Role, User
from jobs.review.models import Comment, Visibility
from jobs.review.room import room_comments, room_files, visible_files
from tests.factories import make_user
from tests.jobs.helpers import accepted_job, master_wav, upload_master, work_through
from tests.jobs.review.conftest import Delivered
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


def test_the_room_s_comments_and_replies_are_those_the_viewer_may_read(
    delivered: Delivered, client_user: User, engineer: User
) -> None:
    job, master, rough = delivered.job, delivered.master, delivered.rough
    now = timezone.now()

    def comment(on: AudioFile, text: str, *, at: float, parent: Comment | None = None,
                visibility: str = Visibility.CLIENT, minutes: int = 0) -> Comment:  # fmt: skip
        return Comment.objects.create(
            job=job, audio_file=on, revision_round=0, parent=parent, author=engineer,
            visibility=visibility, start_s=at, text=text,
            created_at=now + timedelta(minutes=minutes),
        )  # fmt: skip

    late = comment(master, "Late", at=2.0)
    early = comment(master, "Early", at=0.5)
    comment(master, "Ours", at=1.0, visibility=Visibility.INTERNAL)
    comment(rough, "On the rough", at=0.1)
    comment(master, "Second reply", at=0.5, parent=early, minutes=2)
    comment(master, "Internal reply", at=0.5, parent=early, minutes=1, visibility="internal")
    comment(master, "First reply", at=0.5, parent=early, minutes=-1)
    comment(master, "Reply to late", at=2.0, parent=late)

    def shown(viewer: User | None, files: list[AudioFile]) -> list[tuple[str, list[str]]]:
        visible = room_files(job, viewer).files
        found = room_comments(viewer, job, files, visible)
        return [(c.text, [r.text for r in c.visible_replies]) for c in found]  # type: ignore[attr-defined]

    masters = [master]
    client_sees = [("Early", ["First reply", "Second reply"]), ("Late", ["Reply to late"])]
    for viewer in (client_user, None, client_user):  # None: a guest of the client's
        assert shown(viewer, masters) == client_sees
    studio_sees = [
        ("Early", ["First reply", "Internal reply", "Second reply"]),
        ("Ours", []),
        ("Late", ["Reply to late"]),
    ]
    for _ in range(2):
        assert shown(engineer, masters) == studio_sees
    # Only the files asked about, by file name (the rough mix's sorts first), then moment.
    assert [text for text, _ in shown(engineer, [master, rough])] == [
        "On the rough", "Early", "Ours", "Late"
    ]  # fmt: skip
    assert [text for text, _ in shown(client_user, [rough])] == ["On the rough"]
