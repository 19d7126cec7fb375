"""Benchmark: what one request of the engineer's desk, its session poll and my plan costs in
queries and CPU, through Django's test client on PostgreSQL, with a studio of 200 open jobs.

    .venv/bin/python bench/desk_requests.py                 # 50 requests of each page
    .venv/bin/python bench/desk_requests.py --profile tick  # and cProfile's top of one page
    SORT=tottime TOP=40 .venv/bin/python bench/desk_requests.py --profile desk

It creates its own database (`headroom_deskbench_<pid>`), makes 200 accepted jobs of six stages
(a hundred of them the engineer's, one started with a listening session running and a break
taken, the rest up for grabs), re-plans once, then times each page over `--requests` requests
with time.process_time and counts its queries. The database is dropped at the end. The login
page, which reads nothing, is measured in the same run as the reference the others compare to.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = "postgres://postgres@127.0.0.1:5432"
KINDS = [
    "listening",
    "cleanup",
    "level_balancing",
    "eq_enhancement",
    "glue_final_level",
    "delivery",
]


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
    )


def _studio(jobs: int) -> tuple[object, int]:
    """The engineer and their open session's id."""
    from django.utils import timezone

    from jobs.models import (
        BreakKind,
        BreakOutcome,
        EarBreak,
        JobStatus,
        ListeningSession,
        Role,
        Stage,
        StageStatus,
        StudioPolicy,
    )
    from jobs.plan_store import plan_refresh
    from tests.factories import make_job, make_organisation, make_user

    StudioPolicy.current()
    owner = make_user(Role.CLIENT, organisation=make_organisation())
    engineer = make_user(Role.ENGINEER)
    others = [make_user(Role.ENGINEER) for _ in range(3)]
    now = timezone.now()
    started = None
    for i in range(jobs):
        job = make_job(client=owner, status=JobStatus.ACCEPTED, track_title=f"Track {i}")
        mine = i % 2 == 0
        for position, kind in enumerate(KINDS):
            stage = Stage.objects.create(
                job=job,
                kind=kind,
                position=position,
                assignee=engineer if mine else (others[i % 3] if i % 5 == 1 else None),
            )
            if started is None and mine:
                started = stage
    assert started is not None
    Stage.objects.filter(pk=started.pk).update(
        status=StageStatus.IN_PROGRESS, started_at=now - timedelta(minutes=50)
    )
    started.job.status = JobStatus.IN_PROGRESS
    started.job.save(update_fields=["status"])
    earlier = ListeningSession.objects.create(
        engineer=engineer,
        stage=started,
        started_at=now - timedelta(minutes=45),
        ended_at=now - timedelta(minutes=30),
        work_seconds=900,
    )
    session = ListeningSession.objects.create(
        engineer=engineer, stage=started, started_at=now - timedelta(minutes=25)
    )
    EarBreak.objects.create(
        engineer=engineer,
        session=earlier,
        kind=BreakKind.SHORT,
        prompted_at=now - timedelta(minutes=31),
        started_at=now - timedelta(minutes=31),
        ended_at=now - timedelta(minutes=26),
        planned_minutes=5,
        outcome=BreakOutcome.TAKEN,
    )
    plan_refresh()
    return engineer, session.pk


def _measure(client: object, method: str, path: str, n: int, **extra: str) -> tuple[int, float]:
    """Queries of one request and mean CPU milliseconds over n requests."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    send = getattr(client, method)
    with CaptureQueriesContext(connection) as ctx:
        assert send(path, **extra).status_code == 200, path
    queries = len(ctx.captured_queries)
    start = time.process_time()
    for _ in range(n):
        send(path, **extra)
    return queries, (time.process_time() - start) * 1000 / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--profile", choices=["desk", "tick", "plan"], default=None)
    args = parser.parse_args(argv)

    name = f"headroom_deskbench_{os.getpid()}"
    os.environ["DATABASE_URL"] = f"{PG}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.served_settings")
    os.environ.pop("CELERY_BROKER_URL", None)  # tasks in process: the re-plan runs here
    _psql(f"CREATE DATABASE {name}")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client
        from django.test.utils import setup_test_environment

        setup_test_environment()
        call_command("migrate", "--noinput", verbosity=0)
        engineer, session_id = _studio(args.jobs)
        client = Client()
        client.force_login(engineer)  # type: ignore[arg-type]
        htmx = {"HTTP_HX_REQUEST": "true"}
        pages = {
            "login (reference)": ("get", "/login/", {}),
            "desk": ("get", "/desk/", {}),
            "desk regions (htmx)": ("get", "/desk/", htmx),
            "desk, every row": ("get", "/desk/?all=1", {}),
            "tick": ("post", f"/sessions/{session_id}/tick/", htmx),
            "plan": ("get", "/plan/", {}),
        }
        ref = None
        print(f"{args.jobs} jobs, {args.requests} requests each, CPU ms per request")
        for label, (method, path, extra) in pages.items():
            queries, ms = _measure(client, method, path, args.requests, **extra)
            ref = ref or ms
            print(f"  {label:22} {queries:3d} queries  {ms:7.1f} ms  {ms / ref:5.1f}x login")
        if args.profile:
            method, path, extra = {
                "desk": pages["desk"],
                "tick": pages["tick"],
                "plan": pages["plan"],
            }[args.profile]
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(10):
                getattr(client, method)(path, **extra)
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative"))
            stats.print_stats(int(os.environ.get("TOP", "35")))
    finally:
        from django.db import connections

        connections.close_all()
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
