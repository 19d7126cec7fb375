"""What a file is, from its first bytes (never its name or the Content-Type a browser sent): the one
sniffer shared by uploads, cloud links and the probe before measuring."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

HEAD_BYTES = 4096  # what callers read and pass in: enough for every signature below

# Lossless PCM containers: what a studio asks for. Not every one is measured (see probe.MEASURED).
LOSSLESS = frozenset({"WAV", "RF64", "BW64", "W64", "AIFF", "AIFC", "FLAC"})

_W64_RIFF = b"riff\x2e\x91\xcf\x11"  # the start of Sony Wave64's RIFF GUID


@dataclass(frozen=True)
class Sniffed:
    container: str  # "WAV", "RF64", "W64", "AIFF", "AIFC", "FLAC", "MP3", "OGG", "ZIP", "HTML", ...
    description: str  # what it looks like, in words a client understands
    lossy: bool = False  # lossy audio (MP3, Ogg Vorbis or Opus, AAC, MP4)
    offset: int = 0  # where the audio stream starts (after an ID3 tag in front of it)

    @property
    def lossless(self) -> bool:
        return self.container in LOSSLESS

    @property
    def label(self) -> str:
        """The description, with the container's name when the description lacks it."""
        if self.container in self.description or not self.container.isupper():
            return self.description  # "unknown" and "empty" name no type
        return f"{self.description} [{self.container}]"


# Signatures at the start of the file that are not audio we take, checked in this order.
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
    (b".snd", "AU", "a Sun/NeXT AU file"),
    (b"wvpk", "WAVPACK", "a WavPack file"),
    (b"MAC ", "APE", "a Monkey's Audio (APE) file"),
    (b"#!AMR", "AMR", "an AMR voice recording (lossy)"),
    (b"\x30\x26\xb2\x75", "WMA", "a Windows Media (WMA/ASF) file"),
    (b"\x7fELF", "ELF", "a program (ELF executable)"),
    (b"MZ", "EXE", "a Windows program"),
]
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script")


def _syncsafe(b: bytes) -> int:
    return (b[0] & 0x7F) << 21 | (b[1] & 0x7F) << 14 | (b[2] & 0x7F) << 7 | (b[3] & 0x7F)


def sniff(head: bytes, *, read_at: Callable[[int, int], bytes] | None = None) -> Sniffed:
    """The type of a file from its first bytes (`HEAD_BYTES` of them). An ID3 tag can sit in front
    of MP3 (usual) or FLAC (some taggers); when the tag is longer than `head`, `read_at(offset,
    size)` reads what follows it, and without it such a file is taken for MP3."""
    if not head:
        return Sniffed("empty", "an empty file (0 bytes)")
    if head[8:12] == b"WAVE" and head[:4] in (b"RIFF", b"RIFX"):
        return Sniffed("WAV", "a WAV file")
    if head[8:12] == b"WAVE" and head[:4] == b"RF64":
        return Sniffed("RF64", "an RF64 file")
    if head[8:12] == b"WAVE" and head[:4] == b"BW64":
        return Sniffed("BW64", "a BW64 file (ITU-R BS.2088 broadcast WAVE)")
    if head.startswith(_W64_RIFF) or (head[:4] == b"riff" and head[24:28] == b"wave"):
        return Sniffed("W64", "a Sony Wave64 file")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        container = head[8:12].decode("ascii")
        return Sniffed(container, f"an {container} file")
    if head[:4] == b"fLaC":
        return Sniffed("FLAC", "a FLAC file")
    if head[:3] == b"ID3" and len(head) >= 10:
        tag = 10 + _syncsafe(head[6:10])
        after = head[tag : tag + 4] if tag + 4 <= len(head) or read_at is None else read_at(tag, 4)
        if after == b"fLaC":
            return Sniffed("FLAC", "a FLAC file", offset=tag)
        return Sniffed("MP3", "an MP3 file (MPEG audio, lossy)", lossy=True)
    if head[:4] == b"OggS":
        page = head[:200]
        if b"vorbis" in page:
            return Sniffed("OGG", "an Ogg Vorbis file (lossy)", lossy=True)
        if b"OpusHead" in page:
            return Sniffed("OGG", "an Ogg Opus file (lossy)", lossy=True)
        if b"\x7fFLAC" in page:
            return Sniffed("OGG", "FLAC inside an Ogg container")
        return Sniffed("OGG", "an Ogg file of unknown content")
    if head[4:8] == b"ftyp":
        return Sniffed("MP4", "an MP4/M4A file (AAC audio, lossy)", lossy=True)
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        if head[1] & 0xF6 == 0xF0:  # ADTS: a 12-bit sync word and layer bits 00
            return Sniffed("AAC", "an AAC file (ADTS, lossy)", lossy=True)
        return Sniffed("MP3", "an MP3 file (MPEG audio, lossy)", lossy=True)
    for magic, container, description in _MAGIC:
        if head.startswith(magic):
            return Sniffed(container, description)
    if head[:4] == b"RIFF":
        return Sniffed("RIFF", f"a RIFF file of type {head[8:12]!r} (not WAVE)")
    if head[:4] == b"FORM":
        return Sniffed("IFF", f"an IFF file of type {head[8:12]!r} (not AIFF)")
    return _text(head)


def _text(head: bytes) -> Sniffed:
    if head[:512].lstrip().lower().startswith(_HTML_STARTS):
        return Sniffed("HTML", "a web page (HTML), not audio")
    text = head[:1024]
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        decoded = ""
    if decoded and sum(c.isprintable() or c in "\r\n\t" for c in decoded) >= 0.95 * len(decoded):
        lowered = decoded.lower()
        if "<html" in lowered or "<!doctype html" in lowered:
            return Sniffed("HTML", "a web page (HTML), not audio")
        if lowered.lstrip().startswith(("{", "[")):
            return Sniffed("TEXT", "a JSON text file, not audio")
        return Sniffed("TEXT", "a text file, not audio")
    return Sniffed("unknown", "unrecognised binary data")


def reader(f: IO[bytes]) -> Callable[[int, int], bytes]:
    """`read_at` for `sniff` over an open binary file."""

    def read_at(offset: int, size: int) -> bytes:
        f.seek(offset)
        return f.read(size)

    return read_at


def sniff_file(f: IO[bytes]) -> Sniffed:
    """The type of an open binary file, read from its start; the position is left where the
    reading ended (callers seek back themselves)."""
    read_at = reader(f)
    return sniff(read_at(0, HEAD_BYTES), read_at=read_at)
