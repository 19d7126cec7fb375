"""`manage.py analyze FILE... --json`, run as a real process on a fresh checkout's settings: a
JSON array with one report per file, exit 0 whatever was found, 2 and one stderr line for bad
usage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from django.core.management import execute_from_command_line

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    # A database path that does not exist: the command must fall back to the default policy.
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'absent' / 'db.sqlite3'}"}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "analyze", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )  # fmt: skip


def test_prints_one_report_per_file(tmp_path: Path) -> None:
    rate = 48000
    t = np.arange(rate * 2) / rate
    loud = tmp_path / "Bass - Billie Jean.wav"
    sf.write(str(loud), np.stack([0.9 * np.sin(2 * np.pi * 100 * t)] * 2, 1), rate, "PCM_24")
    silent = tmp_path / "Pad - Billie Jean.flac"
    sf.write(str(silent), np.zeros((rate, 2)), rate, "PCM_16")
    junk = tmp_path / "Drums - Billie Jean.wav"
    junk.write_bytes(b"PK\x03\x04" + bytes(300))

    done = run(str(loud), str(silent), str(junk), "--json", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    reports = json.loads(done.stdout)
    assert [Path(r["path"]).name for r in reports] == [loud.name, silent.name, junk.name]
    first, second, third = reports
    fields = {"format", "sample_peak_dbfs", "true_peak_dbtp", "integrated_lufs", "clipping",
              "silence", "stereo", "waveform", "short_term_lufs", "findings"}  # fmt: skip
    assert fields <= set(first)
    assert [f["code"] for f in first["findings"]] == ["low_headroom", "dual_mono"]
    assert "Bass - Billie Jean" in first["findings"][0]["message"]
    assert second["integrated_lufs"] is None
    assert "silent_file" in {f["code"] for f in second["findings"]}
    assert [f["code"] for f in third["findings"]] == ["unreadable_file"]
    assert "NaN" not in done.stdout and "Infinity" not in done.stdout


def test_a_missing_file_exits_2_with_one_line(tmp_path: Path) -> None:
    done = run(str(tmp_path / "missing.wav"), "--json", tmp=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        f"analyze: {tmp_path / 'missing.wav'}: no such file"
    ]


@pytest.mark.parametrize("args", [[], ["--bogus"], ["--kind", "nonsense", "x.wav"]])
def test_bad_usage_exits_2_with_one_line(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # In process (the same argv handling as manage.py, without paying for a new interpreter).
    with pytest.raises(SystemExit) as stopped:
        execute_from_command_line(["manage.py", "analyze", *args])
    assert stopped.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err


def test_help_is_answered_without_setting_django_up(tmp_path: Path) -> None:
    # What `manage.py analyze --help` loads: no app registry, no models, no numpy; and the text
    # is the one Django prints through its own, fully set up, `manage.py help analyze`.
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['manage.py', 'analyze', '--help']\n"
        "try:\n"
        f"    runpy.run_path({str(ROOT / 'manage.py')!r}, run_name='__main__')\n"
        "except SystemExit as stop:\n"
        "    code = stop.code\n"
        "from django.apps import apps\n"
        "heavy = ('numpy', 'scipy', 'soundfile', 'jobs.models')\n"
        "loaded = sorted(m for m in heavy if m in sys.modules)\n"
        "sys.stderr.write(f'{code} {apps.ready} {loaded}')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.stderr == "0 False []", done.stderr
    assert done.stdout.startswith("usage: manage.py analyze")
    assert "--json" in done.stdout and "--kind" in done.stdout
    django_help = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "help", "analyze"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
    )  # fmt: skip
    assert django_help.returncode == 0, django_help.stderr
    assert done.stdout == django_help.stdout


def test_a_dash_h_file_after_double_dash_is_a_file_not_a_help_request(tmp_path: Path) -> None:
    done = run("--", "-h", "--json", tmp=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["analyze: -h: no such file"]


@pytest.mark.parametrize("args", [["--bogus", "x.wav"], ["--kind", "nonsense", "x.wav"], []])
def test_bad_usage_of_the_real_command_line_gives_one_line(args: list[str], tmp_path: Path) -> None:
    # manage.py looks at the command line before Django is set up (to start measuring early):
    # bad usage must still come out once, from the command itself.
    (tmp_path / "x.wav").write_bytes(b"RIFF")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'absent' / 'db.sqlite3'}"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "analyze", *args],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("analyze: "), done.stderr
