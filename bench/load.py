"""Load: locust users (bench/locustfile.py) against the real stack on loopback (gunicorn from
deploy/gunicorn.conf.py, PostgreSQL, Redis, one Celery worker), seeded by seed_demo plus extra
people and jobs. Prints throughput, p50/p95/p99 and CPU milliseconds per request for each page
kind, where the machine's CPU went, the slowest statements, and the machine's speed
(bench/machine.py) before and after the run.

    .venv/bin/python bench/load.py                          # 300 users, 2 s think time, 60 s
    .venv/bin/python bench/load.py --users 20 --duration 20 # the short mode the suite runs

Users are 6 clients : 3 engineers : 1 manager; each logs in through the real login form, then
works with think time between actions. CPU per request is each request's thread CPU time in the
gunicorn worker (a hook in bench/gunicorn_load.py, which is deploy/gunicorn.conf.py plus that
hook); the slowest statements come from PostgreSQL's log, with log_min_duration_statement set on
this run's database only.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379. It creates
its own database (`headroom_load_<pid>`), media folder, Redis queue and port, and removes them and
stops every process it started at the end, on Ctrl-C or on failure too. Every request goes to
127.0.0.1 and the run is bounded in time. The bar: p95 under 100 ms with zero errors.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import machine

ROOT = Path(__file__).resolve().parent.parent

HOST = "127.0.0.1"
PG = "postgres://postgres@127.0.0.1:5432"
REDIS_PORT = 6379
PASSWORD = "headroom-demo"  # seed_demo's, given to the extra users too
BAR_P95_MS = 100.0
SLOW_QUERY_MS = 5
PG_LOG = Path("/var/log/postgresql/postgresql-15-main.log")


# --- the stack -----------------------------------------------------------------------------------


def _psql(sql: str, db: str = "postgres") -> None:
    subprocess.run(
        ["psql", "-h", HOST, "-U", "postgres", "-d", db, "-qc", sql],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _redis(db: int, *args: str) -> str:
    out = subprocess.run(
        ["redis-cli", "-h", HOST, "-p", str(REDIS_PORT), "-n", str(db), *args],
        capture_output=True,
        text=True,
        timeout=10,
    )
    return out.stdout.strip()


def _spare_redis_db() -> int:
    """An empty Redis database, from the top down (tests use 2..14 by pid, the default is 0)."""
    for db in range(15, 0, -1):
        if _redis(db, "dbsize") == "0":
            return db
    raise SystemExit("no empty Redis database to use")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """SIGTERM the whole process group (gunicorn's or celery's children too), then SIGKILL."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass


def _start(name: str, cmd: list[str], env: dict[str, str], work: Path) -> Proc:
    log = work / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Proc(name, proc, log)


