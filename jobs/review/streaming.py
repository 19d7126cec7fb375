"""Audio for the browser's player: HTTP Range (RFC 9110) over a stored file, or a short-lived
signed URL on S3 (which honours Range itself). Never a re-encode: the bytes are the file's own,
or those of its lossless review copy."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.core.files.storage import Storage
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)

from jobs.storage import disk_path
from jobs.uploads import attachment_disposition

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024
SIGNED_URL_SECONDS = 300  # long enough to start playing; the page asks again for each play
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)

CONTENT_TYPES = {
    "WAV": "audio/wav",
    "RF64": "audio/wav",
    "W64": "audio/x-w64",
    "AIFF": "audio/aiff",
    "FLAC": "audio/flac",
}


class Unsatisfiable(Exception):
    """The range starts at or past the end of the file: 416."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one byte range asked for, or None to send the whole file: no header, a unit other
    than bytes, several ranges, or one that makes no sense (RFC 9110 lets a server ignore
    those). Raises Unsatisfiable for a range that starts past the end (or asks for nothing)."""
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = int(last) if last else max(start, size - 1)
    if end < start:
        return None
    if start >= size:
        raise Unsatisfiable
    return ByteRange(start, min(end, size - 1))


def open_stored(storage: Storage, name: str) -> IO[bytes]:
    """A stored file opened for reading, for a response (the player's, a download). A file whose
    row is there and whose bytes are not was lost from storage, which someone must look into:
    it is logged as an error, and the viewer gets a 404 saying so, not a server error."""
    try:
        return storage.open(name, "rb")
    except FileNotFoundError:
        logger.error("stored file %s is missing from storage", name)
        raise Http404("The file is missing from storage") from None


def inline_disposition(name: str) -> str:
    """Played in the page, under the client's name (made safe as for downloads)."""
    return "inline" + attachment_disposition(name).removeprefix("attachment")


def _read(fh: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        fh.seek(start)
        left = length
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        fh.close()


def stream_response(
    request: HttpRequest,
    *,
    storage: Storage,
    name: str,
    size: int,
    content_type: str,
    filename: str,
    etag: str,
) -> HttpResponseBase:
    """Range over a local file (206 with Content-Range, 416 past the end, 200 for the whole
    file), or a redirect to a signed S3 URL that serves the same inline."""
    disposition = inline_disposition(filename)
    if disk_path(storage, name) is None:
        url = storage.url(  # type: ignore[call-arg]
            name,
            parameters={
                "ResponseContentType": content_type,
                "ResponseContentDisposition": disposition,
                "ResponseCacheControl": "private, max-age=300",
            },
            expire=SIGNED_URL_SECONDS,
        )
        redirect = HttpResponseRedirect(url)
        redirect["Cache-Control"] = "no-store"  # the signed URL expires; never reuse this answer
        return redirect

    headers = {
        "Accept-Ranges": "bytes",
        "Content-Type": content_type,
        "Content-Disposition": disposition,
        "Cache-Control": "private, max-age=300",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
    }
    if_range = request.headers.get("If-Range")
    try:
        wanted = (
            None
            if if_range and if_range != etag
            else parse_range(request.headers.get("Range"), size)
        )
    except Unsatisfiable:
        refused = HttpResponse(
            f"The range asked for starts past the end of the file ({size:,} bytes).",
            status=416,
            content_type="text/plain; charset=utf-8",
        )
        refused["Content-Range"] = f"bytes */{size}"
        refused["Accept-Ranges"] = "bytes"
        return refused
    span = wanted or ByteRange(0, size - 1)
    status = 206 if wanted is not None else 200
    if request.method == "HEAD" or span.length <= 0:
        response: HttpResponseBase = HttpResponse(b"", status=status)
    else:
        stream = open_stored(storage, name)
        response = StreamingHttpResponse(_read(stream, span.start, span.length), status=status)
    for key, value in headers.items():
        response[key] = value
    response["Content-Length"] = str(max(span.length, 0))
    if wanted is not None:
        response["Content-Range"] = f"bytes {span.start}-{span.end}/{size}"
    return response
