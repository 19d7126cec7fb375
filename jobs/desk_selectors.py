"""Reads for the engineer's desk: the stage I am on and its session, my next stages in planned
order, and the work nobody has taken yet. Each list costs a fixed number of queries."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet

from jobs.access import SESSION_VALUES, sessions_from
from jobs.compiled import rows_compiled_once
from jobs.models import (
    CLOCK_RUNNING,
    STAGE_OPEN,
    JobStatus,
    ListeningSession,
    Stage,
    StageStatus,
    User,
)
from jobs.selectors import _with_blocked, stages_from

# What a desk row shows. The stage's engineer is not read: *now* and *next* are the viewer's own
# stages and *up for grabs* has none (its id says so); the proposed engineer only up for grabs.
DESK_FIELDS = (
    "id",
    "job_id",
    "kind",
    "position",
    "revision_round",
    "assignee_id",
    "status",
    "predicted_finish_at",
    "started_at",
    "job__id",
    "job__track_title",
    "job__artist",
    "job__status",
    "job__revision_round",
    "job__due_at",
    "job__deadline_status",
)
PROPOSED_FIELDS = (
    "proposed_assignee_id",
    "proposed_assignee__id",
    "proposed_assignee__username",
    "proposed_assignee__first_name",
    "proposed_assignee__last_name",
)


def _desk_rows(stages: QuerySet[Stage], *, proposed: bool = False) -> QuerySet[Any]:
    fields = (*DESK_FIELDS, *PROPOSED_FIELDS) if proposed else DESK_FIELDS
    rows: QuerySet[Any] = _with_blocked(stages).values(*fields, "blocked")
    return rows


def _current_round_open() -> QuerySet[Stage]:
    return Stage.objects.filter(
        status__in=STAGE_OPEN,
        revision_round=F("job__revision_round"),
        job__status__in=sorted(s.value for s in CLOCK_RUNNING),
    )


def _now_query(user_id: int) -> QuerySet[Any]:
    return _desk_rows(
        _current_round_open().filter(
            assignee_id=user_id,
            status=StageStatus.IN_PROGRESS,
            job__status=JobStatus.IN_PROGRESS,
        )
    ).order_by("started_at")


def desk_now(user: User) -> list[Stage]:
    """The stages I have started and not finished (usually one)."""
    return stages_from(rows_compiled_once("desk_now", _now_query, user.pk))


def _limited(stages: QuerySet[Any], limit: int | None) -> QuerySet[Any]:
    return stages if limit is None else stages[:limit]


def desk_next(user: User, *, limit: int | None = None) -> list[Stage]:
    """My stages not yet started, in the order the plan lays them out (then by due date); the
    first `limit` of them if given."""

    def query(user_id: int) -> QuerySet[Any]:
        return _limited(
            _desk_rows(
                _current_round_open().filter(assignee_id=user_id, status=StageStatus.PENDING)
            ).order_by(
                F("predicted_finish_at").asc(nulls_last=True),
                F("job__due_at").asc(nulls_last=True),
                "job_id",
                "position",
            ),
            limit,
        )

    return stages_from(rows_compiled_once(f"desk_next:{limit}", query, user.pk))


def desk_grabs(*, limit: int | None = None) -> list[Stage]:
    """Open stages of every running job and revision round that nobody has taken, the earliest
    due first, each with the engineer the scheduler proposes; the first `limit` if given."""

    def query() -> QuerySet[Any]:
        return _limited(
            _desk_rows(_current_round_open().filter(assignee__isnull=True), proposed=True).order_by(
                F("job__due_at").asc(nulls_last=True), "job__created_at", "job_id", "position"
            ),
            limit,
        )

    # No values: a value the SQL does not hold would make it built afresh on every call.
    return stages_from(rows_compiled_once(f"desk_grabs:{limit}", query))


def open_session(user: User) -> ListeningSession | None:
    """My running listening session, if any (the database keeps at most one)."""
    found = sessions_from(
        rows_compiled_once(
            "open_session",
            lambda uid: (
                ListeningSession.objects.filter(engineer_id=uid, ended_at__isnull=True)
                .order_by("pk")
                .values(*SESSION_VALUES)[:1]
            ),
            user.pk,
        )
    )
    return found[0] if found else None
