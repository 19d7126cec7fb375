"""Reads for the studio's pages: the rows each template shows, loaded in a fixed number of queries
however many jobs and stages there are. Views call these; they write nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import DEFERRED, Exists, F, Model, OuterRef, QuerySet

from jobs.access import jobs_visible_to
from jobs.models import (
    CLOCK_RUNNING,
    STAGE_FINISHED,
    STAGE_OPEN,
    STUDIO_ROLES,
    Job,
    JobEvent,
    JobStatus,
    ListeningSession,
    Stage,
    User,
)

# The queue lists the jobs whose stages can be worked on now and also held jobs (without moves),
# so an engineer sees the work that will come back.
QUEUED_JOB_STATUSES = CLOCK_RUNNING | {JobStatus.ON_HOLD}
# What a stage row shows: loading only these keeps a long queue cheap (a job row has a dozen
# timestamps that would otherwise be parsed for every stage).
ROW_FIELDS = (
    "job_id",
    "kind",
    "position",
    "revision_round",
    "assignee_id",
    "status",
    "skip_reason",
    "notes",
    "job__track_title",
    "job__artist",
    "job__status",
    "job__revision_round",
    "job__due_at",
    "job__deadline_status",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
)


def home_jobs(user: User) -> QuerySet[Job]:
    """The jobs on the viewer's home page, the earliest due first."""
    return jobs_visible_to(user).select_related("organisation").order_by("due_at", "-created_at")


def _history_rows(job_id: Any) -> QuerySet[Any]:
    rows: QuerySet[Any] = JobEvent.objects.filter(job_id=job_id).values(
        *columns(JobEvent), *columns(User, "actor__")
    )
    return rows


def _round_rows(job_id: Any, revision_round: int) -> QuerySet[Any]:
    stages = Stage.objects.filter(job_id=job_id, revision_round=revision_round)
    rows: QuerySet[Any] = _with_blocked(stages).values(
        *columns(Stage), *columns(Job, "job__"), *columns(User, "assignee__"), "blocked"
    )
    return rows


def round_stage_list(job: Job) -> list[Stage]:
    """The six stages of the job's current round in their order, each with its engineer, its
    job and `blocked`, from SQL compiled once: the job page shows them on every view."""
    return stages_from(rows_compiled_once("round_stages", _round_rows, job.pk, job.revision_round))


def job_history(job: Job) -> list[JobEvent]:
    """The job's events in their order, each with its actor (as select_related loads them),
    from SQL compiled once: the job page shows them on every view."""
    events = []
    for row in rows_compiled_once("job_history", _history_rows, job.pk):
        event: JobEvent = instance_from(JobEvent, row)
        event.actor = instance_from(User, row, "actor__") if row["actor__id"] is not None else None
        events.append(event)
    return events


def _with_blocked(stages: QuerySet[Stage]) -> QuerySet[Stage]:
    """Annotate `blocked`: an earlier stage of the same round is still open (one subquery, so a
    list of stages costs one query however long it is)."""
    earlier_open = Stage.objects.filter(
        job=OuterRef("job"),
        revision_round=OuterRef("revision_round"),
        position__lt=OuterRef("position"),
    ).exclude(status__in=STAGE_FINISHED)
    return stages.annotate(blocked=Exists(earlier_open))


def stage_rows(stages: QuerySet[Stage]) -> QuerySet[Stage]:
    """Stages as their rows need them, in one query."""
    return _with_blocked(stages).select_related("job", "assignee").only(*ROW_FIELDS)


# `stage_rows` as a `values()` query: the same columns, for `stages_from`.
ROW_VALUES = (
    "id",
    *(f for f in ROW_FIELDS if not f.startswith(("job__", "assignee__"))),
    "job__id",
    *(f for f in ROW_FIELDS if f.startswith("job__")),
    "assignee__id",
    *(f for f in ROW_FIELDS if f.startswith("assignee__")),
)


def _row_values(stages: QuerySet[Stage]) -> QuerySet[Any]:
    rows: QuerySet[Any] = _with_blocked(stages).values(*ROW_VALUES, "blocked")
    return rows


def stage_row(stage_id: int) -> Stage | None:
    """One stage as its row shows it (the caller has checked access)."""
    found = stages_from(
        rows_compiled_once(
            "stage_row", lambda pk: _row_values(Stage.objects.filter(pk=pk))[:1], stage_id
        )
    )
    return found[0] if found else None


