"""`manage.py check_intake FOLDER --json`: the whole intake of a folder, as the worker runs it.

FOLDER/stems/*, FOLDER/rough/* (zero or one), FOLDER/reference/*, FOLDER/job.json (optional:
track_title, artist, reference_notes). Exit 0 when the analysis ran, whatever it found; 2 for bad
usage, with one line on stderr. Works before any database exists (default policy).
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from analysis.intake.naming import order_by_importance
from analysis.intake.rules import JobInfo
from analysis.intake.run import Submitted, file_json, intake_run
from analysis.policy import current_job_thresholds, current_thresholds
from studio.startup import without_tasks

FOLDERS = (("stems", "stem"), ("rough", "rough_mix"), ("reference", "reference"))


class UsageError(Exception):
    pass


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"check_intake: {message}\n")
    raise SystemExit(2)


def _job_info(folder: Path) -> JobInfo:
    path = folder / "job.json"
    if not path.exists():
        return JobInfo()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object")
    return JobInfo(
        track_title=str(data.get("track_title") or ""),
        artist=str(data.get("artist") or ""),
        reference_notes=str(data.get("reference_notes") or ""),
    )


def collect(folder: Path) -> list[Submitted]:
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    found: list[Submitted] = []
    for sub, kind in FOLDERS:
        where = folder / sub
        if not where.is_dir():
            continue
        names = [p.name for p in where.iterdir() if p.is_file() and not p.name.startswith(".")]
        ordered = order_by_importance(names) if kind == "stem" else sorted(names)
        found += [Submitted(path=str(where / n), name=n, kind=kind) for n in ordered]
    return found


def start_before_setup(argv: list[str]) -> None:
    """Called by manage.py before it sets Django up: the command queues no task, so Django's
    set-up leaves Celery and the task modules out."""
    without_tasks()


class Command(BaseCommand):
    help = "Run intake over FOLDER (stems/, rough/, reference/, job.json) and print the verdict."
    # It reads files and the policy only: no URL, view or admin module is needed.
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message: str) -> NoReturn:  # one line, exit 2
            _fail(message)

        parser.error = error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("folder", help="folder with stems/, rough/, reference/ and job.json")
        parser.add_argument("--json", action="store_true", help="print JSON (the contract)")

    def handle(self, *args: Any, **options: Any) -> None:
        folder = Path(options["folder"])
        try:
            job = _job_info(folder) if folder.is_dir() else JobInfo()
            submitted = collect(folder)
        except UsageError as exc:
            _fail(str(exc))
        result, files = intake_run(
            submitted,
            job=job,
            thresholds=current_thresholds(),
            job_thresholds=current_job_thresholds(),
        )
        payload = {
            "verdict": result.verdict,
            "needs_acknowledgement": result.needs_acknowledgement,
            "findings": [f.to_dict() for f in result.findings],
            "files": [file_json(f) for f in files],
        }
        if options["json"]:
            self.stdout.write(json.dumps(payload, indent=2))
            return
        self.stdout.write(result.summary)
