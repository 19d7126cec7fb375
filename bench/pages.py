"""Benchmark: CPU and queries of one request of each page kind the load run makes
(bench/locustfile.py), through Django's test client on PostgreSQL, on the load run's studio
(seed_demo plus bench/load.py's extra people and jobs), without gunicorn or locust in the way.
As in the load run, sessions and the caches are in Redis (an empty database of its own, emptied
at the end), and tasks are sent to it, not run.

    .venv/bin/python bench/pages.py                        # every page kind, 30 requests each
    .venv/bin/python bench/pages.py --only desk --profile  # and cProfile's top for those
    .venv/bin/python bench/pages.py --keep-db headroom_pages  # set up once, reuse next time

With --keep-db NAME the studio is made in database NAME the first time and reused after
(delete it with `dropdb -h 127.0.0.1 -U postgres NAME`); otherwise a database of its own is
made and dropped. The login page, which reads nothing, is the reference in the same run.
With --profile, SORT and TOP (environment) choose pstats' order and length, and PROFILE_OUT
names a file to keep the profile in.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = "postgres://postgres@127.0.0.1:5432"


def _psql(sql: str, db: str = "postgres") -> str:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-Atqc", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def _bench_load() -> Any:
    """bench/load.py as a module (its folder is not a package: bench/analysis.py would shadow
    the app of that name on sys.path)."""
    if "bench_load" not in sys.modules:
        spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
        assert spec is not None and spec.loader is not None
        load = importlib.util.module_from_spec(spec)
        sys.modules["bench_load"] = load
        spec.loader.exec_module(load)
    return sys.modules["bench_load"]


def _setup(name: str, keep: bool, redis_db: int) -> None:
    exists = _psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"
    made = (
        exists
        and _psql("SELECT EXISTS (SELECT 1 FROM pg_tables WHERE tablename = 'jobs_user')", name)
        == "t"
        and _psql("SELECT count(*) FROM jobs_user WHERE username = 'load-manager-29'", name) == "1"
    )
    os.environ["DATABASE_URL"] = f"{PG}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ.pop("HEADROOM_PRODUCTION", None)
    # As in the load run: sessions and caches in Redis. Tasks run in process while the studio
    # is made; after that they are only sent, as gunicorn sends them (nothing takes them).
    os.environ["CELERY_BROKER_URL"] = f"redis://127.0.0.1:6379/{redis_db}"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ["DEBUG"] = "false"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.setdefault("MEDIA_ROOT", f"/tmp/{name}-media")
    if made and keep:
        import django

        django.setup()
        _tasks_sent_only()
        return
    if exists:
        _psql(f"DROP DATABASE {name}")
    _psql(f"CREATE DATABASE {name}")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    _bench_load()._studio_setup(clients=180, engineers=90, managers=30, jobs_per_engineer=4)
    _psql("ANALYZE", name)  # as bench/load.py does: what autovacuum would have gathered
    _tasks_sent_only()


def _tasks_sent_only() -> None:
    from studio.celery import app

    app.conf.task_always_eager = False


def _pages() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(label, username, path, extra) for each page kind, as a user of the load run sees it."""
    from analysis.models import FileAnalysis
    from jobs.models import AudioFile, Job, ListeningSession, Stage, User

    client = User.objects.get(username="load-client-01")
    job = Job.objects.filter(organisation=client.organisation).order_by("created_at").first()
    assert job is not None
    audio = AudioFile.objects.filter(job=job, is_current=True).first()
    assert audio is not None
    has_peaks = FileAnalysis.objects.filter(audio_file=audio).exists()
    engineer = User.objects.get(username="load-engineer-01")
    stage = Stage.objects.filter(assignee=engineer).order_by("job__due_at", "position").first()
    assert stage is not None
    pages: list[tuple[str, str, str, dict[str, Any]]] = [
        ("login page (reference)", "", "/login/", {}),
        ("client: home", client.username, "/", {}),
        ("client: job page", client.username, f"/jobs/{job.pk}/", {}),
        ("client: intake poll", client.username, f"/jobs/{job.pk}/intake/", {"htmx": True}),
        (
            "client: player range",
            client.username,
            f"/files/{audio.pk}/stream/",
            {"HTTP_RANGE": "bytes=1000-66535", "expect": 206},
        ),
        ("engineer: desk", engineer.username, "/desk/", {}),
        ("engineer: queue", engineer.username, "/queue/", {}),
        ("engineer: my plan", engineer.username, "/plan/", {}),
        ("engineer: job page", engineer.username, f"/jobs/{stage.job_id}/", {}),
        ("manager: home (board)", "manager", "/board/", {}),
        ("manager: board filtered", "manager", "/board/?state=at_risk", {"htmx": True}),
        ("manager: studio job list", "manager", "/jobs/all/", {}),
        ("manager: workload", "manager", "/workload/", {}),
        ("manager: job page", "manager", f"/jobs/{job.pk}/", {}),
        ("manager: policy", "manager", "/policy/", {}),
        ("manager: compliance", "manager", "/compliance/", {}),
    ]
    if has_peaks:
        pages.insert(5, ("client: peaks", client.username, f"/files/{audio.pk}/peaks/", {}))
    session = ListeningSession.objects.filter(engineer=engineer, ended_at__isnull=True).first()
    if session is not None:
        pages.append(
            (
                "engineer: session poll",
                engineer.username,
                f"/sessions/{session.pk}/tick/",
                {"post": True, "htmx": True},
            )
        )
    return pages


