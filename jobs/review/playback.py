"""Which files a browser plays as they are, and the lossless review copy of those it cannot
(AIFF, RF64, Wave64, 64-bit float WAV): FLAC at the original depth and rate where FLAC holds
it, WAV otherwise. Never normalised, limited, dithered or made lossy. Plain Python: soundfile."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import IO, Any

# What browsers play in a WAV file (Chromium, Firefox and Safari alike), and FLAC's depths.
BROWSER_WAV_SUBTYPES = frozenset({"PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"})
FLAC_SUBTYPES = frozenset({"PCM_S8", "PCM_16", "PCM_24"})
# Old WAV codecs a browser may not decode; their decoded samples fit 16-bit exactly.
NARROW_CODECS = frozenset({"ULAW", "ALAW", "IMA_ADPCM", "MS_ADPCM", "GSM610"})
BLOCK_FRAMES = 65536


@dataclass(frozen=True)
class CopyFormat:
    container: str  # "FLAC" or "WAV"
    subtype: str
    note: str  # what the listener is told about the copy

    @property
    def extension(self) -> str:
        return ".flac" if self.container == "FLAC" else ".wav"


def review_copy_format(container: str, subtype: str) -> CopyFormat | None:
    """None when browsers play the original; otherwise the copy to make."""
    if container == "FLAC" or (container == "WAV" and subtype in BROWSER_WAV_SUBTYPES):
        return None
    if subtype == "PCM_U8":
        subtype = "PCM_S8"  # the same 256 levels, signed
    if subtype in FLAC_SUBTYPES:
        depth = subtype.removeprefix("PCM_S").removeprefix("PCM_")
        return CopyFormat("FLAC", subtype, f"lossless FLAC copy, {depth}-bit as the original")
    if subtype == "PCM_32":
        return CopyFormat("WAV", "PCM_32", "WAV copy, 32-bit as the original")
    if subtype == "FLOAT":
        return CopyFormat("WAV", "FLOAT", "WAV copy, 32-bit float as the original")
    if subtype == "DOUBLE":
        return CopyFormat(
            "WAV",
            "FLOAT",
            "32-bit float WAV copy of a 64-bit float original (browsers do not play 64-bit; "
            "the difference lies some 140 dB below full scale)",
        )
    if subtype in NARROW_CODECS:
        return CopyFormat("FLAC", "PCM_16", f"lossless FLAC copy of the decoded {subtype} audio")
    return None


@dataclass(frozen=True)
class WrittenCopy:
    size_bytes: int
    sha256: str
    frames: int


def write_review_copy(source: str | IO[bytes], target: str, fmt: CopyFormat) -> WrittenCopy:
    """Decode `source` block by block into `target` in `fmt`: integer files through int32
    (libsndfile shifts, never rounds, between integer depths), float files through float64 or
    float32, so every sample arrives as it was. Memory stays at one block."""
    # Imported here: every process imports this module (for the format rules), few decode.
    import numpy as np
    import soundfile as sf

    with sf.SoundFile(source) as src:
        dtype: Any = "int32"
        if src.subtype == "DOUBLE":
            dtype = "float64"
        elif src.subtype == "FLOAT":
            dtype = "float32"
        frames = 0
        with sf.SoundFile(
            target,
            "w",
            samplerate=src.samplerate,
            channels=src.channels,
            subtype=fmt.subtype,
            format=fmt.container,
        ) as dst:
            buf = np.empty((BLOCK_FRAMES, src.channels), dtype=dtype)
            while True:
                block = src.read(BLOCK_FRAMES, dtype=dtype, always_2d=True, out=buf)
                if not len(block):
                    break
                dst.write(block)
                frames += len(block)
    digest = hashlib.sha256()
    with open(target, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return WrittenCopy(os.path.getsize(target), digest.hexdigest(), frames)
