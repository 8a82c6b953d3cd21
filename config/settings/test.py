"""Test settings: fast hashing, plain static storage, no secrets needed."""

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env("SECRET_KEY", default="test-only-not-secret-1c9e5a7b3d2f8e6a4c0b9d1f7e3a5c2b8d6f4a0e")
DEBUG = False
# Django's PBKDF2 costs ~0.34 s per hash on this machine; tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise re-indexes STATIC_ROOT for every new test client unless autorefresh is on.
WHITENOISE_AUTOREFRESH = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# One in-memory cache per test process (pytest-xdist workers do not share it); tests/conftest.py
# clears it before each test, since SQLite reuses the ids of rolled-back rows.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "thidua-tests"}}
