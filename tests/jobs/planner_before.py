"""The planner as it was before the search for the first engineer to finish was cut down (a
bound on each one's finish before trying their day, the tried day kept for the winner). Kept
only so that tests/jobs/test_planner_unchanged.py can check the plan did not change. What
follows is its own description.

The planner: lays out every engineer's coming working days from open stage work.

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

import bisect
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
    run = _Run(work=list(work), engineers=list(engineers), now=now, horizon_days=horizon_days)
    run.start_every_job()
    run.serve_until_done()
    run.give_up_the_rest()
    return Plan(
        now=now,
        timelines=run.timelines,
        stage_start=run.stage_start,
        stage_finish=run.stage_finish,
        stage_engineer=run.stage_engineer,
        job_finish=run.job_finish,
        proposed=run.proposed,
    )


def _by_urgency(work: list[StageWork]) -> tuple[list[object], list[list[StageWork]]]:
    """The jobs, most urgent first (earliest due date, jobs without one last, then a stable
    tie-break), with each job's open stages in their order."""
    chains: dict[object, list[StageWork]] = {}
    for w in work:
        chains.setdefault(w.job_id, []).append(w)
    far = datetime.max.replace(tzinfo=UTC)
    priority = {
        job_id: (min((w.due_at or far) for w in chain), str(job_id))
        for job_id, chain in chains.items()
    }
    job_ids = sorted(chains, key=priority.__getitem__)
    return job_ids, [sorted(chains[j], key=lambda s: s.order) for j in job_ids]


