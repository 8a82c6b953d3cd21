import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clusters import services
from clusters.models import ClusterYear, Membership, PhaseChange
from tests.factories import ClusterFactory, UnitFactory

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2025, 1, 15, 8, 0))


def roles_of(cluster_year):
    return sorted((m.unit.name, m.role) for m in cluster_year.memberships.select_related("unit"))


def test_create_cluster_year_sets_members_chair_and_vice_chair(world):
    e, d = world.units["E"], world.units["D"]
    cy = services.create_cluster_year(cluster=world.c7, year=2025, members=[d, e], chair=e, vice_chair=d, by=None)
    assert (cy.year, cy.phase) == (2025, ClusterYear.Phase.PLANNING)
    assert roles_of(cy) == [("Đơn vị D", "vice_chair"), ("Đơn vị E", "chair")]


def test_create_cluster_year_refuses_chair_not_member(world):
    with pytest.raises(ValidationError) as error:
        services.create_cluster_year(
            cluster=world.c7, year=2025, members=[world.units["D"]], chair=world.units["E"], by=None
        )
    assert error.value.message_dict == {"chair": ["Cụm trưởng phải là thành viên của cụm trong năm đó."]}
    assert not ClusterYear.objects.filter(year=2025).exists()


def test_create_cluster_year_refuses_vice_chair_equal_to_chair(world):
    d = world.units["D"]
    with pytest.raises(ValidationError) as error:
        services.create_cluster_year(cluster=world.c7, year=2025, members=[d], chair=d, vice_chair=d, by=None)
    assert error.value.message_dict == {"vice_chair": ["Cụm trưởng và Cụm phó phải là hai đơn vị khác nhau."]}


def test_create_cluster_year_refuses_unit_of_another_cluster_and_writes_nothing(world):
    with pytest.raises(ValidationError) as error:
        services.create_cluster_year(
            cluster=ClusterFactory(superior=world.superior, name="Cụm 8"),
            year=2024,
            members=[world.units["D"], world.units["A"]],
            chair=world.units["A"],
            by=None,
        )
    assert error.value.message_dict == {"unit": ["Đơn vị D đã thuộc Cụm 7 trong năm 2024."]}
    assert not ClusterYear.objects.filter(cluster__name="Cụm 8").exists()


def test_advance_phase_walks_forward_and_records_who_when_why(world):
    officer = world.users["officer_a"]
    cy = world.y6
    seen = []
    for _ in range(4):
        cy = services.advance_phase(cluster_year=cy, by=officer, now=NOW, reason="Theo kế hoạch", through_flow=True)
        seen.append(cy.phase)
    assert seen == ["scoring", "review", "conference", "closed"]
    assert list(PhaseChange.objects.values_list("from_phase", "to_phase", "changed_by__username", "reason")) == [
        ("planning", "scoring", "officer_a", "Theo kế hoạch"),
        ("scoring", "review", "officer_a", "Theo kế hoạch"),
        ("review", "conference", "officer_a", "Theo kế hoạch"),
        ("conference", "closed", "officer_a", "Theo kế hoạch"),
    ]
    assert cy.history.first().history_user == officer


@pytest.mark.parametrize(
    ("phase", "message"),
    [
        ("review", "Hội nghị chỉ bắt đầu khi khóa sổ chấm điểm, lúc đó kết quả được chốt."),
        ("conference", "Năm thi đua kết thúc khi hoàn tất hội nghị."),
    ],
)
def test_advance_phase_leaves_conference_and_closing_to_their_flows(world, phase, message):
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase=phase)
    with pytest.raises(ValidationError) as error:
        services.advance_phase(cluster_year=world.y6, by=world.users["admin"], now=NOW)
    assert error.value.messages == [message]
    world.y6.refresh_from_db()
    assert (world.y6.phase, PhaseChange.objects.count()) == (phase, 0)


def test_advance_phase_refuses_closed_year(world):
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase=ClusterYear.Phase.CLOSED)
    with pytest.raises(ValidationError) as error:
        services.advance_phase(cluster_year=world.y6, by=world.users["admin"], now=NOW)
    assert error.value.messages == ["Năm đã kết thúc không còn giai đoạn tiếp theo."]
    assert PhaseChange.objects.count() == 0


def test_advance_phase_refuses_when_phase_moved_meanwhile(world):
    services.advance_phase(cluster_year=world.y6, by=world.users["command"], now=NOW, expected_phase="planning")
    with pytest.raises(ValidationError) as error:
        services.advance_phase(cluster_year=world.y6, by=world.users["officer_a"], now=NOW, expected_phase="planning")
    assert error.value.messages == ["Giai đoạn vừa được người khác thay đổi (hiện là: Tự chấm điểm); hãy tải lại trang."]
    world.y6.refresh_from_db()
    assert world.y6.phase == "scoring"


