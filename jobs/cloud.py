"""Files from a cloud share link (Google Drive, Dropbox, WeTransfer), fetched by a task.

Known share links are rewritten to their direct downloads. Every request, redirects included,
goes only to an allowed host, over HTTPS, to an address checked after DNS resolution (loopback,
private, link-local and other non-public addresses are refused) and the connection is made to
that very address, so a DNS answer cannot change between the check and the connect. Bodies
stream to a temporary file under the same per-file and per-job caps as browser uploads; a ZIP
(a Dropbox folder or a WeTransfer) is unpacked and its audio files added one by one.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
import ssl
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat

from analysis.audio.sniff import sniff_file
from analysis.intake.naming import AUDIO_SUFFIXES
from jobs.addresses import is_public_address
from jobs.models import STUDIO_FILE_KINDS, AudioFile, EventKind, Job, JobEvent, User
from jobs.uploads import (
    UPLOADABLE_STATUSES,
    UploadError,
    audio_file_add,
    client_space_left,
    job_bytes_used,
    policy_caps,
    safe_original_name,
)

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
TIMEOUT_S = 30.0
CHUNK = 1024 * 1024
USER_AGENT = "Headroom intake (+https://headroom.invalid)"
WETRANSFER_API = "https://wetransfer.com/api/v4/transfers/{transfer_id}/download"
# The task that runs `cloud_link_fetch` (jobs/tasks.py) is queued by its registered name: that
# module imports this one, so importing it back would make a cycle.
FETCH_TASK = "jobs.cloud_link_fetch"


class CloudLinkError(Exception):
    """A link that cannot be fetched; the message is meant for the client."""


def _no_answer(exc: BaseException) -> str:
    """Why a service did not answer, in words a client can act on (never an exception's name)."""
    if isinstance(exc, TimeoutError):
        return "took too long to answer"
    if isinstance(exc, ConnectionRefusedError):
        return "refused the connection"
    if isinstance(exc, ssl.SSLError):
        return "offered no secure connection we could trust"
    return "did not answer"


class TransientCloudError(CloudLinkError):
    """The service did not answer (timeout, reset, 5xx): worth another try later."""


# --- which links, which hosts ------------------------------------------------------------------


def host_allowed(host: str) -> bool:
    host = host.lower().rstrip(".")
    for entry in settings.CLOUD_LINK_ALLOWED_HOSTS:
        entry = entry.lower()
        if entry.startswith("."):
            if host == entry[1:] or host.endswith(entry):
                return True
        elif host == entry:
            return True
    return False


def _check_url(url: str) -> Any:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise CloudLinkError("Paste the full share link, starting with https://.")
    if parts.scheme == "http" and not settings.CLOUD_LINK_ALLOW_PRIVATE:
        raise CloudLinkError("Only https:// share links can be fetched.")
    if parts.username or parts.password:
        raise CloudLinkError("Share links with a user name or password in them are not fetched.")
    if not host_allowed(parts.hostname):
        raise CloudLinkError(
            f"Links to {parts.hostname} cannot be fetched: use a Google Drive, Dropbox or "
            "WeTransfer share link, or upload the files directly."
        )
    return parts


def validate_link(url: str) -> str:
    """Check a pasted link before queueing it (no network); returns it stripped."""
    _check_url(url)
    return url.strip()


_DRIVE_FILE = re.compile(r"^/file/d/([\w-]{10,})")


def direct_url(url: str) -> str:
    """The direct-download form of a known share link (unknown forms are returned as they are)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    query = parse_qs(parts.query)
    if host in ("drive.google.com", "docs.google.com"):
        if "/folders/" in parts.path:
            raise CloudLinkError(
                "Google Drive folders cannot be fetched: share each file, or a ZIP of the folder."
            )
        match = _DRIVE_FILE.match(parts.path)
        file_id = match.group(1) if match else (query.get("id") or [""])[0]
        if not file_id:
            raise CloudLinkError("This Google Drive link does not name a file.")
        return "https://drive.usercontent.google.com/download?" + urlencode(
            {"id": file_id, "export": "download", "confirm": "t"}
        )
    if host in ("www.dropbox.com", "dropbox.com"):
        query["dl"] = ["1"]
        flat = urlencode({k: v[0] for k, v in query.items()})
        return urlunsplit(("https", "www.dropbox.com", parts.path, flat, ""))
    return url.strip()


# --- one safe request --------------------------------------------------------------------------


def _public(address: str) -> bool:
    return is_public_address(address)


def resolve(host: str, port: int) -> str:
    """One address for host, checked: every address DNS gives must be public (unless tests
    allow private ones), and the one returned is the one connected to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise CloudLinkError(f"{host} could not be found; check the link.") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise CloudLinkError(f"{host} could not be found; check the link.")
    if not settings.CLOUD_LINK_ALLOW_PRIVATE and not all(_public(a) for a in addresses):
        raise CloudLinkError(f"{host} points at a private network address; it is not fetched.")
    return addresses[0]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, address: str, port: int, **kw: Any) -> None:
        super().__init__(host, port, timeout=TIMEOUT_S, context=ssl.create_default_context(), **kw)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int) -> None:
        super().__init__(host, port, timeout=TIMEOUT_S)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


