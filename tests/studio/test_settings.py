"""Settings come from the environment; bad values stop start-up with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in _HEADROOM_VARS}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


_HEADROOM_VARS = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "SECRET_KEY",
    "HEADROOM_PRODUCTION",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CELERY_TASK_ALWAYS_EAGER",
}


def print_settings(**env: str) -> str:
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, "
        "s.CELERY_TASK_ALWAYS_EAGER, s.STORAGES['default']['BACKEND'], ','.join(sorted(s.CACHES)))"
    )
    result = run_manage("shell", "-v0", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", "nonsense", "DATABASE_URL='nonsense' is not a database URL"),
        ("DATABASE_URL", "postgres://host:notaport/db", "has a bad port"),
        ("DATABASE_URL", "postgres://host/db?prepare_threshold=often", "is a number or none"),
        ("DATABASE_URL", "postgres://host/db?server_side_binding=yes", "is true or false"),
        ("CELERY_BROKER_URL", "amqp://x", "is not a Redis URL"),
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("CELERY_TASK_TIME_LIMIT", "ten", "is not a whole number"),
        ("HEADROOM_PRODUCTION", "true", "SECRET_KEY must be set"),
    ],
)
def test_it_refuses_bad_configuration_with_one_line(name: str, value: str, expected: str) -> None:
    result = run_manage("check", **{name: value})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Headroom configuration error:")
    assert expected in lines[0]


def test_with_no_variables_it_runs_on_the_embedded_default() -> None:
    engine, broker, eager, storage, caches = print_settings().split()
    assert engine == "django.db.backends.sqlite3"
    assert broker.startswith("memory://")
    assert eager == "True"
    assert storage == "django.core.files.storage.FileSystemStorage"
    assert caches == "default,fragments"  # in each process's memory: none is shared


def test_service_variables_move_it_onto_postgres_redis_and_s3() -> None:
    out = print_settings(
        DATABASE_URL="postgres://u:p@127.0.0.1:5432/studio",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/3",
        S3_BUCKET="masters",
        S3_ENDPOINT_URL="http://127.0.0.1:9000",
    )
    assert out.split() == [
        "studio.postgresql",
        "redis://127.0.0.1:6379/3",
        "False",
        "storages.backends.s3.S3Storage",
        "default,fragments,fragments_shared",  # Redis: the fragments are shared too
    ]


def test_production_settings_pass_the_deploy_check() -> None:
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        HEADROOM_PRODUCTION="true",
        SECRET_KEY="k" * 20 + "-production-secret-with-enough-entropy-0123456789",
        ALLOWED_HOSTS="studio.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_development_key_fails_the_deploy_check() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0


def test_postgresql_prepares_the_statements_it_runs_again_unless_the_url_says_not_to() -> None:
    from studio.env import database_from_url

    options = database_from_url("DATABASE_URL", "postgres://h/db?sslmode=require")["OPTIONS"]
    assert options == {"sslmode": "require", "server_side_binding": True, "prepare_threshold": 5}
    behind_a_pooler = database_from_url(
        "DATABASE_URL", "postgres://h/db?prepare_threshold=none&server_side_binding=false"
    )["OPTIONS"]
    assert behind_a_pooler == {"server_side_binding": False, "prepare_threshold": None}
