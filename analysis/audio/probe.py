"""Decide what a file is from its bytes before any decoder sees it, and check that the header's
promises (chunk sizes) fit in the file: libsndfile silently reads a truncated WAV or AIFF."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from .integrity import chunks_end, container_mismatch, declared_end

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
            head = f.read(4096)
            if size == 0:
                return Probe(
                    "empty", "an empty file (0 bytes)", problem="the file is empty (0 bytes)"
                )
            if head[:4] in (b"RIFF", b"RF64", b"RIFX") and head[8:12] == b"WAVE":
                return _walk_riff(f, size, head)
            if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
                return _walk_aiff(f, size, head)
            if head[:4] == b"fLaC":
                return _walk_flac(f, size, 0)
            if head[:3] == b"ID3" and len(head) >= 10:
                # An ID3v2 tag can sit in front of MP3 (usual) or FLAC (some taggers).
                tag = 10 + _syncsafe(head[6:10])
                f.seek(tag)
                after = f.read(4)
                if after == b"fLaC":
                    return _walk_flac(f, size, tag)
                return _lossy("MP3", "an MP3 file (MPEG audio, lossy)", decode=True)
            return _other(head)
    except OSError:  # the error names the path on the server; the caller logs it if it cares
        return Probe(
            "unknown", "a file that cannot be opened", problem="the file could not be opened"
        )


def _lossy(container: str, description: str, *, decode: bool) -> Probe:
    problem = None if decode else f"{description} cannot be decoded here"
    return Probe(container, description, lossy=True, decode=decode, problem=problem)


def _unsupported(container: str, description: str) -> Probe:
    return Probe(
        container, description, problem=f"not a WAV, AIFF or FLAC file: it looks like {description}"
    )


def _other(head: bytes) -> Probe:
    if head[:4] == b"OggS":
        page = head[:200]
        if b"vorbis" in page:
            return _lossy("OGG", "an Ogg Vorbis file (lossy)", decode=True)
        if b"OpusHead" in page:
            return _lossy("OGG", "an Ogg Opus file (lossy)", decode=True)
        if b"\x7fFLAC" in page:
            return _unsupported("OGG", "FLAC inside an Ogg container")
        return _unsupported("OGG", "an Ogg file of unknown content")
    if head[4:8] == b"ftyp":
        return _lossy("MP4", "an MP4/M4A file (AAC audio, lossy)", decode=False)
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        if (head[1] & 0x06) == 0:  # layer bits 00: ADTS, the AAC framing
            return _lossy("AAC", "an AAC file (ADTS, lossy)", decode=False)
        return _lossy("MP3", "an MP3 file (MPEG audio, lossy)", decode=True)
    for magic, container, description in _MAGIC:
        if head.startswith(magic):
            return _unsupported(container, description)
    if head[:4] == b"RIFF":
        return _unsupported("RIFF", f"a RIFF file of type {head[8:12]!r} (not WAVE)")
    if head[:4] == b"FORM":
        return _unsupported("IFF", f"an IFF file of type {head[8:12]!r} (not AIFF)")
    text = head[:1024]
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        decoded = ""
    if decoded and sum(c.isprintable() or c in "\r\n\t" for c in decoded) >= 0.95 * len(decoded):
        lowered = decoded.lower()
        if "<html" in lowered or "<!doctype html" in lowered:
            return _unsupported("HTML", "a web page (HTML), not audio")
        if lowered.lstrip().startswith(("{", "[")):
            return _unsupported("TEXT", "a JSON text file, not audio")
        return _unsupported("TEXT", "a text file, not audio")
    return _unsupported("unknown", "unrecognised binary data")


_MAGIC: list[tuple[bytes, str, str]] = [
    (b"PK\x03\x04", "ZIP", "a ZIP archive"),
    (b"PK\x05\x06", "ZIP", "an empty ZIP archive"),
    (b"Rar!", "RAR", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "7Z", "a 7-Zip archive"),
    (b"\x1f\x8b", "GZIP", "a gzip archive"),
    (b"%PDF", "PDF", "a PDF document"),
    (b"\x89PNG", "PNG", "a PNG image"),
    (b"\xff\xd8\xff", "JPEG", "a JPEG image"),
    (b"GIF8", "GIF", "a GIF image"),
    (b"MThd", "MIDI", "a MIDI file (notes, not audio)"),
    (b"caff", "CAF", "a Core Audio (CAF) file"),
    (b"riff\x2e\x91\xcf\x11", "W64", "a Sony Wave64 file"),
    (b".snd", "AU", "a Sun/NeXT AU file"),
    (b"wvpk", "WAVPACK", "a WavPack file"),
    (b"MAC ", "APE", "a Monkey's Audio (APE) file"),
    (b"#!AMR", "AMR", "an AMR voice recording (lossy)"),
    (b"\x30\x26\xb2\x75", "WMA", "a Windows Media (WMA/ASF) file"),
    (b"\x7fELF", "ELF", "a program (ELF executable)"),
    (b"MZ", "EXE", "a Windows program"),
]


def _syncsafe(b: bytes) -> int:
    return (b[0] & 0x7F) << 21 | (b[1] & 0x7F) << 14 | (b[2] & 0x7F) << 7 | (b[3] & 0x7F)


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
