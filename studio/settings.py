"""Headroom settings, read from the environment.

With no variables at all it runs on the embedded default: SQLite, Celery tasks executed in
process, files under ./media. DATABASE_URL, CELERY_BROKER_URL and the S3 variables move it onto
PostgreSQL, Redis and S3-compatible storage; HEADROOM_PRODUCTION=true turns on the production
hardening that `manage.py check --deploy` asks for.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import django_stubs_ext
from csp.constants import NONCE, NONE, SELF

from studio.env import (
    ConfigError,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_str,
    redis_url,
    sqlite_database,
)

# Generic classes such as ModelAdmin[Job] and File[bytes] are subscriptable at run time too, so
# the app code can say what they hold for the type checker.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

try:
    PRODUCTION = env_bool("HEADROOM_PRODUCTION", False)
    # Only when asked for: Django's debug pages show settings and source to whoever hits an error.
    DEBUG = env_bool("DEBUG", False)
    if PRODUCTION and DEBUG:
        raise ConfigError("DEBUG=true cannot be combined with HEADROOM_PRODUCTION=true")
    SECRET_KEY = env_str("SECRET_KEY", "")
    if not SECRET_KEY:
        if PRODUCTION:
            raise ConfigError("SECRET_KEY must be set when HEADROOM_PRODUCTION=true")
        SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-" + "x" * 20
    elif PRODUCTION and len(SECRET_KEY) < 50:
        raise ConfigError("SECRET_KEY must be at least 50 characters in production")
    ALLOWED_HOSTS = env_list(
        "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
    )
    if PRODUCTION and not ALLOWED_HOSTS:
        raise ConfigError("ALLOWED_HOSTS must be set when HEADROOM_PRODUCTION=true")
    SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    # Proxies (addresses or networks) whose X-Forwarded-For is believed, e.g. the nginx in
    # deploy/ on 127.0.0.1. Empty: every client is its REMOTE_ADDR, and the header is ignored.
    TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES", [])

    _db_url = env_str("DATABASE_URL", "")
    DATABASES = {
        "default": database_from_url("DATABASE_URL", _db_url)
        if _db_url
        else sqlite_database(str(BASE_DIR / "headroom.sqlite3"))
    }
    if str(DATABASES["default"]["ENGINE"]).endswith("postgresql"):
        # Each test run gets its own database, so two runs on one server never clobber each other.
        DATABASES["default"]["TEST"] = {
            "NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
        }

    _broker = env_str("CELERY_BROKER_URL", "")
    CELERY_BROKER_URL = (
        redis_url("CELERY_BROKER_URL", _broker) if _broker else "memory://localhost/"
    )
    # With no broker the embedded default runs every task in process, after commit.
    CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not _broker)

    MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
    _s3_bucket = env_str("S3_BUCKET", "")
    S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL", "")
    S3_REGION = env_str("S3_REGION", "us-east-1")

    _ssl_redirect = env_bool("SECURE_SSL_REDIRECT", True)
    _hsts_seconds = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    _trusted_origins = env_list("CSRF_TRUSTED_ORIGINS", [])
    _reconcile_every = env_int("ANALYSIS_RECONCILE_EVERY_S", 60)
    _deadlines_every = env_int("DEADLINES_CHECK_EVERY_S", 300)
    _soft_limit = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 600)
    _hard_limit = env_int("CELERY_TASK_TIME_LIMIT", 660)
    if _hard_limit <= _soft_limit:
        raise ConfigError("CELERY_TASK_TIME_LIMIT must be longer than CELERY_TASK_SOFT_TIME_LIMIT")
    MAX_FILE_BYTES = env_int("MAX_FILE_BYTES", 4 * 1024**3)
    # Resumable uploads: unfinished files wait on local disk (empty: MEDIA_ROOT/partial-uploads)
    # and are removed when nothing arrived for this long.
    UPLOAD_PARTIAL_DIR = env_str("UPLOAD_PARTIAL_DIR", "")
    UPLOAD_ABANDONED_AFTER_S = env_int("UPLOAD_ABANDONED_AFTER_S", 24 * 3600)
    # Bytes per tus request: under the proxy's body limit, small enough to retry cheaply.
    UPLOAD_CHUNK_BYTES = env_int("UPLOAD_CHUNK_BYTES", 64 * 1024**2)
    _uploads_sweep_every = env_int("UPLOADS_SWEEP_EVERY_S", 3600)
    _sessions_close_every = env_int("SESSIONS_CLOSE_EVERY_S", 300)
    # Intake: when the reconciler re-queues stuck files, and when it gives up on one.
    ANALYSIS_PENDING_TIMEOUT_S = env_int("ANALYSIS_PENDING_TIMEOUT_S", 300)
    ANALYSIS_RUNNING_TIMEOUT_S = env_int("ANALYSIS_RUNNING_TIMEOUT_S", 900)
    ANALYSIS_MAX_ATTEMPTS = env_int("ANALYSIS_MAX_ATTEMPTS", 3)
    # Cloud links: hosts a share link may point at (tests open it to a local server).
    CLOUD_LINK_ALLOWED_HOSTS = env_list(
        "CLOUD_LINK_ALLOWED_HOSTS",
        [
            "drive.google.com",
            "drive.usercontent.google.com",
            "docs.google.com",
            ".googleusercontent.com",  # a leading dot: the domain and its subdomains
            "www.dropbox.com",
            "dropbox.com",
            ".dropboxusercontent.com",
            "we.tl",
            ".wetransfer.com",
            ".wetransfer.net",
        ],
    )
    # Loopback and private addresses are refused after DNS resolution (no SSRF); only tests
    # that serve files from a local HTTP server turn this on.
    CLOUD_LINK_ALLOW_PRIVATE = False
    EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Headroom <studio@headroom.invalid>")
    TIME_ZONE = env_str("TIME_ZONE", "UTC")
    LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
    if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"LOG_LEVEL={LOG_LEVEL!r} is not one of DEBUG, INFO, WARNING, ERROR")
except ConfigError as exc:
    # One clear line, not a traceback wall.
    sys.stderr.write(f"Headroom configuration error: {exc}\n")
    raise SystemExit(2) from None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "jobs",
    "jobs.review",
    "analysis",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "studio.security.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "studio.security.StripNulMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "studio.login.PlainUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: it turns a throttled login's page into a 429.
    "axes.middleware.AxesMiddleware",
]

# Login throttle (reliability.md): django-axes in the database, shared by every process; one
# count per account (username as Django normalises it) and client address; 5 failures, then
# 15 minutes; counted before the password is checked (studio/throttle.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "studio.login.UserBackend",
    # Only for the sessions it logged in before UserBackend (studio/login.py).
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "studio.throttle.AtomicDatabaseHandler"
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # 15 minutes from the fifth failure
AXES_USERNAME_CALLABLE = "studio.throttle.username_for"
AXES_CLIENT_IP_CALLABLE = "studio.security.client_address"
AXES_LOCKOUT_CALLABLE = "studio.throttle.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = False

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"
AUTH_USER_MODEL = "jobs.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "studio.nav.nav",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True

# Shared by every web process when Redis is there.
CACHES = {
    # Django's Redis cache, keeping its redis client (studio/cache.py).
    "default": {"BACKEND": "studio.cache.Cache", "LOCATION": _broker}
    if _broker
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Rendered fragments in each process's own memory (jobs.fragments), emptied by a deploy.
    "fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "fragments",
        "TIMEOUT": None,
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
}
if _broker:
    # The same fragments shared by every web process (jobs.fragments; their keys hold a digest
    # of the code, so a deploy never reads the old code's renderings).
    CACHES["fragments_shared"] = {
        "BACKEND": "studio.cache.Cache",
        "LOCATION": _broker,
        "KEY_PREFIX": "fragment",
        "TIMEOUT": 6 * 3600,
    }
# Sessions are read on every request: from Redis when it is there (the database keeps them too,
# so a restart of Redis logs no one out), from the database alone otherwise.
if _broker:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"

STORAGES: dict[str, dict[str, object]] = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    },
    # Django's, with each URL worked out once (studio/staticfiles.py).
    "staticfiles": {"BACKEND": "studio.staticfiles.StaticStorage"},
}
if _s3_bucket:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _s3_bucket,
            "endpoint_url": S3_ENDPOINT_URL or None,
            "region_name": S3_REGION,
            "access_key": env_str("S3_ACCESS_KEY_ID", ""),
            "secret_key": env_str("S3_SECRET_ACCESS_KEY", ""),
            "file_overwrite": False,  # a stored upload is never replaced
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 600,
        },
    }

# Uploads stream to disk past 2.5 MB; the size caps are checked as bytes arrive.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# The cap handler sees every chunk first and skips a file past the per-file or per-job cap.
FILE_UPLOAD_HANDLERS = [
    "jobs.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Celery (settings from reliability.md): nothing is acknowledged before it is done, one task
# at a time per process, bounded run time, JSON only.
CELERY_TASK_ACKS_LATE = True
# One queue name per deployment (or per test run, so parallel runs on one Redis never mix).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = _soft_limit
CELERY_TASK_TIME_LIMIT = _hard_limit
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    # Intake's reconciler: re-queues files stuck in pending/running from the database state.
    "analysis-reconcile": {"task": "analysis.reconcile", "schedule": float(_reconcile_every)},
    # The workflow's deadline check: re-plan, then alert managers once per job at risk or overdue.
    "jobs-deadlines-check": {"task": "jobs.deadlines_check", "schedule": float(_deadlines_every)},
    # Resumable uploads abandoned halfway: their bytes are removed.
    "jobs-partial-uploads-sweep": {
        "task": "jobs.partial_uploads_sweep",
        "schedule": float(_uploads_sweep_every),
    },
    # Listening sessions left open (a closed laptop): closed with their time capped.
    "jobs-sessions-close-forgotten": {
        "task": "jobs.sessions_close_forgotten",
        "schedule": float(_sessions_close_every),
    },
}

# No inline script or style anywhere (templates load static/js and static/css only), so neither
# 'unsafe-inline' nor 'unsafe-eval' is needed; audio comes from this origin or from storage.
_media_sources = [SELF, "blob:"]
if _s3_bucket and S3_ENDPOINT_URL:
    _media_sources.append(S3_ENDPOINT_URL.rstrip("/"))
elif _s3_bucket:
    _media_sources.append("https://*.amazonaws.com")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],  # the nonce only for the waveform component's shadow-root style
        "img-src": [SELF, "data:"],
        "media-src": _media_sources,
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _ssl_redirect
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = _hsts_seconds
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = _trusted_origins

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Axes narrates every attempt at INFO; lock-outs are logged by studio.throttle at WARNING.
    "loggers": {"axes": {"level": "WARNING"}},
}
