"""deploy/gunicorn.conf.py: no access log of gunicorn's own unless asked for (nginx in front
logs every request); GUNICORN_ACCESSLOG asks for one, as deploy/compose.yaml does."""

from __future__ import annotations

from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _settings() -> dict[str, object]:
    found: dict[str, object] = {}
    path = DEPLOY / "gunicorn.conf.py"
    exec(compile(path.read_text(), str(path), "exec"), found)
    return found


def test_no_access_log_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUNICORN_ACCESSLOG", raising=False)
    assert _settings()["accesslog"] is None


def test_the_environment_asks_for_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUNICORN_ACCESSLOG", "-")
    assert _settings()["accesslog"] == "-"


def test_compose_asks_for_one_as_it_has_no_nginx() -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    web = text[text.index("\n  web:") : text.index("\n  worker:")]
    assert 'GUNICORN_ACCESSLOG: "-"' in web
