"""The planner's database side: load open work and engineers, run the plan, store its answer.

Services layer. `jobs/planner.py` knows nothing of models; this module turns rows into its
dataclasses and the plan's answer into predicted finishes, proposed engineers and deadline
statuses (with history).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from jobs.clock import WorkCalendar
from jobs.dose import minutes_left
from jobs.models import (
    CLOCK_RUNNING,
    FRESH_EARS_STAGES,
    STAGE_OPEN,
    EngineerDayOff,
    EngineerProfile,
    EventKind,
    FileKind,
    Job,
    JobEvent,
    ListeningSession,
    Role,
    Stage,
    StudioDayOff,
    StudioPolicy,
    User,
)
from jobs.planner import (
    Block,
    EarBreakPolicy,
    EngineerIn,
    Plan,
    StageWork,
    deadline_status,
    plan,
)


@dataclass
class PlanInputs:
    work: list[StageWork]
    engineers: list[EngineerIn]
    now: datetime
    policy: StudioPolicy
    jobs: dict[UUID, Job]  # the jobs whose clocks run, by id
    stages: dict[int, Stage]


def ear_break_policy(
    policy: StudioPolicy, profile: EngineerProfile | None = None, *, by_dose: bool = False
) -> EarBreakPolicy:
    """The ear-break rules for one engineer: the studio's, tightened by their own profile.

    `by_dose` (the planner's view) also tightens them by the sound dose at the level the
    engineer expects to monitor at: a day's listening ends where the day's dose would run out
    before the minutes do, and a block where the dose of one sitting would. The session timer
    leaves this out: it counts the dose of the level actually set."""
    rules = _minute_rules(policy, profile)
    level = profile.expected_level_db if profile is not None else None
    if not by_dose or level is None:
        return rules
    # At least a minute: a limit of zero minutes would read as "no limit of its own".
    return rules.stricter(
        max_block=max(1, int(minutes_left(level, 0.0, policy.session_dose_limit_pct))),
        daily_cap=max(1, int(minutes_left(level, 0.0, policy.daily_dose_limit_pct))),
    )


def _minute_rules(policy: StudioPolicy, profile: EngineerProfile | None) -> EarBreakPolicy:
    studio = EarBreakPolicy(
        max_block=policy.max_continuous_listening_min,
        short_break=policy.short_break_min,
        long_break=policy.long_break_min,
        long_every=policy.long_break_every,
        daily_cap=policy.daily_listening_cap_min,
        fresh_ears_break=policy.fresh_ears_break_min,
    )
    if profile is None:
        return studio
    return studio.stricter(
        max_block=profile.max_continuous_listening_min,
        daily_cap=profile.daily_listening_cap_min,
    )


def engineer_calendar(
    policy: StudioPolicy,
    profile: EngineerProfile | None,
    *,
    studio_days_off: frozenset[date],
    own_days_off: frozenset[date] = frozenset(),
) -> WorkCalendar:
    """An engineer's hours (the studio's when they have no profile); studio closures count too."""
    source = profile or policy
    return WorkCalendar(
        tz=source.timezone,
        start=source.workday_start,
        end=source.workday_end,
        weekdays=frozenset(int(d) for d in source.working_weekdays),
        days_off=studio_days_off | own_days_off,
    )


def running_jobs() -> QuerySet[Job]:
    """The jobs whose delivery clocks run (accepted, not paused): the ones the plan covers."""
    return Job.objects.filter(
        status__in=sorted(s.value for s in CLOCK_RUNNING), paused_at__isnull=True
    )


def plan_inputs(*, now: datetime | None = None) -> PlanInputs:
    """Everything the planner needs, in a handful of queries whatever the number of jobs."""
    now = now or timezone.now()
    policy = StudioPolicy.current()
    jobs = {j.pk: j for j in running_jobs().order_by()}
    stages = {
        s.pk: s
        for s in Stage.objects.filter(
            job_id__in=list(jobs), status__in=STAGE_OPEN, revision_round=F("job__revision_round")
        ).order_by()
    }
    stems = dict(
        Job.objects.filter(pk__in=list(jobs))
        .annotate(n=Count("files", filter=Q(files__kind=FileKind.STEM, files__is_current=True)))
        .values_list("pk", "n")
    )
    # Time listened in sessions still running counts as done, though not yet on the stage.
    listening: dict[int, int] = defaultdict(int)
    for stage_id, started in ListeningSession.objects.filter(
        ended_at__isnull=True, stage_id__in=list(stages)
    ).values_list("stage_id", "started_at"):
        listening[stage_id] += max(0, int((now - started).total_seconds()))
    work = [
        StageWork(
            stage_id=s.pk,
            job_id=s.job_id,
            kind=s.kind,
            order=s.position,
            remaining_minutes=max(
                0,
                policy.estimate_minutes(s.kind, stems.get(s.job_id, 0))
                - (s.work_seconds + listening[s.pk]) // 60,
            ),
            due_at=jobs[s.job_id].due_at,
            assignee_id=s.assignee_id,
            fresh_ears=s.kind in FRESH_EARS_STAGES,
        )
        for s in stages.values()
    ]
    assignees = {s.assignee_id for s in stages.values() if s.assignee_id is not None}
    people = list(
        User.objects.filter(Q(role=Role.ENGINEER, is_active=True) | Q(pk__in=assignees)).order_by(
            "pk"
        )
    )
    profiles = {p.user_id: p for p in EngineerProfile.objects.filter(user__in=people)}
    studio_off = frozenset(
        StudioDayOff.objects.filter(date__gte=now.date() - timedelta(days=1)).values_list(
            "date", flat=True
        )
    )
    own_off: dict[int, set[date]] = defaultdict(set)
    for engineer_id, day in EngineerDayOff.objects.filter(
        engineer__in=people, date__gte=now.date() - timedelta(days=1)
    ).values_list("engineer_id", "date"):
        own_off[engineer_id].add(day)
    engineers = [
        EngineerIn(
            id=u.pk,
            calendar=engineer_calendar(
                policy,
                profiles.get(u.pk),
                studio_days_off=studio_off,
                own_days_off=frozenset(own_off[u.pk]),
            ),
            policy=ear_break_policy(policy, profiles.get(u.pk), by_dose=True),
            takes_unassigned=u.is_engineer and u.is_active,
        )
        for u in people
    ]
    return PlanInputs(
        work=work, engineers=engineers, now=now, policy=policy, jobs=jobs, stages=stages
    )


def plan_compute(*, now: datetime | None = None) -> tuple[Plan, PlanInputs]:
    """The current plan, without writing anything (for feeds and the plan command)."""
    inputs = plan_inputs(now=now)
    return plan(work=inputs.work, engineers=inputs.engineers, now=inputs.now), inputs


def engineer_timeline(
    *, engineer: User, now: datetime | None = None, until: datetime | None = None
) -> list[Block]:
    """One person's planned work blocks and ear breaks (from now, up to `until` if given)."""
    result, _ = plan_compute(now=now)
    blocks = result.timelines.get(engineer.pk, [])
    return [b for b in blocks if until is None or b.start < until]


