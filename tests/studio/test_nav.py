"""Each role's navigation: its own pages, the current one marked for assistive technology."""

from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory
from django.urls import get_script_prefix, reverse, set_script_prefix

from jobs.models import Role, User
from studio.nav import nav
from tests.factories import make_job, make_user

pytestmark = pytest.mark.django_db


def _links(html: str) -> list[tuple[str, bool]]:
    nav = html.split('<nav class="main-nav"', 1)[1].split("</nav>", 1)[0]
    return [
        (label, "aria-current" in attrs)
        for attrs, label in re.findall(r"<a ([^>]*)>([^<]+)</a>", nav)
    ]


@pytest.mark.parametrize(
    ("role", "labels", "home"),
    [
        (Role.CLIENT, ["Your jobs", "New job"], "Your jobs"),
        (Role.ENGINEER, ["Desk", "Plan", "Hearing", "Queue", "Jobs"], "Desk"),
        (
            Role.MANAGER,
            [
                "Board",
                "Decisions",
                "Workload",
                "Policy",
                "Breaks",
                "Jobs",
                "Desk",
                "Hearing",
                "Queue",
            ],
            "Board",  # a manager's home is the deadline board
        ),
    ],
)
def test_each_role_sees_its_pages_with_the_current_one_marked(
    role: str, labels: list[str], home: str
) -> None:
    c = Client()
    c.force_login(make_user(role))
    links = _links(c.get("/", follow=True).content.decode())
    assert [label for label, _ in links] == labels
    assert [label for label, current in links if current] == [home]


def test_a_job_page_marks_the_jobs_link() -> None:
    client = make_user(Role.CLIENT)
    job = make_job(client=client)
    c = Client()
    c.force_login(client)
    links = _links(c.get(f"/jobs/{job.pk}/").content.decode())
    assert [label for label, current in links if current] == ["Your jobs"]


def test_the_login_page_has_no_navigation() -> None:
    assert 'class="main-nav"' not in Client().get("/login/").content.decode()


def test_a_managers_jobs_link_lists_every_job_rather_than_the_board() -> None:
    c = Client()
    c.force_login(make_user(Role.MANAGER))
    links = dict(
        re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', c.get("/board/").content.decode())
    )
    assert {label: href for href, label in links.items()}["Jobs"] == "/jobs/all/"
    response = c.get("/jobs/all/")
    assert response.status_code == 200
    assert [label for label, current in _links(response.content.decode()) if current] == ["Jobs"]


def test_the_links_follow_the_script_prefix_the_studio_is_served_under() -> None:
    request = RequestFactory().get("/")
    request.user = User(role=Role.MANAGER, username="m")
    before = get_script_prefix()
    try:
        for prefix in ("/", "/studio/", "/"):
            set_script_prefix(prefix)
            urls = [link["url"] for link in nav(request)["nav"]]
            assert urls[0] == reverse("board") == prefix + "board/"
            assert all(url.startswith(prefix) for url in urls) and len(urls) == 9
    finally:
        set_script_prefix(before)
