"""One sniffer for uploads, cloud links and the probe: the type of a file from its first bytes,
never its name. Each signature, the ID3 tag in front of FLAC, and the three callers agreeing."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from analysis.audio.probe import probe
from analysis.audio.sniff import HEAD_BYTES, LOSSLESS, sniff, sniff_file


def _wav(fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.zeros((100, 2)), 48000, format=fmt, subtype=subtype)
    return buf.getvalue()


def _id3(size: int) -> bytes:
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + syncsafe + b"\x00" * size


W64_GUID = b"riff\x2e\x91\xcf\x11\xa5\xd6\x28\xdb\x04\xc1\x00\x00"


@pytest.mark.parametrize(
    ("head", "container", "lossy"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "WAV", False),
        (b"RIFX\x00\x00\x00\x00WAVEfmt ", "WAV", False),
        (b"RF64\xff\xff\xff\xffWAVEds64", "RF64", False),
        (b"BW64\xff\xff\xff\xffWAVEds64", "BW64", False),
        (W64_GUID + b"\x00" * 8 + b"wave" + b"\x00" * 12, "W64", False),
        (b"FORM\x00\x00\x00\x00AIFFCOMM", "AIFF", False),
        (b"FORM\x00\x00\x00\x00AIFCFVER", "AIFC", False),
        (b"fLaC\x00\x00\x00\x22", "FLAC", False),
        (_id3(20) + b"\xff\xfb\x90\x64", "MP3", True),
        (b"\xff\xfb\x90\x64" * 4, "MP3", True),
        (b"\xff\xf1\x50\x80" * 4, "AAC", True),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis", "OGG", True),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"OpusHead", "OGG", True),
        (b"OggS\x00\x02" + b"\x00" * 22 + b"\x7fFLAC", "OGG", False),
        (b"\x00\x00\x00\x20ftypM4A ", "MP4", True),
        (b"PK\x03\x04" + b"\x00" * 26, "ZIP", False),
        (b"%PDF-1.7", "PDF", False),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "RIFF", False),
        (b"  <!DOCTYPE html><html><script>alert(1)</script>", "HTML", False),
        (b"<body>\x00\x01\x02\x03", "HTML", False),
        (b'{"not": "audio"}', "TEXT", False),
        (b"\x00\x01\x02\x03\x04\x05", "unknown", False),
        (b"", "empty", False),
    ],
)
def test_each_signature(head: bytes, container: str, lossy: bool) -> None:
    found = sniff(head)
    assert (found.container, found.lossy) == (container, lossy)
    assert found.lossless == (container in LOSSLESS)
    assert container in found.label or container in ("unknown", "empty")


def test_flac_behind_an_id3_tag_longer_than_the_head_is_found_by_reading_on() -> None:
    data = _id3(HEAD_BYTES * 2) + _wav("FLAC")
    assert sniff(data[:HEAD_BYTES]).container == "MP3"  # without a way to read on
    found = sniff_file(io.BytesIO(data))
    assert (found.container, found.offset) == ("FLAC", 10 + HEAD_BYTES * 2)


def test_real_files_from_libsndfile(tmp_path: Path) -> None:
    for fmt, subtype, container in [
        ("WAV", "PCM_24", "WAV"),
        ("RF64", "PCM_24", "RF64"),
        ("W64", "PCM_24", "W64"),
        ("AIFF", "PCM_16", "AIFF"),
        ("FLAC", "PCM_16", "FLAC"),
        ("OGG", "VORBIS", "OGG"),
        ("OGG", "OPUS", "OGG"),
    ]:
        assert sniff_file(io.BytesIO(_wav(fmt, subtype))).container == container, (fmt, subtype)


@pytest.mark.parametrize(
    ("data", "container", "measured"),
    [
        (_wav("W64", "PCM_24"), "W64", False),  # lossless, but not measured here: said so
        (b"FORM" + struct.pack(">I", 4) + b"AIFC", "AIFC", False),  # no sound chunk
        (_wav("OGG", "OPUS"), "OGG", True),
        (_id3(HEAD_BYTES * 2) + _wav("FLAC"), "FLAC", True),
    ],
)
def test_the_probe_uses_the_same_answer(
    tmp_path: Path, data: bytes, container: str, measured: bool
) -> None:
    path = tmp_path / "file.wav"
    path.write_bytes(data)
    found = probe(path)
    assert found.container == container
    assert (found.problem is None) == measured, found.problem


def test_what_the_probe_measures_is_lossless_by_the_sniffer() -> None:
    from analysis.audio.probe import MEASURED

    assert MEASURED <= LOSSLESS
