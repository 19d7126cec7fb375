"""Reads for the studio's pages: the rows each template shows, loaded in a fixed number of queries
however many jobs and stages there are. Views call these; they write nothing."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, QuerySet

from jobs.access import jobs_visible_to
from jobs.models import (
    CLOCK_RUNNING,
    STAGE_FINISHED,
    STAGE_OPEN,
    STUDIO_ROLES,
    Job,
    JobEvent,
    JobStatus,
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


def round_stages(job: Job) -> QuerySet[Stage]:
    """The six stages of the job's current round, with their engineers."""
    return job.stages.filter(revision_round=job.revision_round).select_related("assignee")


def job_history(job: Job) -> QuerySet[JobEvent]:
    return job.events.select_related("actor")


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


def stage_row(stage_id: int) -> Stage | None:
    """One stage as its row shows it (the caller has checked access)."""
    return stage_rows(Stage.objects.filter(pk=stage_id)).first()


def queue_stages(user: User) -> QuerySet[Stage]:
    """The viewer's open stages of the current rounds, earliest due date first."""
    return stage_rows(
        Stage.objects.filter(
            assignee=user,
            status__in=STAGE_OPEN,
            revision_round=F("job__revision_round"),
            job__status__in=QUEUED_JOB_STATUSES,
        )
    ).order_by(F("job__due_at").asc(nulls_last=True), "job__created_at", "job_id", "position")


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
