"""
The frozen ranking's table is rendered once per snapshot, language and kind of reader, then read
from the cache (scoring.views.ranking_page): what it shows must still follow every change.
"""

import pytest
from django.urls import reverse

from clusters.models import RoleAssignment
from scoring import ranking, services
from scoring.models import Criterion, Sheet
from tests.factories import big_tree, make_criteria_set
from tests.scoring.test_results_views import NOW, _table, ranked_world

pytestmark = pytest.mark.django_db


def _page(client, world):
    response = client.get(reverse("scoring:ranking", args=[world.y6.pk]))
    assert response.status_code == 200
    return _table(response)


def test_a_renamed_unit_shows_at_once(client):
    world = ranked_world(3, closed=True)
    client.force_login(world.users["officer_a"])
    assert "Đơn vị A" in _page(client, world)
    unit = world.units["A"]
    unit.name = "Trường Quân sự Thủ đô"
    unit.save()
    table = _page(client, world)
    assert "Trường Quân sự Thủ đô" in table and "Đơn vị A<" not in table


def test_an_amendment_shows_its_snapshot_at_once(client):
    world = ranked_world(3, closed=True)
    client.force_login(world.users["officer_a"])
    before = _page(client, world)
    sheet = Sheet.objects.get(cluster_year=world.y6, unit=world.units["A"])
    criterion = Criterion.objects.get(criteria_set=world.criteria_set, code="1.1")
    services.amend_official_points(sheet=sheet, criterion=criterion, points="1", reason="Sửa sau hội nghị",
                                   by=world.users["command"], now=NOW)
    after = _page(client, world)
    assert after != before
    assert after == _table(client.get(reverse("scoring:ranking", args=[world.y6.pk])))


def test_readers_get_their_own_links(client):
    world = ranked_world(3, closed=True)
    member = world.y6.memberships.exclude(role="chair").select_related("unit").first().unit
    staff = world.users["staff_b"]
    RoleAssignment.objects.create(user=staff, role=RoleAssignment.Role.UNIT_STAFF, unit=member)
    client.force_login(world.users["officer_a"])
    managers = _page(client, world)
    assert managers.count("/sheet/") == 4  # every member's sheet
    client.force_login(staff)
    own = _page(client, world)
    assert own.count("/sheet/") == 1 and f"/units/{member.pk}/sheet/" in own
    client.force_login(world.users["officer_a"])
    assert _page(client, world) == managers


def test_each_language_has_its_table(client):
    world = ranked_world(3, closed=True)
    client.force_login(world.users["officer_a"])
    assert "<th>Hạng</th>" in _page(client, world)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "<th>Rank</th>" in _page(client, world)


def test_the_generation_changes_with_what_the_table_shows():
    world = ranked_world(3)
    first = ranking.frozen_generation()
    assert ranking.frozen_generation() == first
    world.units["B"].save()
    second = ranking.frozen_generation()
    assert second != first
    make_criteria_set(superior=world.superior, tree=big_tree(2), name="Bộ mới")  # a new set and its criteria
    assert ranking.frozen_generation() != second


def test_the_snapshots_list_follows_a_renamed_author(client):
    world = ranked_world(3, closed=True)
    command = world.users["command"]
    sheet = Sheet.objects.get(cluster_year=world.y6, unit=world.units["A"])
    criterion = Criterion.objects.get(criteria_set=world.criteria_set, code="1.1")
    services.amend_official_points(sheet=sheet, criterion=criterion, points="1", reason="Sửa sau hội nghị",
                                   by=command, now=NOW)
    client.force_login(world.users["officer_a"])
    before = client.get(reverse("scoring:ranking", args=[world.y6.pk])).content.decode()
    assert 'id="snapshots"' in before and "Trần Văn Chỉ huy" not in before
    command.first_name, command.last_name = "Trần Văn", "Chỉ huy"
    command.save()
    assert "Trần Văn Chỉ huy" in client.get(reverse("scoring:ranking", args=[world.y6.pk])).content.decode()


def test_a_login_keeps_the_cached_rankings(client):
    world = ranked_world(3, closed=True)
    generation = ranking.frozen_generation()
    client.post(reverse("login"), {"username": "command", "password": "x"})  # a failed login writes nothing
    client.force_login(world.users["command"])  # a login writes last_login only
    assert ranking.frozen_generation() == generation


def test_a_renamed_cluster_shows_at_once(client):
    world = ranked_world(3, closed=True)
    client.force_login(world.users["officer_a"])
    path = reverse("scoring:ranking", args=[world.y6.pk])
    assert "Cụm 6" in client.get(path).content.decode()
    world.c6.name = "Cụm Thi đua số 6"
    world.c6.save()
    page = client.get(path).content.decode()
    assert page.count("Cụm Thi đua số 6") >= 3 and "Cụm 6<" not in page  # title, breadcrumb, heading
