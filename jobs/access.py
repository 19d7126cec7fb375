"""One access helper per model: return the object the user may see, or raise 404 (never a 403
that would confirm to an outsider that the object exists)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any
from uuid import UUID

from django.db.models import F, Q, QuerySet
from django.db.models.expressions import BaseExpression
from django.http import Http404

from jobs.compiled import columns, instance_from, rows_compiled_once, value_from
from jobs.models import (
    AudioFile,
    EarBreak,
    FileKind,
    Job,
    ListeningSession,
    Organisation,
    PartialUpload,
    Stage,
    User,
)


def jobs_visible_to(user: User) -> QuerySet[Job]:
    if not user.is_authenticated:
        return Job.objects.none()
    if user.is_studio:
        return Job.objects.all()
    if user.organisation_id is None:
        return Job.objects.none()
    return Job.objects.filter(organisation_id=user.organisation_id)


def job_for(user: User, job_id: UUID) -> Job:
    """The job if the user may see it (404 otherwise), with its organisation and creator; from
    SQL compiled once (`_visible_row`): every job page and region starts with it."""

    def build(viewer: User, pk: UUID) -> QuerySet[Any]:
        rows: QuerySet[Any] = (
            jobs_visible_to(viewer)
            .filter(pk=pk)
            .values(
                *columns(Job),
                *columns(Organisation, "organisation__"),
                *columns(User, "created_by__"),
            )[:1]
        )
        return rows

    row = _visible_row(user, "job_for", build, job_id)
    if row is None:
        raise Http404("No such job")
    job: Job = instance_from(Job, row)
    job.organisation = instance_from(Organisation, row, "organisation__")
    job.created_by = instance_from(User, row, "created_by__")
    return job


def _visible_row(
    user: User, name: str, build: Callable[[User, UUID], QuerySet[Any]], pk: UUID
) -> dict[str, Any] | None:
    """The one row of `visible_rows`, None if none."""
    rows = visible_rows(user, name, build, pk)
    return rows[0] if rows else None


def visible_rows(
    user: User, name: str, build: Callable[[User, UUID], QuerySet[Any]], pk: UUID
) -> list[dict[str, Any]]:
    """The rows `build(user, pk)` finds (a `values()` query over what `user` may see), from SQL
    compiled once per process (jobs.compiled.rows_compiled_once) for each `name` and role: a
    viewer of that role stands in for every one, with a client's organisation (the one value of
    the viewer that jobs_visible_to and files_visible_to put in the SQL) and `pk` as the values.
    Building and compiling these queries costs Python several times what PostgreSQL takes to run
    them, and nearly every request makes one."""
    if not user.is_authenticated or not (user.is_studio or user.organisation_id is not None):
        return []  # jobs_visible_to(user) is empty
    values: tuple[Any, ...] = (pk,) if user.is_studio else (user.organisation_id, pk)

    def build_for(*values: Any) -> QuerySet[Any]:
        *organisation, pk = values
        viewer = User(role=user.role, organisation_id=organisation[0] if organisation else None)
        return build(viewer, pk)

    return rows_compiled_once(f"{name}:{user.role}", build_for, *values)


def files_visible_to(user: User) -> QuerySet[AudioFile]:
    """Files of the jobs the user may see. A client sees a master only once its round has been
    delivered, and then only the versions that were delivered (the round's current ones): every
    earlier round was delivered before its revision began; the current one once `delivered_at`
    is set (it stays set after approval, a hold or a cancellation)."""
    files = AudioFile.objects.filter(job__in=jobs_visible_to(user))
    if user.is_authenticated and user.is_studio:
        return files
    return client_view(files)


def client_view(files: QuerySet[AudioFile]) -> QuerySet[AudioFile]:
    """What a job's client (or a guest they share the delivery with) sees of these files:
    everything but the masters not yet delivered to them."""
    delivered_master = Q(is_current=True) & (
        Q(revision_round__lt=F("job__revision_round"))
        | Q(revision_round=F("job__revision_round"), job__delivered_at__isnull=False)
    )
    return files.filter(~Q(kind=FileKind.MASTER) | delivered_master)


def audio_file_for(
    user: User, file_id: UUID, reads: Callable[[], dict[str, BaseExpression]] | None = None
) -> AudioFile:
    """The file if the user may see it (404 otherwise), with its job; `reads` gives what the
    caller reads next (annotations, as subqueries), which come in the same query. From SQL
    compiled once (`_visible_row`): the player's range requests and the review room's peaks ask
    for a file many times a minute. `reads` is a module-level function: its name keys the SQL."""
    name = f"{reads.__module__}.{reads.__qualname__}" if reads is not None else ""
    if "<" in name:  # a lambda or a nested function: two of them could share a name
        raise TypeError("`reads` must be a module-level function: its name keys the SQL")
    annotations = _annotations(reads) if reads is not None else {}

    def build(viewer: User, pk: UUID) -> QuerySet[Any]:
        files = files_visible_to(viewer).filter(pk=pk).annotate(**annotations)
        rows: QuerySet[Any] = files.values(
            *columns(AudioFile), *columns(Job, "job__"), *annotations
        )[:1]
        return rows

    row = _visible_row(user, f"audio_file_for:{name}", build, file_id)
    if row is None:
        raise Http404("No such file")
    audio: AudioFile = instance_from(AudioFile, row)
    audio.job = instance_from(Job, row, "job__")
    for annotation, expression in annotations.items():
        setattr(audio, annotation, value_from(row, annotation, expression.output_field))
    return audio


@cache
def _annotations(reads: Callable[[], dict[str, BaseExpression]]) -> dict[str, BaseExpression]:
    """`reads`' annotations, made once: the SQL is compiled once too, and elsewhere (SQLite) the
    ORM resolves a copy of each expression for every query, leaving these as they are."""
    return reads()


def stage_for(user: User, stage_id: int | str) -> Stage:
    """A stage of a job the user may see (its job and assignee loaded for the stage row)."""
    try:
        return Stage.objects.select_related("job", "assignee").get(
            pk=stage_id, job__in=jobs_visible_to(user)
        )
    except (Stage.DoesNotExist, ValueError):
        raise Http404("No such stage") from None


def partial_upload_for(user: User, job: Job, upload_id: UUID | str) -> PartialUpload:
    """An upload under way on a job the user may see: the uploader's own, or any for a manager."""
    uploads = PartialUpload.objects.filter(job=job).select_related("job", "uploaded_by")
    if not user.is_manager:
        uploads = uploads.filter(uploaded_by=user)
    try:
        return uploads.get(pk=upload_id)
    except (PartialUpload.DoesNotExist, ValueError):
        raise Http404("No such upload") from None


# A listening session with its stage and the stage's job, every field of each, as
# `select_related("stage", "stage__job")` loads them: for `sessions_from`.
SESSION_VALUES = (
    *columns(ListeningSession),
    *columns(Stage, "stage__"),
    *columns(Job, "stage__job__"),
)


def sessions_from(rows: list[dict[str, Any]]) -> list[ListeningSession]:
    """Sessions from `values(*SESSION_VALUES)` rows, each with its stage and job loaded (and
    its engineer when the row has their columns)."""
    sessions = []
    for row in rows:
        session: ListeningSession = instance_from(ListeningSession, row)
        stage: Stage = instance_from(Stage, row, "stage__")
        stage.job = instance_from(Job, row, "stage__job__")
        session.stage = stage
        if "engineer__id" in row:
            session.engineer = instance_from(User, row, "engineer__")
        sessions.append(session)
    return sessions


def _own_session_rows(user_id: int, session_id: int) -> QuerySet[Any]:
    rows: QuerySet[Any] = ListeningSession.objects.filter(
        pk=session_id, engineer_id=user_id
    ).values(*SESSION_VALUES, *columns(User, "engineer__"))[:1]
    return rows


def session_for(user: User, session_id: int | str) -> ListeningSession:
    """One's own listening session: anyone else's, a manager's included, is a 404. From SQL
    compiled once: the desk's timer polls it every 30 seconds."""
    try:
        pk = int(session_id)
    except ValueError:
        raise Http404("No such session") from None
    found = sessions_from(rows_compiled_once("session_for", _own_session_rows, user.pk, pk))
    if not found:
        raise Http404("No such session")
    return found[0]


def ear_break_for(user: User, break_id: int | str) -> EarBreak:
    """A break one was prompted for; anyone else's is a 404."""
    try:
        return EarBreak.objects.get(pk=break_id, engineer_id=user.pk)
    except (EarBreak.DoesNotExist, ValueError):
        raise Http404("No such break") from None
