"""Measure one audio file in a single streaming pass with bounded memory: levels, loudness, true
peak, clipping, silence, stereo image and a waveform overview, into a typed Report."""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from .findings import Thresholds, phase_inverted
from .kweighting import KWeightedEnergy
from .loudness import from_energies
from .peaks import PeakBuilder
from .probe import probe
from .report import AudioFormat, Clipping, Report, Silence, Stereo, Waveform
from .runs import RunTracker, merge_events
from .truepeak import TruePeakMeter

# What a decoder says names the file's full path on the server: it goes to the log, and the
# report (which the client reads) says what is wrong in plain words.
log = logging.getLogger(__name__)

WAVEFORM_BUCKETS = 1000
MAX_EVENT_TIMES = 20
# A block is as many whole 10 ms units as fit in this many samples (all channels): 2 MB of
# float32, 5.4 s of stereo at 48 kHz. Each block costs a few hundred numpy calls of some
# microseconds each whatever its size: blocks of a second spent about a fifth of the measuring
# time on those. Much larger ones no longer fit the caches.
BLOCK_SAMPLES = 2**19
MIN_RATE, MAX_RATE = 8000, 768000  # outside this a header is damaged, not exotic
MAX_CHANNELS = 64
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
    report.container_mismatch = found.mismatch
    try:
        snd = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OSError) as exc:
        log.warning("decoder refused %s: %s", path, _short_error(exc))
        report.unreadable = (
            f"it looks like {found.description}, but its audio cannot be decoded (the header "
            "is damaged or the encoding is not one we read)"
        )
        report.format = _bare_format(found.container, found.lossy)
        return report
    with snd:
        subtype = snd.subtype or ""
        is_float = subtype in FLOAT_SUBTYPES
        lossy = found.lossy or subtype in LOSSY_SUBTYPES
        if subtype in LOSSY_SUBTYPES and not found.lossy:
            report.detected_as = f"{found.description} holding {subtype} audio (lossy)"
        frames = max(int(snd.frames), 0)
        channels = int(snd.channels)
        rate = int(snd.samplerate)
        report.format = AudioFormat(
            container=found.container, subtype=subtype, sample_rate=rate, channels=channels,
            frames=frames, duration_s=frames / rate if rate > 0 else 0.0,
            bit_depth=BIT_DEPTH.get(subtype), is_float=is_float, lossy=lossy,
        )  # fmt: skip
        if not MIN_RATE <= rate <= MAX_RATE:
            report.unreadable = f"its header gives an impossible sample rate ({rate:,} Hz)"
            return report
        if not 1 <= channels <= MAX_CHANNELS:
            report.unreadable = f"its header gives an impossible channel count ({channels})"
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


