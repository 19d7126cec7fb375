"""Rendered fragments kept in each process, keyed by everything they show.

A fragment that is the same for the same values (a file's measurements, its versions) is
rendered once per process and then read back. Its key is a digest of those values, made where
the page reads them (`content_key`), so a change to any of them is a new key and nothing is
ever invalidated. The fragments live in the process's own memory (the `fragments` cache), not
in Redis: a deploy restarts the processes, so a changed template is never served from an old
rendering, and reading one back costs no network hop."""

from __future__ import annotations

import hashlib
from typing import Any


def content_key(*values: Any) -> str:
    """A digest of `values` (numbers, strings, datetimes, UUIDs, None and tuples of them: what
    a fragment shows, with the id of a row whose shown columns never change)."""
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()
