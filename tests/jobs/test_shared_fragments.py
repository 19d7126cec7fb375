"""Fragments shared between web processes (jobs.fragments with `fragments_shared`, Redis): a
fragment one process rendered is read back by another, never by a process running other code
(the code version in its key), and a Redis that fails costs a render, never the page."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.template import Context, Template

from jobs import fragments
from jobs.fragments import code_version, kept
from tests.worker import broker_url

TEMPLATE = Template(
    "{% load fragments %}{% fragment song key %}<b>{{ title }}</b>{% endfragment %}"
)


def _shared_at(settings: Any, location: str) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "fragments_shared": {
            "BACKEND": "studio.cache.Cache",
            "LOCATION": location,
            "KEY_PREFIX": f"test-fragments-{uuid.uuid4().hex}",
            "TIMEOUT": 60,
        },
    }


@pytest.fixture
def shared(settings: Any) -> None:
    _shared_at(settings, broker_url())


class Renders:
    """A render() that counts its calls."""

    def __init__(self, html: str) -> None:
        self.html, self.calls = html, 0

    def __call__(self) -> str:
        self.calls += 1
        return self.html


def _another_process() -> None:
    """What a second web process has: the shared cache, and nothing in its own memory."""
    caches["fragments"].clear()


def test_a_fragment_rendered_by_one_process_is_read_back_by_another(shared: None) -> None:
    render = Renders("<b>Copper Sky</b>")
    assert kept("song", "k1", render) == "<b>Copper Sky</b>"
    _another_process()
    assert kept("song", "k1", render) == "<b>Copper Sky</b>"
    assert render.calls == 1
    # Another key is another fragment, in either place.
    assert kept("song", "k2", Renders("<b>Slow Bloom</b>")) == "<b>Slow Bloom</b>"


def test_the_template_tag_goes_through_the_shared_cache(shared: None) -> None:
    assert TEMPLATE.render(Context({"key": "k", "title": "Copper Sky"})) == "<b>Copper Sky</b>"
    _another_process()
    # Read back for the same key, whatever the context now says: the key is what it shows.
    assert TEMPLATE.render(Context({"key": "k", "title": "changed"})) == "<b>Copper Sky</b>"
    assert TEMPLATE.render(Context({"key": "k2", "title": "changed"})) == "<b>changed</b>"


def test_other_code_never_reads_the_fragments_of_the_code_before_it(
    shared: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept("song", "k", Renders("<b>rendered by the old templates</b>"))
    _another_process()
    monkeypatch.setattr(fragments, "code_version", lambda: "next-deploy")
    render = Renders("<b>rendered by the new templates</b>")
    assert kept("song", "k", render) == "<b>rendered by the new templates</b>"
    assert render.calls == 1


def test_the_code_version_follows_every_template_and_python_file(tmp_path: Path) -> None:
    def tree(name: str, files: dict[str, str]) -> Path:
        root = tmp_path / name
        for path, text in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        return root

    base = {"templates/jobs/page.html": "<b>{{ title }}</b>", "jobs/views.py": "X = 1\n"}
    same = code_version(tree("same", base))
    assert code_version(tree("again", base)) == same
    for changed in (
        {**base, "templates/jobs/page.html": "<i>{{ title }}</i>"},
        {**base, "jobs/views.py": "X = 2\n"},
        {**base, "analysis/templatetags/meters.py": "Y = 1\n"},
        {**base, "jobs/templates/jobs/row.html": "<tr></tr>"},
    ):
        assert code_version(tree(uuid.uuid4().hex, changed)) != same
    # Files nothing is rendered from (media, notes) leave it as it is.
    assert code_version(tree("notes", {**base, "jobs/notes.md": "text"})) == same


def test_a_shared_cache_that_fails_costs_a_render_and_never_the_page(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _shared_at(settings, "redis://127.0.0.1:9/0")  # nothing listens there
    render = Renders("<b>Copper Sky</b>")
    with caplog.at_level(logging.WARNING, logger="jobs.fragments"):
        assert kept("song", "k", render) == "<b>Copper Sky</b>"
    assert "shared fragment cache failed" in caplog.text
    # Kept in the process's own memory all the same.
    assert kept("song", "k", render) == "<b>Copper Sky</b>"
    assert render.calls == 1


def test_without_redis_there_is_no_shared_cache(settings: Any) -> None:
    assert "fragments_shared" not in settings.CACHES
    render = Renders("<b>Copper Sky</b>")
    kept("song", "k", render)
    _another_process()
    kept("song", "k", render)
    assert render.calls == 2
