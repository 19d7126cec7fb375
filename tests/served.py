"""The app served as deployed, under real concurrency: gunicorn with two worker processes of
eight threads each, tasks in process. On a SQLite file of its own (`make run`'s embedded
default; tests make rows with `Served.setup`, a function of tests/served_setup.py run in a child
process), or on the test run's own PostgreSQL database (rows made in the test's process), where
`extra_env` can send its tasks to a real worker instead (tests/worker.py, `served_with_worker`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.net import free_port, wait_listening

ROOT = Path(__file__).resolve().parent.parent
_DROPPED = {"DATABASE_URL", "CELERY_BROKER_URL", "S3_BUCKET", "DEBUG", "HEADROOM_PRODUCTION"}


@dataclass
class Served:
    url: str
    env: dict[str, str]
    log: Path

    def setup(self, name: str, **kwargs: Any) -> Any:
        """Run tests.served_setup.<name>(**kwargs) against the served database; its result."""
        code = (
            "import json, sys; from tests import served_setup; "
            f"print(json.dumps(served_setup.{name}(**json.loads(sys.argv[1]))))"
        )
        done = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}", json.dumps(kwargs)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])


@contextmanager
def served_sqlite(home: Path) -> Iterator[Served]:
    """A fresh, migrated SQLite file under `home`, served."""
    env = _env(f"sqlite:///{home}/headroom.sqlite3", home / "media")
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    with _serve(env, home) as served:
        yield served


@contextmanager
def served_database(
    database_url: str, media: Path, home: Path, *, extra_env: dict[str, str] | None = None
) -> Iterator[Served]:
    """An existing, migrated database (the test run's own), files under `media`, served; with
    `extra_env` on top of the served settings (a broker and queue, for one)."""
    with _serve({**_env(database_url, media), **(extra_env or {})}, home) as served:
        yield served


def _env(database_url: str, media: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(
        DATABASE_URL=database_url,
        MEDIA_ROOT=str(media),
        DJANGO_SETTINGS_MODULE="tests.served_settings",
        LOG_LEVEL="WARNING",
    )
    return env


@contextmanager
def _serve(
    env: dict[str, str], home: Path, *, workers: int = 2, threads: int = 8
) -> Iterator[Served]:
    port = free_port()
    log = home / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "studio.wsgi"),
                *("--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
                *("--threads", str(threads), "--timeout", "120"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_listening(server, port, timeout=60)
    try:
        yield Served(f"http://127.0.0.1:{port}", env, log)
    finally:
        server.terminate()
        server.wait(timeout=20)
