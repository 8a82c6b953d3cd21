"""
The session and the signed-in user are read through the cache, and the user's roles once per
user object (clusters.backends, clusters.permissions): every change must still take effect on
the very next request.
"""

import pytest
from django.urls import reverse

from clusters.models import RoleAssignment, User
from clusters.permissions import cluster_years_visible_to, manages_cluster_year

pytestmark = pytest.mark.django_db

R = RoleAssignment.Role


def _home(client):
    return client.get(reverse("home"))


def test_the_user_comes_from_the_cache_after_the_first_request(client, world, django_assert_num_queries):
    client.force_login(world.users["staff_b"])
    _home(client)
    with django_assert_num_queries(0):
        from django.contrib.auth import get_user

        class Request:
            session = client.session

        assert get_user(Request()).username == "staff_b"


def test_a_deactivated_account_is_signed_out_at_the_next_request(client, world):
    user = world.users["staff_b"]
    client.force_login(user)
    assert _home(client).status_code == 200
    user.is_active = False
    user.save()
    response = _home(client)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_new_password_signs_out_the_other_sessions(client, world):
    user = User.objects.get(pk=world.users["staff_b"].pk)
    client.force_login(user)
    assert _home(client).status_code == 200
    user.set_password("Mật-khẩu-mới-2024")
    user.save()
    assert _home(client).status_code == 302


def test_a_new_name_shows_at_once(client, world):
    user = world.users["staff_b"]
    client.force_login(user)
    _home(client)
    user.first_name, user.last_name = "Nguyễn Văn", "Bình"
    user.save()
    assert "Nguyễn Văn Bình" in _home(client).content.decode()


def test_a_logged_out_session_cannot_be_replayed(client, world):
    client.force_login(world.users["staff_b"])
    assert _home(client).status_code == 200
    cookie = client.cookies["sessionid"].value
    client.post(reverse("logout"))
    client.cookies["sessionid"] = cookie
    assert _home(client).status_code == 302


def test_roles_are_read_again_once_one_changes(world, django_assert_num_queries):
    user = world.users["staff_b"]
    assert set(cluster_years_visible_to(user).values_list("pk", flat=True)) == {world.y6.pk}
    with django_assert_num_queries(1):  # the visible years; the roles are remembered
        assert cluster_years_visible_to(user).count() == 1
    RoleAssignment.objects.create(user=user, role=R.COMMAND_OFFICER, superior=world.superior2)
    assert set(cluster_years_visible_to(user).values_list("pk", flat=True)) == {world.y6.pk, world.y9.pk}
    assert manages_cluster_year(user, world.y9)
    RoleAssignment.objects.filter(user=user, role=R.COMMAND_OFFICER).delete()
    assert not manages_cluster_year(user, world.y9)
    assert world.y9 not in cluster_years_visible_to(user)


def test_a_new_or_removed_role_takes_effect_at_the_next_request(client, world):
    user = world.users["staff_b"]
    client.force_login(user)
    page = reverse("clusters:clusteryear-detail", args=[world.y9.pk])
    assert client.get(page).status_code == 404  # cached with its roles: unit staff of B only
    role = RoleAssignment.objects.create(user=user, role=R.COMMAND_OFFICER, superior=world.superior2)
    assert client.get(page).status_code == 200
    role.delete()
    assert client.get(page).status_code == 404
