"""gunicorn for the load run: deploy/gunicorn.conf.py as it is, plus a hook that writes each
request's CPU time (its thread's, in the worker) under the page kind locust named it by."""

import os
import time
from pathlib import Path
from typing import Any

_deploy = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"
exec(compile(_deploy.read_text(), str(_deploy), "exec"))  # the production settings, unchanged

accesslog = None  # 300 users' access lines would cost the run more than they tell
_LOG = os.environ.get("HEADROOM_LOAD_CPU_LOG", "")
_LINES: dict[int, list[str]] = {}  # worker pid -> its lines not yet written
_FD: dict[int, int] = {}  # worker pid -> its descriptor on the log (opened after the fork)
_FLUSHED: dict[int, float] = {}  # worker pid -> when its lines were last written
# A write for every request cost the run a few per cent of gunicorn's CPU; the lines are written
# every half second instead, so the run's window (load.py empties the log as it opens) and the
# figures per page kind (means) move by a fraction of a second's lines at either end.
_EVERY_S = 0.5


def pre_request(worker: Any, req: Any) -> None:
    req._cpu_start = time.thread_time()


def post_request(worker: Any, req: Any, environ: dict[str, Any], resp: Any) -> None:
    start = getattr(req, "_cpu_start", None)
    if not _LOG or start is None:
        return
    kind = environ.get("HTTP_X_LOAD_KIND", "") or req.path
    lines = _LINES.setdefault(worker.pid, [])
    lines.append(f"{kind}\t{(time.thread_time() - start) * 1000:.3f}\n")
    now = time.monotonic()
    if now - _FLUSHED.setdefault(worker.pid, now) >= _EVERY_S:
        _FLUSHED[worker.pid] = now
        _write(worker.pid, lines)


def _write(pid: int, lines: list[str]) -> None:
    """Whole lines in one write to the log opened for appending: the kernel appends each write
    whole, so the workers' lines do not interleave. The worker's threads share `lines`: taking
    a copy and deleting that many from the front are each atomic under the GIL."""
    taken = lines[:]
    del lines[: len(taken)]
    if pid not in _FD:
        _FD[pid] = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(_FD[pid], "".join(taken).encode())


def worker_exit(server: Any, worker: Any) -> None:
    lines = _LINES.pop(worker.pid, None)
    if lines:
        _write(worker.pid, lines)
    fd = _FD.pop(worker.pid, None)
    if fd is not None:
        os.close(fd)
