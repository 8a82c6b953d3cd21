import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clusters.models import ClusterYear, Membership
from tests.factories import ClusterFactory, ClusterYearFactory, MembershipFactory, UnitFactory

pytestmark = pytest.mark.django_db


def constraint_of(error: IntegrityError, name: str) -> bool:
    # PostgreSQL names the constraint; SQLite names the columns or the check.
    text = str(error)
    return name in text or "UNIQUE constraint failed" in text or "CHECK constraint failed" in text


def test_membership_unit_in_two_clusters_of_one_superior_same_year_refused_by_database(world):
    other = ClusterYearFactory(cluster=world.c7, year=2025)
    MembershipFactory(cluster_year=other, unit=world.units["A"])
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        Membership.objects.create(cluster_year=world.y7, unit=world.units["A"])
    assert constraint_of(error.value, "clusters_membership_one_cluster_per_superior_year")


def test_membership_same_unit_in_clusters_of_two_superiors_allowed(world):
    MembershipFactory(cluster_year=world.y9, unit=world.units["C"])
    assert Membership.objects.filter(unit=world.units["C"], year=2024).count() == 2


def test_membership_copies_superior_and_year_of_its_cluster_year(world):
    membership = Membership.objects.get(unit=world.units["B"])
    assert (membership.superior, membership.year) == (world.superior, 2024)


def test_membership_clean_names_the_other_cluster(world):
    membership = Membership(cluster_year=ClusterYearFactory(cluster=world.c7, year=2025), unit=world.units["A"])
    membership.full_clean()  # 2025: no clash
    clash = Membership(cluster_year=world.y7, unit=world.units["A"])
    with pytest.raises(ValidationError) as error:
        clash.full_clean()
    assert error.value.message_dict == {"unit": ["Đơn vị A đã thuộc Cụm 6 trong năm 2024."]}


def test_membership_second_chair_refused_by_database(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(cluster_year=world.y6, unit=world.units["C"]).update(role=Membership.Role.CHAIR)


def test_membership_second_vice_chair_refused_by_database(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(cluster_year=world.y6, unit=world.units["C"]).update(
            role=Membership.Role.VICE_CHAIR
        )


def test_membership_unit_twice_in_one_cluster_year_refused(world):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(cluster_year=world.y6, unit=world.units["A"])


def test_membership_clean_refuses_closed_year(world):
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase=ClusterYear.Phase.CLOSED)
    world.y6.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        Membership(cluster_year=world.y6, unit=UnitFactory(superior=world.superior)).full_clean()
    assert error.value.messages == ["Năm thi đua này đã kết thúc, không thể thay đổi."]


def test_cluster_year_unique_per_cluster_and_year(db):
    cy = ClusterYearFactory(year=2024)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClusterYear.objects.create(cluster=cy.cluster, year=2024)


@pytest.mark.parametrize("year", [1999, 2101])
def test_cluster_year_year_out_of_range_refused_by_database(db, year):
    with pytest.raises(IntegrityError), transaction.atomic():
        ClusterYear.objects.create(cluster=ClusterFactory(), year=year)


def test_cluster_year_decision_basis_needs_number_and_date(db):
    cy = ClusterYear(cluster=ClusterFactory(), year=2025, chair_basis=ClusterYear.ChairBasis.DECISION)
    with pytest.raises(ValidationError) as error:
        cy.full_clean()
    assert error.value.messages == ["Cụm trưởng do cấp trên quyết định phải có số và ngày quyết định."]
    with pytest.raises(IntegrityError), transaction.atomic():
        cy.save()


def test_cluster_year_review_due_not_before_self_assessment_due(db):
    import datetime

    cy = ClusterYear(
        cluster=ClusterFactory(),
        year=2025,
        self_assessment_due=datetime.date(2025, 10, 15),
        review_due=datetime.date(2025, 10, 1),
    )
    with pytest.raises(ValidationError) as error:
        cy.full_clean()
    assert error.value.messages == ["Hạn thẩm định không được trước hạn tự chấm điểm."]


@pytest.mark.parametrize(
    ("phase", "expected"),
    [("planning", "scoring"), ("scoring", "review"), ("review", "conference"), ("conference", "closed"), ("closed", None)],
)
def test_cluster_year_next_phase(phase, expected):
    assert ClusterYear(phase=phase).next_phase == expected
