"""Comments pinned to the track: moments and ranges inside the file, internal or shared with the
client, replies and resolving; a client's revision request made of its comments; the markers a
DAW imports, read back."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs.models import JobEvent, JobStatus, Role, User
from jobs.review.markers import Marker, marker_list, parse_reaper_csv, parse_time, reaper_csv
from jobs.review.models import Comment, Visibility
from tests.factories import make_user
from tests.jobs.review.conftest import Delivered

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def _client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _comment(c: Client, d: Delivered, **data: str) -> object:
    fields = {"file": str(d.master.pk), "text": "The vocal is too quiet", **data}
    return c.post(f"/jobs/{d.job.pk}/comments/", fields, **HTMX)


def test_a_client_pins_a_range_comment_to_the_delivered_master(
    delivered: Delivered, client_user: User
) -> None:
    response = _comment(_client(client_user), delivered, start="0:01.250", end="0:02.5")
    assert response.status_code == 200
    assert b'id="comments"' in response.content and b"Comment added." in response.content
    c = Comment.objects.get()
    assert (c.start_s, c.end_s, c.visibility) == (1.25, 2.5, Visibility.CLIENT)
    assert (c.audio_file_id, c.revision_round, c.author) == (delivered.master.pk, 0, client_user)
    page = _client(client_user).get(f"/jobs/{delivered.job.pk}/").content.decode()
    assert "0:01.250\u20130:02.500" in page and "The vocal is too quiet" in page


def test_a_comment_outside_the_file_is_refused_with_the_reason(
    delivered: Delivered, client_user: User
) -> None:
    c = _client(client_user)
    late = _comment(c, delivered, start="0:04.000")
    assert late.status_code == 400
    assert "0:04.000 is outside Master - Billie Jean.wav, which is 0:03.000 long" in (
        late.content.decode()
    )
    past = _comment(c, delivered, start="0:02.000", end="0:09.000")
    assert past.status_code == 400 and "after the end of" in past.content.decode()
    backwards = _comment(c, delivered, start="0:02.000", end="0:01.000")
    assert "must end after it starts" in backwards.content.decode()
    nonsense = _comment(c, delivered, start="soon")
    assert nonsense.status_code == 400 and "is not a time" in nonsense.content.decode()
    empty = _comment(c, delivered, start="0:01.000", text="  ")
    assert "Write the comment first." in empty.content.decode()
    assert not Comment.objects.exists()
    # Without htmx the page says the same after the redirect.
    plain = c.post(
        f"/jobs/{delivered.job.pk}/comments/",
        {"file": str(delivered.master.pk), "start": "9:00.000", "text": "x"},
        follow=True,
    )
    assert "is outside" in plain.content.decode()


def test_internal_comments_stay_in_the_studio(
    delivered: Delivered, client_user: User, engineer: User
) -> None:
    studio = _client(engineer)
    _comment(studio, delivered, start="0:00.500", text="Limiter pumps here", visibility="internal")
    _comment(studio, delivered, start="0:01.000", text="Shared note", visibility="client")
    client_page = _client(client_user).get(f"/jobs/{delivered.job.pk}/").content.decode()
    assert "Shared note" in client_page and "Limiter pumps here" not in client_page
    internal = Comment.objects.get(visibility=Visibility.INTERNAL)
    assert (
        _client(client_user).post(f"/comments/{internal.pk}/reply/", {"text": "?"}).status_code
        == 404
    )
    csv_text = _client(client_user).get(f"/jobs/{delivered.job.pk}/markers/").content.decode()
    assert "Shared note" in csv_text and "Limiter" not in csv_text
    # A client cannot make an internal comment.
    _comment(_client(client_user), delivered, start="0:02.000", text="Mine", visibility="internal")
    assert Comment.objects.get(text="Mine").visibility == Visibility.CLIENT


def test_replies_share_the_place_and_resolving_closes_a_comment(
    delivered: Delivered, client_user: User, engineer: User
) -> None:
    _comment(_client(client_user), delivered, start="0:01.000", end="0:02.000")
    parent = Comment.objects.get()
    reply = _client(engineer).post(f"/comments/{parent.pk}/reply/", {"text": "On it"}, **HTMX)
    assert reply.status_code == 200 and b"On it" in reply.content
    r = Comment.objects.get(parent=parent)
    assert (r.start_s, r.end_s, r.visibility, r.author) == (1.0, 2.0, Visibility.CLIENT, engineer)
    done = _client(engineer).post(f"/comments/{parent.pk}/resolve/", {"resolved": "1"}, **HTMX)
    assert done.status_code == 200
    parent.refresh_from_db()
    assert parent.resolved_at is not None and parent.resolved_by == engineer
    _client(client_user).post(f"/comments/{parent.pk}/resolve/", {"resolved": "0"})
    parent.refresh_from_db()
    assert parent.resolved_at is None


def test_a_revision_is_made_of_the_clients_comments_and_the_engineer_sees_them(
    delivered: Delivered, client_user: User, engineer: User
) -> None:
    c = _client(client_user)
    _comment(c, delivered, start="0:01.000", end="0:02.000", text="Vocal up in the chorus")
    _comment(c, delivered, start="0:02.500", text="Click here")
    _comment(_client(engineer), delivered, start="0:00.100", text="Our note", visibility="internal")
    page = c.get(f"/jobs/{delivered.job.pk}/").content.decode()
    assert 'name="comments"' in page and "Our note" not in page
    ids = [
        str(pk) for pk in Comment.objects.filter(author=client_user).values_list("pk", flat=True)
    ]

    response = c.post(f"/jobs/{delivered.job.pk}/revision/comments/", {"comments": ids})
    assert response.status_code == 302
    job = delivered.job
    job.refresh_from_db()
    assert (job.status, job.revision_round) == (JobStatus.REVISION_REQUESTED, 1)
    event = JobEvent.objects.filter(job=job, to_value=JobStatus.REVISION_REQUESTED).get()
    assert "2 comments" in event.note and "0:01.000-0:02.000: Vocal up in the chorus" in event.note
    assert set(
        Comment.objects.filter(author=client_user).values_list("requested_in_round", flat=True)
    ) == {1}

    studio_page = _client(engineer).get(f"/jobs/{job.pk}/").content.decode()
    opened = studio_page.split('id="open-comments-title"')[1].split("</section>")[0]
    assert "Vocal up in the chorus" in opened and "in the revision request" in opened
    assert "Our note" in opened  # the studio's own open notes too


def test_a_revision_needs_a_comment_or_a_note_and_only_the_client_asks(
    delivered: Delivered, client_user: User, engineer: User
) -> None:
    c = _client(client_user)
    refused = c.post(f"/jobs/{delivered.job.pk}/revision/comments/", {}, follow=True)
    assert "Choose the comments" in refused.content.decode()
    delivered.job.refresh_from_db()
    assert delivered.job.status == JobStatus.DELIVERED
    assert _client(engineer).post(f"/jobs/{delivered.job.pk}/revision/comments/").status_code == 403
    stale = c.post(
        f"/jobs/{delivered.job.pk}/revision/comments/", {"comments": ["999999"]}, follow=True
    )
    assert "meanwhile" in stale.content.decode()


def test_the_markers_a_daw_imports_read_back_as_the_comments(
    delivered: Delivered, client_user: User, engineer: User
) -> None:
    c = _client(client_user)
    _comment(c, delivered, start="0:01.250", end="0:02.750", text="Vocal, too quiet")
    _comment(c, delivered, start="0:00.500", text='A "click"')
    _comment(_client(engineer), delivered, start="0:02.000", text="Limiter", visibility="internal")
    response = _client(engineer).get(
        f"/jobs/{delivered.job.pk}/markers/?file={delivered.master.pk}"
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    assert text.splitlines()[0] == "#,Name,Start,End,Length,Color"
    markers = parse_reaper_csv(text)
    assert [(m.start_s, m.end_s) for m in markers] == [(0.5, None), (2.0, None), (1.25, 2.75)]
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["M1", "M2", "R1"]
    assert markers[0].name.startswith('A "click"') and markers[1].name.startswith(
        "[studio] Limiter"
    )
    assert "1:" not in text.splitlines()[3].split(",")[4] and "0:01.500" in text  # region length

    listing = (
        _client(engineer).get(f"/jobs/{delivered.job.pk}/markers/?format=txt").content.decode()
    )
    lines = listing.splitlines()
    assert lines[1].startswith('0:00.500  A "click"') and lines[2].startswith(
        "0:01.250-0:02.750  Vocal"
    )


def test_markers_round_trip_and_times_parse() -> None:
    markers = [
        Marker("Intro, soft", 0.0),
        Marker("Chorus", 61.5, 75.25, "D97706"),
        Marker("Out", 3599.999),
    ]
    back = parse_reaper_csv(reaper_csv(markers))
    assert sorted(back, key=lambda m: m.start_s) == sorted(markers, key=lambda m: m.start_s)
    assert "59:59.999  Out" in marker_list(markers)
    assert parse_time("1:02:03.5") == 3723.5 and parse_time("12.25") == 12.25
    for bad in ("", "1:75.000", "abc", "-3"):
        with pytest.raises(ValueError):
            parse_time(bad)
    with pytest.raises(ValueError):
        parse_reaper_csv("Name,Start\nfoo,0:01.000\n")


def test_outsiders_never_reach_a_comment(delivered: Delivered, client_user: User) -> None:
    _comment(_client(client_user), delivered, start="0:01.000")
    comment = Comment.objects.get()
    outsider = _client(make_user(Role.CLIENT))
    assert _comment(outsider, delivered, start="0:01.000").status_code == 404
    for path in (f"/comments/{comment.pk}/reply/", f"/comments/{comment.pk}/resolve/"):
        assert outsider.post(path, {"text": "x"}).status_code == 404
    assert outsider.get(f"/jobs/{delivered.job.pk}/markers/").status_code == 404
