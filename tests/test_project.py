"""Project-wide guarantees: migrations, deployment checks, the demo, languages, no CDN."""

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

from clusters.demo import DEMO_PASSWORD, load_demo
from clusters.models import Cluster, ClusterYear, Membership, RoleAssignment, User

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
    assert [e.msgid for e in po if sorted(placeholder.findall(e.msgid)) != sorted(placeholder.findall(e.msgstr))] == []


@pytest.mark.django_db
def test_pages_are_vietnamese_by_default_and_english_on_request(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="vi">' in page and "Đăng nhập" in page
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in page and "Log in" in page


@pytest.mark.django_db
def test_dates_are_in_vietnamese_format(client):
    load_demo()
    client.force_login(User.objects.get(username="sd301"))
    cy = ClusterYear.objects.get(cluster__name="Cụm Thi đua số 6", year=2024)
    page = client.get(reverse("clusters:clusteryear-detail", args=[cy.pk])).content.decode()
    assert "15/10/2024" in page  # self-assessment due, d/m/Y


@pytest.mark.django_db
def test_demo_loader_is_idempotent_and_tells_the_seed_story():
    first = load_demo()
    second = load_demo()
    assert first == second == {"units": 7, "clusters": 2, "cluster years": 5, "users": 9}
    c6 = Cluster.objects.get(name="Cụm Thi đua số 6", superior__name="Bộ Tư lệnh Thủ đô Hà Nội")
    y2024 = c6.years.get(year=2024)
    assert sorted(y2024.memberships.values_list("unit__name", "role")) == [
        ("Công ty TNHHMTV Hà Thành", "member"),
        ("Sư đoàn Bộ binh 301", "chair"),
        ("Trung đoàn Pháo binh 452", "member"),
        ("Trường Quân sự Bộ Tư lệnh", "vice_chair"),
    ]
    assert list(c6.years.order_by("year").values_list("year", "phase")) == [
        (2022, "closed"), (2023, "closed"), (2024, "scoring"),
    ]
    assert Membership.objects.count() == 3 * 4 + 2 * 3
    assert RoleAssignment.objects.get(user__username="cumtruong6").unit.name == "Sư đoàn Bộ binh 301"


@pytest.mark.django_db
def test_demo_command_prints_summary():
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert out.getvalue().strip() == (
        f"Demo ready: 7 units, 2 clusters, 5 cluster years, 9 users. Password of every demo account: {DEMO_PASSWORD}"
    )


def readme_accounts() -> list[tuple[str, str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| username | password | role |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip("| ").split(" | ") for line in table.strip().splitlines()[1:]]
    return [(u.strip("` "), p.strip("` "), r) for u, p, r in rows]


@pytest.mark.django_db
def test_every_readme_account_logs_in(client):
    load_demo()
    accounts = readme_accounts()
    assert len(accounts) == User.objects.count()
    for username, password, _role in accounts:
        assert client.login(username=username, password=password), username
        assert client.get(reverse("home")).status_code == 200
        client.logout()
