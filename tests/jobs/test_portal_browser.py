"""A client's whole journey in Chromium, on a phone (390 px) and a laptop (1366 px): a new job,
four stems with one clipping handed in, the report, a fixed re-upload, accepted, progress
followed, the review and the approval. The studio's moves in between go through the services.
Every page is checked for sideways scrolling, CSP violations and serious axe-core findings."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from jobs.models import Job, JobStatus, Role, Stage, User
from jobs.services import job_deliver, stage_assign, stage_finish, stage_start
from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    axe_serious,
    csp_violations,
    screenshot,
    wait_until,
    watch_csp,
)
from tests.factories import make_user, wav_bytes
from tests.jobs.helpers import upload_master
from tests.jobs.test_handin_browser import PASSWORD, _db

TITLE = "Harbour Lights"


def _clipped(seconds: float = 2.0, rate: int = 48000) -> bytes:
    """A bass that hits full scale in ten places: more than the three clip events allowed."""
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.5 * np.sin(2 * np.pi * 55.0 * t)
    for k in range(10):
        start = int((0.1 + 0.18 * k) * rate)
        wave[start : start + 40] = 1.0
    buf = io.BytesIO()
    sf.write(buf, np.stack([wave, wave], axis=1), rate, subtype="PCM_24", format="WAV")
    return buf.getvalue()


def _stems(*, fixed: bool) -> dict[str, bytes]:
    bass = wav_bytes(2.0, freq=55.0) if fixed else _clipped()
    return {
        f"Bass - {TITLE}.wav": bass,
        f"Drums - {TITLE}.wav": wav_bytes(2.0, freq=110.0),
        f"Keys - {TITLE}.wav": wav_bytes(2.0, freq=330.0),
        f"Lead Vocals - {TITLE}.wav": wav_bytes(2.0, freq=440.0),
    }


class Visit:
    """One browser tab of the journey, checking every page it lands on."""

    def __init__(self, page: Any, base: str, width: int) -> None:
        self.page, self.base, self.width = page, base, width
        self.seen = watch_csp(page)
        self.checked: list[str] = []

    def check(self, name: str) -> None:
        page = self.page
        page.wait_for_load_state("networkidle")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= self.width, f"{name} scrolls sideways: {wide} px at {self.width}"
        assert csp_violations(page, self.seen) == [], name
        screenshot(page, f"portal-{self.width}-{name}")
        assert axe_serious(page) == [], name
        self.seen.clear()  # axe's own style checks are not the page's
        self.checked.append(name)

    def go(self, path: str, name: str) -> None:
        self.page.goto(self.base + path)
        self.check(name)

    def hand_in(self, stems: dict[str, bytes]) -> None:
        page = self.page
        page.wait_for_selector("#handin:not([hidden])")
        files = [{"name": n, "mimeType": "audio/wav", "buffer": data} for n, data in stems.items()]
        page.set_input_files("#handin input.handin-input", files)
        wait_until(page, f"document.querySelectorAll('.handin-file').length === {len(files)}")
        page.click(".handin-start")
        wait_until(
            page,
            f"document.querySelectorAll('.handin-file.is-done').length === {len(files)}",
            timeout=60_000,
        )

    def submit_and_wait(self, job: Job) -> None:
        page = self.page
        page.goto(f"{self.base}/jobs/{job.pk}/")
        page.click("text=Submit for intake")
        page.wait_for_load_state()
        # Intake runs after the commit; the page polls until the verdict replaces "Checking".
        wait_until(page, "!document.querySelector('#intake-report .analysing')", timeout=60_000)


def _studio_works(job_id: object, engineer: User, *, upto: int) -> None:
    def run() -> None:
        job = Job.objects.get(pk=job_id)
        stages = Stage.objects.filter(job=job, revision_round=job.revision_round)
        for stage in stages.order_by("position")[:upto]:
            if stage.status == "done":
                continue
            stage_assign(stage=stage, by=engineer, engineer=engineer)
            stage_start(stage=stage, by=engineer)
            stage_finish(stage=stage, by=engineer)

    _db(run)


def _deliver(job_id: object, engineer: User) -> None:
    def run() -> None:
        job = Job.objects.get(pk=job_id)
        upload_master(job, engineer, name=f"{TITLE} (master).wav")
        job_deliver(job=job, by=engineer)

    _db(run)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390, 1366])
def test_a_clients_whole_journey(live_server: Any, width: int) -> None:
    from playwright.sync_api import sync_playwright

    client = _db(lambda: make_user(Role.CLIENT, first_name="Mara", last_name="Quinn"))
    engineer = _db(lambda: make_user(Role.ENGINEER))
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = chromium.new_context(viewport={"width": width, "height": 900})
            v = Visit(context.new_page(), live_server.url, width)
            page = v.page
            v.go("/login/", "login")
            page.fill("input[name=username]", client.username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            v.check("home-empty")
            # Keyboard users can skip the navigation.
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.className") == "skip-link"

            page.click("a.button:has-text('New job')")
            v.check("new-job")
            page.fill("input[name=track_title]", TITLE)
            page.fill("textarea[name=reference_notes]", "The low end of our last single.")
            page.click("button:has-text('Create the job')")
            page.wait_for_load_state()
            job = _db(lambda: Job.objects.get(track_title=TITLE))
            v.check("job-draft")

            v.hand_in(_stems(fixed=False))
            v.submit_and_wait(job)
            v.check("job-reexport")
            assert "Submitted: your files are being checked" not in page.inner_text("main")
            v.go(f"/jobs/{job.pk}/intake/", "intake-report")
            summary = page.inner_text(".intake-summary")
            assert "1 file to fix before we can start." in summary
            bass = page.locator(".intake-file", has_text=f"Bass - {TITLE}.wav")
            assert bass.locator("svg.waveform").count() == 1
            fixes = bass.locator("ul.fixes label")
            assert fixes.count() >= 1 and "clipping events" in fixes.first.inner_text()
            others = page.locator(".intake-file", has_not_text=f"Bass - {TITLE}.wav")
            assert others.locator("ul.fixes").count() == 0  # the rest is fine
            bass.locator("ul.fixes label").first.click()  # the client ticks it off
            assert bass.locator("ul.fixes input[type=checkbox]").first.is_checked()
            v.go("/", "home-reexport")
            assert "We need from you" in page.inner_text(".job-card")

            page.goto(f"{live_server.url}/jobs/{job.pk}/")
            v.hand_in({f"Bass - {TITLE}.wav": _stems(fixed=True)[f"Bass - {TITLE}.wav"]})
            v.submit_and_wait(job)
            assert _db(lambda: Job.objects.get(pk=job.pk).status) == JobStatus.ACCEPTED
            v.check("job-accepted")
            assert "(On track)" in page.inner_text("main")

            _studio_works(job.pk, engineer, upto=3)
            v.go("/", "home-in-progress")
            card = page.inner_text(".job-card")
            assert "EQ and enhancement (stage 4 of 6)" in card and "3 of 6 stages done" in card
            assert "Expected by" in card and "We need from you" not in card
            page.click(f"text={TITLE}")
            v.check("job-in-progress")
            timeline = page.inner_text("#timeline")
            assert "Level balancing done" in timeline and "assigned" not in timeline
            assert engineer.username not in timeline

            _studio_works(job.pk, engineer, upto=6)
            _deliver(job.pk, engineer)
            v.go("/", "home-delivered")
            page.click("a.button:has-text('Listen and review')")
            v.check("review-room")
            assert page.locator("#review-room").count() == 1
            assert f"{TITLE} (master).wav" in page.inner_text("#review-room")
            page.click("#delivery button:has-text('Approve')")
            page.wait_for_load_state()
            v.check("job-approved")
            main = page.inner_text("main")
            assert "Master approved" in page.inner_text("#timeline")
            assert "On track" not in main
            assert _db(lambda: Job.objects.get(pk=job.pk).status) == JobStatus.APPROVED
            v.go("/", "home-approved")
            assert v.checked == [
                "login", "home-empty", "new-job", "job-draft", "job-reexport", "intake-report",
                "home-reexport", "job-accepted", "home-in-progress", "job-in-progress",
                "home-delivered", "review-room", "job-approved", "home-approved",
            ]  # fmt: skip
            context.close()
        finally:
            chromium.close()
