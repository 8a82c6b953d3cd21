"""factory_boy factories: plain defaults, nothing surprising (a unit is a military unit, a year is 2024)."""

import factory

from clusters.models import Cluster, ClusterYear, Membership, RoleAssignment, Superior, Unit, User

DEFAULT_PASSWORD = "test-pass-123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SuperiorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Superior

    name = factory.Sequence(lambda n: f"Bộ Chỉ huy {n}")


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    name = factory.Sequence(lambda n: f"Đơn vị {n}")
    superior = factory.SubFactory(SuperiorFactory)


class ClusterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cluster

    name = factory.Sequence(lambda n: f"Cụm Thi đua số {n}")
    superior = factory.SubFactory(SuperiorFactory)


class ClusterYearFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClusterYear

    cluster = factory.SubFactory(ClusterFactory)
    year = 2024


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    cluster_year = factory.SubFactory(ClusterYearFactory)
    unit = factory.SubFactory(UnitFactory, superior=factory.SelfAttribute("..cluster_year.cluster.superior"))


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    role = RoleAssignment.Role.UNIT_STAFF


# --- scoring ---

from decimal import Decimal  # noqa: E402

from scoring.models import ClusterYearSet, CriteriaSet, Criterion  # noqa: E402
from scoring.services import rebuild_tree  # noqa: E402


class CriteriaSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CriteriaSet

    superior = factory.SubFactory(SuperiorFactory)
    year = 2024
    name = "Bộ tiêu chí thi đua"


# (code, kind, max, evidence_required): groups 1 and 2 (standard, 60 + 40 = 100), 3 bonus, 4 deductions.
SMALL_TREE = [
    ("1", "group", None, False),
    ("1.1", "standard", "40", False),
    ("1.2", "standard", "20", True),
    ("2", "group", None, False),
    ("2.1", "standard", "40", False),
    ("3", "group", None, False),
    ("3.1", "bonus", "8", False),
    ("3.2", "bonus", "8", False),
    ("4", "group", None, False),
    ("4.1", "deduction", "10", False),
    ("4.2", "deduction", "10", False),
]


def make_criteria_set(*, superior, year=2024, tree=SMALL_TREE, bonus_cap="10", deduction_cap="15", name=None) -> CriteriaSet:
    """A criteria set with the tree given as (code, kind, max, evidence_required) rows."""
    criteria_set = CriteriaSetFactory(
        superior=superior, year=year, bonus_cap=Decimal(bonus_cap), deduction_cap=Decimal(deduction_cap),
        **({"name": name} if name else {}),
    )
    for code, kind, maximum, evidence in tree:
        Criterion.objects.create(
            criteria_set=criteria_set,
            code=code,
            title=f"Tiêu chí {code}",
            kind=kind,
            max_points=Decimal(maximum) if maximum else None,
            evidence_required=evidence,
        )
    rebuild_tree(criteria_set)
    return criteria_set


def big_tree(leaves: int) -> list[tuple]:
    """A tree of ``leaves`` standard criteria in groups of 10 (for query-count tests)."""
    rows = []
    for g in range((leaves + 9) // 10):
        rows.append((str(g + 1), "group", None, False))
        for i in range(min(10, leaves - g * 10)):
            rows.append((f"{g + 1}.{i + 1}", "standard", "1", False))
    return rows


def attach(cluster_year, criteria_set) -> None:
    ClusterYearSet.objects.update_or_create(cluster_year=cluster_year, defaults={"criteria_set": criteria_set})
