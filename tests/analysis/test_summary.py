"""A measurement's summary (what pages read) is its report without the bulky keys, whichever
way the report was written."""

from __future__ import annotations

import pytest

from analysis.models import FileAnalysis, report_summary
from analysis.services import file_measure
from tests.factories import make_audio_file, make_job, wav_bytes

pytestmark = pytest.mark.django_db


def test_measuring_keeps_the_summary_beside_the_report() -> None:
    audio = make_audio_file(make_job(), content=wav_bytes(2.0))
    analysis = FileAnalysis.objects.create(audio_file=audio)
    assert file_measure(analysis_id=analysis.pk) == "measured"
    analysis.refresh_from_db()
    assert analysis.report and "waveform" in analysis.report
    assert analysis.summary == report_summary(analysis.report)
    assert "waveform" not in analysis.summary and "short_term_lufs" not in analysis.summary
    assert analysis.summary["integrated_lufs"] == analysis.report["integrated_lufs"]


def test_saving_a_report_saves_its_summary() -> None:
    analysis = FileAnalysis.objects.create(
        audio_file=make_audio_file(make_job()), report={"integrated_lufs": -9.0, "waveform": [0]}
    )
    assert FileAnalysis.objects.get(pk=analysis.pk).summary == {"integrated_lufs": -9.0}
    analysis.report = {"integrated_lufs": -11.0, "short_term_lufs": [-12.0]}
    analysis.save(update_fields=["report"])
    assert FileAnalysis.objects.get(pk=analysis.pk).summary == {"integrated_lufs": -11.0}
    analysis.report = None
    analysis.save()
    assert FileAnalysis.objects.get(pk=analysis.pk).summary is None
