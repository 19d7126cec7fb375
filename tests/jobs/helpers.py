"""Helpers that walk a job through the workflow with the real services."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf

from analysis.models import FileAnalysis
from analysis.services import file_measure
from jobs.models import AudioFile, FileKind, Job, Stage, StageStatus, User, Verdict
from jobs.services import (
    job_record_verdict,
    job_start_analysis,
    job_submit,
    stage_assign,
    stage_finish,
    stage_start,
)
from tests.factories import make_audio_file, make_job


def accepted_job(client: User, **kw: object) -> Job:
    job = make_job(client=client, **kw)
    make_audio_file(job)
    job_submit(job=job, by=client)
    job_start_analysis(job=job)
    job_record_verdict(job=job, verdict=Verdict.ACCEPTED)
    return job


def stages_of(job: Job) -> list[Stage]:
    return list(
        Stage.objects.filter(job=job, revision_round=job.revision_round).order_by("position")
    )


def work_through(job: Job, engineer: User, *, upto: int = 6) -> list[Stage]:
    """Assign, start and finish the first `upto` stages of the current round."""
    stages = stages_of(job)
    for stage in stages[:upto]:
        if stage.status in (StageStatus.DONE, StageStatus.SKIPPED):
            continue
        stage_assign(stage=stage, by=engineer, engineer=engineer)
        stage_start(stage=stage, by=engineer)
        stage_finish(stage=stage, by=engineer)
    job.refresh_from_db()
    return stages


def master_wav(peak_dbfs: float, *, seconds: float = 1.0, rate: int = 48000) -> bytes:
    """A limited master: a soft-clipped 997 Hz sine, stereo 24-bit, peaking at `peak_dbfs`
    (at this frequency its true peak equals its sample peak within a hundredth of a dB)."""
    t = np.arange(int(seconds * rate)) / rate
    wave = np.tanh(4.0 * np.sin(2 * np.pi * 997.0 * t))
    wave *= 10 ** (peak_dbfs / 20) / np.max(np.abs(wave))
    buf = io.BytesIO()
    sf.write(buf, np.stack([wave, wave], axis=1), rate, subtype="PCM_24", format="WAV")
    return buf.getvalue()


def upload_master(
    job: Job, by: User, *, content: bytes | None = None, name: str = "Master - Billie Jean.wav"
) -> AudioFile:
    """A master of the current round, measured by the real pipeline (in this process) the way
    an upload has it measured after the commit. The default sine passes the delivery check."""
    master = make_audio_file(
        job,
        kind=FileKind.MASTER,
        name=name,
        content=content,
        uploaded_by=by,
        revision_round=job.revision_round,
    )
    analysis = FileAnalysis.objects.create(audio_file=master)
    assert file_measure(analysis_id=analysis.pk) == "measured"
    return master