def test_add_member_refuses_closed_year(world):
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase=ClusterYear.Phase.CLOSED)
    with pytest.raises(ValidationError) as error:
        services.add_member(cluster_year=world.y6, unit=UnitFactory(superior=world.superior), by=None)
    assert error.value.messages == ["Năm thi đua này đã kết thúc, không thể thay đổi."]


def test_add_member_refuses_unit_already_in_another_cluster(world):
    with pytest.raises(ValidationError) as error:
        services.add_member(cluster_year=world.y6, unit=world.units["E"], by=None)
    assert error.value.message_dict == {"unit": ["Đơn vị E đã thuộc Cụm 7 trong năm 2024."]}


def test_set_chair_moves_roles_among_members(world):
    cy = services.set_chair(
        cluster_year=world.y6,
        chair=world.units["C"],
        vice_chair=world.units["A"],
        chair_basis=ClusterYear.ChairBasis.DECISION,
        decision_number="231/QĐ-BTL",
        decision_date=datetime.date(2024, 2, 1),
        by=world.users["command"],
        reason="Quyết định của Bộ Tư lệnh",
    )
    assert roles_of(cy) == [("Đơn vị A", "vice_chair"), ("Đơn vị B", "member"), ("Đơn vị C", "chair")]
    assert (cy.chair_basis, cy.decision_number) == ("decision", "231/QĐ-BTL")
    changed = Membership.history.filter(history_type="~").order_by("history_id")
    assert [(h.unit.name, h.role, h.history_user.username, h.history_change_reason) for h in changed] == [
        ("Đơn vị A", "member", "command", "Quyết định của Bộ Tư lệnh"),
        ("Đơn vị B", "member", "command", "Quyết định của Bộ Tư lệnh"),
        ("Đơn vị A", "vice_chair", "command", "Quyết định của Bộ Tư lệnh"),
        ("Đơn vị C", "chair", "command", "Quyết định của Bộ Tư lệnh"),
    ]


def test_set_chair_refuses_non_member(world):
    with pytest.raises(ValidationError) as error:
        services.set_chair(
            cluster_year=world.y6, chair=world.units["D"], vice_chair=None, chair_basis="rotation", by=None
        )
    assert error.value.message_dict == {"chair": ["Cụm trưởng phải là thành viên của cụm trong năm đó."]}
    assert roles_of(world.y6)[0] == ("Đơn vị A", "chair")


def test_open_next_year_copies_members_with_the_new_chair(world):
    cy = services.open_next_year(
        cluster_year=world.y6,
        chair=world.units["C"],
        vice_chair=world.units["A"],
        handover_date=datetime.date(2024, 11, 1),
        by=world.users["admin"],
    )
    assert (cy.cluster, cy.year, cy.phase, cy.handover_date) == (world.c6, 2025, "planning", datetime.date(2024, 11, 1))
    assert roles_of(cy) == [("Đơn vị A", "vice_chair"), ("Đơn vị B", "member"), ("Đơn vị C", "chair")]


def test_open_next_year_refuses_existing_year(world):
    services.open_next_year(cluster_year=world.y6, chair=world.units["A"], by=None)
    with pytest.raises(ValidationError) as error:
        services.open_next_year(cluster_year=world.y6, chair=world.units["A"], by=None)
    assert error.value.messages == ["Cụm đã có dữ liệu của năm 2025."]
    assert Membership.objects.filter(year=2025).count() == 3


def test_set_deadlines_records_who_and_why(world):
    cy = services.set_deadlines(
        cluster_year=world.y6, self_assessment_due=datetime.date(2024, 10, 15), review_due=datetime.date(2024, 10, 25),
        by=world.users["command"], reason="Theo kế hoạch của Bộ Tư lệnh",
    )
    latest = cy.history.first()
    assert (latest.self_assessment_due, latest.history_user, latest.history_change_reason) == (
        datetime.date(2024, 10, 15), world.users["command"], "Theo kế hoạch của Bộ Tư lệnh"
    )


def test_set_deadlines_refuses_review_before_self_assessment(world):
    with pytest.raises(ValidationError) as error:
        services.set_deadlines(cluster_year=world.y6, self_assessment_due=datetime.date(2024, 10, 15),
                               review_due=datetime.date(2024, 10, 1), by=None)
    assert error.value.messages == ["Hạn thẩm định không được trước hạn tự chấm điểm."]


def test_advance_phase_keeps_a_long_reason(world):
    reason = "Bắt đầu tự chấm điểm theo kế hoạch của cụm; " * 10
    cy = services.advance_phase(cluster_year=world.y6, by=world.users["command"], now=NOW, reason=reason)
    assert cy.history.first().history_change_reason == reason
    assert PhaseChange.objects.get().reason == reason
