"""The levelling preview: while a job waits on the client over minor clipping, the studio sends a
short sample of the levelled master with a note, measured like any file and never a master; the
client answers carry on (the job is accepted, the clock starts) or re-export (the job waits for
new files), with history and an email to the studio."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from analysis.audio.length import declared_length
from analysis.models import AnalysisStatus, FileAnalysis
from analysis.selectors import intake_files
from analysis.services import file_measure, intake_start, preview_add
from jobs.models import (
    AudioFile,
    EventKind,
    FileKind,
    Job,
    JobEvent,
    JobStatus,
    LevellingPreview,
    PreviewAnswer,
    Role,
    StudioPolicy,
    User,
    Verdict,
)
from jobs.portal import home_cards
from jobs.review.room import room_sources
from jobs.services import WrongState, job_acknowledge, job_submit
from jobs.services.preview import open_preview, preview_answer
from jobs.uploads import UploadError, audio_file_add, client_bytes_used
from tests.factories import make_audio_file, make_job, make_user, wav_bytes

pytestmark = pytest.mark.django_db

NOTE = "Levelled to -10 LUFS: the clipped snare at 1:02 turns harsh."


def waiting_job(client: User) -> Job:
    """A job intake accepted with minor clipping, waiting for the client's acknowledgement."""
    from jobs.services import job_record_verdict, job_start_analysis

    job = make_job(client=client)
    make_audio_file(job, name="Drums - Billie Jean.wav")
    make_audio_file(
        job, kind=FileKind.ROUGH_MIX, name="Billie Jean rough.wav", content=wav_bytes(peak=0.3)
    )
    job_submit(job=job, by=client)
    job_start_analysis(job=job)
    job_record_verdict(job=job, verdict=Verdict.ACCEPTED_WITH_WARNINGS, needs_acknowledgement=True)
    job.refresh_from_db()
    assert job.awaits_acknowledgement
    return job


def send(
    job: Job, by: User, *, seconds: float = 10.0, name: str = "Preview.wav", **kw: Any
) -> LevellingPreview:
    content = io.BytesIO(kw.pop("content", None) or wav_bytes(seconds, peak=0.9))
    return preview_add(job=job, content=content, name=name, note=kw.pop("note", NOTE), by=by)


def _client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def job(client_user: User) -> Job:
    return waiting_job(client_user)


# --- the length from the header ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "AIFF"])
def test_the_declared_length_is_read_from_the_header(fmt: str) -> None:
    found = declared_length(io.BytesIO(wav_bytes(2.5, rate=44100, fmt=fmt)))
    assert found.seconds == pytest.approx(2.5, abs=1e-3)


def test_a_file_that_is_not_audio_has_no_length_and_says_what_it_is() -> None:
    found = declared_length(io.BytesIO(b"%PDF-1.7 not audio at all" * 100))
    assert found.seconds is None and "PDF" in found.what
    assert declared_length(io.BytesIO(b"")).seconds is None


# --- sending -----------------------------------------------------------------------------------


