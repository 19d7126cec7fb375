"""Load: 50 concurrent users against the real stack on loopback (gunicorn, PostgreSQL, Redis, one
Celery worker). Prints throughput, p50/p95/p99 latency per page kind and overall, and errors.

    .venv/bin/python bench/load.py                     # 30 clients, 15 engineers, 5 managers, 60 s
    .venv/bin/python bench/load.py --duration 20 --think 1.0

Each user logs in through the real login form (CSRF token and all), then works like a person with
a few seconds between actions (`--think`): clients poll their job page and the intake region
(htmx), engineers load their queue and start or finish their next stage through the stage
endpoints (htmx), managers load the job list and open a job. Logins are timed but kept out of the
bar: they cost one PBKDF2 hash each, which is the point of a password hasher.

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379. It creates
its own database (`headroom_load_<pid>`), media folder, Redis queue and port, and removes them and
stops every process it started at the end, on Ctrl-C or on failure too. Every request goes to
127.0.0.1 and every loop is bounded in time and in count. The bar (reliability.md): p95 below
200 ms for pages at 50 concurrent users on this 2-core machine, with zero errors.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
PG = "postgres://postgres@127.0.0.1:5432"
REDIS_PORT = 6379
PASSWORD = "headroom-demo"  # seed_demo's, given to the extra users too
BAR_P95_S = 0.200
REQUEST_TIMEOUT_S = 30.0
JOB_LINK = re.compile(r'href="/jobs/([0-9a-f-]{36})/"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
MOVE_FORM = re.compile(r'hx-post="/stages/(\d+)/(start|finish)/"')
SESSION_FORM = re.compile(r'hx-post="/sessions/(\d+)/tick/"')
LISTEN_FORM = re.compile(r'hx-post="/desk/stages/(\d+)/listen/"')


# --- the stack -----------------------------------------------------------------------------------


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", HOST, "-U", "postgres", "-d", "postgres", "-qc", sql],
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
    out = subprocess.run(
        ["psql", "-h", HOST, "-U", "postgres", "-d", "postgres", "-Atc",
         f"SELECT pid FROM pg_stat_activity WHERE datname = '{db_name}'"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return [int(x) for x in out.stdout.split()]


@dataclass
class CpuSample:
    machine: tuple[float, float]
    web: float
    worker: float
    script: float
    postgres: dict[int, float]

    @classmethod
    def take(cls, web: Proc, worker: Proc, db_name: str) -> CpuSample:
        t = os.times()
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
        )


def _cpu_report(before: CpuSample, after: CpuSample) -> None:
    busy = after.machine[0] - before.machine[0]
    available = after.machine[1] - before.machine[1]
    web = after.web - before.web
    worker = after.worker - before.worker
    script = after.script - before.script
    pg = sum(v - before.postgres.get(pid, 0.0) for pid, v in after.postgres.items())
    others = max(0.0, busy - web - worker - script - pg)
    print(
        f"CPU in the run, core-seconds: gunicorn {web:.1f}, Celery worker {worker:.1f}, "
        f"PostgreSQL (this database) {pg:.1f}, this script {script:.1f}, "
        f"everything else on the machine {others:.1f}; busy {busy:.1f} of {available:.1f}"
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
            )
            for copy, f in zip(copies, files, strict=True)
            if hasattr(f, "analysis")
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


# --- the users -----------------------------------------------------------------------------------


@dataclass
class Results:
    """Every timed request, by page kind; errors with what went wrong (the first few kept)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)

    def record(self, kind: str, seconds: float, problem: str = "") -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if problem:
                self.errors[kind] += 1
                if len(self.examples) < 10:
                    self.examples.append(f"{kind}: {problem}")


class Stop(Exception):
    """The run is over (time is up, the request budget is spent, or Ctrl-C)."""


