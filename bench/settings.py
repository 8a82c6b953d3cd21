"""
Settings of the benchmark's gunicorn: the production settings (DEBUG off,
persistent connections, WhiteNoise with the manifest storage) served on plain
HTTP on the loopback, plus the bare reference view (``bench/urls.py``).

Only what plain HTTP needs differs from production: no HTTPS redirect, no
Secure flag on the cookies, no HSTS. Used only by ``bench/run.py``.
"""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-key-not-a-secret-7d1f0c9a5e3b8d2f6a4c1e9b7d5f3a0c8e6b")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("STATIC_ROOT", "/tmp/thidua-bench-static")
os.environ.setdefault("CACHE_URL", "filecache:///tmp/thidua-bench-cache?max_entries=20000&cull_frequency=10")

from config.settings.production import *  # noqa: E402, F403

ROOT_URLCONF = "bench.urls"
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
LOGGING = {  # noqa: F405 - errors only: a request log would cost more than some pages
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
