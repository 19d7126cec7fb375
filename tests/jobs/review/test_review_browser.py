"""The review room in a real Chromium: the client plays the master, switches to the rough mix at
the same place with the gains the server computed, drags a range comment and asks for a revision
made of it; the engineer sees it on the stage and downloads the markers; a listen-only guest
plays but cannot download or approve. A job page with 12 files fetches no audio until Play."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobs.models import FileKind, JobStatus, User
from jobs.review.gain import ab_gains
from jobs.review.guests import guest_link_create
from jobs.review.markers import parse_reaper_csv
from jobs.review.models import Comment
from jobs.services import job_deliver
from tests.browser import csp_violations, wait_until, watch_csp
from tests.factories import make_audio_file
from tests.jobs.helpers import accepted_job, master_wav, upload_master, work_through
from tests.jobs.review.helpers import measured_file, tone

pytestmark = [pytest.mark.django_db, pytest.mark.browser]
PASSWORD = "correct horse battery staple"
SECONDS = 8.0


@pytest.fixture
def twelve_files(client_user: User, engineer: User) -> Any:
    """A delivered job with ten stems, a rough mix and a master: twelve files."""
    job = accepted_job(client_user)  # one stem
    for i in range(9):
        make_audio_file(job, name=f"Stem {i} - Billie Jean.wav")
    rough = measured_file(
        job, kind=FileKind.ROUGH_MIX, name="Billie Jean rough.wav", content=tone(SECONDS, dbfs=-16)
    )
    work_through(job, engineer)
    master = upload_master(job, engineer, content=master_wav(-1.5, seconds=SECONDS))
    job_deliver(job=job, by=engineer)
    job.refresh_from_db()
    assert job.files.count() == 12
    return job, master, rough


def _login(browser: Any, base: str, user: User) -> Any:
    page = browser.new_context(accept_downloads=True).new_page()
    page.goto(base + "/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    return page


def _position(page: Any) -> float:
    return float(page.get_attribute("#player", "data-position") or 0)


def _wait_playing(page: Any, past: float) -> None:
    wait_until(
        page,
        f"parseFloat(document.getElementById('player').dataset.position || 0) > {past}",
        timeout=15000,
    )


def test_client_compares_comments_and_asks_for_a_revision_the_engineer_exports_it(
    live_server: Any, chromium: Any, twelve_files: Any, client_user: User, engineer: User
) -> None:
    job, master, rough = twelve_files
    base = live_server.url
    page = _login(chromium, base, client_user)
    csp = watch_csp(page)  # the player and its waveforms work under the site's policy
    audio_requests: list[str] = []
    peaks_sizes: list[int] = []
    page.on("request", lambda r: "/stream/" in r.url and audio_requests.append(r.url))
    page.on(
        "response",
        lambda r: "/peaks/" in r.url and r.ok and peaks_sizes.append(len(r.body())),
    )
    page.goto(f"{base}/jobs/{job.pk}/")
    page.wait_for_selector("#player.enhanced")
    wait_until(page, "document.querySelector('[data-wave]').shadowRoot !== null || true")
    page.wait_for_timeout(500)
    assert audio_requests == []  # twelve files on the page, not one byte of audio yet
    assert csp_violations(page, csp) == []
    assert peaks_sizes and max(peaks_sizes) < 100_000

    names = page.eval_on_selector_all("[data-source]", "els => els.map(e => e.dataset.name)")
    assert names == [master.original_name, rough.original_name]
    master_gain, rough_gain = (
        g.matched
        for g in ab_gains([_lufs(master), _lufs(rough)])  # what the server computed
    )
    assert master_gain < 0 and rough_gain == 0.0  # the louder master is turned down

    page.click("[data-action=play]")
    _wait_playing(page, 1.5)
    assert audio_requests  # now the sources stream
    page.keyboard.press("2")
    switch = json.loads(page.get_attribute("#player", "data-last-switch") or "{}")
    assert (switch["from"], switch["to"]) == ("1", "2")
    assert abs(switch["toTime"] - switch["fromTime"]) < 0.07  # the same place
    assert switch["fromTime"] > 1.5
    assert page.inner_text("[data-now-playing]") == rough.original_name
    assert page.inner_text("[data-applied-gain]") == "0.0 dB"
    gains_now = page.eval_on_selector_all("[data-source]", "els => els.map(e => e.dataset.gainNow)")
    assert gains_now == ["off", "0.00"]
    _wait_playing(page, switch["toTime"] + 0.3)  # and it plays on from there
    page.keyboard.press("1")
    assert float(page.get_attribute("#player", "data-applied-gain-db") or 0) == pytest.approx(
        master_gain, abs=0.01
    )
    assert page.inner_text("[data-applied-gain]") == f"\u2212{abs(master_gain):.1f} dB"
    page.check("input[name=gain-mode][value=unmatched]")
    assert page.inner_text("[data-applied-gain]") == "0.0 dB"
    page.check("input[name=gain-mode][value=matched]")
    page.keyboard.press("Space")  # pause

    # Drag across the master's waveform: a range comment from about 25 % to 50 %.
    box = page.locator("[data-wave]").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.25, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.38, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.50, y, steps=5)
    page.mouse.up()
    assert page.input_value("[data-comment-end]")  # the drag filled both times
    page.fill("[data-comment-text]", "The vocal drops out of the mix here")
    page.click("[data-comment-form] button[type=submit]")
    page.wait_for_selector("text=The vocal drops out of the mix here")
    comment = Comment.objects.get()
    assert comment.audio_file_id == master.pk and comment.end_s is not None
    assert comment.start_s == pytest.approx(0.25 * SECONDS, abs=0.3)
    assert comment.end_s == pytest.approx(0.50 * SECONDS, abs=0.3)

    page.reload()
    page.wait_for_selector("[data-revision-form] input[name=comments]:checked")
    page.click("[data-revision-form] button[type=submit]")
    page.wait_for_selector("text=Revision requested")
    job.refresh_from_db()
    assert job.status == JobStatus.REVISION_REQUESTED

    studio = _login(chromium, base, engineer)
    studio.goto(f"{base}/jobs/{job.pk}/")
    opened = studio.inner_text(".open-comments")
    assert "The vocal drops out of the mix here" in opened and "in the revision request" in opened
    with studio.expect_download() as download:
        studio.click(".open-comments a:has-text('REAPER CSV')")
    with open(download.value.path(), encoding="utf-8") as fh:
        markers = parse_reaper_csv(fh.read())
    [region] = [m for m in markers if m.is_region]
    assert region.start_s == pytest.approx(comment.start_s, abs=0.001)
    assert region.end_s == pytest.approx(comment.end_s, abs=0.001)


def test_a_listen_only_guest_plays_but_cannot_download_or_approve(
    live_server: Any, chromium: Any, twelve_files: Any, client_user: User
) -> None:
    job, master, _ = twelve_files
    _, token = guest_link_create(job=job, by=client_user, label="Jo (artist)")
    page = chromium.new_context().new_page()
    streamed: list[int] = []
    page.on("response", lambda r: "/stream/" in r.url and streamed.append(r.status))
    page.goto(f"{live_server.url}/review/{token}/")
    page.wait_for_selector("#player.enhanced")
    assert page.locator("a[href*='/download/']").count() == 0
    assert page.locator("text=Approve").count() == 0
    page.click("[data-action=play]")
    _wait_playing(page, 1.0)
    assert streamed and all(status in (200, 206) for status in streamed)

    download = page.request.get(f"{live_server.url}/review/{token}/files/{master.pk}/download/")
    assert download.status == 403
    approve = page.evaluate(
        """async (url) => {
            const headers = JSON.parse(document.body.getAttribute('hx-headers'));
            const r = await fetch(url, {method: 'POST', headers});
            return r.status;
        }""",
        f"/review/{token}/approve/",
    )
    assert approve == 403
    job.refresh_from_db()
    assert job.status == JobStatus.DELIVERED


def _lufs(audio: Any) -> float:
    from analysis.models import FileAnalysis

    return float(FileAnalysis.objects.get(audio_file=audio).report["integrated_lufs"])


def test_the_rooms_waveform_comes_from_the_browsers_cache_the_second_time(
    live_server: Any, chromium: Any, twelve_files: Any, client_user: User
) -> None:
    """Peaks are sent with a max-age (a file's peaks never change): opening the room again asks
    the studio for the page, not for its waveform (bench/locustfile.py's clients keep that
    cache as the browser does)."""
    from django.core.signals import request_started

    job, _master, _rough = twelve_files
    served: list[str] = []

    def seen(environ: dict[str, Any] | None = None, **_: Any) -> None:
        served.append((environ or {}).get("PATH_INFO", ""))

    request_started.connect(seen, weak=False)
    try:
        page = _login(chromium, live_server.url, client_user)
        peaks = []
        for _visit in range(2):
            served.clear()
            page.goto(f"{live_server.url}/jobs/{job.pk}/")
            page.wait_for_selector("#player.enhanced")
            wait_until(page, "document.querySelector('[data-wave]').children.length > 0")
            page.wait_for_timeout(300)
            peaks.append([p for p in served if p.endswith("/peaks/")])
            assert f"/jobs/{job.pk}/" in served
        assert len(peaks[0]) == 1  # the master's, drawn on arrival
        assert peaks[1] == []
    finally:
        request_started.disconnect(seen)
