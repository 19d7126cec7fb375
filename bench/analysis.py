"""Benchmark the audio measurement engine against ffmpeg's ebur128 filter (same file, same run).

    .venv/bin/python bench/analysis.py            # 5-minute file + one-hour file
    .venv/bin/python bench/analysis.py --short    # skip the one-hour file

Prints (a) our whole per-file analysis time as a ratio to
`ffmpeg -i FILE -af ebur128=peak=true -f null -` on a 5-minute stereo 48 kHz 24-bit music-like
WAV (best of 3 each, interleaved); both the in-process analysis and the isolated one (a forked
child per file, as the worker and the `analyze` command run it) are timed; (b) the same as a
multiple of plain decoding (`soundfile.read`); (e) `manage.py analyze` on four such files as a
whole process (start-up included) against four ffmpeg runs, and `manage.py analyze --help` alone
(start-up imports only what the command needs); (c) peak RSS of the analysis of a one-hour 96 kHz
stereo 32-bit float file, in a fresh process; (d) integrated loudness and true peak next to
ffmpeg's and libebur128's (pyebur128). The bars: at most 0.5x ffmpeg per file
(intake-analysis.md), at most 1.5x plain decoding per file, at most 0.4x ffmpeg for the whole
`analyze` process on four files, `--help` well under 0.5 s, under 300 MB for the one-hour file.
The last lines repeat the three command-line figures next to their bars, with the load average:
on a shared machine the ratios move with what else runs.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.audio.isolate import measure_in_process, measure_isolated  # noqa: E402
from analysis.audio.synth import music_like  # noqa: E402

FFMPEG = ["ffmpeg", "-nostats", "-hide_banner", "-nostdin"]


def make_five_minutes(path: Path) -> None:
    with sf.SoundFile(str(path), "w", 48000, 2, "PCM_24") as f:
        for second in range(300):
            f.write(music_like(second, 1.0, 48000))


def make_one_hour(path: Path) -> None:
    # 30 s of material, written 120 times with a different gain each time: the measuring code
    # reads every sample; generating an hour of fresh synthesis would take minutes.
    rate = 96000
    segment = music_like(0.0, 30.0, rate, seed=11)
    gains = np.random.default_rng(5).uniform(0.3, 1.0, 120).astype(np.float32)
    with sf.SoundFile(str(path), "w", rate, 2, "FLOAT") as f:
        for g in gains:
            f.write(segment * g)


def best_of(runs: int, fns: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Interleaved, so background load on a shared machine hits every contender alike."""
    best = {name: math.inf for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def ffmpeg_ebur128(path: Path) -> tuple[float, float]:
    done = subprocess.run(
        [*FFMPEG, "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    summary = done.stderr[done.stderr.rfind("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))  # type: ignore[union-attr]
    return integrated, peak


def libebur128(path: Path) -> tuple[float, float]:
    import pyebur128 as pe

    with sf.SoundFile(str(path)) as f:
        mode = pe.MeasurementMode.MODE_I | pe.MeasurementMode.MODE_TRUE_PEAK
        state = pe.R128State(f.channels, f.samplerate, mode)
        for block in f.blocks(blocksize=65536, dtype="float64"):
            state.add_frames(np.ascontiguousarray(block).ravel(), len(block))
        tp = max(pe.get_true_peak(state, c) for c in range(f.channels))
    return pe.get_loudness_global(state), 20 * math.log10(tp)


def rss_of_fresh_process(path: Path, isolated: bool) -> tuple[float, float]:
    """Peak RSS (MB) and wall time of measuring `path` in a new interpreter.

    Measured by /usr/bin/time (GNU time's %M: the most RSS the process, or a child it waited
    for, ever had). Not by wait4() from this script: the child starts as a copy of this process
    before its exec, and Linux counts the high-water mark of that copy (this script holds the
    synthesised audio) in the child's ru_maxrss. GNU time forks from its own small process.
    """
    func = "measure_isolated" if isolated else "measure_in_process"
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
        f"from analysis.audio.isolate import {func}; r = {func}({str(path)!r}); "
        "assert r.integrated_lufs is not None, r.findings"
    )
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "maxrss_kb=%M", sys.executable, "-c", code],
        capture_output=True, text=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the one-hour analysis failed: {done.stderr.strip()[-500:]}")
    kb = int(re.findall(r"maxrss_kb=(\d+)", done.stderr)[-1])
    return kb / 1024.0, elapsed


def manage(*args: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        capture_output=True, check=True, cwd=ROOT,
        # The embedded default: no database server is needed to measure files.
        env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")},
    )  # fmt: skip