@contextmanager
def _request(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Iterator[tuple[http.client.HTTPResponse, str]]:
    """Follow redirects by hand, re-checking every hop. Yields (response, final url)."""
    for _ in range(MAX_REDIRECTS + 1):
        parts = _check_url(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = resolve(parts.hostname, port)
        conn: http.client.HTTPConnection = (
            _PinnedHTTPSConnection(parts.hostname, address, port)
            if parts.scheme == "https"
            else _PinnedHTTPConnection(parts.hostname, address, port)
        )
        path = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        try:
            conn.request(
                method, path, body=body, headers={"User-Agent": USER_AGENT, **(headers or {})}
            )
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise TransientCloudError(f"{parts.hostname} {_no_answer(exc)}.") from None
        try:
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise CloudLinkError(f"{parts.hostname} sent a redirect without a target.")
                url = urljoin(url, location)
                if response.status == 303:
                    method, body = "GET", None
                continue
            if response.status >= 500:
                raise TransientCloudError(
                    f"{parts.hostname} answered with a server error ({response.status})."
                )
            if response.status in (401, 403, 404, 410):
                raise CloudLinkError(
                    f"The link could not be opened ({response.status}): check that it is shared "
                    "with 'anyone with the link' and has not expired."
                )
            if response.status != 200:
                raise CloudLinkError(f"The link answered {response.status}; nothing was fetched.")
            yield response, url
            return
        finally:
            conn.close()
    raise CloudLinkError("The link redirects too many times; nothing was fetched.")


# --- downloading -------------------------------------------------------------------------------


@dataclass
class Downloaded:
    path: str
    name: str
    size: int


def _filename(response: http.client.HTTPResponse, url: str) -> str:
    header = response.getheader("Content-Disposition") or ""
    if header:
        msg = Message()
        msg["content-disposition"] = header
        name = msg.get_filename()
        if name:
            return unquote(name)
    leaf = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return leaf or "download"


def download(url: str, *, into: str, budget: int, max_file: int) -> Downloaded:
    """Stream one URL into the folder `into`, stopping as soon as a cap is passed."""
    limit = min(budget, max_file)
    with _request(url) as (response, final_url):
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise CloudLinkError(_too_big(int(declared), budget, max_file))
        name = _filename(response, final_url)
        size = 0
        with tempfile.NamedTemporaryFile(dir=into, delete=False) as out:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, http.client.HTTPException):
                    raise TransientCloudError("The download was cut off before the end.") from None
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise CloudLinkError(_too_big(size, budget, max_file, at_least=True))
                out.write(chunk)
        return Downloaded(path=out.name, name=name, size=size)


def _too_big(size: int, budget: int, max_file: int, *, at_least: bool = False) -> str:
    what = f"{'more than ' if at_least else ''}{filesizeformat(size)}"
    if size > max_file:
        return f"The linked file is {what}; the limit is {filesizeformat(max_file)} per file."
    return f"The linked file is {what}; only {filesizeformat(max(budget, 0))} is left on this job."


def wetransfer_direct(url: str) -> str:
    """we.tl/t-... -> wetransfer.com/downloads/<id>/[<recipient>/]<hash> -> the API's direct
    link to the whole transfer (a ZIP, or the one file)."""
    final = url
    parts = urlsplit(url)
    if (parts.hostname or "").lower() == "we.tl":
        with _request(url) as (_response, final):
            pass
    path = [p for p in urlsplit(final).path.split("/") if p]
    if len(path) < 3 or path[0] != "downloads":
        raise CloudLinkError("This WeTransfer link does not point at a transfer.")
    transfer_id, security_hash = path[1], path[-1]
    payload: dict[str, str] = {"security_hash": security_hash, "intent": "entire_transfer"}
    if len(path) == 4:
        payload["recipient_id"] = path[2]
    api = WETRANSFER_API.format(transfer_id=quote(transfer_id))
    with _request(
        api,
        method="POST",
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    ) as (response, _):
        try:
            data = json.loads(response.read(1024 * 1024))
        except ValueError:
            raise CloudLinkError("WeTransfer did not give a download for this link.") from None
    link = data.get("direct_link") if isinstance(data, dict) else None
    if not link:
        raise CloudLinkError("This WeTransfer has expired or was deleted; ask for a new link.")
    return str(link)


# --- adding the files --------------------------------------------------------------------------


def _unzip_audio(archive: str, into: str, *, budget: int, max_file: int) -> list[Downloaded]:
    """Audio members of a ZIP, by their declared and actual sizes under the caps."""
    out: list[Downloaded] = []
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise CloudLinkError("The linked ZIP archive is damaged.") from None
    with zf:
        members = [
            m
            for m in zf.infolist()
            if not m.is_dir()
            and not m.filename.startswith(("__MACOSX/", "."))
            and "/." not in m.filename
            and any(m.filename.lower().endswith(s) for s in AUDIO_SUFFIXES)
        ]
        if not members:
            raise CloudLinkError("The linked ZIP archive holds no WAV, AIFF or FLAC files.")
        total = 0
        for m in members:
            if m.file_size > max_file:
                raise CloudLinkError(_too_big(m.file_size, budget - total, max_file))
            total += m.file_size
            if total > budget:
                raise CloudLinkError(_too_big(total, budget, max_file))
            with zf.open(m) as src, tempfile.NamedTemporaryFile(dir=into, delete=False) as dst:
                copied = 0
                while chunk := src.read(CHUNK):
                    copied += len(chunk)
                    if copied > m.file_size:  # the header lied: a zip bomb
                        raise CloudLinkError("The linked ZIP archive is damaged.")
                    dst.write(chunk)
            out.append(Downloaded(dst.name, m.filename.rsplit("/", 1)[-1], copied))
    return out


def _add(job: Job, item: Downloaded, *, kind: str, by: User) -> AudioFile:
    with open(item.path, "rb") as fh:
        return audio_file_add(job=job, content=fh, name=item.name, kind=kind, by=by)


def cloud_link_fetch(*, job: Job, url: str, kind: str, by: User) -> list[AudioFile]:
    """Fetch a share link and add its files to the job. Raises CloudLinkError (the message is
    for the client) or TransientCloudError (try again later)."""
    url = validate_link(url)
    max_file, max_job = policy_caps()
    budget = min(max_job - job_bytes_used(job.pk), client_space_left(job))
    host = (urlsplit(url).hostname or "").lower()
    target = wetransfer_direct(url) if host in ("we.tl", "wetransfer.com") else direct_url(url)
    with tempfile.TemporaryDirectory(prefix="headroom-link-") as work:
        got = download(target, into=work, budget=budget, max_file=max(max_file, 1))
        with open(got.path, "rb") as fh:
            kind_of = sniff_file(fh).container
        if kind_of == "HTML":
            raise CloudLinkError(
                "The link opened a web page, not a file: make sure it is shared with 'anyone "
                "with the link' (and for Google Drive, that it is a single file)."
            )
        items = (
            _unzip_audio(got.path, work, budget=budget, max_file=max_file)
            if kind_of == "ZIP"
            else [got]
        )
        added = []
        try:
            for item in items:
                added.append(_add(job, item, kind=kind, by=by))
        except UploadError as exc:
            raise CloudLinkError(str(exc)) from None
    return added


def cloud_link_submit(*, job: Job, url: str, kind: str, by: User) -> str:
    """Check a pasted link, keep it on the job and fetch it in a task after the commit."""
    url = validate_link(url)
    if kind in STUDIO_FILE_KINDS:  # the studio's own files come through their own sections
        raise CloudLinkError("A link brings stems, the rough mix or references.")
    if job.status not in UPLOADABLE_STATUSES:
        raise CloudLinkError("Links can be added while the job is a draft or waiting on you.")
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(cloud_link=url[:1000])
        current_app.tasks[FETCH_TASK].delay_on_commit(str(job.pk), url, kind, by.pk)  # type: ignore[attr-defined]
    return url


def cloud_link_record(*, job: Job, url: str, by: User | None, ok: bool, message: str) -> None:
    """What happened to a link, on the job's history where the client sees it."""
    JobEvent.objects.create(
        job=job,
        actor=by,
        kind=EventKind.FILE,
        subject="cloud link",
        from_value=safe_original_name(urlsplit(url).hostname or "link")[:200],
        to_value="fetched" if ok else "failed",
        note=message[:2000],
    )
