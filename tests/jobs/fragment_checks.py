"""Checks of kept fragments (jobs.fragments): what a page shows with the fragments kept so far,
against the same page rendered with none kept, the parts that differ in every response masked."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import caches

T = TypeVar("T")

# What differs between any two responses: the masked CSRF token and the CSP nonce.
PER_RESPONSE = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": "|nonce=")[^"]+')


def masked(response: Any) -> str:
    """A response's (or rendered text's) HTML with its CSRF tokens and nonces masked."""
    text = response if isinstance(response, str) else getattr(response, "content", response)
    return PER_RESPONSE.sub(r"\1", text if isinstance(text, str) else text.decode())


def same_as_from_nothing(render: Callable[[], T]) -> T:
    """`render()` with the fragments kept so far, checked against it rendered again with none
    kept (after which the fragments of that second rendering are kept)."""
    seen = render()
    caches["fragments"].clear()
    assert seen == render()
    return seen
