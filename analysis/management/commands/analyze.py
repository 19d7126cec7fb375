"""`manage.py analyze FILE [FILE ...] --json`: measure files exactly as the worker does and print
one report per file. Exit 0 when the analysis ran, whatever it found; 2 for bad usage (no files,
a missing file), with one line on stderr. Works before any database exists (default policy)."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from analysis.audio.findings import KINDS, Thresholds
from analysis.audio.isolate import Measuring
from analysis.audio.report import Report
from studio.startup import without_tasks

# Started by manage.py before Django is set up (start_before_setup), picked up by the command.
_early: Measuring | None = None


class _NotNow(Exception):
    pass


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"analyze: {message}\n")
    raise SystemExit(2)


def _thresholds() -> Thresholds:
    """The studio policy when a database with one is reachable, else the documented defaults."""
    try:
        from analysis.policy import current_thresholds

        return current_thresholds()
    except Exception:  # no settings, no database, no table yet: a fresh checkout uses defaults
        return Thresholds()


def _summary(report: Report) -> str:
    def num(value: float | None, unit: str) -> str:
        return "-" if value is None else f"{value:.1f} {unit}"

    lines = [
        f"{report.path}",
        f"  peak {num(report.sample_peak_dbfs, 'dBFS')}, true peak "
        f"{num(report.true_peak_dbtp, 'dBTP')}, integrated {num(report.integrated_lufs, 'LUFS')}, "
        f"LRA {num(report.loudness_range_lu, 'LU')}",
    ]
    lines += [f"  {f.severity}: {f.code}: {f.message}" for f in report.findings]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Measure audio files (levels, loudness, true peak, clipping, integrity) and report."
    # The system checks import every URL, view and admin module (a third of a second) to look
    # for mistakes in the web app; measuring files uses none of it.
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message: str) -> NoReturn:  # argparse would print two lines: keep it to one
            _fail(message)

        parser.error = error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("files", nargs="*", metavar="FILE", help="audio files to measure")
        parser.add_argument("--json", action="store_true", help="print a JSON array (the contract)")
        parser.add_argument(
            "--kind", choices=KINDS, default="stem", help="judge the files as this kind of file"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        global _early
        files = [Path(f) for f in options["files"]]
        if not files:
            _fail("no files given (usage: manage.py analyze FILE [FILE ...] --json)")
        for path in files:
            if not path.exists():
                _fail(f"{path}: no such file")
            if not path.is_file():
                _fail(f"{path}: not a file")
        # One child per file, as many at once as there are cores, started before the policy is
        # looked up (when manage.py has not started them already, before Django was set up);
        # the reports keep the order of the command line.
        measuring, _early = _early, None
        if measuring is None or measuring.paths != [str(p) for p in files]:
            measuring = Measuring(files)
        reports = measuring.judged(
            _thresholds(), kind=options["kind"], names=[p.name for p in files]
        )
        if options["json"]:
            self.stdout.write(json.dumps([r.to_dict() for r in reports], indent=2, allow_nan=False))
        else:
            self.stdout.write("\n".join(_summary(r) for r in reports))


def start_before_setup(argv: list[str]) -> None:
    """Called by manage.py before it sets Django up (most of a second of start-up): when the
    command line is a valid `analyze` of existing files, their measuring starts now, with the
    default thresholds, and the command judges the reports by the studio policy when it runs.
    Anything else (bad usage, a missing file) is left for the command to report as usual.
    The command queues no task, so Django's set-up leaves Celery and the task modules out."""
    global _early
    without_tasks()
    parser = Command().create_parser(Path(argv[0]).name, argv[1])

    def not_now(message: str) -> NoReturn:
        raise _NotNow(message)

    parser.error = not_now  # type: ignore[method-assign]
    try:
        options = parser.parse_args(argv[2:])
    except _NotNow:
        return
    files = [Path(f) for f in options.files]
    if files and all(p.is_file() for p in files):
        _early = Measuring(files)
