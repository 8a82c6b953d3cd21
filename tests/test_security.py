"""
Production hardening: HTTPS-only transport and cookies in production, a
Content-Security-Policy without inline code everywhere, login throttling
(django-axes) with a Vietnamese lockout page, password rules, session expiry,
and the audit log an administrator reads but nobody edits (the rows each
action writes: tests/clusters/test_audit.py).
"""

import importlib
import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clusters.models import AuditEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent
A = AuditEvent.Action
PRODUCTION_ENV = {"SECRET_KEY": "k9$Zp2vQ!x7Lr4Tn8Wc1Yb6Hd3Fs0Jg5Me-Ua2Ri7Oq4Pl9Kv1Xz6Nb3Ct8Dy5Gw",
                  "ALLOWED_HOSTS": "thidua.example.vn"}
TRANSPORT = [
    "SECURE_SSL_REDIRECT", "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY", "TRUSTED_PROXIES",
]
POLICY = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
    "font-src": "'self'", "connect-src": "'self'", "object-src": "'none'", "base-uri": "'self'",
    "form-action": "'self'", "frame-ancestors": "'none'",
}


def production(monkeypatch, **env):
    """config.settings.production as it loads with ``env`` (and nothing else set that it reads)."""
    for name in TRANSPORT:
        monkeypatch.delenv(name, raising=False)
    for name, value in {**PRODUCTION_ENV, **env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delitem(sys.modules, "config.settings.production", raising=False)
    module = importlib.import_module("config.settings.production")
    del sys.modules["config.settings.production"]
    return module


def policy_of(response) -> dict[str, str]:
    parts = [part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")]
    return {name: value for name, value in parts}


def log_in(client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


# --- settings and headers -----------------------------------------------------------------------


def test_production_settings_are_https_only_with_secure_cookies_and_throttled_logins(monkeypatch):
    prod = production(monkeypatch)

    assert [getattr(prod, name) for name in TRANSPORT] == [
        True, ("HTTP_X_FORWARDED_PROTO", "https"), 31536000, True, True, True, True, True, "same-origin", 1]
    assert (prod.DEBUG, prod.SESSION_COOKIE_HTTPONLY, prod.CSRF_COOKIE_HTTPONLY, prod.X_FRAME_OPTIONS) == (
        False, True, True, "DENY")
    assert (prod.SESSION_COOKIE_AGE, prod.SESSION_EXPIRE_AT_BROWSER_CLOSE) == (8 * 60 * 60, False)
    assert (prod.AXES_ENABLED, prod.AXES_FAILURE_LIMIT, prod.AXES_COOLOFF_TIME, prod.AXES_LOCKOUT_PARAMETERS) == (
        True, 5, timedelta(minutes=15), [["username", "ip_address"]])
    assert prod.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert prod.MIDDLEWARE[-2:] == ["csp.middleware.CSPMiddleware", "axes.middleware.AxesMiddleware"]
    assert [(v["NAME"].rsplit(".", 1)[1], v.get("OPTIONS")) for v in prod.AUTH_PASSWORD_VALIDATORS] == [
        ("UserAttributeSimilarityValidator", None), ("MinimumLengthValidator", {"min_length": 10}),
        ("CommonPasswordValidator", None), ("NumericPasswordValidator", None),
    ]


def test_production_transport_settings_follow_the_environment(monkeypatch):
    prod = production(monkeypatch, SECURE_HSTS_SECONDS="3600", SECURE_SSL_REDIRECT="False", TRUSTED_PROXIES="2")

    assert (prod.SECURE_HSTS_SECONDS, prod.SECURE_SSL_REDIRECT, prod.TRUSTED_PROXIES) == (3600, False, 2)


@pytest.mark.django_db
def test_production_redirects_to_https_and_answers_with_hsts_csp_and_secure_cookies(monkeypatch, settings, client):
    prod = production(monkeypatch)
    for name in TRANSPORT:
        setattr(settings, name, getattr(prod, name))
    UserFactory(username="thu")

    plain = client.get(reverse("login"))
    page = client.get(reverse("login"), HTTP_X_FORWARDED_PROTO="https")
    logged_in = log_in(client, "thu", DEFAULT_PASSWORD, HTTP_X_FORWARDED_PROTO="https")

    assert (plain.status_code, plain["Location"]) == (301, "https://testserver/accounts/login/")
    assert page.status_code == 200
    assert {name: page[name] for name in [
        "Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
        "Cross-Origin-Opener-Policy",
    ]} == {
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    assert policy_of(page) == POLICY
    csrf, session = page.cookies["csrftoken"], logged_in.cookies["sessionid"]
    assert (csrf["secure"], csrf["httponly"], csrf["samesite"]) == (True, True, "Lax")
    assert (session["secure"], session["httponly"], session["samesite"], session["max-age"]) == (
        True, True, "Lax", 8 * 60 * 60)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["anonymous", "staff_b", "admin"])
def test_every_page_carries_the_content_security_policy(client_as, persona):
    client = client_as(persona)
    pages = [reverse("login"), reverse("home"), reverse("admin:index")]

    assert [policy_of(client.get(page)) for page in pages] == [POLICY] * 3


def test_templates_have_no_inline_script_style_or_event_handler():
    """The policy refuses them: behaviour lives in static/js (data attributes), looks in static/css."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group()}"
        for path in sorted(ROOT.glob("templates/**/*.html"))
        if "pdf" not in path.parts  # WeasyPrint documents, never served as pages
        for match in inline.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# --- login throttling ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_five_failed_logins_lock_the_username_on_that_address_with_the_lockout_page(client):
    user = UserFactory(username="thu")

    answers = [log_in(client, "thu", f"sai-{n}").status_code for n in range(4)]
    locked = log_in(client, "thu", "sai-5")
    right_password = log_in(client, "thu", DEFAULT_PASSWORD)
    elsewhere = log_in(client, "thu", DEFAULT_PASSWORD, REMOTE_ADDR="10.0.0.9")

    assert answers == [200] * 4
    page = locked.content.decode()
    assert (locked.status_code, right_password.status_code, elsewhere.status_code) == (429, 429, 302)
    assert '<html lang="vi">' in page and 'id="locked-out"' in page
    assert _("Too many failed logins") in page
    assert "5" in page and "15" in page
    assert policy_of(locked) == POLICY
    events = AuditEvent.objects.exclude(action=A.ACCOUNT_CREATED)
    assert sorted((e.action, e.actor_id, e.target_repr, e.ip_address) for e in events) == sorted(
        [(A.LOGIN_FAILED, None, "thu", "127.0.0.1")] * 6
        + [(A.LOCKED_OUT, None, "thu", "127.0.0.1")] * 2
        + [(A.LOGIN, user.pk, "thu", "10.0.0.9")]
    )
    assert [e.detail for e in events.filter(action=A.LOCKED_OUT).order_by("when")] == [
        {"failures": 5, "cool_off_minutes": 15}, {"failures": 6, "cool_off_minutes": 15}]


@pytest.mark.django_db
def test_the_lock_lifts_after_the_cool_off_and_a_success_clears_the_count(client):
    UserFactory(username="thu")
    for n in range(5):
        log_in(client, "thu", f"sai-{n}")
    assert log_in(client, "thu", DEFAULT_PASSWORD).status_code == 429

    attempt = AccessAttempt.objects.get(username="thu")
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=attempt.attempt_time - timedelta(minutes=16))

    assert log_in(client, "thu", DEFAULT_PASSWORD).status_code == 302
    assert AccessAttempt.objects.count() == 0


# --- passwords ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("new", "accepted"),
    [("Cum6-2025", False), ("1234567890123", False), ("password123", False), ("thu-thu-thu-1", False),
     ("Cum-thi-dua-so-6", True)],
    ids=["9 characters", "numeric", "common", "like the username", "accepted"],
)
def test_password_rules(client, new, accepted):
    client.force_login(UserFactory(username="thu-thu-thu"))

    response = client.post(reverse("password_change"), {
        "old_password": DEFAULT_PASSWORD, "new_password1": new, "new_password2": new})

    assert response.status_code == (302 if accepted else 200)
    if not accepted:
        assert list(response.context["form"].errors) == ["new_password2"]


# --- who reads the audit log --------------------------------------------------------------------


@pytest.mark.django_db
def test_administrators_list_filter_search_and_open_the_audit_log(client_as, world):
    client = client_as("admin")
    log_in(Client(), "ke-la", "sai")
    event = AuditEvent.objects.get(action=A.LOGIN_FAILED)
    day = timezone.localtime(event.when)
    changelist = reverse("admin:clusters_auditevent_changelist")

    listed = client.get(changelist)
    filtered = client.get(changelist, {"action__exact": "login_failed"})
    dated = client.get(changelist, {"when__year": day.year, "when__month": day.month, "when__day": day.day})
    searched = client.get(changelist, {"q": "ke-la"})
    opened = client.get(reverse("admin:clusters_auditevent_change", args=[event.pk]))

    assert [r.status_code for r in (listed, filtered, dated, searched, opened)] == [200] * 5
    assert list(filtered.context["cl"].result_list) == [event] == list(searched.context["cl"].result_list)
    assert event in dated.context["cl"].result_list
    assert "delete_selected" not in listed.content.decode()
    assert 'name="_save"' not in opened.content.decode()


@pytest.mark.django_db
def test_nobody_adds_changes_or_deletes_audit_rows_in_the_admin(client_as, world):
    client = client_as("admin")
    event = AuditEvent.objects.filter(action=A.ROLE_GRANTED).first()

    answers = [
        client.get(reverse("admin:clusters_auditevent_add")).status_code,
        client.post(reverse("admin:clusters_auditevent_add"), {"action": "login"}).status_code,
        client.post(reverse("admin:clusters_auditevent_change", args=[event.pk]), {"reason": "sửa"}).status_code,
        client.post(reverse("admin:clusters_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code,
        client.post(reverse("admin:clusters_auditevent_changelist"),
                    {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}).status_code,
    ]

    event.refresh_from_db()
    assert answers[:4] == [403] * 4
    assert answers[4] in (200, 302)  # the changelist ignores an unknown action
    assert (event.reason, AuditEvent.objects.filter(pk=event.pk).exists()) == ("", True)


@pytest.mark.django_db
def test_only_administrators_see_the_audit_log_and_the_login_attempts(client_as, world):
    audit = reverse("admin:clusters_auditevent_changelist")
    attempts = reverse("admin:axes_accessattempt_changelist")
    clerk = UserFactory(username="clerk", is_staff=True)  # staff without the permission
    reader = UserFactory(username="reader", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_auditevent"))

    def status(user, url):
        client = Client()
        client.force_login(user)
        return client.get(url).status_code

    assert [client_as(p).get(audit).status_code for p in ("anonymous", "staff_b", "command", "admin")] == [
        302, 302, 302, 200]
    assert [client_as(p).get(attempts).status_code for p in ("staff_b", "admin")] == [302, 200]
    assert (status(clerk, audit), status(reader, audit)) == (403, 200)
