"""The navigation each role sees: the pages that role uses, in the order it uses them.

One list per role, read by templates/base.html through the `nav` context processor; a page
that belongs in a role's day adds one line here, and the current page is marked from the URL
name that served it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


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
    links = []
    for item in items_for(getattr(request, "user", None)):
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:  # a page that takes arguments is not a navigation target
            continue
        links.append(
            {"label": item.label, "url": url, "current": here in (item.url_name, *item.also)}
        )
    return {"nav": links}
