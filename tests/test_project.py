"""Project-wide guarantees: migrations, deployment checks, languages, no CDN (the demo: test_demo.py)."""

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_no_outstanding_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_production_settings_pass_check_deploy():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "k9$Zp2vQ!x7Lr4Tn8Wc1Yb6Hd3Fs0Jg5Me-Ua2Ri7Oq4Pl9Kv1Xz6Nb3Ct8Dy5Gw",
        "ALLOWED_HOSTS": "thidua.example.vn",
        "DATABASE_URL": "sqlite:////tmp/thidua-check-deploy.sqlite3",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "System check identified no issues (0 silenced)."), result.stderr


def test_production_settings_refuse_to_start_without_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", "ALLOWED_HOSTS": "x"})
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_templates_load_nothing_from_the_internet():
    pattern = re.compile(r"""(?:src|href)=["']?(?:https?:)?//""")
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.glob("templates/**/*.html")
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_vietnamese_catalogue_is_complete():
    po = polib.pofile(str(ROOT / "locale/vi/LC_MESSAGES/django.po"))
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert po.percent_translated() == 100


def test_vietnamese_catalogue_keeps_placeholders():
    po = polib.pofile(str(ROOT / "locale/vi/LC_MESSAGES/django.po"))
    placeholder = re.compile(r"%\(\w+\)s")

    def translations(entry):
        return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]

    assert [
        e.msgid for e in po for text in translations(e)
        if sorted(set(placeholder.findall(e.msgid))) != sorted(set(placeholder.findall(text)))
    ] == []


@pytest.mark.django_db
def test_pages_are_vietnamese_by_default_and_english_on_request(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="vi">' in page and "Đăng nhập" in page
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in page and "Log in" in page