def plan_refresh(*, now: datetime | None = None) -> Plan:
    """Re-plan and store the answer: each open stage's predicted finish and proposed engineer,
    each running job's predicted finish and deadline status (a change is written to history)."""
    StudioPolicy.current()
    with transaction.atomic():
        # One re-plan at a time (the policy row is the lock): two at once would both see the same
        # status change and write it to the history twice.
        StudioPolicy.objects.select_for_update().get(pk=1)
        return _refresh(now=now)


def _refresh(*, now: datetime | None) -> Plan:
    result, inputs = plan_compute(now=now)
    now = inputs.now
    margin = timedelta(hours=inputs.policy.at_risk_margin_hours)

    changed_stages = []
    for sid, stage in inputs.stages.items():
        finish = result.stage_finish.get(sid)
        proposed = result.proposed.get(sid)
        if stage.predicted_finish_at != finish or stage.proposed_assignee_id != proposed:
            stage.predicted_finish_at = finish
            stage.proposed_assignee_id = proposed
            changed_stages.append(stage)

    changed_jobs = []
    events = []
    for job_id, job in inputs.jobs.items():
        if job_id in result.job_finish:
            predicted = result.job_finish[job_id]
            planned = predicted is not None
        else:
            # No open stage left: the work is done and only the delivery itself remains.
            predicted, planned = now, True
        status = deadline_status(
            due_at=job.due_at, predicted=predicted, now=now, margin=margin, planned=planned
        )
        if job.predicted_finish_at == predicted and job.deadline_status == status:
            continue
        if job.deadline_status != status:
            events.append(
                JobEvent(
                    job=job,
                    at=now,
                    kind=EventKind.DEADLINE,
                    subject="deadline_status",
                    from_value=job.deadline_status,
                    to_value=status,
                    note=f"predicted finish {predicted:%Y-%m-%d %H:%M} UTC"
                    if predicted
                    else "the plan cannot place this work",
                )
            )
        job.predicted_finish_at = predicted
        job.deadline_status = status
        changed_jobs.append(job)

    # Jobs before stages, each in id order: the stage moves lock a job and then its stages, so
    # taking the locks in the same order here can never deadlock with them. A stage's job is
    # locked too, even when only the stage changes. The locks come first because the UPDATEs
    # below take theirs in whatever order the database joins the rows.
    _lock_in_order(Job, {j.pk for j in changed_jobs} | {s.job_id for s in changed_stages})
    _lock_in_order(Stage, {s.pk for s in changed_stages})
    _bulk_set(changed_jobs, ["predicted_finish_at", "deadline_status"])
    _bulk_set(changed_stages, ["predicted_finish_at", "proposed_assignee"])
    if events:
        JobEvent.objects.bulk_create(events)
    return result


