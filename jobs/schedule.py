"""The scheduler: lays out every engineer's coming working days from open stage work.

A pure function of plain dataclasses (no ORM; `jobs/planning.py` loads the inputs and writes the
results). Work goes earliest due date first; a job's stages run in order, even across engineers;
listening comes in blocks no longer than the continuous-listening limit with a break after each
(every Nth break a long one), never past the daily listening cap, and stages that need fresh ears
start only at the start of a day or after a break of at least the fresh-ears length.

Time is counted in whole minutes since the Unix epoch inside the planner, because it runs on every
change and has to plan hundreds of jobs in well under a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from jobs.clock import WorkCalendar

WORK = "work"
BREAK = "break"
SHORT, LONG, FRESH_EARS = "short", "long", "fresh_ears"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BreakPolicy:
    """The ear-break rules, in minutes."""

    max_block: int = 50
    short_break: int = 10
    long_break: int = 30
    long_every: int = 4
    daily_cap: int = 360
    fresh_ears_break: int = 15

    def stricter(self, *, max_block: int | None, daily_cap: int | None) -> BreakPolicy:
        """An engineer may only tighten the studio's limits, never loosen them."""
        return BreakPolicy(
            max_block=min(self.max_block, max_block or self.max_block),
            short_break=self.short_break,
            long_break=self.long_break,
            long_every=self.long_every,
            daily_cap=min(self.daily_cap, daily_cap or self.daily_cap),
            fresh_ears_break=self.fresh_ears_break,
        )


@dataclass(frozen=True)
class EngineerIn:
    id: int
    calendar: WorkCalendar
    policy: BreakPolicy = field(default_factory=BreakPolicy)
    # Managers can be assigned work, but the planner proposes only engineers for unassigned work.
    takes_unassigned: bool = True


@dataclass(frozen=True)
class StageWork:
    """One open stage: what remains of it and where it sits in its job."""

    stage_id: int
    job_id: object
    kind: str
    order: int
    remaining_minutes: int
    due_at: datetime | None
    assignee_id: int | None = None
    fresh_ears: bool = False


@dataclass(frozen=True)
class Block:
    engineer_id: int
    start: datetime
    end: datetime
    kind: str  # WORK or BREAK
    stage_id: int | None = None
    job_id: object = None
    break_kind: str = ""

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass
class Plan:
    now: datetime
    timelines: dict[int, list[Block]]
    stage_start: dict[int, datetime | None]
    stage_finish: dict[int, datetime | None]
    stage_engineer: dict[int, int | None]
    job_finish: dict[object, datetime | None]
    proposed: dict[int, int]  # unassigned stage id -> the engineer who would finish it first

    @property
    def unplanned(self) -> set[int]:
        return {sid for sid, finish in self.stage_finish.items() if finish is None}


def deadline_status(
    *,
    due_at: datetime | None,
    predicted: datetime | None,
    now: datetime,
    margin: timedelta = timedelta(0),
    planned: bool = True,
) -> str:
    """overdue when now is past due; at_risk when the plan finishes after due (less the margin)
    or cannot place the work at all; on_track otherwise."""
    if due_at is None:
        return "on_track"
    if now > due_at:
        return "overdue"
    if not planned or (predicted is not None and predicted > due_at - margin):
        return "at_risk"
    return "on_track"