@dataclass
class Person:
    username: str
    role: str
    base: str
    results: Results
    stop: threading.Event
    deadline: float
    think: float
    max_requests: int
    rng: random.Random
    session: requests.Session = field(default_factory=requests.Session)
    requests_made: int = 0
    csrf: str = ""
    job_ids: list[str] = field(default_factory=list)
    moves: int = 0

    def _url(self, path: str) -> str:
        assert path.startswith("/")
        url = self.base + path
        assert url.startswith(f"http://{HOST}:"), url  # loopback only
        return url

    def request(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        expect: int = 200,
        htmx: bool = False,
        data: dict[str, str] | None = None,
        timed: bool = True,
    ) -> requests.Response | None:
        if self.stop.is_set() or time.monotonic() >= self.deadline:
            raise Stop
        if self.requests_made >= self.max_requests:
            raise Stop
        self.requests_made += 1
        # One connection per request, as nginx talks to gunicorn (HTTP/1.0 upstream); reusing an
        # idle keep-alive connection races gunicorn closing it after its 2 s keep-alive.
        headers = {"Connection": "close"}
        if htmx:
            headers["HX-Request"] = "true"
        if method == "POST" and self.csrf:
            headers["X-CSRFToken"] = self.csrf
        start = time.perf_counter()
        try:
            response = self.session.request(
                method,
                self._url(path),
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=REQUEST_TIMEOUT_S,
            )
        except requests.RequestException as exc:
            self.results.record(kind, time.perf_counter() - start, f"{path}: {exc!r}")
            return None
        elapsed = time.perf_counter() - start
        problem = "" if response.status_code == expect else f"{path}: HTTP {response.status_code}"
        if timed or problem:
            self.results.record(kind, elapsed, problem)
        if not problem:
            token = CSRF_HEADER.search(response.text)
            if token:
                self.csrf = token.group(1)
        return None if problem else response

    def pause(self, scale: float = 1.0) -> None:
        """Think time: uniform around `think`, so users do not march in step."""
        wait_s = self.think * scale * self.rng.uniform(0.5, 1.5)
        if self.stop.wait(min(wait_s, max(0.0, self.deadline - time.monotonic()))):
            raise Stop

    def log_in(self) -> bool:
        """The real form: GET for the CSRF token and cookie, POST the credentials once (a wrong
        guess would count towards the throttle, so there is no retry)."""
        page = self.request("login", "GET", "/login/", timed=False)
        if page is None:
            return False
        token = CSRF_INPUT.search(page.text)
        if token is None:
            self.results.record("login", 0.0, "no CSRF token on the login form")
            return False
        done = self.request(
            "login",
            "POST",
            "/login/",
            expect=302,
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": self.username,
                "password": PASSWORD,
                "next": "",
            },
        )
        if done is None or done.headers.get("Location") != "/":
            if done is not None:
                self.results.record("login", 0.0, f"redirected to {done.headers.get('Location')}")
            return False
        # An engineer's "/" is the desk (a redirect); the job list is /jobs/all/ for them.
        home_path = "/jobs/all/" if self.role == "engineer" else "/"
        home = self.request("login", "GET", home_path, timed=False)
        if home is None:
            return False
        self.job_ids = list(dict.fromkeys(JOB_LINK.findall(home.text)))
        return True

    def run(self) -> None:
        try:
            self.pause(scale=self.rng.random())  # arrive spread over one think time
            while True:
                {"client": self._client, "engineer": self._engineer, "manager": self._manager}[
                    self.role
                ]()
        except Stop:
            pass
        finally:
            self.session.close()

    def _client(self) -> None:
        job = self.rng.choice(self.job_ids)
        self.request("client: job page", "GET", f"/jobs/{job}/")
        self.pause()
        self.request("client: intake poll (htmx)", "GET", f"/jobs/{job}/intake/", htmx=True)
        self.pause()

    def _desk(self) -> bool:
        """The desk, and the listening session's poll while one runs (stopped before a move:
        a stage cannot finish while someone listens on it). True while a session runs."""
        desk = self.request("engineer: desk", "GET", "/desk/")
        self.pause(0.5)
        if desk is None:
            return False
        running = SESSION_FORM.search(desk.text)
        if running:
            session = running.group(1)
            for _ in range(2):
                self.request(
                    "engineer: session poll (htmx)",
                    "POST",
                    f"/sessions/{session}/tick/",
                    htmx=True,
                )
                self.pause(0.5)
            self.request(
                "engineer: session stop (htmx)", "POST", f"/sessions/{session}/stop/", htmx=True
            )
            return False
        listen = LISTEN_FORM.search(desk.text)
        if listen and self.rng.random() < 0.5:
            self.request(
                "engineer: session start (htmx)",
                "POST",
                f"/desk/stages/{listen.group(1)}/listen/",
                htmx=True,
            )
            return True
        return False

    def _engineer(self) -> None:
        if self._desk():
            self.pause()
            return  # listening: the next round polls, stops, then moves the stage
        page = self.request("engineer: queue", "GET", "/queue/")
        self.pause()
        if page is None:
            return
        forms = MOVE_FORM.findall(page.text)
        # Finish what is running before starting the next stage, like a person would.
        move = next((f for f in forms if f[1] == "finish"), forms[0] if forms else None)
        if move is None:
            return
        stage_id, action = move
        row = self.request(
            "engineer: stage move (htmx)", "POST", f"/stages/{stage_id}/{action}/", htmx=True
        )
        if row is not None:
            if not row.text.lstrip().startswith(f'<tr id="stage-{stage_id}"'):
                self.results.record("engineer: stage move (htmx)", 0.0, "the answer is no row")
            else:
                self.moves += 1
        self.pause()

    def _manager(self) -> None:
        page = self.request("manager: job list", "GET", "/")
        self.pause()
        if page is None:
            return
        ids = JOB_LINK.findall(page.text)
        if ids:
            self.request("manager: job page", "GET", f"/jobs/{self.rng.choice(ids)}/")
            self.pause()
        self.request("manager: board", "GET", "/board/")
        self.pause()
        self.request("manager: board filter (htmx)", "GET", "/board/?state=at_risk", htmx=True)
        self.pause()
        self.request("manager: workload", "GET", "/workload/")
        self.pause()


