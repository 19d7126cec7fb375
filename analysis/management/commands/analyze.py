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
from analysis.audio.isolate import measure_isolated_many
from analysis.audio.report import Report


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
        files = [Path(f) for f in options["files"]]
        if not files:
            _fail("no files given (usage: manage.py analyze FILE [FILE ...] --json)")
        for path in files:
            if not path.exists():
                _fail(f"{path}: no such file")
            if not path.is_file():
                _fail(f"{path}: not a file")
        thresholds = _thresholds()
        # One child per file, as many at once as there are cores; the reports keep the order
        # of the command line.
        reports = measure_isolated_many(
            files, thresholds=thresholds, kind=options["kind"], names=[p.name for p in files]
        )
        if options["json"]:
            self.stdout.write(json.dumps([r.to_dict() for r in reports], indent=2, allow_nan=False))
        else:
            self.stdout.write("\n".join(_summary(r) for r in reports))
