"""The planner: lays out every engineer's coming working days from open stage work.

Plain layer: a pure function of plain dataclasses, importing nothing from Django or the models
(`jobs/plan_store.py` loads its inputs from the database and writes its answer back). Work goes
earliest due date first; a job's stages run in order, even across engineers; listening comes in
blocks no longer than the continuous-listening limit with a break after each (every Nth break a
long one), never past the daily listening cap, and stages that need fresh ears start only at the
start of a day or after a break of at least the fresh-ears length.

Time is counted in whole minutes since the Unix epoch inside the planner, because it runs on every
change and has to plan hundreds of jobs in well under a second.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from jobs.clock import WorkCalendar

WORK = "work"
BREAK = "break"
SHORT, LONG, FRESH_EARS = "short", "long", "fresh_ears"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class EarBreakPolicy:
    """The ear-break rules, in minutes."""

    max_block: int = 50
    short_break: int = 10
    long_break: int = 30
    long_every: int = 4
    daily_cap: int = 360
    fresh_ears_break: int = 15

    def stricter(self, *, max_block: int | None, daily_cap: int | None) -> EarBreakPolicy:
        """An engineer may only tighten the studio's limits, never loosen them."""
        return EarBreakPolicy(
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
    policy: EarBreakPolicy = field(default_factory=EarBreakPolicy)
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
    policy: EarBreakPolicy,
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


def _free_at(st: _State, windows: _Windows, policy: EarBreakPolicy, t: int) -> int | None:
    """The first minute from `t` on at which the engineer could be listening (inside their
    hours, with some of today's cap left), or None past the horizon."""
    i = st.wi
    while True:
        w = windows.get(i)
        if w is None:
            return None
        ws, we = w
        if we <= t:
            i += 1
            continue
        if i == st.day and st.day_work >= policy.daily_cap:
            i += 1
            continue
        return max(t, ws)


def plan(
    *,
    work: Iterable[StageWork],
    engineers: Iterable[EngineerIn],
    now: datetime,
    horizon_days: int = 365,
) -> Plan:
    """Plan all open work, moving forward in time: whenever an engineer is free, they take the
    ready stage (its job's previous stage finished) with the earliest due date, among the stages
    assigned to them and the unassigned ones. Assigned work stays with its engineer; unassigned
    work goes to whichever engineer would finish it earliest (that is the proposal). Deciding in
    time order means an engineer waiting on another's stage fills the wait with other work."""
    start = _to_min(now)
    horizon = start + horizon_days * 24 * 60
    engs = {e.id: e for e in engineers}
    windows = {e.id: _Windows(e.calendar, _to_dt(start), horizon) for e in engs.values()}
    states = {eid: _State(start) for eid in engs}
    raw: dict[int, list[_Raw]] = {eid: [] for eid in engs}
    owners: dict[int, list[tuple[int, object, int]]] = {eid: [] for eid in engs}
    takers = sorted(eid for eid, e in engs.items() if e.takes_unassigned)

    far = datetime.max.replace(tzinfo=UTC)
    chains: dict[object, list[StageWork]] = {}
    for w in work:
        chains.setdefault(w.job_id, []).append(w)
    for chain in chains.values():
        chain.sort(key=lambda s: s.order)
    # Priority of a job: earliest due date first, jobs without one last, then a stable tie-break.
    priority = {
        job_id: (min((w.due_at or far) for w in chain), str(job_id))
        for job_id, chain in chains.items()
    }

    stage_start: dict[int, datetime | None] = {}
    stage_finish: dict[int, datetime | None] = {}
    stage_engineer: dict[int, int | None] = {w.stage_id: w.assignee_id for w in work}
    job_finish: dict[object, datetime | None] = {}
    proposed: dict[int, int] = {}

    position: dict[object, int] = dict.fromkeys(chains, 0)
    ready_at: dict[object, int] = dict.fromkeys(chains, start)
    # Whose next stage waits for whom: an engineer's own queue, and the unassigned pool.
    queue: dict[int, set[object]] = {eid: set() for eid in engs}
    pool: set[object] = set()

    def give_up(job_id: object) -> None:
        # This stage cannot be placed (nobody to do it, or past the horizon): neither can the rest.
        for w in chains[job_id][position[job_id] :]:
            stage_start[w.stage_id] = stage_finish[w.stage_id] = None
        position[job_id] = len(chains[job_id])
        job_finish[job_id] = None

    wake: dict[int, float] = {}
    heap: list[tuple[float, int]] = []

    def wake_up(eid: int, at: int) -> None:
        if at < wake.get(eid, float("inf")):
            wake[eid] = at
            heapq.heappush(heap, (at, eid))

    def enqueue(job_id: object) -> None:
        """Put the job's next stage where the engineers who may do it will find it."""
        chain = chains[job_id]
        while position[job_id] < len(chain):
            w = chain[position[job_id]]
            if w.remaining_minutes > 0:
                break
            # Nothing left to do but close it: it finishes as soon as it may start.
            stage_start[w.stage_id] = stage_finish[w.stage_id] = _to_dt(ready_at[job_id])
            position[job_id] += 1
        if position[job_id] == len(chain):
            job_finish[job_id] = _to_dt(ready_at[job_id])
            return
        w = chain[position[job_id]]
        if w.assignee_id is None:
            if not takers:
                give_up(job_id)
                return
            pool.add(job_id)
            for eid in takers:
                wake_up(eid, ready_at[job_id])
        elif w.assignee_id in engs:
            queue[w.assignee_id].add(job_id)
            wake_up(w.assignee_id, ready_at[job_id])
        else:
            give_up(job_id)

    for job_id in sorted(chains, key=priority.__getitem__):
        enqueue(job_id)

    while heap:
        at, eid = heapq.heappop(heap)
        if wake.get(eid) != at:
            continue  # superseded by an earlier wake-up
        del wake[eid]
        st, policy = states[eid], engs[eid].policy
        free = _free_at(st, windows[eid], policy, max(int(at), st.t))
        mine = queue[eid] | pool if engs[eid].takes_unassigned else queue[eid]
        if free is None:
            for job_id in sorted(queue[eid], key=priority.__getitem__):
                queue[eid].discard(job_id)
                give_up(job_id)
            continue
        ready = [j for j in mine if ready_at[j] <= free]
        if not ready:
            if mine:
                wake_up(eid, min(ready_at[j] for j in mine))
            continue
        job_id = min(ready, key=priority.__getitem__)
        w = chains[job_id][position[job_id]]
        minutes = int(w.remaining_minutes)
        choices = [eid] if w.assignee_id is not None else takers
        best: tuple[int, int] | None = None
        for cand in choices:
            trial = states[cand].copy()
            placed = _place(
                trial,
                windows[cand],
                engs[cand].policy,
                ready=ready_at[job_id],
                minutes=minutes,
                fresh_needed=w.fresh_ears,
                out=None,
            )
            if placed is not None and (best is None or placed[1] < best[0]):
                best = (placed[1], cand)
        if w.assignee_id is None:
            pool.discard(job_id)
        else:
            queue[eid].discard(job_id)
        if best is None:
            give_up(job_id)
            wake_up(eid, int(at))
            continue
        chosen = best[1]
        before = len(raw[chosen])
        placed = _place(
            states[chosen],
            windows[chosen],
            engs[chosen].policy,
            ready=ready_at[job_id],
            minutes=minutes,
            fresh_needed=w.fresh_ears,
            out=raw[chosen],
        )
        assert placed is not None
        for k in range(before, len(raw[chosen])):
            owners[chosen].append((k, job_id, w.stage_id))
        stage_start[w.stage_id] = _to_dt(placed[0])
        stage_finish[w.stage_id] = _to_dt(placed[1])
        stage_engineer[w.stage_id] = chosen
        if w.assignee_id is None:
            proposed[w.stage_id] = chosen
        ready_at[job_id] = placed[1]
        position[job_id] += 1
        enqueue(job_id)
        wake_up(chosen, states[chosen].t)
        if chosen != eid:
            wake_up(eid, int(at))

    for job_id, chain in chains.items():
        if position[job_id] < len(chain):
            give_up(job_id)  # only engineers past the horizon could have taken it

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


def workload(result: Plan, *, until: datetime) -> dict[int, int]:
    """Listening minutes planned per engineer before `until` (the manager's "who is overloaded"),
    counting only the part of a block that falls before it."""
    out: dict[int, int] = {}
    for eid, blocks in result.timelines.items():
        total = 0
        for b in blocks:
            if b.kind != WORK or b.start >= until:
                continue
            total += int((min(b.end, until) - b.start).total_seconds() // 60)
        out[eid] = total
    return out
