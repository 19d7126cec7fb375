"""Rendered fragments (jobs.fragments): read back for the same key, rendered anew for another,
and on the job page and the intake poll always what a page rendered from nothing would show,
after every change to what they show."""

from __future__ import annotations

import re
from itertools import count
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.cache import caches
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analysis.models import AnalysisStatus, FileAnalysis
from analysis.services import file_measure
from jobs.fragments import content_key
from jobs.models import AudioFile, FileKind, JobStatus, StudioPolicy, User, Verdict
from jobs.review.models import FilePeaks, ReviewCopy
from jobs.review.services import review_after_measure
from jobs.services import (
    job_record_verdict,
    job_start_analysis,
    job_submit,
    stage_assign,
    stage_start,
)
from jobs.uploads import audio_file_add
from tests.factories import make_audio_file, make_job, wav_bytes
from tests.jobs.fragment_checks import masked, same_as_from_nothing
from tests.jobs.helpers import accepted_job, master_wav, stages_of, upload_master, work_through
from tests.jobs.review.helpers import measured_file, tone
from tests.jobs.test_intake_views import _measured, _report


def _render(key: str, calls: count[int]) -> str:
    template = Template("{% load fragments %}{% fragment numbered key %}{{ n }}{% endfragment %}")

    class Next:
        def __str__(self) -> str:
            return str(next(calls))

    return template.render(Context({"key": key, "n": Next()}))


def test_a_fragment_is_rendered_once_for_each_key_and_every_time_without_one() -> None:
    calls = count(1)
    assert _render("a", calls) == "1"
    assert _render("a", calls) == "1"  # read back
    assert _render("b", calls) == "2"
    assert _render("", calls) == "3"
    assert _render("", calls) == "4"  # no key: never kept
    assert _render("a", calls) == "1"


def test_keys_differ_when_any_shown_value_does() -> None:
    assert content_key(("a", 1, None)) == content_key(("a", 1, None))
    assert content_key(("a", 1, None)) != content_key(("a", 1.0, None))
    assert content_key(("a", 1, None)) != content_key(("a", 1, ""))
    assert content_key(("a", {"lufs": -14.0})) != content_key(("a", {"lufs": -14.1}))


pytestmark_db = pytest.mark.django_db


def _pages(client: Client, job_pk: object) -> tuple[str, str]:
    page = client.get(reverse("job_detail", args=[job_pk])).content.decode()
    poll = client.get(reverse("job_intake", args=[job_pk]), HTTP_HX_REQUEST="true")
    return masked(page), masked(poll)


def _same_as_from_nothing(client: Client, job_pk: object) -> tuple[str, str]:
    """The job page and the intake poll (the fragments kept from before), checked against both
    rendered with no fragment kept."""
    return same_as_from_nothing(lambda: _pages(client, job_pk))


@pytestmark_db
def test_the_job_page_and_intake_poll_follow_every_change_to_the_measured_files() -> None:
    job = make_job(status=JobStatus.AWAITING_CLIENT, verdict=Verdict.ACCEPTED)
    bass = _measured(job, integrated_lufs=-18.4)
    c = Client()
    c.force_login(job.created_by)
    page, poll = _same_as_from_nothing(c, job.pk)
    assert "-18.4 LUFS" in poll and "<td>-18.4</td>" in page

    # Measured again, louder.
    bass.report = {**bass.report, "integrated_lufs": -12.0}
    bass.save()
    page, poll = _same_as_from_nothing(c, job.pk)
    assert "-12.0 LUFS" in poll and "-18.4" not in page

    # A second file, still waiting to be measured, then measured.
    keys = make_audio_file(job, name="Keys - Billie Jean.wav")
    waiting = FileAnalysis.objects.create(audio_file=keys, status=AnalysisStatus.PENDING)
    page, poll = _same_as_from_nothing(c, job.pk)
    assert "Keys - Billie Jean.wav" in poll and "Pending" in poll
    waiting.status, waiting.error = AnalysisStatus.NEEDS_ATTENTION, "The file ends early"
    waiting.save()
    page, poll = _same_as_from_nothing(c, job.pk)
    assert "The file ends early" in poll and "Needs attention" in poll

    # A new intake report: a fix for one file.
    _report(
        job,
        Verdict.REEXPORT_REQUESTED,
        ("clipping", "error", "Bass - Billie Jean.wav clips 3 times", "Bass - Billie Jean.wav"),
    )
    page, poll = _same_as_from_nothing(c, job.pk)
    assert "clips 3 times" in poll and "clips 3 times" in page


