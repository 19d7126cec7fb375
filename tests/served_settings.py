"""Settings for the app that tests serve in child processes (tests/served.py): the project's own,
with a fast password hasher for the rows tests make."""

from studio.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    # Known too, for a test that wants a login to cost what it costs in production.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
