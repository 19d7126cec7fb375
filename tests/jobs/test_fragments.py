"""Rendered fragments (jobs.fragments): read back for the same key, rendered anew for another,
and on the job page and the intake poll always what a page rendered from nothing would show,
after every change to what they show."""

from __future__ import annotations

import re
from itertools import count
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analysis.models import AnalysisStatus, FileAnalysis
from jobs.fragments import content_key
from jobs.models import AudioFile, FileKind, JobStatus, User, Verdict
from jobs.review.models import FilePeaks, ReviewCopy
from jobs.review.services import review_after_measure
from tests.factories import make_audio_file, make_job
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


# What differs between any two responses: the masked CSRF token and the CSP nonce.
PER_RESPONSE = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": "|nonce=")[^"]+')


def _pages(client: Client, job_pk: object) -> tuple[str, str]:
    page = client.get(reverse("job_detail", args=[job_pk])).content.decode()
    poll = client.get(reverse("job_intake", args=[job_pk]), HTTP_HX_REQUEST="true")
    return PER_RESPONSE.sub(r"\1", page), PER_RESPONSE.sub(r"\1", poll.content.decode())


def _as_from_nothing(client: Client, job_pk: object) -> tuple[str, str]:
    caches["fragments"].clear()
    return _pages(client, job_pk)


def _same_as_from_nothing(client: Client, job_pk: object) -> tuple[str, str]:
    """The job page and the intake poll (the fragments kept from before), checked against both
    rendered with no fragment kept."""
    seen = _pages(client, job_pk)
    assert seen == _as_from_nothing(client, job_pk)
    return seen


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
