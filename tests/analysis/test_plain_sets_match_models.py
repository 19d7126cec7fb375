"""The plain code spells kinds, severities and verdicts as strings (it imports no Django); the
models spell them as TextChoices. Nothing else ties the two, so this test does: a value added on
one side only fails here, not in a client's intake report."""

from __future__ import annotations

from typing import get_args

from analysis import services
from analysis.audio import findings, report
from analysis.intake import rules
from analysis.management.commands.check_intake import FOLDERS
from analysis.models import FindingSeverity, IntakeFinding, IntakeReport
from jobs.models import STUDIO_FILE_KINDS, FileKind, Verdict


def test_file_kinds() -> None:
    assert set(findings.KINDS) == set(FileKind.values)
    assert set(findings.INFORM_KINDS) <= set(findings.KINDS)
    # The studio's own files (masters, levelling previews) are never the client's hand-in.
    intake = set(FileKind.values) - STUDIO_FILE_KINDS
    assert set(rules.INTAKE_KINDS) == set(services.INTAKE_KINDS) == intake
    assert {kind for _folder, kind in FOLDERS} == intake


def test_severities() -> None:
    assert (
        set(get_args(report.Severity)) == set(report.SEVERITY_ORDER) == set(FindingSeverity.values)
    )
    longest = max(len(s) for s in FindingSeverity.values)
    assert longest <= IntakeFinding._meta.get_field("severity").max_length


def test_verdicts() -> None:
    assert set(rules.VERDICTS) == set(Verdict.values) - {Verdict.DECLINED}
    assert max(len(v) for v in Verdict.values) <= IntakeReport._meta.get_field("verdict").max_length
