"""The administrator's journey: a new cluster year with members and a chair, and the refusals."""

import pytest
from django.urls import reverse

from clusters.models import ClusterYear, Membership, PhaseChange

pytestmark = pytest.mark.django_db


def year_form(world, year: int, rows: list[tuple[str, str]], **fields) -> dict:
    data = {
        "cluster": world.c7.pk,
        "year": year,
        "phase": "planning",
        "chair_basis": "rotation",
        "decision_number": "",
        "note": "",
        "memberships-TOTAL_FORMS": len(rows),
        "memberships-INITIAL_FORMS": 0,
        "memberships-MIN_NUM_FORMS": 1,
        "memberships-MAX_NUM_FORMS": 1000,
        "phase_changes-TOTAL_FORMS": 0,
        "phase_changes-INITIAL_FORMS": 0,
        "criteria_link-TOTAL_FORMS": 0,  # the criteria-set inline added by scoring/admin.py
        "criteria_link-INITIAL_FORMS": 0,
        **fields,
    }
    for i, (code, role) in enumerate(rows):
        data[f"memberships-{i}-unit"] = world.units[code].pk
        data[f"memberships-{i}-role"] = role
    return data


@pytest.fixture
def admin_client_(client, world):
    client.force_login(world.users["admin"])
    return client


def test_admin_creates_2025_with_members_and_chair(admin_client_, world):
    url = reverse("admin:clusters_clusteryear_add")
    response = admin_client_.post(url, year_form(world, 2025, [("D", "member"), ("E", "chair")]))
    assert response.status_code == 302, response.context["errors"] if response.context else response
    cy = ClusterYear.objects.get(cluster=world.c7, year=2025)
    assert sorted(cy.memberships.values_list("unit__name", "role")) == [("Đơn vị D", "member"), ("Đơn vị E", "chair")]
    assert cy.history.first().history_user == world.users["admin"]


def test_admin_refuses_year_without_chair(admin_client_, world):
    response = admin_client_.post(
        reverse("admin:clusters_clusteryear_add"), year_form(world, 2025, [("D", "member"), ("E", "member")])
    )
    assert response.status_code == 200
    assert "Phải chọn đúng một đơn vị làm Cụm trưởng." in response.content.decode()
    assert not ClusterYear.objects.filter(year=2025).exists()


def test_admin_refuses_two_chairs(admin_client_, world):
    response = admin_client_.post(
        reverse("admin:clusters_clusteryear_add"), year_form(world, 2025, [("D", "chair"), ("E", "chair")])
    )
    assert "Phải chọn đúng một đơn vị làm Cụm trưởng." in response.content.decode()
    assert not ClusterYear.objects.filter(year=2025).exists()


def test_admin_refuses_unit_in_two_clusters_of_the_same_superior(admin_client_, world):
    # A is in Cụm 6 in 2024; adding it to a second cluster's 2024 record is refused next to the field.
    data = year_form(world, 2024, [("A", "chair")])
    data["cluster"] = world.c7.pk
    ClusterYear.objects.filter(cluster=world.c7).delete()
    response = admin_client_.post(reverse("admin:clusters_clusteryear_add"), data)
    assert response.status_code == 200
    assert "Đơn vị A đã thuộc Cụm 6 trong năm 2024." in response.content.decode()
    assert not ClusterYear.objects.filter(cluster=world.c7).exists()


def test_admin_refuses_decision_basis_without_number(admin_client_, world):
    response = admin_client_.post(
        reverse("admin:clusters_clusteryear_add"),
        year_form(world, 2025, [("E", "chair")], chair_basis="decision"),
    )
    assert "Cụm trưởng do cấp trên quyết định phải có số và ngày quyết định." in response.content.decode()
    assert not ClusterYear.objects.filter(year=2025).exists()


def test_admin_closed_year_is_read_only(admin_client_, world):
    ClusterYear.objects.filter(pk=world.y7.pk).update(phase="closed")
    url = reverse("admin:clusters_clusteryear_change", args=[world.y7.pk])
    assert admin_client_.get(url).status_code == 200
    data = year_form(world, 2024, [("D", "member")], note="sửa")
    assert admin_client_.post(url, data).status_code == 403
    assert sorted(Membership.objects.filter(cluster_year=world.y7).values_list("role", flat=True)) == ["chair", "member"]


def test_admin_action_advances_phase_through_the_service(admin_client_, world):
    response = admin_client_.post(
        reverse("admin:clusters_clusteryear_changelist"),
        {"action": "advance_phase", "_selected_action": [world.y7.pk]},
    )
    assert response.status_code == 302
    world.y7.refresh_from_db()
    assert world.y7.phase == "scoring"
    assert PhaseChange.objects.get().changed_by == world.users["admin"]


def test_admin_action_opens_next_year_with_members(admin_client_, world):
    admin_client_.post(
        reverse("admin:clusters_clusteryear_changelist"),
        {"action": "open_next_year", "_selected_action": [world.y7.pk]},
    )
    cy = ClusterYear.objects.get(cluster=world.c7, year=2025)
    assert sorted(cy.memberships.values_list("unit__name", "role")) == [("Đơn vị D", "chair"), ("Đơn vị E", "member")]


@pytest.mark.parametrize(
    "name",
    [
        "clusters_unit_changelist",
        "clusters_cluster_changelist",
        "clusters_clusteryear_changelist",
        "clusters_superior_changelist",
        "clusters_user_changelist",
        "clusters_roleassignment_changelist",
    ],
)
def test_admin_lists_search_and_filter(admin_client_, world, name):
    response = admin_client_.get(reverse(f"admin:{name}") + "?q=A")
    assert response.status_code == 200


def test_admin_user_role_must_match_its_target(admin_client_, world):
    user = world.users["staff_b"]
    url = reverse("admin:clusters_user_change", args=[user.pk])
    data = {
        "username": "staff_b", "password": user.password, "is_active": "on", "date_joined_0": "2024-01-01",
        "date_joined_1": "08:00:00", "roles-TOTAL_FORMS": 2, "roles-INITIAL_FORMS": 1,
        "roles-0-id": user.roles.get().pk, "roles-0-user": user.pk, "roles-0-role": "unit_staff",
        "roles-0-unit": world.units["B"].pk,
        "roles-1-user": user.pk, "roles-1-role": "command_officer", "roles-1-unit": world.units["C"].pk,
    }
    response = admin_client_.post(url, data)
    assert response.status_code == 200
    assert (
        "Cán bộ đơn vị và cán bộ Cụm trưởng gắn với một đơn vị; cán bộ cơ quan cấp trên gắn với một cơ quan cấp trên."
        in response.content.decode()
    )
    assert user.roles.count() == 1