def test_an_engineer_sends_a_preview_measured_like_any_file_and_never_a_master(
    job: Job, engineer: User, client_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        preview = send(job, engineer)
    audio = preview.audio_file
    assert audio.kind == FileKind.PREVIEW and audio.uploaded_by == engineer
    analysis = FileAnalysis.objects.get(audio_file=audio)
    assert analysis.status == AnalysisStatus.DONE  # measured (tasks run in process here)
    assert analysis.report["integrated_lufs"] is not None
    assert all(f["severity"] == "info" for f in analysis.report["findings"])  # never judged
    job.refresh_from_db()
    assert job.status == JobStatus.AWAITING_CLIENT and job.awaits_acknowledgement
    assert open_preview(job) == preview
    # Not the client's hand-in, not a master, not the client's storage.
    assert audio not in intake_files(job)
    assert not AudioFile.objects.filter(job=job, kind=FileKind.MASTER).exists()
    assert client_bytes_used(job.organisation_id) == sum(
        f.size_bytes for f in job.files.exclude(kind=FileKind.PREVIEW)
    )
    event = JobEvent.objects.get(job=job, kind=EventKind.NOTE, subject="levelling preview")
    assert event.to_value == "sent" and NOTE in event.note and event.actor == engineer
    [email] = mail.outbox
    assert email.to == [client_user.email] and NOTE in email.body


def test_a_preview_longer_than_the_policy_is_refused_before_it_is_stored(
    job: Job, engineer: User
) -> None:
    policy = StudioPolicy.current()
    policy.preview_max_seconds = 5
    policy.save()
    with pytest.raises(UploadError, match=r"6\.0 s long; a levelling preview is at most 5 s"):
        send(job, engineer, seconds=6.0)
    assert not AudioFile.objects.filter(job=job, kind=FileKind.PREVIEW).exists()
    assert not LevellingPreview.objects.exists()
    send(job, engineer, seconds=5.0)  # at the limit is fine


def test_a_preview_that_is_not_audio_is_refused(job: Job, engineer: User) -> None:
    with pytest.raises(UploadError, match="looks like a PDF document"):
        send(job, engineer, content=b"%PDF-1.7 " * 500, name="notes.pdf")
    assert not AudioFile.objects.filter(job=job, kind=FileKind.PREVIEW).exists()


def test_no_preview_without_a_note_nor_from_a_client_nor_outside_minor_clipping(
    job: Job, engineer: User, client_user: User
) -> None:
    with pytest.raises(UploadError, match="Add a note"):
        send(job, engineer, note="  ")
    with pytest.raises(UploadError, match="engineers and managers"):
        send(job, client_user)
    job_acknowledge(job=job, by=client_user)
    with pytest.raises(UploadError, match="waiting on the client over minor clipping"):
        send(job, engineer)
    assert not AudioFile.objects.filter(job=job, kind=FileKind.PREVIEW).exists()


def test_a_client_cannot_hand_in_a_preview_as_a_file(job: Job, client_user: User) -> None:
    # The upload service takes the kind from its caller; the client's views refuse it (403,
    # test_views below); the status rule still holds once the job moves.
    job_acknowledge(job=job, by=client_user)
    with pytest.raises(UploadError, match="levelling preview can be sent while"):
        audio_file_add(
            job=job,
            content=io.BytesIO(wav_bytes()),
            name="x.wav",
            kind=FileKind.PREVIEW,
            by=client_user,
        )


def test_intake_never_measures_or_judges_a_preview(
    job: Job, engineer: User, client_user: User
) -> None:
    preview = send(job, engineer)
    preview_answer(job=job, preview_id=preview.pk, answer=PreviewAnswer.REEXPORT, by=client_user)
    job.refresh_from_db()
    job_submit(job=job, by=client_user)
    queued = intake_start(job=job)
    names = set(
        FileAnalysis.objects.filter(pk__in=queued).values_list("audio_file__kind", flat=True)
    )
    assert FileKind.PREVIEW not in names


# --- answering ---------------------------------------------------------------------------------


def test_carry_on_accepts_the_job_and_starts_the_clock_with_history_and_an_email(
    job: Job,
    engineer: User,
    client_user: User,
    manager: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    preview = send(job, engineer)
    assert job.due_at is None
    with django_capture_on_commit_callbacks(execute=True):
        preview_answer(
            job=job, preview_id=preview.pk, answer=PreviewAnswer.CARRY_ON, by=client_user
        )
    job.refresh_from_db()
    preview.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED and job.clock_running
    assert job.due_at is not None and job.acknowledged_at is not None
    assert preview.answer == PreviewAnswer.CARRY_ON and preview.answered_by == client_user
    assert job.stages.count() == 6
    kinds = list(
        JobEvent.objects.filter(job=job, actor=client_user).values_list("kind", "to_value")
    )
    assert (EventKind.NOTE, "Carry on with these files") in kinds
    assert (EventKind.STATUS, JobStatus.ACCEPTED) in kinds
    [email] = [m for m in mail.outbox if "answered" in m.subject]
    assert set(email.to) == {engineer.email, manager.email}
    assert "Carry on with these files" in email.body and "due" in email.body


def test_reexport_waits_for_new_files_as_a_reexport_request_does(
    job: Job, engineer: User, client_user: User
) -> None:
    preview = send(job, engineer)
    preview_answer(job=job, preview_id=preview.pk, answer=PreviewAnswer.REEXPORT, by=client_user)
    job.refresh_from_db()
    assert job.status == JobStatus.AWAITING_CLIENT
    assert job.verdict == Verdict.REEXPORT_REQUESTED and not job.awaits_acknowledgement
    assert job.due_at is None
    assert open_preview(job) is None
    # The client hands in fixed files as after any re-export request.
    audio_file_add(
        job=job,
        content=io.BytesIO(wav_bytes()),
        name="Drums - Billie Jean.wav",
        kind=FileKind.STEM,
        by=client_user,
    )
    with pytest.raises(WrongState, match="Only warnings can be acknowledged"):
        job_acknowledge(job=job, by=client_user)


def test_a_stale_answer_says_what_changed_and_changes_nothing(
    job: Job, engineer: User, client_user: User
) -> None:
    first = send(job, engineer)
    second = send(job, engineer, name="Preview 2.wav")
    with pytest.raises(WrongState, match="newer preview"):
        preview_answer(job=job, preview_id=first.pk, answer=PreviewAnswer.CARRY_ON, by=client_user)
    job_acknowledge(job=job, by=client_user)  # the client carried on from the intake report
    with pytest.raises(WrongState, match="gone ahead: it is accepted"):
        preview_answer(job=job, preview_id=second.pk, answer=PreviewAnswer.REEXPORT, by=client_user)
    second.refresh_from_db()
    job.refresh_from_db()
    assert second.answer == "" and job.status == JobStatus.ACCEPTED


def test_an_answered_preview_cannot_be_answered_again(
    job: Job, engineer: User, client_user: User
) -> None:
    preview = send(job, engineer)
    preview_answer(job=job, preview_id=preview.pk, answer=PreviewAnswer.REEXPORT, by=client_user)
    with pytest.raises(WrongState, match=r"answered \(i'll re-export\) and the job now waits"):
        preview_answer(
            job=job, preview_id=preview.pk, answer=PreviewAnswer.CARRY_ON, by=client_user
        )


def test_only_the_client_or_a_manager_answers(job: Job, engineer: User, outsider: User) -> None:
    from jobs.services import NotAllowed

    preview = send(job, engineer)
    for who in (engineer, outsider):
        with pytest.raises(NotAllowed):
            preview_answer(job=job, preview_id=preview.pk, answer=PreviewAnswer.CARRY_ON, by=who)


# --- what the pages read ----------------------------------------------------------------------


def test_the_room_plays_the_preview_beside_the_rough_mix_at_matched_loudness(
    job: Job, engineer: User, client_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        send(job, engineer)  # peak 0.9: louder than the rough mix (peak 0.3)
    rough = job.files.get(kind=FileKind.ROUGH_MIX)
    analysis = FileAnalysis.objects.create(audio_file=rough)
    file_measure(analysis_id=analysis.pk)
    sources = room_sources(job, client_user)
    assert [s.label for s in sources] == ["Levelling preview", "Rough mix"]
    preview, mix = sources
    assert preview.is_preview and not preview.is_master
    assert preview.lufs is not None and mix.lufs is not None and preview.lufs > mix.lufs
    assert preview.gains is not None and mix.gains is not None
    assert preview.gains.matched == pytest.approx(mix.lufs - preview.lufs, abs=0.01)
    assert mix.gains.matched == 0.0


def test_the_clients_home_asks_them_to_hear_the_preview(job: Job, engineer: User) -> None:
    [card] = home_cards([job])
    assert card.ask is not None and card.ask.action == "Review the warnings"
    send(job, engineer)
    [card] = home_cards([job])
    assert card.ask is not None and card.ask.action == "Hear the preview"
    assert card.ask.url.endswith("#levelling-preview")


# --- the views ---------------------------------------------------------------------------------


def _post_preview(c: Client, job: Job, data: bytes, *, name: str = "Preview.wav", note: str = NOTE):
    return c.post(
        reverse("job_preview_upload", args=[job.pk]),
        {"file": SimpleUploadedFile(name, data, "audio/wav"), "note": note},
    )


def test_views_who_may_send(
    job: Job, engineer: User, manager: User, client_user: User, outsider: User
) -> None:
    assert _post_preview(_client(outsider), job, wav_bytes()).status_code == 404
    assert _post_preview(_client(client_user), job, wav_bytes()).status_code == 403
    for who in (engineer, manager):
        response = _post_preview(_client(who), job, wav_bytes(), name=f"{who.username}.wav")
        assert response.status_code == 302, response.content
    assert LevellingPreview.objects.filter(job=job).count() == 2


def test_the_job_page_offers_the_engineer_the_upload_and_the_client_the_answer(
    job: Job, engineer: User, client_user: User
) -> None:
    page = _client(engineer).get(reverse("job_detail", args=[job.pk])).content.decode()
    assert reverse("job_preview_upload", args=[job.pk]) in page and "at most 60 s" in page
    client_page = _client(client_user).get(reverse("job_detail", args=[job.pk])).content.decode()
    assert reverse("job_preview_upload", args=[job.pk]) not in client_page
    preview = send(job, engineer)
    client_page = _client(client_user).get(reverse("job_detail", args=[job.pk])).content.decode()
    answer_url = reverse("job_preview_answer", args=[job.pk, preview.pk])
    assert answer_url in client_page and "We need from you" in client_page
    assert NOTE.replace("'", "&#x27;") in client_page and "Levelling preview" in client_page
    assert 'id="review-room"' in client_page


def test_views_refuse_a_long_preview_and_a_non_audio_file_with_a_message(
    job: Job, engineer: User
) -> None:
    c = _client(engineer)
    response = _post_preview(c, job, wav_bytes(61.0, rate=8000, channels=1))
    assert response.status_code == 400
    assert "61.0 s long; a levelling preview is at most 60 s" in response.content.decode()
    response = _post_preview(c, job, b"<html><body>hello</body></html>" * 50, name="x.wav")
    assert (
        response.status_code == 400 and "is not a preview we can play" in response.content.decode()
    )
    response = c.post(reverse("job_preview_upload", args=[job.pk]), {"note": NOTE})
    assert response.status_code == 400 and "Choose the preview" in response.content.decode()
    assert not LevellingPreview.objects.exists()


def test_views_who_may_answer_and_a_stale_answer(
    job: Job, engineer: User, client_user: User, outsider: User
) -> None:
    preview = send(job, engineer)
    url = reverse("job_preview_answer", args=[job.pk, preview.pk])
    assert _client(outsider).post(url, {"answer": "carry_on"}).status_code == 404
    assert _client(engineer).post(url, {"answer": "carry_on"}).status_code == 403
    assert _client(client_user).post(url, {"answer": "maybe"}).status_code == 400
    response = _client(client_user).post(url, {"answer": "carry_on"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED and job.due_at is not None
    stale = _client(client_user).post(url, {"answer": "reexport"})
    assert stale.status_code == 400
    assert "already answered (carry on with these files)" in stale.content.decode()
    missing = reverse("job_preview_answer", args=[job.pk, preview.pk + 999])
    assert _client(client_user).post(missing, {"answer": "carry_on"}).status_code == 400


def test_the_manager_answers_for_the_client_and_another_clients_colleague_cannot(
    job: Job, engineer: User, manager: User
) -> None:
    preview = send(job, engineer)
    stranger = make_user(Role.CLIENT)
    url = reverse("job_preview_answer", args=[job.pk, preview.pk])
    assert _client(stranger).post(url, {"answer": "reexport"}).status_code == 404
    assert _client(manager).post(url, {"answer": "reexport"}).status_code == 302
    job.refresh_from_db()
    assert job.verdict == Verdict.REEXPORT_REQUESTED


def test_the_managers_queue_links_to_the_preview_and_says_when_one_waits(
    job: Job, engineer: User, manager: User
) -> None:
    c = _client(manager)
    page = c.get(reverse("decisions")).content.decode()
    link = reverse("job_detail", args=[job.pk]) + "#levelling-preview"
    assert f'href="{link}">Send the client a levelling preview' in page
    send(job, engineer)
    page = c.get(reverse("decisions")).content.decode()
    assert "A levelling preview waits for the client&#x27;s answer" in page
    assert f'href="{link}">See the preview sent' in page


def test_the_client_reads_the_preview_in_the_history_once(
    job: Job, engineer: User, client_user: User
) -> None:
    preview = send(job, engineer)
    preview_answer(job=job, preview_id=preview.pk, answer=PreviewAnswer.CARRY_ON, by=client_user)
    from jobs.selectors import job_history
    from jobs.timeline import job_timeline

    titles = [e.title for e in job_timeline(job, job_history(job), viewer=client_user)]
    assert titles.count("Levelling preview sent") == 1
    assert "Preview answered: Carry on with these files" in titles
    assert not any(t.startswith("Levelling preview added") for t in titles)


def test_a_client_cannot_pass_a_file_or_a_link_off_as_a_preview(
    job: Job, client_user: User
) -> None:
    c = _client(client_user)
    response = c.post(
        reverse("job_upload", args=[job.pk]),
        {"files": [SimpleUploadedFile("x.wav", wav_bytes(), "audio/wav")], "kind": "preview"},
    )
    assert response.status_code == 403
    response = c.post(
        reverse("job_cloud_link", args=[job.pk]),
        {"url": "https://www.dropbox.com/s/abc/x.wav?dl=0", "kind": "preview"},
        follow=True,
    )
    assert "A link brings stems, the rough mix or references" in response.content.decode()
    assert not AudioFile.objects.filter(job=job, kind=FileKind.PREVIEW).exists()


def test_the_intake_report_points_at_the_preview_instead_of_asking_twice(
    job: Job, engineer: User, client_user: User
) -> None:
    from analysis.models import IntakeReport

    IntakeReport.objects.create(job=job, verdict=Verdict.ACCEPTED_WITH_WARNINGS, summary="s")
    page = reverse("job_detail", args=[job.pk])
    assert "Go ahead with these files" in _client(client_user).get(page).content.decode()
    send(job, engineer)
    client_page = _client(client_user).get(page).content.decode()
    assert "Go ahead with these files" not in client_page
    assert 'href="#levelling-preview">levelling preview</a>' in client_page
