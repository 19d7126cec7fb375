"""The navigation each role sees: the pages that role uses, in the order it uses them.

One list per role, read by templates/base.html through the `nav` context processor; a page
that belongs in a role's day adds one line here, and the current page is marked from the URL
name that served it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    # Other URL names that belong under this item (a job page under "Jobs").
    also: tuple[str, ...] = ()


CLIENT = [
    NavItem("Your jobs", "home", also=("job_detail", "job_intake", "job_delivery")),
    NavItem("New job", "job_new"),
]
ENGINEER = [
    NavItem("Desk", "desk"),
    NavItem("Plan", "my_plan"),
    NavItem("Hearing", "hearing"),
    NavItem("Queue", "queue"),
    NavItem("Jobs", "job_list", also=("job_detail", "job_intake", "job_delivery")),
]
MANAGER = [
    NavItem("Board", "board"),
    NavItem("Decisions", "decisions"),
    NavItem("Workload", "workload"),
    NavItem("Policy", "policy"),
    NavItem("Breaks", "compliance"),
    # Every job, closed ones too (a manager's home is the board).
    NavItem("Jobs", "job_list", also=("job_detail", "job_intake", "job_delivery")),
    NavItem("Desk", "desk"),
    NavItem("Hearing", "hearing"),
    NavItem("Queue", "queue"),
]


def items_for(user: Any) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    if user.is_manager:
        return MANAGER
    if user.is_engineer:
        return ENGINEER
    return CLIENT


def nav(request: HttpRequest) -> dict[str, Any]:
    """`nav`: the role's links as dicts of label, url and current (for aria-current)."""
    match = getattr(request, "resolver_match", None)
    here = match.url_name if match else None
    prefix, urlconf = get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF
    links = []
    for item in items_for(getattr(request, "user", None)):
        url = _url(item.url_name, prefix, urlconf)
        if url is None:  # a page that takes arguments is not a navigation target
            continue
        links.append(
            {"label": item.label, "url": url, "current": here in (item.url_name, *item.also)}
        )
    return {"nav": links}


@lru_cache(maxsize=256)
def _url(url_name: str, prefix: str, urlconf: str) -> str | None:
    """reverse(url_name), or None when it takes arguments. Every page renders the nav, and a
    manager's ten reverse() calls cost more than the rest of it; the URL depends only on the
    URL patterns (fixed once their module is loaded) and the script prefix, which key it."""
    try:
        return reverse(url_name, urlconf=urlconf)
    except NoReverseMatch:
        return None
