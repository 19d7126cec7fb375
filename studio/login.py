"""Login, on the site and in the admin, with the throttle's refusal in words. The counting is
django-axes' (studio/throttle.py): 5 failures for one account from one address, then 15 minutes."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

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
