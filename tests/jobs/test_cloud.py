"""Cloud share links: rewriting to direct downloads, the host allow-list, private addresses
refused after DNS resolution, streaming under the caps, ZIPs unpacked, clear messages on the job.
Files are served by a local HTTP server; the allow-list is opened to it through the settings."""

from __future__ import annotations

import io
import json
import re
import socket
import ssl
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from jobs import cloud
from jobs.cloud import CloudLinkError, _no_answer, cloud_link_fetch, direct_url, validate_link
from jobs.models import AudioFile, EventKind, JobEvent, StudioPolicy
from tests.factories import make_job, wav_bytes

WAV = wav_bytes(0.5)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Billie Jean stems/Bass - Billie Jean.wav", WAV)
        z.writestr("Billie Jean stems/Keys - Billie Jean.wav", wav_bytes(0.4))
        z.writestr("__MACOSX/Billie Jean stems/._Bass - Billie Jean.wav", b"junk")
        z.writestr("Billie Jean stems/notes.txt", b"hello")
    return buf.getvalue()


class _Handler(BaseHTTPRequestHandler):
    sent: list[int] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _send(
        self, body: bytes, *, ctype: str = "application/octet-stream", name: str = ""
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if name:
            self.send_header("Content-Disposition", f"attachment; filename*=UTF-8''{name}")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/Bass.wav":
            self._send(WAV, name="Bass%20-%20Billie%20Jean.wav")
        elif path == "/noname":
            self._send(WAV)
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/Bass.wav")
            self.end_headers()
        elif path == "/away":
            self.send_response(302)
            self.send_header("Location", "https://evil.example/steal")
            self.end_headers()
        elif path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif path == "/stems.zip":
            self._send(_zip(), name="stems.zip")
        elif path == "/page":
            self._send(b"<!DOCTYPE html><html><body>Sign in</body></html>", ctype="text/html")
        elif path == "/endless":
            # No Content-Length: the caps must stop the download as bytes arrive.
            self.send_response(200)
            self.end_headers()
            _Handler.sent.append(0)
            try:
                for _ in range(4096):
                    self.wfile.write(b"\0" * 65536)
                    _Handler.sent[-1] += 65536
            except OSError:
                pass
        elif path == "/boom":
            self.send_response(503)
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length))
        port = self.server.server_address[1]
        if self.path == "/api/v4/transfers/abc123/download" and data["security_hash"] == "h4sh":
            self._send(
                json.dumps({"direct_link": f"http://127.0.0.1:{port}/stems.zip"}).encode(),
                ctype="application/json",
            )
        else:
            self._send(json.dumps({"message": "No download access"}).encode())


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def open_to_local(settings: Any) -> None:
    settings.CLOUD_LINK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.CLOUD_LINK_ALLOW_PRIVATE = True


@pytest.mark.parametrize(
    ("link", "direct"),
    [
        (
            "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOp/view?usp=sharing",
            "https://drive.usercontent.google.com/download?id=1AbCdEfGhIjKlMnOp&export=download&confirm=t",
        ),
        (
            "https://drive.google.com/open?id=1AbCdEfGhIjKlMnOp",
            "https://drive.usercontent.google.com/download?id=1AbCdEfGhIjKlMnOp&export=download&confirm=t",
        ),
        (
            "https://www.dropbox.com/s/abc123/Bass.wav?dl=0",
            "https://www.dropbox.com/s/abc123/Bass.wav?dl=1",
        ),
        (
            "https://www.dropbox.com/scl/fi/xyz/Stems.zip?rlkey=k3y&dl=0",
            "https://www.dropbox.com/scl/fi/xyz/Stems.zip?rlkey=k3y&dl=1",
        ),
    ],
)
def test_share_links_become_direct_downloads(link: str, direct: str) -> None:
    assert direct_url(link) == direct


