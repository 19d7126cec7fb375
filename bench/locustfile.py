"""Locust users for Headroom's load run: clients, engineers and managers who log in through the
real login form and then use the studio like people, with think time between actions.

Run by bench/load.py, which starts the stack, seeds it and says who may log in through the
environment (HEADROOM_LOAD_USERS: a JSON file of {"client": [...], "engineer": [...],
"manager": [...]}; HEADROOM_LOAD_THINK: mean seconds between actions). Each page kind is one
small function with `@page(weight)`: adding a page to the run is adding one such function to the
user class of the role that uses it; its name is the label the results are printed under.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.cookiejar import Cookie
from typing import Any

import gevent
from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment

PASSWORD = os.environ.get("HEADROOM_LOAD_PASSWORD", "headroom-demo")
THINK = float(os.environ.get("HEADROOM_LOAD_THINK", "2.0"))
# Seconds after the last user has started before the statistics start (HEADROOM_LOAD_SETTLE):
# users arriving together send their first pages together, and the queue that leaves is the
# arrival's, not the steady state's.
SETTLE = float(os.environ.get("HEADROOM_LOAD_SETTLE", "0"))
JOB_LINK = re.compile(r'href="/jobs/([0-9a-f-]{36})/"')
STREAM_LINK = re.compile(r"/files/([0-9a-f-]{36})/stream/")
PEAKS_LINK = re.compile(r'data-peaks="(/files/[0-9a-f-]{36}/peaks/)"')
MAX_AGE = re.compile(r"max-age=(\d+)")
PREVIEW_ANSWER = re.compile(r'action="/jobs/[0-9a-f-]{36}/preview/\d+/answer/"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
MOVE_FORM = re.compile(r'hx-post="/stages/(\d+)/(start|finish)/"')
# The desk's listening forms (templates/jobs/desk.html, desk_session.html).
TICK_FORM = re.compile(r'hx-post="/sessions/(\d+)/tick/"')
LISTEN_FORM = re.compile(r'hx-post="/desk/stages/(\d+)/listen/"')
DESK_START = re.compile(r'hx-post="(/desk/stages/\d+/start/)"')
# Glue/final level and delivery start only after an ear break (jobs.services.stages): after a
# few minutes of the run's listening the studio refuses such a start, as it should.
FRESH_EARS = "needs fresh ears"
LOGIN_FORM = '<input name="username" autocomplete="username"'  # templates/registration/login.html
TICKS_PER_SESSION = 8  # then the engineer stops listening (and may finish the stage)


# Every failure of the run by page kind, the ramp and the settling included: the statistics
# are reset when they start, their failures with them, and the run still fails on any.
FAILED: Counter[str] = Counter()


@events.init.add_listener
def _settle_then_measure(environment: Environment, **_: Any) -> None:
    """Reset the statistics SETTLE seconds after every user has started (--reset-stats resets
    them at that moment); at the end, exit 1 if any request failed at any time."""

    def spawned(**_: Any) -> None:
        if SETTLE > 0 and environment.runner is not None:
            gevent.spawn_later(SETTLE, environment.runner.stats.reset_all)

    def tally(name: str, exception: BaseException | None, **_: Any) -> None:
        if exception is not None:
            FAILED[name] += 1

    def quitting(**_: Any) -> None:
        if FAILED:
            print(f"failed requests in the whole run, before the statistics too: {dict(FAILED)}")
            environment.process_exit_code = 1

    environment.events.spawning_complete.add_listener(spawned)
    environment.events.request.add_listener(tally)
    environment.events.quitting.add_listener(quitting)


def _people() -> dict[str, Any]:
    path = os.environ.get("HEADROOM_LOAD_USERS", "")
    people: dict[str, Any] = {"client": ["nova", "echo"], "engineer": ["ada", "ben"],
                              "manager": ["manager"], "sessions": {}}  # fmt: skip
    if path:
        with open(path) as f:
            people.update(json.load(f))
    return people


PEOPLE = _people()
USERNAMES: dict[str, Iterator[str]] = {
    role: itertools.cycle(PEOPLE[role]) for role in ("client", "engineer", "manager")
}
SESSIONS: dict[str, str] = PEOPLE["sessions"]


def _session_cookie(host: str, key: str) -> Cookie:
    """The session cookie the runner made, as the login would have set it for this host."""
    domain = host.split("://", 1)[-1].split(":", 1)[0].split("/", 1)[0]
    return Cookie(
        version=0, name="sessionid", value=key, port=None, port_specified=False, domain=domain,
        domain_specified=False, domain_initial_dot=False, path="/", path_specified=True,
        secure=False, expires=None, discard=True, comment=None, comment_url=None, rest={},
    )  # fmt: skip


def page(weight: int) -> Callable[[Callable[[Any], None]], Any]:
    """A page kind: a task of this weight; the label its requests are timed under is the one
    the function passes to `get` (URLs with ids are grouped under it)."""
    return task(weight)


class StudioUser(FastHttpUser):
    """Logs in once, then works; every response that is not what a person would get fails.

    FastHttpUser (geventhttpclient) rather than HttpUser (requests): the users run on the same
    two cores as the studio, and requests' client costs several times more CPU per request."""

    abstract = True
    role = ""
    wait_time = between(THINK * 0.5, THINK * 1.5)
    # A request that meets a keep-alive connection closed under it is sent again on a new one,
    # as a browser does (gunicorn keeps idle connections 5 s, longer than the think time).
    max_retries = 1

    def on_start(self) -> None:
        self.username = next(USERNAMES[self.role])
        self.csrf = ""
        self.job_ids: list[str] = []
        self.file_ids: list[str] = []
        if self.username in SESSIONS:  # arrives logged in: the session the runner made
            cookie = _session_cookie(self.host or "", SESSIONS[self.username])
            self.client.cookiejar.set_cookie(cookie)
            self.get("/", "login: arrive logged in", redirects=True)
            return
        login = self.client.get("/login/", name="login: page")
        token = CSRF_INPUT.search(login.text or "")
        with self.client.post(
            "/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Referer": f"{self.host}/login/"},
            name="login: form post",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            # A good login redirects away from the login page; a refused one shows it again.
            where = (response.headers or {}).get("Location", "")
            if response.status_code != 302 or "/login/" in where:
                response.failure(f"{self.username} could not log in")
                return
        self.get("/", "login: arrive logged in", redirects=True)

    def _learn(self, html: str) -> None:
        """Remember the CSRF token and the jobs and files a page links to."""
        found = CSRF_HEADER.search(html) or CSRF_INPUT.search(html)
        if found:
            self.csrf = found.group(1)
        jobs = JOB_LINK.findall(html)
        if jobs:
            self.job_ids = sorted(set(jobs))
        files = STREAM_LINK.findall(html)
        if files:
            self.file_ids = sorted(set(files))

    def get(
        self,
        path: str,
        name: str,
        *,
        htmx: bool = False,
        expect: int = 200,
        redirects: bool = False,
        **headers: str,
    ) -> str:
        """GET as the page does; anything but `expect` (a 4xx, a 5xx, a redirect, to the login
        page or anywhere) is a failure. Returns the HTML (or JSON) text. `redirects` follows
        them (arriving at /, which sends a manager on to the board)."""
        if htmx:
            headers["HX-Request"] = "true"
        headers["X-Load-Kind"] = name  # the gunicorn hook files this request's CPU under it
        with self.client.get(
            path, name=name, headers=headers, allow_redirects=redirects, catch_response=True
        ) as response:
            return self._check(response, path, expect)

    def post(
        self, path: str, name: str, data: dict[str, str] | None = None, *, refusal: str = ""
    ) -> str:
        """POST as htmx does from the page's form (CSRF header, Referer); 200 or a failure.
        `refusal`: the words of a 400 that is the studio's rule answering as it should (the
        row comes back saying why), which a person reads and goes on from: not a failure."""
        headers = {"HX-Request": "true", "X-CSRFToken": self.csrf, "X-Load-Kind": name,
                   "Referer": f"{self.host}/desk/"}  # fmt: skip
        with self.client.post(
            path,
            data=data or {},
            name=name,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if refusal and response.status_code == 400 and refusal in (response.text or ""):
                response.success()
                return ""
            return self._check(response, path, 200)

    def _check(self, response: Any, path: str, expect: int) -> str:
        if response.status_code != expect:
            said = response.error if response.status_code == 0 else (response.text or "")[:200]
            response.failure(f"{response.status_code} for {path}: {said!r}")
            return ""
        kind = (response.headers or {}).get("Content-Type", "")
        if not kind.startswith(("text/html", "application/json")):
            return ""
        # Django names the charset of its HTML; JSON is UTF-8 by definition (without this the
        # client would guess the encoding of every waveform's JSON with chardet, on our CPU).
        response.encoding = response.encoding or "utf-8"
        text = response.text or ""
        if kind.startswith("text/html"):
            if LOGIN_FORM in text and "/login/" not in path:  # the login page again
                response.failure(f"{path} sent {self.username} to the login page")
                return ""
            self._learn(text)
        return text

    def job(self) -> str | None:
        return random.choice(self.job_ids) if self.job_ids else None


class Client(StudioUser):
    role = "client"
    weight = 6

    def on_start(self) -> None:
        super().on_start()
        self.rooms: dict[str, list[str]] = {}  # job id -> its sources' peaks URLs
        # The browser's cache: peaks URL -> when its copy goes stale (the response's max-age;
        # the room's script fetches with the default cache mode, so a fresh copy is not asked
        # for again).
        self.cached: dict[str, float] = {}
        self.looked: set[str] = set()  # the jobs whose page I have seen
        self.preview_job: str | None = None

    def _look(self, job: str, html: str) -> None:
        """The first time I see a job's page: does it have a review room (sources with a
        waveform) or a levelling preview for me to answer?"""
        if job in self.looked or not html:
            return
        self.looked.add(job)
        peaks = [url for url in PEAKS_LINK.findall(html) if self._has_waveform(url)]
        if peaks:
            self.rooms[job] = peaks
        if PREVIEW_ANSWER.search(html):
            self.preview_job = job

    def _has_waveform(self, url: str) -> bool:
        """A file still being measured has no waveform yet (404, which the room's script
        shows as such); the room is visited for the files that have one."""
        return self._peaks(url) == 200

    def _peaks(self, url: str) -> int:
        """A file's peaks as the room's script fetches them: from the browser's cache while
        its copy is fresh (no request), else from the studio, kept for the max-age it says."""
        if self.cached.get(url, 0.0) > time.monotonic():
            return 200
        name = "client: review room peaks"
        with self.client.get(
            url, name=name, headers={"X-Load-Kind": name}, catch_response=True
        ) as response:
            if response.status_code == 404:
                response.success()
            elif response.status_code == 200:
                age = MAX_AGE.search((response.headers or {}).get("Cache-Control", ""))
                if age:
                    self.cached[url] = time.monotonic() + int(age.group(1))
            else:
                self._check(response, url, 200)
            return int(response.status_code)

    @page(2)
    def home(self) -> None:
        self.get("/", "client: home")

    @page(3)
    def job_page(self) -> None:
        job = self.job() or (self.get("/", "client: home") and self.job())
        if job:
            self._look(job, self.get(f"/jobs/{job}/", "client: job page"))

    @page(3)
    def intake_poll(self) -> None:
        job = self.job()
        if job:
            self.get(f"/jobs/{job}/intake/", "client: intake poll (htmx)", htmx=True)

    @page(2)
    def player_range(self) -> None:
        """The player asks for a piece of the file, as a browser's <audio> does: 206."""
        if not self.file_ids and self.job():
            self.get(f"/jobs/{self.job()}/", "client: job page")
        if self.file_ids:
            start = random.randrange(0, 1_000_000)
            self.get(
                f"/files/{random.choice(self.file_ids)}/stream/",
                "client: player range",
                expect=206,
                Range=f"bytes={start}-{start + 65535}",
            )

    @page(2)
    def review_room(self) -> None:
        """The review room: the job page with its sources, then the waveform of each, as the
        room's script fetches them."""
        if not self.rooms:
            self.job_page()  # a job page first: it says whether the job has a room
            return
        job, peaks = random.choice(list(self.rooms.items()))
        self.get(f"/jobs/{job}/", "client: review room")
        for url in peaks[:3]:
            self._peaks(url)

    @page(1)
    def levelling_preview(self) -> None:
        """The job page that asks me to answer the levelling preview (the demo's Afterglow)."""
        if self.preview_job:
            self.get(f"/jobs/{self.preview_job}/", "client: levelling preview answer page")


class Engineer(StudioUser):
    role = "engineer"
    weight = 3

    def on_start(self) -> None:
        """Arrive at the desk and start listening on the stage I am on (starting my next stage
        first if I am on none), as an engineer's day begins."""
        super().on_start()
        self.session_id: int | None = None
        self.ticks = 0
        for _ in range(2):
            if self._listen():
                break

    def _listen(self) -> bool:
        """One step towards listening: the session running, or start listening on my stage, or
        start my next stage. True once a session is running."""
        html = self.get("/desk/", "engineer: desk")
        ticking = TICK_FORM.search(html)
        if ticking is None:
            stage = LISTEN_FORM.search(html)
            if stage is None:  # on no stage: start my next one from the desk
                start = DESK_START.search(html)
                if start:
                    self.post(start.group(1), "engineer: stage move (htmx)", refusal=FRESH_EARS)
                return False
            regions = self.post(
                f"/desk/stages/{stage.group(1)}/listen/", "engineer: start listening (htmx)"
            )
            ticking = TICK_FORM.search(regions)
        self.session_id = int(ticking.group(1)) if ticking else None
        self.ticks = 0
        return self.session_id is not None

    @page(3)
    def desk(self) -> None:
        html = self.get("/desk/", "engineer: desk")
        ticking = TICK_FORM.search(html)
        self.session_id = int(ticking.group(1)) if ticking else None

    @page(1)
    def plan(self) -> None:
        self.get("/plan/", "engineer: my plan")

    @page(2)
    def queue(self) -> None:
        self.get("/queue/", "engineer: queue")

    @page(5)
    def session_poll(self) -> None:
        """The listening session's poll as the page makes it every few seconds (POST
        sessions/<id>/tick/ with htmx; the timer region comes back). After a while the engineer
        stops listening, so the stage can be finished, and later listens again."""
        if self.session_id is None:
            self._listen()
            return
        if self.ticks >= TICKS_PER_SESSION:
            self.post(f"/sessions/{self.session_id}/stop/", "engineer: stop listening (htmx)")
            self.session_id = None
            return
        timer = self.post(f"/sessions/{self.session_id}/tick/", "engineer: session poll (htmx)")
        self.ticks += 1
        if 'id="desk-session"' not in timer:  # the session ended meanwhile (the beat task)
            self.session_id = None

    @page(2)
    def stage_move(self) -> None:
        """Start or finish the first stage the queue offers (not while listening: the studio
        asks to stop the session first, and so does this engineer)."""
        if self.session_id is not None:
            return
        html = self.get("/queue/", "engineer: queue")
        moves = MOVE_FORM.findall(html)
        if not moves:
            return
        stage_id, action = moves[0]
        self.post(
            f"/stages/{stage_id}/{action}/", "engineer: stage move (htmx)", refusal=FRESH_EARS
        )

    @page(1)
    def job_page(self) -> None:
        job = self.job()
        if job:
            self.get(f"/jobs/{job}/", "engineer: job page")


class Manager(StudioUser):
    role = "manager"
    weight = 1

    @page(3)
    def home(self) -> None:
        """A manager's home is the deadline board (/ redirects there)."""
        self.get("/board/", "manager: home (board)")

    @page(2)
    def job_list(self) -> None:
        page_ = random.choice(["", "?page=2"])
        self.get(f"/jobs/all/{page_}", "manager: studio job list")

    @page(2)
    def board_filtered(self) -> None:
        query = random.choice(
            ["state=at_risk", "state=overdue", "view=closed", "q=song", "status=in_progress"]
        )
        self.get(f"/board/?{query}", "manager: board filtered (htmx)", htmx=True)

    @page(1)
    def board_page(self) -> None:
        self.get("/board/?page=2", "manager: board page 2")

    @page(2)
    def workload(self) -> None:
        self.get("/workload/", "manager: workload")

    @page(2)
    def job_page(self) -> None:
        job = self.job()
        if job:
            self.get(f"/jobs/{job}/", "manager: job page")

    @page(1)
    def policy(self) -> None:
        self.get("/policy/", "manager: policy")

    @page(1)
    def compliance(self) -> None:
        self.get("/compliance/", "manager: compliance")
