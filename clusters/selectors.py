"""
Reads for units, clusters and cluster years. Each selector returns rows with
everything the page shows in a fixed number of queries, whatever the number of
clusters, years or members (the list pages pin those counts in tests).

Members are listed chair first, then vice chair, then the others by name.
"""

from django.db.models import Case, Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value, When

from .models import Cluster, ClusterYear, Membership, Superior, Unit

ROLE_ORDER = Case(
    When(role=Membership.Role.CHAIR, then=Value(0)),
    When(role=Membership.Role.VICE_CHAIR, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def members_ordered() -> QuerySet[Membership]:
    return Membership.objects.select_related("unit").annotate(role_order=ROLE_ORDER).order_by("role_order", "unit__name")


def annotate_chairs(qs: QuerySet[ClusterYear]) -> QuerySet[ClusterYear]:
    """Add ``chair_name``, ``chair_id``, ``vice_chair_name`` and ``member_count`` to cluster years."""

    def role_of(role: str, field: str) -> Subquery:
        return Subquery(
            Membership.objects.filter(cluster_year=OuterRef("pk"), role=role).values(field)[:1]
        )

    members = (
        Membership.objects.filter(cluster_year=OuterRef("pk"))
        .order_by()
        .values("cluster_year")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.annotate(
        chair_name=role_of(Membership.Role.CHAIR, "unit__name"),
        chair_id=role_of(Membership.Role.CHAIR, "unit_id"),
        vice_chair_name=role_of(Membership.Role.VICE_CHAIR, "unit__name"),
        member_count=Subquery(members, output_field=IntegerField()),
    )


def years_of_superior(superior: Superior) -> list[int]:
    return list(
        ClusterYear.objects.filter(cluster__superior=superior)
        .order_by("-year")
        .values_list("year", flat=True)
        .distinct()
    )


def overview_clusters(*, superior: Superior, year: int) -> QuerySet[Cluster]:
    """Every cluster of the superior with ``selected_years`` (0 or 1 cluster year of ``year``) and its members."""
    years = ClusterYear.objects.filter(year=year).prefetch_related(
        Prefetch("memberships", queryset=members_ordered(), to_attr="members")
    )
    return (
        Cluster.objects.filter(superior=superior)
        .order_by("name")
        .prefetch_related(Prefetch("years", queryset=years, to_attr="selected_years"))
    )


def chair_history(cluster: Cluster) -> QuerySet[ClusterYear]:
    """The cluster's years, newest first, each with its chair, vice chair and basis."""
    return annotate_chairs(ClusterYear.objects.filter(cluster=cluster)).order_by("-year")


def cluster_year_members(cluster_year: ClusterYear) -> QuerySet[Membership]:
    return members_ordered().filter(cluster_year=cluster_year)


def unit_memberships(unit: Unit) -> QuerySet[Membership]:
    """The unit's cluster years, newest first, with the cluster, phase and chair of each."""
    chair_name = Subquery(
        Membership.objects.filter(cluster_year=OuterRef("cluster_year"), role=Membership.Role.CHAIR).values(
            "unit__name"
        )[:1]
    )
    return (
        Membership.objects.filter(unit=unit)
        .select_related("cluster_year__cluster__superior")
        .annotate(chair_name=chair_name)
        .order_by("-cluster_year__year", "cluster_year__cluster__name")
    )


def is_number(value: str) -> bool:
    """
    Whether a query parameter is an id or a year: a short run of ASCII digits. str.isdigit()
    also takes "²" (which int() refuses) and "١" (read as 1), and int() refuses more than 4300 digits.
    """
    return value.isascii() and value.isdigit() and len(value) <= 18