def _queued(user_id: int) -> QuerySet[Stage]:
    return Stage.objects.filter(
        assignee_id=user_id,
        status__in=STAGE_OPEN,
        revision_round=F("job__revision_round"),
        job__status__in=sorted(QUEUED_JOB_STATUSES),
    )


_QUEUE_ORDER = (F("job__due_at").asc(nulls_last=True), "job__created_at", "job_id", "position")


def queue_stages(user: User) -> QuerySet[Stage]:
    """The viewer's open stages of the current rounds, earliest due date first."""
    return stage_rows(_queued(user.pk)).order_by(*_QUEUE_ORDER)


def queue_stage_list(user: User) -> list[Stage]:
    """`queue_stages`, listed: the same stages loaded the same way, from SQL compiled once."""
    return stages_from(
        rows_compiled_once(
            "queue", lambda uid: _row_values(_queued(uid)).order_by(*_QUEUE_ORDER), user.pk
        )
    )


def studio_engineers() -> list[User]:
    """The people work can be given to (`User.may_be_assigned`, as a query)."""
    return list(
        User.objects.filter(role__in=STUDIO_ROLES, is_active=True).order_by(
            "first_name", "username"
        )
    )


def studio_member(user_id: int) -> User | None:
    """An engineer or manager by id (the assign service refuses one who has left)."""
    return User.objects.filter(pk=user_id, role__in=STUDIO_ROLES).first()


# Two sets of marker values: a query is compiled with each, and a parameter that is the i-th
# marker in both is where the i-th of a call's values goes (an id, a job's or file's id, a
# moment); a constant of the query is the same in both. The ids fit every integer column
# (Django finds nothing to ask for when a value is out of a column's range).
_SLOT_IDS = (tuple(32_101 + i for i in range(4)), tuple(32_201 + i for i in range(4)))
_SLOT_UUIDS = tuple(tuple(UUID(int=(0x5107 + k) << 112 | i) for i in range(4)) for k in range(2))
_SLOT_MOMENTS = tuple(
    tuple(datetime(1900 + k, 1, 1, 0, 0, 0, 1 + i, tzinfo=UTC) for i in range(4)) for k in range(2)
)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    names: tuple[str, ...]
    slots: dict[int, int]  # param position: which of the call's values goes there


_COMPILED: dict[tuple[str, str], _Compiled] = {}


def _slots(values: tuple[Any, ...], k: int) -> list[Any]:
    slots: list[Any] = []
    for i, v in enumerate(values):
        if isinstance(v, datetime):
            slots.append(_SLOT_MOMENTS[k][i])
        elif isinstance(v, UUID):
            slots.append(_SLOT_UUIDS[k][i])
        else:
            slots.append(_SLOT_IDS[k][i])
    return slots


def rows_compiled_once(
    key: str, build: Callable[..., QuerySet[Any]], *values: Any
) -> list[dict[str, Any]]:
    """The rows of a `values()` query whose shape never changes, from SQL compiled once per
    process: `build(*values)` makes the queryset, and only those values (ids, moments) differ
    between calls. Building and compiling a query with joins and a subquery costs Python more
    than PostgreSQL takes to run it, and a page runs the same few queries on every request. The
    SQL depends on the code and the database's kind alone (kept per kind), so nothing has to
    invalidate it; `key` names the shape (and must change with anything else `build` depends
    on, such as a limit)."""
    if connection.vendor != "postgresql":
        # The rows are read raw, as psycopg gives them (moments with their zone); other
        # databases need the ORM's converters (SQLite gives moments as text): built afresh.
        return [_Converted(row) for row in build(*values)]
    entry = _COMPILED.get((connection.vendor, key))
    if entry is None:
        slots = [_slots(values, 0), _slots(values, 1)]
        qs = build(*slots[0])
        try:
            sql, params = qs.query.sql_with_params()
            other = build(*slots[1]) if values else qs  # no values: nothing to find
            other_sql, other_params = other.query.sql_with_params()
        except EmptyResultSet:  # a `none()` inside: the ORM says so for these values
            return [_Converted(row) for row in build(*values)]
        names = (*qs.query.extra_select, *qs.query.values_select, *qs.query.annotation_select)
        same_shape = sql == other_sql and len(params) == len(other_params)
        where = {
            n: i
            for n, (p, q) in enumerate(zip(params, other_params, strict=False))
            for i, (a, b) in enumerate(zip(slots[0], slots[1], strict=True))
            # psycopg's Int2 and the like are ints: a small integer column's values come so
            if isinstance(p, type(a)) and p == a and isinstance(q, type(b)) and q == b
        }
        if not same_shape or set(where.values()) != set(range(len(values))):
            # A value the compiled SQL holds in another form: built afresh on every call.
            return [_Converted(row) for row in build(*values)]
        entry = _COMPILED[(connection.vendor, key)] = _Compiled(sql, tuple(params), names, where)
    params = tuple(
        _as(p, values[entry.slots[n]]) if n in entry.slots else p
        for n, p in enumerate(entry.params)
    )
    with connection.cursor() as cursor:
        cursor.execute(entry.sql, params)
        return [dict(zip(entry.names, row, strict=True)) for row in cursor.fetchall()]


