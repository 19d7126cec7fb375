"""Rendered fragments, keyed by everything they show.

A fragment that is the same for the same values (a file's measurements, its versions) is
rendered once and then read back. Its key is a digest of those values, made where the page
reads them (`content_key`), so a change to any of them is a new key and nothing is ever
invalidated.

Two places keep them:
- each process's own memory (the `fragments` cache): read back with no network hop;
- with Redis, the cache every web process shares (`fragments_shared`), so that a fragment one
  worker rendered is not rendered again by the next four. Its keys also hold `code_version()`,
  a digest of the project's code and templates: a deploy that changes how a fragment is
  rendered never reads one rendered by the code before it. Redis failing costs a render,
  never a page.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.core.cache import caches
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a fragment's rendering depends on, under the project's root: its templates and the
# Python that makes their values and tags.
_SOURCES = ("studio", "jobs", "analysis", "templates")
_SUFFIXES = frozenset({".py", ".html", ".txt"})
SHARED = "fragments_shared"


def content_key(*values: Any) -> str:
    """A digest of `values` (numbers, strings, datetimes, UUIDs, None and tuples of them: what
    a fragment shows, with the id of a row whose shown columns never change)."""
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


@functools.cache
def code_version(root: Path | None = None) -> str:
    """A digest of every source file under `root` (the project's, by default) that a
    fragment's rendering can depend on: its Python and templates, and Django's version. Read
    once per process."""
    root = root or Path(settings.BASE_DIR)
    digest = hashlib.blake2b(django.get_version().encode(), digest_size=12)
    for top in _SOURCES:
        for path in sorted((root / top).rglob("*")):
            if path.suffix in _SUFFIXES and path.is_file():
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def kept(name: str, key: str, render: Callable[[], str]) -> str:
    """The fragment `name` for `key`: from this process's memory, else from the shared cache,
    else `render()` and keep it in both (`{% fragment %}`, and a part of a page written in
    Python). An empty key renders it every time."""
    if not key:
        return render()
    local = caches["fragments"]
    entry = f"{name}:{key}"
    html: str | None = local.get(entry)
    if html is not None:
        return html
    if SHARED not in settings.CACHES:
        html = render()
    else:
        shared, shared_entry = caches[SHARED], f"{code_version()}:{entry}"
        html = _shared(lambda: shared.get(shared_entry))
        if html is None:
            html = render()
            _shared(lambda: shared.set(shared_entry, html))
    local.set(entry, html)
    return html


def _shared(call: Callable[[], Any]) -> Any:
    """A call to the shared cache; when it fails (Redis down, a timeout), None: the fragment
    is rendered and the page served as without it."""
    try:
        return call()
    except (RedisError, OSError):
        logger.warning("the shared fragment cache failed; rendering instead", exc_info=True)
        return None