def children_cpu() -> float:
    """Processor seconds (user + system) of every finished child so far, grandchildren that
    were waited for included (the command's measuring children)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def whole_process(files: list[Path], runs: int) -> dict[str, float]:
    """(e) The command line as a person runs it: a fresh process, start-up included. Processor
    seconds are printed too: on a loaded machine the wall times depend on how many cores the
    contenders get (ffmpeg needs one, the command uses every core it can have)."""
    cpu: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            before = children_cpu()
            fn()
            cpu[name] = min(cpu.get(name, math.inf), children_cpu() - before)

        return run

    times = best_of(runs, {name: timed(name, fn) for name, fn in {
        "ffmpeg ebur128=peak=true x4": lambda: [ffmpeg_ebur128(f) for f in files],
        "manage.py analyze 4 files": lambda: manage("analyze", *map(str, files), "--json"),
        "manage.py analyze --help": lambda: manage("analyze", "--help"),
    }.items()})  # fmt: skip
    print(f"\nfour 5-minute files, whole processes, best of {runs} (wall seconds, cpu seconds):")
    for name, seconds in times.items():
        print(f"  {name:<28} {seconds:7.3f} s  cpu {cpu[name]:6.3f} s")
    ratio = times["manage.py analyze 4 files"] / times["ffmpeg ebur128=peak=true x4"]
    print(f"(e) manage.py analyze, 4 files  {ratio:5.2f}x four ffmpeg runs   (bar: <= 0.40x)")
    cpu_ratio = cpu["manage.py analyze 4 files"] / cpu["ffmpeg ebur128=peak=true x4"]
    cores = os.cpu_count() or 1
    print(f"    in processor seconds        {cpu_ratio:5.2f}x   (the wall ratio's floor on "
          f"{cores} idle cores: {cpu_ratio / cores:4.2f}x)")  # fmt: skip
    print(
        f"(e) manage.py analyze --help    {times['manage.py analyze --help']:5.2f} s"
        "   (bar: < 0.5 s)"
    )
    return {"whole": ratio, "help": times["manage.py analyze --help"]}


def load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="skip the one-hour file")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {load()} at the start")
    with tempfile.TemporaryDirectory(prefix="headroom-bench-") as tmp:
        five = Path(tmp) / "five_minutes_48k_24bit.wav"
        print("making a 5-minute stereo 48 kHz 24-bit music-like WAV ...", flush=True)
        make_five_minutes(five)
        measure_isolated(five)  # warm the page cache and the imports for everyone alike

        times = best_of(args.runs, {
            "ffmpeg ebur128=peak=true": lambda: ffmpeg_ebur128(five),
            "ours, in process": lambda: measure_in_process(five),
            "ours, isolated child": lambda: measure_isolated(five),
            "soundfile.read": lambda: sf.read(str(five)),
        })  # fmt: skip
        ff = times["ffmpeg ebur128=peak=true"]
        decode = times["soundfile.read"]
        print(f"\n5-minute file, best of {args.runs} (wall seconds):")
        for name, seconds in times.items():
            print(f"  {name:<28} {seconds:7.3f} s")
        for name in ("ours, in process", "ours, isolated child"):
            print(f"(a) {name:<22} {times[name] / ff:5.2f}x ffmpeg   (bar: <= 0.50x)")
        for name in ("ours, in process", "ours, isolated child"):
            print(f"(b) {name:<22} {times[name] / decode:5.2f}x soundfile.read   (bar: <= 1.50x)")

        files = [five]
        for i in range(1, 4):
            copy = Path(tmp) / f"five_minutes_{i}.wav"
            shutil.copyfile(five, copy)
            files.append(copy)
        command_line = whole_process(files, args.runs)

        report = measure_in_process(five)
        ff_i, ff_tp = ffmpeg_ebur128(five)
        lib_i, lib_tp = libebur128(five)
        print("\n(d) integrated loudness and true peak, 5-minute file:")
        print(f"  ours       {report.integrated_lufs:7.2f} LUFS {report.true_peak_dbtp:6.2f} dBTP")
        print(f"  ffmpeg     {ff_i:7.2f} LUFS {ff_tp:6.2f} dBTP")
        print(f"  libebur128 {lib_i:7.2f} LUFS {lib_tp:6.2f} dBTP")

        if not args.short:
            hour = Path(tmp) / "one_hour_96k_float.wav"
            print("\nmaking a one-hour stereo 96 kHz 32-bit float WAV ...", flush=True)
            make_one_hour(hour)
            size = hour.stat().st_size / 1024**3
            for isolated in (False, True):
                rss, wall = rss_of_fresh_process(hour, isolated)
                how = "isolated child" if isolated else "in process"
                print(f"(c) one-hour file ({size:.2f} GiB), {how:<15} peak RSS {rss:6.1f} MB "
                      f"(bar: < 300 MB), {wall:5.1f} s")  # fmt: skip

        # The command-line bars of the performance round (issue 14), from the figures above.
        per_file = times["ours, in process"] / decode
        print(f"\ncommand-line bars (load average {load()} at the end):")
        for label, value, bar, unit in (
            ("analyze, 4 files, whole process", command_line["whole"], 0.40, "x four ffmpeg runs"),
            ("analyze, per file after start-up", per_file, 1.50, "x soundfile.read"),
            ("analyze --help", command_line["help"], 0.50, " s"),
        ):
            verdict = "within" if value <= bar else "OVER"
            print(f"  {label:<34} {value:5.2f}{unit:<19} bar {bar:4.2f}  {verdict}")


if __name__ == "__main__":
    main()
