"""rows_compiled_once: a query compiled once per process gives the rows the ORM gives, for any
values, and builds afresh what it cannot compile once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Model
from django.db.models.signals import post_init
from django.utils import timezone

from jobs.compiled import _COMPILED, columns, instance_from, rows_compiled_once
from jobs.models import AudioFile, Job, Role, Stage, User
from tests.factories import make_audio_file, make_job, make_user

pytestmark = pytest.mark.django_db


def _stages(owner_id: int, since: object) -> object:
    return (
        Stage.objects.filter(job__created_by_id=owner_id, job__created_at__gte=since)
        .order_by("pk")
        .values("id", "job_id", "kind", "checklist", "started_at")
    )


def test_the_rows_are_the_orms_for_each_call_s_values() -> None:
    a, b = make_user(Role.CLIENT), make_user(Role.CLIENT)
    for owner in (a, a, b):
        job = make_job(client=owner)
        Stage.objects.create(job=job, kind="listening", position=0, checklist=[{"item": "x"}])
    long_ago, now = timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1)
    for owner, since in ((a, long_ago), (b, long_ago), (a, now)):
        got = [
            instance_from(Stage, row)
            for row in rows_compiled_once("test-stages", _stages, owner.pk, since)
        ]
        want = list(_stages(owner.pk, since))
        assert [(s.id, s.job_id, s.checklist, s.started_at) for s in got] == [
            (r["id"], r["job_id"], r["checklist"], r["started_at"]) for r in want
        ]
        assert len(want) == (0 if since == now else 2 if owner == a else 1)


def test_a_value_the_sql_holds_in_another_form_is_built_afresh() -> None:
    job = make_job(track_title="12345")
    Stage.objects.create(job=job, kind="listening", position=0)

    def by_title(number: int) -> object:
        return Stage.objects.filter(job__track_title=str(number)).values("id", "checklist")

    for number, found in ((12345, 1), (999, 0), (12345, 1)):
        rows = rows_compiled_once("test-by-title", by_title, number)
        assert len(rows) == found
        assert [instance_from(Stage, row).checklist for row in rows] == [[]] * found


def test_a_query_of_no_values_is_compiled_once_and_gives_the_orms_rows() -> None:
    job = make_job()
    Stage.objects.create(job=job, kind="listening", position=0)
    built = []

    def every_stage() -> object:
        built.append(1)
        return Stage.objects.order_by("pk").values("id", "kind")

    for _ in range(3):
        rows = rows_compiled_once("test-no-values", every_stage)
        assert [(r["id"], r["kind"]) for r in rows] == [
            (s.pk, s.kind) for s in Stage.objects.order_by("pk")
        ]
    # Compiled once on PostgreSQL; elsewhere the ORM reads it each time (its converters).
    assert len(built) == (1 if connection.vendor == "postgresql" else 3)


def test_the_desk_s_lists_are_compiled_once() -> None:
    """Each list the desk reads is compiled on its first call only (up for grabs has no value
    of the viewer's: a placeholder the SQL did not hold made it built on every call)."""
    from jobs.desk_selectors import desk_grabs, desk_next, desk_now

    engineer = make_user(Role.ENGINEER)
    _COMPILED.clear()
    for _ in range(2):
        desk_now(engineer), desk_next(engineer, limit=31), desk_grabs(limit=31)
    if connection.vendor == "postgresql":
        assert {key for _, key in _COMPILED} == {"desk_now", "desk_next:31", "desk_grabs:31"}
    else:
        assert not _COMPILED


def test_small_integer_values_and_constants_like_the_markers_are_told_apart() -> None:
    """A round number is a small integer: the markers fit its column (out of its range, Django
    would find nothing to ask for). A constant of the query that equals a marker stays a
    constant."""
    from jobs.compiled import _SLOT_IDS

    job = make_job()
    for position in range(3):
        Stage.objects.create(
            job=job, kind=("listening", "cleanup", "level_balancing")[position], position=position
        )
    Stage.objects.create(job=job, kind="listening", position=0, revision_round=1)
    marker = _SLOT_IDS[0][1]

    def in_round(job_id: object, revision_round: int) -> object:
        return (
            Stage.objects.filter(job_id=job_id, revision_round=revision_round)
            .exclude(position=marker)  # a constant that is the marker of the second value
            .order_by("position")
            .values("id", "position", "revision_round")
        )

    _COMPILED.clear()
    for revision_round, positions in ((0, [0, 1, 2]), (1, [0]), (2, []), (0, [0, 1, 2])):
        rows = rows_compiled_once("test-in-round", in_round, job.pk, revision_round)
        assert [(r["position"], r["revision_round"]) for r in rows] == [
            (p, revision_round) for p in positions
        ]
    assert bool(_COMPILED) == (connection.vendor == "postgresql")


def test_a_list_of_ids_takes_a_marker_each_and_a_longer_one_is_asked_of_the_orm() -> None:
    """`pk__in` a page of ids: each id has its own marker, so a call with other ids (as many)
    reads their rows; with more ids than markers the query is built afresh, never compiled."""
    from jobs.compiled import MAX_VALUES

    users = [make_user(Role.ENGINEER) for _ in range(MAX_VALUES + 1)]
    ids = [u.pk for u in users]

    def named(*pks: int) -> object:
        return User.objects.filter(pk__in=pks).order_by("pk").values("id", "username")

    _COMPILED.clear()
    for chosen in (ids[:MAX_VALUES], ids[1:], ids[::-1][:MAX_VALUES]):
        rows = rows_compiled_once(f"test-named:{len(chosen)}", named, *chosen)
        assert [r["id"] for r in rows] == sorted(chosen)
    assert {key for _, key in _COMPILED} == (
        {f"test-named:{MAX_VALUES}"} if connection.vendor == "postgresql" else set()
    )
    rows = rows_compiled_once("test-named:all", named, *ids)
    assert [r["id"] for r in rows] == ids
    assert all(key != "test-named:all" for _, key in _COMPILED)


def test_a_query_that_can_match_nothing_is_asked_of_the_orm() -> None:
    job = make_job()
    Stage.objects.create(job=job, kind="listening", position=0)

    def maybe_none(job_id: object, none: int) -> object:
        stages = Stage.objects.none() if none else Stage.objects.filter(job_id=job_id)
        return stages.values("id")

    assert rows_compiled_once("test-maybe-none", maybe_none, job.pk, 1) == []
    assert len(rows_compiled_once("test-maybe-none", maybe_none, job.pk, 0)) == 1


def test_the_job_page_s_reads_are_compiled_once() -> None:
    """Each read the job page makes through rows_compiled_once finds its values in the SQL
    (a value it could not find would be built afresh on every view, silently). On PostgreSQL;
    other databases build every read afresh."""
    from django.test import Client

    from tests.jobs.helpers import accepted_job

    client_user, manager = make_user(Role.CLIENT), make_user(Role.MANAGER)
    job = accepted_job(client_user)
    _COMPILED.clear()
    for viewer in (client_user, manager):
        browser = Client()
        browser.force_login(viewer)
        assert browser.get(f"/jobs/{job.pk}/").status_code == 200
    if connection.vendor != "postgresql":
        assert not _COMPILED
        return
    assert {key for _, key in _COMPILED} >= {
        "room_files:client",
        "room_files:manager",
        "room_comments:client",
        "room_comments:studio",
        "intake_files",
        "intake_report",
        "job_previews",
        "job_history",
        "round_stages",
        "recall_notes",
        "open_comments",
        "guest_links",
    }


def test_a_relation_the_join_did_not_find_is_none() -> None:
    from jobs.compiled import related_from
    from jobs.models import User

    found = related_from(User, {"assignee__id": 7, "assignee__username": "ada"}, "assignee__")
    assert (found.pk, found.username) == (7, "ada")
    assert (
        related_from(User, {"assignee__id": None, "assignee__username": None}, "assignee__") is None
    )


def test_the_session_poll_s_reads_are_compiled_once() -> None:
    """The poll reads the session, the engineer's rules, their sessions and breaks from SQL
    compiled once (the breaks of a list of sessions of any length too)."""
    from django.test import Client

    from jobs.services import stage_assign, stage_start
    from jobs.sessions import session_start
    from tests.jobs.helpers import accepted_job, stages_of

    client_user, engineer = make_user(Role.CLIENT), make_user(Role.ENGINEER)
    stage = stages_of(accepted_job(client_user))[0]
    stage_assign(stage=stage, by=engineer, engineer=engineer)
    stage_start(stage=stage, by=engineer)
    session = session_start(stage=stage, by=engineer)
    _COMPILED.clear()
    browser = Client()
    browser.force_login(engineer)
    tick = browser.post(f"/sessions/{session.pk}/tick/", HTTP_HX_REQUEST="true")
    assert tick.status_code == 200 and 'id="desk-session"' in tick.content.decode()
    if connection.vendor != "postgresql":
        assert not _COMPILED
        return
    assert {key for _, key in _COMPILED} >= {
        "session_for",
        "engineer_profile",
        "sessions_before",
        "sessions_today",
        "ear_breaks",
    }


def test_the_client_home_s_reads_are_the_orms() -> None:
    """A client's home reads its jobs and their cards' stages and previews keyed by the
    organisation, from SQL compiled once: the same jobs and cards as the ORM's reads keyed by
    the list of the jobs (another organisation's jobs never count)."""
    from django.test import Client

    from jobs.models import FileKind, JobStatus, LevellingPreview, Verdict
    from jobs.portal import home_cards
    from jobs.selectors import client_home_jobs, home_jobs
    from tests.factories import make_audio_file
    from tests.jobs.helpers import accepted_job, stages_of, work_through

    owner, other, engineer = (
        make_user(Role.CLIENT),
        make_user(Role.CLIENT),
        make_user(Role.ENGINEER),
    )
    started = accepted_job(owner, track_title="Started")
    work_through(started, engineer, upto=2)
    accepted_job(owner, track_title="Accepted")
    make_job(client=owner, track_title="Draft")
    waiting = make_job(
        client=owner,
        status=JobStatus.AWAITING_CLIENT,
        verdict=Verdict.ACCEPTED_WITH_WARNINGS,
        track_title="Waiting",
    )
    LevellingPreview.objects.create(
        job=waiting,
        audio_file=make_audio_file(waiting, kind=FileKind.PREVIEW, name="p.wav"),
        note="hear it",
        sent_by=engineer,
    )
    unanswered_elsewhere = accepted_job(owner, track_title="Preview, not waiting")
    LevellingPreview.objects.create(
        job=unanswered_elsewhere,
        audio_file=make_audio_file(unanswered_elsewhere, kind=FileKind.PREVIEW, name="q.wav"),
        note="old",
        sent_by=engineer,
    )
    stages_of(accepted_job(other, track_title="Someone else's"))
    _COMPILED.clear()
    for viewer in (owner, owner, other):
        got = client_home_jobs(viewer)
        want = list(home_jobs(viewer))
        assert [(j.pk, j.organisation.name, j.due_at) for j in got] == [
            (j.pk, j.organisation.name, j.due_at) for j in want
        ]
        assert home_cards(got, viewer.organisation_id) == home_cards(want)
    cards = home_cards(client_home_jobs(owner), owner.organisation_id)
    assert [c.ask is not None and "preview" in c.ask.text for c in cards].count(True) == 1
    browser = Client()
    browser.force_login(owner)
    assert browser.get("/").status_code == 200
    if connection.vendor != "postgresql":
        assert not _COMPILED
        return
    assert {key for _, key in _COMPILED} >= {
        "client_home_jobs",
        "home_card_stages",
        "home_card_previews",
    }


def test_the_plan_page_s_reads_are_the_orms_and_compiled_once() -> None:
    """My plan reads the engineer's profile, the days off of the week shown (days as values) and
    the stages of its work blocks from SQL compiled once, the rows the ORM's reads give."""
    from datetime import date

    from django.test import Client

    from jobs.models import EngineerDayOff, EngineerProfile, StudioDayOff, StudioPolicy
    from jobs.plan_views import _own_days_off, _studio_days_off, engineer_profile
    from jobs.services import stage_take
    from tests.jobs.helpers import accepted_job, stages_of

    StudioPolicy.current()
    engineer, other = make_user(Role.ENGINEER), make_user(Role.ENGINEER)
    EngineerProfile.objects.create(user=engineer, daily_listening_cap_min=200)
    for day, reason in ((date(2026, 3, 3), "a"), (date(2026, 3, 9), "b")):
        StudioDayOff.objects.create(date=day, reason=reason)
        EngineerDayOff.objects.create(engineer=engineer, date=day, reason=reason)
    _COMPILED.clear()
    for viewer in (engineer, other, engineer):
        got = engineer_profile(viewer)
        want = EngineerProfile.objects.filter(user=viewer).first()
        assert (got and (got.pk, got.daily_listening_cap_min, got.workday_start)) == (
            want and (want.pk, want.daily_listening_cap_min, want.workday_start)
        )
        for first, last in (
            (date(2026, 3, 2), date(2026, 3, 9)),
            (date(2026, 3, 4), date(2026, 3, 11)),
        ):
            assert rows_compiled_once(
                "plan_studio_days_off", _studio_days_off, first, last
            ) == list(_studio_days_off(first, last))
            assert rows_compiled_once(
                "plan_own_days_off", _own_days_off, viewer.pk, first, last
            ) == list(_own_days_off(viewer.pk, first, last))
    job = accepted_job(make_user(Role.CLIENT), track_title="Glasshouse")
    stage_take(stage=stages_of(job)[0], by=engineer)
    browser = Client()
    browser.force_login(engineer)
    for _ in range(2):
        assert "Glasshouse · Listening" in browser.get("/plan/").content.decode()
    if connection.vendor != "postgresql":
        assert not _COMPILED
        return
    assert {key for _, key in _COMPILED} >= {
        "plan_profile",
        "plan_studio_days_off",
        "plan_own_days_off",
    }
    assert any(key.startswith("plan_stages:") for _, key in _COMPILED)  # the week's stages


def test_the_board_s_and_the_workload_s_reads_are_compiled_once() -> None:
    """The board's order (one per shape of filters), its rows (one per number of rows), its
    menus and the workload's people and open stages (one per number of engineers on its page,
    and per page of unassigned work) are compiled on their first call; a search is built
    afresh."""
    from jobs.board import BoardFilters, board
    from jobs.workload import workload

    make_user(Role.MANAGER)
    engineer = make_user(Role.ENGINEER)
    job = make_job(status="in_progress")
    _COMPILED.clear()
    for _ in range(2):
        board(BoardFilters())
        board(BoardFilters(state="at_risk"))  # the same query: the state is sorted in Python
        board(BoardFilters(engineer=engineer.pk, client=job.organisation_id))
        board(BoardFilters(view="closed", status="cancelled"))
        board(BoardFilters(q="sky"))
        workload()
    if connection.vendor != "postgresql":
        assert not _COMPILED
        return
    assert {key for _, key in _COMPILED if key.startswith(("board", "studio"))} == {
        "board_order:open::False:False",
        "board_order:open::True:True",
        "board_order:closed:cancelled:False:False",
        "board_jobs:1",
        "board_stages:1",
        "board_clients",
        "studio_people",
    }
    assert {key for _, key in _COMPILED if key.startswith("workload")} == {
        "workload_counts:1",
        "workload_most_urgent:1:8",
        "workload_unassigned:0:25",
    }


def test_the_board_s_order_compiled_once_gives_each_filter_value_its_own_jobs() -> None:
    from jobs.board import BoardFilters, board

    ada, ben = make_user(Role.ENGINEER), make_user(Role.ENGINEER)
    jobs = {ada.pk: make_job(status="in_progress"), ben.pk: make_job(status="in_progress")}
    for person, job in jobs.items():
        Stage.objects.create(job=job, kind="listening", position=0, assignee_id=person)
    for person in (ada.pk, ben.pk, ada.pk):
        rows = board(BoardFilters(engineer=person)).rows
        assert [r.job.pk for r in rows] == [jobs[person].pk]
        by_client = board(BoardFilters(client=jobs[person].organisation_id)).rows
        assert [r.job.pk for r in by_client] == [jobs[person].pk]
    # An id too big for the markers' place is asked of the ORM: nobody has it.
    assert board(BoardFilters(engineer=2**40)).rows == []


def _as_the_orm_left_it(instance: Model) -> tuple[dict[str, object], bool, str | None]:
    attributes = {k: v for k, v in vars(instance).items() if k != "_state"}
    return attributes, instance._state.adding, instance._state.db


def test_an_instance_is_what_the_orm_makes_of_the_same_row() -> None:
    """Every column loaded as the ORM loads it (a file, a relation's id, JSON, moments), the
    rest deferred and read on first use, and saved as an update of its row."""
    job = make_job()
    file = make_audio_file(job, name="Bass.wav")
    Stage.objects.create(job=job, kind="listening", position=0, checklist=[{"item": "x"}])
    for model, field in ((AudioFile, "pk"), (Stage, "job_id"), (Job, "pk")):
        query = model.objects.filter(**{field: file.pk if model is AudioFile else job.pk})
        for names in (columns(model), columns(model)[:4]):
            orm = list(query.only(*names).order_by("pk"))
            rows = rows_compiled_once(
                f"test-{model.__name__}-{len(names)}",
                lambda pk, names=names, model=model, field=field: (
                    model.objects.filter(**{field: pk}).values(*names).order_by("pk")
                ),
                file.pk if model is AudioFile else job.pk,
            )
            ours = [instance_from(model, row) for row in rows]
            assert orm and [_as_the_orm_left_it(o) for o in ours] == [
                _as_the_orm_left_it(o) for o in orm
            ]
    row = rows_compiled_once(
        "test-audiofile-ids", lambda pk: AudioFile.objects.filter(pk=pk).values("id"), file.pk
    )[0]
    mine = instance_from(AudioFile, row)
    assert mine.original_name == "Bass.wav" and mine.file.name == file.file.name  # deferred
    mine.original_name = "Bass (fixed).wav"
    mine.save(update_fields=["original_name"])
    assert AudioFile.objects.get(pk=file.pk).original_name == "Bass (fixed).wav"


def test_an_instance_is_made_by_the_orm_where_something_listens_for_it() -> None:
    job = make_job()
    made: list[object] = []

    def heard(sender: type[Model], instance: Model, **_: object) -> None:
        made.append(instance)

    post_init.connect(heard, sender=Job)
    try:
        got = instance_from(Job, Job.objects.filter(pk=job.pk).values(*columns(Job))[0])
    finally:
        post_init.disconnect(heard, sender=Job)
    assert made == [got] and got.pk == job.pk and not got._state.adding
