"""Job-level intake: the rules over a whole submission, stem naming and importance."""

from analysis.intake.rules import (
    IntakeFile,
    IntakeResult,
    JobInfo,
    JobThresholds,
    intake_evaluate,
    job_findings,
    verdict_for,
)

__all__ = [
    "IntakeFile",
    "IntakeResult",
    "JobInfo",
    "JobThresholds",
    "intake_evaluate",
    "job_findings",
    "verdict_for",
]
