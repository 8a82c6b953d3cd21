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
