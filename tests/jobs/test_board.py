"""The manager's deadline board: urgency order, deadline states, filters, closed jobs, CSV,
who may see it, and its query count."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs.board import BoardFilters, board
from jobs.models import STAGE_ORDER, Job, JobStatus, Role, Stage, User
from tests.factories import make_job, make_organisation, make_user

pytestmark = pytest.mark.django_db


def _stages(job: Job, engineer: User | None, done: int = 0) -> None:
    now = timezone.now()
    for position, kind in enumerate(STAGE_ORDER):
        finished = position < done
        Stage.objects.create(
            job=job,
            kind=kind,
            position=position,
            assignee=engineer,
            status="done" if finished else "pending",
            started_at=now if finished else None,
            finished_at=now if finished else None,
        )


def _running(title: str, *, due_in: timedelta, finish_in: timedelta, **kw: Any) -> Job:
    now = timezone.now()
    return make_job(
        status=JobStatus.IN_PROGRESS,
        track_title=title,
        accepted_at=now - timedelta(days=2),
        due_at=now + due_in,
        predicted_finish_at=now + finish_in,
        **kw,
    )


@pytest.fixture
def manager_client() -> Client:
    c = Client()
    c.force_login(make_user(Role.MANAGER))
    return c


def test_open_jobs_come_most_urgent_first_and_closed_ones_stay_off() -> None:
    roomy = _running("Roomy", due_in=timedelta(days=3), finish_in=timedelta(days=1))
    tight = _running("Tight", due_in=timedelta(days=2), finish_in=timedelta(days=1, hours=20))
    risky = _running(
        "Risky", due_in=timedelta(hours=5), finish_in=timedelta(hours=9), deadline_status="at_risk"
    )
    # Past due with a stale "on track" from the last plan: the board says overdue at once.
    late = _running("Late", due_in=timedelta(hours=-1), finish_in=timedelta(hours=3))
    draft = make_job(track_title="Draft")
    make_job(status=JobStatus.APPROVED, track_title="Done")
    make_job(status=JobStatus.CANCELLED, track_title="Gone")

    result = board(BoardFilters())

    assert [r.job for r in result.rows] == [late, risky, tight, roomy, draft]
    assert [r.state for r in result.rows] == ["overdue", "at_risk", "on_track", "on_track", ""]
    assert result.counts == {"overdue": 1, "at_risk": 1, "on_track": 2}
    assert result.rows[2].slack == timedelta(hours=4)


def test_the_row_shows_the_current_stage_progress_engineers_and_paused_time() -> None:
    ada = make_user(Role.ENGINEER, first_name="Ada", last_name="Okafor")
    now = timezone.now()
    job = make_job(
        status=JobStatus.ON_HOLD,
        status_before_hold=JobStatus.IN_PROGRESS,
        accepted_at=now - timedelta(days=1),
        due_at=now + timedelta(days=2),
        paused_at=now - timedelta(hours=2),
        paused_total=timedelta(hours=1),
    )
    _stages(job, ada, done=2)

    (row,) = board(BoardFilters(), now=now).rows

    assert row.stage is not None and row.stage.kind == "level_balancing"
    assert (row.done, row.total) == (2, 6)
    assert row.engineers == [ada]
    assert row.paused == timedelta(hours=3)


def test_closed_jobs_have_their_own_view_without_a_deadline_state(
    manager_client: Client,
) -> None:
    make_job(
        status=JobStatus.APPROVED,
        track_title="Shipped Song",
        accepted_at=timezone.now() - timedelta(days=4),
        due_at=timezone.now() - timedelta(days=1),
        closed_at=timezone.now(),
    )
    _running("Open Song", due_in=timedelta(days=2), finish_in=timedelta(days=1))

    closed = manager_client.get("/board/?view=closed").content.decode()
    open_ = manager_client.get("/board/").content.decode()

    assert "Shipped Song" in closed and "Open Song" not in closed
    assert "On track" not in closed and "Overdue" not in closed
    assert "Shipped Song" not in open_ and "Open Song" in open_
    # The job list elsewhere no longer calls an approved job "On track" either.
    listing = manager_client.get("/jobs/all/").content.decode()
    assert "On track" not in listing.split("Shipped Song")[1][:400]


def test_the_filters_narrow_the_board(manager_client: Client) -> None:
    ada, ben = make_user(Role.ENGINEER), make_user(Role.ENGINEER)
    nova, echo = make_organisation("Nova Records"), make_organisation("Echo Park")
    nova_client = make_user(Role.CLIENT, organisation=nova)
    echo_client = make_user(Role.CLIENT, organisation=echo)
    a = _running("Alpha", due_in=timedelta(days=2), finish_in=timedelta(days=1), client=nova_client)
    b = _running(
        "Bravo",
        due_in=timedelta(hours=2),
        finish_in=timedelta(hours=5),
        client=echo_client,
        deadline_status="at_risk",
    )
    c = make_job(client=nova_client, track_title="Charlie", artist="Quiet Type")
    _stages(a, ada)
    _stages(b, ben)

    def titles(query: str) -> list[str]:
        return [r.job.track_title for r in board(BoardFilters.from_query(query_dict(query))).rows]

    assert titles(f"engineer={ada.pk}") == ["Alpha"]
    assert titles(f"client={echo.pk}") == ["Bravo"]
    assert titles("state=at_risk") == ["Bravo"]
    assert titles("status=draft") == ["Charlie"]
    assert titles("q=quiet") == ["Charlie"]
    assert titles("q=nova") == ["Alpha", "Charlie"]
    # Values the board does not know show the whole board, never an error.
    assert titles("engineer=x&status=nonsense&state=late") == ["Bravo", "Alpha", "Charlie"]
    assert c.pk

    page = manager_client.get(f"/board/?client={echo.pk}")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Bravo" in body and "Alpha" not in body
    assert f'<option value="{echo.pk}" selected>' in body


def query_dict(query: str) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(query))


def test_htmx_gets_the_board_region_only(manager_client: Client) -> None:
    _running("Alpha", due_in=timedelta(days=2), finish_in=timedelta(days=1))
    body = manager_client.get("/board/?q=alp", headers={"HX-Request": "true"}).content.decode()
    assert body.lstrip().startswith('<section id="board"')
    assert "<html" not in body and "Alpha" in body


def test_the_csv_export_has_the_filtered_rows(manager_client: Client) -> None:
    _running("Alpha, the first", due_in=timedelta(days=2), finish_in=timedelta(days=1))
    _running("Bravo", due_in=timedelta(hours=-2), finish_in=timedelta(hours=5))

    response = manager_client.get("/board.csv?state=overdue")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["Track", "Artist", "Client", "Status", "Deadline"]
    assert [r[0] for r in rows[1:]] == ["Bravo"]
    assert rows[1][4] == "Overdue"
    everything = list(csv.reader(io.StringIO(manager_client.get("/board.csv").content.decode())))
    assert [r[0] for r in everything[1:]] == ["Bravo", "Alpha, the first"]


@pytest.mark.parametrize(
    "typed", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_what_clients_typed_never_runs_as_a_formula_in_the_csv(
    manager_client: Client, typed: str
) -> None:
    client = make_user(Role.CLIENT, organisation=make_organisation(typed))
    _running(typed, due_in=timedelta(days=2), finish_in=timedelta(days=1), client=client,
             artist=typed)  # fmt: skip
    _running("Plain - title", due_in=timedelta(days=3), finish_in=timedelta(days=1))

    rows = list(csv.reader(io.StringIO(manager_client.get("/board.csv").content.decode())))

    by_title = {r[0]: r for r in rows[1:]}
    assert by_title["'" + typed][:3] == ["'" + typed] * 3  # title, artist, client: text
    assert "Plain - title" in by_title  # a dash inside a cell is left alone


@pytest.mark.parametrize("path", ["/board/", "/board/?view=closed", "/board.csv"])
def test_only_managers_see_the_board(path: str) -> None:
    job = _running("Secret Song", due_in=timedelta(days=2), finish_in=timedelta(days=1))
    for role in (Role.ENGINEER, Role.CLIENT):
        c = Client()
        c.force_login(make_user(role))
        assert c.get(path).status_code == 403, role
    owner = Client()
    owner.force_login(job.created_by)
    response = owner.get(path)
    assert response.status_code == 403 and b"Secret Song" not in response.content
    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    manager = Client()
    manager.force_login(make_user(Role.MANAGER))
    assert manager.post(path).status_code == 405


def _queries(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def _fill(n: int, engineers: list[User]) -> None:
    for i in range(n):
        job = _running(f"Song {i}", due_in=timedelta(days=1 + i % 4), finish_in=timedelta(days=1))
        _stages(job, engineers[i % 2], done=i % 6)
        make_job(track_title=f"Draft {i}")


@pytest.mark.parametrize("path", ["/board/", "/board/?view=closed", "/board.csv"])
def test_the_board_costs_the_same_for_10_and_200_jobs(manager_client: Client, path: str) -> None:
    engineers = [make_user(Role.ENGINEER), make_user(Role.ENGINEER)]
    _fill(5, engineers)
    _queries(manager_client, path)  # the first request may create the studio's policy row
    small = _queries(manager_client, path)
    _fill(95, engineers)
    assert Job.objects.count() == 200
    assert _queries(manager_client, path) == small


def test_a_big_board_comes_a_page_at_a_time_and_the_csv_has_every_row(
    manager_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobs import board as board_module

    monkeypatch.setattr(board_module, "PER_PAGE", 3)
    engineer = make_user(Role.ENGINEER)
    for i in range(7):
        job = _running(f"Song {i}", due_in=timedelta(days=1 + i), finish_in=timedelta(hours=12))
        _stages(job, None if i % 2 else engineer)  # Songs 0, 2, 4 and 6 are the engineer's
    # The order across pages is the order of the whole board.
    whole = [r.job.track_title for r in board(BoardFilters(), page=None).rows]
    paged = [r.job.track_title for n in (1, 2, 3) for r in board(BoardFilters(), page=n).rows]
    assert paged == whole == [f"Song {i}" for i in range(7)]
    last = board(BoardFilters(), page=3)
    assert last.total == 7 and len(last.rows) == 1
    # A page past the end shows the last one; nonsense shows the first.
    assert [r.job.track_title for r in board(BoardFilters(), page=99).rows] == ["Song 6"]
    assert board(BoardFilters(), page="x").rows[0].job.track_title == "Song 0"

    # The page links keep the filters; the filters' own links start again at page one.
    page = manager_client.get(f"/board/?engineer={engineer.pk}&q=song").content.decode()
    assert f'href="?engineer={engineer.pk}&amp;q=song&amp;page=2"' in page
    assert "4 jobs match the filters; 1\u20133 shown" in page
    assert [t for t in ("Song 0", "Song 2", "Song 4", "Song 6") if f">{t}<" in page] == [
        "Song 0",
        "Song 2",
        "Song 4",
    ]
    second = manager_client.get(f"/board/?engineer={engineer.pk}&q=song&page=2").content.decode()
    assert ">Song 6<" in second and ">Song 4<" not in second and ">Song 1<" not in second
    assert f'href="?engineer={engineer.pk}&amp;q=song&amp;page=1"' in second
    assert 'href="?state=at_risk"' not in second  # no state link carries a page

    rows = list(csv.reader(io.StringIO(manager_client.get("/board.csv").content.decode())))
    assert [r[0] for r in rows[1:]] == whole


@pytest.mark.parametrize("path", ["/board/", "/workload/", "/compliance/"])
def test_what_clients_and_people_typed_is_shown_as_text(manager_client: Client, path: str) -> None:
    """The board, workload and compliance write their rows in Python: every name is escaped."""
    org = make_organisation("<i>Label</i>")
    client = make_user(Role.CLIENT, organisation=org)
    engineer = make_user(Role.ENGINEER, first_name="<s>Eve</s>", last_name="&")
    job = _running(
        "<b>Track</b>",
        due_in=timedelta(days=2),
        finish_in=timedelta(days=1),
        client=client,
        artist='"<u>Artist</u>',
    )
    _stages(job, engineer)
    page = manager_client.get(path).content.decode()
    assert "<s>Eve</s>" not in page and "&lt;s&gt;Eve&lt;/s&gt;" in page
    if path != "/compliance/":
        assert "<b>Track</b>" not in page and "&lt;b&gt;Track&lt;/b&gt;" in page
    if path == "/board/":
        assert "<i>Label</i>" not in page and "&lt;i&gt;Label&lt;/i&gt;" in page
        assert "<u>Artist</u>" not in page and "&lt;u&gt;Artist&lt;/u&gt;" in page
