"""Attack a running Headroom on loopback the way an outsider with a client login would, and print
what held. Run it against a fresh demo (it locks demo logins out for 15 minutes and adds jobs):

    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo
    .venv/bin/python manage.py runserver 127.0.0.1:8141 &        # or gunicorn, threads on
    .venv/bin/python bench/attack.py http://127.0.0.1:8141

Tries, in this order: security headers; a forged event in a track title reaching the calendar
feeds; a decoder's error naming a server path; a polyglot WAV and a forged RIFF size; a burst of
simultaneous uploads and submits; look-alike usernames; a spoofed X-Forwarded-For; thirty wrong
passwords at once; the admin's login. Prints one line per attack: HELD or BROKEN, and why.
Only ever talks to the URL given, which must be on loopback.
"""

from __future__ import annotations

import argparse
import io
import re
import struct
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import numpy as np
import requests
import soundfile as sf
import vobject

PASSWORD = "headroom-demo"
TIMEOUT = 60
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
JOB_URL = re.compile(r"/jobs/([0-9a-f-]{36})/")
LOCKED = "Too many failed attempts"
results: list[tuple[str, bool, str]] = []


def report(name: str, held: bool, detail: str) -> None:
    results.append((name, held, detail))
    print(f"{'HELD  ' if held else 'BROKEN'}  {name}: {detail}", flush=True)


def wav(seconds: float = 1.0, peak: float = 0.25) -> bytes:
    t = np.arange(int(48000 * seconds)) / 48000
    x = peak * np.sin(2 * np.pi * 440 * t)
    buf = io.BytesIO()
    sf.write(buf, np.stack([x, x], axis=1), 48000, subtype="PCM_24", format="WAV")
    return buf.getvalue()