def _as(marker: Any, value: Any) -> Any:
    """A call's value in the form its marker took in the compiled parameters (Int2 for a small
    integer column, as the ORM would have sent it)."""
    if isinstance(marker, int) and type(marker) is not int and isinstance(value, int):
        return type(marker)(value)
    return value


class _Converted(dict[str, Any]):
    """A row the ORM read and converted already (`values()`), not raw from the cursor."""


def columns(model: type[Model], prefix: str = "", without: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The `values()` names of a model's columns (`prefix` + attname), for `instance_from`."""
    return tuple(prefix + f.attname for f in model._meta.concrete_fields if f.name not in without)


# Per model, prefix and a row's columns: for each concrete field, the column it is loaded from
# (None: deferred) and whether it has a converter. The rows of one query share their columns,
# so a list of rows works this out once, not once per row and field.
_PLANS: dict[tuple[type[Model], str, tuple[str, ...]], tuple[tuple[str, ...], list[Any]]] = {}


def _plan(
    model: type[Model], prefix: str, present: tuple[str, ...]
) -> tuple[tuple[str, ...], list[Any]]:
    key = (model, prefix, present)
    plan = _PLANS.get(key)
    if plan is None:
        names: list[str] = []
        fields: list[tuple[str | None, Any]] = []
        for f in model._meta.concrete_fields:
            column = prefix + f.attname
            if column in present:
                names.append(f.attname)
                fields.append((column, f if hasattr(f, "from_db_value") else None))
            else:
                fields.append((None, None))
        plan = _PLANS[key] = (tuple(names), fields)
    return plan


def instance_from(model: type[Model], row: dict[str, Any], prefix: str = "") -> Any:
    """A model instance from a `values()` row, as the ORM makes one (`from_db`, each field's
    `from_db_value`): the fields named `prefix` + attname in the row are loaded, the others
    deferred."""
    names, fields = _plan(model, prefix, tuple(row))
    raw = not isinstance(row, _Converted)
    values = [
        DEFERRED
        if column is None
        else field.from_db_value(row[column], None, connection)
        if field is not None and raw
        else row[column]
        for column, field in fields
    ]
    return model.from_db(connection.alias, names, values)


def stages_from(rows: list[dict[str, Any]]) -> list[Stage]:
    """Stages from `values()` rows, as the ORM loads them with `select_related` and `only`: the
    job, and the assignee or proposed engineer when their columns were read (None when the
    join found nobody), and `blocked` when annotated."""
    stages = []
    for row in rows:
        stage: Stage = instance_from(Stage, row)
        stage.job = instance_from(Job, row, "job__")
        for relation in ("assignee", "proposed_assignee"):
            if f"{relation}__id" in row:
                person = None
                if row[f"{relation}__id"] is not None:
                    person = instance_from(User, row, f"{relation}__")
                setattr(stage, relation, person)
        if "blocked" in row:
            stage.blocked = row["blocked"]  # type: ignore[attr-defined]
        stages.append(stage)
    return stages


# A listening session with its stage and the stage's job, every field of each, as
# `select_related("stage", "stage__job")` loads them: for `sessions_from`.
SESSION_VALUES = (
    *columns(ListeningSession),
    *columns(Stage, "stage__"),
    *columns(Job, "stage__job__"),
)


def sessions_from(rows: list[dict[str, Any]]) -> list[ListeningSession]:
    """Sessions from `values(*SESSION_VALUES)` rows, each with its stage and job loaded."""
    sessions = []
    for row in rows:
        session: ListeningSession = instance_from(ListeningSession, row)
        stage: Stage = instance_from(Stage, row, "stage__")
        stage.job = instance_from(Job, row, "stage__job__")
        session.stage = stage
        sessions.append(session)
    return sessions