def _on_stage(username: str) -> Any:
    """The engineer's first stage, started (its job in progress), as on the desk's *now*."""
    from datetime import timedelta

    from django.utils import timezone

    from jobs.models import JobStatus, Stage, StageStatus, User

    engineer = User.objects.get(username=username)
    stage = Stage.objects.filter(assignee=engineer).order_by("job__due_at", "position").first()
    assert stage is not None
    if stage.status != StageStatus.IN_PROGRESS:
        Stage.objects.filter(pk=stage.pk).update(
            status=StageStatus.IN_PROGRESS, started_at=timezone.now() - timedelta(minutes=50)
        )
        stage.job.status = JobStatus.IN_PROGRESS
        stage.job.save(update_fields=["status"])
    return stage


def _moves(clients: dict[str, Any]) -> list[tuple[str, Callable[[], None]]]:
    """(label, one request) for the desk's POSTs the load run makes, alternating so that each
    acts on a real state: start listening, then stop (the session's id read from the answer, as
    bench/locustfile.py does); finish the stage, then reopen it. The figure is the mean of the
    two. The re-plan a stage move queues runs in the worker in the load run, not in the web
    process: here it is marked queued already, so the in-process task does not run."""
    import re

    from django.core.cache import cache
    from django.db.models import F
    from django.test import Client

    from jobs.models import ListeningSession, User
    from jobs.tasks import REPLAN_QUEUED

    listener = _on_stage("load-engineer-02")
    mover = _on_stage("load-engineer-03")
    # Sessions left open (by the load run's set-up, or by this script's last run on a kept
    # database) end where they began.
    ListeningSession.objects.filter(
        stage__assignee=mover.assignee_id, ended_at__isnull=True
    ).update(ended_at=F("started_at"))
    ListeningSession.objects.filter(engineer=listener.assignee_id, ended_at__isnull=True).update(
        ended_at=F("started_at")
    )
    htmx = {"HTTP_HX_REQUEST": "true"}
    tick = re.compile(r'hx-post="/sessions/(\d+)/tick/"')
    for user in (listener.assignee, mover.assignee):
        if user.username not in clients:
            clients[user.username] = Client()
            clients[user.username].force_login(User.objects.get(pk=user.pk))
    listening: list[int] = []
    finished: list[bool] = [False]

    def listen() -> None:
        c = clients[listener.assignee.username]
        if listening:
            response = c.post(f"/sessions/{listening.pop()}/stop/", **htmx)
        else:
            response = c.post(f"/desk/stages/{listener.pk}/listen/", **htmx)
            found = tick.search(response.content.decode())
            assert found is not None, "no session started"
            listening.append(int(found.group(1)))
        assert response.status_code == 200, response.status_code

    def move() -> None:
        cache.set(REPLAN_QUEUED, "1", timeout=None)
        action = "reopen" if finished[0] else "finish"
        response = clients[mover.assignee.username].post(f"/stages/{mover.pk}/{action}/", **htmx)
        assert response.status_code == 200, (action, response.status_code)
        finished[0] = not finished[0]

    return [
        ("engineer: start/stop listening (htmx)", listen),
        ("engineer: stage finish/reopen (htmx)", move),
    ]


