"""The hand-in page in Chromium: four stems dropped on the job page, their kinds suggested and
their headers checked, uploaded by tus with a progress bar each; the connection is cut during
the large one and the upload resumes without resending a stored byte (asserted on the server).
At 390 px nothing scrolls sideways."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from jobs.models import AudioFile, Job, PartialUpload, UploadState
from tests.browser import CHROMIUM, CHROMIUM_ARGS, screenshot, wait_until
from tests.browser import on_db_thread as _db
from tests.factories import make_job, wav_bytes

CHUNK = 1024 * 1024
PASSWORD = "correct horse battery staple"

DROP_JS = """
([selector, files]) => {
  const transfer = new DataTransfer();
  for (const [name, b64] of files) {
    const raw = atob(b64);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    transfer.items.add(new File([bytes], name, { type: "audio/wav", lastModified: 1700000000000 }));
  }
  const target = document.querySelector(selector);
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { bubbles: true, cancelable: true, dataTransfer: transfer };
    target.dispatchEvent(new DragEvent(type, init));
  }
}
"""


def _login(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_four_stems_dropped_upload_and_the_cut_one_resumes_without_resending(
    live_server: Any, settings: Any
) -> None:
    from playwright.sync_api import sync_playwright

    settings.UPLOAD_CHUNK_BYTES = CHUNK
    job = make_job(track_title="Browser Song")
    client = job.created_by
    stems = {
        "Bass - Browser Song.wav": wav_bytes(1.0, freq=55.0),
        "Drums - Browser Song.wav": wav_bytes(1.0, freq=220.0),
        "track 7 (2).wav": wav_bytes(1.0, freq=330.0),  # off the naming scheme
        "Vocal - Browser Song.wav": wav_bytes(20.0, freq=440.0),  # the large one, ~5.8 MB
    }
    large = len(stems["Vocal - Browser Song.wav"])
    assert large > 5 * CHUNK
    files = [[name, base64.b64encode(data).decode()] for name, data in stems.items()]
    cut: list[str] = []

    def cut_the_line(route: Any) -> None:
        # The first request that carries the large file's third megabyte never arrives.
        request = route.request
        if (
            request.method == "PATCH"
            and request.headers.get("upload-offset") == str(2 * CHUNK)
            and not cut
        ):
            cut.append(request.url)
            route.abort("internetdisconnected")
            return
        route.continue_()

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = chromium.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            _login(page, live_server.url, client.username)
            page.goto(f"{live_server.url}/jobs/{job.pk}/")
            page.wait_for_selector("#handin:not([hidden])")
            assert page.is_hidden("#upload-form")  # the plain form is there for no-JS only
            page.route("**/uploads/*/", cut_the_line)

            page.evaluate(DROP_JS, ["#handin-drop", files])
            wait_until(page, "document.querySelectorAll('.handin-file').length === 4")
            wait_until(
                page,
                "[...document.querySelectorAll('.handin-file .facts')]"
                ".every(n => n.textContent.includes('kHz'))",
            )
            rows = page.locator(".handin-file")
            assert [rows.nth(i).locator("select.kind").input_value() for i in range(4)] == [
                "stem"
            ] * 4
            assert "48.0 kHz" in rows.nth(0).inner_text() or "48 kHz" in rows.nth(0).inner_text()
            assert "0:20.0" in rows.nth(3).inner_text()
            odd = page.locator(".handin-file", has_text="track 7 (2).wav")
            assert "Instrument - Track Name" in odd.inner_text()
            assert "shorter than the longest stem" in odd.inner_text()
            screenshot(page, "handin-1366-dropped")

            page.click(".handin-start")
            wait_until(
                page,
                "document.querySelectorAll('.handin-file.is-done').length === 4",
                timeout=60_000,
            )
            wait_until(
                page, "document.querySelectorAll('#files table.files tbody tr').length === 4"
            )
            screenshot(page, "handin-1366-uploaded")
            assert "Vocal - Browser Song.wav" in page.inner_text("#files table.files")
            assert cut, "the connection was never cut"

            # A phone: the same page, nothing wider than the screen.
            phone = chromium.new_context(viewport={"width": 390, "height": 844})
            small = phone.new_page()
            _login(small, live_server.url, client.username)
            small.goto(f"{live_server.url}/jobs/{job.pk}/")
            small.wait_for_selector("#handin:not([hidden])")
            small.evaluate(DROP_JS, ["#handin-drop", files[:2]])
            wait_until(small, "document.querySelectorAll('.handin-file').length === 2")
            screenshot(small, "handin-390-dropped")
            # The hand-in fits the phone (the page's tables are laid out on their own).
            for region in ("#handin",):
                right, inner, outer = small.evaluate(
                    "sel => { const n = document.querySelector(sel);"
                    " return [n.getBoundingClientRect().right, n.scrollWidth, n.clientWidth]; }",
                    region,
                )
                assert right <= 390 and inner <= outer, (region, right, inner, outer)
            phone.close()
            context.close()
        finally:
            chromium.close()

    def on_the_server() -> tuple[list[tuple[str, int, int, str]], list[str]]:
        uploads = [
            (u.original_name, u.length, u.bytes_received, u.state)
            for u in PartialUpload.objects.filter(job=job).order_by("original_name")
        ]
        names = sorted(AudioFile.objects.filter(job=job).values_list("original_name", flat=True))
        return uploads, names

    uploads, names = _db(on_the_server)
    assert names == sorted(stems)
    # Each file reached the server byte for byte once: the cut one resumed from its offset.
    assert uploads == [
        (name, len(data), len(data), UploadState.JOINED) for name, data in sorted(stems.items())
    ]
    assert _db(lambda: Job.objects.get(pk=job.pk).status) == "draft"
