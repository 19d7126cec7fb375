"""`manage.py check_intake FOLDER --json`, as the contract says: the same code as the worker, the
default policy without a database and the studio's policy with one, exit codes 0 and 2."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.core.management import call_command
from django.db import OperationalError

from analysis import policy
from analysis.audio.findings import Thresholds
from analysis.intake.rules import JobThresholds
from jobs.models import StudioPolicy

ROOT = Path(__file__).resolve().parents[2]
RATE = 48000


def _write(path: Path, signal: np.ndarray, rate: int = RATE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.stack([signal, 0.9 * signal], axis=1), rate, subtype="PCM_24")


def _noise(seconds: float, seed: int) -> np.ndarray:
    return 0.1 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "submission"
    stems = [_noise(2, i) for i in range(2)]
    clipped = stems[1].copy()
    clipped[RATE : RATE + 4] = 1.0
    clipped[RATE + 9000 : RATE + 9004] = -1.0  # two clip events
    _write(root / "stems" / "Bass - Billie Jean.wav", stems[0])
    _write(root / "stems" / "Guitar - Billie Jean.wav", clipped)
    _write(root / "stems" / "Keys - Beat It.wav", _noise(2.1, 7))
    _write(root / "rough" / "Rough.wav", stems[0] + clipped)
    (root / "job.json").write_text(json.dumps({"track_title": "Billie Jean", "artist": "MJ"}))
    return root


def _run(folder: Path) -> dict:
    out = io.StringIO()
    call_command("check_intake", str(folder), "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_it_prints_the_verdict_findings_and_every_file(folder: Path) -> None:
    data = _run(folder)
    codes = {f["code"]: f for f in data["findings"]}
    assert data["verdict"] == "reexport_requested"
    assert codes["length_mismatch"]["file"] == "Keys - Beat It.wav"
    assert codes["track_name_mismatch"]["file"] == "Keys - Beat It.wav"
    assert (
        codes["clipping"]["severity"] == "warning"
        and "Guitar - Billie Jean" in codes["clipping"]["message"]
    )
    assert codes["missing_reference"]["severity"] == "info"
    assert len(data["files"]) == 4
    first = data["files"][0]
    assert {"path", "findings", "format", "sample_peak_dbfs", "integrated_lufs"} <= set(first)
    assert {f["kind"] for f in data["files"]} == {"stem", "rough_mix"}


@pytest.mark.django_db
def test_with_a_database_the_studio_policy_applies(folder: Path) -> None:
    for extra in (folder / "stems" / "Keys - Beat It.wav",):
        extra.unlink()
    default = _run(folder)
    assert default["verdict"] == "accepted_with_warnings" and default["needs_acknowledgement"]
    StudioPolicy.objects.update_or_create(pk=1, defaults={"allowed_clip_events": 1})
    strict = _run(folder)
    clip = next(f for f in strict["findings"] if f["code"] == "clipping")
    assert clip["severity"] == "error" and strict["verdict"] == "reexport_requested"


def _cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "manage.py", "check_intake", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_works_before_any_database_exists(folder: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "db.sqlite3"
    result = _cli(str(folder), "--json", env_extra={"DATABASE_URL": f"sqlite:///{missing}"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["verdict"] == "reexport_requested"
    assert not missing.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [((), "required: folder"), (("/no/such/folder", "--json"), "is not a folder")],
)
def test_bad_usage_exits_2_with_one_line(args: tuple[str, ...], message: str) -> None:
    result = _cli(*args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_broken_job_json_is_bad_usage(folder: Path) -> None:
    (folder / "job.json").write_text("{not json")
    result = _cli(str(folder), "--json")
    assert result.returncode == 2 and "not valid JSON" in result.stderr


@pytest.mark.django_db
def test_policy_thresholds_come_from_the_row() -> None:
    StudioPolicy.objects.update_or_create(
        pk=1,
        defaults={
            "allowed_clip_events": 5,
            "low_headroom_dbfs": -2.0,
            "stems_offset_tolerance_ms": 4.0,
            "rough_mix_min_correlation": 0.7,
        },
    )
    t = policy.current_thresholds()
    assert (t.allowed_clip_events, t.low_headroom_dbfs) == (5, -2.0)
    assert policy.current_job_thresholds() == JobThresholds(
        stems_offset_tolerance_ms=4.0, rough_mix_min_correlation=0.7
    )


@pytest.mark.django_db
def test_policy_defaults_when_the_database_fails(monkeypatch) -> None:
    def down(*a, **k):
        raise OperationalError("no such table: jobs_studiopolicy")

    monkeypatch.setattr(StudioPolicy.objects, "filter", down)
    assert policy.current_thresholds() == Thresholds()
    assert policy.current_job_thresholds() == JobThresholds()
