"""Page queries do not grow with the number of jobs."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jobs.models import JobStatus, Role
from tests.factories import make_job, make_organisation, make_user

pytestmark = pytest.mark.django_db


def queries_for(client: Client, path: str, *, post: bool = False) -> int:
    """Queries of one GET, or of one htmx POST (the session's poll)."""
    with CaptureQueriesContext(connection) as ctx:
        if post:
            assert client.post(path, HTTP_HX_REQUEST="true").status_code == 200
        else:
            assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CLIENT])
def test_the_job_list_costs_the_same_for_10_and_200_jobs(role: str) -> None:
    org = make_organisation()
    owner = make_user(Role.CLIENT, organisation=org)
    viewer = owner if role == Role.CLIENT else make_user(role)
    client = Client()
    client.force_login(viewer)
    statuses = [JobStatus.DRAFT, JobStatus.IN_PROGRESS, JobStatus.AWAITING_CLIENT]
    path = "/" if role == Role.CLIENT else "/jobs/all/"  # a manager's home is the board
    for i in range(10):
        make_job(client=owner, status=statuses[i % 3])
    small = queries_for(client, path)
    for i in range(190):
        make_job(client=owner, status=statuses[i % 3])
    assert queries_for(client, path) == small


def test_the_desk_costs_the_same_for_10_and_200_jobs() -> None:
    from jobs.models import ListeningSession, Stage, StudioPolicy
    from jobs.services import stage_start, stage_take

    StudioPolicy.current()  # the policy row exists in a studio; its creation is not the page's
    owner = make_user(Role.CLIENT, organisation=make_organisation())
    engineer = make_user(Role.ENGINEER)
    client = Client()
    client.force_login(engineer)

    def add(n: int) -> None:
        for _ in range(n):
            job = make_job(client=owner, status=JobStatus.ACCEPTED)
            for position, kind in enumerate(["listening", "cleanup", "level_balancing"]):
                Stage.objects.create(job=job, kind=kind, position=position)

    add(10)
    first = Stage.objects.filter(kind="listening").first()
    assert first is not None
    stage_take(stage=first, by=engineer)
    stage_start(stage=first, by=engineer)
    for stage in Stage.objects.filter(kind="cleanup")[:5]:
        stage_take(stage=stage, by=engineer)
    session = ListeningSession.objects.create(engineer=engineer, stage=first)
    tick = f"/sessions/{session.pk}/tick/"
    small = queries_for(client, "/desk/")
    small_tick = queries_for(client, tick, post=True)
    queries_for(client, "/plan/")  # the first look plans and keeps the plan; later ones read it
    small_plan = queries_for(client, "/plan/")
    add(190)
    for stage in Stage.objects.filter(kind="cleanup", assignee__isnull=True)[:100]:
        stage_take(stage=stage, by=engineer)
    assert queries_for(client, "/desk/") == small
    assert queries_for(client, tick, post=True) == small_tick
    assert queries_for(client, "/plan/") == small_plan
    # The poll is the session region alone: a handful of reads (the login and the session
    # included), never the desk's lists.
    assert small_tick <= 8, small_tick


def test_the_studio_job_list_comes_a_page_at_a_time() -> None:
    from jobs.views import STUDIO_JOBS_PER_PAGE

    owner = make_user(Role.CLIENT, organisation=make_organisation())
    for i in range(STUDIO_JOBS_PER_PAGE + 3):
        make_job(client=owner, status=JobStatus.IN_PROGRESS, track_title=f"Take {i:03d}")
    client = Client()
    client.force_login(make_user(Role.MANAGER))
    first = client.get("/jobs/all/").content.decode()
    assert first.count('<td data-label="Track">') == STUDIO_JOBS_PER_PAGE
    assert 'href="?page=2" rel="next"' in first
    second = client.get("/jobs/all/?page=2").content.decode()
    assert second.count('<td data-label="Track">') == 3
    assert 'href="?page=1" rel="prev"' in second
    # The client's own home is not paged.
    mine = Client()
    mine.force_login(owner)
    assert 'rel="next"' not in mine.get("/").content.decode()