def _wait_until(check: Callable[[], bool], proc: Proc, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{proc.output()[-3000:]}")
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {timeout:g} s:\n{proc.output()[-3000:]}")


def _web_up(base: str) -> bool:
    try:
        return requests.get(f"{base}/login/", timeout=2).status_code == 200
    except requests.RequestException:
        return False


# --- where the CPU went: this machine is shared, so the run says who else was busy ----------------

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> tuple[int, float] | None:
    """(process group, CPU seconds of the process and its reaped children), or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return int(fields[2]), (utime + stime + cutime + cstime) / CLK_TCK


def _group_cpu(pgid: int) -> float:
    """CPU seconds of a process group (gunicorn's master and workers, celery's pool)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = _proc_cpu(int(entry.name))
            if found is not None and found[0] == pgid:
                total += found[1]
    return total


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / CLK_TCK, sum(ticks) / CLK_TCK


def _postgres_pids(db_name: str) -> list[int]:
    """The PostgreSQL server's processes: its postmaster and every child (the backends of each
    connection, the writers). The postmaster's reaped-children time holds the backends that
    have ended, so a connection closed during the run (they live CONN_MAX_AGE) still counts."""
    # The checkpointer lives as long as the server (psql's own backend would end with psql).
    query = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'"
    out = subprocess.run(
        ["psql", "-h", HOST, "-U", "postgres", "-d", db_name, "-Atc", query],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    try:
        raw = Path(f"/proc/{int(out.stdout)}/stat").read_text()
    except (ValueError, OSError):
        return []
    postmaster = int(raw[raw.rindex(")") + 2 :].split()[1])
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == postmaster:
                children.append(int(entry.name))
    return [postmaster, *children]


@dataclass
class CpuSample:
    machine: tuple[float, float]
    web: float
    worker: float
    script: float
    postgres: dict[int, float]
    children: float  # this script's children that have ended (locust, once it has)
    locust: float  # locust's own, while it runs

    @classmethod
    def take(cls, web: Proc, worker: Proc, db_name: str, locust: int) -> CpuSample:
        t = os.times()
        running = _proc_cpu(locust)
        pg = {}
        for pid in _postgres_pids(db_name):
            found = _proc_cpu(pid)
            if found is not None:
                pg[pid] = found[1]
        return cls(
            machine=_machine_busy(),
            web=_group_cpu(web.proc.pid),
            worker=_group_cpu(worker.proc.pid),
            script=t.user + t.system,
            postgres=pg,
            children=t.children_user + t.children_system,
            locust=running[1] if running is not None else 0.0,
        )


def _cpu_report(before: CpuSample, after: CpuSample) -> None:
    busy = after.machine[0] - before.machine[0]
    available = after.machine[1] - before.machine[1]
    web = after.web - before.web
    worker = after.worker - before.worker
    script = after.script - before.script
    # The whole server's (an ended backend's time moves into its postmaster's): total to total.
    pg = sum(after.postgres.values()) - sum(before.postgres.values())
    # Locust has ended by the second sample: all it used, less what it had used by the first.
    users = max(0.0, after.children - before.children - before.locust)
    others = max(0.0, busy - web - worker - script - pg - users)
    print(
        f"CPU in the run, core-seconds: gunicorn {web:.1f}, Celery worker {worker:.1f}, "
        f"PostgreSQL {pg:.1f}, locust (the users) {users:.1f}, "
        f"this script {script:.1f}, everything else on the machine {others:.1f}; "
        f"busy {busy:.1f} of {available:.1f}"
    )


# --- the studio: seed_demo plus enough people and work for the run -------------------------------


@dataclass
class Studio:
    clients: list[str]
    engineers: list[str]
    managers: list[str]
    jobs: int
    stages: int


def _studio_setup(*, clients: int, engineers: int, managers: int, jobs_per_engineer: int) -> Studio:
    """Extra users and accepted jobs with the ORM (seed_demo made the demo studio). Each extra
    job is a copy of a demo job that intake measured (files, measurements, report, findings), so
    a client's page is as heavy as a real one; its six stages go to one engineer."""
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from analysis.models import FileAnalysis, IntakeFinding, IntakeReport
    from jobs.models import (
        DEFAULT_CHECKLISTS,
        STAGE_ORDER,
        AudioFile,
        EngineerProfile,
        EventKind,
        Job,
        JobEvent,
        JobStatus,
        Organisation,
        Role,
        Stage,
        User,
        Verdict,
    )
    from jobs.plan_store import plan_refresh
    from jobs.review.models import FilePeaks

    password = make_password(PASSWORD)  # one hash for every extra user: setup stays quick

    def users(role: str, demo: list[str], want: int, prefix: str) -> list[User]:
        found = list(User.objects.filter(username__in=demo).order_by("username"))
        for n in range(want - len(found)):
            org = (
                Organisation.objects.create(name=f"Load {prefix} {n + 1:02d}")
                if (role == Role.CLIENT)
                else None
            )
            user = User.objects.create(
                username=f"load-{prefix}-{n + 1:02d}",
                role=role,
                organisation=org,
                first_name=prefix.title(),
                last_name=f"{n + 1:02d}",
                password=password,
            )
            if role == Role.ENGINEER:
                EngineerProfile.objects.create(user=user)
            if role == Role.MANAGER:  # the studio policy lives in the admin
                User.objects.filter(pk=user.pk).update(is_staff=True, is_superuser=True)
            found.append(user)
        return found[:want]

    client_users = users(Role.CLIENT, ["nova", "echo"], clients, "client")
    engineer_users = users(Role.ENGINEER, ["ada", "ben"], engineers, "engineer")
    manager_users = users(Role.MANAGER, ["manager"], managers, "manager")

    template = (
        Job.objects.filter(intake_reports__isnull=False, files__analysis__isnull=False)
        .order_by("created_at")
        .distinct()
        .first()
    )
    assert template is not None, "seed_demo made no measured job to copy"
    files = list(template.files.filter(is_current=True).select_related("analysis"))
    # The waveform peaks the measuring pipeline keeps beside each measured file: without them
    # the peaks view would rebuild each waveform from its report on every request.
    peaks = {p.audio_file_id: p for p in FilePeaks.objects.filter(audio_file__in=files)}
    report = template.intake_reports.order_by("-created_at").first()
    assert report is not None
    findings = list(report.findings.all())

    now = timezone.now()
    made = 0
    for index in range(engineers * jobs_per_engineer):
        engineer = engineer_users[index % engineers]
        owner = client_users[index % clients]
        assert owner.organisation_id is not None
        job = Job.objects.create(
            organisation_id=owner.organisation_id,
            created_by=owner,
            track_title=f"Load Song {index + 1:03d}",
            artist=owner.get_full_name(),
            status=JobStatus.ACCEPTED,
            verdict=Verdict.ACCEPTED,
            submitted_at=now - timedelta(hours=2),
            accepted_at=now - timedelta(hours=1),
            promise_days=3,
            due_at=now + timedelta(hours=12 + 7 * (index % 9)),
        )
        copies = AudioFile.objects.bulk_create(
            AudioFile(
                job=job,
                kind=f.kind,
                original_name=f.original_name,
                file=f.file.name,
                sha256=f.sha256,
                size_bytes=f.size_bytes,
                uploaded_by=owner,
                uploaded_at=f.uploaded_at,
            )
            for f in files
        )
        FileAnalysis.objects.bulk_create(
            FileAnalysis(
                audio_file=copy,
                status=f.analysis.status,
                attempts=f.analysis.attempts,
                claimed_at=f.analysis.claimed_at,
                finished_at=f.analysis.finished_at,
                report=f.analysis.report,
                summary=f.analysis.summary,
            )
            for copy, f in zip(copies, files, strict=True)
            if hasattr(f, "analysis")
        )
        FilePeaks.objects.bulk_create(
            FilePeaks(audio_file=copy, data=peaks[f.pk].data, overview=peaks[f.pk].overview)
            for copy, f in zip(copies, files, strict=True)
            if f.pk in peaks
        )
        copy_report = IntakeReport.objects.create(
            job=job, verdict=report.verdict, summary=report.summary
        )
        IntakeFinding.objects.bulk_create(
            IntakeFinding(
                report=copy_report,
                code=f.code,
                severity=f.severity,
                message=f.message,
                file_name=f.file_name,
                at_s=f.at_s,
            )
            for f in findings
        )
        JobEvent.objects.bulk_create(
            [
                JobEvent(job=job, kind=EventKind.STATUS, actor=owner, to_value=JobStatus.DRAFT),
                JobEvent(job=job, kind=EventKind.VERDICT, to_value=Verdict.ACCEPTED),
                JobEvent(
                    job=job,
                    kind=EventKind.STATUS,
                    from_value=JobStatus.ANALYSING,
                    to_value=JobStatus.ACCEPTED,
                ),
            ]
        )
        Stage.objects.bulk_create(
            Stage(
                job=job,
                kind=kind,
                position=position,
                assignee=engineer,
                checklist=[{"item": item, "done": False} for item in DEFAULT_CHECKLISTS[kind]],
            )
            for position, kind in enumerate(STAGE_ORDER)
        )
        made += 1
    plan_refresh()
    return Studio(
        clients=[u.username for u in client_users],
        engineers=[u.username for u in engineer_users],
        managers=[u.username for u in manager_users],
        jobs=Job.objects.count(),
        stages=Stage.objects.count(),
    )


def _sessions(studio: Studio) -> dict[str, str]:
    """A logged-in session per account, made the way Django's login makes one."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from jobs.models import User

    engine = import_module(settings.SESSION_ENGINE)
    names = [*studio.clients, *studio.engineers, *studio.managers]
    out: dict[str, str] = {}
    for user in User.objects.filter(username__in=names):
        session = engine.SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "studio.login.UserBackend"  # as a login makes it
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        out[user.username] = str(session.session_key)
    return out


# --- what the run measured -----------------------------------------------------------------------


def _stats(csv_prefix: Path) -> list[dict[str, str]]:
    path = Path(f"{csv_prefix}_stats.csv")
    if not path.exists():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


def _cpu_by_kind(log: Path) -> dict[str, tuple[int, float]]:
    """(requests, CPU ms) per page kind, from the gunicorn hook's log (bench/gunicorn_load.py)."""
    out: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    if log.exists():
        for line in log.read_text(errors="replace").splitlines():
            kind, _, ms = line.rpartition("\t")
            try:
                out[kind][0] += 1
                out[kind][1] += float(ms)
            except ValueError:
                continue
    return {k: (int(v[0]), v[1]) for k, v in out.items()}


LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
DURATION = re.compile(r"duration: ([\d.]+) ms\s+(?:statement|execute [^:]*): (.*)")


def _slow_queries(log: Path, offset: int, db_name: str, top: int = 8) -> list[str]:
    """The slowest statements of the run from PostgreSQL's log (log_min_duration_statement is
    set on this run's database only), grouped with their literals taken out."""
    try:
        with log.open("rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError as exc:
        return [f"(PostgreSQL's log could not be read: {exc})"]
    groups: dict[str, list[float]] = defaultdict(list)
    for line in text.splitlines():
        if f"@{db_name} " not in line:
            continue
        found = DURATION.search(line)
        if found:
            groups[LITERALS.sub("?", found.group(2))[:160]].append(float(found.group(1)))
    ranked = sorted(groups.items(), key=lambda kv: -sum(kv[1]))[:top]
    return [
        f"{len(ms):5d} x  max {max(ms):7.1f} ms  total {sum(ms):8.1f} ms  {sql}"
        for sql, ms in ranked
    ]


def _report(
    rows: list[dict[str, str]],
    cpu: dict[str, tuple[int, float]],
    elapsed: float,
    bar_ms: float,
    errors_only: bool,
) -> bool:
    print(f"\n{'page kind':<34} {'requests':>8} {'errors':>6} {'p50':>6} {'p95':>6} {'p99':>6}"
          f" {'CPU ms/req':>10}")  # fmt: skip
    total = next((r for r in rows if r["Name"] == "Aggregated"), None)
    for r in rows:
        name = r["Name"]
        if name == "Aggregated":
            continue
        done, ms = cpu.get(name, (0, 0.0))
        per = f"{ms / done:10.1f}" if done else f"{'-':>10}"
        print(f"{name:<34} {r['Request Count']:>8} {r['Failure Count']:>6} {r['50%']:>6}"
              f" {r['95%']:>6} {r['99%']:>6} {per}")  # fmt: skip
    if total is None or int(total["Request Count"]) == 0:
        print("no request was made")
        return False
    requests_ = int(total["Request Count"])
    errors = int(total["Failure Count"])
    p95 = float(total["95%"])
    print(f"{'all (logins included)':<34} {requests_:>8} {errors:>6} {total['50%']:>6}"
          f" {total['95%']:>6} {total['99%']:>6}")  # fmt: skip
    print(f"throughput: {requests_ / elapsed:.1f} requests/s over {elapsed:.1f} s (ms columns)")
    met = errors == 0 and p95 < bar_ms
    print(f"bar: p95 {p95:.0f} ms < {bar_ms:.0f} ms with zero errors ({errors} errors): "
          f"{'PASS' if met else 'FAIL'}")  # fmt: skip
    return errors == 0 if errors_only else met


# --- the run -------------------------------------------------------------------------------------


@contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C, so the clean-up below runs either way."""

    def raise_interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=300, help="concurrent users")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds between actions")
    parser.add_argument("--spawn-rate", type=float, default=0.0, help="users started a second")
    parser.add_argument(
        "--settle",
        type=float,
        default=20.0,
        help="seconds after the ramp before measuring (the arrivals' queue clears)",
    )
    parser.add_argument("--jobs-per-engineer", type=int, default=4)
    parser.add_argument("--bar-ms", type=float, default=BAR_P95_MS, help="p95 bar")
    parser.add_argument(
        "--errors-only",
        action="store_true",
        help="fail on errors only (the short mode on a busy machine: the bar is printed)",
    )
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (0: a free one)")
    parser.add_argument(
        "--login",
        choices=("form", "session"),
        default=None,
        help="form: every user logs in through the login form (a deliberate PBKDF2 hash each); "
        "session: users arrive logged in, as people do most days (default past 50 users)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the logs folder")
    args = parser.parse_args(argv)
    if args.users < 1 or args.duration <= 0:
        parser.error("the run needs users and a duration")
    if args.duration > 3600:
        parser.error("--duration is capped at an hour")
    # Users by role as the locustfile weighs them (6 : 3 : 1); accounts are shared past that.
    clients = max(2, args.users * 6 // 10)
    engineers = max(2, args.users * 3 // 10)
    managers = max(1, args.users // 10)
    spawn = args.spawn_rate or max(1.0, args.users / 10)

    pid = os.getpid()
    db_name = f"headroom_load_{pid}"
    work = Path(tempfile.mkdtemp(prefix="headroom-load-"))
    redis_db = _spare_redis_db()
    queue = f"load-{pid}"
    port = args.port or _free_port()
    base = f"http://{HOST}:{port}"
    cpu_log = work / "cpu.tsv"
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG}/{db_name}",
        "MEDIA_ROOT": str(work / "media"),
        "DEBUG": "false",
        "ALLOWED_HOSTS": HOST,
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "studio.settings",
    }
    for name in ("CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER", "HEADROOM_PRODUCTION"):
        env.pop(name, None)
    # The stack proper: tasks through Redis to the worker, the cache (login throttle) in Redis.
    stack_env = {
        **env,
        "CELERY_BROKER_URL": f"redis://{HOST}:{REDIS_PORT}/{redis_db}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "GUNICORN_BIND": f"{HOST}:{port}",
        "HEADROOM_LOAD_CPU_LOG": str(cpu_log),
    }
    procs: list[Proc] = []
    created_db = False
    ok = False
    with _interruptible():
        try:
            _psql(f"CREATE DATABASE {db_name}")
            created_db = True
            t = time.perf_counter()
            py = str(ROOT / ".venv/bin/python")
            subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
            # seed_demo measures its audio in process (no broker in this environment).
            seeded = subprocess.run(
                [py, "manage.py", "seed_demo"], cwd=ROOT, env=env, capture_output=True, text=True
            )
            if seeded.returncode != 0:
                print(f"seed_demo failed:\n{(seeded.stdout + seeded.stderr)[-4000:]}")
                return 1
            os.environ.update(stack_env)
            import django

            django.setup()
            studio = _studio_setup(
                clients=clients,
                engineers=engineers,
                managers=managers,
                jobs_per_engineer=args.jobs_per_engineer,
            )
            from django.db import connections

            connections.close_all()
            users_file = work / "users.json"
            login = args.login or ("form" if args.users <= 50 else "session")
            people = {"client": studio.clients, "engineer": studio.engineers,
                      "manager": studio.managers}  # fmt: skip
            sessions = _sessions(studio) if login == "session" else {}
            users_file.write_text(json.dumps({**people, "sessions": sessions}))
            # The statistics autovacuum would have gathered by now on a studio's server (this
            # machine's PostgreSQL runs without it): without them the planner guesses three
            # running jobs and walks every stage.
            _psql("ANALYZE", db=db_name)
            _psql(f"ALTER DATABASE {db_name} SET log_min_duration_statement = {SLOW_QUERY_MS}")
            print(machine.line())
            print(
                f"set up in {time.perf_counter() - t:.1f} s: database {db_name}, "
                f"{studio.jobs} jobs, {studio.stages} stages, {len(studio.clients)} clients, "
                f"{len(studio.engineers)} engineers, {len(studio.managers)} managers; "
                f"Redis db {redis_db}, port {port}"
            )

            web = _start(
                "gunicorn",
                [str(ROOT / ".venv/bin/gunicorn"), "-c", "bench/gunicorn_load.py", "studio.wsgi"],
                stack_env,
                work,
            )
            procs.append(web)
            worker = _start(
                "celery",
                [
                    str(ROOT / ".venv/bin/celery"), "-A", "studio", "worker", "-P", "prefork",
                    "-c", "1", "--without-heartbeat", "--without-gossip", "--without-mingle",
                    "-Q", queue, "-n", f"load-{pid}@%h", "-l", "info",
                ],
                stack_env,
                work,
            )  # fmt: skip
            procs.append(worker)
            _wait_until(lambda: _web_up(base), web, 60, "gunicorn")
            _wait_until(lambda: "ready." in worker.output(), worker, 90, "the Celery worker")
            ramp = args.users / spawn
            print(f"gunicorn and one Celery worker up ({base}); {args.users} users for "
                  f"{args.duration:g} s after a {ramp:.0f} s ramp and {args.settle:g} s to settle "
                  f"({login} logins, not counted), {args.think:g} s think time")  # fmt: skip

            pg_log_offset = PG_LOG.stat().st_size if PG_LOG.exists() else 0
            locust_env = {
                **env,
                "HEADROOM_LOAD_USERS": str(users_file),
                "HEADROOM_LOAD_THINK": str(args.think),
                "HEADROOM_LOAD_SETTLE": str(args.settle),
            }
            # Locust resets its statistics once every user has started (and logged in), and
            # again once the queue their arrival made has cleared (--settle): the figures, like
            # the CPU samples taken then, cover the steady state only.
            running = subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/locust"), "-f", str(ROOT / "bench/locustfile.py"),
                    "--headless", "--host", base, "-u", str(args.users), "-r", f"{spawn:g}",
                    "-t", f"{args.duration + ramp + args.settle:g}s", "--stop-timeout", "10",
                    "--csv", str(work / "stats"), "--only-summary", "--loglevel", "WARNING",
                    "--reset-stats",
                ],
                cwd=ROOT, env=locust_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
            time.sleep(ramp + args.settle)
            cpu_log.write_text("")  # the requests of the run only, not the ramp nor the settling
            load_before = os.getloadavg()[0]
            cpu_before = CpuSample.take(web, worker, db_name, running.pid)
            start = time.monotonic()
            try:
                output, _ = running.communicate(timeout=args.duration + 120)
            except subprocess.TimeoutExpired:
                running.kill()
                output, _ = running.communicate()
            ran = subprocess.CompletedProcess(running.args, running.returncode, output, "")
            elapsed = time.monotonic() - start
            cpu_after = CpuSample.take(web, worker, db_name, running.pid)
            rows = _stats(work / "stats")
            ok = (
                _report(rows, _cpu_by_kind(cpu_log), elapsed, args.bar_ms, args.errors_only)
                and ran.returncode == 0
            )
            failures = Path(f"{work / 'stats'}_failures.csv")
            if failures.exists() and len(failures.read_text().splitlines()) > 1:
                print("failures:\n" + "\n".join(failures.read_text().splitlines()[1:11]))
            # The locustfile's whole-run tally (it exits 1 then, which fails the run above).
            for line in (ran.stdout or "").splitlines():
                if line.startswith("failed requests in the whole run"):
                    print(line)
            if ran.returncode != 0:
                print(f"locust exited {ran.returncode}: {(ran.stderr or ran.stdout)[-2000:]}")
            print(f"load average (1 min) before the run: {load_before:.2f}")
            _cpu_report(cpu_before, cpu_after)
            # The same loop as before the run: a machine shared with others can slow down
            # during a run, and every figure above with it.
            print(f"after the run, {machine.line()}")
            print(f"slowest statements (over {SLOW_QUERY_MS} ms, PostgreSQL's log):")
            for line in _slow_queries(PG_LOG, pg_log_offset, db_name) or ["  none"]:
                print(f"  {line}")
            server_errors = web.output().count("Traceback")
            worker_errors = worker.output().count("Traceback")
            if server_errors or worker_errors:
                print(f"tracebacks: {server_errors} in gunicorn's log, "
                      f"{worker_errors} in the worker's")  # fmt: skip
                for proc in (web, worker):
                    text = proc.output()
                    if "Traceback" in text:
                        first = text[max(0, text.index("Traceback") - 400) :]
                        print(f"first traceback in {proc.name}'s log:\n{first[:5000]}")
                ok = False
        except KeyboardInterrupt:
            print("\ninterrupted: stopping everything this script started")
        finally:
            for proc in reversed(procs):
                proc.stop()
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # django may not be set up yet
                pass
            # Our queue, the broker's bookkeeping for it, the cache (sessions, login counts,
            # re-plan mark) and the shared fragments; the database was empty when this run
            # chose it.
            keys = [queue, "unacked", "unacked_index", "unacked_mutex"]
            for pattern in (f"*{queue}*", "_kombu.binding*", ":1:*", "fragment:*"):
                keys += _redis(redis_db, "--scan", "--pattern", pattern).split()
            _redis(redis_db, "del", *keys)
            if created_db:
                _psql(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
            if args.keep:
                print(f"logs kept in {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
