"""The core under every move in a job's life: errors written for people, the working calendar, and
`locked(job)`, which runs a move in one transaction with the job's row locked, writes its history,
saves what changed and re-plans once the move is committed."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from django.core.cache import cache
from django.db import OperationalError, models, transaction
from django.utils import timezone

from jobs import clock
from jobs.models import (
    ClockMode,
    EventKind,
    Job,
    JobEvent,
    StudioDayOff,
    StudioPolicy,
    User,
)

Row = TypeVar("Row", bound=models.Model)
P = ParamSpec("P")
R = TypeVar("R")


class WorkflowError(Exception):
    """A move that cannot be made; the message is meant for people."""

    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(WorkflowError):
    """The actor may not make this move."""

    code = "not_allowed"


class WrongState(WorkflowError):
    """The job or stage is not in a state this move starts from."""

    code = "wrong_state"


def studio_calendar(*, policy: StudioPolicy | None = None) -> clock.WorkCalendar:
    """The studio's working calendar (hours, weekdays, days off) for the delivery clock."""
    policy = policy or StudioPolicy.current()
    return clock.WorkCalendar(
        tz=policy.timezone,
        start=policy.workday_start,
        end=policy.workday_end,
        weekdays=frozenset(int(d) for d in policy.working_weekdays),
        days_off=frozenset(StudioDayOff.objects.values_list("date", flat=True)),
    )


def working_days(policy: StudioPolicy) -> bool:
    return policy.clock_mode == ClockMode.WORKING_DAYS


def require_manager(by: User | None, what: str) -> None:
    if by is None or not by.may_manage:
        raise NotAllowed(f"Only a studio manager can {what}.")


def require_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(f"Give a reason to {what}.")
    return reason


def require_status(job: Job, allowed: frozenset[str] | set[str], what: str) -> None:
    if job.status not in allowed:
        raise WrongState(f"A job that is {job.get_status_display().lower()} cannot {what}.")


def replan_soon() -> None:
    """The plan depends on every stage, assignee and clock, so any such move re-plans once it is
    committed (in the worker, or in process when there is no broker)."""

    def queue() -> None:
        from jobs.tasks import REPLAN_DELAY_S, REPLAN_QUEUED, plan_refresh_task

        # A burst of moves needs one re-plan, not one each: queue only if none is waiting, and
        # wait a few seconds first, so the moves of one burst land in the same re-plan.
        if cache.add(REPLAN_QUEUED, "1", timeout=60):
            plan_refresh_task.apply_async(countdown=REPLAN_DELAY_S)

    transaction.on_commit(queue)


def _values(row: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}


@dataclass
class _Held:
    """A locked row, what it held when locked, and the caller's instance to bring up to date."""

    row: models.Model
    before: dict[str, Any]
    caller: models.Model


@dataclass
class Move:
    """One move under way: the locked job, who makes it and when. Its history is written through
    `record` and `set_status`, so every event of the move has the same actor and time."""

    job: Job
    by: User | None
    at: datetime = field(default_factory=timezone.now)
    held: list[_Held] = field(default_factory=list)

    def record(
        self,
        kind: str,
        *,
        subject: str = "",
        from_value: str = "",
        to_value: str = "",
        note: str = "",
    ) -> None:
        JobEvent.objects.create(
            job=self.job,
            kind=kind,
            actor=self.by,
            at=self.at,
            subject=subject,
            from_value=from_value,
            to_value=to_value,
            note=note,
        )

    def set_status(self, status: str, *, note: str = "") -> None:
        self.record(EventKind.STATUS, from_value=self.job.status, to_value=status, note=note)
        self.job.status = status

    def lock(self, row: Row) -> Row:
        """Lock another row of the job for this move; it is saved with the job if it changes."""
        model = type(row)
        try:
            locked = model._default_manager.select_for_update().get(pk=row.pk)
        except model.DoesNotExist:  # type: ignore[attr-defined]
            raise WrongState(f"This {model._meta.verbose_name} no longer exists.") from None
        self._hold(locked, row)
        return locked

    def _hold(self, row: models.Model, caller: models.Model) -> None:
        self.held.append(_Held(row=row, before=copy.deepcopy(_values(row)), caller=caller))

    def save_changes(self) -> bool:
        """Save each locked row whose fields changed; whether any did."""
        changed = False
        for held in self.held:
            if _values(held.row) != held.before:
                held.row.save()
                changed = True
        return changed

    def update_callers(self) -> None:
        """Copy the saved state onto the caller's instances so they are not left stale."""
        for held in self.held:
            if held.caller is not held.row:
                for name, value in _values(held.row).items():
                    setattr(held.caller, name, value)


@contextmanager
def locked(job: Job, *, by: User | None, replan: bool = True) -> Iterator[Move]:
    """Run a move on `job`: one transaction holding the job's row lock (`select_for_update`), so a
    refused move leaves nothing behind and concurrent moves on a job take turns. On leaving, the
    job and every row locked through `Move.lock` are saved if they changed; when something did and
    `replan` is set, the plan is refreshed after the commit."""
    with transaction.atomic():
        try:
            row = Job.objects.select_for_update().get(pk=job.pk)
        except Job.DoesNotExist:
            raise WrongState("This job no longer exists.") from None
        move = Move(job=row, by=by)
        move._hold(row, job)
        yield move
        changed = move.save_changes()
    if changed and replan:
        replan_soon()
    move.update_callers()


def _deadlocked(exc: OperationalError) -> bool:
    # Imported on a failure only: start-up on SQLite (commands, the embedded default) need not
    # load the PostgreSQL driver.
    from psycopg import errors as pg_errors

    return isinstance(exc.__cause__, pg_errors.DeadlockDetected | pg_errors.SerializationFailure)


def once_more_if_deadlocked(move: Callable[P, R]) -> Callable[P, R]:
    """Run the move once more if PostgreSQL chose it as a deadlock's victim: its transaction was
    rolled back whole, so the second try checks everything afresh. (Re-plans lock stages before
    jobs while the moves lock jobs before stages; see the load test.) Any other database error is
    left to the caller."""

    @functools.wraps(move)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return move(*args, **kwargs)
        except OperationalError as exc:
            if not _deadlocked(exc):
                raise
            return move(*args, **kwargs)

    return run