class Browser:
    """One person's cookie jar, with the CSRF token the way the pages hand it out."""

    def __init__(self, base: str, address_header: str | None = None) -> None:
        self.base = base
        self.http = requests.Session()
        if address_header:
            self.http.headers["X-Forwarded-For"] = address_header

    def token(self, path: str) -> str:
        page = self.http.get(self.base + path, timeout=TIMEOUT)
        found = CSRF_INPUT.search(page.text)
        return found.group(1) if found else self.http.cookies.get("csrftoken", "")

    def post(self, path: str, data: dict | None = None, **kw) -> requests.Response:
        token = self.http.cookies.get("csrftoken") or self.token("/login/")
        return self.http.post(
            self.base + path,
            data={"csrfmiddlewaretoken": token, **(data or {})},
            headers={"X-CSRFToken": token, "Referer": self.base + path},
            allow_redirects=False,
            timeout=TIMEOUT,
            **kw,
        )

    def login(self, username: str, password: str = PASSWORD, path: str = "/login/") -> str:
        """ "in", "locked" or "wrong"."""
        token = self.token(path)
        response = self.http.post(
            self.base + path,
            data={
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": token,
                "next": "/admin/" if path.startswith("/admin") else "",
            },
            headers={"Referer": self.base + path},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        if response.status_code == 302:
            return "in"
        return "locked" if LOCKED in response.text else "wrong"

    def new_job(self, title: str) -> str:
        self.token("/jobs/new/")
        response = self.post("/jobs/new/", {"track_title": title, "artist": "Probe"})
        found = JOB_URL.search(response.headers.get("Location", ""))
        if not found:
            raise RuntimeError(f"could not open a job ({response.status_code})")
        return found.group(1)

    def upload(self, job: str, name: str, content: bytes) -> requests.Response:
        return self.post(
            f"/jobs/{job}/files/", {"kind": "stem"}, files={"files": (name, content, "audio/wav")}
        )

    def intake(self, job: str, *, wait_s: float = 60.0) -> str:
        """The intake region once a verdict is in (intake measures in the background)."""
        deadline = time.monotonic() + wait_s
        while True:
            body = self.http.get(f"{self.base}/jobs/{job}/intake/", timeout=TIMEOUT).text
            if "data-code" in body or time.monotonic() > deadline:
                return body
            time.sleep(1.0)


def at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


# --- the attacks ---------------------------------------------------------------------------------


def headers(base: str) -> None:
    got = requests.get(base + "/login/", timeout=TIMEOUT).headers
    csp = got.get("Content-Security-Policy", "")
    strict = "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    report("Content-Security-Policy", strict, csp or "no header")
    policy = got.get("Permissions-Policy", "")
    report("Permissions-Policy", "camera=()" in policy, policy[:80] or "no header")


def calendar_injection(base: str, client: Browser, manager: Browser) -> None:
    forged = (
        "Probe\rEND:VEVENT\rBEGIN:VEVENT\rUID:forged@probe\rSUMMARY:Injected\r"
        "DTSTART:20300101T000000Z"
    )
    job = client.new_job(forged)
    client.upload(job, "Bass - Probe.wav", wav())
    client.post(f"/jobs/{job}/submit/")
    client.intake(job)
    queue = manager.http.get(base + "/queue/", timeout=TIMEOUT).text
    link = re.search(r'href="(/calendar/[^"]+\.ics)"', queue)
    if not link:
        report("calendar feed", False, "the manager's queue links no feed")
        return
    body = manager.http.get(base + link.group(1), timeout=TIMEOUT).text
    events = vobject.readOne(body).contents.get("vevent", [])
    forged_events = [e for e in events if e.uid.value == "forged@probe"]
    ours = [e for e in events if e.summary.value.startswith("Due: Probe")]
    report(
        "a bare CR in a track title (calendar feed)",
        bool(ours) and not forged_events,
        f"the job's due date {'is' if ours else 'is NOT'} in the feed; "
        f"{len(forged_events)} forged events",
    )


def decoder_and_container(client: Browser) -> None:
    data = b"\x00" * 400
    no_format = b"RIFF" + struct.pack("<I", 12 + len(data)) + b"WAVEdata"
    no_format += struct.pack("<I", len(data)) + data
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("index.html", "<script>alert(1)</script>")
    polyglot = wav() + archive.getvalue()
    forged = bytearray(wav())
    forged[4:8] = struct.pack("<I", 2_000_000_000)
    job = client.new_job("Probe Files")
    client.upload(job, "Bass - Probe Files.wav", no_format)
    client.upload(job, "Keys - Probe Files.wav", polyglot)
    client.upload(job, "Drums - Probe Files.wav", bytes(forged))
    client.post(f"/jobs/{job}/submit/")
    body = client.intake(job)
    signs = ("/home/", "/srv/", "/tmp/", "/var/", "/root/", "media/jobs", "Error opening")
    leaks = [p for p in signs if p in body]
    shown = f"leaked {leaks}" if leaks else "none shown"
    report("a decoder's error (server paths)", "cannot be read" in body and not leaks, shown)
    flagged = body.count('data-code="container_mismatch"')
    report("a polyglot WAV and a forged RIFF size", flagged >= 2, f"{flagged} of 2 flagged")


def burst(base: str, client: Browser, n: int = 24) -> None:
    jobs = [client.new_job(f"Burst {i}") for i in range(n)]
    stem = wav(0.5)
    calls = [lambda j=j: client.upload(j, "Bass - Burst.wav", stem) for j in jobs]
    responses = at_once(calls)
    for j in jobs:
        client.post(f"/jobs/{j}/submit/")  # a submit burst follows: each job now holds a stem
    fives = [r.status_code for r in responses if r.status_code >= 500]
    report(f"{n} simultaneous uploads", not fives, f"{len(fives)} answered 5xx")
    jobs2 = [client.new_job(f"Burst B {i}") for i in range(n)]
    for j in jobs2:
        client.upload(j, "Bass - Burst.wav", stem)
    responses = at_once([lambda j=j: client.post(f"/jobs/{j}/submit/") for j in jobs2])
    fives = [r.status_code for r in responses if r.status_code >= 500]
    report(f"{n} simultaneous submits", not fives, f"{len(fives)} answered 5xx")


def look_alikes(base: str) -> None:
    spellings = ["\uff41\uff44\uff41", "\U0001d41a\U0001d41d\U0001d41a"]  # full-width, bold "ada"
    browser = Browser(base)
    for i in range(5):
        browser.login(spellings[i % 2], "not-her-password")
    outcome = Browser(base).login(spellings[0])
    report(
        "look-alike usernames (ada)", outcome == "locked", f"real password, full-width: {outcome}"
    )


def spoofed_address(base: str) -> None:
    for i in range(5):
        Browser(base, f"203.0.113.{i}").login("echo", "not-her-password")
    outcome = Browser(base, "198.51.100.7").login("echo")
    report(
        "a spoofed X-Forwarded-For (echo)",
        outcome == "locked",
        f"after 5 failures under 5 forged addresses, a sixth address: {outcome}"
        + (" (the count is not shared, or loopback is a trusted proxy)" if outcome == "in" else ""),
    )


def simultaneous(base: str, n: int = 30) -> None:
    browsers = [Browser(base) for _ in range(n)]
    tokens = [b.token("/login/") for b in browsers]

    def attempt(b: Browser, token: str) -> Callable[[], requests.Response]:
        return lambda: b.http.post(
            base + "/login/",
            data={"username": "ben", "password": "wrong", "csrfmiddlewaretoken": token},
            headers={"Referer": base + "/login/"},
            allow_redirects=False,
            timeout=TIMEOUT,
        )

    responses = at_once([attempt(b, t) for b, t in zip(browsers, tokens, strict=True)])
    judged = sum(1 for r in responses if r.status_code == 200 and LOCKED not in r.text)
    refused = sum(1 for r in responses if LOCKED in r.text)
    report(
        f"{n} wrong passwords at once (ben)",
        refused >= n - 5,
        f"{refused} refused by the throttle, {judged} answered 'wrong password'",
    )


def admin_login(base: str) -> None:
    browser = Browser(base)
    for _ in range(5):
        browser.login("manager", "not-the-password", path="/admin/login/")
    outcome = browser.login("manager", path="/admin/login/")
    report("the admin's login (manager)", outcome == "locked", f"real password after 5: {outcome}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8141")
    args = parser.parse_args()
    base = args.url.rstrip("/")
    if urlsplit(base).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("attack only a server on loopback")
    client, manager = Browser(base), Browser(base)
    if client.login("nova") != "in" or manager.login("manager") != "in":
        print("log in as nova and manager failed: run seed_demo first (and wait 15 minutes after "
              "a previous run, or lift the lock-outs in the admin)", file=sys.stderr)  # fmt: skip
        return 2
    headers(base)
    calendar_injection(base, client, manager)
    decoder_and_container(client)
    burst(base, client)
    look_alikes(base)
    spoofed_address(base)
    simultaneous(base)
    admin_login(base)
    print(
        "not tried from outside: the cloud-link address check (an allowed host would have to "
        "resolve to 64:ff9b::7f00:1) and the per-client quota (200 GiB); tests cover both"
    )
    broken = [name for name, held, _ in results if not held]
    print(f"\n{len(results) - len(broken)} of {len(results)} held." + (
        f" Broken: {', '.join(broken)}" if broken else ""))  # fmt: skip
    print("Lock-outs last 15 minutes; a manager lifts them in the admin (Users, 'Lift login "
          "lock-outs').")  # fmt: skip
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
