"""Django's static files storage, each file's URL worked out once per process.

A page's head names nine static files (styles, scripts, icons), and working out each URL
(quoting the name, joining it to STATIC_URL) was about 2 % of every page's CPU. The URL depends
only on the name and STATIC_URL, which is fixed for the process (a test that changes it gets a
new storage, and so new URLs)."""

from __future__ import annotations

from django.contrib.staticfiles.storage import StaticFilesStorage


class StaticStorage(StaticFilesStorage):
    def url(self, name: str | None) -> str:
        urls: dict[str | None, str] = self.__dict__.setdefault("_urls", {})
        url = urls.get(name)
        if url is None:
            url = urls[name] = super().url(name)
        return url
