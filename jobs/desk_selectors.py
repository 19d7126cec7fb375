"""Reads for the engineer's desk: the stage I am on and its session, my next stages in planned
order, and the work nobody has taken yet. Each list costs a fixed number of queries."""

from __future__ import annotations

from django.db.models import F, QuerySet

from jobs.models import (
    CLOCK_RUNNING,
    STAGE_OPEN,
    JobStatus,
    ListeningSession,
    Stage,
    StageStatus,
    User,
)
from jobs.selectors import ROW_FIELDS, _with_blocked

DESK_FIELDS = (
    *ROW_FIELDS,
    "predicted_finish_at",
    "started_at",
    "work_seconds",
    "proposed_assignee_id",
    "proposed_assignee__username",
    "proposed_assignee__first_name",
    "proposed_assignee__last_name",
    "job__paused_at",
)


def _desk_rows(stages: QuerySet[Stage]) -> QuerySet[Stage]:
    return (
        _with_blocked(stages)
        .select_related("job", "assignee", "proposed_assignee")
        .only(*DESK_FIELDS)
    )


def _current_round_open() -> QuerySet[Stage]:
    return Stage.objects.filter(
        status__in=STAGE_OPEN,
        revision_round=F("job__revision_round"),
        job__status__in=sorted(s.value for s in CLOCK_RUNNING),
    )


def desk_now(user: User) -> list[Stage]:
    """The stages I have started and not finished (usually one)."""
    return list(
        _desk_rows(
            _current_round_open().filter(
                assignee=user,
                status=StageStatus.IN_PROGRESS,
                job__status=JobStatus.IN_PROGRESS,
            )
        ).order_by("started_at")
    )


def _first(stages: QuerySet[Stage], limit: int | None) -> list[Stage]:
    return list(stages if limit is None else stages[:limit])


def desk_next(user: User, *, limit: int | None = None) -> list[Stage]:
    """My stages not yet started, in the order the plan lays them out (then by due date); the
    first `limit` of them if given."""
    return _first(
        _desk_rows(
            _current_round_open().filter(assignee=user, status=StageStatus.PENDING)
        ).order_by(
            F("predicted_finish_at").asc(nulls_last=True),
            F("job__due_at").asc(nulls_last=True),
            "job_id",
            "position",
        ),
        limit,
    )


def desk_grabs(*, limit: int | None = None) -> list[Stage]:
    """Open stages of every running job and revision round that nobody has taken, the earliest
    due first, each with the engineer the scheduler proposes; the first `limit` if given."""
    return _first(
        _desk_rows(_current_round_open().filter(assignee__isnull=True)).order_by(
            F("job__due_at").asc(nulls_last=True), "job__created_at", "job_id", "position"
        ),
        limit,
    )


def open_session(user: User) -> ListeningSession | None:
    """My running listening session, if any (the database keeps at most one)."""
    return (
        ListeningSession.objects.filter(engineer=user, ended_at__isnull=True)
        .select_related("stage", "stage__job")
        .first()
    )
