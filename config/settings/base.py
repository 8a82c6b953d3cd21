"""
Settings shared by every environment. Everything that differs between a laptop,
CI and production is read from the environment through one ``env`` (see the
README's "Configuration" table); defaults are the safe ones (DEBUG off).
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; a missing file is ignored

# GENERAL
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")  # local.py and test.py give defaults; production.py requires it
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# I18N: Vietnamese first, English second; Hanoi time.
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False  # years must read 2024, not 2.024
FORMAT_MODULE_PATH = ["config.formats"]

# DATABASES
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# A new PostgreSQL connection costs about 8 ms per request: keep them. CONN_MAX_AGE (seconds, 0 = one
# connection per request) for Django's persistent connections, or DB_POOL=true for psycopg's pool on
# PostgreSQL (DB_POOL_MAX connections per process; Django then needs CONN_MAX_AGE 0).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if env.bool("DB_POOL", default=False) and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": env.int("DB_POOL_MAX", default=4)
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# CACHE: every page reads the session and the signed-in user from it, and closed years'
# rankings are kept rendered in it. It must be shared by all the worker processes of a host,
# so that a logout or a deactivated account takes effect in every worker at once: a file cache
# by default (CACHE_URL, e.g. filecache:///var/tmp/thidua-cache); with several application
# hosts, a cache server they share (e.g. pymemcache://10.0.0.5:11211).
CACHES = {
    "default": env.cache_url(
        "CACHE_URL", default=f"filecache://{BASE_DIR / 'var' / 'cache'}?max_entries=20000&cull_frequency=10"
    )
}

# APPS
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",  # django-bootstrap-static: Bootstrap's css/js served by the app
    "simple_history",
    "axes",  # login throttling: see AUTH below
    "csp",
    "clusters",
    "scoring",
    "awards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.VietnameseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# AUTH
AUTH_USER_MODEL = "clusters.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username + address before any check
    "clusters.backends.CachedModelBackend",  # Django's ModelBackend, the signed-in user read from the cache
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# STATIC AND MEDIA: the app serves its own static files (WhiteNoise); no CDN anywhere.
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# FORMS
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# SECURITY (stricter values in production.py)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)  # seconds: one working day
# Sessions are stored in the database and read through the cache (written to both).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# The signed-in user is read from the cache too (clusters.backends); a save of the user renews it at once,
# a change written around save() shows within these seconds.
USER_CACHE_SECONDS = env.int("USER_CACHE_SECONDS", default=60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=False)
CSRF_COOKIE_HTTPONLY = True  # no script reads the token from the cookie: forms carry it
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Reverse proxies in front of the app that append to X-Forwarded-For (0: clients connect directly).
# The client's address (login throttling, audit log) is the entry the outermost trusted proxy added.
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)

# CONTENT SECURITY POLICY (django-csp 4): everything from this origin, nothing inline, in every
# environment (the browser tests run under it). Bootstrap draws its icons with data: SVG images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# LOGIN THROTTLING (django-axes): after AXES_FAILURE_LIMIT failed logins for one username from one
# address, that pair is locked out for AXES_COOLOFF_MINUTES; a success resets the count. Every
# attempt, failure and lockout is also in the audit log (clusters/audit.py).
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "config.views.locked_out"  # the Vietnamese lockout page, status 429
AXES_CLIENT_IP_CALLABLE = "clusters.audit.client_ip"
AXES_DISABLE_ACCESS_LOG = True  # successful logins are in the audit log
AXES_VERBOSE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# SCORING
EVIDENCE_MAX_MB = env.int("EVIDENCE_MAX_MB", default=20)
# Uploads above this size stream to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

# HISTORY: reasons are what users typed (up to 500 characters), not a 100-character label.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
