"""Benchmark: plan 200 open jobs across 10 engineers and print how long the plan takes.

    .venv/bin/python bench/scheduler.py          # the pure planner on generated inputs
    .venv/bin/python bench/scheduler.py --db     # also the database path (load, plan, write back)
    .venv/bin/python bench/scheduler.py --jobs 2000 --engineers 50   # ten times the studio, both

The bars: 200 jobs under 0.5 s (pure); 2,000 jobs across 50 engineers under 250 ms (pure) and
under 1 s through the database (--jobs implies --db).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import machine
from jobs.clock import WorkCalendar
from jobs.planner import EarBreakPolicy, EngineerIn, StageWork, plan

KINDS = [
    "listening",
    "cleanup",
    "level_balancing",
    "eq_enhancement",
    "glue_final_level",
    "delivery",
]
BASE = {"listening": 30, "cleanup": 15, "level_balancing": 30, "eq_enhancement": 45,
        "glue_final_level": 45, "delivery": 30}  # fmt: skip
PER_STEM = {"cleanup": 10, "level_balancing": 3, "eq_enhancement": 8}


def inputs(
    jobs: int = 200, engineers: int = 10, seed: int = 1
) -> tuple[list[StageWork], list[EngineerIn], datetime]:
    rng = random.Random(seed)
    now = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    engs = [
        EngineerIn(
            id=i + 1,
            calendar=WorkCalendar(
                tz=rng.choice(["Europe/London", "Europe/Berlin", "America/New_York"]),
                start=clock_time(rng.choice([8, 9, 10])),
                end=clock_time(rng.choice([16, 17, 18])),
            ),
            policy=EarBreakPolicy().stricter(
                max_block=rng.choice([None, 45]), daily_cap=rng.choice([None, 300])
            ),
        )
        for i in range(engineers)
    ]
    work: list[StageWork] = []
    sid = 0
    for _ in range(jobs):
        job_id = uuid.UUID(int=rng.getrandbits(128))
        stems = rng.randint(4, 24)
        due = now + timedelta(hours=rng.randint(4, 24 * 60))
        done = rng.randint(0, 4)  # the first stages of some jobs are already finished
        for order, kind in enumerate(KINDS):
            if order < done:
                continue
            sid += 1
            estimate = BASE[kind] + PER_STEM.get(kind, 0) * stems
            logged = rng.randint(0, estimate // 2) if order == done else 0
            assigned = rng.random() < 0.5
            work.append(
                StageWork(
                    stage_id=sid,
                    job_id=job_id,
                    kind=kind,
                    order=order,
                    remaining_minutes=estimate - logged,
                    due_at=due,
                    assignee_id=rng.randint(1, engineers) if assigned else None,
                    fresh_ears=kind in ("glue_final_level", "delivery"),
                )
            )
    return work, engs, now


def bench_pure(runs: int = 5, jobs: int = 200, engineers: int = 10) -> float:
    work, engs, now = inputs(jobs, engineers)
    times = []
    cpu = []  # processor time too: on a shared machine the wall clock also counts others' work
    result = None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = plan(work=work, engineers=engs, now=now)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    assert result is not None
    blocks = sum(len(t) for t in result.timelines.values())
    late = sum(
        1
        for w in work
        if w.order == max(x.order for x in work if x.job_id == w.job_id)
        and (result.job_finish[w.job_id] or now) > (w.due_at or now)
    )
    best, median = min(times), statistics.median(times)
    print(
        f"pure plan: {jobs} jobs, {len(work)} open stages, {engineers} engineers, {blocks} blocks, "
        f"{late} jobs predicted late: best {best * 1000:.1f} ms, median {median * 1000:.1f} ms "
        f"over {runs} runs (processor time: best {min(cpu) * 1000:.1f} ms)"
    )
    return median


def seed_open_jobs(*, jobs: int, engineers: int, seed: int = 2) -> None:
    """Rows for the database path: engineers, and running jobs with stems and six stages."""
    import hashlib

    from django.utils import timezone

    from jobs.models import (
        DEFAULT_CHECKLISTS,
        STAGE_ORDER,
        AudioFile,
        Job,
        Organisation,
        Role,
        Stage,
        User,
    )

    rng = random.Random(seed)
    now = timezone.now()
    org = Organisation.objects.create(name="Bench Records")
    client = User.objects.create(username="bench-client", role=Role.CLIENT, organisation=org)
    people = User.objects.bulk_create(
        User(username=f"bench-eng{i}", role=Role.ENGINEER) for i in range(engineers)
    )
    rows = Job.objects.bulk_create(
        Job(
            organisation=org,
            created_by=client,
            track_title=f"Track {n}",
            status="in_progress",
            verdict="accepted",
            accepted_at=now,
            promise_days=3,
            due_at=now + timedelta(hours=rng.randint(4, 24 * 14)),
        )
        for n in range(jobs)
    )
    sha = hashlib.sha256(b"bench").hexdigest()
    AudioFile.objects.bulk_create(
        AudioFile(
            job=job,
            kind="stem",
            original_name=f"Stem {k}.wav",
            file=f"bench/{job.pk}/{k}",
            sha256=sha,
            size_bytes=1,
            uploaded_by=client,
        )
        for job in rows
        for k in range(rng.randint(4, 24))
    )
    stages = []
    for job in rows:
        done = rng.randint(0, 4)
        for position, kind in enumerate(STAGE_ORDER):
            finished = position < done
            stages.append(
                Stage(
                    job=job,
                    kind=kind,
                    position=position,
                    status="done" if finished else "pending",
                    started_at=now if finished else None,
                    finished_at=now if finished else None,
                    assignee=rng.choice(people) if rng.random() < 0.5 else None,
                    checklist=[{"item": i, "done": finished} for i in DEFAULT_CHECKLISTS[kind]],
                )
            )
    Stage.objects.bulk_create(stages)


def bench_db(jobs: int = 200, engineers: int = 10) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import get_runner, setup_test_environment

    setup_test_environment()
    runner = get_runner(settings)(verbosity=0, interactive=False)
    old = runner.setup_databases()
    try:
        from jobs.plan_store import plan_refresh

        seed_open_jobs(jobs=jobs, engineers=engineers)
        t0, c0 = time.perf_counter(), time.process_time()
        plan_refresh()
        first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        plan_refresh()
        second, second_cpu = time.perf_counter() - t0, time.process_time() - c0
        # Processor time of this process only (the database's own work is not in it); on a
        # shared machine the wall clock also counts everyone else's work.
        print(
            f"db path ({connection.vendor}): load + plan + write back, {jobs} jobs, "
            f"{engineers} engineers: "
            f"first {first * 1000:.0f} ms (writes everything), again {second * 1000:.0f} ms "
            f"(processor time here: {first_cpu * 1000:.0f} ms, {second_cpu * 1000:.0f} ms)"
        )
    finally:
        runner.teardown_databases(old)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", action="store_true", help="also time the database adapter path")
    parser.add_argument("--jobs", type=int, default=None, help="open jobs (implies --db)")
    parser.add_argument("--engineers", type=int, default=None, help="engineers (with --jobs)")
    args = parser.parse_args()
    print(machine.line())
    if args.jobs is None:
        bench_pure()
        if args.db:
            bench_db()
    else:
        engineers = args.engineers or max(1, args.jobs // 40)
        bench_pure(jobs=args.jobs, engineers=engineers)
        bench_db(jobs=args.jobs, engineers=engineers)
