"""A Content-Security-Policy without inline scripts or styles, and a Permissions-Policy, on every
page; the templates hold nothing inline that such a policy would block."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from jobs.models import Role
from tests.factories import make_job, make_user

pytestmark = pytest.mark.django_db
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


@pytest.mark.parametrize("path", ["/login/", "/", "/admin/login/", "/no-such-page/"])
def test_every_page_has_a_strict_csp_and_a_permissions_policy(path: str) -> None:
    owner = make_user(Role.CLIENT)
    make_job(client=owner)
    client = Client()
    if path == "/":
        client.force_login(owner)
    response = client.get(path)
    csp = _directives(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header
    policy = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on...= handler"),
    (re.compile(r"\shx-on[:-]", re.I), "an hx-on handler (htmx would eval it)"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_no_template_holds_inline_script_or_style() -> None:
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = template.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text[: match.start()].count("\n") + 1
                found.append(f"{template.relative_to(TEMPLATES)}:{line}: {what}")
    assert found == []


def test_htmx_is_told_not_to_inject_styles_or_eval() -> None:
    base = (TEMPLATES / "base.html").read_text()
    assert '"includeIndicatorStyles": false' in base and '"allowEval": false' in base
