"""One submission end to end, without Django: measure files (each in its isolated child process,
analysis.audio.isolate.measure_isolated), attach each file's findings, run the job rules. The
worker and `check_intake` share this."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analysis.audio.findings import Thresholds, file_findings
from analysis.audio.isolate import measure_isolated
from analysis.audio.report import Report
from analysis.intake.rules import IntakeFile, IntakeResult, JobInfo, JobThresholds, intake_evaluate


@dataclass(frozen=True)
class Submitted:
    path: str  # where to read it
    name: str  # the client's name
    kind: str


def intake_file(
    report: Report, *, name: str, kind: str, path: str | None, thresholds: Thresholds
) -> IntakeFile:
    """A measured file with its own findings, ready for the job rules."""
    return IntakeFile(
        name=name,
        kind=kind,
        report=report,
        path=path,
        file_findings=tuple(file_findings(report, kind=kind, name=name, thresholds=thresholds)),
    )


def intake_run(
    submitted: Sequence[Submitted],
    *,
    job: JobInfo,
    thresholds: Thresholds,
    job_thresholds: JobThresholds,
) -> tuple[IntakeResult, list[IntakeFile]]:
    files = [
        intake_file(
            measure_isolated(s.path, thresholds=thresholds, kind=s.kind, name=s.name),
            name=s.name,
            kind=s.kind,
            path=s.path,
            thresholds=thresholds,
        )
        for s in submitted
    ]
    return intake_evaluate(files, job=job, thresholds=job_thresholds), files


def file_json(f: IntakeFile) -> dict[str, Any]:
    """A per-file report as `analyze --json` prints it: the fields plus path and findings."""
    data = f.report.to_dict()
    data["path"] = f.path
    data["name"] = f.name
    data["kind"] = f.kind
    data["findings"] = [x.to_dict() for x in f.file_findings]
    return data
