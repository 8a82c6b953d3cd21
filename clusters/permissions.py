"""
Who may see and do what, as plain predicates paired with querysets (the Wagtail
pattern): a view fetches through a ``*_visible_to`` queryset, so a missing and a
hidden object both answer 404, then checks an action predicate (403).

Roles (``RoleAssignment``):
- administrator: a Django staff user; sees everything;
- command officer of a superior: every cluster, year and unit of that superior;
- cluster officer of a unit: the clusters that unit is a member of, and runs a
  cluster year while the unit chairs it (the role moves with the chair);
- unit staff: their unit and the clusters it is a member of (read only).
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Cluster, ClusterYear, Membership, RoleAssignment, Superior, Unit, User

R = RoleAssignment.Role


def is_administrator(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff


def superiors_commanded_by(user: User) -> QuerySet[Superior]:
    if not user.is_authenticated:
        return Superior.objects.none()
    if is_administrator(user):
        return Superior.objects.all()
    return Superior.objects.filter(officers__user=user, officers__role=R.COMMAND_OFFICER)


def units_staffed_by(user: User) -> QuerySet[Unit]:
    """The units the user works for (unit staff or cluster officer)."""
    if not user.is_authenticated:
        return Unit.objects.none()
    return Unit.objects.filter(staff__user=user, staff__role__in=[R.UNIT_STAFF, R.CLUSTER_OFFICER]).distinct()


def _officer_unit_ids(user: User) -> QuerySet:
    return RoleAssignment.objects.filter(user=user, role=R.CLUSTER_OFFICER).values("unit_id")


def _staff_unit_ids(user: User) -> QuerySet:
    return RoleAssignment.objects.filter(user=user, role__in=[R.UNIT_STAFF, R.CLUSTER_OFFICER]).values("unit_id")


def _commanded_ids(user: User) -> QuerySet:
    return RoleAssignment.objects.filter(user=user, role=R.COMMAND_OFFICER).values("superior_id")


def clusters_visible_to(user: User) -> QuerySet[Cluster]:
    if not user.is_authenticated:
        return Cluster.objects.none()
    if is_administrator(user):
        return Cluster.objects.all()
    is_member = Exists(
        Membership.objects.filter(cluster_year__cluster=OuterRef("pk"), unit_id__in=_staff_unit_ids(user))
    )
    return Cluster.objects.filter(Q(superior_id__in=_commanded_ids(user)) | is_member)


def cluster_years_visible_to(user: User) -> QuerySet[ClusterYear]:
    if not user.is_authenticated:
        return ClusterYear.objects.none()
    if is_administrator(user):
        return ClusterYear.objects.all()
    return ClusterYear.objects.filter(cluster__in=clusters_visible_to(user))


def units_visible_to(user: User) -> QuerySet[Unit]:
    """A unit's page: its own staff, the command over it, and the officers of a cluster year it chaired."""
    if not user.is_authenticated:
        return Unit.objects.none()
    if is_administrator(user):
        return Unit.objects.all()
    chaired_by_mine = Membership.objects.filter(
        role=Membership.Role.CHAIR, unit_id__in=_officer_unit_ids(user)
    ).values("cluster_year_id")
    in_chaired_year = Exists(
        Membership.objects.filter(unit_id=OuterRef("pk"), cluster_year_id__in=chaired_by_mine)
    )
    return Unit.objects.filter(
        Q(pk__in=_staff_unit_ids(user)) | Q(superior_id__in=_commanded_ids(user)) | in_chaired_year
    )


def is_command_officer_for(user: User, superior_id: int) -> bool:
    return is_administrator(user) or _commanded_ids(user).filter(superior_id=superior_id).exists()


def is_cluster_officer_of(user: User, cluster_year: ClusterYear) -> bool:
    """True for the officers of the unit that chairs this cluster year."""
    if not user.is_authenticated:
        return False
    return Membership.objects.filter(
        cluster_year=cluster_year, role=Membership.Role.CHAIR, unit_id__in=_officer_unit_ids(user)
    ).exists()


def manages_cluster_year(user: User, cluster_year: ClusterYear) -> bool:
    """The command officers of the superior and the officers of the year's chair."""
    return is_command_officer_for(user, cluster_year.cluster.superior_id) or is_cluster_officer_of(
        user, cluster_year
    )


def can_advance_phase(user: User, cluster_year: ClusterYear, *, manages: bool | None = None) -> bool:
    """Planning → self-assessment → review by hand; later phases have their own flows."""
    if cluster_year.phase not in (ClusterYear.Phase.PLANNING, ClusterYear.Phase.SCORING):
        return False
    return manages if manages is not None else manages_cluster_year(user, cluster_year)


def can_see_overview(user: User) -> bool:
    return superiors_commanded_by(user).exists()