def test_a_drive_folder_gets_a_clear_message() -> None:
    with pytest.raises(CloudLinkError, match="folders cannot be fetched"):
        direct_url("https://drive.google.com/drive/folders/1AbCdEfGhIjKlMnOp")


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("https://evil.example/x.wav", "cannot be fetched"),
        ("http://www.dropbox.com/s/a/b.wav", "Only https://"),
        ("https://user:pw@www.dropbox.com/s/a/b.wav", "user name or password"),
        ("ftp://www.dropbox.com/a", "starting with https://"),
        ("not a link", "starting with https://"),
        ("https://dropbox.com.evil.example/a.wav", "cannot be fetched"),
    ],
)
def test_only_allowed_hosts_over_https(link: str, message: str) -> None:
    with pytest.raises(CloudLinkError, match=re.escape(message)):
        validate_link(link)


def test_subdomain_entries_match_only_subdomains() -> None:
    assert cloud.host_allowed("dl.dropboxusercontent.com")
    assert cloud.host_allowed("download.wetransfer.com")
    assert not cloud.host_allowed("dropboxusercontent.com.evil.example")
    assert not cloud.host_allowed("evilwetransfer.com")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.9",
        "169.254.169.254",
        "::1",
        "::ffff:127.0.0.1",
        "fd00::1",
    ],
)
def test_private_addresses_are_refused_after_dns(monkeypatch, settings, address: str) -> None:
    settings.CLOUD_LINK_ALLOWED_HOSTS = ["files.example"]
    settings.CLOUD_LINK_ALLOW_PRIVATE = False
    family = socket.AF_INET6 if ":" in address else socket.AF_INET

    def fake_dns(host: str, port: int, *a: Any, **k: Any) -> list[Any]:
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    with pytest.raises(CloudLinkError, match="private network address"):
        cloud.resolve("files.example", 443)


def test_the_local_server_itself_is_refused_without_the_test_setting(settings, server: str) -> None:
    settings.CLOUD_LINK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.CLOUD_LINK_ALLOW_PRIVATE = False
    with pytest.raises(CloudLinkError):
        cloud.download(f"{server}/Bass.wav", into="/tmp", budget=10**9, max_file=10**9)


@pytest.mark.django_db
def test_a_link_to_a_file_adds_it(server: str, open_to_local: None) -> None:
    job = make_job()
    [added] = cloud_link_fetch(job=job, url=f"{server}/redirect", kind="stem", by=job.created_by)
    assert added.original_name == "Bass - Billie Jean.wav"
    assert added.size_bytes == len(WAV) and added.file.read() == WAV


@pytest.mark.django_db
def test_a_zip_is_unpacked_and_only_audio_is_added(server: str, open_to_local: None) -> None:
    job = make_job()
    added = cloud_link_fetch(job=job, url=f"{server}/stems.zip", kind="stem", by=job.created_by)
    assert sorted(a.original_name for a in added) == [
        "Bass - Billie Jean.wav",
        "Keys - Billie Jean.wav",
    ]


@pytest.mark.django_db
def test_wetransfer_goes_through_the_api(server: str, open_to_local: None, monkeypatch) -> None:
    monkeypatch.setattr(
        cloud, "WETRANSFER_API", server + "/api/v4/transfers/{transfer_id}/download"
    )
    assert cloud.wetransfer_direct(f"{server}/downloads/abc123/h4sh").endswith("/stems.zip")
    with pytest.raises(CloudLinkError, match="expired"):
        cloud.wetransfer_direct(f"{server}/downloads/abc123/wrong")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/page", "web page, not a file"),
        ("/missing", "could not be opened (404)"),
        ("/away", "evil.example cannot be fetched"),
        ("/loop", "redirects too many times"),
    ],
)
def test_links_that_cannot_be_fetched_say_why(
    server: str, open_to_local: None, path: str, message: str
) -> None:
    job = make_job()
    with pytest.raises(CloudLinkError, match=re.escape(message)):
        cloud_link_fetch(job=job, url=server + path, kind="stem", by=job.created_by)
    assert AudioFile.objects.count() == 0


