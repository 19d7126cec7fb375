"""Decide what a file is from its bytes (sniff.py) before any decoder sees it, and check that the
header's promises (chunk sizes) fit in the file: libsndfile silently reads a truncated WAV or
AIFF."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from .integrity import chunks_end, container_mismatch, declared_end
from .sniff import HEAD_BYTES, reader, sniff

# Containers we measure; MP3 and Ogg Vorbis/Opus are lossy but libsndfile decodes them, so they
# are measured too (with a lossy_format warning). Everything else is reported, never decoded.
MEASURED = {"WAV", "RF64", "AIFF", "AIFC", "FLAC"}
DECODABLE_LOSSY = {"MP3", "OGG"}
MAX_CHUNKS = 10_000  # a hostile file can hold millions of empty chunks; stop walking well before


@dataclass
class Probe:
    container: str  # "WAV", "RF64", "AIFF", "AIFC", "FLAC", "MP3", "OGG", "ZIP", "HTML", ...
    description: str  # what it looks like, in words a client understands
    lossy: bool = False
    decode: bool = False  # hand it to libsndfile
    truncated: str | None = None  # what the header promised versus what is there
    mismatch: str | None = None  # the container's sizes disagree with the file (integrity.py)
    problem: str | None = None  # why it cannot be read (None when it can be tried)


def probe(path: str | os.PathLike[str]) -> Probe:
    """Sniff the magic bytes and walk the chunk headers. Never raises for a bad file."""
    try:
        size = Path(path).stat().st_size
        with open(path, "rb") as f:
            if size == 0:
                return Probe(
                    "empty", "an empty file (0 bytes)", problem="the file is empty (0 bytes)"
                )
            head = f.read(HEAD_BYTES)
            found = sniff(head, read_at=reader(f))
            if found.container in ("WAV", "RF64"):
                return _walk_riff(f, size, head)
            if found.container in ("AIFF", "AIFC"):
                return _walk_aiff(f, size, head)
            if found.container == "FLAC":
                return _walk_flac(f, size, found.offset)
            if found.lossy:
                decode = found.container in DECODABLE_LOSSY
                problem = None if decode else f"{found.description} cannot be decoded here"
                return Probe(
                    found.container, found.description, lossy=True, decode=decode, problem=problem
                )
            return Probe(
                found.container,
                found.description,
                problem=f"not a WAV, AIFF or FLAC file: it looks like {found.description}",
            )
    except OSError:  # the error names the path on the server; the caller logs it if it cares
        return Probe(
            "unknown", "a file that cannot be opened", problem="the file could not be opened"
        )


def _short(promised: int, held: int, what: str) -> str:
    return (
        f"the header promises {promised:,} bytes of {what} but the file holds only {held:,} "
        f"({100.0 * held / promised:.1f} %): the upload or export was cut short"
    )


def _no_audio_chunk(probe: Probe, *, past_end: bool, missing: str) -> Probe:
    """The chunk walk ended without the audio chunk: cut short before it, or never there."""
    if past_end:
        probe.truncated = "the file ends before its audio data begins: the upload was cut short"
        probe.problem = probe.truncated
    else:
        probe.problem = missing
    return probe


def _walk_riff(f: object, size: int, head: bytes) -> Probe:
    kind = head[:4].decode("ascii")
    container = "RF64" if kind == "RF64" else "WAV"
    endian = ">" if kind == "RIFX" else "<"
    probe = Probe(container, f"a {container} file", decode=True)
    ds64_data: int | None = None
    ds64_riff: int | None = None
    pos = 12
    for _ in range(MAX_CHUNKS):
        if pos + 8 > size:
            break
        f.seek(pos)  # type: ignore[attr-defined]
        hdr = f.read(8)  # type: ignore[attr-defined]
        cid, csz = hdr[:4], struct.unpack(endian + "I", hdr[4:8])[0]
        if cid == b"ds64":
            body = f.read(24)  # type: ignore[attr-defined]
            if len(body) == 24:
                ds64_riff, ds64_data = struct.unpack("<QQQ", body)[:2]
        if cid == b"data":
            if kind == "RF64" and csz == 0xFFFFFFFF and ds64_data is not None:
                csz = ds64_data
            elif csz == 0xFFFFFFFF:
                return probe  # a streaming writer's "until the end of the file": nothing promised
            held = size - (pos + 8)
            if csz > held:
                probe.truncated = _short(csz, held, "audio")
            else:
                raw = struct.unpack(endian + "I", head[4:8])[0]
                probe.mismatch = container_mismatch(
                    container=container,
                    declared=declared_end(raw, ds64_size=ds64_riff if kind == "RF64" else None),
                    ends_at=chunks_end(f, pos + 8 + csz + (csz & 1), size, endian),  # type: ignore[arg-type]
                    size=size,
                )
            return probe
        pos += 8 + csz + (csz & 1)
    return _no_audio_chunk(
        probe, past_end=pos > size, missing=f"this {container} file has no audio data chunk"
    )


def _walk_aiff(f: object, size: int, head: bytes) -> Probe:
    container = head[8:12].decode("ascii")
    probe = Probe(container, f"an {container} file", decode=True)
    pos = 12
    for _ in range(MAX_CHUNKS):
        if pos + 8 > size:
            break
        f.seek(pos)  # type: ignore[attr-defined]
        hdr = f.read(8)  # type: ignore[attr-defined]
        cid, csz = hdr[:4], struct.unpack(">I", hdr[4:8])[0]
        if cid == b"SSND":
            held = size - (pos + 8)
            if csz > held:
                probe.truncated = _short(csz, held, "audio")
            else:
                probe.mismatch = container_mismatch(
                    container=container,
                    declared=declared_end(struct.unpack(">I", head[4:8])[0]),
                    ends_at=chunks_end(f, pos + 8 + csz + (csz & 1), size, ">"),  # type: ignore[arg-type]
                    size=size,
                )
            return probe
        pos += 8 + csz + (csz & 1)
    return _no_audio_chunk(
        probe, past_end=pos > size, missing=f"this {container} file has no sound data (SSND) chunk"
    )


def _walk_flac(f: object, size: int, start: int) -> Probe:
    # Metadata blocks must fit in the file; a cut inside the audio frames shows up while decoding
    # (fewer frames than STREAMINFO promises), which measure.py checks.
    probe = Probe("FLAC", "a FLAC file", decode=True)
    pos = start + 4
    for _ in range(MAX_CHUNKS):
        f.seek(pos)  # type: ignore[attr-defined]
        hdr = f.read(4)  # type: ignore[attr-defined]
        if len(hdr) < 4:
            probe.truncated = "the file ends inside its FLAC header: the upload was cut short"
            probe.problem = probe.truncated
            return probe
        length = int.from_bytes(hdr[1:4], "big")
        pos += 4 + length
        if pos > size:
            probe.truncated = "the file ends inside its FLAC header: the upload was cut short"
            probe.problem = probe.truncated
            return probe
        if hdr[0] & 0x80:  # last metadata block
            return probe
    probe.problem = "the FLAC header has too many metadata blocks"
    return probe
