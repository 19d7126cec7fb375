"""Measure one audio file in a single streaming pass with bounded memory: levels, loudness, true
peak, clipping, silence, stereo image and a waveform overview, into a typed Report."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import soundfile as sf
from numpy.typing import NDArray
from scipy.signal import sosfilt, tf2sos

from .filters import channel_weights, k_weighting
from .findings import Thresholds
from .isolate import analyze_file, analyze_file_in_process
from .loudness import from_energies
from .probe import probe
from .report import AudioFormat, Clipping, Report, Silence, Stereo, Waveform
from .runs import RunTracker, merge_events
from .truepeak import TruePeakMeter

__all__ = ["analyze_file", "analyze_file_in_process", "measure_file"]

WAVEFORM_BUCKETS = 1000
MAX_EVENT_TIMES = 20
BLOCK_UNITS = 100  # one block = 100 units of 10 ms = 1 s: small enough to stay in cache
BIT_DEPTH = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}
FLOAT_SUBTYPES = {"FLOAT", "DOUBLE"}
LOSSY_SUBTYPES = {"ULAW", "ALAW", "IMA_ADPCM", "MS_ADPCM", "GSM610", "G721_32", "G723_24",
                  "G723_40", "VOX_ADPCM", "NMS_ADPCM_16", "NMS_ADPCM_24", "NMS_ADPCM_32",
                  "MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III", "VORBIS", "OPUS"}  # fmt: skip


def db(value: float) -> float | None:
    return 20.0 * math.log10(value) if value > 0.0 else None


def measure_file(path: str | os.PathLike[str], *, thresholds: Thresholds | None = None) -> Report:
    """Measure `path`. Problems with the file itself end up in the Report (`unreadable`,
    `truncated`, `invalid_samples`, zero frames), never as an exception."""
    limits = thresholds or Thresholds()
    report = Report(path=str(path), format=None)
    found = probe(path)
    report.detected_as = found.description
    if found.problem is not None or not found.decode:
        report.unreadable = found.problem or f"not audio we can read: {found.description}"
        report.truncated = found.truncated
        report.format = _bare_format(found.container, found.lossy)
        return report
    report.truncated = found.truncated
    try:
        snd = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OSError) as exc:
        report.unreadable = f"{found.description} that cannot be decoded ({_short_error(exc)})"
        report.format = _bare_format(found.container, found.lossy)
        return report
    with snd:
        subtype = snd.subtype or ""
        is_float = subtype in FLOAT_SUBTYPES
        lossy = found.lossy or subtype in LOSSY_SUBTYPES
        frames = max(int(snd.frames), 0)
        channels = int(snd.channels)
        rate = int(snd.samplerate)
        report.format = AudioFormat(
            container=found.container, subtype=subtype, sample_rate=rate, channels=channels,
            frames=frames, duration_s=frames / rate if rate > 0 else 0.0,
            bit_depth=BIT_DEPTH.get(subtype), is_float=is_float, lossy=lossy,
        )  # fmt: skip
        if rate <= 0 or channels <= 0:
            report.unreadable = "the header gives no sample rate or no channels"
            return report
        if frames == 0:
            return report  # file_findings reports empty_file
        decoded = frames * channels * 4
        if decoded > limits.max_decoded_bytes:
            report.unreadable = (
                f"it would decode to {decoded / 1024**3:.1f} GiB, above the "
                f"{limits.max_decoded_bytes / 1024**3:.1f} GiB limit per file"
            )
            return report
        _Meter(snd, report, limits).run()
    return report


def _short_error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:200] if text else type(exc).__name__


def _bare_format(container: str, lossy: bool) -> AudioFormat:
    return AudioFormat(container, "", 0, 0, 0, 0.0, None, False, lossy)


class _Meter:
    """One streaming pass over an open file; every accumulator is O(1) or O(seconds) in size."""

    def __init__(self, snd: sf.SoundFile, report: Report, limits: Thresholds) -> None:
        fmt = report.format
        assert fmt is not None
        self.snd = snd
        self.report = report
        self.limits = limits
        self.fmt = fmt
        self.rate = fmt.sample_rate
        self.ch = fmt.channels
        self.unit = max(1, round(self.rate / 100))  # 10 ms
        self.block = self.unit * BLOCK_UNITS
        # Reading integer files: float32 represents every 8/16/24-bit code exactly (libsndfile
        # scales by a power of two), so full scale is compared exactly: positive full scale of
        # 24-bit is 8388607/8388608, which `abs(x) >= 1.0` would miss. 32-bit codes do not fit
        # in float32, so those files are read as int32 and compared as codes.
        bits = fmt.bit_depth
        self.read_dtype = "float32"
        if bits is not None:
            self.pos_fs = (2 ** (bits - 1) - 1) / 2 ** (bits - 1)
            self.quantum = 2.0 ** -(bits - 1)
            if bits == 32:
                self.read_dtype = "int32"
        else:
            self.pos_fs = 1.0
            # Flat tops in float files must beat two 16-bit steps too, in case the material was
            # 16-bit once: a rounded crest is then a few identical samples as well.
            self.quantum = 2.0**-15
            if fmt.subtype == "DOUBLE":
                self.read_dtype = "float64"
        self.neg_fs = -1.0
        self.is_float = fmt.is_float

    def run(self) -> None:
        r = self.report
        ch = self.ch
        frames_declared = self.fmt.frames
        # Second-order sections in float32: as accurate as float64 here (1e-5 dB at 48 kHz,
        # 5e-4 dB at 192 kHz) and twice as fast; a single 4th-order float32 filter is not
        # (0.3 dB off at 48 kHz: its poles sit too close to z = 1).
        sos = tf2sos(*k_weighting(self.rate)).astype(np.float32)
        zi = np.zeros((sos.shape[0], ch, 2), dtype=np.float32)
        weights = channel_weights(ch).astype(np.float32)
        tp = TruePeakMeter(self.rate, ch, self.unit)
        clips = RunTracker(ch)
        flats = RunTracker(ch)
        flat_peak = 0.0
        flat_possible = True
        energies: list[NDArray[np.float64]] = []
        gram = np.zeros((ch, ch))
        sums = np.zeros(ch)
        full_scale = 0
        invalid = 0
        over = False
        peak_pos = 0.0
        peak_neg = 0.0
        first_sound = -1
        last_sound = -1
        dual = ch == 2
        nb = min(WAVEFORM_BUCKETS, frames_declared)
        edges = (np.arange(nb + 1, dtype=np.int64) * frames_declared) // nb
        wmax = np.full((ch, nb), -np.inf, dtype=np.float32)
        wmin = np.full((ch, nb), np.inf, dtype=np.float32)
        buf = np.empty((self.block, ch), dtype=self.read_dtype)
        offset = 0
        while True:
            try:
                raw = self.snd.read(self.block, dtype=self.read_dtype, always_2d=True, out=buf)
            except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
                r.truncated = r.truncated or (
                    f"decoding failed at {offset / self.rate:.3f} s of "
                    f"{frames_declared / self.rate:.3f} s ({_short_error(exc)})"
                )
                break
            n = raw.shape[0]
            if n == 0:
                break
            # Channel-major from here on: every reduction then runs along contiguous memory.
            if self.read_dtype == "int32":
                x, fs_mask = self._from_int32(raw.T)
            elif self.read_dtype == "float64":
                x, fs_mask = self._from_float64(raw.T)
            else:
                x, fs_mask = np.ascontiguousarray(raw.T), None

            # Waveform buckets and the block's extremes in one reduction.
            lo_b = int(np.searchsorted(edges, offset, side="right")) - 1
            hi_b = int(np.searchsorted(edges, offset + n, side="left"))
            idx = np.clip(edges[max(lo_b, 0) : hi_b] - offset, 0, None)
            idx = idx[idx < n]
            if len(idx) == 0 or idx[0] != 0:
                idx = np.concatenate([[0], idx])
            seg_max = np.maximum.reduceat(x, idx, axis=1)
            seg_min = np.minimum.reduceat(x, idx, axis=1)
            bmax = seg_max.max(axis=1)
            bmin = seg_min.min(axis=1)
            if not (np.isfinite(bmax).all() and np.isfinite(bmin).all()):
                bad = ~np.isfinite(x)
                invalid += int(bad.sum())
                x = np.where(bad, np.float32(0.0), x).astype(np.float32)
                if fs_mask is not None:
                    fs_mask &= ~bad
                seg_max = np.maximum.reduceat(x, idx, axis=1)
                seg_min = np.minimum.reduceat(x, idx, axis=1)
                bmax = seg_max.max(axis=1)
                bmin = seg_min.min(axis=1)
            buckets = np.minimum(np.searchsorted(edges, idx + offset, side="right") - 1, nb - 1)
            wmax[:, buckets] = np.maximum(wmax[:, buckets], seg_max)
            wmin[:, buckets] = np.minimum(wmin[:, buckets], seg_min)
            top = float(bmax.max())
            bottom = float(bmin.min())
            peak_pos = max(peak_pos, top)
            peak_neg = min(peak_neg, bottom)

            # Clipping: runs at the format's full-scale codes; beyond +/-1.0 (float) is "over".
            if self.is_float:
                over = over or top > 1.0 or bottom < -1.0
            if fs_mask is None and (top >= self.pos_fs or bottom <= self.neg_fs):
                if self.is_float:
                    fs_mask = (x == 1.0) | (x == -1.0)
                else:
                    fs_mask = (x >= self.pos_fs) | (x <= self.neg_fs)
            if fs_mask is not None and not fs_mask.any():
                fs_mask = None
            if fs_mask is not None:
                full_scale += int(fs_mask.sum())
            clips.feed(fs_mask, x, offset)

            # Flat tops at the file's own peak (while that peak stays below full scale). The
            # running peak only grows and a higher one restarts the count, so at the end only
            # runs at the file's final peak remain.
            block_peak = max(top, -bottom)
            if block_peak >= self.pos_fs or (self.is_float and block_peak >= 1.0):
                flat_possible = False
            if flat_possible:
                if block_peak > flat_peak:
                    flat_peak = block_peak
                    flats = RunTracker(ch)
                if block_peak == flat_peak and flat_peak > 0.0:
                    p = np.float32(flat_peak)
                    flats.feed((x == p) | (x == -p), x, offset)
                else:
                    flats.feed(None, x, offset)

            # DC, RMS and the stereo image from one small matrix product.
            gram += (x @ x.T).astype(np.float64)
            sums += x.sum(axis=1, dtype=np.float64)
            if dual:
                dual = bool(np.array_equal(x[0], x[1]))

            # Digital silence at the edges.
            if top != 0.0 or bottom != 0.0:
                if first_sound < 0:
                    first_sound = offset + int(np.flatnonzero(x.any(axis=0))[0])
                last_sound = offset + self._last_nonzero(x)

            # True peak: only chunks whose exact bound beats the sample peak are kept for later.
            tp.feed(x, max(peak_pos / self.pos_fs, -peak_neg))

            # K-weighting with the filter state carried across blocks, then energy per 10 ms.
            y, zi = sosfilt(sos, x, axis=1, zi=zi)
            units = n // self.unit
            if units:
                yu = y[:, : units * self.unit].reshape(ch, units, self.unit)
                e = np.einsum("cij,cij->ci", yu, yu)
                energies.append((weights @ e).astype(np.float64))
            offset += n
        self._finish(
            offset, energies, gram, sums, full_scale, invalid, over, peak_pos, peak_neg,
            first_sound, last_sound, dual, wmin, wmax, tp, clips, flats, flat_possible, flat_peak,
        )  # fmt: skip

    def _from_int32(self, raw: NDArray[Any]) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
        # 32-bit codes do not fit in float32 (int32 max rounds to 1.0), so full scale is decided
        # on the codes themselves before converting.
        mask = (raw == np.iinfo(np.int32).max) | (raw == np.iinfo(np.int32).min)
        x = np.ascontiguousarray(raw, dtype=np.float32) * np.float32(2.0**-31)
        return x, mask

    def _from_float64(self, raw: NDArray[Any]) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
        mask = (raw == 1.0) | (raw == -1.0)
        return np.ascontiguousarray(raw, dtype=np.float32), mask

    @staticmethod
    def _last_nonzero(x: NDArray[np.float32]) -> int:
        end = x.shape[1]
        while end > 0:
            start = max(0, end - 1024)
            rows = np.flatnonzero(x[:, start:end].any(axis=0))
            if len(rows):
                return start + int(rows[-1])
            end = start
        return -1

    def _finish(
        self, frames: int, energies: list[NDArray[np.float64]], gram: NDArray[np.float64],
        sums: NDArray[np.float64], full_scale: int, invalid: int, over: bool, peak_pos: float,
        peak_neg: float, first_sound: int, last_sound: int, dual: bool, wmin: NDArray[np.float32],
        wmax: NDArray[np.float32], tp: Any, clips: RunTracker, flats: RunTracker,
        flat_possible: bool, flat_peak: float,
    ) -> None:  # fmt: skip
        r = self.report
        rate = self.rate
        if frames < self.fmt.frames and r.truncated is None:
            r.truncated = (
                f"the header promises {self.fmt.frames:,} frames but only {frames:,} could be "
                f"decoded ({frames / rate:.3f} of {self.fmt.frames / rate:.3f} s)"
            )
        if frames == 0:
            return
        r.invalid_samples = invalid
        r.over_full_scale = over
        if self.is_float:
            peak = max(peak_pos, -peak_neg)
        else:
            # Both full-scale codes read 0.00 dBFS: +8388607 is as full as -8388608.
            peak = max(peak_pos / self.pos_fs, -peak_neg)
        r.sample_peak_dbfs = db(peak)
        r.headroom_db = -r.sample_peak_dbfs if r.sample_peak_dbfs is not None else None
        r.true_peak_dbtp = db(max(peak, tp.flush()))
        count = float(frames)
        ms = np.diag(gram) / count
        r.rms_dbfs_per_channel = [db(math.sqrt(v)) for v in ms]
        r.rms_dbfs = db(math.sqrt(float(ms.mean())))
        r.dc_offset = [float(v) for v in sums / count]

        clip_runs = clips.finish(frames)
        events = merge_events(clip_runs)
        r.clipping = Clipping(
            full_scale_samples=full_scale,
            events=len(events),
            first_events_s=[round(s / rate, 3) for s in events[:MAX_EVENT_TIMES]],
        )
        if flat_possible and flat_peak > 0.0:
            runs = flats.finish(frames)
            if len(runs):
                step = 2.0 * self.quantum
                # A cornered flat top: both neighbours (where they exist) are more than two
                # quantisation steps away from the plateau. A rounded crest of a slow wave steps
                # off its plateau by one step, a clipped-then-attenuated one falls off a corner.
                plateau = flat_peak
                before = np.abs(np.abs(runs[:, 2]) - plateau)
                after = np.abs(np.abs(runs[:, 3]) - plateau)
                cornered = (np.isnan(runs[:, 2]) | (before > step)) & (
                    np.isnan(runs[:, 3]) | (after > step)
                )
                flat_events = merge_events(runs[cornered])
                r.clipping.flat_top_events = len(flat_events)
                r.clipping.first_flat_tops_s = [
                    round(s / rate, 3) for s in flat_events[:MAX_EVENT_TIMES]
                ]

        if last_sound < 0:
            r.silence = Silence(
                leading_s=frames / rate, trailing_s=frames / rate, fully_silent=True
            )
        else:
            r.silence = Silence(
                leading_s=first_sound / rate, trailing_s=(frames - 1 - last_sound) / rate
            )

        if self.ch == 2:
            denom = math.sqrt(gram[0, 0] * gram[1, 1])
            corr = float(np.clip(gram[0, 1] / denom, -1.0, 1.0)) if denom > 0.0 else None
            r.stereo = Stereo(
                correlation=corr,
                dual_mono=dual and last_sound >= 0,
                phase_inverted=corr is not None and corr < self.limits.phase_correlation,
            )

        wmax[~np.isfinite(wmax)] = 0.0
        wmin[~np.isfinite(wmin)] = 0.0
        if not self.is_float:
            wmax = np.minimum(wmax / np.float32(self.pos_fs), np.float32(1.0))
        r.waveform = Waveform(
            buckets=int(wmax.shape[1]),
            min=[[round(float(v), 5) for v in row] for row in wmin],
            max=[[round(float(v), 5) for v in row] for row in wmax],
        )

        energy = np.concatenate(energies) if energies else np.zeros(0)
        loud = from_energies(energy, self.unit)
        r.integrated_lufs = loud.integrated_lufs
        r.loudness_range_lu = loud.loudness_range_lu
        r.max_momentary_lufs = loud.max_momentary_lufs
        r.max_short_term_lufs = loud.max_short_term_lufs
        r.short_term_lufs = loud.short_term_lufs
