"""Rendered fragments kept in each process, keyed by everything they show.

A fragment that is the same for the same values (a file's measurements, its versions) is
rendered once per process and then read back. Its key is a digest of those values, made where
the page reads them (`content_key`), so a change to any of them is a new key and nothing is
ever invalidated. The fragments live in the process's own memory (the `fragments` cache), not
in Redis: a deploy restarts the processes, so a changed template is never served from an old
rendering, and reading one back costs no network hop."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.core.cache import caches


def content_key(*values: Any) -> str:
    """A digest of `values` (numbers, strings, datetimes, UUIDs, None and tuples of them: what
    a fragment shows, with the id of a row whose shown columns never change)."""
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


def kept(name: str, key: str, render: Callable[[], str]) -> str:
    """The fragment `name` for `key`: `render()` the first time in this process, read back
    after (`{% fragment %}`, and a part of a page written in Python). An empty key renders it
    every time."""
    if not key:
        return render()
    cache = caches["fragments"]
    entry = f"{name}:{key}"
    html: str | None = cache.get(entry)
    if html is None:
        html = render()
        cache.set(entry, html)
    return html
