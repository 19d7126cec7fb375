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
import soundfile as sf

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


def test_bad_usage_exits_2_with_one_line(tmp_path: Path) -> None:
    for args in ([], [str(tmp_path / "missing.wav"), "--json"], ["--bogus"]):
        done = run(*args, tmp=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
