"""The planner's database side: load open work and engineers, run the plan, store its answer.

Services layer. `jobs/planner.py` knows nothing of models; this module turns rows into its
dataclasses and the plan's answer into predicted finishes, proposed engineers and deadline
statuses (with history).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from jobs.clock import WorkCalendar
from jobs.dose import minutes_left
from jobs.models import (
    CLOCK_RUNNING,
    FRESH_EARS_STAGES,
    STAGE_OPEN,
    AudioFile,
    EngineerDayOff,
    EngineerProfile,
    EventKind,
    FileKind,
    Job,
    JobEvent,
    ListeningSession,
    Role,
    Stage,
    StageKind,
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
    blocks_from,
    collector_paused,
    deadline_status,
    plan,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRow:
    """What the plan reads and writes of a running job."""

    due_at: datetime | None
    predicted_finish_at: datetime | None
    deadline_status: str
    track_title: str


@dataclass(frozen=True)
class StageRow:
    """What the plan writes of an open stage, as stored before this plan."""

    job_id: UUID
    kind: str
    predicted_finish_at: datetime | None
    proposed_assignee_id: int | None


@dataclass
class PlanInputs:
    work: list[StageWork]
    engineers: list[EngineerIn]
    now: datetime
    policy: StudioPolicy
    jobs: dict[UUID, JobRow]  # the jobs whose clocks run, by id
    stages: dict[int, StageRow]  # their open stages of the current round, by id


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
    """Everything the planner needs, in a handful of queries whatever the number of jobs: plain
    values rather than model instances (a big studio has thousands of open stages), and each
    query narrowed by a join rather than a list of thousands of ids."""
    now = now or timezone.now()
    policy = StudioPolicy.current()
    running = Q(job__status__in=sorted(s.value for s in CLOCK_RUNNING), job__paused_at__isnull=True)
    jobs = {
        pk: JobRow(
            due_at=due, predicted_finish_at=predicted, deadline_status=status, track_title=title
        )
        for pk, due, predicted, status, title in running_jobs()
        .order_by()
        .values_list("pk", "due_at", "predicted_finish_at", "deadline_status", "track_title")
    }
    # A job whose clock started between the two queries waits for the next re-plan.
    open_stages = [
        row
        for row in Stage.objects.filter(
            running, status__in=STAGE_OPEN, revision_round=F("job__revision_round")
        )
        .order_by()
        .values_list(
            "pk",
            "job_id",
            "kind",
            "position",
            "assignee_id",
            "work_seconds",
            "predicted_finish_at",
            "proposed_assignee_id",
        )
        if row[1] in jobs
    ]
    stems = dict(
        AudioFile.objects.filter(running, kind=FileKind.STEM, is_current=True)
        .order_by()
        .values("job_id")
        .annotate(n=Count("pk"))
        .values_list("job_id", "n")
    )
    # Time listened in sessions still running counts as done, though not yet on the stage. Few
    # sessions are open at any time, so they are all read and matched here.
    listening: dict[int, int] = defaultdict(int)
    for stage_id, started in ListeningSession.objects.filter(ended_at__isnull=True).values_list(
        "stage_id", "started_at"
    ):
        listening[stage_id] += max(0, int((now - started).total_seconds()))
    stages: dict[int, StageRow] = {}
    work = []
    for pk, job_id, kind, position, assignee_id, seconds, predicted, proposed in open_stages:
        stages[pk] = StageRow(
            job_id=job_id, kind=kind, predicted_finish_at=predicted, proposed_assignee_id=proposed
        )
        work.append(
            StageWork(
                stage_id=pk,
                job_id=job_id,
                kind=kind,
                order=position,
                remaining_minutes=max(
                    0,
                    policy.estimate_minutes(kind, stems.get(job_id, 0))
                    - (seconds + listening.get(pk, 0)) // 60,
                ),
                due_at=jobs[job_id].due_at,
                assignee_id=assignee_id,
                fresh_ears=kind in FRESH_EARS_STAGES,
            )
        )
    assignees = {w.assignee_id for w in work if w.assignee_id is not None}
    people = list(
        User.objects.filter(Q(role=Role.ENGINEER, is_active=True) | Q(pk__in=assignees)).order_by(
            "pk"
        )
    )
    engineers = engineers_in(policy, people, now=now)
    return PlanInputs(
        work=work, engineers=engineers, now=now, policy=policy, jobs=jobs, stages=stages
    )


def engineers_in(policy: StudioPolicy, people: list[User], *, now: datetime) -> list[EngineerIn]:
    """These people as the planner sees them: hours, days off and ear-break rules (three
    queries however many people)."""
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
    return [
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


def plan_compute(*, now: datetime | None = None) -> tuple[Plan, PlanInputs]:
    """The current plan, without writing anything (for feeds and the plan command)."""
    inputs = plan_inputs(now=now)
    return plan(work=inputs.work, engineers=inputs.engineers, now=inputs.now), inputs


# The last plan, for the pages that show its blocks (workload, an engineer's plan): planning a
# big studio takes about a second, too much to do again for every page view. Every re-plan
# (after each change, and on the beat) stores it; a page that finds none, or one older than
# STORED_MAX_AGE, plans once and stores that.
STORED_PLAN = "jobs:stored-plan"
# Written with it: which plan it is. A process keeps the last plan it read and reads the plan
# itself again only when this has changed (a studio's plan is some hundreds of kilobytes).
STORED_PLAN_STAMP = "jobs:stored-plan-stamp"
STORED_DAYS = 21  # how far ahead the stored blocks reach
STORED_MAX_AGE = timedelta(minutes=30)


@dataclass(frozen=True)
class StoredPlan:
    """The part of a plan the pages show: each person's blocks from the plan's start up to
    `until`, each unassigned stage's proposed engineer and predicted finish, and a label for
    every stage that has blocks (its track and kind)."""

    now: datetime
    until: datetime
    blocks: dict[int, list[tuple[int, int, str, int | None, str]]]  # epoch minutes
    proposed: dict[int, int]
    finish: dict[int, datetime | None]
    labels: dict[int, str]

    def timeline(self, engineer_id: int) -> list[Block]:
        # As the plan makes them (the stored blocks keep no job id).
        line = self.blocks.get(engineer_id, [])
        return blocks_from(engineer_id, [(s, e, k, sid, None, bk) for s, e, k, sid, bk in line])


def _stored_from(result: Plan, inputs: PlanInputs) -> StoredPlan:
    until = result.now + timedelta(days=STORED_DAYS)
    # The blocks that start before `until`, in epoch minutes as the plan keeps them.
    before = until.timestamp() / 60
    blocks = {
        eid: [
            (start, end, kind, stage_id, break_kind)
            for start, end, kind, stage_id, _job, break_kind in line
            if start < before
        ]
        for eid, line in result.lines.items()
    }
    kinds = dict(StageKind.choices)
    labels = {
        sid: f"{inputs.jobs[row.job_id].track_title} · {kinds.get(row.kind, row.kind)}"
        for sid, row in inputs.stages.items()
    }
    unassigned = {w.stage_id for w in inputs.work if w.assignee_id is None}
    return StoredPlan(
        now=result.now,
        until=until,
        blocks=blocks,
        proposed=dict(result.proposed),
        finish={sid: result.stage_finish.get(sid) for sid in unassigned},
        labels=labels,
    )


def _store(stored: StoredPlan) -> None:
    entries = {STORED_PLAN: stored, STORED_PLAN_STAMP: uuid4().hex}
    try:
        cache.set_many(entries, timeout=int(STORED_MAX_AGE.total_seconds()) * 2)
    except Exception:
        logger.warning("could not store the plan in the cache", exc_info=True)


class _Kept:
    """The stored plan this process read last, and its stamp."""

    stamp: str | None = None
    plan: StoredPlan | None = None


def _read_stored() -> StoredPlan | None:
    """The plan in the cache: the one this process read last while its stamp is unchanged
    (one small read), else read in full."""
    stamp = cache.get(STORED_PLAN_STAMP)
    if stamp is not None and stamp == _Kept.stamp:
        return _Kept.plan
    stored = cache.get(STORED_PLAN)
    if not isinstance(stored, StoredPlan):
        return None
    _Kept.stamp, _Kept.plan = stamp, stored
    return stored


def forget_stored_plan() -> None:
    """Drop the stored plan: the next page that needs it plans afresh."""
    cache.delete_many([STORED_PLAN, STORED_PLAN_STAMP])


def stored_plan(*, now: datetime | None = None) -> StoredPlan:
    """The last plan stored, or a fresh one (then stored) when there is none, it is older than
    STORED_MAX_AGE or does not reach a day after `now`. Writes nothing to the database."""
    now = now or timezone.now()
    try:
        stored = _read_stored()
    except Exception:
        logger.warning("could not read the plan from the cache", exc_info=True)
        stored = None
    if stored is not None and stored.now <= now < stored.now + STORED_MAX_AGE:
        return stored
    result, inputs = plan_compute(now=now)
    fresh = _stored_from(result, inputs)
    _store(fresh)
    return fresh


def engineer_timeline(
    *, engineer: User, now: datetime | None = None, until: datetime | None = None
) -> list[Block]:
    """One person's planned work blocks and ear breaks (from now, up to `until` if given): from
    the stored plan when it reaches `until` (the plan page), otherwise planned afresh (the
    calendar feed, which has no end)."""
    if until is not None:
        stored = stored_plan(now=now)
        if until <= stored.until:
            return [b for b in stored.timeline(engineer.pk) if b.start < until]
    result, _ = plan_compute(now=now)
    blocks = result.timeline(engineer.pk)
    return [b for b in blocks if until is None or b.start < until]


def plan_refresh(*, now: datetime | None = None) -> Plan:
    """Re-plan and store the answer: each open stage's predicted finish and proposed engineer,
    each running job's predicted finish and deadline status (a change is written to history)."""
    StudioPolicy.current()
    with collector_paused(), transaction.atomic():
        # One re-plan at a time (the policy row is the lock): two at once would both see the same
        # status change and write it to the history twice.
        StudioPolicy.objects.select_for_update().get(pk=1)
        return _refresh(now=now)


