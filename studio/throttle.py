"""The login throttle, on django-axes: one count per account (its username as Django normalises
it) and client address, kept in the database so every process shares it.

Axes reads the count before the password is checked and writes it after, so simultaneous wrong
passwords would all be judged. Here a failure is counted *before* the check, in one short
transaction serialised per account and address: the sixth of thirty simultaneous attempts already
sees five and is refused without a password check. A success clears the count.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connections, router, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse

log = logging.getLogger(__name__)

MAX_USERNAME = 255  # AccessAttempt.username


def username_for(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The username as Django's login form and user model normalise it (Unicode NFKC), so that a
    full-width or mathematical-bold spelling of `ben` counts against ben."""
    raw = credentials.get("username") if credentials else request.POST.get("username")
    if raw is None:
        return None
    return AbstractBaseUser.normalize_username(str(raw))[:MAX_USERNAME]


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """The login page as the view rendered it (its form names the lock-out), as 429."""
    if original_response is None:
        return HttpResponse(
            "Too many failed attempts. Wait 15 minutes, then try again.",
            status=429,
            content_type="text/plain; charset=utf-8",
        )
    original_response.status_code = 429
    return original_response


def _serialise(using: str, username: str | None, address: str | None) -> None:
    """Make concurrent attempts on one account and address wait for each other, inside the
    caller's transaction. PostgreSQL: a transaction-level advisory lock on the pair. SQLite:
    nothing to do, the transaction began IMMEDIATE and holds the database's write lock."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(f"{username}\0{address}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


class AtomicDatabaseHandler(AxesDatabaseHandler):
    """AxesDatabaseHandler, with the failure counted before the password is checked."""

    def is_allowed(self, request: Any, credentials: dict[str, Any] | None = None) -> bool:
        if self.is_blacklisted(request, credentials):
            return False
        if self.is_whitelisted(request, credentials):
            return True
        return self._take_slot(request, credentials)

    def _take_slot(self, request: Any, credentials: dict[str, Any] | None) -> bool:
        username = get_client_username(request, credentials)
        address = request.axes_ip_address
        using = router.db_for_write(AccessAttempt)
        with transaction.atomic(using=using):
            _serialise(using, username, address)
            self.clean_expired_user_attempts(request, credentials)
            if self.get_failures(request, credentials) >= get_failure_limit(request, credentials):
                request.axes_locked_out = True
                log.info("login refused while locked out: %r from %s", username, address)
                return False
            attempt, created = AccessAttempt.objects.select_for_update().get_or_create(
                username=username,
                ip_address=address,
                user_agent=request.axes_user_agent,
                defaults={
                    "get_data": "",
                    "post_data": "",
                    "http_accept": request.axes_http_accept,
                    "path_info": request.axes_path_info,
                    "failures_since_start": 1,
                    "attempt_time": request.axes_attempt_time,
                },
            )
            if not created:
                AccessAttempt.objects.filter(pk=attempt.pk).update(
                    failures_since_start=F("failures_since_start") + 1,
                    attempt_time=request.axes_attempt_time,
                    path_info=request.axes_path_info,
                    http_accept=request.axes_http_accept,
                )
        request.axes_slot_taken = True
        return True

    def user_login_failed(
        self, sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
    ) -> None:
        if request is None or not getattr(request, "axes_slot_taken", False):
            super().user_login_failed(sender, credentials, request, **kwargs)
            return
        # Counted when the slot was taken; what is left is to notice the lock-out it caused.
        failures = self.get_failures(request, credentials)
        request.axes_failures_since_start = failures
        if failures >= get_failure_limit(request, credentials):
            username = get_client_username(request, credentials)
            log.warning(
                "login locked out for 15 minutes: %r from %s after %d failures",
                username,
                request.axes_ip_address,
                failures,
            )
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes", request=request, username=username, ip_address=request.axes_ip_address
            )
