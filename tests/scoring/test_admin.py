"""Criteria sets in the admin: the tree, the scale warning, cloning, locking; a cluster year given its set."""

from decimal import Decimal as D

import pytest
from django.urls import reverse

from clusters.models import ClusterYear
from scoring.models import ClusterYearSet, CriteriaSet, Criterion, ResultSnapshot
from tests.clusters.test_admin import year_form
from tests.factories import attach, make_criteria_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, world):
    client.force_login(world.users["admin"])
    return client


def set_form(world, rows, **fields):
    data = {
        "superior": world.superior.pk, "year": 2025, "name": "Bộ tiêu chí 2025", "scale": "100",
        "bonus_cap": "10", "deduction_cap": "10",
        "criteria-TOTAL_FORMS": len(rows), "criteria-INITIAL_FORMS": 0,
        "cluster_years-TOTAL_FORMS": 0, "cluster_years-INITIAL_FORMS": 0, **fields,
    }
    for i, (code, kind, maximum) in enumerate(rows):
        data.update({f"criteria-{i}-code": code, f"criteria-{i}-title": f"Tiêu chí {code}",
                     f"criteria-{i}-kind": kind, f"criteria-{i}-max_points": maximum or ""})
    return data


def test_admin_creates_a_set_and_the_tree_follows_the_codes(admin_client_, world):
    rows = [("2", "group", None), ("2.10", "standard", "30"), ("2.9", "standard", "30"), ("1", "group", None),
            ("1.1", "standard", "40")]
    response = admin_client_.post(reverse("admin:scoring_criteriaset_add"), set_form(world, rows))
    assert response.status_code == 302
    criteria = Criterion.objects.filter(criteria_set__name="Bộ tiêu chí 2025")
    assert [(c.code, c.parent.code if c.parent else None) for c in criteria] == [
        ("1", None), ("1.1", "1"), ("2", None), ("2.9", "2"), ("2.10", "2")
    ]


def test_admin_warns_when_the_standard_maxima_differ_from_the_scale(admin_client_, world):
    rows = [("1", "group", None), ("1.1", "standard", "40")]
    response = admin_client_.post(reverse("admin:scoring_criteriaset_add"), set_form(world, rows), follow=True)
    assert "Tổng điểm tối đa của các tiêu chí chuẩn là 40, khác thang điểm đã khai báo 100." in response.content.decode()


def test_admin_refuses_a_broken_tree_and_writes_nothing(admin_client_, world):
    rows = [("1", "group", None), ("2.1", "standard", "40"), ("3", "standard", None)]
    response = admin_client_.post(reverse("admin:scoring_criteriaset_add"), set_form(world, rows))
    html = response.content.decode()
    assert "2.1 không có mục cha 2 trong bộ tiêu chí." in html
    assert "Nhóm 1 chưa có tiêu chí nào." in html
    assert "Nhóm không có điểm tối đa; mọi tiêu chí khác phải có điểm tối đa lớn hơn 0." in html
    assert not CriteriaSet.objects.exists()


def test_admin_locked_set_is_read_only(admin_client_, world):
    criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="scoring")
    url = reverse("admin:scoring_criteriaset_change", args=[criteria_set.pk])
    assert admin_client_.get(url).status_code == 200
    assert admin_client_.post(url, set_form(world, [("1", "group", None)], name="Đổi")).status_code == 403
    assert CriteriaSet.objects.get().name == "Bộ tiêu chí thi đua"


def test_admin_clone_action(admin_client_, world):
    criteria_set = make_criteria_set(superior=world.superior)
    admin_client_.post(reverse("admin:scoring_criteriaset_changelist"),
                       {"action": "clone_to_next_year", "_selected_action": [criteria_set.pk]})
    clone = CriteriaSet.objects.get(year=2025)
    assert clone.criteria.count() == criteria_set.criteria.count()
    assert (clone.cloned_from, clone.bonus_cap) == (criteria_set, D("10"))


def test_admin_gives_a_new_cluster_year_its_set(admin_client_, world):
    criteria_set = make_criteria_set(superior=world.superior, year=2025)
    data = year_form(world, 2025, [("D", "member"), ("E", "chair")])
    data.update({"criteria_link-TOTAL_FORMS": 1, "criteria_link-0-criteria_set": criteria_set.pk})
    assert admin_client_.post(reverse("admin:clusters_clusteryear_add"), data).status_code == 302
    assert ClusterYearSet.objects.get(cluster_year__year=2025).criteria_set == criteria_set


def test_admin_refuses_a_set_of_another_superior(admin_client_, world):
    other = make_criteria_set(superior=world.superior2, year=2025)
    data = year_form(world, 2025, [("D", "member"), ("E", "chair")])
    data.update({"criteria_link-TOTAL_FORMS": 1, "criteria_link-0-criteria_set": other.pk})
    response = admin_client_.post(reverse("admin:clusters_clusteryear_add"), data)
    assert "Bộ tiêu chí thuộc cơ quan cấp trên khác." in response.content.decode()
    assert not ClusterYear.objects.filter(year=2025).exists()


def test_admin_open_next_year_action_carries_the_set(admin_client_, world):
    criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y7, criteria_set)
    admin_client_.post(reverse("admin:clusters_clusteryear_changelist"),
                       {"action": "open_next_year", "_selected_action": [world.y7.pk]})
    link = ClusterYearSet.objects.get(cluster_year__cluster=world.c7, cluster_year__year=2025)
    assert link.criteria_set.cloned_from == criteria_set


def test_admin_sheet_list_is_read_only(admin_client_, world):
    assert admin_client_.get(reverse("admin:scoring_sheet_changelist")).status_code == 200
    assert admin_client_.get(reverse("admin:scoring_sheet_add")).status_code == 403


def approved_year(world):
    from tests.scoring.test_ranking import approved

    criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="review")
    world.criteria_set = criteria_set
    for name, total in (("A", "40"), ("B", "30")):
        approved(world, world.units[name], {"1.1": total})
    return world


def test_admin_provisional_tally_action(admin_client_, world):
    approved_year(world)
    response = admin_client_.post(reverse("admin:clusters_clusteryear_changelist"),
                                  {"action": "provisional_tally", "_selected_action": [world.y6.pk]}, follow=True)
    assert "Cụm 6 – 2024: dẫn đầu tạm thời Đơn vị A (40); 2 phiếu đã duyệt, 1 thành viên chưa xong." in response.content.decode()


def test_admin_close_scoring_asks_then_reports_each_year(admin_client_, world):
    from tests.scoring.test_ranking import approved

    approved_year(world)
    approved(world, world.units["C"], {"1.1": "20"})
    url = reverse("admin:clusters_clusteryear_changelist")
    selected = {"action": "close_scoring", "_selected_action": [world.y6.pk, world.y7.pk]}
    confirm = admin_client_.post(url, selected)
    html = confirm.content.decode()
    assert confirm.status_code == 200 and "Đơn vị A" in html and 'name="confirm" value="yes"' in html
    assert not ResultSnapshot.objects.exists()
    response = admin_client_.post(url, {**selected, "confirm": "yes"}, follow=True)
    html = response.content.decode()
    snapshot = ResultSnapshot.objects.get()
    assert f"Cụm 6 – 2024: đã khóa sổ chấm điểm, kết quả đã chốt (mã kiểm tra {snapshot.checksum[:12]})." in html
    assert "Cụm 7 – 2024: Chỉ khóa sổ chấm điểm trong giai đoạn tự chấm điểm hoặc thẩm định (hiện là: Lập kế hoạch)." in html
