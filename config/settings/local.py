"""Developer settings for ``make run``: DEBUG on, SQLite by default, a throw-away key."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="local-only-not-secret-8f3c2b7e1d9a4c6f0e5b2a7d3c9f1e4b6a0d8c2f")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
