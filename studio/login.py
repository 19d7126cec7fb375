"""Login, on the site and in the admin, with the throttle's refusal in words. The counting is
django-axes' (studio/throttle.py): 5 failures for one account from one address, then 15 minutes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.middleware import get_user
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from jobs.compiled import columns, instance_from, rows_compiled_once
from jobs.models import User

LOCKED_MESSAGE = "Too many failed attempts. Wait 15 minutes, then try again."


class _ThrottledMixin:
    """A refused attempt says it was the throttle, not a wrong password."""

    request: HttpRequest | None

    def clean(self) -> dict[str, Any]:
        try:
            cleaned: dict[str, Any] = super().clean()  # type: ignore[misc]
            return cleaned
        except ValidationError:
            if getattr(self.request, "axes_locked_out", False):
                raise ValidationError(LOCKED_MESSAGE, code="throttled") from None
            raise


class ThrottledAuthenticationForm(_ThrottledMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(_ThrottledMixin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm


class UserBackend(ModelBackend):
    """Django's ModelBackend, loading the session's user on every request from SQL compiled once
    (jobs.compiled): building that query cost about as much again as running it.

    It is listed before Django's ModelBackend, which stays in AUTHENTICATION_BACKENDS only so
    that sessions made before it keep their user (a session names the backend that logged it
    in). A password it refuses is refused (PermissionDenied ends Django's `authenticate`), so
    the one after it never checks the same password again."""

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            raise PermissionDenied
        return user

    def get_user(self, user_id: Any) -> User | None:
        try:
            pk = User._meta.pk.to_python(user_id)  # type: ignore[union-attr]
        except ValidationError:
            return None
        rows = rows_compiled_once("session_user", _user_rows, pk)
        user: User | None = instance_from(User, rows[0]) if rows else None
        return user if user is not None and self.user_can_authenticate(user) else None


def _user_rows(pk: Any) -> QuerySet[Any]:
    rows: QuerySet[Any] = User._default_manager.filter(pk=pk).values(*columns(User))
    return rows


class PlainUserMiddleware:
    """Hands views and templates the session's user itself in `request.user`, in place of the
    lazy stand-in AuthenticationMiddleware leaves there, which answers each attribute through
    three Python calls and a caught AttributeError (about 2 us each, a hundred times on a job
    page). Every page needs the user (the header names them, or offers the login), so it is
    loaded here, just before the view, once: Django keeps it on the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, *_: Any) -> None:
        request.user = get_user(request)
