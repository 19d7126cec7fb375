"""Login with throttling: 5 failures for one username from one address, then a 15-minute
cool-off. Counted in the cache (Redis when a broker is configured, so every web process agrees)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest

MAX_FAILURES = 5
COOL_OFF_SECONDS = 15 * 60


def _key(request: HttpRequest, username: str) -> str:
    address = request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()
    return f"login-failures:{digest}"


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self) -> dict[str, Any]:
        username = self.data.get("username", "")
        key = _key(self.request, username) if self.request else ""
        if key and cache.get(key, 0) >= MAX_FAILURES:
            raise ValidationError(
                "Too many failed attempts. Wait 15 minutes, then try again.", code="throttled"
            )
        try:
            return super().clean()
        except ValidationError:
            if key:
                try:
                    cache.incr(key)
                except ValueError:
                    cache.set(key, 1, COOL_OFF_SECONDS)
            raise


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm

    def form_valid(self, form: AuthenticationForm) -> Any:
        cache.delete(_key(self.request, form.cleaned_data.get("username", "")))
        return super().form_valid(form)
