"""
Who may see, fill and review a unit's score sheet.

- see: the unit's own staff, the cluster officers of the year's chair, the
  command officers of the superior, administrators;
- fill: the unit's own staff (while the sheet is open, see services);
- review: the cluster officers of the year's chair and the command officers,
  except that nobody reviews their own unit, and the chair unit's own sheet is
  reviewed by a command officer only (conflict rule).

Other units' sheets answer 404, like anything hidden.
"""

from clusters.models import ClusterYear, Membership, Unit, User
from clusters.permissions import (
    is_cluster_officer_of,
    is_command_officer_for,
    manages_cluster_year,
    unit_ids_staffed_by,
)


def staffs_unit(user: User, unit: Unit) -> bool:
    """``unit`` is in ``units_staffed_by(user)``; from the user's roles, read once per request."""
    return unit.pk in unit_ids_staffed_by(user)


def can_view_sheet(user: User, cluster_year: ClusterYear, unit: Unit) -> bool:
    if not user.is_authenticated:
        return False
    return (
        staffs_unit(user, unit)  # no query: first
        or is_command_officer_for(user, cluster_year.cluster.superior_id)
        or is_cluster_officer_of(user, cluster_year)
    )


def can_fill_sheet(user: User, unit: Unit) -> bool:
    return user.is_authenticated and staffs_unit(user, unit)


def can_review(user: User, cluster_year: ClusterYear, unit: Unit) -> bool:
    if not user.is_authenticated or staffs_unit(user, unit):
        return False
    if is_command_officer_for(user, cluster_year.cluster.superior_id):
        return True
    is_chair_unit = Membership.objects.filter(
        cluster_year=cluster_year, unit=unit, role=Membership.Role.CHAIR
    ).exists()
    return not is_chair_unit and is_cluster_officer_of(user, cluster_year)


def can_list_sheets(user: User, cluster_year: ClusterYear) -> bool:
    """The review list of a cluster year: its reviewers."""
    return manages_cluster_year(user, cluster_year)


def can_see_ranking(user: User, cluster_year: ClusterYear, *, is_final: bool, manages: bool | None = None) -> bool:
    """Frozen results: everyone who sees the cluster year. Provisional ones: its managers only."""
    if is_final:
        return user.is_authenticated
    return manages if manages is not None else manages_cluster_year(user, cluster_year)


def can_close_scoring(user: User, cluster_year: ClusterYear, *, manages: bool | None = None) -> bool:
    if cluster_year.phase not in (ClusterYear.Phase.SCORING, ClusterYear.Phase.REVIEW):
        return False
    return manages if manages is not None else manages_cluster_year(user, cluster_year)


def can_amend(user: User, cluster_year: ClusterYear, unit: Unit) -> bool:
    """Corrections after closing: the sheet's reviewers (conflict rule included)."""
    if cluster_year.phase not in (ClusterYear.Phase.CONFERENCE, ClusterYear.Phase.CLOSED):
        return False
    return can_review(user, cluster_year, unit)