def _listening(username: str) -> None:
    """The engineer on their first stage with a listening session running, as on the desk."""
    from datetime import timedelta

    from django.utils import timezone

    from jobs.models import JobStatus, ListeningSession, Stage, StageStatus, User

    engineer = User.objects.get(username=username)
    if ListeningSession.objects.filter(engineer=engineer, ended_at__isnull=True).exists():
        return
    now = timezone.now()
    stage = Stage.objects.filter(assignee=engineer).order_by("job__due_at", "position").first()
    assert stage is not None
    Stage.objects.filter(pk=stage.pk).update(
        status=StageStatus.IN_PROGRESS, started_at=now - timedelta(minutes=50)
    )
    stage.job.status = JobStatus.IN_PROGRESS
    stage.job.save(update_fields=["status"])
    ListeningSession.objects.create(
        engineer=engineer, stage=stage, started_at=now - timedelta(minutes=25)
    )


def _backend_cpu(connection: Any) -> float:
    """CPU seconds PostgreSQL's process for this connection has used (same machine)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _request(client: Any, path: str, extra: dict[str, Any]) -> Callable[[], None]:
    extra = dict(extra)
    expect = extra.pop("expect", 200)
    headers = {"HTTP_HX_REQUEST": "true"} if extra.pop("htmx", False) else {}
    send = client.post if extra.pop("post", False) else client.get
    headers.update(extra)

    def once() -> None:
        response = send(path, **headers)
        assert response.status_code == expect, (path, response.status_code)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)

    return once


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--only", default="", help="page kinds whose label contains this")
    parser.add_argument("--profile", action="store_true", help="cProfile's top of each (CPU time)")
    parser.add_argument("--keep-db", default="", help="make the studio here once and reuse it")
    args = parser.parse_args(argv)
    name = args.keep_db or f"headroom_pagesbench_{os.getpid()}"
    redis_db = _bench_load()._spare_redis_db()
    _setup(name, keep=bool(args.keep_db), redis_db=redis_db)
    try:
        from django.db import connection
        from django.test import Client

        from jobs.models import User

        _listening("load-engineer-01")
        clients: dict[str, Any] = {}
        print(
            f"{args.requests} requests each; CPU ms per request (this process, and its "
            "PostgreSQL backend's: clock ticks of 10 ms, so ask for --requests 100 or more), "
            "queries"
        )
        kinds: list[tuple[str, str, Callable[[], None]]] = []
        for label, username, path, extra in _pages():
            if args.only and args.only not in label:
                continue
            if username not in clients:
                c = Client()
                if username:
                    c.force_login(User.objects.get(username=username))
                clients[username] = c
            kinds.append((label, path, _request(clients[username], path, extra)))
        kinds += [(label, "POST", once) for label, once in _moves(clients) if args.only in label]
        for label, path, once in kinds:
            queries: list[str] = []

            def count(execute: Any, sql: str, *rest: Any, seen: list[str] = queries) -> Any:
                seen.append(sql)
                return execute(sql, *rest)

            with connection.execute_wrapper(count):
                once()
            once()
            db_start = _backend_cpu(connection)
            start = time.process_time()
            for _ in range(args.requests):
                once()
            ms = (time.process_time() - start) * 1000 / args.requests
            db_ms = (_backend_cpu(connection) - db_start) * 1000 / args.requests
            print(
                f"{label:<38} {ms:8.1f} ms {db_ms:6.1f} ms in PostgreSQL "
                f"{len(queries):4d} queries  {path}"
            )
            if args.profile:
                prof = cProfile.Profile(time.thread_time)  # CPU, not waiting on PostgreSQL
                prof.enable()
                for _ in range(max(5, args.requests // 3)):
                    once()
                prof.disable()
                stats = pstats.Stats(prof)
                if os.environ.get("PROFILE_OUT"):  # a file for pstats' callers and callees
                    stats.dump_stats(os.environ["PROFILE_OUT"])
                stats.sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
                    int(os.environ.get("TOP", "45"))
                )
    finally:
        _bench_load()._redis(redis_db, "flushdb")
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            _psql(f"DROP DATABASE {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
