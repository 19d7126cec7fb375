"""studio.staticfiles: each static file's URL worked out once per process, and always the URL
Django's own storage gives."""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.storage import StaticFilesStorage
from django.core.files.storage import storages
from django.template import Context, Template

from studio.staticfiles import StaticStorage

NAMES = ["css/headroom.css", "js/htmx.min.js", "favicon.svg", "fonts/Inter Var.woff2", "ü/ß.css"]


def test_the_pages_use_it() -> None:
    assert isinstance(storages["staticfiles"], StaticStorage)


def test_each_url_is_django_s() -> None:
    ours, django_s = StaticStorage(), StaticFilesStorage()
    for name in NAMES:
        assert ours.url(name) == django_s.url(name)
        assert ours.url(name) == django_s.url(name)  # and again, from what it kept


def test_it_is_worked_out_once(monkeypatch: Any) -> None:
    storage = StaticStorage()
    calls: list[str] = []
    real = StaticFilesStorage.url

    def counted(self: StaticFilesStorage, name: str | None) -> str:
        calls.append(str(name))
        return real(self, name)

    monkeypatch.setattr(StaticFilesStorage, "url", counted)
    for _ in range(3):
        storage.url("css/headroom.css")
    assert calls == ["css/headroom.css"]


def test_another_static_url_gives_other_urls(settings: Any) -> None:
    page = Template("{% load static %}{% static 'css/headroom.css' %}")
    assert page.render(Context()) == "/static/css/headroom.css"
    settings.STATIC_URL = "https://cdn.example.com/headroom/"
    assert page.render(Context()) == "https://cdn.example.com/headroom/css/headroom.css"