class _Run:
    """One planning pass: where every job and every engineer's day stand, the wake-ups still to
    serve, and the answer so far. Jobs are numbered most urgent first, so the most urgent of
    several is simply the lowest number."""

    def __init__(
        self,
        *,
        work: list[StageWork],
        engineers: list[EngineerIn],
        now: datetime,
        horizon_days: int,
    ) -> None:
        start = _to_min(now)
        horizon = start + horizon_days * 24 * 60
        self.engs = {e.id: e for e in engineers}
        self.windows = {
            e.id: _Windows(e.calendar, _to_dt(start), horizon) for e in self.engs.values()
        }
        self.states = {eid: _State(start) for eid in self.engs}
        self.takers = sorted(eid for eid, e in self.engs.items() if e.takes_unassigned)
        self.job_ids, self.chains = _by_urgency(work)
        # Where each job stands: the index of its next stage, and when that stage may start.
        self.position = [0] * len(self.job_ids)
        self.ready_at = [start] * len(self.job_ids)
        # Whose next stage waits for whom: an engineer's own queue, and the unassigned pool.
        self.queue: dict[int, set[int]] = {eid: set() for eid in self.engs}
        # Kept sorted: the most urgent ready job is then usually among the first few looked at.
        self.pool: list[int] = []
        # When each engineer next looks for work (the heap may hold superseded entries).
        self.wake: dict[int, int] = {}
        self.heap: list[tuple[int, int]] = []
        # The answer.
        self.timelines: dict[int, list[Block]] = {eid: [] for eid in self.engs}
        self.stage_start: dict[int, datetime | None] = {}
        self.stage_finish: dict[int, datetime | None] = {}
        self.stage_engineer: dict[int, int | None] = {w.stage_id: w.assignee_id for w in work}
        self.job_finish: dict[object, datetime | None] = {}
        self.proposed: dict[int, int] = {}

    def start_every_job(self) -> None:
        for job in range(len(self.job_ids)):
            self.enqueue(job)

    def serve_until_done(self) -> None:
        heap, wake = self.heap, self.wake
        while heap:
            at, eid = heapq.heappop(heap)
            if wake.get(eid) != at:
                continue  # superseded by an earlier wake-up
            del wake[eid]
            self.serve(eid, at)

    def give_up_the_rest(self) -> None:
        for job, chain in enumerate(self.chains):
            if self.position[job] < len(chain):
                self.give_up(job)  # only engineers past the horizon could have taken it

    def wake_up(self, eid: int, at: int) -> None:
        earlier = self.wake.get(eid)
        if earlier is None or at < earlier:
            self.wake[eid] = at
            heapq.heappush(self.heap, (at, eid))

    def give_up(self, job: int) -> None:
        # This stage cannot be placed (nobody to do it, or past the horizon): neither can the rest.
        chain = self.chains[job]
        for w in chain[self.position[job] :]:
            self.stage_start[w.stage_id] = self.stage_finish[w.stage_id] = None
        self.position[job] = len(chain)
        self.job_finish[self.job_ids[job]] = None

    def enqueue(self, job: int) -> None:
        """Put the job's next stage where the engineers who may do it will find it."""
        w = self._next_stage_with_work(job)
        ready = self.ready_at[job]
        if w is None:
            self.job_finish[self.job_ids[job]] = _to_dt(ready)
        elif w.assignee_id is None:
            if not self.takers:
                self.give_up(job)
                return
            at = bisect.bisect_left(self.pool, job)
            if at == len(self.pool) or self.pool[at] != job:
                self.pool.insert(at, job)
            for eid in self.takers:
                self.wake_up(eid, ready)
        elif w.assignee_id in self.engs:
            self.queue[w.assignee_id].add(job)
            self.wake_up(w.assignee_id, ready)
        else:
            self.give_up(job)

    def _next_stage_with_work(self, job: int) -> StageWork | None:
        chain, position = self.chains[job], self.position
        while position[job] < len(chain):
            w = chain[position[job]]
            if w.remaining_minutes > 0:
                return w
            # Nothing left to do but close it: it finishes as soon as it may start.
            self.stage_start[w.stage_id] = self.stage_finish[w.stage_id] = _to_dt(
                self.ready_at[job]
            )
            position[job] += 1
        return None

    def serve(self, eid: int, at: int) -> None:
        """The engineer looks for work at `at`: the most urgent stage ready for them goes to
        whoever may do it and would finish it first."""
        st = self.states[eid]
        free = _free_at(st, self.windows[eid], self.engs[eid].policy, max(at, st.t))
        if free is None:
            # Past the horizon for this engineer, and nobody else may do their assigned work.
            for stuck in sorted(self.queue[eid]):
                self.give_up(stuck)
            self.queue[eid].clear()
            return
        job = self._most_urgent_ready(eid, free)
        if job is None:
            return
        w = self.chains[job][self.position[job]]
        if w.assignee_id is None:
            chosen = self._first_to_finish(job, w, self.takers)
            self._leave_pool(job)
        else:
            chosen = self._first_to_finish(job, w, [eid])
            self.queue[eid].discard(job)
        if chosen is None:
            self.give_up(job)
            self.wake_up(eid, at)
            return
        self._assign(chosen, job, w)
        if chosen != eid:
            self.wake_up(eid, at)

    def _most_urgent_ready(self, eid: int, free: int) -> int | None:
        """The most urgent job whose next stage the engineer may take at `free`; if none is
        ready yet, the engineer looks again when the first of theirs becomes ready."""
        own = self.queue[eid]
        pool = self.pool if self.engs[eid].takes_unassigned else []
        ready_at = self.ready_at
        job = min((j for j in own if ready_at[j] <= free), default=None)
        for j in pool:  # most urgent first: the first ready one is the pool's answer
            if job is not None and j > job:
                break
            if ready_at[j] <= free:
                job = j
                break
        if job is None and (own or pool):
            self.wake_up(eid, min(ready_at[j] for j in (*own, *pool)))
        return job

    def _leave_pool(self, job: int) -> None:
        at = bisect.bisect_left(self.pool, job)
        if at < len(self.pool) and self.pool[at] == job:
            del self.pool[at]

    def _first_to_finish(self, job: int, w: StageWork, choices: list[int]) -> int | None:
        """Of the engineers who may do the stage, the one who would finish it first (trying it
        on a copy of each one's day), or None if nobody can before the horizon."""
        if len(choices) == 1:
            placed = self._lay(choices[0], self.states[choices[0]].copy(), job, w, out=None)
            return None if placed is None else choices[0]
        # Nobody finishes before they are free and the stage is ready, plus its minutes: trying
        # engineers in the order of that bound, the search stops as soon as the bound alone
        # loses to the best finish so far. The winner is the same as trying all of them (the
        # earliest finish, ties to the engineer listed first); a studio of fifty engineers
        # then tries a few days instead of fifty.
        ready, minutes = self.ready_at[job], int(w.remaining_minutes)
        states = self.states
        order = sorted(
            (max(states[cand].t, ready) + minutes, index, cand)
            for index, cand in enumerate(choices)
        )
        best: tuple[int, int, int] | None = None  # (finish, index, engineer)
        for bound, index, cand in order:
            if best is not None and (bound, index) > (best[0], best[1]):
                break
            placed = self._lay(cand, states[cand].copy(), job, w, out=None)
            if placed is not None and (best is None or (placed[1], index) < (best[0], best[1])):
                best = (placed[1], index, cand)
        return None if best is None else best[2]

    def _assign(self, eid: int, job: int, w: StageWork) -> None:
        """Lay the stage on the engineer's day for good and hand the job's next stage on."""
        raw: list[_Raw] = []
        placed = self._lay(eid, self.states[eid], job, w, out=raw)
        assert placed is not None
        job_id = self.job_ids[job]
        self.timelines[eid].extend(
            Block(
                engineer_id=eid,
                start=_to_dt(s),
                end=_to_dt(e),
                kind=kind,
                stage_id=w.stage_id if kind == WORK else None,
                job_id=job_id if kind == WORK else None,
                break_kind=bkind,
            )
            for s, e, kind, bkind in raw
        )
        self.stage_start[w.stage_id] = _to_dt(placed[0])
        self.stage_finish[w.stage_id] = _to_dt(placed[1])
        self.stage_engineer[w.stage_id] = eid
        if w.assignee_id is None:
            self.proposed[w.stage_id] = eid
        self.ready_at[job] = placed[1]
        self.position[job] += 1
        self.enqueue(job)
        self.wake_up(eid, self.states[eid].t)

    def _lay(
        self, eid: int, st: _State, job: int, w: StageWork, *, out: list[_Raw] | None
    ) -> tuple[int, int] | None:
        return _place(
            st,
            self.windows[eid],
            self.engs[eid].policy,
            ready=self.ready_at[job],
            minutes=int(w.remaining_minutes),
            fresh_needed=w.fresh_ears,
            out=out,
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
