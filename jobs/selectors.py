"""Reads for the studio's pages: the rows each template shows, loaded in a fixed number of queries
however many jobs and stages there are. Views call these; they write nothing."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, F, OuterRef, QuerySet

from jobs.access import jobs_visible_to
from jobs.compiled import columns, instance_from, related_from, rows_compiled_once
from jobs.models import (
    CLOCK_RUNNING,
    STAGE_FINISHED,
    STAGE_OPEN,
    STUDIO_ROLES,
    Job,
    JobEvent,
    JobStatus,
    Organisation,
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


def _organisation_job_rows(organisation_id: int) -> QuerySet[Any]:
    rows: QuerySet[Any] = (
        Job.objects.filter(organisation_id=organisation_id)
        .values(*columns(Job), *columns(Organisation, "organisation__"))
        .order_by("due_at", "-created_at")
    )
    return rows


def client_home_jobs(user: User) -> list[Job]:
    """`home_jobs` of a client, listed (each job with its organisation, as select_related loads
    it), from SQL compiled once keyed by the client's organisation: a client's home is the page
    clients ask for most, and building the query cost more than running it."""
    if not user.is_authenticated or user.is_studio or user.organisation_id is None:
        return list(home_jobs(user))
    return jobs_from(
        rows_compiled_once("client_home_jobs", _organisation_job_rows, user.organisation_id)
    )


def jobs_from(rows: list[dict[str, Any]]) -> list[Job]:
    """Jobs from `values()` rows with their organisation's columns (`organisation__`), as the
    ORM loads them with `select_related("organisation")`."""
    jobs = []
    for row in rows:
        job: Job = instance_from(Job, row)
        job.organisation = instance_from(Organisation, row, "organisation__")
        jobs.append(job)
    return jobs


def _history_rows(job_id: Any) -> QuerySet[Any]:
    rows: QuerySet[Any] = JobEvent.objects.filter(job_id=job_id).values(
        *columns(JobEvent), *columns(User, "actor__")
    )
    return rows


def _round_rows(job_id: Any, revision_round: int) -> QuerySet[Any]:
    stages = Stage.objects.filter(job_id=job_id, revision_round=revision_round)
    rows: QuerySet[Any] = _with_blocked(stages).values(
        *columns(Stage), *columns(User, "assignee__"), "blocked"
    )
    return rows


def round_stage_list(job: Job) -> list[Stage]:
    """The six stages of the job's current round in their order, each with its engineer, `job`
    (this one: the page has read it) and `blocked`, from SQL compiled once: the job page shows
    them on every view."""
    rows = rows_compiled_once("round_stages", _round_rows, job.pk, job.revision_round)
    return stages_from(rows, job=job)


def job_history(job: Job) -> list[JobEvent]:
    """The job's events in their order, each with its actor (as select_related loads them),
    from SQL compiled once: the job page shows them on every view."""
    events = []
    for row in rows_compiled_once("job_history", _history_rows, job.pk):
        event: JobEvent = instance_from(JobEvent, row)
        event.actor = related_from(User, row, "actor__")
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


def stages_from(rows: list[dict[str, Any]], *, job: Job | None = None) -> list[Stage]:
    """Stages from `values()` rows, as the ORM loads them with `select_related` and `only`: the
    job (`job`, when they are all of one job already read, else from its columns), and the
    assignee or proposed engineer when their columns were read (None when the join found
    nobody), and `blocked` when annotated."""
    stages = []
    for row in rows:
        stage: Stage = instance_from(Stage, row)
        stage.job = job if job is not None else instance_from(Job, row, "job__")
        for relation in ("assignee", "proposed_assignee"):
            if f"{relation}__id" in row:
                setattr(stage, relation, related_from(User, row, f"{relation}__"))
        if "blocked" in row:
            stage.blocked = row["blocked"]  # type: ignore[attr-defined]
        stages.append(stage)
    return stages
