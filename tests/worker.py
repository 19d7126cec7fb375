"""Real Celery workers for integration tests: processes on the Redis broker against the
pytest-django test database on PostgreSQL, sharing the test's MEDIA_ROOT.

Usage (with `transactional_db`, so the worker sees committed rows):

    def test_x(celery_worker_factory):
        worker = celery_worker_factory()           # started and ready
        ...
        worker.kill()                              # SIGKILL, mid-task if you like

Each test run gets its own queue name (CELERY_TASK_DEFAULT_QUEUE) and Redis database, so runs in
parallel on one Redis never take each other's tasks. The test process's own Celery app is pointed
at the same broker for the test and put back to eager afterwards.

Test seam: HEADROOM_TEST_ANALYSIS_DELAY_S=<seconds> in a worker's environment makes
analysis.services.file_measure sleep after claiming a file, so a test can SIGKILL the worker in
the middle of an analysis. Nothing else reads it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.served import Served, served_database

ROOT = Path(__file__).resolve().parent.parent
CELERY = ROOT / ".venv" / "bin" / "celery"
REDIS_HOST = "127.0.0.1"
REDIS_PORT = 6379


def is_postgres() -> bool:
    from django.conf import settings

    return str(settings.DATABASES["default"]["ENGINE"]).endswith("postgresql")


def require_postgres() -> None:
    """Skip only when the suite runs without PostgreSQL; under CI=true this is a failure."""
    if is_postgres():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("worker tests need DATABASE_URL=postgres://... under CI")
    pytest.skip("worker tests need DATABASE_URL pointing at PostgreSQL")


def redis_db() -> int:
    return 2 + os.getpid() % 13  # 2..14: away from the default 0 and 1


def broker_url() -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db()}"


def redis_cli(*args: str) -> str:
    out = subprocess.run(
        ["redis-cli", "-h", REDIS_HOST, "-p", str(REDIS_PORT), *args],
        capture_output=True,
        text=True,
        timeout=10,
    )
    return out.stdout.strip()


def redis_restart() -> None:
    """Stop Redis (it keeps nothing: no RDB, no AOF) and start it again the same way."""
    redis_cli("shutdown", "nosave")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and redis_cli("ping") == "PONG":
        time.sleep(0.1)
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            REDIS_HOST,
            "--port",
            str(REDIS_PORT),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
        timeout=10,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if redis_cli("ping") == "PONG":
            return
        time.sleep(0.1)
    raise RuntimeError("Redis did not come back")


def ensure_redis() -> None:
    if redis_cli("ping") != "PONG":
        redis_restart()


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    log: Path
    name: str

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_ready(self, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.output():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited:\n{self.output()[-4000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.name} not ready:\n{self.output()[-4000:]}")

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in worker output:\n{self.output()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL the whole worker: the main process and its pool children."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class WorkerFactory:
    tmp: Path
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)

    def __call__(
        self, *, beat: bool = False, concurrency: int = 1, extra_env: dict[str, str] | None = None
    ) -> Worker:
        name = f"w{len(self.workers) + 1}-{uuid.uuid4().hex[:6]}"
        log = self.tmp / f"{name}.log"
        cmd = [
            str(CELERY),
            "-A",
            "studio",
            "worker",
            "-P",
            "prefork",
            "-c",
            str(concurrency),
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{name}@%h",
            "-Q",
            self.env["CELERY_TASK_DEFAULT_QUEUE"],
            "-l",
            "info",
        ]
        if beat:
            cmd += ["-B", "-s", str(self.tmp / f"{name}-beat-schedule")]
        env = {**self.env, **(extra_env or {})}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        worker = Worker(proc, log, name)
        self.workers.append(worker)
        worker.wait_ready()
        return worker

    def close(self) -> None:
        for w in self.workers:
            w.stop()


def _point_app_at(app: Any, **conf: Any) -> dict[str, Any]:
    old = {k: app.conf.get(k) for k in conf}
    app.conf.update(**conf)
    app._pool = None  # next publish builds its connection from the new broker_url
    if "amqp" in app.__dict__:
        app.__dict__["amqp"]._producer_pool = None
    return old


@pytest.fixture
def celery_worker_factory(
    transactional_db: None, settings: Any, tmp_path: Path
) -> Iterator[Callable[..., Worker]]:
    """Start real worker processes for this test; they are stopped at the end."""
    require_postgres()
    ensure_redis()
    # This run's Redis database is the cache of the processes it starts (the studio policy,
    # sessions, the re-plan mark): what an earlier test's processes left there is not this test's.
    redis_cli("-n", str(redis_db()), "flushdb")
    from studio.celery import app

    db = settings.DATABASES["default"]
    queue = f"headroom-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}"
        f":{db.get('PORT') or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": broker_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "ANALYSIS_RECONCILE_EVERY_S": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop(analysis_delay_env(), None)
    old = _point_app_at(
        app, broker_url=broker_url(), task_always_eager=False, task_default_queue=queue
    )
    settings.CELERY_TASK_ALWAYS_EAGER = False
    factory = WorkerFactory(tmp_path, env)
    try:
        yield factory
    finally:
        factory.close()
        redis_cli("-n", str(redis_db()), "del", queue)
        _point_app_at(app, **old)


@pytest.fixture
def served_with_worker(
    celery_worker_factory: WorkerFactory, tmp_path: Path
) -> Iterator[tuple[Served, Worker]]:
    """The app served by gunicorn (tests/served.py) on the test database, its tasks sent to this
    run's Redis database and queue (never run in process: CELERY_TASK_ALWAYS_EAGER is off) and
    consumed by one real worker process (no beat: a test that wants the beat tasks starts a
    worker with beat=True from celery_worker_factory), sharing the served app's MEDIA_ROOT and its
    cache (Redis, so the web and the worker see one re-plan mark; celery_worker_factory empties
    it first and this fixture again at the end)."""
    worker = celery_worker_factory()
    env = celery_worker_factory.env
    home = tmp_path / "served"
    home.mkdir()
    try:
        with served_database(
            env["DATABASE_URL"],
            Path(env["MEDIA_ROOT"]),
            home,
            extra_env={
                k: env[k]
                for k in (
                    "CELERY_BROKER_URL",
                    "CELERY_TASK_ALWAYS_EAGER",
                    "CELERY_TASK_DEFAULT_QUEUE",
                )
            },
        ) as served:
            yield served, worker
    finally:
        redis_cli("-n", str(redis_db()), "flushdb")


def analysis_delay_env() -> str:
    from analysis.services import TEST_DELAY_ENV

    return TEST_DELAY_ENV


def wait_until(check: Callable[[], Any], *, timeout: float = 60.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {check}")


__all__ = [
    "Worker",
    "WorkerFactory",
    "broker_url",
    "celery_worker_factory",
    "redis_restart",
    "require_postgres",
    "served_with_worker",
    "wait_until",
]
