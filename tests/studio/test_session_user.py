"""studio.login.UserBackend: the session's user read from SQL compiled once is the user Django's
ModelBackend reads; sessions logged in before it keep working; a refused password is checked
once; a deactivated user is logged out; views and templates get the user itself."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jobs.models import Organisation, Role, User
from studio.login import UserBackend
from tests.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def _person() -> User:
    user = make_user(Role.CLIENT, username="nova", first_name="Nova", last_name="Reyes")
    user.set_password(PASSWORD)
    user.save()
    return user


def _fields(user: User | None) -> dict[str, object]:
    assert user is not None
    return {f.attname: getattr(user, f.attname) for f in User._meta.concrete_fields}


def test_it_reads_the_user_modelbackend_reads() -> None:
    user = _person()
    for _ in range(3):  # read again, from the SQL kept after the first call
        assert _fields(UserBackend().get_user(str(user.pk))) == _fields(
            ModelBackend().get_user(str(user.pk))
        )
    assert UserBackend().get_user("not a number") is None
    assert UserBackend().get_user(str(user.pk + 1000)) is None


def test_a_login_names_this_backend_and_the_next_request_knows_the_user() -> None:
    user = _person()
    c = Client()
    assert c.post("/login/", {"username": "nova", "password": PASSWORD}).status_code == 302
    assert c.session[BACKEND_SESSION_KEY] == "studio.login.UserBackend"
    page = c.get("/")
    assert page.status_code == 200 and page.wsgi_request.user.pk == user.pk
    assert isinstance(page.wsgi_request.user.organisation, Organisation)


def test_a_session_logged_in_before_it_keeps_its_user() -> None:
    user = _person()
    c = Client()
    c.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    page = c.get("/")
    assert page.status_code == 200 and page.wsgi_request.user.pk == user.pk


def test_a_deactivated_user_is_logged_out() -> None:
    user = _person()
    c = Client()
    c.force_login(user)
    assert c.session[BACKEND_SESSION_KEY] == "studio.login.UserBackend"
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert c.get("/").status_code == 302  # to the login page


def test_a_wrong_password_is_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _person()
    checked: list[str] = []
    original = User.check_password

    def counted(self: User, raw: str) -> bool:
        checked.append(raw)
        return original(self, raw)

    monkeypatch.setattr(User, "check_password", counted)
    response = Client().post("/login/", {"username": "nova", "password": "wrong"})
    assert response.status_code == 200  # the form again, with its error
    assert checked == ["wrong"]


def test_views_and_templates_get_the_user_itself_not_a_lazy_stand_in() -> None:
    user = _person()
    c = Client()
    c.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        page = c.get("/")
    assert page.status_code == 200
    assert type(page.wsgi_request.user) is User and page.wsgi_request.user.pk == user.pk
    assert type(page.context["user"]) is User
    assert sum('FROM "jobs_user"' in q["sql"] for q in queries.captured_queries) == 1
    # Logged out, it is Django's anonymous user, and the login page still works.
    c.logout()
    page = c.get("/login/")
    assert page.status_code == 200 and type(page.wsgi_request.user) is AnonymousUser
