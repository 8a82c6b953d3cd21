"""
Who takes part in the conference.

- runs it (prepares and closes the vote, sees turnout, enters paper tallies,
  finishes the conference): the officers of the year's chair and the command
  officers of the superior (``manages_cluster_year``);
- votes: the staff of a member unit, for that unit only, once per round;
- sees the conference page and the minutes: whoever sees the cluster year.
Turnout is shown only to those who run the conference; choices to nobody.
"""

from clusters.models import ClusterYear, Unit, User
from clusters.permissions import (
    is_cluster_officer_of,
    is_command_officer_for,
    manages_cluster_year,
    units_staffed_by,
)


def runs_conference(user: User, cluster_year: ClusterYear) -> bool:
    return manages_cluster_year(user, cluster_year)


def voting_unit(user: User, cluster_year: ClusterYear) -> Unit | None:
    """The member unit the user votes for in this cluster year, if any."""
    return units_staffed_by(user).filter(memberships__cluster_year=cluster_year).order_by("name").first()


def can_propose(user: User, cluster_year: ClusterYear) -> bool:
    """Only the officers of the year's chair propose awards for the cluster."""
    return is_cluster_officer_of(user, cluster_year)


def can_decide(user: User, superior_id: int) -> bool:
    """Only the command officers of the superior record its decisions."""
    return is_command_officer_for(user, superior_id)
