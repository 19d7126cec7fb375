"""What Django's set-up loads: every process gets the Celery app and the tasks by their registered
names (a web process queues them by name), except `manage.py analyze` and `check_intake`, which
queue nothing and never import Celery, the services or the task modules (studio.startup)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("celery", "kombu", "analysis.services", "analysis.tasks", "jobs.tasks", "jobs.cloud")


def python(code: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["DATABASE_URL"] = f"sqlite:///{tmp / 'absent' / 'db.sqlite3'}"
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT, env=env
    )


def test_a_django_process_has_the_celery_app_and_every_task(tmp_path: Path) -> None:
    done = python(
        "import json, os, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'studio.settings')\n"
        "django.setup()\n"
        "from celery import current_app\n"
        "import studio\n"
        "from analysis.services import MEASURE_TASK, FINISH_TASK\n"
        "from jobs.cloud import FETCH_TASK\n"
        "print(json.dumps({'app': current_app.main,\n"
        "  'same': studio.celery_app is current_app._get_current_object(),\n"
        "  'tasks': [n in current_app.tasks for n in (MEASURE_TASK, FINISH_TASK, FETCH_TASK)]}))\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"app": "headroom", "same": True, "tasks": [True] * 3}


def test_analyze_imports_no_celery_services_or_tasks(tmp_path: Path) -> None:
    path = tmp_path / "Bass.wav"
    rate = 48000
    t = np.arange(rate) / rate
    sf.write(str(path), np.stack([0.5 * np.sin(2 * np.pi * 100 * t)] * 2, 1), rate, "PCM_24")
    done = python(
        "import runpy, sys\n"
        f"sys.argv = ['manage.py', 'analyze', {str(path)!r}, '--json']\n"
        "runpy.run_path('manage.py', run_name='__main__')\n"
        f"heavy = {HEAVY!r}\n"
        "sys.stderr.write(repr(sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "  or any(m == h or m.startswith(h + '.') for h in heavy))))\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    [report] = json.loads(done.stdout)
    assert report["integrated_lufs"] is not None
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_check_intake_imports_no_celery_services_or_tasks(tmp_path: Path) -> None:
    stems = tmp_path / "job" / "stems"
    stems.mkdir(parents=True)
    rate = 48000
    t = np.arange(rate) / rate
    tone = np.stack([0.25 * np.sin(2 * np.pi * 100 * t)] * 2, 1)
    sf.write(str(stems / "Bass - Song.wav"), tone, rate, "PCM_24")
    done = python(
        "import runpy, sys\n"
        f"sys.argv = ['manage.py', 'check_intake', {str(tmp_path / 'job')!r}, '--json']\n"
        "runpy.run_path('manage.py', run_name='__main__')\n"
        f"heavy = {HEAVY!r}\n"
        "sys.stderr.write(repr(sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "  or any(m == h or m.startswith(h + '.') for h in heavy))))\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"]
    assert done.stderr.strip().splitlines()[-1] == "[]"