# --- figures -------------------------------------------------------------------------------------


def _pct(sorted_s: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_s:
        return float("nan")
    rank = max(1, min(len(sorted_s), round(p / 100 * len(sorted_s) + 0.5)))
    return sorted_s[rank - 1]


def _line(kind: str, times: list[float], errors: int, elapsed: float) -> str:
    s = sorted(times)
    ms = [1000 * _pct(s, p) for p in (50, 95, 99)]
    top = 1000 * s[-1] if s else float("nan")
    return (
        f"{kind:<30} {len(s):>6} {len(s) / elapsed:>7.1f} {ms[0]:>7.1f} {ms[1]:>7.1f} "
        f"{ms[2]:>7.1f} {top:>7.1f} {errors:>6}"
    )


def _report(results: Results, logins: Results, elapsed: float, users: int, think: float) -> bool:
    header = (
        f"{'page kind':<30} {'count':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'errors':>6}"
    )
    print(f"\n{users} concurrent users for {elapsed:.1f} s (think time ~{think:g} s)")
    print(header)
    print("-" * len(header))
    every: list[float] = []
    errors = 0
    for kind in sorted(results.times):
        times = results.times[kind]
        every += times
        errors += results.errors[kind]
        print(_line(kind, times, results.errors[kind], elapsed))
    print("-" * len(header))
    print(_line("all pages", every, errors, elapsed))
    login_times = logins.times.get("login", [])
    login_errors = sum(logins.errors.values())
    print(_line("login (setup, not in the bar)", login_times, login_errors, elapsed))
    for example in results.examples + logins.examples:
        print(f"  error: {example}")
    p95 = _pct(sorted(every), 95)
    ok = bool(every) and p95 < BAR_P95_S and errors == 0 and login_errors == 0
    print(
        f"bar: p95 {1000 * p95:.1f} ms < {1000 * BAR_P95_S:.0f} ms with zero errors "
        f"({errors + login_errors} errors): {'PASS' if ok else 'FAIL'}"
    )
    return ok


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


def _drive(
    people: list[Person], stop: threading.Event, pool_size: int, budget_s: float
) -> list[Future[Any]]:
    pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="user")
    futures = [pool.submit(p.run) for p in people]
    try:
        end = time.monotonic() + budget_s
        pending = set(futures)
        while pending and time.monotonic() < end:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
            for f in done:
                f.result()  # a bug in this script should stop the run, not hide
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
    return futures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--clients", type=int, default=30)
    parser.add_argument("--engineers", type=int, default=15)
    parser.add_argument("--managers", type=int, default=5)
    parser.add_argument(
        "--think", type=float, default=2.0, help="mean seconds between a user's requests"
    )
    parser.add_argument("--jobs-per-engineer", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=5000, help="per user")
    parser.add_argument("--keep", action="store_true", help="keep the logs folder")
    args = parser.parse_args()
    if min(args.clients, args.engineers, args.managers) < 1 or args.duration <= 0:
        parser.error("every role needs a user and the run needs a duration")
    if args.duration > 3600:
        parser.error("--duration is capped at an hour")

    pid = os.getpid()
    db_name = f"headroom_load_{pid}"
    work = Path(tempfile.mkdtemp(prefix="headroom-load-"))
    redis_db = _spare_redis_db()
    queue = f"load-{pid}"
    port = _free_port()
    base = f"http://{HOST}:{port}"
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
                clients=args.clients,
                engineers=args.engineers,
                managers=args.managers,
                jobs_per_engineer=args.jobs_per_engineer,
            )
            from django.db import connections

            connections.close_all()
            print(
                f"set up in {time.perf_counter() - t:.1f} s: database {db_name}, "
                f"{studio.jobs} jobs, {studio.stages} stages, {len(studio.clients)} clients, "
                f"{len(studio.engineers)} engineers, {len(studio.managers)} managers; "
                f"Redis db {redis_db}, port {port}"
            )

            web = _start(
                "gunicorn",
                [str(ROOT / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py", "studio.wsgi"],
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
            _wait_until(lambda: _web_up(base), web, 30, "gunicorn")
            _wait_until(lambda: "ready." in worker.output(), worker, 60, "the Celery worker")
            print(f"gunicorn and one Celery worker up ({base}); logging in")

            stop = threading.Event()
            logins = Results()
            results = Results()
            seed = random.Random(pid)
            people = [
                Person(
                    username=name,
                    role=role,
                    base=base,
                    results=results,
                    stop=stop,
                    deadline=0.0,
                    think=args.think,
                    max_requests=args.max_requests,
                    rng=random.Random(seed.random()),
                )
                for role, names in (
                    ("client", studio.clients),
                    ("engineer", studio.engineers),
                    ("manager", studio.managers),
                )
                for name in names
            ]
            # Logins before the clock starts, a few at a time: each is a deliberate ~0.3 s hash.
            for p in people:
                p.results, p.deadline = logins, time.monotonic() + 120
            pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="login")
            try:
                logged_in = list(pool.map(lambda p: p.log_in(), people))
            except BaseException:
                stop.set()  # Ctrl-C: the logins still queued give up at once
                raise
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            if not all(logged_in):
                failed = [p.username for p, ok_ in zip(people, logged_in, strict=True) if not ok_]
                print(f"log-in failed for {failed}:")
                for example in logins.examples:
                    print(f"  {example}")
                return 1
            missing = [p.username for p in people if p.role == "client" and not p.job_ids]
            if missing:
                print(f"clients without jobs: {missing}")
                return 1

            print(f"all {len(people)} logged in; driving them for {args.duration:g} s")
            load_before = os.getloadavg()[0]
            cpu_before = CpuSample.take(web, worker, db_name)
            start = time.monotonic()
            for p in people:
                p.results, p.deadline = results, start + args.duration
            _drive(people, stop, len(people), args.duration + REQUEST_TIMEOUT_S + 5)
            elapsed = time.monotonic() - start
            cpu_after = CpuSample.take(web, worker, db_name)
            ok = _report(results, logins, elapsed, len(people), args.think)
            print(f"load average (1 min) before the run: {load_before:.2f}")
            _cpu_report(cpu_before, cpu_after)
            moves = sum(p.moves for p in people)
            print(f"stage moves made: {moves}")
            server_errors = web.output().count("Traceback")
            worker_errors = worker.output().count("Traceback")
            if server_errors or worker_errors:
                print(
                    f"tracebacks: {server_errors} in gunicorn's log, "
                    f"{worker_errors} in the worker's"
                )
                for proc in (web, worker):
                    text = proc.output()
                    if "Traceback" in text:
                        first = text[max(0, text.index("Traceback") - 400) :]
                        print(f"first traceback in {proc.name}'s log:\n{first[:5000]}")
                ok = False
            replans = worker.output().count("jobs.plan_refresh") // 2
            print(f"re-plans run by the worker: ~{replans}")
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
            # Our queue, the broker's bookkeeping for it, and the cache (login counts, re-plan
            # mark); the database was empty when this run chose it.
            keys = [queue, "unacked", "unacked_index", "unacked_mutex"]
            for pattern in (f"*{queue}*", "_kombu.binding*", ":1:*"):
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
