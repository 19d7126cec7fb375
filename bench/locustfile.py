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
from collections.abc import Callable, Iterator
from typing import Any

from locust import HttpUser, between, task
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

PASSWORD = os.environ.get("HEADROOM_LOAD_PASSWORD", "headroom-demo")
THINK = float(os.environ.get("HEADROOM_LOAD_THINK", "2.0"))
JOB_LINK = re.compile(r'href="/jobs/([0-9a-f-]{36})/"')
STREAM_LINK = re.compile(r"/files/([0-9a-f-]{36})/stream/")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
MOVE_FORM = re.compile(r'hx-post="/stages/(\d+)/(start|finish)/"')


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


def page(weight: int) -> Callable[[Callable[[Any], None]], Any]:
    """A page kind: a task of this weight; the label its requests are timed under is the one
    the function passes to `get` (URLs with ids are grouped under it)."""
    return task(weight)


class StudioUser(HttpUser):
    """Logs in once, then works; every response that is not what a person would get fails."""

    abstract = True
    role = ""
    wait_time = between(THINK * 0.5, THINK * 1.5)

    def on_start(self) -> None:
        # gunicorn closes a keep-alive connection idle for 2 s, about the think time, so a GET
        # may meet a connection closed under it; a browser sends it again on a new connection.
        retry = Retry(total=1, connect=1, read=1, status=0, allowed_methods={"GET", "HEAD"})
        self.client.mount("http://", HTTPAdapter(max_retries=retry))
        self.username = next(USERNAMES[self.role])
        self.csrf = ""
        self.job_ids: list[str] = []
        self.file_ids: list[str] = []
        if self.username in SESSIONS:  # arrives logged in: the session the runner made
            self.client.cookies.set("sessionid", SESSIONS[self.username])
            self.get("/", "login: arrive logged in")
            return
        login = self.client.get("/login/", name="login: page")
        token = CSRF_INPUT.search(login.text)
        with self.client.post(
            "/login/",
            data={
                "username": self.username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": token.group(1) if token else "",
            },
            headers={"Referer": f"{self.host}/login/"},
            name="login: form post",
            catch_response=True,
        ) as response:
            if "/login/" in response.url:
                response.failure(f"{self.username} could not log in")
                return
            self._learn(response.text)

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

    def get(self, path: str, name: str, *, htmx: bool = False, **headers: str) -> str:
        if htmx:
            headers["HX-Request"] = "true"
        headers["X-Load-Kind"] = name  # the gunicorn hook files this request's CPU under it
        with self.client.get(path, name=name, headers=headers, catch_response=True) as response:
            if response.status_code not in (200, 206):
                response.failure(f"{response.status_code} for {path}")
                return ""
            if "/login/" in response.url:
                response.failure(f"{path} sent {self.username} to the login page")
                return ""
            if response.headers.get("Content-Type", "").startswith("text/html"):
                self._learn(response.text)
                return response.text
            return ""

    def job(self) -> str | None:
        return random.choice(self.job_ids) if self.job_ids else None


class Client(StudioUser):
    role = "client"
    weight = 6

    @page(2)
    def home(self) -> None:
        self.get("/", "client: home")

    @page(3)
    def job_page(self) -> None:
        job = self.job() or (self.get("/", "client: home") and self.job())
        if job:
            self.get(f"/jobs/{job}/", "client: job page")

    @page(3)
    def intake_poll(self) -> None:
        job = self.job()
        if job:
            self.get(f"/jobs/{job}/intake/", "client: intake poll (htmx)", htmx=True)

    @page(2)
    def player_range(self) -> None:
        """The player asks for a piece of the file, as a browser's <audio> does."""
        if not self.file_ids and self.job():
            self.get(f"/jobs/{self.job()}/", "client: job page")
        if self.file_ids:
            start = random.randrange(0, 1_000_000)
            self.get(
                f"/files/{random.choice(self.file_ids)}/stream/",
                "client: player range",
                Range=f"bytes={start}-{start + 65535}",
            )


class Engineer(StudioUser):
    role = "engineer"
    weight = 3

    @page(3)
    def desk(self) -> None:
        self.get("/desk/", "engineer: desk")

    @page(1)
    def plan(self) -> None:
        self.get("/plan/", "engineer: my plan")

    @page(3)
    def queue(self) -> None:
        self.get("/queue/", "engineer: queue")

    @page(2)
    def stage_move(self) -> None:
        html = self.get("/queue/", "engineer: queue")
        moves = MOVE_FORM.findall(html)
        if not moves:
            return
        stage_id, action = moves[0]
        with self.client.post(
            f"/stages/{stage_id}/{action}/",
            name="engineer: stage move (htmx)",
            headers={"HX-Request": "true", "X-CSRFToken": self.csrf,
                     "Referer": f"{self.host}/queue/",
                     "X-Load-Kind": "engineer: stage move (htmx)"},
            catch_response=True,
        ) as response:  # fmt: skip
            # Another engineer (or a re-plan) may have moved it first: a clear 400/409 is fine.
            if response.status_code in (400, 409):
                response.success()
            elif response.status_code != 200:
                response.failure(f"{response.status_code} moving stage {stage_id}")

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
        self.get("/", "manager: home")

    @page(3)
    def board(self) -> None:
        self.get("/board/", "manager: board")

    @page(1)
    def board_filtered(self) -> None:
        self.get("/board/?state=at_risk", "manager: board filtered (htmx)", htmx=True)

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