@pytest.mark.django_db
def test_caps_stop_a_download_as_bytes_arrive(server: str, open_to_local: None, tmp_path) -> None:
    StudioPolicy.objects.update_or_create(pk=1, defaults={"max_file_bytes": 1_000_000})
    job = make_job()
    _Handler.sent = []
    with pytest.raises(CloudLinkError, match=re.escape("the limit is 976.6\xa0KB per file")):
        cloud_link_fetch(job=job, url=f"{server}/endless", kind="stem", by=job.created_by)
    assert AudioFile.objects.count() == 0
    assert list(tmp_path.iterdir()) == []
    assert _Handler.sent and _Handler.sent[0] < 64 * 1024 * 1024  # not the whole 256 MiB


def test_a_declared_length_over_the_cap_is_refused_before_reading(
    server: str, open_to_local: None, tmp_path
) -> None:
    with pytest.raises(CloudLinkError, match="the limit is 1000"):
        cloud.download(f"{server}/Bass.wav", into=str(tmp_path), budget=10**9, max_file=1000)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(CloudLinkError, match="left on this job"):
        cloud.download(f"{server}/Bass.wav", into=str(tmp_path), budget=1000, max_file=10**9)


@pytest.mark.django_db
def test_the_view_queues_the_link_and_the_outcome_is_on_the_job(
    server: str, open_to_local: None, django_capture_on_commit_callbacks
) -> None:
    job = make_job()
    c = Client()
    c.force_login(job.created_by)
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(
            reverse("job_cloud_link", args=[job.pk]), {"url": f"{server}/Bass.wav", "kind": "stem"}
        )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.cloud_link == f"{server}/Bass.wav"
    assert job.files.get().original_name == "Bass - Billie Jean.wav"
    event = JobEvent.objects.get(job=job, subject="cloud link")
    assert event.to_value == "fetched" and "Bass - Billie Jean.wav" in event.note

    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("job_cloud_link", args=[job.pk]), {"url": f"{server}/page", "kind": "stem"})
    failed = JobEvent.objects.filter(job=job, subject="cloud link", to_value="failed").get()
    assert "web page, not a file" in failed.note
    page = c.get(reverse("job_detail", args=[job.pk])).content.decode()
    assert "web page, not a file" in page


@pytest.mark.django_db
def test_a_service_that_does_not_answer_is_retried_then_reported(
    server: str, open_to_local: None, django_capture_on_commit_callbacks
) -> None:
    job = make_job()
    c = Client()
    c.force_login(job.created_by)
    with django_capture_on_commit_callbacks(execute=True):
        c.post(reverse("job_cloud_link", args=[job.pk]), {"url": f"{server}/boom", "kind": "stem"})
    event = JobEvent.objects.get(job=job, subject="cloud link", kind=EventKind.FILE)
    assert event.to_value == "failed" and "tried 4 times" in event.note and "503" in event.note


@pytest.mark.django_db
def test_a_bad_link_is_refused_at_once_in_the_view() -> None:
    job = make_job()
    c = Client()
    c.force_login(job.created_by)
    response = c.post(
        reverse("job_cloud_link", args=[job.pk]), {"url": "https://evil.example/a.wav"}, follow=True
    )
    assert "evil.example cannot be fetched" in response.content.decode()
    job.refresh_from_db()
    assert job.cloud_link == ""


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (TimeoutError(), "took too long to answer"),
        (ConnectionRefusedError(), "refused the connection"),
        (ssl.SSLError(), "offered no secure connection we could trust"),
        (ConnectionResetError(), "did not answer"),
    ],
)
def test_a_service_that_does_not_answer_is_described_in_words(
    exc: BaseException, words: str
) -> None:
    # The client reads this on the job's history: no exception class names.
    assert _no_answer(exc) == words
