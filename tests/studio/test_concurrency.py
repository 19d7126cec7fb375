"""Simultaneous requests against gunicorn (two workers of eight threads), on the embedded default
(a SQLite file) and on PostgreSQL: bursts of uploads, submits and stage moves wait instead of
failing, and thirty wrong passwords at once get at most five password checks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection

from tests import served_settings, served_setup
from tests.factories import wav_bytes
from tests.served import Served, served_database, served_sqlite

# The PostgreSQL half writes through the live server's threads: rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)
BURST = 20  # simultaneous requests of each kind
WRONG = 30
LOCKED = "Too many failed attempts"
CSRF = served_setup.CSRF
TIMEOUT = 120


class App:
    """A served app: its URL and a way to make rows in its database."""

    def __init__(self, url: str, setup: Callable[..., Any]) -> None:
        self.url = url
        self.setup = setup


@pytest.fixture(scope="module")
def sqlite_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_sqlite(tmp_path_factory.mktemp("served")) as served:
        yield served


@pytest.fixture(scope="module")
def postgres_served(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup: None, django_db_blocker: Any
) -> Iterator[tuple[Served, Path]]:
    with django_db_blocker.unblock():
        db = connection.settings_dict
    home = tmp_path_factory.mktemp("served-pg")
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    with served_database(url, home / "media", home) as served:
        yield served, home / "media"


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, settings: Any) -> App:
    if request.param == "sqlite":
        served: Served = request.getfixturevalue("sqlite_served")
        return App(served.url, served.setup)
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL half runs with DATABASE_URL pointing at PostgreSQL")
    served, media = request.getfixturevalue("postgres_served")
    # Rows are made in this process, files where the served app reads them.
    settings.MEDIA_ROOT = media
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**settings.STORAGES["default"], "OPTIONS": {"location": str(media)}},
    }
    settings.PASSWORD_HASHERS = served_settings.PASSWORD_HASHERS
    return App(served.url, lambda name, **kw: getattr(served_setup, name)(**kw))


def at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Start every call at the same moment, each on its own thread."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _post(url: str, session: str | None = None, **kw: Any) -> Callable[[], requests.Response]:
    cookies = {"csrftoken": CSRF, **({"sessionid": session} if session else {})}

    def call() -> requests.Response:
        return requests.post(
            url,
            cookies=cookies,
            headers={"X-CSRFToken": CSRF, "Referer": url},
            allow_redirects=False,
            timeout=TIMEOUT,
            **kw,
        )

    return call


def test_a_burst_of_uploads_submits_and_stage_moves_never_answers_5xx(app: App) -> None:
    rows = app.setup("burst", n=BURST)
    stem = wav_bytes(0.5)
    calls = []
    for i, c in enumerate(rows["clients"]):
        calls.append(
            _post(
                f"{app.url}/jobs/{c['upload_job']}/files/",
                c["session"],
                data={"kind": "stem"},
                files={"files": (f"Keys - Upload {i}.wav", stem, "audio/wav")},
            )
        )
        calls.append(_post(f"{app.url}/jobs/{c['submit_job']}/submit/", c["session"]))
    for stage, engineer in zip(rows["stages"], rows["engineers"], strict=True):
        calls.append(_post(f"{app.url}/stages/{stage}/start/", engineer))
    responses = at_once(calls)
    errors = [
        (r.request.url, r.status_code, r.text[:300]) for r in responses if r.status_code >= 500
    ]
    assert errors == []
    assert all(r.status_code in (200, 302) for r in responses), [
        (r.request.url, r.status_code) for r in responses if r.status_code not in (200, 302)
    ]
    outcome = app.setup(
        "burst_outcome",
        upload_jobs=[c["upload_job"] for c in rows["clients"]],
        submit_jobs=[c["submit_job"] for c in rows["clients"]],
        stages=rows["stages"],
    )
    assert outcome == {
        "uploaded": BURST,
        "submitted": BURST,
        "analyses": BURST,
        "started": BURST,
    }


def test_thirty_simultaneous_wrong_passwords_get_at_most_five_checks(app: App) -> None:
    who = app.setup("user", username="ben", hasher="pbkdf2_sha256")
    login = f"{app.url}/login/"
    form = {"username": who["username"], "password": "wrong", "csrfmiddlewaretoken": CSRF}
    responses = at_once([_post(login, data=form) for _ in range(WRONG)])
    assert [r.status_code for r in responses if r.status_code >= 500] == []
    refused = [r for r in responses if r.status_code == 429 and LOCKED in r.text]
    judged = [r for r in responses if r.status_code == 200]
    # At most five password checks: four answer "wrong", the fifth already names the lock-out.
    assert len(judged) <= 4 and len(refused) == WRONG - len(judged)
    assert app.setup("failures", username="ben") == 5
    right = {**form, "password": "correct horse battery staple"}
    assert _post(login, data=right)().status_code == 429
