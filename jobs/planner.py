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

import bisect
import gc
import heapq
import operator
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from jobs.clock import WorkCalendar

WORK = "work"
BREAK = "break"
SHORT, LONG, FRESH_EARS = "short", "long", "fresh_ears"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEVER = 1 << 62  # a minute later than any planned
# Every minute of a day as a timedelta, to turn epoch minutes into datetimes quickly.
_INTO_DAY = [timedelta(minutes=m) for m in range(24 * 60)]


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


@dataclass(frozen=True, slots=True)
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


# A block as the plan keeps it: (start, end) in epoch minutes, kind, stage id, job id (None
# for a break) and break kind.
MinuteBlock = tuple[int, int, str, int | None, object, str]


@dataclass
class Plan:
    now: datetime
    # Each engineer's blocks in epoch minutes. A big studio's plan has tens of thousands, and
    # a re-plan stores them as minutes: they are made into Blocks only when asked for.
    lines: dict[int, list[MinuteBlock]]
    stage_start: dict[int, datetime | None]
    stage_finish: dict[int, datetime | None]
    stage_engineer: dict[int, int | None]
    job_finish: dict[object, datetime | None]
    proposed: dict[int, int]  # unassigned stage id -> the engineer who would finish it first

    @property
    def unplanned(self) -> set[int]:
        return {sid for sid, finish in self.stage_finish.items() if finish is None}

    def timeline(self, engineer_id: int) -> list[Block]:
        """One engineer's work blocks and ear breaks, in order."""
        return blocks_from(engineer_id, self.lines.get(engineer_id, []))

    @property
    def timelines(self) -> dict[int, list[Block]]:
        """Every engineer's (`timeline`)."""
        return {eid: blocks_from(eid, line) for eid, line in self.lines.items()}


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
    return datetime.fromtimestamp(minute * 60, UTC)


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
# One engineer's try at a stage: their day after it, its blocks, its finish, (start, finish).
_Trial = tuple["_State", list[_Raw], int, tuple[int, int]]


def _place(
    st: _State,
    windows: _Windows,
    policy: EarBreakPolicy,
    ready: int,
    minutes: int,
    fresh_needed: bool,
    out: list[_Raw] | None,
) -> tuple[int, int] | None:
    """Lay `minutes` of listening on one engineer from `ready` on, updating `st`. Returns the
    (start, finish) of the work, or None if it does not fit before the horizon (then `st` is
    left as it was). The day's counts live in locals while it runs: this is the planner's
    innermost loop."""
    t = st.t if st.t > ready else ready
    left = minutes
    first = True
    start_at = -1
    i = st.wi
    day, cont, day_work, breaks = st.day, st.cont, st.day_work, st.breaks
    fresh, last_work_end = st.fresh, st.last_work_end
    max_block, short_break, fresh_ears_break = (
        policy.max_block,
        policy.short_break,
        policy.fresh_ears_break,
    )
    daily_cap = policy.daily_cap
    items = windows.items
    while left > 0:
        w = items[i] if i < len(items) else windows.get(i)
        if w is None:
            return None
        ws, we = w
        if we <= t:
            i += 1
            continue
        if t < ws:
            t = ws
        if i != day:
            # A new working day: ears are fresh and every daily count starts again.
            day, cont, day_work, breaks, fresh = i, 0, 0, 0, True
        elif last_work_end >= 0 and t - last_work_end >= short_break:
            # Idle time between pieces of work rests the ears like a break does.
            cont = 0
            if t - last_work_end >= fresh_ears_break:
                fresh = True
        cap_left = daily_cap - day_work
        if cap_left <= 0:
            i += 1
            continue
        fresh_break = first and fresh_needed and not fresh
        if cont >= max_block or fresh_break:
            n = breaks + 1
            if n % policy.long_every == 0:
                kind, length = LONG, policy.long_break
            else:
                kind, length = SHORT, short_break
            if fresh_break and length < fresh_ears_break:
                kind, length = FRESH_EARS, fresh_ears_break
            if t + length >= we:
                # The day ends before the break would: tomorrow starts with fresh ears anyway.
                i += 1
                continue
            if out is not None:
                out.append((t, t + length, BREAK, kind))
            breaks = n
            t += length
            cont = 0
            fresh = length >= fresh_ears_break
            continue
        chunk = left
        if max_block - cont < chunk:
            chunk = max_block - cont
        if we - t < chunk:
            chunk = we - t
        if cap_left < chunk:
            chunk = cap_left
        if out is not None:
            out.append((t, t + chunk, WORK, ""))
        if first:
            start_at, first = t, False
        cont += chunk
        day_work += chunk
        left -= chunk
        t += chunk
        last_work_end = t
        fresh = False
    st.day, st.cont, st.day_work, st.breaks = day, cont, day_work, breaks
    st.fresh, st.last_work_end = fresh, last_work_end
    st.t, st.wi = t, i
    return start_at, t


