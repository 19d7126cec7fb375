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
_EVERY_S = 0.5


class _Pending:
    """This worker's lines not yet written, its descriptor on the log (opened on its first
    write) and when it last wrote: each worker's own, as module state is copied at the fork,
    before any request. A write for every request cost the run a few per cent of gunicorn's
    CPU; the lines are written every _EVERY_S instead, so the run's window (load.py empties the
    log as it opens) and the figures per page kind (means) move by a fraction of a second's
    lines at either end."""

    lines: list[str] = []
    fd = -1
    written = 0.0


def pre_request(worker: Any, req: Any) -> None:
    req._cpu_start = time.thread_time()


def post_request(worker: Any, req: Any, environ: dict[str, Any], resp: Any) -> None:
    start = getattr(req, "_cpu_start", None)
    if not _LOG or start is None:
        return
    kind = environ.get("HTTP_X_LOAD_KIND", "") or req.path
    _Pending.lines.append(f"{kind}\t{(time.thread_time() - start) * 1000:.3f}\n")
    now = time.monotonic()
    if now - _Pending.written >= _EVERY_S:
        _Pending.written = now
        _write()


def _write() -> None:
    """Whole lines in one write to the log opened for appending: the kernel appends each write
    whole, so the workers' lines do not interleave. The worker's threads share the lines: taking
    a copy and deleting that many from the front are each atomic under the GIL."""
    taken = _Pending.lines[:]
    del _Pending.lines[: len(taken)]
    if _Pending.fd < 0:
        _Pending.fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(_Pending.fd, "".join(taken).encode())


def worker_exit(server: Any, worker: Any) -> None:
    if _Pending.lines:
        _write()
    if _Pending.fd >= 0:
        os.close(_Pending.fd)
