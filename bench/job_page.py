"""Benchmark: what one request of the job page costs in queries and CPU, for a client and for
a manager, through Django's test client on PostgreSQL, on the demo studio (seed_demo).

    .venv/bin/python bench/job_page.py                # 20 requests of each page
    .venv/bin/python bench/job_page.py --requests 50

It creates its own database (`headroom_jobpagebench_<pid>`), migrates it and runs seed_demo,
then times the pages of "Paper Planes" (in progress) and "Northern Line" (delivered, with
comments) for nova (their client) and manager over `--requests` requests with
time.process_time and counts their queries. The database is dropped at the end. The login
page, which reads nothing, is measured in the same run as the reference the others compare to.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = "postgres://postgres@127.0.0.1:5432"
JOBS = ["Paper Planes", "Northern Line"]
VIEWERS = ["nova", "manager"]


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
    )


def _measure(client: Any, path: str, n: int) -> tuple[int, float]:
    """Queries of one request and mean CPU milliseconds over n requests."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    send = client.get
    with CaptureQueriesContext(connection) as ctx:
        assert send(path).status_code == 200, path
    queries = len(ctx.captured_queries)
    start = time.process_time()
    for _ in range(n):
        send(path)
    return queries, (time.process_time() - start) * 1000 / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args(argv)
    name = f"headroom_jobpagebench_{os.getpid()}"
    os.environ["DATABASE_URL"] = f"{PG}/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.served_settings")
    os.environ.pop("CELERY_BROKER_URL", None)
    _psql(f"CREATE DATABASE {name}")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client
        from django.test.utils import setup_test_environment

        from jobs.models import Job, User

        setup_test_environment()
        call_command("migrate", "--noinput", verbosity=0)
        call_command("seed_demo", stdout=io.StringIO())
        print(f"{args.requests} requests each, CPU ms per request")
        ref = None
        for username in VIEWERS:
            client = Client()
            client.force_login(User.objects.get(username=username))
            pages = {"login (reference)": "/login/"} if ref is None else {}
            for title in JOBS:
                pages[title] = f"/jobs/{Job.objects.get(track_title=title).pk}/"
            for label, path in pages.items():
                queries, ms = _measure(client, path, args.requests)
                ref = ref or ms
                print(
                    f"  {username:8} {label:18} {queries:3d} queries  {ms:7.1f} ms"
                    f"  {ms / ref:5.1f}x login"
                )
    finally:
        from django.db import connections

        connections.close_all()
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