def test_the_studio_job_list_kept_rows_follow_every_change() -> None:
    """The list's rows are rendered once and kept (jobs.fragments): a change to anything a row
    shows, and another time zone, shows at once."""
    from datetime import timedelta

    from django.utils import timezone

    org = make_organisation(name="Northlight")
    job = make_job(client=make_user(Role.CLIENT, organisation=org), status=JobStatus.IN_PROGRESS)
    # 10:00 UTC (19:00 in Tokyo) on a day after the job was accepted, whatever the hour now.
    job.due_at = (timezone.now() + timedelta(days=2)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    job.save(update_fields=["due_at"])
    client = Client()
    client.force_login(make_user(Role.MANAGER))

    def rows() -> str:
        page = client.get("/jobs/all/").content.decode()
        return page[page.index("<tbody>") : page.index("</tbody>")]

    first = rows()
    assert first == rows()  # read back, the same
    assert "Northlight" in first and "In progress" in first
    org.name = "Southlight"  # another table's row: the job's own are unchanged
    org.save(update_fields=["name"])
    assert "Southlight" in rows() and "Northlight" not in rows()
    job.track_title, job.status = "Renamed take", JobStatus.DELIVERED
    job.save(update_fields=["track_title", "status"])
    now = rows()
    assert "Renamed take" in now and "Delivered" in now
    with timezone.override("Asia/Tokyo"):
        tokyo = rows()
    assert tokyo != now and "19:00" in tokyo


def test_the_clients_job_page_costs_the_same_for_3_and_12_files() -> None:
    """The review room reads the viewer's files, their measurements and the comments once,
    whatever the number of files, versions and comments."""
    from django.utils import timezone

    from analysis.models import AnalysisStatus, FileAnalysis
    from jobs.models import AudioFile, FileKind
    from jobs.review.models import Comment, Visibility
    from tests.factories import make_audio_file

    owner = make_user(Role.CLIENT, organisation=make_organisation())
    job = make_job(client=owner, status=JobStatus.DELIVERED, delivered_at=timezone.now())
    client = Client()
    client.force_login(owner)
    path = f"/jobs/{job.pk}/"
    report = {
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

    def add(kind: str, name: str, **kw: object) -> None:
        audio = make_audio_file(job, kind=kind, name=name, **kw)
        FileAnalysis.objects.create(
            audio_file=audio,
            status=AnalysisStatus.DONE,
            report={**report, "path": audio.file.name},
            finished_at=timezone.now(),
        )
        top = Comment.objects.create(
            job=job,
            audio_file=audio,
            revision_round=0,
            author=owner,
            visibility=Visibility.CLIENT,
            start_s=0.5,
            text="Louder here",
        )
        Comment.objects.create(
            job=job,
            audio_file=audio,
            revision_round=0,
            parent=top,
            author=owner,
            visibility=Visibility.CLIENT,
            start_s=0.5,
            text="Or not",
        )

    add(FileKind.ROUGH_MIX, "Rough.wav")
    add(FileKind.REFERENCE, "Ref 0.wav")
    add(FileKind.MASTER, "Master.wav")
    small = queries_for(client, path)
    # The viewer's files, the stages and the waveforms' peaks are each read once for the page.
    assert small <= 19, small
    for i in range(4):
        add(FileKind.REFERENCE, f"Ref {i + 1}.wav")
        add(FileKind.STEM, f"Stem {i}.wav")
    add(FileKind.MASTER, "Master B.wav")
    assert AudioFile.objects.filter(job=job).count() == 12
    page = client.get(path).content.decode()
    assert "Master B.wav" in page and "Ref 4.wav" in page
    assert queries_for(client, path) == small
