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

import itertools

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.signals import post_delete, post_save

from .models import Cluster, ClusterYear, Membership, RoleAssignment, Superior, Unit, User

R = RoleAssignment.Role

# The user's role assignments are read once per user object (one small query) and the
# visibility querysets filter on their ids as constants: nested role subqueries cost
# milliseconds of ORM compilation and planning on every page. A role saved or deleted in
# this process invalidates every memo (a request has its own user object, so other
# processes never hold one for longer than a request).
_generation = itertools.count(1)
_current = [next(_generation)]


def _roles_changed(**_kwargs) -> None:
    _current[0] = next(_generation)


post_save.connect(_roles_changed, sender=RoleAssignment, dispatch_uid="permissions-roles-saved")
post_delete.connect(_roles_changed, sender=RoleAssignment, dispatch_uid="permissions-roles-deleted")


def remember_roles(user: User, rows: list[tuple[str, int | None, int | None]]) -> None:
    """Give ``user`` its role rows read elsewhere (the cached signed-in user: clusters.backends)."""
    user._thidua_roles = (_current[0], rows)


def role_rows(user: User) -> list[tuple[str, int | None, int | None]]:
    """(role, unit id, superior id) of every assignment of ``user``, memoised on the user object."""
    memo = getattr(user, "_thidua_roles", None)
    if memo is None or memo[0] != _current[0]:
        rows = list(RoleAssignment.objects.filter(user_id=user.pk).values_list("role", "unit_id", "superior_id"))
        memo = (_current[0], rows)
        user._thidua_roles = memo
    return memo[1]


def is_administrator(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.is_staff


def superiors_commanded_by(user: User) -> QuerySet[Superior]:
    if not user.is_authenticated:
        return Superior.objects.none()
    if is_administrator(user):
        return Superior.objects.all()
    return Superior.objects.filter(pk__in=_commanded_ids(user))


def units_staffed_by(user: User) -> QuerySet[Unit]:
    """The units the user works for (unit staff or cluster officer)."""
    if not user.is_authenticated:
        return Unit.objects.none()
    return Unit.objects.filter(pk__in=_staff_unit_ids(user))


def unit_ids_staffed_by(user: User) -> list[int]:
    """The ids of ``units_staffed_by(user)``, without a query of their own."""
    return _staff_unit_ids(user) if user.is_authenticated else []


def _officer_unit_ids(user: User) -> list[int]:
    return sorted({unit for role, unit, _s in role_rows(user) if role == R.CLUSTER_OFFICER})


def _staff_unit_ids(user: User) -> list[int]:
    return sorted({unit for role, unit, _s in role_rows(user) if role in (R.UNIT_STAFF, R.CLUSTER_OFFICER)})


def _commanded_ids(user: User) -> list[int]:
    return sorted({superior for role, _u, superior in role_rows(user) if role == R.COMMAND_OFFICER})


def _visible_clusters_q(user: User, prefix: str = "") -> Q | None:
    """Commanded superiors' clusters, or clusters a staffed unit has been a member of; None: no cluster."""
    commanded, staffed = _commanded_ids(user), _staff_unit_ids(user)
    q = Q()
    if commanded:
        q |= Q(**{f"{prefix}superior_id__in": commanded})
    if staffed:
        member_of = Membership.objects.filter(unit_id__in=staffed).values("cluster_year__cluster_id")
        q |= Q(**{f"{prefix}pk__in" if not prefix else f"{prefix}id__in": member_of})
    return q if q else None


def clusters_visible_to(user: User) -> QuerySet[Cluster]:
    if not user.is_authenticated:
        return Cluster.objects.none()
    if is_administrator(user):
        return Cluster.objects.all()
    q = _visible_clusters_q(user)
    return Cluster.objects.filter(q) if q is not None else Cluster.objects.none()


def cluster_years_visible_to(user: User) -> QuerySet[ClusterYear]:
    if not user.is_authenticated:
        return ClusterYear.objects.none()
    if is_administrator(user):
        return ClusterYear.objects.all()
    q = _visible_clusters_q(user, prefix="cluster__")
    return ClusterYear.objects.filter(q) if q is not None else ClusterYear.objects.none()


def units_visible_to(user: User) -> QuerySet[Unit]:
    """A unit's page: its own staff, the command over it, and the officers of a cluster year it chaired."""
    if not user.is_authenticated:
        return Unit.objects.none()
    if is_administrator(user):
        return Unit.objects.all()
    q = Q(pk__in=_staff_unit_ids(user)) | Q(superior_id__in=_commanded_ids(user))
    officer_of = _officer_unit_ids(user)
    if officer_of:
        chaired_by_mine = Membership.objects.filter(role=Membership.Role.CHAIR, unit_id__in=officer_of).values(
            "cluster_year_id"
        )
        q |= Exists(Membership.objects.filter(unit_id=OuterRef("pk"), cluster_year_id__in=chaired_by_mine))
    return Unit.objects.filter(q)


def is_command_officer_for(user: User, superior_id: int) -> bool:
    return is_administrator(user) or (user.is_authenticated and superior_id in _commanded_ids(user))


def is_cluster_officer_of(user: User, cluster_year: ClusterYear) -> bool:
    """True for the officers of the unit that chairs this cluster year."""
    if not user.is_authenticated:
        return False
    officer_of = _officer_unit_ids(user)
    return bool(officer_of) and Membership.objects.filter(
        cluster_year=cluster_year, role=Membership.Role.CHAIR, unit_id__in=officer_of
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
    if is_administrator(user):
        return Superior.objects.exists()
    return user.is_authenticated and bool(_commanded_ids(user))
