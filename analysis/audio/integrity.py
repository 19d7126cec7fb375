"""Whether a WAV or AIFF container agrees with the file it is in: the size its header declares,
and what follows the audio. A polyglot (audio with an archive or a web page appended) and a
forged or damaged header are reported, not trusted. libsndfile reads both without a word."""

from __future__ import annotations

import struct
from typing import BinaryIO

MAX_CHUNKS = 10_000
PAD_SLACK = 1  # writers disagree on counting the pad byte of an odd-sized last chunk
_PLACEHOLDERS = (0, 0xFFFFFFFF)  # sizes a streaming writer leaves when it cannot seek back


def chunks_end(f: BinaryIO, pos: int, size: int, endian: str) -> int:
    """Walk the chunks from `pos` for as long as each looks like a chunk (a printable ASCII id)
    and fits in the file; where the walk stopped is where the container's data ends."""
    for _ in range(MAX_CHUNKS):
        if pos + 8 > size:
            return pos
        f.seek(pos)
        header = f.read(8)
        cid = header[:4]
        if not all(0x20 <= b < 0x7F for b in cid):
            return pos
        end = pos + 8 + struct.unpack(endian + "I", header[4:8])[0]
        if end > size:
            return pos
        pos = end + 1 if (end - pos) & 1 and end + 1 <= size else end
    return pos


def declared_end(raw_size: int, *, ds64_size: int | None = None) -> int | None:
    """The file length a RIFF/FORM header declares (8 + its size field), or None for a
    streaming writer's placeholder. RF64 keeps the real size in its ds64 chunk."""
    if raw_size == 0xFFFFFFFF and ds64_size is not None:
        return 8 + ds64_size
    if raw_size in _PLACEHOLDERS:
        return None
    return 8 + raw_size


def container_mismatch(
    *, container: str, declared: int | None, ends_at: int, size: int
) -> str | None:
    """Why the container and the file disagree, in words for the client (None when they agree).

    `declared` is the length the header gives, `ends_at` where the chunks stop making sense.
    Valid chunks past a header's size (a writer that forgot to update it) are accepted."""
    if declared is not None and declared > size + PAD_SLACK:
        return (
            f"its header says the file is {declared:,} bytes long but it holds {size:,}: the "
            "header is damaged or was altered, or the file was cut short"
        )
    trailing = size - ends_at
    if trailing > PAD_SLACK:
        return (
            f"{trailing:,} bytes that are not part of a {container} file follow its audio: "
            "something was appended to it"
        )
    return None
