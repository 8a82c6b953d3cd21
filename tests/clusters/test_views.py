"""
The permission matrix of every page (each persona of ``tests/conftest.py``,
GET and POST), the pages' content, and their query counts.
"""

import pytest
from django.urls import reverse

from clusters.models import ClusterYear, PhaseChange
from tests.conftest import PERSONAS, make_world
from tests.factories import ClusterFactory, ClusterYearFactory, MembershipFactory, UnitFactory

pytestmark = pytest.mark.django_db

LOGIN = 302  # anonymous: redirected to the login page
OK, REDIRECT, FORBIDDEN, HIDDEN, NOT_ALLOWED = 200, 302, 403, 404, 405


def url_for(name: str, world) -> str:
    return {
        "home": lambda: reverse("home"),
        "clusters:cluster-detail": lambda: reverse("clusters:cluster-detail", args=[world.c6.pk]),
        "clusters:clusteryear-detail": lambda: reverse("clusters:clusteryear-detail", args=[world.y6.pk]),
        "clusters:clusteryear-advance": lambda: reverse("clusters:clusteryear-advance", args=[world.y6.pk]),
        "clusters:unit-detail": lambda: reverse("clusters:unit-detail", args=[world.units["B"].pk]),
    }[name]()


# route -> method -> expected status per persona, in the order of PERSONAS:
# anonymous, staff_b, staff_c, staff_d, officer_a, officer_d, command, command2, admin
MATRIX = {
    "home": {
        "GET": [LOGIN, OK, OK, OK, OK, OK, OK, OK, OK],
        "POST": [NOT_ALLOWED] * 9,
    },
    "clusters:cluster-detail": {
        "GET": [LOGIN, OK, OK, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST": [NOT_ALLOWED] * 9,
    },
    "clusters:clusteryear-detail": {
        "GET": [LOGIN, OK, OK, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST": [NOT_ALLOWED] * 9,
    },
    "clusters:clusteryear-advance": {
        "GET": [NOT_ALLOWED] * 9,
        "POST": [LOGIN, FORBIDDEN, FORBIDDEN, HIDDEN, REDIRECT, HIDDEN, REDIRECT, HIDDEN, REDIRECT],
    },
    "clusters:unit-detail": {
        "GET": [LOGIN, OK, HIDDEN, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST": [NOT_ALLOWED] * 9,
    },
}

CASES = [
    (route, method, persona, expected)
    for route, methods in MATRIX.items()
    for method, row in methods.items()
    for persona, expected in zip(PERSONAS, row, strict=True)
]


@pytest.mark.parametrize(("route", "method", "persona", "expected"), CASES)
def test_permission_matrix(client_as, world, route, method, persona, expected):
    client = client_as(persona)
    url = url_for(route, world)
    data = {"expected_phase": "planning", "reason": "Bắt đầu chấm điểm"}
    response = client.get(url) if method == "GET" else client.post(url, data)
    assert response.status_code == expected
    if expected == LOGIN and persona == "anonymous":
        assert response["Location"].startswith(reverse("login"))


def test_advance_forbidden_writes_nothing(client_as, world):
    client_as("staff_b").post(url_for("clusters:clusteryear-advance", world), {"expected_phase": "planning"})
    world.y6.refresh_from_db()
    assert (world.y6.phase, PhaseChange.objects.count()) == ("planning", 0)


def test_advance_by_cluster_officer_moves_phase_and_says_so(client_as, world):
    client = client_as("officer_a")
    response = client.post(
        url_for("clusters:clusteryear-advance", world), {"expected_phase": "planning", "reason": "Mở chấm"}, follow=True
    )
    world.y6.refresh_from_db()
    assert world.y6.phase == "scoring"
    assert "Năm thi đua đã chuyển sang giai đoạn: Tự chấm điểm." in response.content.decode()
    change = PhaseChange.objects.get()
    assert (change.changed_by.username, change.reason) == ("officer_a", "Mở chấm")


def test_advance_stale_form_is_refused_with_message(client_as, world):
    client = client_as("command")
    url = url_for("clusters:clusteryear-advance", world)
    client.post(url, {"expected_phase": "planning"})
    response = client.post(url, {"expected_phase": "planning"}, follow=True)
    world.y6.refresh_from_db()
    assert world.y6.phase == "scoring"
    assert "Giai đoạn vừa được người khác thay đổi (hiện là: Tự chấm điểm); hãy tải lại trang." in response.content.decode()


def test_advance_bad_input_writes_nothing(client_as, world):
    response = client_as("command").post(url_for("clusters:clusteryear-advance", world), {"expected_phase": "x"}, follow=True)
    world.y6.refresh_from_db()
    assert world.y6.phase == "planning"
    assert "Yêu cầu không đầy đủ; chưa có gì thay đổi." in response.content.decode()


def test_advance_closed_year_forbidden(client_as, world):
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="closed")
    response = client_as("admin").post(url_for("clusters:clusteryear-advance", world), {"expected_phase": "closed"})
    assert response.status_code == FORBIDDEN


def test_cluster_page_shows_chair_history_newest_first(client_as, world):
    older = ClusterYearFactory(cluster=world.c6, year=2023, phase="closed")
    MembershipFactory(cluster_year=older, unit=world.units["C"], role="chair")
    MembershipFactory(cluster_year=older, unit=world.units["A"], role="vice_chair")
    response = client_as("staff_b").get(url_for("clusters:cluster-detail", world))
    assert [(cy.year, cy.chair_name, cy.vice_chair_name) for cy in response.context["history"]] == [
        (2024, "Đơn vị A", "Đơn vị B"),
        (2023, "Đơn vị C", "Đơn vị A"),
    ]


def test_unit_page_lists_clusters_years_and_what_is_open(client_as, world):
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="scoring")
    response = client_as("staff_b").get(url_for("clusters:unit-detail", world))
    assert [(m.cluster_year.cluster.name, m.cluster_year.year, m.role, m.chair_name) for m in response.context["memberships"]] == [
        ("Cụm 6", 2024, "vice_chair", "Đơn vị A")
    ]
    assert "Đang mở tự chấm điểm" in response.content.decode()


def test_home_shows_the_units_clusters_and_overview_of_the_user(client_as, world):
    response = client_as("staff_b").get(reverse("home"))
    assert [u.name for u in response.context["units"]] == ["Đơn vị B"]
    assert [c.name for c in response.context["clusters"]] == ["Cụm 6"]
    assert list(response.context["superiors"]) == []


# --- query counts: the same number of queries for 1 and 3 clusters / years / memberships ---

def grow(world, n: int) -> None:
    """Give the world ``n`` clusters in S with 2024 records, each with 2 members, one of them B's years."""
    for i in range(n - 1):
        cluster = ClusterFactory(superior=world.superior, name=f"Cụm thêm {i}")
        cy = ClusterYearFactory(cluster=cluster, year=2024)
        MembershipFactory(cluster_year=cy, unit=UnitFactory(superior=world.superior), role="chair")
        MembershipFactory(cluster_year=cy, unit=UnitFactory(superior=world.superior))
        older = ClusterYearFactory(cluster=world.c6, year=2020 + i)
        MembershipFactory(cluster_year=older, unit=world.units["B"], role="chair")


@pytest.mark.parametrize("item_count", [1, 3])
def test_cluster_page_query_count(client, django_assert_num_queries, item_count):
    world = make_world()
    grow(world, item_count)
    client.force_login(world.users["staff_b"])
    # session, user, cluster, chair history, members of the current year
    with django_assert_num_queries(5):
        response = client.get(url_for("clusters:cluster-detail", world))
    assert len(response.context["history"]) == item_count


@pytest.mark.parametrize("item_count", [1, 3])
def test_unit_page_query_count(client, django_assert_num_queries, item_count):
    world = make_world()
    grow(world, item_count)
    client.force_login(world.users["staff_b"])
    # session, user, unit, memberships with cluster, year and chair
    with django_assert_num_queries(4):
        response = client.get(url_for("clusters:unit-detail", world))
    assert len(response.context["memberships"]) == item_count


@pytest.mark.parametrize("item_count", [1, 3])
def test_clusteryear_page_query_count(client, django_assert_num_queries, item_count):
    world = make_world()
    for _ in range(item_count):
        MembershipFactory(cluster_year=world.y6, unit=UnitFactory(superior=world.superior))
    client.force_login(world.users["officer_a"])
    # user, the user's roles, cluster year, is cluster officer, members, phase changes (the session comes
    # from the cache; being a command officer is read from the roles)
    with django_assert_num_queries(6):
        client.get(url_for("clusters:clusteryear-detail", world))


@pytest.mark.parametrize("item_count", [1, 3])
def test_home_query_count(client, django_assert_num_queries, item_count):
    world = make_world()
    grow(world, item_count)
    client.force_login(world.users["command"])
    # user, the user's roles, superiors, clusters (the session comes from the cache; the units staffed are
    # the roles' units)
    with django_assert_num_queries(4):
        client.get(reverse("home"))