def _refresh(*, now: datetime | None) -> Plan:
    result, inputs = plan_compute(now=now)
    stored = _stored_from(result, inputs)
    transaction.on_commit(lambda: _store(stored))
    now = inputs.now
    margin = timedelta(hours=inputs.policy.at_risk_margin_hours)

    # Only what changed is written, compared with what the last plan stored.
    changed_stages: list[tuple[Any, ...]] = []
    for sid, stage in inputs.stages.items():
        finish = result.stage_finish.get(sid)
        proposed = result.proposed.get(sid)
        if stage.predicted_finish_at != finish or stage.proposed_assignee_id != proposed:
            changed_stages.append((sid, finish, proposed))

    changed_jobs: list[tuple[Any, ...]] = []
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
                    job_id=job_id,
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
        changed_jobs.append((job_id, predicted, status))

    # Jobs before stages, each in id order: the stage moves lock a job and then its stages, so
    # taking the locks in the same order here can never deadlock with them. A stage's job is
    # locked too, even when only the stage changes. The locks come first because the UPDATEs
    # below take theirs in whatever order the database joins the rows.
    _lock_in_order(
        Job,
        {row[0] for row in changed_jobs} | {inputs.stages[row[0]].job_id for row in changed_stages},
    )
    _lock_in_order(Stage, {row[0] for row in changed_stages})
    _bulk_set(Job, ["predicted_finish_at", "deadline_status"], changed_jobs)
    _bulk_set(Stage, ["predicted_finish_at", "proposed_assignee"], changed_stages)
    if events:
        JobEvent.objects.bulk_create(events)
    return result