def _lock_in_order(model: type[Job] | type[Stage], ids: set[Any]) -> None:
    # SQLite has no row locks (a write locks the whole database), so there is nothing to order.
    if ids and connection.features.has_select_for_update:
        list(model.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def _bulk_set(rows: list[Any], names: list[str], batch: int = 250) -> None:
    """Write a few fields of many rows in one statement per batch.

    Time moves every prediction, so a re-plan rewrites most rows; Django's `bulk_update` builds a
    CASE expression per row in Python, which costs about a second for a busy studio. PostgreSQL
    and SQLite (3.33+) both take UPDATE ... FROM (VALUES ...), which is a few milliseconds."""
    if not rows:
        return
    model = type(rows[0])
    if connection.vendor not in ("postgresql", "sqlite"):
        model.objects.bulk_update(rows, names, batch_size=500)
        return
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = [pk] + [meta.get_field(n) for n in names]
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    pg = connection.vendor == "postgresql"
    # PostgreSQL needs the types spelled out (a column of NULLs would otherwise be text).
    cell = [f"%s::{f.cast_db_type(connection)}" if pg else "%s" for f in fields]
    row_sql = "(" + ", ".join(cell) + ")"
    cols = [f"c{i}" for i in range(len(fields))]
    sets = ", ".join(f"{qn(f.column)} = v.{c}" for f, c in zip(fields[1:], cols[1:], strict=True))
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        params: list[Any] = []
        for row in chunk:
            for f in fields:
                params.append(f.get_db_prep_value(getattr(row, f.attname), connection))
        values = ", ".join([row_sql] * len(chunk))
        sql = (
            f"WITH v({', '.join(cols)}) AS (VALUES {values}) "
            f"UPDATE {table} SET {sets} FROM v WHERE {table}.{qn(pk.column)} = v.c0"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