@pytestmark_db
def test_the_versions_table_follows_a_new_version_and_a_renamed_uploader() -> None:
    job = make_job(status=JobStatus.AWAITING_CLIENT, verdict=Verdict.ACCEPTED)
    first = _measured(job, integrated_lufs=-18.4).audio_file
    c = Client()
    c.force_login(job.created_by)
    page, _ = _same_as_from_nothing(c, job.pk)
    assert "Every version of every file (1)" in page

    AudioFile.objects.filter(pk=first.pk).update(is_current=False)
    second = make_audio_file(job, name=first.original_name, lineage=first.lineage, version=2)
    FileAnalysis.objects.create(
        audio_file=second,
        status=AnalysisStatus.DONE,
        report={**first.analysis.report, "integrated_lufs": -9.5},
        finished_at=second.uploaded_at,
    )
    page, _ = _same_as_from_nothing(c, job.pk)
    assert "Every version of every file (2)" in page and 'class="superseded"' in page

    client = job.created_by
    client.first_name, client.last_name = "Renamed", "Person"
    client.save()
    page, _ = _same_as_from_nothing(c, job.pk)
    assert "<td>Renamed Person</td>" in page


def _logged_in(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _wave_paths(page: str) -> list[str]:
    return re.findall(r'<path class="wave" d="([^"]+)"', page)


def _peaks_again(audio: AudioFile, like: AudioFile) -> None:
    """`audio`'s peaks written again as the measuring pipeline writes them (here `like`'s peaks:
    new peaks, the measurement's summary unchanged)."""
    stored = FilePeaks.objects.get(audio_file=like)
    again = SimpleNamespace(format=None, unreadable=None, peaks=bytes(stored.data),
                            short_term_lufs=stored.overview["short_term_lufs"])  # fmt: skip
    review_after_measure(audio=audio, report=again)  # type: ignore[arg-type]


def _louder() -> AudioFile:
    """A louder file of another job: its peaks to write again as a file's."""
    return measured_file(make_job(), name="Louder.wav", content=tone(dbfs=-1.0))


@pytestmark_db
def test_the_player_follows_every_change_to_its_sources_and_new_peaks_show(
    client_user: User,
) -> None:
    job = make_job(client=client_user, status=JobStatus.AWAITING_CLIENT, verdict=Verdict.ACCEPTED)
    rough = measured_file(job, kind=FileKind.ROUGH_MIX, name="Billie Jean (rough).wav")
    c = _logged_in(client_user)
    page, poll = _same_as_from_nothing(c, job.pk)
    assert 'data-name="Billie Jean (rough).wav"' in page and len(_wave_paths(page)) == 2
    before = _wave_paths(poll)

    # Measured again, quieter: a lone source quieter than the streaming target keeps its gains.
    for lufs in (-20.0, -21.5):
        analysis = FileAnalysis.objects.get(audio_file=rough)
        analysis.report = {**analysis.report, "integrated_lufs": lufs}
        analysis.save()
        page, poll = _same_as_from_nothing(c, job.pk)
        assert f"<span>{lufs} LUFS" in page

    # A reference, measured (louder: the gains change) but without peaks; played from a copy.
    ref = _measured(job, name="Reference - Thriller.wav", integrated_lufs=-9.0).audio_file
    AudioFile.objects.filter(pk=ref.pk).update(kind=FileKind.REFERENCE)
    page, poll = _same_as_from_nothing(c, job.pk)
    assert 'data-name="Reference - Thriller.wav"' in page and len(_wave_paths(page)) == 2
    ReviewCopy.objects.create(audio_file=ref, container="FLAC", subtype="24", note="FLAC copy")
    page, poll = _same_as_from_nothing(c, job.pk)
    assert "Plays from a FLAC copy." in page

    # The rough mix's peaks written again (it was measured again): the new drawing shows.
    _peaks_again(rough, like=_louder())
    page, poll = _same_as_from_nothing(c, job.pk)
    assert _wave_paths(poll) != before and _wave_paths(poll)[0] == _wave_paths(page)[1]


def _reads_overviews(c: Client, url: str, **extra: str) -> bool:
    with CaptureQueriesContext(connection) as queries:
        assert c.get(url, **extra).status_code == 200
    return any('"overview"' in q["sql"] for q in queries.captured_queries)


@pytestmark_db
def test_a_page_whose_fragments_are_kept_reads_no_peak_overview(client_user: User) -> None:
    job = make_job(client=client_user, status=JobStatus.AWAITING_CLIENT, verdict=Verdict.ACCEPTED)
    rough = measured_file(job, kind=FileKind.ROUGH_MIX, name="Billie Jean (rough).wav")
    measured_file(job, name="Bass - Billie Jean.wav")
    c = _logged_in(client_user)
    page, poll = reverse("job_detail", args=[job.pk]), reverse("job_intake", args=[job.pk])
    assert _reads_overviews(c, page)  # drawn: nothing kept yet
    assert not _reads_overviews(c, page)
    assert not _reads_overviews(c, poll, HTTP_HX_REQUEST="true")
    caches["fragments"].clear()
    assert _reads_overviews(c, poll, HTTP_HX_REQUEST="true")
    assert not _reads_overviews(c, poll, HTTP_HX_REQUEST="true")

    # New peaks for a file: drawn again, once.
    _peaks_again(rough, like=_louder())
    assert _reads_overviews(c, page)
    assert not _reads_overviews(c, page)


def _job_pages(clients: list[Client], job_pk: object) -> list[str]:
    url = reverse("job_detail", args=[job_pk])
    return [masked(c.get(url)) for c in clients]


def _viewers_same_as_from_nothing(clients: list[Client], job_pk: object) -> list[str]:
    """The job page as each viewer sees it, one after the other with the fragments kept (so one
    viewer's may be read back for the next), checked against each rendered from nothing."""
    seen = _job_pages(clients, job_pk)
    fresh = []
    for c in clients:
        caches["fragments"].clear()
        fresh += _job_pages([c], job_pk)
    assert seen == fresh
    _job_pages(clients, job_pk)  # every viewer's fragments kept again, for the next change
    return seen


@pytestmark_db
def test_the_file_list_the_stages_and_the_timeline_follow_every_change(
    client_user: User, manager: User, engineer: User
) -> None:
    job = make_job(client=client_user)
    viewers = [_logged_in(manager), _logged_in(client_user)]
    # Files added together: one line of the timeline, which says how many.
    for name in ("Bass - Billie Jean.wav", "Drums - Billie Jean.wav"):
        upload = SimpleUploadedFile(name, wav_bytes(), "audio/wav")
        audio_file_add(job=job, content=upload, name=name, kind=FileKind.STEM, by=client_user)
        studio, client = _viewers_same_as_from_nothing(viewers, job.pk)
    assert "2 files added" in client
    job_submit(job=job, by=client_user)
    job_start_analysis(job=job)
    job_record_verdict(job=job, verdict=Verdict.ACCEPTED)
    studio, client = _viewers_same_as_from_nothing(viewers, job.pk)
    assert "Bass - Billie Jean.wav" in client and "stage-pending" in client

    # A new file, waiting to be measured, then measured; then a second version of it.
    keys = make_audio_file(job, name="Keys - Billie Jean.wav", size_bytes=2048)
    waiting = FileAnalysis.objects.create(audio_file=keys, status=AnalysisStatus.PENDING)
    studio, client = _viewers_same_as_from_nothing(viewers, job.pk)
    assert '<td data-label="File">Keys - Billie Jean.wav</td>' in client and "Pending" in client
    waiting.status, waiting.report = AnalysisStatus.DONE, {"integrated_lufs": -20.0}
    waiting.finished_at = keys.uploaded_at
    waiting.save()
    studio, client = _viewers_same_as_from_nothing(viewers, job.pk)
    assert '<td data-label="Analysis">Measured</td>' in client
    AudioFile.objects.filter(pk=keys.pk).update(is_current=False)
    make_audio_file(job, name=keys.original_name, lineage=keys.lineage, version=2, size_bytes=4096)
    studio, client = _viewers_same_as_from_nothing(viewers, job.pk)
    assert '<td data-label="Version">v2</td><td data-label="Size">4.0\xa0KB</td>' in client

    # The first stage assigned (the engineer's name for the studio only) and started; the
    # engineer renamed; each is on the timeline too.
    stage = stages_of(job)[0]
    stage_assign(stage=stage, by=manager, engineer=engineer)
    studio, client = _viewers_same_as_from_nothing(viewers, job.pk)
    assert f"· {engineer.get_full_name() or engineer.username}</li>" in studio
    assert f"· {engineer.get_full_name() or engineer.username}</li>" not in client
    stage.refresh_from_db()
    stage_start(stage=stage, by=engineer)
    studio, client = _viewers_same_as_from_nothing(viewers, job.pk)
    assert "stage-in_progress" in client
    engineer.first_name, engineer.last_name = "Renamed", "Engineer"
    engineer.save()
    studio, client = _viewers_same_as_from_nothing(viewers, job.pk)
    assert "· Renamed Engineer</li>" in studio


@pytestmark_db
def test_the_delivery_table_follows_every_change_to_the_masters_and_the_rough_mix(
    client_user: User, engineer: User
) -> None:
    job = accepted_job(client_user)
    work_through(job, engineer)
    viewers = [_logged_in(engineer), _logged_in(client_user)]
    studio, _ = _viewers_same_as_from_nothing(viewers, job.pk)
    assert "No master for this round yet." in studio

    measured = _measured(job, name="Billie Jean (rough).wav", integrated_lufs=-11.0)
    AudioFile.objects.filter(pk=measured.audio_file_id).update(kind=FileKind.ROUGH_MIX)
    studio, client = _viewers_same_as_from_nothing(viewers, job.pk)
    assert '<td data-label="Integrated LUFS">-11.0</td>' in client
    measured.report = {**measured.report, "integrated_lufs": -9.0, "max_short_term_lufs": -7.5}
    measured.save()
    studio, client = _viewers_same_as_from_nothing(viewers, job.pk)
    assert '<td data-label="Max short-term LUFS">-7.5</td>' in client

    # A master that passes; then one still being measured beside it; then that one measured.
    upload_master(job, engineer, content=master_wav(-1.5))
    studio, _ = _viewers_same_as_from_nothing(viewers, job.pk)
    assert "<strong>Pass</strong>" in studio
    second = make_audio_file(
        job, kind=FileKind.MASTER, name="Master - Billie Jean (clean).wav", uploaded_by=engineer
    )
    analysis = FileAnalysis.objects.create(audio_file=second)
    studio, _ = _viewers_same_as_from_nothing(viewers, job.pk)
    assert "Measuring…" in studio
    assert file_measure(analysis_id=analysis.pk) == "measured"
    studio, _ = _viewers_same_as_from_nothing(viewers, job.pk)
    assert "Measuring…" not in studio and studio.count("<strong>Pass</strong>") == 2

    # The same measurements judged by a lower ceiling: the louder master fails.
    policy = StudioPolicy.current()
    policy.delivery_true_peak_ceiling_dbtp = -2.0
    policy.save()
    studio, _ = _viewers_same_as_from_nothing(viewers, job.pk)
    assert studio.count("<strong>Pass</strong>") == 1 and "-2.0 dBTP" in studio

    # A third master that could not be measured, then was given up on.
    third = make_audio_file(
        job, kind=FileKind.MASTER, name="Master - Billie Jean (alt).wav", uploaded_by=engineer
    )
    FileAnalysis.objects.create(audio_file=third, status=AnalysisStatus.FAILED, error="gone")
    studio, _ = _viewers_same_as_from_nothing(viewers, job.pk)
    assert "Could not be measured (failed)" in studio
    FileAnalysis.objects.filter(audio_file=third).update(status=AnalysisStatus.NEEDS_ATTENTION)
    studio, _ = _viewers_same_as_from_nothing(viewers, job.pk)
    assert "Could not be measured (needs_attention)" in studio


def _board(c: Client, query: str) -> str:
    return masked(c.get(f"{reverse('board')}{query}"))


def _board_same_as_from_nothing(c: Client, query: str = "") -> str:
    """The board (its menus kept from before), checked against one rendered with no fragment
    kept."""
    return same_as_from_nothing(lambda: _board(c, query))


@pytestmark_db
def test_the_board_s_menus_follow_every_change_to_the_people_the_clients_and_the_choice() -> None:
    from jobs.models import Organisation, Role
    from tests.factories import make_organisation, make_user

    manager = make_user(Role.MANAGER, first_name="Mia", last_name="Stone")
    ada = make_user(Role.ENGINEER, first_name="Ada", last_name="Lee")
    acme = make_organisation(name="Acme Records")
    c = _logged_in(manager)
    page = _board_same_as_from_nothing(c)
    assert ">Ada Lee</option>" in page and ">Acme Records</option>" in page

    # A renamed engineer, a new one, one who left; a renamed client and a new one.
    User.objects.filter(pk=ada.pk).update(first_name="Adele")
    ben = make_user(Role.ENGINEER, first_name="Ben", last_name="")
    page = _board_same_as_from_nothing(c)
    assert ">Adele Lee</option>" in page and ">Ben</option>" in page
    User.objects.filter(pk=ben.pk).update(is_active=False)
    page = _board_same_as_from_nothing(c)
    assert ">Ben</option>" not in page
    Organisation.objects.filter(pk=acme.pk).update(name="Acme Sound")
    make_organisation(name="Beacon Audio")
    page = _board_same_as_from_nothing(c)
    assert ">Acme Sound</option>" in page and ">Beacon Audio</option>" in page

    # The engineer and the client chosen in the filters, and then neither.
    page = _board_same_as_from_nothing(c, f"?engineer={ada.pk}")
    assert f'<option value="{ada.pk}" selected>' in page
    page = _board_same_as_from_nothing(c, f"?engineer={ada.pk}&client={acme.pk}")
    assert f'<option value="{acme.pk}" selected>' in page
    page = _board_same_as_from_nothing(c)
    assert " selected>" not in page.split('id="board-engineer"')[1].split("</select>")[0]


def _policy_page(c: Client, **post: object) -> str:
    response = c.post("/policy/", post) if post else c.get("/policy/")
    return masked(response)


def _policy_same_as_from_nothing(c: Client) -> str:
    return same_as_from_nothing(lambda: _policy_page(c))


def _policy_changed(**values: object) -> None:
    """A policy column changed as a migration or the shell would: its `updated_at` (the form's
    version) left as it was, so that the key must hold the column itself."""
    from jobs.models import StudioPolicy
    from jobs.models.policy import _drop_cached_policy

    StudioPolicy.objects.filter(pk=1).update(**values)
    _drop_cached_policy()


@pytestmark_db
def test_the_policy_form_follows_every_change_to_the_policy_and_a_bound_form_is_never_kept() -> (
    None
):
    from jobs.models import Role, StudioPolicy
    from tests.factories import make_user

    StudioPolicy.current()
    c = _logged_in(make_user(Role.MANAGER))
    page = _policy_same_as_from_nothing(c)
    assert 'name="promise_days"' in page and 'value="9"' not in page

    _policy_changed(promise_days=9)
    assert 'value="9"' in _policy_same_as_from_nothing(c)
    _policy_changed(timezone="America/New_York")
    assert '<option value="America/New_York" selected>' in _policy_same_as_from_nothing(c)
    _policy_changed(checklists={"listening": ["Check the fades"]})
    assert "Check the fades" in _policy_same_as_from_nothing(c)
    _policy_changed(stage_estimates={"cleanup": {"base": 71, "per_stem": 4}})
    assert 'value="71"' in _policy_same_as_from_nothing(c)

    # A form sent with a mistake shows it, though the page's form was kept before.
    kept = _policy_page(c)
    refused = _policy_page(c, promise_days="")
    assert "has-error" in refused and "has-error" not in kept


def _workload_same_as_from_nothing(c: Client) -> str:
    return same_as_from_nothing(lambda: masked(c.get("/workload/")))


@pytestmark_db
def test_the_workload_s_weeks_follow_every_change_to_the_plan_the_hours_and_the_zone(
    django_capture_on_commit_callbacks: Any,
) -> None:
    from datetime import UTC, datetime, time, timedelta

    import time_machine
    from django.utils import timezone

    from jobs import plan_store
    from jobs.models import STAGE_ORDER, EngineerDayOff, JobStatus, Role, Stage
    from tests.factories import make_user

    monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    def replanned() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            plan_store.plan_refresh()

    def job_for(engineer: User, title: str) -> Any:
        job = make_job(
            status=JobStatus.IN_PROGRESS,
            track_title=title,
            accepted_at=monday - timedelta(hours=1),
            due_at=monday + timedelta(days=3),
        )
        for position, kind in enumerate(STAGE_ORDER):
            Stage.objects.create(job=job, kind=kind, position=position, assignee=engineer)
        return job

    with time_machine.travel(monday, tick=False):
        ada = make_user(Role.ENGINEER, first_name="Ada")
        make_user(Role.ENGINEER, first_name="Ben")  # works when Ada is off: the day is shown
        first = job_for(ada, "Copper Sky")
        replanned()
        c = _logged_in(make_user(Role.MANAGER))
        page = _workload_same_as_from_nothing(c)
        assert "Copper Sky · Listening" in page

        # More work (new blocks), and a renamed track (new labels), each re-planned.
        job_for(ada, "Open Water")
        replanned()
        assert "Open Water · " in _workload_same_as_from_nothing(c)
        first.track_title = "Copper Skies"
        first.save(update_fields=["track_title"])
        replanned()
        assert "Copper Skies · Listening" in _workload_same_as_from_nothing(c)

        # The cap and the hours changed, and a day off, before the next re-plan.
        _policy_changed(daily_listening_cap_min=200)
        assert "of 3 h 20 min cap" in _workload_same_as_from_nothing(c)
        _policy_changed(workday_end=time(17, 0))
        assert "hours 8 h" in _workload_same_as_from_nothing(c)
        EngineerDayOff.objects.create(engineer=ada, date=monday.date() + timedelta(days=1))
        assert "Day off" in _workload_same_as_from_nothing(c)

        # The times shown in another zone.
        with timezone.override("America/New_York"):
            assert '<time datetime="' in _workload_same_as_from_nothing(c)
        _workload_same_as_from_nothing(c)  # the studio's zone's fragments kept again

    # A week on: the same weekdays, their dates moved on (Ben's week is as empty as before).
    with time_machine.travel(monday + timedelta(days=7), tick=False):
        replanned()
        assert "Mon 7 Dec" in _workload_same_as_from_nothing(c)


def _compliance_same_as_from_nothing(c: Client, query: str) -> str:
    return same_as_from_nothing(lambda: masked(c.get(f"/compliance/?{query}")))


@pytestmark_db
def test_the_compliance_sections_follow_every_change_to_the_listening_breaks_and_overrides() -> (
    None
):
    from datetime import UTC, datetime, timedelta

    from jobs.models import (
        EarBreak,
        EngineerProfile,
        JobEvent,
        JobStatus,
        ListeningSession,
        Role,
        Stage,
    )
    from tests.factories import make_user

    day = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    week = "start=2026-11-23&end=2026-11-29"
    ada = make_user(Role.ENGINEER, first_name="Ada")
    maya = make_user(Role.MANAGER, first_name="Maya")
    job = make_job(status=JobStatus.IN_PROGRESS, track_title="Copper Sky")
    stage = Stage.objects.create(job=job, kind="listening", position=0, assignee=ada)
    # Two engineers of the same name and no listening: their sections differ by their ids only.
    twins = [make_user(Role.ENGINEER, first_name="Sam") for _ in range(2)]
    c = _logged_in(maya)
    page = _compliance_same_as_from_nothing(c, week)
    assert all(f'id="c-{twin.pk}"' in page for twin in twins)

    def listened(minutes: int, dose: float | None = None) -> ListeningSession:
        return ListeningSession.objects.create(
            engineer=ada,
            stage=stage,
            started_at=day,
            ended_at=day + timedelta(minutes=minutes),
            work_seconds=minutes * 60,
            levels=[[day.isoformat(), 90.0]] if dose is not None else [],
            dose_percent=dose or 0.0,
        )

    def broke(outcome: str) -> None:
        taken = outcome == "taken"
        EarBreak.objects.create(
            engineer=ada,
            kind="short",
            outcome=outcome,
            prompted_at=day,
            started_at=day if taken else None,
            ended_at=day + timedelta(minutes=10) if taken else None,
            planned_minutes=10,
        )

    # Listening, then a louder session (a dose), and each kind of break.
    listened(50)
    assert "listening 50 min" in _compliance_same_as_from_nothing(c, week)
    loud = listened(10, dose=40.0)
    assert "dose 40 %" in _compliance_same_as_from_nothing(c, week)
    ListeningSession.objects.filter(pk=loud.pk).update(dose_percent=80.0)  # the same minutes
    assert "dose 80 %" in _compliance_same_as_from_nothing(c, week)
    broke("prompted")
    broke("prompted")
    assert "Breaks due <strong>2</strong>" in _compliance_same_as_from_nothing(c, week)
    # Answered: as many due as before.
    first, second = EarBreak.objects.filter(engineer=ada).order_by("pk")
    EarBreak.objects.filter(pk=first.pk).update(
        outcome="taken", started_at=day, ended_at=day + timedelta(minutes=10)
    )
    assert "taken <strong>1</strong>" in _compliance_same_as_from_nothing(c, week)
    EarBreak.objects.filter(pk=second.pk).update(outcome="skipped")
    assert "skipped <strong>1</strong>" in _compliance_same_as_from_nothing(c, week)

    # A cap of her own, and the studio's dose limit.
    EngineerProfile.objects.update_or_create(user=ada, defaults={"daily_listening_cap_min": 45})
    assert "1 day over the cap" in _compliance_same_as_from_nothing(c, week)
    _policy_changed(daily_dose_limit_pct=30)
    assert "over the dose limit" in _compliance_same_as_from_nothing(c, week)

    # A fresh-ears override, its reason reworded, her name, and another period.
    JobEvent.objects.create(
        job=job,
        at=day,
        actor=maya,
        kind="stage",
        subject="listening",
        from_value="fresh ears",
        to_value=f"overridden for {ada.username}",
        note="booked session",
    )
    assert "booked session" in _compliance_same_as_from_nothing(c, week)
    JobEvent.objects.create(
        job=job,
        at=day + timedelta(hours=1),
        actor=None,
        kind="stage",
        subject="delivery",
        from_value="fresh ears",
        to_value=f"overridden for {ada.username}",
        note="client waiting",
    )
    page = _compliance_same_as_from_nothing(c, week)
    assert "Fresh-ears overrides <strong>2</strong>" in page and "client waiting" in page
    User.objects.filter(pk=ada.pk).update(last_name="Byron")
    assert ">Ada Byron<" in _compliance_same_as_from_nothing(c, week)
    page = _compliance_same_as_from_nothing(c, "start=2026-11-24&end=2026-11-26")
    assert "Thu 26 Nov" in page and "Fri 27 Nov" not in page
    # The next week, as long: the twins' empty days now have other dates.
    _compliance_same_as_from_nothing(c, week)
    assert "Mon 30 Nov" in _compliance_same_as_from_nothing(c, "start=2026-11-30&end=2026-12-06")
