"""The delivery check of masters: what each current master of a round measured and whether it may
ship (judged against today's policy from the stored report), and the SHA-256 re-check of the
stored bytes before delivery. Reads only: measuring is the pipeline's job (analysis.services)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from analysis.audio.findings import file_findings
from analysis.audio.report import Finding, Report
from analysis.models import AnalysisStatus, FileAnalysis
from analysis.policy import current_thresholds
from jobs.models import AudioFile, FileKind, Job

HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class MasterCheck:
    """One master as the delivery region and `job_deliver` see it."""

    master: AudioFile
    status: str  # an AnalysisStatus value, or "" when no analysis row exists
    report: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def measured(self) -> bool:
        return self.status == AnalysisStatus.DONE and self.report is not None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def passes(self) -> bool:
        return self.measured and not self.errors

    @property
    def measuring(self) -> bool:
        return self.status in ("", AnalysisStatus.PENDING, AnalysisStatus.RUNNING)


def current_masters(job: Job, revision_round: int | None = None) -> list[AudioFile]:
    """The current masters of a round (the job's current round by default), by name."""
    rnd = job.revision_round if revision_round is None else revision_round
    return list(
        AudioFile.objects.filter(
            job=job, kind=FileKind.MASTER, is_current=True, revision_round=rnd
        ).order_by("original_name", "uploaded_at")
    )


def master_checks(masters: list[AudioFile]) -> list[MasterCheck]:
    """Each master with its measurement and its findings as a master (kind "master"), judged by
    the policy in force now, so a ceiling a manager changed since the upload applies."""
    analyses = {
        a.audio_file_id: a
        for a in FileAnalysis.objects.filter(audio_file__in=masters).only(
            "audio_file_id", "status", "report"
        )
    }
    thresholds = current_thresholds()
    checks = []
    for master in masters:
        analysis = analyses.get(master.pk)
        if analysis is None:
            checks.append(MasterCheck(master=master, status=""))
            continue
        findings: list[Finding] = []
        if analysis.status == AnalysisStatus.DONE and analysis.report is not None:
            findings = file_findings(
                Report.from_dict(analysis.report),
                kind=FileKind.MASTER,
                name=master.original_name,
                thresholds=thresholds,
            )
        checks.append(
            MasterCheck(
                master=master, status=analysis.status, report=analysis.report, findings=findings
            )
        )
    return checks


def stored_sha256(audio: AudioFile) -> str:
    """SHA-256 of the stored bytes, streamed from storage in 1 MiB pieces (never whole in
    memory). Raises OSError (or the storage's own error) when the bytes cannot be read."""
    digest = hashlib.sha256()
    with audio.file.storage.open(audio.file.name or "", "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def delivery_refusals(checks: list[MasterCheck]) -> list[str]:
    """Why these masters cannot be delivered (empty when they can): unmeasured, or an error
    finding (the message carries the fix)."""
    problems = []
    for check in checks:
        name = check.master.original_name
        if check.measuring:
            problems.append(f"{name} is still being measured; deliver once its check is done.")
        elif not check.measured:
            problems.append(
                f"{name} could not be measured ({check.status.replace('_', ' ')}); "
                "upload it again or ask a manager to re-queue it."
            )
        else:
            problems.extend(f.message for f in check.errors)
    return problems


def integrity_refusals(masters: list[AudioFile]) -> list[str]:
    """Masters whose stored bytes no longer hash to the SHA-256 recorded when they were stored."""
    problems = []
    for master in masters:
        try:
            actual = stored_sha256(master)
        except Exception as exc:  # storage errors vary by backend; all of them block delivery
            problems.append(
                f"{master.original_name} cannot be read back from storage "
                f"({type(exc).__name__}); upload the master again."
            )
            continue
        if actual != master.sha256:
            problems.append(
                f"{master.original_name} changed in storage after it was uploaded (its SHA-256 "
                "no longer matches): it cannot be delivered. Upload the master again."
            )
    return problems
