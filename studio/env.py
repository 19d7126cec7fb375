"""Typed readers for settings from the environment. A bad value stops start-up with one line."""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import parse_qs, unquote, urlsplit


class ConfigError(Exception):
    """A setting in the environment cannot be used; the message names the variable."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of IP addresses or networks (CIDR)."""
    entries = env_list(name, default)
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(f"{name}: {entry!r} is not an IP address or network") from None
    return entries


# SQLite under simultaneous requests: WAL lets readers run beside the one writer; IMMEDIATE
# takes the write lock when a transaction begins, so a transaction that read never fails when
# it then writes ("database is locked"), it waits; the busy timeout is how long it may wait.
SQLITE_BUSY_TIMEOUT_S = 30


def sqlite_database(path: str) -> dict[str, object]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": SQLITE_BUSY_TIMEOUT_S,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def database_from_url(name: str, url: str) -> dict[str, object]:
    """postgres://user:pass@host:port/name or sqlite:///path, as a Django DATABASES entry."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme == "sqlite":
        path = unquote(parts.path[1:] if parts.path.startswith("//") else parts.path)
        if not path:
            raise ConfigError(f"{name}={url!r} names no SQLite file (sqlite:////abs/path.db)")
        return sqlite_database(path)
    if scheme in {"postgres", "postgresql", "pgsql"}:
        db_name = unquote(parts.path.lstrip("/"))
        if not db_name:
            raise ConfigError(f"{name}={url!r} names no database (postgres://host/dbname)")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"{name}={url!r} has a bad port") from None
        options: dict[str, object] = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        options.update(_statement_options(name, url, options))
        return {
            "ENGINE": "studio.postgresql",  # Django's, reading timestamps in C
            "NAME": db_name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            # A connection is kept ten minutes (checked before each request reuses it): a new
            # one cost PostgreSQL some 140 ms of CPU (its process, its caches, each statement
            # parsed again until prepared) and Django 30 ms; kept a minute, gunicorn's twelve
            # threads' connections cost some 2 % of the machine at 300 users.
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ConfigError(
        f"{name}={url!r} is not a database URL (expected postgres://... or sqlite:///...)"
    )


def _statement_options(name: str, url: str, options: dict[str, object]) -> dict[str, object]:
    """How statements reach PostgreSQL: parameters bound by the server, and a statement run five
    times on a connection prepared there (psycopg's prepare_threshold), so that PostgreSQL parses
    and plans each of the pages' few statements once per connection instead of every time: that
    was about half of its CPU a page. Django turns both off by default for connection poolers
    in transaction mode (PgBouncer): `?prepare_threshold=none` in the URL turns preparing off
    and `?server_side_binding=false` the binding."""
    threshold = str(options.get("prepare_threshold", "5"))
    binding = str(options.get("server_side_binding", "true"))
    if binding not in ("true", "false"):
        raise ConfigError(f"{name}={url!r}: server_side_binding is true or false")
    if threshold != "none" and not threshold.isdigit():
        raise ConfigError(f"{name}={url!r}: prepare_threshold is a number or none")
    return {
        "server_side_binding": binding == "true",
        "prepare_threshold": None if threshold == "none" else int(threshold),
    }


def redis_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        raise ConfigError(f"{name}={url!r} is not a Redis URL (redis://host:6379/0)")
    return url
