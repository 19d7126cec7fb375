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

from jobs.compiled import instance_from, rows_compiled_once, value_from
from jobs.models import (
    AudioFile,
    EarBreak,
    FileKind,
    Job,
    ListeningSession,
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


def job_for(user: User, job_id: UUID | str) -> Job:
    try:
        return jobs_visible_to(user).select_related("organisation", "created_by").get(pk=job_id)
    except (Job.DoesNotExist, ValueError):
        raise Http404("No such job") from None


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
    caller reads next (annotations, as subqueries), which come in the same query.

    The player's range requests and the review room's peaks ask for a file many times a
    minute, and building and compiling this query cost Python several times what PostgreSQL
    takes to run it, so its SQL is compiled once per process (jobs.compiled.rows_compiled_once):
    the viewer's kind and `reads` make its shape, the client's organisation and the file id are
    its values. `reads` is a module-level function: its name keys the compiled SQL."""
    if not user.is_authenticated or not (user.is_studio or user.organisation_id is not None):
        raise Http404("No such file")  # files_visible_to(user) is empty
    annotations = _annotations(reads) if reads is not None else {}
    name = f"{reads.__module__}.{reads.__qualname__}" if reads is not None else ""
    assert "<" not in name, "`reads` must be a module-level function: its name keys the SQL"

    def build(*values: Any) -> QuerySet[Any]:
        # A viewer standing for every viewer of this kind: files_visible_to reads the role, and
        # a client's organisation (the one value of the viewer that goes in the SQL).
        *organisation, pk = values
        viewer = User(role=user.role, organisation_id=organisation[0] if organisation else None)
        columns = [f.attname for f in AudioFile._meta.concrete_fields]
        columns += [f"job__{f.attname}" for f in Job._meta.concrete_fields]
        files = files_visible_to(viewer).filter(pk=pk).annotate(**annotations)
        rows: QuerySet[Any] = files.values(*columns, *annotations)[:1]
        return rows

    values: tuple[Any, ...]
    if user.is_studio:
        key, values = f"audio_file_for:studio:{name}", (file_id,)
    else:
        key, values = f"audio_file_for:client:{name}", (user.organisation_id, file_id)
    rows = rows_compiled_once(key, build, *values)
    if not rows:
        raise Http404("No such file")
    row = rows[0]
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


def session_for(user: User, session_id: int | str) -> ListeningSession:
    """One's own listening session: anyone else's, a manager's included, is a 404."""
    try:
        return ListeningSession.objects.select_related("stage", "stage__job", "engineer").get(
            pk=session_id, engineer_id=user.pk
        )
    except (ListeningSession.DoesNotExist, ValueError):
        raise Http404("No such session") from None


def ear_break_for(user: User, break_id: int | str) -> EarBreak:
    """A break one was prompted for; anyone else's is a 404."""
    try:
        return EarBreak.objects.get(pk=break_id, engineer_id=user.pk)
    except (EarBreak.DoesNotExist, ValueError):
        raise Http404("No such break") from None
