"""Run parse + measure for one file in a child process with memory, CPU and wall-clock limits, so
a crash, hang or memory blow-up inside the decoder fails that one file, never the caller."""

from __future__ import annotations

import faulthandler
import logging
import multiprocessing as mp
import os
import resource
import signal
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .findings import Thresholds, file_findings
from .report import Report

# Test seam: measure_isolated(..., fault="segfault" | "hang" | "memory") makes the child
# misbehave in that way before measuring, so tests show that real crashes become findings.
FAULTS = ("segfault", "hang", "memory")
MIB = 1024 * 1024
# Exceptions name paths and library internals: they are logged; reports get plain words.
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Per-file limits for the measuring child. The time limits grow with the file's size (one
    second per 4 MB on top of the base), so an hour-long file is not mistaken for a hang."""

    memory_bytes: int = 1536 * MIB  # address space on top of what the child starts with
    base_seconds: float = 60.0
    seconds_per_mib: float = 0.25

    def seconds_for(self, size_bytes: int) -> float:
        return self.base_seconds + self.seconds_per_mib * size_bytes / MIB


def _context() -> Any:
    """fork: the child starts in about a millisecond with numpy, scipy and soundfile already
    imported (a fresh interpreter spends 1.5 s importing them), and exits after one file.
    forkserver and spawn were tried: both re-run the caller's __main__ module in every child
    (pytest, celery or manage.py), which costs more than the measurement of a short file."""
    try:
        return mp.get_context("fork")
    except ValueError:  # platforms without fork: slower, still isolated
        return mp.get_context("spawn")


def _meter() -> Any:
    """The measuring code, imported at the first measurement rather than at start-up: numpy,
    scipy and soundfile cost most of a second, which a command that measures nothing (`--help`,
    `migrate`) or a web process should not pay. Called in the parent before each fork, so the
    import happens once per process and every child starts with it done."""
    from .measure import measure_file

    return measure_file


def _failed(path: str, reason: str, name: str, kind: str, thresholds: Thresholds) -> Report:
    report = Report(path=path, format=None, unreadable=reason)
    report.findings = file_findings(report, kind=kind, name=name, thresholds=thresholds)
    return report


def measure_isolated(
    path: str | os.PathLike[str],
    *,
    thresholds: Thresholds | None = None,
    kind: str = "stem",
    name: str | None = None,
    limits: Limits | None = None,
    fault: str | None = None,
) -> Report:
    """Measure `path` in an isolated child and add the per-file findings. Never raises for
    anything the file does: a crash, hang or MemoryError becomes an `unreadable_file` finding."""
    t = thresholds or Thresholds()
    lim = limits or Limits()
    spath = str(path)
    label = name or Path(spath).name
    try:
        size = Path(spath).stat().st_size
    except OSError as exc:
        log.warning("cannot open %s: %s", spath, exc)
        return _failed(spath, "the file could not be opened", label, kind, t)
    seconds = lim.seconds_for(size)
    _meter()
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_child, args=(spath, t, lim.memory_bytes, seconds, fault, sender), daemon=True
    )
    child.start()
    sender.close()
    payload: Any = None
    timed_out = False
    try:
        if receiver.poll(seconds):
            payload = receiver.recv()
        else:
            timed_out = True
    except (EOFError, OSError):
        payload = None  # the child died before it could answer
    finally:
        receiver.close()
    if timed_out:
        child.kill()
    child.join(timeout=5.0)
    if child.is_alive():
        child.kill()
        child.join()
    if isinstance(payload, dict) and "report" in payload:
        report = Report.from_dict(payload["report"])
        report.peaks = payload.get("peaks")
    elif isinstance(payload, dict) and "error" in payload:
        report = Report(path=spath, format=None, unreadable=payload["error"])
    elif child.exitcode is not None and child.exitcode < 0:
        sig = -child.exitcode
        what = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
        if sig == signal.SIGXCPU:
            reason = f"decoding used more than {seconds:.0f} s of processor time"
        elif timed_out:
            reason = f"decoding did not finish within {seconds:.0f} s"
        else:
            reason = f"the decoder crashed on this file ({what})"
        report = Report(path=spath, format=None, unreadable=reason)
    else:
        report = Report(
            path=spath,
            format=None,
            unreadable=f"decoding stopped without a result (exit code {child.exitcode})",
        )
    report.path = spath
    report.findings = file_findings(report, kind=kind, name=label, thresholds=t)
    return report


def measure_in_process(
    path: str | os.PathLike[str],
    *,
    thresholds: Thresholds | None = None,
    kind: str = "stem",
    name: str | None = None,
) -> Report:
    """The same measurement without the child process: no protection against a decoder crash.
    For benchmarks and for callers that are themselves a disposable sandbox."""
    t = thresholds or Thresholds()
    report: Report = _meter()(path, thresholds=t)
    report.findings = file_findings(report, kind=kind, name=name or Path(path).name, thresholds=t)
    return report


def _child(
    path: str,
    thresholds: Thresholds,
    memory_bytes: int,
    seconds: float,
    fault: str | None,
    sender: Connection,
) -> None:
    # A crash here is reported as a finding; the parent's crash reporter (pytest and others
    # enable faulthandler) must not also dump this child's stack onto the caller's stderr.
    faulthandler.disable()
    try:
        _limit(memory_bytes, seconds)
        if fault == "segfault":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif fault == "hang":
            while True:
                time.sleep(60)
        elif fault == "memory":
            _hog = bytearray(memory_bytes * 4)  # beyond RLIMIT_AS: MemoryError
            del _hog
        report = _meter()(path, thresholds=thresholds)
        sender.send({"report": report.to_dict(), "peaks": report.peaks})
    except MemoryError:
        sender.send({"error": "decoding it needed more memory than one file may use"})
    except Exception as exc:  # anything the decoder throws is about this file, not the caller
        last = traceback.format_exception_only(exc)[-1].strip()
        log.warning("the decoder failed on %s: %s", path, last[:300])
        sender.send({"error": "the decoder failed on this file"})
    finally:
        sender.close()


def _limit(memory_bytes: int, seconds: float) -> None:
    """Address-space cap relative to what the (forked) child already maps, and a CPU cap."""
    current = 0
    try:
        with open("/proc/self/statm") as f:
            current = int(f.read().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        current = 1024 * MIB
    cap = current + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    cpu = int(seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
