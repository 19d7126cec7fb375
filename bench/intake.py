"""Benchmark: a 10-stem job of 5-minute stems, from submission to verdict, on the real stack
(PostgreSQL, Redis, one Celery worker with two prefork processes). Prints the time.

    .venv/bin/python bench/intake.py                  # 10 stems x 5 min, 2 worker processes
    .venv/bin/python bench/intake.py --stems 4 --minutes 1

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379. It creates
its own database and media folder and removes them afterwards. The bar is a verdict within 60 s
of submission on this 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INSTRUMENTS = [
    "Lead Vocal",
    "Bass",
    "Kick",
    "Snare",
    "Drums",
    "Guitar",
    "Guitar 2",
    "Keys",
    "Pad",
    "Backing Vocals",
    "Strings",
    "FX",
]
RATE = 48000


def _stem_signal(seconds: float, seed: int) -> np.ndarray:
    """Music-like enough: band-limited noise with a slow envelope, stereo, peaking near -8 dBFS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    envelope = 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * (0.2 + 0.05 * seed) * t))
    left = rng.standard_normal(n).astype(np.float32)
    right = (0.7 * left + 0.3 * rng.standard_normal(n)).astype(np.float32)
    sig = np.stack([left, right], axis=1) * (0.08 * envelope[:, None]).astype(np.float32)
    return np.clip(sig, -0.4, 0.4)


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql],
        check=True,
        capture_output=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stems", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()

    db_name = f"headroom_bench_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="headroom-bench-"))
    media = work / "media"
    queue = f"bench-{os.getpid()}"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db_name}",
        "CELERY_BROKER_URL": args.broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "MEDIA_ROOT": str(media),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "studio.settings",
    }
    os.environ.update(env)
    worker: subprocess.Popen[bytes] | None = None
    _psql(f"CREATE DATABASE {db_name}")
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        import django

        django.setup()
        from django.db import transaction

        from analysis.models import FileAnalysis, IntakeReport
        from analysis.services import intake_start
        from jobs.models import FileKind, JobStatus, Organisation, Role, User
        from jobs.services import job_submit
        from jobs.uploads import audio_file_add

        org = Organisation.objects.create(name="Bench Records")
        client = User.objects.create(username="bench", role=Role.CLIENT, organisation=org)
        from jobs.models import Job

        job = Job.objects.create(
            organisation=org, created_by=client, track_title="Bench Song", artist="Bench"
        )
        seconds = args.minutes * 60
        t = time.perf_counter()
        mix = None
        src = work / "src"
        src.mkdir()
        for i in range(args.stems):
            name = f"{INSTRUMENTS[i % len(INSTRUMENTS)]} - Bench Song.wav"
            sig = _stem_signal(seconds, i)
            mix = sig.copy() if mix is None else mix + sig
            path = src / f"{i}.wav"
            sf.write(path, sig, RATE, subtype="PCM_24")
            del sig
            with path.open("rb") as fh:
                audio_file_add(job=job, content=fh, name=name, kind=FileKind.STEM, by=client)
            path.unlink()
        assert mix is not None
        mix_path = src / "rough.wav"
        sf.write(mix_path, np.clip(mix / max(1.0, float(np.abs(mix).max()) / 0.9), -1, 1), RATE,
                 subtype="PCM_24")  # fmt: skip
        del mix
        with mix_path.open("rb") as fh:
            audio_file_add(
                job=job, content=fh, name="Rough.wav", kind=FileKind.ROUGH_MIX, by=client
            )
        mix_path.unlink()
        total_mb = sum(f.size_bytes for f in job.files.all()) / 1e6
        print(
            f"prepared {args.stems} stems x {args.minutes:g} min + rough mix "
            f"({total_mb:.0f} MB) in {time.perf_counter() - t:.1f} s"
        )

        log = (work / "worker.log").open("wb")
        worker = subprocess.Popen(
            [str(ROOT / ".venv/bin/celery"), "-A", "studio", "worker", "-P", "prefork",
             "-c", str(args.processes), "--without-heartbeat", "--without-gossip",
             "--without-mingle", "-Q", queue, "-l", "warning", "-n", f"bench-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        time.sleep(1.0)
        from studio.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if app.control.inspect(timeout=1.0, destination=None).ping():
                    break
            except Exception:
                pass
            time.sleep(0.5)
        else:
            print("worker did not start; see", work / "worker.log")
            return 1

        start = time.perf_counter()
        with transaction.atomic():
            job_submit(job=job, by=client)
            intake_start(job=job)
        while True:
            job.refresh_from_db()
            if job.status not in (JobStatus.SUBMITTED, JobStatus.ANALYSING):
                break
            if time.perf_counter() - start > 600:
                print("no verdict after 600 s; see", work / "worker.log")
                return 1
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
        report = IntakeReport.objects.get(job=job)
        analyses = FileAnalysis.objects.filter(audio_file__job=job)
        durations = [
            (a.finished_at - a.claimed_at).total_seconds()
            for a in analyses
            if a.finished_at and a.claimed_at
        ]
        last = max(a.finished_at for a in analyses)
        finish_s = (report.created_at - last).total_seconds()
        print(
            f"per-file measurement: mean {np.mean(durations):.1f} s, max {max(durations):.1f} s "
            f"({len(durations)} files, {args.processes} worker processes)"
        )
        print(f"job rules after the last file: {finish_s:.1f} s")
        print(
            f"verdict {report.verdict} ({report.findings.count()} findings) "
            f"{elapsed:.1f} s after submission "
            f"[bar: 60 s] {'PASS' if elapsed <= 60 else 'FAIL'}"
        )
        return 0 if elapsed <= 60 else 1
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        from django.db import connections

        connections.close_all()
        subprocess.run(
            ["redis-cli", "-u", args.broker, "del", queue], capture_output=True, check=False
        )
        _psql(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
