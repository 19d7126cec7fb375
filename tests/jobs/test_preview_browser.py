"""The levelling preview in a real Chromium: a job waits on the client over minor clipping, the
engineer sends a preview from the job page, the client finds it from their home, plays it against
the rough mix at matched loudness, carries on, and the job proceeds with its clock running."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobs.models import FileKind, Job, JobStatus, LevellingPreview, User, Verdict
from jobs.review.gain import ab_gains
from jobs.services import job_record_verdict, job_start_analysis, job_submit
from tests.browser import (
    SCREENSHOTS,
    csp_violations,
    screenshot,
    wait_until,
    watch_csp,
)
from tests.factories import make_job
from tests.jobs.helpers import master_wav
from tests.jobs.review.helpers import measured_file, tone

pytestmark = [pytest.mark.django_db, pytest.mark.browser]
PASSWORD = "correct horse battery staple"
SECONDS = 8.0
NOTE = "The chorus levelled to -10 LUFS: the two clipped snare hits still crackle a little."


@pytest.fixture
def waiting(client_user: User) -> Job:
    """Intake accepted the job with minor clipping; it waits for the client's answer."""
    job = make_job(client=client_user, track_title="Blue Hour")
    measured_file(job, name="Drums - Blue Hour.wav", content=tone(SECONDS, clip_at=(1.0, 2.5)))
    measured_file(
        job, kind=FileKind.ROUGH_MIX, name="Blue Hour rough.wav", content=tone(SECONDS, dbfs=-18)
    )
    job_submit(job=job, by=client_user)
    job_start_analysis(job=job)
    job_record_verdict(job=job, verdict=Verdict.ACCEPTED_WITH_WARNINGS, needs_acknowledgement=True)
    job.refresh_from_db()
    assert job.awaits_acknowledgement and job.due_at is None
    return job


def _login(browser: Any, base: str, user: User, *, width: int = 1366) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(base + "/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def _no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"))


def test_engineer_sends_a_preview_the_client_compares_it_and_carries_on(
    live_server: Any,
    chromium: Any,
    waiting: Job,
    client_user: User,
    engineer: User,
    tmp_path: Path,
) -> None:
    base, job = live_server.url, waiting
    preview_wav = tmp_path / "Blue Hour (levelling preview).wav"
    preview_wav.write_bytes(master_wav(-1.0, seconds=SECONDS))

    # The engineer finds the upload on the job page and sends the preview with a note.
    studio = _login(chromium, base, engineer)
    studio_csp = watch_csp(studio)
    studio.goto(f"{base}/jobs/{job.pk}/")
    studio.set_input_files("#levelling-preview input[name=file]", str(preview_wav))
    studio.fill("#levelling-preview textarea[name=note]", NOTE)
    screenshot(studio, "preview-engineer-form-1366")
    studio.click("#levelling-preview button[type=submit]")
    studio.wait_for_selector("text=Preview sent")
    assert "Waiting for the client's answer" in studio.inner_text("#levelling-preview")
    screenshot(studio, "preview-engineer-sent-1366")
    studio.locator("#levelling-preview").screenshot(path=str(SCREENSHOTS / "preview-sent-box.png"))
    assert csp_violations(studio, studio_csp) == []
    preview = LevellingPreview.objects.get(job=job)
    assert preview.audio_file.analysis.status == "done"  # measured after the commit

    # The client's home says there is something to hear.
    page = _login(chromium, base, client_user)
    csp = watch_csp(page)
    page.goto(f"{base}/")
    ask = page.locator(".job-card.needs-you", has_text="Blue Hour")
    assert "preview of the levelled master" in ask.inner_text()
    ask.locator("a.button").click()
    page.wait_for_selector("#player.enhanced")
    assert page.url.endswith("#levelling-preview")
    assert NOTE in page.inner_text("#levelling-preview")
    names = page.eval_on_selector_all("[data-source]", "els => els.map(e => e.dataset.label)")
    assert names == ["Levelling preview", "Rough mix"]
    preview_gain, rough_gain = (
        g.matched for g in ab_gains([_lufs(preview.audio_file), _lufs_of(job)])
    )
    assert preview_gain < 0 and rough_gain == 0.0  # the louder preview is turned down to match
    screenshot(page, "preview-client-1366")

    # Play the preview, switch to the rough mix at the same place, and back.
    page.click("[data-action=play]")
    wait_until(
        page,
        "parseFloat(document.getElementById('player').dataset.position || 0) > 1.0",
        timeout=15000,
    )
    assert float(page.get_attribute("#player", "data-applied-gain-db") or 0) == pytest.approx(
        preview_gain, abs=0.01
    )
    page.keyboard.press("2")
    assert page.inner_text("[data-now-label]") == "Rough mix"
    assert page.inner_text("[data-applied-gain]") == "0.0 dB"
    page.keyboard.press("1")
    assert page.inner_text("[data-now-label]") == "Levelling preview"
    page.keyboard.press("Space")  # pause
    assert csp_violations(page, csp) == []

    # The phone-sized page reads without sideways scrolling.
    phone = _login(chromium, base, client_user, width=390)
    phone.goto(f"{base}/jobs/{job.pk}/#levelling-preview")
    phone.wait_for_selector("#player.enhanced")
    assert _no_sideways_scroll(phone)
    screenshot(phone, "preview-client-390")
    phone.locator("#levelling-preview").screenshot(path=str(SCREENSHOTS / "preview-box-390.png"))
    phone.locator("#review-room").screenshot(path=str(SCREENSHOTS / "preview-room-390.png"))
    phone.goto(f"{base}/")
    assert _no_sideways_scroll(phone)
    screenshot(phone, "preview-client-home-390")

    # Carry on: the job is accepted and the delivery clock runs.
    page.click("#levelling-preview button[value=carry_on]")
    page.wait_for_selector("text=we carry on with these files")
    job.refresh_from_db()
    assert job.status == JobStatus.ACCEPTED and job.clock_running and job.due_at is not None
    assert "Accepted" in page.inner_text("p.status") and "due" in page.inner_text("p.status")
    assert "Preview answered: Carry on with these files" in page.content()
    screenshot(page, "preview-client-answered-1366")
    assert csp_violations(page, csp) == []


def _lufs(audio: Any) -> float:
    audio.analysis.refresh_from_db()
    return float(audio.analysis.report["integrated_lufs"])


def _lufs_of(job: Job) -> float:
    return _lufs(job.files.get(kind=FileKind.ROUGH_MIX))
