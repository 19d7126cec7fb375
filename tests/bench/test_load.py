"""The load run's short mode: 20 locust users for 20 s against the real stack (gunicorn,
PostgreSQL, Redis, a Celery worker), failing on any error, the ramp's included. The p95 bar is
printed, not enforced: on a shared two-core machine the short mode guards correctness under
concurrency, and the full run (bench/load.py with its defaults) measures speed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.load,
    pytest.mark.timeout(240),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the load run needs PostgreSQL and Redis (make test provides them)",
    ),
]


def test_twenty_users_for_twenty_seconds_make_no_error() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    short = ["--users", "20", "--duration", "20", "--settle", "0", "--errors-only"]
    done = subprocess.run(
        [sys.executable, "bench/load.py", *short],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=220,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    # Each role reached its busiest pages with no error (no row of the report has any: the
    # total is checked below), and each page kind's CPU per request is printed (the last
    # column), the desk and the listening session's poll among them. Rarer kinds (a manager's
    # policy page, two managers for 20 s) may not come up in so short a run.
    kinds = ("client: home", "client: job page", "client: intake poll (htmx)",
             "client: review room", "engineer: desk", "engineer: session poll (htmx)",
             "manager: home (board)")  # fmt: skip
    for kind in kinds:
        row = re.search(
            rf"^{re.escape(kind)}\s+(\d+)\s+0\s+\S+\s+\S+\s+\S+\s+([\d.]+)$", out, re.MULTILINE
        )
        assert row and int(row.group(1)) > 0, f"no error-free {kind!r} requests:\n{out[-4000:]}"
        assert float(row.group(2)) > 0, f"no CPU figure for {kind!r}:\n{out[-4000:]}"
    assert re.search(r"^all \(logins included\)\s+\d+\s+0\s", out, re.MULTILINE), out[-4000:]
    assert "CPU ms/req" in out and "throughput:" in out and "slowest statements" in out
    # The machine's speed, before and after the run (it can change on a shared machine).
    for when in ("", "after the run, "):
        assert re.search(rf"^{when}machine: \d+ ms of CPU", out, re.MULTILINE), out[-4000:]
