"""The planner as a pure function: examples, then property tests of the ear-break rules."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.clock import WorkCalendar
from jobs.planner import (
    BREAK,
    LONG,
    WORK,
    EarBreakPolicy,
    EngineerIn,
    Plan,
    StageWork,
    deadline_status,
    plan,
)

MONDAY_9 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
UTC_DAY = WorkCalendar(tz="UTC", start=time(9), end=time(18))
FRESH = ("glue_final_level", "delivery")
KINDS = ["listening", "cleanup", "level_balancing", "eq_enhancement", *FRESH]


def job_work(
    minutes: list[int], *, due: datetime | None = None, assignee: int | None = None, start_id=1
) -> list[StageWork]:
    job_id = uuid.uuid4()
    return [
        StageWork(
            stage_id=start_id + i,
            job_id=job_id,
            kind=KINDS[i],
            order=i,
            remaining_minutes=m,
            due_at=due,
            assignee_id=assignee,
            fresh_ears=KINDS[i] in FRESH,
        )
        for i, m in enumerate(minutes)
    ]


def test_a_long_stage_is_cut_into_blocks_with_breaks() -> None:
    work = job_work([120], assignee=1)
    result = plan(work=work, engineers=[EngineerIn(1, UTC_DAY)], now=MONDAY_9)
    shape = [(b.kind, b.minutes) for b in result.timelines[1]]
    assert shape == [(WORK, 50), (BREAK, 10), (WORK, 50), (BREAK, 10), (WORK, 20)]
    assert result.stage_finish[1] == MONDAY_9 + timedelta(minutes=140)


def test_every_fourth_break_is_long() -> None:
    result = plan(
        work=job_work([250], assignee=1), engineers=[EngineerIn(1, UTC_DAY)], now=MONDAY_9
    )
    breaks = [b for b in result.timelines[1] if b.kind == BREAK]
    assert [b.minutes for b in breaks] == [10, 10, 10, 30]
    assert breaks[3].break_kind == LONG


def test_glue_waits_for_fresh_ears() -> None:
    # 20 min of EQ, then glue: a 15-minute fresh-ears break comes first, not a 10-minute one.
    work = job_work([0, 0, 0, 20, 30], assignee=1)
    result = plan(work=work, engineers=[EngineerIn(1, UTC_DAY)], now=MONDAY_9)
    shape = [(b.kind, b.minutes, b.break_kind) for b in result.timelines[1]]
    assert shape == [(WORK, 20, ""), (BREAK, 15, "fresh_ears"), (WORK, 30, "")]


def test_the_daily_cap_moves_work_to_the_next_working_day() -> None:
    policy = EarBreakPolicy(daily_cap=100)
    friday = datetime(2026, 3, 6, 9, tzinfo=UTC)
    result = plan(
        work=job_work([150], assignee=1), engineers=[EngineerIn(1, UTC_DAY, policy)], now=friday
    )
    work = [b for b in result.timelines[1] if b.kind == WORK]
    assert sum(b.minutes for b in work if b.start.date() == date(2026, 3, 6)) == 100
    # Saturday and Sunday are not working days.
    assert work[-1].start == datetime(2026, 3, 9, 9, tzinfo=UTC)
    assert result.stage_finish[1] == datetime(2026, 3, 9, 9, 50, tzinfo=UTC)


def test_days_off_are_skipped() -> None:
    cal = WorkCalendar(tz="UTC", days_off=frozenset({date(2026, 3, 2)}))
    result = plan(work=job_work([30], assignee=1), engineers=[EngineerIn(1, cal)], now=MONDAY_9)
    assert result.timelines[1][0].start == datetime(2026, 3, 3, 9, tzinfo=UTC)


def test_earliest_due_date_goes_first() -> None:
    late = job_work([60], due=MONDAY_9 + timedelta(days=5), assignee=1, start_id=1)
    soon = job_work([60], due=MONDAY_9 + timedelta(days=1), assignee=1, start_id=10)
    result = plan(work=late + soon, engineers=[EngineerIn(1, UTC_DAY)], now=MONDAY_9)
    assert result.stage_start[10] == MONDAY_9
    assert result.stage_start[1] >= result.stage_finish[10]


def test_unassigned_work_goes_to_whoever_finishes_first() -> None:
    busy = job_work([240], due=MONDAY_9, assignee=1, start_id=1)
    free = job_work([30], due=MONDAY_9 + timedelta(days=1), start_id=10)
    result = plan(
        work=busy + free,
        engineers=[EngineerIn(1, UTC_DAY), EngineerIn(2, UTC_DAY)],
        now=MONDAY_9,
    )
    assert result.proposed == {10: 2}
    assert result.stage_start[10] == MONDAY_9


def test_stage_order_holds_across_engineers() -> None:
    work = job_work([60, 30], assignee=None)
    work = [work[0].__class__(**{**work[0].__dict__, "assignee_id": 1}), work[1]]
    result = plan(
        work=work, engineers=[EngineerIn(1, UTC_DAY), EngineerIn(2, UTC_DAY)], now=MONDAY_9
    )
    assert result.stage_start[2] >= result.stage_finish[1]


def test_work_for_an_unknown_engineer_is_unplanned() -> None:
    result = plan(work=job_work([30, 30], assignee=7), engineers=[], now=MONDAY_9)
    assert result.unplanned == {1, 2}
    assert list(result.job_finish.values()) == [None]


def test_deadline_status() -> None:
    due = MONDAY_9 + timedelta(days=1)
    assert deadline_status(due_at=due, predicted=due, now=MONDAY_9) == "on_track"
    late = due + timedelta(minutes=1)
    assert deadline_status(due_at=due, predicted=late, now=MONDAY_9) == "at_risk"
    assert deadline_status(due_at=due, predicted=None, now=MONDAY_9, planned=False) == "at_risk"
    assert deadline_status(due_at=due, predicted=due, now=late) == "overdue"
    assert (
        deadline_status(due_at=due, predicted=due, now=MONDAY_9, margin=timedelta(hours=1))
        == "at_risk"
    )


# --- properties ---------------------------------------------------------------------------------

calendars = st.builds(
    WorkCalendar,
    tz=st.sampled_from(["UTC", "Europe/London", "America/New_York", "Asia/Tokyo"]),
    start=st.sampled_from([time(7), time(9), time(10, 30)]),
    end=st.sampled_from([time(13), time(17), time(19, 45)]),
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    days_off=st.frozensets(st.dates(date(2026, 3, 1), date(2026, 3, 20)), max_size=4),
)
policies = st.builds(
    EarBreakPolicy,
    max_block=st.integers(20, 90),
    short_break=st.integers(5, 15),
    long_break=st.integers(20, 40),
    long_every=st.integers(1, 5),
    daily_cap=st.integers(60, 480),
    fresh_ears_break=st.integers(10, 25),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[StageWork], list[EngineerIn], datetime]:
    n_eng = draw(st.integers(1, 4))
    engineers = [
        EngineerIn(i + 1, draw(calendars), draw(policies), takes_unassigned=draw(st.booleans()))
        for i in range(n_eng)
    ]
    now = draw(st.datetimes(datetime(2026, 3, 1), datetime(2026, 3, 8), timezones=st.just(UTC)))
    work: list[StageWork] = []
    sid = 0
    for _ in range(draw(st.integers(0, 6))):
        job_id = uuid.uuid4()
        due = now + timedelta(hours=draw(st.integers(-5, 200)))
        first = draw(st.integers(0, 5))
        for order in range(first, 6):
            sid += 1
            work.append(
                StageWork(
                    stage_id=sid,
                    job_id=job_id,
                    kind=KINDS[order],
                    order=order,
                    remaining_minutes=draw(st.integers(0, 200)),
                    due_at=due,
                    assignee_id=draw(st.one_of(st.none(), st.integers(1, n_eng))),
                    fresh_ears=KINDS[order] in FRESH,
                )
            )
    return work, engineers, now


def windows_of(
    cal: WorkCalendar, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    out = []
    for w in cal.windows(since - timedelta(days=1)):
        if w[0] > until:
            break
        out.append(w)
    return out


def check_plan(
    work: list[StageWork], engineers: list[EngineerIn], now: datetime, result: Plan
) -> None:
    by_id = {e.id: e for e in engineers}
    stage = {w.stage_id: w for w in work}
    worked: dict[int, int] = defaultdict(int)
    for eid, timeline in result.timelines.items():
        eng = by_id[eid]
        policy = eng.policy
        if not timeline:
            continue
        windows = windows_of(eng.calendar, now, timeline[-1].end)
        per_window: dict[int, list] = defaultdict(list)
        prev_end = None
        for b in timeline:
            assert b.end > b.start
            assert b.start >= now - timedelta(minutes=1)
            # No overlap, in order.
            assert prev_end is None or b.start >= prev_end
            prev_end = b.end
            # Inside the engineer's working hours.
            idx = [i for i, (ws, we) in enumerate(windows) if ws <= b.start and b.end <= we]
            assert idx, f"{b} outside working hours"
            per_window[idx[0]].append(b)
            if b.kind == WORK:
                assert b.minutes <= policy.max_block
                worked[b.stage_id] += b.minutes
                w = stage[b.stage_id]
                if w.assignee_id is not None:
                    assert eid == w.assignee_id
        for blocks in per_window.values():
            work_blocks = [b for b in blocks if b.kind == WORK]
            # Daily listening cap.
            assert sum(b.minutes for b in work_blocks) <= policy.daily_cap
            # Continuous listening: runs of work with gaps shorter than a break stay in the limit.
            run, last = 0, None
            for b in work_blocks:
                if last is not None and (b.start - last) >= timedelta(minutes=policy.short_break):
                    run = 0
                run += b.minutes
                assert run <= policy.max_block
                last = b.end
            # Breaks: at least the short length; every Nth a long one.
            for n, b in enumerate([b for b in blocks if b.kind == BREAK], start=1):
                assert b.minutes >= policy.short_break
                if n % policy.long_every == 0:
                    assert b.minutes >= policy.long_break
            # Fresh ears: a fresh-ears stage starts the day or follows a long-enough rest.
            for k, b in enumerate(work_blocks):
                if b.stage_id is None or result.stage_start[b.stage_id] != b.start:
                    continue
                if not stage[b.stage_id].fresh_ears or k == 0:
                    continue
                rest = b.start - work_blocks[k - 1].end
                assert rest >= timedelta(minutes=policy.fresh_ears_break)
    # Every planned stage got exactly its remaining time, and stage order holds within a job.
    by_job: dict[object, list[StageWork]] = defaultdict(list)
    for w in work:
        by_job[w.job_id].append(w)
        if result.stage_finish[w.stage_id] is not None:
            assert worked[w.stage_id] == w.remaining_minutes
    for stages in by_job.values():
        stages.sort(key=lambda s: s.order)
        for a, b in itertools.pairwise(stages):
            if result.stage_start[b.stage_id] is not None:
                assert result.stage_finish[a.stage_id] is not None
                assert result.stage_start[b.stage_id] >= result.stage_finish[a.stage_id]
        finishes = [result.stage_finish[s.stage_id] for s in stages]
        if all(f is not None for f in finishes):
            assert result.job_finish[stages[0].job_id] == finishes[-1]
    # Proposals go to engineers who take unassigned work, only for unassigned stages.
    for sid, eid in result.proposed.items():
        assert stage[sid].assignee_id is None
        assert by_id[eid].takes_unassigned


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_plans_keep_every_rule(scenario) -> None:
    work, engineers, now = scenario
    result = plan(work=work, engineers=engineers, now=now, horizon_days=60)
    check_plan(work, engineers, now, result)


@settings(max_examples=30, deadline=None)
@given(scenarios())
def test_the_plan_is_deterministic(scenario) -> None:
    work, engineers, now = scenario
    a = plan(work=work, engineers=engineers, now=now, horizon_days=60)
    b = plan(work=list(reversed(work)), engineers=engineers, now=now, horizon_days=60)
    assert a.stage_finish == b.stage_finish


def test_an_engineer_waiting_on_another_fills_the_wait_with_other_work() -> None:
    # Job A (due first): 60 min on engineer 2, then 60 min on engineer 1. Job B (due later):
    # 60 min on engineer 1, who does it while waiting for A instead of after it.
    a = job_work([60, 60], due=MONDAY_9 + timedelta(days=1), start_id=1)
    a = [
        StageWork(**{**a[0].__dict__, "assignee_id": 2}),
        StageWork(**{**a[1].__dict__, "assignee_id": 1}),
    ]
    b = job_work([40], due=MONDAY_9 + timedelta(days=2), assignee=1, start_id=10)
    result = plan(
        work=a + b, engineers=[EngineerIn(1, UTC_DAY), EngineerIn(2, UTC_DAY)], now=MONDAY_9
    )
    assert result.stage_start[10] == MONDAY_9
    assert result.stage_start[2] == result.stage_finish[1]


def test_nobody_able_to_work_leaves_the_work_unplanned() -> None:
    idle = WorkCalendar(tz="UTC", weekdays=frozenset())
    result = plan(work=job_work([30, 30]), engineers=[EngineerIn(1, idle)], now=MONDAY_9)
    assert result.unplanned == {1, 2}
    assert list(result.job_finish.values()) == [None]
    assert result.timelines == {1: []}


def test_workload_counts_listening_before_a_moment() -> None:
    from jobs.planner import workload

    result = plan(
        work=job_work([120], assignee=1),
        engineers=[EngineerIn(1, UTC_DAY), EngineerIn(2, UTC_DAY)],
        now=MONDAY_9,
    )
    # 09:00-09:50 work, 09:50-10:00 break, 10:00-10:50 work: 70 minutes before 10:20.
    assert workload(result, until=MONDAY_9 + timedelta(minutes=80)) == {1: 70, 2: 0}
    assert workload(result, until=MONDAY_9 + timedelta(days=1)) == {1: 120, 2: 0}