class _Reader:
    """Decodes blocks on its own thread, a couple of blocks ahead of the measuring."""

    def __init__(self, meter: _Meter) -> None:
        self.meter = meter
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="decode", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        m = self.meter
        try:
            buf = np.empty((m.block, m.ch), dtype=m.read_dtype)
            while not self.stopping.is_set():
                raw = m.snd.read(m.block, dtype=m.read_dtype, always_2d=True, out=buf)
                if raw.shape[0] == 0:
                    break
                self._put(m.convert(raw))
        except Exception as exc:  # a decode error is a finding about the file, reported in order
            self._put(exc)
        finally:
            self._put(None)  # always: the measuring thread waits for it

    def _put(self, item: Any) -> None:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Any:
        while True:
            item = self.queue.get()
            if item is None:
                return
            yield item

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()


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
        self.block = self.unit * max(1, BLOCK_SAMPLES // (self.unit * self.ch))
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

        ch = self.ch
        self.kweighting = KWeightedEnergy(self.rate, ch, self.unit)
        self.tp = TruePeakMeter(self.rate, ch, self.unit)
        self.clips = RunTracker(ch)
        self.flats = RunTracker(ch)
        self.flat_peak = 0.0
        self.flat_possible = True
        self.energies: list[NDArray[np.float64]] = []
        self.gram = np.zeros((ch, ch))
        self.sums = np.zeros(ch)
        self.full_scale = 0
        self.invalid = 0
        self.over = False
        self.peak_pos = 0.0
        self.peak_neg = 0.0
        self.first_sound = -1
        self.last_sound = -1
        self.dual = ch == 2
        self.nb = min(WAVEFORM_BUCKETS, fmt.frames)
        self.edges = (np.arange(self.nb + 1, dtype=np.int64) * fmt.frames) // self.nb
        self.wmax = np.full((ch, self.nb), -np.inf, dtype=np.float32)
        self.wmin = np.full((ch, self.nb), np.inf, dtype=np.float32)
        self.peaks = PeakBuilder(self.rate, ch, fmt.frames)

    def convert(self, raw: NDArray[Any]) -> tuple[NDArray[np.float32], NDArray[np.bool_] | None]:
        """Channel-major float32 (every reduction then runs along contiguous memory), always a
        fresh array (the read buffer is reused), plus the full-scale mask where the float32
        samples cannot tell (32-bit integer and 64-bit float files)."""
        if self.read_dtype == "int32":
            # int32 max rounds to 1.0 in float32: decide full scale on the codes first.
            t = raw.T
            mask = (t == np.iinfo(np.int32).max) | (t == np.iinfo(np.int32).min)
            return np.array(t, dtype=np.float32, order="C") * np.float32(2.0**-31), mask
        if self.read_dtype == "float64":
            t = raw.T
            return np.array(t, dtype=np.float32, order="C"), (t == 1.0) | (t == -1.0)
        return np.array(raw.T, dtype=np.float32, order="C"), None

    def run(self) -> None:
        """Three stages overlap: decoding, K-weighting and everything else. libsndfile, sosfilt
        and large numpy operations release the GIL, so on two cores the wall time approaches
        the slowest stage instead of the sum. The queues are short: memory stays bounded."""
        r = self.report
        reader = _Reader(self)
        kweigh = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kweight")
        pending: deque[Future[NDArray[np.float64]]] = deque()

        def collect(keep: int) -> None:
            while len(pending) > keep:
                self.energies.append(pending.popleft().result())

        offset = 0
        try:
            for item in reader:
                if isinstance(item, BaseException):
                    log.warning(
                        "decoding %s failed at frame %d: %s", r.path, offset, _short_error(item)
                    )
                    r.truncated = r.truncated or (
                        f"decoding failed at {offset / self.rate:.3f} s of "
                        f"{self.fmt.frames / self.rate:.3f} s"
                    )
                    break
                x, fs_mask = item
                top, bottom = self._scan(x, fs_mask, offset)  # cleans NaN/Inf in place
                # True peak: only chunks whose exact bound beats the sample peak are kept for
                # later; the bounds it returns spare the peaks' over finder the same work.
                bounds = self.tp.feed(x, max(self.peak_pos / self.pos_fs, -self.peak_neg))
                self.peaks.feed(x, bounds, self.tp.chunk)
                # K-weighting on its own thread, one block at a time and in order (its filter state
                # runs from block to block)
                pending.append(kweigh.submit(self.kweighting.feed, x))
                self._measure(x, fs_mask, offset, top, bottom)
                offset += x.shape[1]
                collect(keep=3)
            collect(keep=0)
        finally:
            reader.stop()
            kweigh.shutdown(wait=True, cancel_futures=True)
        self._finish(offset)

    def _scan(
        self, x: NDArray[np.float32], fs_mask: NDArray[np.bool_] | None, offset: int
    ) -> tuple[float, float]:
        """Waveform buckets and the block's extremes; NaN/Inf are counted and set to zero (so
        the other measures see them as silence), before the block goes to the K-weighting."""
        n = x.shape[1]
        edges = self.edges
        # Waveform buckets and the block's extremes in one reduction.
        lo_b = int(np.searchsorted(edges, offset, side="right")) - 1
        hi_b = int(np.searchsorted(edges, offset + n, side="left"))
        idx = np.maximum(edges[max(lo_b, 0) : hi_b] - offset, 0)
        idx = idx[idx < n]
        if len(idx) == 0 or idx[0] != 0:
            idx = np.concatenate([[0], idx])
        seg_max = np.maximum.reduceat(x, idx, axis=1)
        seg_min = np.minimum.reduceat(x, idx, axis=1)
        bmax = seg_max.max(axis=1)
        bmin = seg_min.min(axis=1)
        if not (np.isfinite(bmax).all() and np.isfinite(bmin).all()):
            bad = ~np.isfinite(x)
            self.invalid += int(bad.sum())
            x[bad] = 0.0
            if fs_mask is not None:
                fs_mask &= ~bad
            seg_max = np.maximum.reduceat(x, idx, axis=1)
            seg_min = np.minimum.reduceat(x, idx, axis=1)
            bmax = seg_max.max(axis=1)
            bmin = seg_min.min(axis=1)
        buckets = np.minimum(np.searchsorted(edges, idx + offset, side="right") - 1, self.nb - 1)
        self.wmax[:, buckets] = np.maximum(self.wmax[:, buckets], seg_max)
        self.wmin[:, buckets] = np.minimum(self.wmin[:, buckets], seg_min)
        top = float(bmax.max())
        bottom = float(bmin.min())
        self.peak_pos = max(self.peak_pos, top)
        self.peak_neg = min(self.peak_neg, bottom)
        return top, bottom

    def _measure(
        self,
        x: NDArray[np.float32],
        fs_mask: NDArray[np.bool_] | None,
        offset: int,
        top: float,
        bottom: float,
    ) -> None:
        """Everything else but the K-weighting, for one clean block (channels x frames)."""
        ch = self.ch

        # Clipping: runs at the format's full-scale codes; beyond +/-1.0 (float) is "over".
        if self.is_float:
            self.over = self.over or top > 1.0 or bottom < -1.0
        if fs_mask is None and (top >= self.pos_fs or bottom <= self.neg_fs):
            if self.is_float:
                fs_mask = (x == 1.0) | (x == -1.0)
            else:
                fs_mask = (x >= self.pos_fs) | (x <= self.neg_fs)
        if fs_mask is not None and not fs_mask.any():
            fs_mask = None
        if fs_mask is not None:
            self.full_scale += int(fs_mask.sum())
        self.clips.feed(fs_mask, x, offset)

        # Flat tops at the file's own peak (while that peak stays below full scale). The running
        # peak only grows and a higher one restarts the count, so at the end only runs at the
        # file's final peak remain.
        block_peak = max(top, -bottom)
        if block_peak >= self.pos_fs or (self.is_float and block_peak >= 1.0):
            self.flat_possible = False
        if self.flat_possible:
            if block_peak > self.flat_peak:
                self.flat_peak = block_peak
                self.flats = RunTracker(ch)
            if block_peak == self.flat_peak and self.flat_peak > 0.0:
                p = np.float32(self.flat_peak)
                self.flats.feed((x == p) | (x == -p), x, offset)
            else:
                self.flats.feed(None, x, offset)

        # DC, RMS and the stereo image from one small matrix product. einsum, not `@`: BLAS
        # would hand the block to its thread pool, whose spinning threads then compete with
        # the decoding and K-weighting threads for the same two cores (3x slower here).
        # Products and sums in float32 over each 10 ms unit, then added up in float64: as fast
        # as over the whole block, and 1e-8 accurate instead of 1e-5 (float32 running sums
        # over a block of seconds); `sum(dtype=float64)` would convert every sample first.
        n = x.shape[1]
        whole = n - n % self.unit
        xu = x[:, :whole].reshape(ch, whole // self.unit, self.unit)
        self.gram += np.einsum("iuj,kuj->iku", xu, xu).sum(axis=2, dtype=np.float64)
        sums = np.einsum("iuj->iu", xu).sum(axis=1, dtype=np.float64)
        if whole < n:  # the file's last block may end in part of a unit
            rest = x[:, whole:]
            self.gram += np.einsum("ij,kj->ik", rest, rest)
            sums += np.einsum("ij->i", rest)
        if not np.isfinite(sums).all():
            # Samples near float32's limit (a damaged float file) overflow a float32 sum; the
            # DC offset is still a number in float64.
            sums = x.sum(axis=1, dtype=np.float64)
        self.sums += sums
        if self.dual:
            self.dual = bool(np.array_equal(x[0], x[1]))

        # Digital silence at the edges.
        if top != 0.0 or bottom != 0.0:
            if self.first_sound < 0:
                self.first_sound = offset + int(np.flatnonzero(x.any(axis=0))[0])
            self.last_sound = offset + self._last_nonzero(x)

    @staticmethod
    def _last_nonzero(x: NDArray[np.float32]) -> int:
        end = x.shape[1]
        while end > 0:
            start = max(0, end - 1024)
            rows = np.flatnonzero(x[:, start:end].any(axis=0))
            if len(rows):
                last: int = start + int(rows[-1])
                return last
            end = start
        return -1

    def _finish(self, frames: int) -> None:
        r = self.report
        rate = self.rate
        if frames < self.fmt.frames and r.truncated is None:
            r.truncated = (
                f"the header promises {self.fmt.frames:,} frames but only {frames:,} could be "
                f"decoded ({frames / rate:.3f} of {self.fmt.frames / rate:.3f} s)"
            )
        if frames == 0:
            return
        r.invalid_samples = self.invalid
        r.over_full_scale = self.over
        if self.is_float:
            peak = max(self.peak_pos, -self.peak_neg)
        else:
            # Both full-scale codes read 0.00 dBFS: +8388607 is as full as -8388608.
            peak = max(self.peak_pos / self.pos_fs, -self.peak_neg)
        r.sample_peak_dbfs = db(peak)
        r.headroom_db = -r.sample_peak_dbfs if r.sample_peak_dbfs is not None else None
        true_peak = max(peak, self.tp.flush())
        r.true_peak_dbtp = db(true_peak)
        count = float(frames)
        ms = np.diag(self.gram) / count
        r.rms_dbfs_per_channel = [db(math.sqrt(v)) for v in ms]
        r.rms_dbfs = db(math.sqrt(float(ms.mean())))
        r.dc_offset = [float(v) for v in self.sums / count]

        events = merge_events(self.clips.finish(frames))
        r.clipping = Clipping(
            full_scale_samples=self.full_scale,
            events=len(events),
            first_events_s=[round(s / rate, 3) for s in events[:MAX_EVENT_TIMES]],
        )
        if self.flat_possible and self.flat_peak > 0.0:
            runs = self.flats.finish(frames)
            if len(runs):
                # A cornered flat top: both neighbours (where they exist) are more than two
                # quantisation steps away from the plateau. The rounded crest of a slow wave
                # steps off its plateau by one step; a clipped-then-attenuated one falls off a
                # corner.
                step = 2.0 * self.quantum
                before = np.abs(np.abs(runs[:, 2]) - self.flat_peak)
                after = np.abs(np.abs(runs[:, 3]) - self.flat_peak)
                cornered = (np.isnan(runs[:, 2]) | (before > step)) & (
                    np.isnan(runs[:, 3]) | (after > step)
                )
                flat_events = merge_events(runs[cornered])
                r.clipping.flat_top_events = len(flat_events)
                r.clipping.first_flat_tops_s = [
                    round(s / rate, 3) for s in flat_events[:MAX_EVENT_TIMES]
                ]

        if self.last_sound < 0:
            r.silence = Silence(
                leading_s=frames / rate, trailing_s=frames / rate, fully_silent=True
            )
        else:
            r.silence = Silence(
                leading_s=self.first_sound / rate, trailing_s=(frames - 1 - self.last_sound) / rate
            )

        if self.ch == 2:
            g = self.gram
            denom = math.sqrt(g[0, 0] * g[1, 1])
            corr = float(np.clip(g[0, 1] / denom, -1.0, 1.0)) if denom > 0.0 else None
            r.stereo = Stereo(
                correlation=corr,
                dual_mono=self.dual and self.last_sound >= 0,
                phase_inverted=phase_inverted(corr, self.limits),
            )

        wmax, wmin = self.wmax, self.wmin
        wmax[~np.isfinite(wmax)] = 0.0
        wmin[~np.isfinite(wmin)] = 0.0
        if not self.is_float:
            wmax = np.minimum(wmax / np.float32(self.pos_fs), np.float32(1.0))
        r.peaks = self.peaks.finish(true_peak).to_bytes()
        r.waveform = Waveform(
            buckets=int(wmax.shape[1]),
            min=[[round(float(v), 5) for v in row] for row in wmin],
            max=[[round(float(v), 5) for v in row] for row in wmax],
        )

        energy = np.concatenate(self.energies) if self.energies else np.zeros(0)
        loud = from_energies(energy, self.unit)
        r.integrated_lufs = loud.integrated_lufs
        r.loudness_range_lu = loud.loudness_range_lu
        r.max_momentary_lufs = loud.max_momentary_lufs
        r.max_short_term_lufs = loud.max_short_term_lufs
        r.short_term_lufs = loud.short_term_lufs