def _lock_in_order(model: type[Job] | type[Stage], ids: set[Any]) -> None:
    # SQLite has no row locks (a write locks the whole database), so there is nothing to order.
    if not ids or not connection.features.has_select_for_update:
        return
    if connection.vendor != "postgresql":
        list(model.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
        return
    # The same statement as the ORM's `pk IN (...)`, with the ids as one array parameter: the
    # driver spends most of a big re-plan's write splitting thousands of placeholders otherwise.
    conn = connections[DEFAULT_DB_ALIAS]
    pk: Any = model._meta.pk
    assert pk is not None
    qn = conn.ops.quote_name
    table, column = qn(model._meta.db_table), qn(pk.column)
    with conn.cursor() as cursor:
        cursor.execute(
            f"SELECT {table}.{column} FROM {table} "
            f"WHERE {table}.{column} = ANY(%s::{pk.cast_db_type(conn)}[]) "
            f"ORDER BY {table}.{column} ASC FOR UPDATE",
            [_pg_array(pk, list(ids), conn)],
        )
        cursor.fetchall()


def _bulk_set(
    model: type[Job] | type[Stage], names: list[str], rows: list[tuple[Any, ...]]
) -> None:
    """Write a few fields of many rows in one statement per batch; each row is (pk, *values).

    Time moves every prediction, so a re-plan rewrites most rows; Django's `bulk_update` builds a
    CASE expression per row in Python, which costs about a second for a busy studio. PostgreSQL
    and SQLite (3.33+) both take UPDATE ... FROM a table of the new values, which is a few
    milliseconds. On PostgreSQL that table is one array per column (unnest), so a statement has
    a handful of parameters however many rows it writes: spelling out thousands of rows as
    VALUES costs more in the driver (placeholders split, rows quoted) than in the database, and
    needs many statements, each scanning the table once."""
    if not rows:
        return
    # The connection itself rather than its proxy, which looks it up on every use (thousands).
    conn = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields: list[Any] = [pk, *(meta.get_field(n) for n in names)]
    if conn.vendor not in ("postgresql", "sqlite"):
        objs: list[Any] = []
        for row in rows:
            obj = model(pk=row[0])
            for f, value in zip(fields[1:], row[1:], strict=True):
                setattr(obj, f.attname, value)
            objs.append(obj)
        model._default_manager.bulk_update(objs, names, batch_size=500)
        return
    qn = conn.ops.quote_name
    table = qn(meta.db_table)
    cols = [f"c{i}" for i in range(len(fields))]
    sets = ", ".join(f"{qn(f.column)} = v.{c}" for f, c in zip(fields[1:], cols[1:], strict=True))
    update = f"UPDATE {table} SET {sets} FROM v WHERE {table}.{qn(pk.column)} = v.c0"
    pg = conn.vendor == "postgresql"
    # SQLite takes at most 32,766 parameters a statement (999 before 3.32).
    batch = 10_000 if pg else 250
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        if pg:
            # One array per column, its type spelled out (a column of NULLs would be text).
            params: list[Any] = [
                _pg_array(f, [row[i] for row in chunk], conn) for i, f in enumerate(fields)
            ]
            arrays = ", ".join(f"%s::{f.cast_db_type(conn)}[]" for f in fields)
            sql = f"WITH v({', '.join(cols)}) AS (SELECT * FROM unnest({arrays})) {update}"
        else:
            params = [
                f.get_db_prep_value(value, conn)
                for row in chunk
                for f, value in zip(fields, row, strict=True)
            ]
            row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
            values = ", ".join([row_sql] * len(chunk))
            sql = f"WITH v({', '.join(cols)}) AS (VALUES {values}) {update}"
        with conn.cursor() as cursor:
            cursor.execute(sql, params)


def _pg_array(field: Any, values: list[Any], conn: Any) -> Any:
    """A column of values as one PostgreSQL array parameter, spelled as its literal
    ('{1,NULL,2026-03-02T10:00:00+00:00}') when every value is a plain one: the driver adapts a
    list of thousands of datetimes element by element, several times slower. Numbers, ids and
    aware datetimes go as they are (preparing them for the database changes nothing); anything
    else is prepared by the field first, and left to the driver as a list if still not plain."""
    literal = _array_literal(values, text=False)
    if literal is not None:
        return literal
    prepared = [field.get_db_prep_value(v, conn) for v in values]
    literal = _array_literal(prepared, text=True)
    return prepared if literal is None else literal


def _array_literal(values: list[Any], *, text: bool) -> str | None:
    out = []
    for v in values:
        if v is None:
            out.append("NULL")
        elif isinstance(v, bool):
            return None
        elif isinstance(v, int):
            out.append(str(v))
        elif isinstance(v, UUID):
            out.append(v.hex)
        elif isinstance(v, datetime) and v.tzinfo is not None:
            out.append(v.isoformat())
        elif text and isinstance(v, str):
            out.append('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            return None
    return "{" + ",".join(out) + "}"
