"""An engineer's day in Chromium against the app as deployed: gunicorn on the test database, its
tasks on Redis and a real Celery worker consuming them (tests/worker.py, `served_with_worker`).
The client hands a job in; the worker measures it, accepts it and re-plans, so it appears *up for
grabs* proposed to the engineer. The engineer takes it, works its six stages with notes and
checklists, gets the ear-break prompt (the policy's limits shortened; the session's time moved
on the server by backdating its rows, never slept), takes one break and skips one, is refused by
fresh ears once, uploads a master (measured by the worker) and delivers. A session left open is
then closed by the beat task and the desk says so. No CSP violation anywhere; at 390 px the desk
does not scroll sideways. Nothing here happens without the worker: intake, the proposals, the
master's check and the forgotten session's close are all its work."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from analysis.services import intake_submit
from jobs.models import (
    BreakOutcome,
    EarBreak,
    Job,
    JobStatus,
    ListeningSession,
    RecallNote,
    Role,
    StudioPolicy,
)
from tests.browser import CHROMIUM, CHROMIUM_ARGS, csp_violations, screenshot, wait_until, watch_csp
from tests.browser import on_db_thread as _db
from tests.factories import make_audio_file, make_job, make_user
from tests.jobs.helpers import master_wav
from tests.served import Served
from tests.worker import Worker, WorkerFactory, celery_worker_factory, served_with_worker

__all__ = ["celery_worker_factory", "served_with_worker"]  # the fixtures, imported for pytest

PASSWORD = "correct horse battery staple"


def _backdate_session(minutes: int) -> None:
    """Move the open session and its breaks `minutes` into the past: time passes, on the server."""
    shift = timedelta(minutes=minutes)
    session = ListeningSession.objects.get(ended_at__isnull=True)
    session.started_at -= shift
    session.save(update_fields=["started_at"])
    for b in EarBreak.objects.filter(session=session):
        b.prompted_at -= shift
        b.started_at = b.started_at - shift if b.started_at else None
        b.ended_at = b.ended_at - shift if b.ended_at else None
        b.save()


def _backdate_listening(minutes: int) -> None:
    """All listening so far ended `minutes` earlier: a rest taken, as the server sees it."""
    shift = timedelta(minutes=minutes)
    for session in ListeningSession.objects.filter(ended_at__isnull=False):
        assert session.ended_at is not None
        session.started_at -= shift
        session.ended_at -= shift
        session.save(update_fields=["started_at", "ended_at"])


def _reload_until(page: Any, expression: str, *, timeout: float = 60.0) -> None:
    """Reload `page` until a JavaScript expression is true on it: for what the worker does in
    its own time (the desk does not poll its lists)."""
    deadline = time.monotonic() + timeout
    while True:
        page.reload()
        if page.evaluate(f"() => Boolean({expression})"):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout:.0f} s: {expression}")
        page.wait_for_timeout(500)


def _forgotten_session(minutes: int) -> None:
    """The open session started `minutes` ago and was never stopped (a closed laptop)."""
    session = ListeningSession.objects.get(ended_at__isnull=True)
    session.started_at -= timedelta(minutes=minutes)
    session.save(update_fields=["started_at"])


GRABS = "#desk-grabs tr[id^=grab-]"
PROPOSED_TO_ME = (
    f"document.querySelectorAll('{GRABS}').length === 6 && [...document.querySelectorAll("
    "'#desk-grabs td[data-label=Proposed]')].every(td => td.innerText.trim() === 'you')"
)


@pytest.mark.browser
@pytest.mark.worker
def test_an_engineers_day(
    served_with_worker: tuple[Served, Worker],
    celery_worker_factory: WorkerFactory,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    policy = StudioPolicy.current()
    policy.max_continuous_listening_min = 5
    policy.short_break_min = 2
    policy.long_break_min = 4
    policy.fresh_ears_break_min = 15
    policy.save()
    client = make_user(Role.CLIENT)
    engineer = make_user(Role.ENGINEER, first_name="Ada", last_name="Okafor")
    job = make_job(client=client, track_title="Glasshouse")
    make_audio_file(job, name="Bass - Glasshouse.wav")
    master = tmp_path / "Master - Glasshouse.wav"
    master.write_bytes(master_wav(-1.5))
    served, worker = served_with_worker
    base = served.url

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = chromium.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            seen = watch_csp(page)
            page.goto(base + "/login/")
            page.fill("input[name=username]", engineer.username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/desk/")
            assert page.locator(GRABS).count() == 0

            # The client hands the job in; the worker measures and accepts it, then re-plans:
            # its six stages appear up for grabs, each proposed to the only engineer.
            _db(lambda: intake_submit(job=job, by=client))
            _reload_until(page, PROPOSED_TO_ME)
            screenshot(page, "desk-1366-up-for-grabs")

            # Take all six stages; each take updates the desk without a reload.
            page.evaluate("window.__sameDocument = true")
            for left in range(5, -1, -1):
                page.locator("#desk-grabs button", has_text="Take").first.click()
                wait_until(
                    page,
                    f"document.querySelectorAll('#desk-grabs tr[id^=grab-]').length === {left}",
                )
            assert page.evaluate("window.__sameDocument") is True
            wait_until(
                page, "document.querySelectorAll('#desk-next tr[id^=desk-stage-]').length === 6"
            )

            # Listening: start it from the desk, then listen on it.
            page.locator("#desk-next button", has_text="Start").first.click()
            wait_until(page, "!!document.querySelector('#desk-now .desk-card')")
            page.locator("#desk-now button", has_text="Start listening").click()
            wait_until(page, "!!document.querySelector('[data-session-timer]')")
            assert page.is_hidden("[data-break-prompt]")
            _db(lambda: _backdate_session(6))
            page.reload()
            wait_until(page, "!document.querySelector('[data-break-prompt]').hidden")
            assert "Time for a 2-minute break." in page.inner_text("[data-break-prompt]")
            screenshot(page, "desk-1366-break-prompt")
            page.click("text=Take the break")
            wait_until(page, "!!document.querySelector('.break-running')")
            screenshot(page, "desk-1366-on-a-break")
            # The break is over and five more minutes listened: the next prompt, skipped.
            _db(lambda: _backdate_session(8))
            page.reload()
            wait_until(page, "!document.querySelector('[data-break-prompt]').hidden")
            page.fill(".skip-break input[name=reason]", "client call in five minutes")
            page.click(".skip-break button")
            wait_until(page, "document.querySelector('[data-break-prompt]').hidden")
            page.click("text=Stop listening")
            wait_until(page, "!document.querySelector('[data-session-timer]')")

            # Stage work on the job page: ticks, a recall note, finishing asks about the rest.
            page.goto(f"{base}/jobs/{job.pk}/#stage-work")
            card = page.locator("details.stage-in_progress")
            card.locator("button.tick", has_text="rough mix heard in full").click()
            wait_until(
                page, "!!document.querySelector('details.stage-in_progress button.tick.ticked')"
            )
            page.locator("details.stage-in_progress textarea[name=text]").fill(
                "Vocal forward, low end warm"
            )
            page.locator("details.stage-in_progress button", has_text="Keep note").click()
            wait_until(page, "document.body.innerText.includes('Vocal forward, low end warm')")
            page.locator("details.stage-in_progress button", has_text="Finish").click()
            wait_until(page, "!!document.querySelector('.confirm')")
            assert "references heard, direction noted" in page.inner_text(".confirm")
            screenshot(page, "job-1366-stage-work-confirm")
            page.click(".confirm button")
            wait_until(page, "document.querySelectorAll('details.stage-done').length === 1")

            # Cleanup, level balancing, EQ from the desk (EQ with a session: listening just now).
            page.goto(base + "/desk/")
            for kind in ("Cleanup", "Level balancing", "EQ and enhancement"):
                page.locator("#desk-next tr", has_text=kind).locator(
                    "button", has_text="Start"
                ).click()
                wait_until(
                    page, f"document.querySelector('#desk-now').innerText.includes('{kind}')"
                )
                if kind == "EQ and enhancement":
                    page.locator("#desk-now button", has_text="Start listening").click()
                    wait_until(page, "!!document.querySelector('[data-session-timer]')")
                    page.click("text=Stop listening")
                    wait_until(page, "!document.querySelector('[data-session-timer]')")
                page.locator("#desk-now button", has_text="Finish stage").click()
                wait_until(
                    page, "document.querySelector('#desk-now').innerText.includes('Still unticked')"
                )
                page.locator("#desk-now button", has_text="Finish anyway").click()
                wait_until(
                    page, f"!document.querySelector('#desk-now').innerText.includes('{kind}')"
                )

            # Fresh ears: glue right after listening is refused, with the earliest time.
            glue = page.locator("#desk-next tr", has_text="Glue and final level")
            glue.locator("button", has_text="Start").click()
            wait_until(
                page, "document.querySelector('#desk-next').innerText.includes('needs fresh ears')"
            )
            assert "It can start from" in page.inner_text("#desk-next")
            screenshot(page, "desk-1366-fresh-ears-refused")
            _db(lambda: _backdate_listening(20))
            page.locator("#desk-next tr", has_text="Glue and final level").locator(
                "button", has_text="Start"
            ).click()
            wait_until(
                page,
                "document.querySelector('#desk-now').innerText.includes('Glue and final level')",
            )
            page.locator("#desk-now button", has_text="Finish stage").click()
            wait_until(
                page, "document.querySelector('#desk-now').innerText.includes('Still unticked')"
            )
            page.locator("#desk-now button", has_text="Finish anyway").click()
            page.locator("#desk-next tr", has_text="Delivery").locator(
                "button", has_text="Start"
            ).click()
            wait_until(page, "document.querySelector('#desk-now').innerText.includes('Delivery')")

            # Delivery: Deliver waits for the master and the stage; upload, finish, deliver.
            page.goto(f"{base}/jobs/{job.pk}/")
            assert "Before delivering: finish the delivery stage." in page.inner_text("#delivery")
            page.set_input_files("#master-upload-form input[type=file]", str(master))
            page.click("#master-upload-form button[type=submit]")
            wait_until(
                page,
                "document.querySelector('#delivery').innerText.includes('Pass')",
                timeout=30_000,
            )
            screenshot(page, "job-1366-master-uploaded")
            page.locator("details.stage-in_progress button", has_text="Finish").click()
            page.click(".confirm button")
            wait_until(page, "document.querySelectorAll('details.stage-done').length === 6")
            page.reload()
            page.click("#delivery button:has-text('Deliver')")
            wait_until(page, "document.body.innerText.includes('Delivered')")
            screenshot(page, "job-1366-delivered")

            # A session left open: the beat task (a worker with beat, closing every second)
            # closes it with its time capped, and the desk says so.
            page.goto(base + "/desk/")
            assert page.locator("[data-capped]").count() == 0
            _db(
                lambda: ListeningSession.objects.create(
                    engineer=engineer, stage=job.stages.order_by("position").first()
                )
            )
            _db(lambda: _forgotten_session(30))
            celery_worker_factory(beat=True, extra_env={"SESSIONS_CLOSE_EVERY_S": "1"})
            _reload_until(page, "!!document.querySelector('[data-capped]')")
            assert "was left open" in page.inner_text("[data-capped]")
            screenshot(page, "desk-1366-session-capped")
            assert csp_violations(page, seen) == []

            phone = chromium.new_context(viewport={"width": 390, "height": 844})
            small = phone.new_page()
            small.goto(base + "/login/")
            small.fill("input[name=username]", engineer.username)
            small.fill("input[name=password]", PASSWORD)
            small.click("button[type=submit]")
            for path in ("/desk/", "/plan/", f"/jobs/{job.pk}/"):
                small.goto(base + path)
                assert small.evaluate("document.documentElement.scrollWidth") <= 390, path
                screenshot(small, "desk-390" + path.rstrip("/").replace("/", "-"))
            phone.close()
            context.close()
        finally:
            chromium.close()

    def outcome() -> tuple[str, list[tuple[str, str]], int]:
        breaks = [(b.outcome, b.skip_reason) for b in EarBreak.objects.order_by("prompted_at")]
        return Job.objects.get(pk=job.pk).status, breaks, RecallNote.objects.count()

    status, breaks, notes = _db(outcome)
    assert status == JobStatus.DELIVERED
    assert breaks == [
        (BreakOutcome.TAKEN, ""),
        (BreakOutcome.SKIPPED, "client call in five minutes"),
    ]
    assert notes == 1
    done = worker.output()
    for task in ("analysis.file_measure", "jobs.plan_refresh"):
        assert f"Task {task}[" in done and "succeeded" in done, task
