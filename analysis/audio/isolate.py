"""Run parse + measure for each file in a child process with memory, CPU and wall-clock limits, so
a crash, hang or memory blow-up inside the decoder fails that one file, never the caller. Several
files are measured by several children at once, one per core."""

from __future__ import annotations

import faulthandler
import logging
import multiprocessing as mp
import os
import resource
import signal
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as mp_wait
from pathlib import Path
from typing import Any

from .findings import Thresholds, file_findings, phase_inverted
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


@dataclass
class _Running:
    """One measuring child, from its start until its answer is read."""

    path: str
    seconds: float
    deadline: float  # time.monotonic() after which the child is taken to hang
    child: Any
    receiver: Connection


def _start(path: str, t: Thresholds, lim: Limits, fault: str | None) -> _Running | str:
    """Fork the child that measures `path`; a file that cannot even be looked at returns the
    reason instead, for an `unreadable_file` report."""
    try:
        size = Path(path).stat().st_size
    except OSError as exc:
        log.warning("cannot open %s: %s", path, exc)
        return "the file could not be opened"
    seconds = lim.seconds_for(size)
    _meter()
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=_child, args=(path, t, lim.memory_bytes, seconds, fault, sender), daemon=True
    )
    child.start()
    sender.close()
    return _Running(path, seconds, time.monotonic() + seconds, child, receiver)


def _finish(run: _Running, *, timed_out: bool) -> Report:
    """Read the child's answer (it has one ready, or died, or ran out of time) and reap it."""
    payload: Any = None
    try:
        if not timed_out:
            payload = run.receiver.recv()
    except (EOFError, OSError):
        payload = None  # the child died before it could answer
    finally:
        run.receiver.close()
    child = run.child
    if timed_out:
        child.kill()
    child.join(timeout=5.0)
    if child.is_alive():
        child.kill()
        child.join()
    spath, seconds = run.path, run.seconds
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
    return measure_isolated_many(
        [path], thresholds=t, kind=kind, names=[name] if name else None, limits=limits,
        workers=1, fault=fault,
    )[0]  # fmt: skip


def default_workers() -> int:
    """Children measuring at once: one per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


def measure_isolated_many(
    paths: Sequence[str | os.PathLike[str]],
    *,
    thresholds: Thresholds | None = None,
    kind: str = "stem",
    names: Sequence[str] | None = None,
    limits: Limits | None = None,
    workers: int | None = None,
    fault: str | None = None,
) -> list[Report]:
    """`measure_isolated` for several files, up to `workers` children at once (default: one per
    core), each with its own limits and time-out. The reports come back in the order of `paths`,
    whichever child finishes first."""
    t = thresholds or Thresholds()
    measuring = Measuring(paths, thresholds=t, limits=limits, workers=workers, fault=fault)
    return measuring.judged(t, kind=kind, names=names)


class Measuring:
    """Files being measured, each by its own isolated child, up to `workers` children at once
    (default: one per core). Starting returns at once, so the caller can do other work (look up
    the studio policy) while the first files are measured; `judged` waits for all of them."""

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        thresholds: Thresholds | None = None,
        limits: Limits | None = None,
        workers: int | None = None,
        fault: str | None = None,
    ) -> None:
        self.paths = [str(p) for p in paths]
        self._t = thresholds or Thresholds()
        self._lim = limits or Limits()
        self._fault = fault
        self._width = max(1, workers if workers is not None else default_workers())
        self._reports: list[Report | None] = [None] * len(self.paths)
        self._running: dict[int, _Running] = {}
        self._upcoming = iter(range(len(self.paths)))
        self._fill()

    def _fill(self) -> None:
        while len(self._running) < self._width:
            i = next(self._upcoming, None)
            if i is None:
                return
            started = _start(self.paths[i], self._t, self._lim, self._fault)
            if isinstance(started, str):
                self._reports[i] = Report(path=self.paths[i], format=None, unreadable=started)
            else:
                self._running[i] = started

    def _wait(self) -> list[Report]:
        running = self._running
        try:
            while True:
                self._fill()
                if not running:
                    break
                now = time.monotonic()
                late = [i for i, r in running.items() if r.deadline <= now]
                for i in late:
                    self._reports[i] = _finish(running.pop(i), timed_out=True)
                if late:
                    continue
                soonest = min(r.deadline for r in running.values())
                ready = mp_wait([r.receiver for r in running.values()], timeout=soonest - now)
                for i, r in list(running.items()):
                    if r.receiver in ready:
                        self._reports[i] = _finish(running.pop(i), timed_out=False)
        finally:
            for r in running.values():  # only on an exception in the caller's thread (^C)
                r.child.kill()
                r.child.join()
                r.receiver.close()
            running.clear()
        done: list[Report] = []
        for report in self._reports:
            assert report is not None
            done.append(report)
        return done

    def judged(
        self, thresholds: Thresholds, *, kind: str = "stem", names: Sequence[str] | None = None
    ) -> list[Report]:
        """Every report, in the order of the paths, judged by `thresholds` (which may differ
        from those the measuring started with): the per-file findings, and the one measured
        field a policy decides, `stereo.phase_inverted`."""
        reports = self._wait()
        labels = list(names) if names is not None else [Path(p).name for p in self.paths]
        for label, report in zip(labels, reports, strict=True):
            if report.stereo is not None:
                report.stereo.phase_inverted = phase_inverted(report.stereo.correlation, thresholds)
            report.findings = file_findings(report, kind=kind, name=label, thresholds=thresholds)
        return reports


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
