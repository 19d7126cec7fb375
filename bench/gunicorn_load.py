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
_OPEN: dict[int, Any] = {}  # worker pid -> its handle on the log


def pre_request(worker: Any, req: Any) -> None:
    req._cpu_start = time.thread_time()


def post_request(worker: Any, req: Any, environ: dict[str, Any], resp: Any) -> None:
    start = getattr(req, "_cpu_start", None)
    if not _LOG or start is None:
        return
    kind = environ.get("HTTP_X_LOAD_KIND", "") or req.path
    # One short line per request, through this process's own handle (opened after the fork,
    # line-buffered: a line is written whole, and lines of processes do not interleave).
    if worker.pid not in _OPEN:
        _OPEN[worker.pid] = open(_LOG, "a", buffering=1)  # closed at the worker's exit
    _OPEN[worker.pid].write(f"{kind}\t{(time.thread_time() - start) * 1000:.3f}\n")


def worker_exit(server: Any, worker: Any) -> None:
    handle = _OPEN.pop(worker.pid, None)
    if handle is not None:
        handle.close()