def _free_at(st: _State, windows: _Windows, policy: EarBreakPolicy, t: int) -> int | None:
    """The first minute from `t` on at which the engineer could be listening (inside their
    hours, with some of today's cap left), or None past the horizon."""
    i = st.wi
    items = windows.items
    while True:
        w = items[i] if i < len(items) else windows.get(i)
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


def _next_room(
    st: _State, windows: _Windows, policy: EarBreakPolicy
) -> tuple[int, int, int, tuple[int, int] | None] | None:
    """From the engineer's last work on: the first minute they could listen, what is left of
    that working day's listening cap, the day's end and the next working day (None past the
    horizon); None when even the first is past it. The minute is `_free_at`'s, the day
    the first one `_finish_bound` counts for any ready time before its end: the days in between
    are over or have used up their cap."""
    i, t = st.wi, st.t
    cap = policy.daily_cap
    items = windows.items
    while True:
        w = items[i] if i < len(items) else windows.get(i)
        if w is None:
            return None
        ws, we = w
        if we > t:
            t = max(t, ws)
            cap_left = cap - st.day_work if i == st.day else cap
            if cap_left > 0:
                return t, cap_left, we, windows.get(i + 1)
        i += 1


def _finish_bound(
    st: _State, windows: _Windows, policy: EarBreakPolicy, t: int, minutes: int
) -> int | None:
    """No finish of `minutes` of listening from `t` on comes earlier than this: the engineer's
    hours and daily cap, and in the day it ends the breaks between its blocks (at least one per
    continuous-listening limit, each at least the shorter break). None when even that reaches
    past the horizon, in which case `_place` cannot lay the work either."""
    left = minutes
    i = st.wi
    items = windows.items
    cap = policy.daily_cap
    block = policy.max_block
    rest = min(policy.short_break, policy.long_break)
    while True:
        w = items[i] if i < len(items) else windows.get(i)
        if w is None:
            return None
        ws, we = w
        if we <= t:
            i += 1
            continue
        if t < ws:
            t = ws
        room = min(we - t, cap - st.day_work if i == st.day else cap)
        if room >= left:
            # The blocks laid in this day hold all that is left, a break between each two;
            # unless the breaks push the work into the next day, which begins after this ends.
            if block <= 0:
                return t + left
            return min(t + left + (-(-left // block) - 1) * rest, we)
        if room > 0:
            left -= room
        i += 1


def _bound_later(
    windows: _Windows, ready: int, minutes: int, per_block: int, rest: int, cap: int
) -> tuple[int, bool] | None:
    """`_finish_bound` from `ready` on for an engineer whose last work was in a working day
    ending before it (so every day from `ready` on has its whole cap), found by bisection and
    worked out for the day `ready` falls in and the next one: (the bound, True) when the work
    ends by then, (a weaker bound, False) when it runs on past the next day; None when those
    days are past the horizon (or the policy has no listening limit), where the caller asks
    `_finish_bound` itself."""
    if per_block <= 0 or cap <= 0:
        return None
    items = windows.items
    while not items or items[-1][1] <= ready:
        if windows.get(len(items)) is None:
            return None
    j = bisect.bisect_right(items, ready, key=_day_end)
    ws, we = items[j]
    start = ready if ready > ws else ws
    fits = we - start if we - start < cap else cap
    if minutes <= fits:
        bound = start + minutes + (-(-minutes // per_block) - 1) * rest
        return (bound if bound < we else we), True
    following = windows.get(j + 1)
    if following is None:
        return None
    ws, we = following
    left = minutes - fits
    if left <= we - ws and left <= cap:
        bound = ws + left + (-(-left // per_block) - 1) * rest
        return (bound if bound < we else we), True
    return ws + left, False


_day_end = operator.itemgetter(1)  # of a working window (start, end)

# The setters of a block's slots, in field order (how `blocks_from` fills new blocks).
_BLOCK_SLOTS = tuple(
    getattr(Block, name).__set__
    for name in ("engineer_id", "start", "end", "kind", "stage_id", "job_id", "break_kind")
)


def _minute_to_dt(minute: int, days: dict[int, datetime]) -> datetime:
    """An epoch minute as a datetime: its day's midnight (kept in `days`) plus the minutes
    into it, quicker than arithmetic on the epoch."""
    day, r = divmod(minute, 1440)
    base = days.get(day)
    if base is None:
        base = days[day] = _EPOCH + timedelta(days=day)
    return base + _INTO_DAY[r]


def blocks_from(eid: int, line: list[MinuteBlock]) -> list[Block]:
    """An engineer's blocks as Blocks. A block's end is usually the next one's start and is
    reused; the blocks are made without the frozen dataclass's field-by-field `__init__`, their
    slots filled straight through their descriptors."""
    days: dict[int, datetime] = {}
    new = object.__new__
    set_eid, set_start, set_end, set_kind, set_stage, set_job, set_bkind = _BLOCK_SLOTS
    out: list[Block] = []
    append = out.append
    prev, end_at = -1, _EPOCH
    for s, e, kind, stage_id, job_id, bkind in line:
        start_at = end_at if s == prev else _minute_to_dt(s, days)
        end_at = _minute_to_dt(e, days)
        prev = e
        block = new(Block)
        set_eid(block, eid)
        set_start(block, start_at)
        set_end(block, end_at)
        set_kind(block, kind)
        set_stage(block, stage_id)
        set_job(block, job_id)
        set_bkind(block, bkind)
        append(block)
    return out


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
    with collector_paused():
        run = _Run(work=list(work), engineers=list(engineers), now=now, horizon_days=horizon_days)
        run.start_every_job()
        run.serve_until_done()
        run.give_up_the_rest()
    return Plan(
        now=now,
        lines=run.lines,
        stage_start=run.stage_start,
        stage_finish=run.stage_finish,
        stage_engineer=run.stage_engineer,
        job_finish=run.job_finish,
        proposed=run.proposed,
    )


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a plan is made (and, in plan_store, while it is
    written). A big plan holds some hundreds of thousands of small objects (its inputs, every
    block, the rows written) until it is done, none of them garbage: each time allocations pass
    the collector's threshold it walks them all again, about a third of a re-plan's time, a
    tenth of the pure plan's. Reference counting still frees everything as usual; the collector
    takes up again afterwards (what the plan dropped was freed already; cycles, which it makes
    none of, would wait for the next pass). It is the whole process's switch: another thread
    goes without collection for those moments too, which costs it nothing but the wait."""
    if not gc.isenabled():  # paused already (a re-plan inside another, or by the caller)
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _windows_by_engineer(
    engineers: Iterable[EngineerIn], since: datetime, horizon: int
) -> dict[int, _Windows]:
    """Each engineer's working windows, worked out once for all who share a calendar (studios
    mostly keep the same hours): the windows only ever grow and are never changed."""
    shared: dict[WorkCalendar, _Windows] = {}
    out: dict[int, _Windows] = {}
    for e in engineers:
        try:
            windows = shared.get(e.calendar)
        except TypeError:  # a calendar built with mutable sets cannot be looked up
            out[e.id] = _Windows(e.calendar, since, horizon)
            continue
        if windows is None:
            windows = shared[e.calendar] = _Windows(e.calendar, since, horizon)
        out[e.id] = windows
    return out


_rank_of = operator.itemgetter(1)  # of a (free minute, rank, engineer) key


def _insert(jobs: list[int], job: int) -> None:
    """Into a sorted list of job numbers, once."""
    at = bisect.bisect_left(jobs, job)
    if at == len(jobs) or jobs[at] != job:
        jobs.insert(at, job)


def _remove(jobs: list[int], job: int) -> None:
    """Out of a sorted list of job numbers, if there."""
    at = bisect.bisect_left(jobs, job)
    if at < len(jobs) and jobs[at] == job:
        del jobs[at]


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
        self.policies = {e.id: e.policy for e in engineers}
        self.windows = _windows_by_engineer(self.engs.values(), _to_dt(start), horizon)
        self.states = {eid: _State(start) for eid in self.engs}
        self.takers = sorted(eid for eid, e in self.engs.items() if e.takes_unassigned)
        # The takers in the order they are next free, as (minute, rank, engineer), the rank
        # being the place in `takers` (ties go to the engineer listed first).
        self.rank = {eid: rank for rank, eid in enumerate(self.takers)}
        self.by_free: list[tuple[int, int, int]] = []
        self.free_key: dict[int, tuple[int, int, int]] = {}
        # For each taker, from their last work on: (first free minute, what is left of that
        # day's listening cap, that day's end, continuous-listening limit, shortest break; the
        # next working day's start, listening it has room for and end, or -1s past the horizon).
        self.room: dict[int, tuple[int, int, int, int, int, int, int, int]] = {}
        for eid in self.takers:
            self._free_again(eid)
        self.job_ids, self.chains = _by_urgency(work)
        # Where each job stands: the index of its next stage, and when that stage may start.
        self.position = [0] * len(self.job_ids)
        self.ready_at = [start] * len(self.job_ids)
        # Whose next stage waits for whom: an engineer's own queue, and the unassigned pool,
        # both kept sorted: the most urgent ready job is then usually among the first looked at.
        self.queue: dict[int, list[int]] = {eid: [] for eid in self.engs}
        self.pool: list[int] = []
        # When each engineer next looks for work (the heap may hold superseded entries).
        self.wake: dict[int, int] = {}
        self.heap: list[tuple[int, int]] = []
        # The answer.
        self.lines: dict[int, list[MinuteBlock]] = {eid: [] for eid in self.engs}
        self.stage_start: dict[int, datetime | None] = {}
        self.stage_finish: dict[int, datetime | None] = {}
        self.stage_engineer: dict[int, int | None] = {w.stage_id: w.assignee_id for w in work}
        self.job_finish: dict[object, datetime | None] = {}
        self.proposed: dict[int, int] = {}
        # Each day's midnight (UTC) as a datetime, by days since the epoch (`_minute_to_dt`).
        self.days: dict[int, datetime] = {}

    def start_every_job(self) -> None:
        for job in range(len(self.job_ids)):
            self.enqueue(job)

    def serve_until_done(self) -> None:
        heap, wake, pop = self.heap, self.wake, heapq.heappop
        while heap:
            at, eid = pop(heap)
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
            _insert(self.pool, job)
            wake, heap = self.wake, self.heap
            push, never = heapq.heappush, _NEVER
            for eid in self.takers:  # wake_up, inline: this runs for every taker
                if ready < wake.get(eid, never):
                    wake[eid] = ready
                    push(heap, (ready, eid))
        elif w.assignee_id in self.engs:
            _insert(self.queue[w.assignee_id], job)
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
        free = _free_at(st, self.windows[eid], self.policies[eid], max(at, st.t))
        if free is None:
            # Past the horizon for this engineer, and nobody else may do their assigned work.
            for stuck in list(self.queue[eid]):
                self.give_up(stuck)
            self.queue[eid].clear()
            return
        job = self._most_urgent_ready(eid, free)
        if job is None:
            return
        w = self.chains[job][self.position[job]]
        if w.assignee_id is None:
            chosen = self._first_to_finish(job, w)
            self._leave_pool(job)
        else:
            trial = self._try(eid, job, w)
            chosen = None if trial is None else (eid, trial)
            _remove(self.queue[eid], job)
        if chosen is None:
            self.give_up(job)
            self.wake_up(eid, at)
            return
        self._assign(chosen[0], job, w, chosen[1])
        if chosen[0] != eid:
            self.wake_up(eid, at)

    def _most_urgent_ready(self, eid: int, free: int) -> int | None:
        """The most urgent job whose next stage the engineer may take at `free`; if none is
        ready yet, the engineer looks again when the first of theirs becomes ready."""
        own = self.queue[eid]
        pool = self.pool if self.engs[eid].takes_unassigned else []
        ready_at = self.ready_at
        job = None
        for j in own:  # most urgent first, as in the pool
            if ready_at[j] <= free:
                job = j
                break
        for j in pool:  # most urgent first: the first ready one is the pool's answer
            if job is not None and j > job:
                break
            if ready_at[j] <= free:
                job = j
                break
        if job is None and (own or pool):
            getter = ready_at.__getitem__
            self.wake_up(
                eid,
                min(min(map(getter, own), default=_NEVER), min(map(getter, pool), default=_NEVER)),
            )
        return job

    def _leave_pool(self, job: int) -> None:
        _remove(self.pool, job)

    def _first_to_finish(self, job: int, w: StageWork) -> tuple[int, _Trial] | None:
        """Of the engineers who take unassigned work, the one who would finish the stage first
        (trying it on a copy of each one's day) and that try, or None if nobody can before the
        horizon."""
        if len(self.takers) == 1:
            trial = self._try(self.takers[0], job, w)
            return None if trial is None else (self.takers[0], trial)
        # Nobody finishes before the stage is ready and they are free, plus its minutes: the
        # engineers are tried in the order of that bound, and the search stops as soon as the
        # bound alone loses to the best finish so far. The winner is the same as trying all of
        # them (the earliest finish, ties to the engineer listed first). The bound comes in three
        # strengths: a cheap one (when they are next free, kept in order as the plan goes) to
        # order everyone, a middling one (work that does not fit their next working day ends
        # no sooner than the day after's start plus what is left over) for those the cheap one
        # cannot rule out, and a tight one (their hours, every day's cap and the breaks) worked
        # out only for those the middling one cannot rule out either; a studio of fifty
        # engineers then tries a few days instead of fifty.
        ready, minutes = self.ready_at[job], int(w.remaining_minutes)
        states, windows, policies = self.states, self.windows, self.policies
        # Everyone by the cheap bound: those free by the time the stage is ready share it and go
        # in rank order, the rest in the order they become free.
        by_free = self.by_free
        idle = bisect.bisect_right(by_free, (ready, len(self.takers)))
        order = sorted(by_free[:idle], key=_rank_of) + by_free[idle:] if idle else by_free
        count = len(order)
        done_at = ready + minutes
        # A heap of (bound, rank, engineer, whether the bound is the tight one).
        tight: list[tuple[int, int, int, bool]] = []
        push, pop = heapq.heappush, heapq.heappop
        best_finish, best_rank, best = 0, 0, None
        best_trial: _Trial | None = None
        room = self.room
        k = 0
        while k < count or tight:
            if k < count:
                free, rank, cand = order[k]
                cheap = done_at if k < idle else free + minutes
                if tight:
                    head = tight[0]
                    take_tight = head[0] < cheap or (head[0] == cheap and head[1] < rank)
                else:
                    take_tight = False
            else:
                take_tight = True
            if take_tight:
                bound, rank, cand, exact = pop(tight)
                if best is not None and (bound, rank) > (best_finish, best_rank):
                    break
                if not exact:
                    st = states[cand]
                    finish = _finish_bound(
                        st, windows[cand], policies[cand], max(st.t, ready), minutes
                    )
                    if finish is not None:  # None: past the horizon, where laying it fails too
                        push(tight, (max(finish, bound), rank, cand, True))
                    continue
                trial = self._try(cand, job, w)
                if trial is not None and (
                    best is None or (trial[2], rank) < (best_finish, best_rank)
                ):
                    best_finish, best_rank, best, best_trial = trial[2], rank, cand, trial
                continue
            if best is not None and (cheap, rank) > (best_finish, best_rank):
                break  # everything left, cheap or tight, is bounded above the best
            k += 1
            start, cap_left, day_end, per_block, rest, next_day, next_room, next_end = room[cand]
            if ready > start:
                start = ready
            if minutes <= day_end - start and minutes <= cap_left:
                # The usual case, from what was worked out when the engineer's day last
                # changed: it fits in their next working day (what `_finish_bound` would say).
                bound = start + minutes + (-(-minutes // per_block) - 1) * rest
                entry = (bound if bound < day_end else day_end, rank, cand, True)
            elif start < day_end and cap_left > 0 and next_day >= 0:
                # It spills over into the next working day: if the rest fits that day, the
                # bound is `_finish_bound`'s for that day; if not, from that day's start on
                # nobody listens faster than the clock runs.
                fits = day_end - start if day_end - start < cap_left else cap_left
                left = minutes - fits
                if left <= next_room:
                    bound = next_day + left + (-(-left // per_block) - 1) * rest
                    entry = (bound if bound < next_end else next_end, rank, cand, True)
                else:
                    entry = (next_day + left, rank, cand, False)
            elif cap_left > 0 and (
                later := _bound_later(
                    windows[cand], ready, minutes, per_block, rest, policies[cand].daily_cap
                )
            ):
                # The stage is ready only after that working day: the same from the day it is.
                entry = (later[0], rank, cand, later[1])
            else:
                st = states[cand]
                finish = _finish_bound(st, windows[cand], policies[cand], max(st.t, ready), minutes)
                if finish is None:
                    continue
                entry = (finish, rank, cand, True)
            if best is None or (entry[0], rank) < (best_finish, best_rank):
                push(tight, entry)  # otherwise it could never win
        return None if best is None or best_trial is None else (best, best_trial)

    def _free_again(self, eid: int) -> None:
        """Keep `by_free` in order after the engineer's day changed."""
        rank = self.rank.get(eid)
        if rank is None:
            return
        old = self.free_key.pop(eid, None)
        if old is not None:
            del self.by_free[bisect.bisect_left(self.by_free, old)]
        st = self.states[eid]
        policy = self.policies[eid]
        found = _next_room(st, self.windows[eid], policy)
        if found is not None:  # None: past the horizon, where nothing more can be laid
            free, cap_left, day_end, following = found
            next_day, next_end = (-1, -1) if following is None else following
            key = (free, rank, eid)
            self.free_key[eid] = key
            bisect.insort(self.by_free, key)
            self.room[eid] = (
                free,
                cap_left if policy.max_block > 0 else -1,
                day_end,
                policy.max_block,
                min(policy.short_break, policy.long_break),
                next_day,
                min(next_end - next_day, policy.daily_cap),
                next_end,
            )

    def _assign(self, eid: int, job: int, w: StageWork, trial: _Trial) -> None:
        """Lay the stage on the engineer's day for good (the try that won) and hand the job's
        next stage on."""
        self.states[eid], raw, _finish, placed = trial
        job_id, stage_id = self.job_ids[job], w.stage_id
        line = self.lines[eid]
        append = line.append
        for s, e, kind, bkind in raw:
            if kind == WORK:
                append((s, e, kind, stage_id, job_id, bkind))
            else:
                append((s, e, kind, None, None, bkind))
        # The work starts in its first block and finishes with its last.
        self.stage_start[stage_id] = _minute_to_dt(placed[0], self.days)
        self.stage_finish[stage_id] = _minute_to_dt(placed[1], self.days)
        self.stage_engineer[w.stage_id] = eid
        if w.assignee_id is None:
            self.proposed[w.stage_id] = eid
        self.ready_at[job] = placed[1]
        self.position[job] += 1
        self._free_again(eid)
        self.enqueue(job)
        self.wake_up(eid, self.states[eid].t)

    def _try(self, eid: int, job: int, w: StageWork) -> _Trial | None:
        """Lay the stage on a copy of the engineer's day: (that day after it, the blocks, the
        finish, (start, finish)), or None if it does not fit before the horizon."""
        st = self.states[eid].copy()
        raw: list[_Raw] = []
        placed = _place(
            st,
            self.windows[eid],
            self.policies[eid],
            self.ready_at[job],
            int(w.remaining_minutes),
            w.fresh_ears,
            raw,
        )
        return None if placed is None else (st, raw, placed[1], placed)


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
