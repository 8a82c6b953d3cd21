"""
Shared fixtures: the personas of the permission matrix and the browser set-up.

The ``world``: superior S owns cluster C6 (2024: A chair, B vice chair, C member)
and cluster C7 (2024: D chair, E member); superior S2 owns cluster C9 (F chair).
Each persona is one user:

| persona      | role                                  |
|--------------|---------------------------------------|
| staff_b      | unit staff of B (the unit concerned)  |
| staff_c      | unit staff of C (same cluster)        |
| staff_d      | unit staff of D (another cluster)     |
| officer_a    | cluster officer of A (chairs C6)      |
| officer_d    | cluster officer of D (chairs C7)      |
| command      | command officer of S                  |
| command2     | command officer of S2                 |
| admin        | administrator (Django staff)          |
"""

import os
import shutil
from dataclasses import dataclass

import pytest

from clusters.models import ClusterYear, Membership, RoleAssignment, Unit
from tests.factories import (
    ClusterFactory,
    ClusterYearFactory,
    MembershipFactory,
    RoleFactory,
    SuperiorFactory,
    UnitFactory,
    UserFactory,
)

R = RoleAssignment.Role

# pytest-playwright's sync API keeps an asyncio loop running in the main thread,
# so Django's ORM refuses to run in the test process without this. Tests only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class World:
    superior: object
    superior2: object
    c6: object
    c7: object
    c9: object
    y6: ClusterYear
    y7: ClusterYear
    y9: ClusterYear
    units: dict[str, Unit]
    users: dict[str, object]


def make_world() -> World:
    s, s2 = SuperiorFactory(name="Bộ Tư lệnh S"), SuperiorFactory(name="Bộ Tư lệnh S2")
    units = {k: UnitFactory(name=f"Đơn vị {k}", superior=s) for k in "ABCDE"}
    units["F"] = UnitFactory(name="Đơn vị F", superior=s2)
    c6 = ClusterFactory(name="Cụm 6", superior=s)
    c7 = ClusterFactory(name="Cụm 7", superior=s)
    c9 = ClusterFactory(name="Cụm 9", superior=s2)
    y6, y7, y9 = (ClusterYearFactory(cluster=c, year=2024) for c in (c6, c7, c9))
    for cy, code, role in [
        (y6, "A", Membership.Role.CHAIR),
        (y6, "B", Membership.Role.VICE_CHAIR),
        (y6, "C", Membership.Role.MEMBER),
        (y7, "D", Membership.Role.CHAIR),
        (y7, "E", Membership.Role.MEMBER),
        (y9, "F", Membership.Role.CHAIR),
    ]:
        MembershipFactory(cluster_year=cy, unit=units[code], role=role)
    users = {"anonymous": None, "admin": UserFactory(username="admin", is_staff=True, is_superuser=True)}
    for name, role, target in [
        ("staff_b", R.UNIT_STAFF, {"unit": units["B"]}),
        ("staff_c", R.UNIT_STAFF, {"unit": units["C"]}),
        ("staff_d", R.UNIT_STAFF, {"unit": units["D"]}),
        ("officer_a", R.CLUSTER_OFFICER, {"unit": units["A"]}),
        ("officer_d", R.CLUSTER_OFFICER, {"unit": units["D"]}),
        ("command", R.COMMAND_OFFICER, {"superior": s}),
        ("command2", R.COMMAND_OFFICER, {"superior": s2}),
    ]:
        users[name] = RoleFactory(user=UserFactory(username=name), role=role, **target).user
    return World(s, s2, c6, c7, c9, y6, y7, y9, units, users)


@pytest.fixture
def world(db) -> World:
    return make_world()


PERSONAS = ["anonymous", "staff_b", "staff_c", "staff_d", "officer_a", "officer_d", "command", "command2", "admin"]


@pytest.fixture
def client_as(client, world):
    def login(persona: str):
        user = world.users[persona]
        if user is not None:
            client.force_login(user)
        return client

    return login


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright hook: launch Debian's Chromium instead of a downloaded build."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def pytest_collection_modifyitems(config, items):
    """
    Browser tests need Debian's Chromium. In CI (CI set) a missing browser is a
    failure; on a laptop without it the browser tests alone are skipped, saying so.
    """
    if os.path.exists(CHROMIUM) or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"browser tests skipped: {CHROMIUM} not found (apt-get install chromium)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    found = shutil.which(CHROMIUM) or (CHROMIUM if os.path.exists(CHROMIUM) else None)
    return f"chromium: {found or 'NOT FOUND - browser tests will be skipped (failed under CI)'}"


@pytest.fixture(autouse=True)
def vietnamese():
    """Each test starts in the default language: a request made in English by an earlier test leaves it active."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: SQLite gives a rolled-back user's id to the next test's user."""
    from django.core.cache import cache

    cache.clear()
    yield