def _to_min(moment: datetime) -> int:
    # Round up: the planner never schedules into the past.
    seconds = (moment - _EPOCH).total_seconds()
    whole = int(seconds // 60)
    return whole if whole * 60 == seconds else whole + 1


def _to_dt(minute: int) -> datetime:
    return _EPOCH + timedelta(minutes=minute)


class _Windows:
    """An engineer's working windows in epoch minutes, produced lazily up to a horizon."""

    __slots__ = ("horizon", "items", "source")

    def __init__(self, calendar: WorkCalendar, since: datetime, horizon: int) -> None:
        self.items: list[tuple[int, int]] = []
        self.source: Iterator[tuple[datetime, datetime]] | None = calendar.windows(since)
        self.horizon = horizon

    def get(self, i: int) -> tuple[int, int] | None:
        while i >= len(self.items):
            if self.source is None:
                return None
            nxt = next(self.source, None)
            if nxt is None:
                self.source = None
                return None
            start, end = _to_min(nxt[0]), int((nxt[1] - _EPOCH).total_seconds() // 60)
            if start >= self.horizon:
                self.source = None
                return None
            if end > start:
                self.items.append((start, end))
        return self.items[i]


class _State:
    """Where an engineer's day stands after the work placed so far."""

    __slots__ = ("breaks", "cont", "day", "day_work", "fresh", "last_work_end", "t", "wi")

    def __init__(self, t: int) -> None:
        self.t = t
        self.wi = 0
        self.day = -1
        self.cont = 0
        self.day_work = 0
        self.breaks = 0
        self.fresh = True
        self.last_work_end = -1

    def copy(self) -> _State:
        other = _State.__new__(_State)
        other.t, other.wi, other.day = self.t, self.wi, self.day
        other.cont, other.day_work, other.breaks = self.cont, self.day_work, self.breaks
        other.fresh, other.last_work_end = self.fresh, self.last_work_end
        return other


# (start, end, kind, break_kind) in epoch minutes
_Raw = tuple[int, int, str, str]


def _place(
    st: _State,
    windows: _Windows,
    policy: BreakPolicy,
    *,
    ready: int,
    minutes: int,
    fresh_needed: bool,
    out: list[_Raw] | None,
) -> tuple[int, int] | None:
    """Lay `minutes` of listening on one engineer from `ready` on, updating `st`. Returns the
    (start, finish) of the work, or None if it does not fit before the horizon."""
    t = max(st.t, ready)
    left = minutes
    first = True
    start_at = -1
    i = st.wi
    while left > 0:
        w = windows.get(i)
        if w is None:
            return None
        ws, we = w
        if we <= t:
            i += 1
            continue
        if t < ws:
            t = ws
        if i != st.day:
            # A new working day: ears are fresh and every daily count starts again.
            st.day, st.cont, st.day_work, st.breaks, st.fresh = i, 0, 0, 0, True
        elif st.last_work_end >= 0 and t - st.last_work_end >= policy.short_break:
            # Idle time between pieces of work rests the ears like a break does.
            st.cont = 0
            if t - st.last_work_end >= policy.fresh_ears_break:
                st.fresh = True
        cap_left = policy.daily_cap - st.day_work
        if cap_left <= 0:
            i += 1
            continue
        fresh_break = first and fresh_needed and not st.fresh
        if st.cont >= policy.max_block or fresh_break:
            n = st.breaks + 1
            kind = LONG if n % policy.long_every == 0 else SHORT
            length = policy.long_break if kind == LONG else policy.short_break
            if fresh_break and length < policy.fresh_ears_break:
                kind, length = FRESH_EARS, policy.fresh_ears_break
            if t + length >= we:
                # The day ends before the break would: tomorrow starts with fresh ears anyway.
                i += 1
                continue
            if out is not None:
                out.append((t, t + length, BREAK, kind))
            st.breaks = n
            t += length
            st.cont = 0
            st.fresh = length >= policy.fresh_ears_break
            continue
        chunk = min(left, policy.max_block - st.cont, we - t, cap_left)
        if out is not None:
            out.append((t, t + chunk, WORK, ""))
        if first:
            start_at, first = t, False
        st.cont += chunk
        st.day_work += chunk
        left -= chunk
        t += chunk
        st.last_work_end = t
        st.fresh = False
    st.t, st.wi = t, i
    return start_at, t


def plan(
    *,
    work: Iterable[StageWork],
    engineers: Iterable[EngineerIn],
    now: datetime,
    horizon_days: int = 365,
) -> Plan:
    """Plan all open work. Jobs go earliest due date first (jobs with no due date last); each
    stage waits for the previous stage of its job; assigned work stays with its engineer, and
    unassigned work goes to whichever engineer would finish it earliest (that is the proposal)."""
    start = _to_min(now)
    horizon = start + horizon_days * 24 * 60
    engs = {e.id: e for e in engineers}
    windows = {e.id: _Windows(e.calendar, _to_dt(start), horizon) for e in engs.values()}
    states = {eid: _State(start) for eid in engs}
    raw: dict[int, list[_Raw]] = {eid: [] for eid in engs}
    owners: dict[int, list[tuple[int, object, int]]] = {eid: [] for eid in engs}
    candidates = sorted(eid for eid, e in engs.items() if e.takes_unassigned)

    by_job: dict[object, list[StageWork]] = {}
    for w in work:
        by_job.setdefault(w.job_id, []).append(w)
    far = datetime.max.replace(tzinfo=UTC)
    jobs = sorted(
        by_job.items(),
        key=lambda kv: (min((w.due_at or far) for w in kv[1]), str(kv[0])),
    )

    stage_start: dict[int, datetime | None] = {}
    stage_finish: dict[int, datetime | None] = {}
    stage_engineer: dict[int, int | None] = {}
    job_finish: dict[object, datetime | None] = {}
    proposed: dict[int, int] = {}

    for job_id, stages in jobs:
        ready: int | None = start
        for w in sorted(stages, key=lambda s: s.order):
            if ready is None:
                # An earlier stage could not be placed, so nothing after it can be either.
                stage_start[w.stage_id] = stage_finish[w.stage_id] = None
                stage_engineer[w.stage_id] = w.assignee_id
                continue
            minutes = max(0, int(w.remaining_minutes))
            if w.assignee_id is not None:
                choices = [w.assignee_id] if w.assignee_id in engs else []
            else:
                choices = candidates
            if minutes == 0:
                # Nothing left to do but close it: it finishes as soon as it may start.
                stage_start[w.stage_id] = stage_finish[w.stage_id] = _to_dt(ready)
                stage_engineer[w.stage_id] = w.assignee_id
                continue
            best: tuple[int, int, int, _State] | None = None
            for eid in choices:
                trial = states[eid].copy()
                placed = _place(
                    trial,
                    windows[eid],
                    engs[eid].policy,
                    ready=ready,
                    minutes=minutes,
                    fresh_needed=w.fresh_ears,
                    out=None,
                )
                if placed is not None and (best is None or placed[1] < best[1]):
                    best = (placed[0], placed[1], eid, trial)
            stage_engineer[w.stage_id] = w.assignee_id
            if best is None:
                stage_start[w.stage_id] = stage_finish[w.stage_id] = None
                ready = None
                continue
            _, _, eid, _ = best
            # Replay on the chosen engineer, this time keeping the blocks.
            before = len(raw[eid])
            placed = _place(
                states[eid],
                windows[eid],
                engs[eid].policy,
                ready=ready,
                minutes=minutes,
                fresh_needed=w.fresh_ears,
                out=raw[eid],
            )
            assert placed is not None
            for k in range(before, len(raw[eid])):
                owners[eid].append((k, job_id, w.stage_id))
            stage_start[w.stage_id] = _to_dt(placed[0])
            stage_finish[w.stage_id] = _to_dt(placed[1])
            stage_engineer[w.stage_id] = eid
            if w.assignee_id is None:
                proposed[w.stage_id] = eid
            ready = placed[1]
        job_finish[job_id] = _to_dt(ready) if ready is not None else None

    timelines: dict[int, list[Block]] = {}
    for eid, blocks in raw.items():
        owner_of = {k: (job_id, sid) for k, job_id, sid in owners[eid]}
        timeline = []
        for k, (s, e, kind, bkind) in enumerate(blocks):
            job_id, sid = owner_of[k]
            timeline.append(
                Block(
                    engineer_id=eid,
                    start=_to_dt(s),
                    end=_to_dt(e),
                    kind=kind,
                    stage_id=sid if kind == WORK else None,
                    job_id=job_id if kind == WORK else None,
                    break_kind=bkind,
                )
            )
        timelines[eid] = timeline
    return Plan(
        now=now,
        timelines=timelines,
        stage_start=stage_start,
        stage_finish=stage_finish,
        stage_engineer=stage_engineer,
        job_finish=job_finish,
        proposed=proposed,
    )
