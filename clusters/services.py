"""
Writes for units, clusters and cluster years.

Rules enforced here (and, where a database can, by named constraints in
``models.py``):

- a unit belongs to at most one cluster of the same superior in a year;
- a cluster year has exactly one chair and at most one vice chair, both members
  and different units (the role sits on the membership, so this holds by
  construction);
- a cluster year's phase moves only forward, one step at a time:
  planning → scoring → review → conference → closed; every move is recorded
  with who, when and why;
- a closed cluster year is read-only: every service here refuses it;
- opening the next year copies the members; the criteria set is attached by
  ``scoring.services`` on top of this (the app above, see design.md).

Every service is atomic and takes the acting user (recorded in the history of
what it changes) and, where it stamps a time, the time as arguments.
"""

import datetime
from collections.abc import Iterable

from django.db import transaction
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import audit
from .models import Cluster, ClusterYear, Membership, PhaseChange, Unit, User

YEAR_CLOSED = _("This cluster year is closed and can no longer be changed.")
CHAIR_NOT_MEMBER = _("The chair must be a member of the cluster in that year.")
VICE_CHAIR_NOT_MEMBER = _("The vice chair must be a member of the cluster in that year.")
CHAIR_IS_VICE_CHAIR = _("The chair and the vice chair must be different units.")
NO_NEXT_PHASE = _("A closed year has no next phase.")
PHASE_MOVED = _("The phase was changed meanwhile (now: %(phase)s); reload the page.")
FLOW_PHASES = {
    ClusterYear.Phase.CONFERENCE: _("The conference starts by closing the scoring, which freezes the results."),
    ClusterYear.Phase.CLOSED: _("The year is closed by finishing its conference."),
}
NEXT_YEAR_EXISTS = _("The cluster already has a record for %(year)s.")
DECISION_INCOMPLETE = _("A chair assigned by the superior's decision needs the decision number and date.")


def _refuse_closed(cluster_year: ClusterYear) -> None:
    if cluster_year.is_closed:
        raise ValidationError(YEAR_CLOSED)


def _save(obj, *, by: User | None, reason: str = "", **kwargs) -> None:
    """Save with the acting user and reason recorded in the object's history."""
    obj._history_user = by
    obj._change_reason = reason
    obj.save(**kwargs)


def _locked(cluster_year: ClusterYear) -> ClusterYear:
    """Re-read the cluster year under a row lock so concurrent writers queue up."""
    return ClusterYear.objects.select_for_update().select_related("cluster").get(pk=cluster_year.pk)


@transaction.atomic
def add_member(
    *, cluster_year: ClusterYear, unit: Unit, by: User | None, role: str = Membership.Role.MEMBER
) -> Membership:
    cluster_year = _locked(cluster_year)
    _refuse_closed(cluster_year)
    membership = Membership(cluster_year=cluster_year, unit=unit, role=role)
    membership.full_clean()
    _save(membership, by=by)
    return membership


@transaction.atomic
def create_cluster_year(
    *,
    cluster: Cluster,
    year: int,
    members: Iterable[Unit],
    chair: Unit,
    by: User | None,
    vice_chair: Unit | None = None,
    chair_basis: str = ClusterYear.ChairBasis.ROTATION,
    decision_number: str = "",
    decision_date: datetime.date | None = None,
    handover_date: datetime.date | None = None,
    self_assessment_due: datetime.date | None = None,
    review_due: datetime.date | None = None,
) -> ClusterYear:
    """Create a cluster year in the planning phase with its members, chair and vice chair."""
    members = list(dict.fromkeys([*members]))
    errors = {}
    if chair not in members:
        errors["chair"] = CHAIR_NOT_MEMBER
    if vice_chair is not None and vice_chair not in members:
        errors["vice_chair"] = VICE_CHAIR_NOT_MEMBER
    if vice_chair is not None and vice_chair == chair:
        errors["vice_chair"] = CHAIR_IS_VICE_CHAIR
    if errors:
        raise ValidationError(errors)
    cluster_year = ClusterYear(
        cluster=cluster,
        year=year,
        chair_basis=chair_basis,
        decision_number=decision_number,
        decision_date=decision_date,
        handover_date=handover_date,
        self_assessment_due=self_assessment_due,
        review_due=review_due,
    )
    cluster_year.full_clean()
    _save(cluster_year, by=by)
    roles = {chair: Membership.Role.CHAIR, vice_chair: Membership.Role.VICE_CHAIR}
    for unit in members:
        membership = Membership(cluster_year=cluster_year, unit=unit, role=roles.get(unit, Membership.Role.MEMBER))
        membership.full_clean()
        _save(membership, by=by)
    return cluster_year


@transaction.atomic
def set_chair(
    *,
    cluster_year: ClusterYear,
    chair: Unit,
    vice_chair: Unit | None,
    chair_basis: str,
    by: User | None,
    reason: str = "",
    decision_number: str = "",
    decision_date: datetime.date | None = None,
    handover_date: datetime.date | None = None,
) -> ClusterYear:
    """Name the chair and vice chair among the members, with the basis of the choice."""
    cluster_year = _locked(cluster_year)
    _refuse_closed(cluster_year)
    member_ids = set(cluster_year.memberships.values_list("unit_id", flat=True))
    errors = {}
    if chair.pk not in member_ids:
        errors["chair"] = CHAIR_NOT_MEMBER
    if vice_chair is not None and vice_chair.pk not in member_ids:
        errors["vice_chair"] = VICE_CHAIR_NOT_MEMBER
    if vice_chair is not None and vice_chair == chair:
        errors["vice_chair"] = CHAIR_IS_VICE_CHAIR
    if errors:
        raise ValidationError(errors)
    cluster_year.chair_basis = chair_basis
    cluster_year.decision_number = decision_number
    cluster_year.decision_date = decision_date
    cluster_year.handover_date = handover_date
    cluster_year.full_clean()
    _save(cluster_year, by=by, reason=reason)
    wanted = {chair.pk: Membership.Role.CHAIR}
    if vice_chair is not None:
        wanted[vice_chair.pk] = Membership.Role.VICE_CHAIR
    memberships = list(cluster_year.memberships.all())
    # Demote first so the one-chair / one-vice-chair constraints hold at every statement;
    # row by row (a handful of members) so each change lands in the history.
    for membership in memberships:
        if membership.role != Membership.Role.MEMBER and wanted.get(membership.unit_id) != membership.role:
            membership.role = Membership.Role.MEMBER
            _save(membership, by=by, reason=reason, update_fields=["role"])
    for membership in memberships:
        role = wanted.get(membership.unit_id, Membership.Role.MEMBER)
        if membership.role != role:
            membership.role = role
            _save(membership, by=by, reason=reason, update_fields=["role"])
    return cluster_year


@transaction.atomic
def set_deadlines(
    *,
    cluster_year: ClusterYear,
    self_assessment_due: datetime.date | None,
    review_due: datetime.date | None,
    by: User | None,
    reason: str = "",
) -> ClusterYear:
    cluster_year = _locked(cluster_year)
    _refuse_closed(cluster_year)
    cluster_year.self_assessment_due = self_assessment_due
    cluster_year.review_due = review_due
    cluster_year.full_clean()
    _save(cluster_year, by=by, reason=reason, update_fields=["self_assessment_due", "review_due"])
    return cluster_year


@transaction.atomic
def advance_phase(
    *,
    cluster_year: ClusterYear,
    by: User,
    now: datetime.datetime,
    reason: str = "",
    expected_phase: str | None = None,
    through_flow: bool = False,
) -> ClusterYear:
    """
    Move the year one phase forward. ``expected_phase`` is the phase the user saw:
    when another officer moved it meanwhile, the request is refused instead of
    skipping a phase the user never looked at. Entering the conference (the
    results are frozen) and closing the year (the conference's decisions) happen
    only through their flows in the apps above, which pass ``through_flow``.
    """
    cluster_year = _locked(cluster_year)
    if expected_phase is not None and cluster_year.phase != expected_phase:
        raise ValidationError(PHASE_MOVED % {"phase": cluster_year.get_phase_display()})
    target = cluster_year.next_phase
    if target is None:
        raise ValidationError(NO_NEXT_PHASE)
    if target in FLOW_PHASES and not through_flow:
        raise ValidationError(FLOW_PHASES[target])
    change = PhaseChange.objects.create(
        cluster_year=cluster_year,
        from_phase=cluster_year.phase,
        to_phase=target,
        changed_by=by,
        changed_at=now,
        reason=reason,
    )
    cluster_year.phase = target
    _save(cluster_year, by=by, reason=reason, update_fields=["phase"])
    audit.record(by, audit.Action.PHASE_CHANGED, cluster_year, reason=reason, when=now,
                 detail={"from": change.from_phase, "to": change.to_phase})
    return cluster_year


@transaction.atomic
def open_next_year(
    *,
    cluster_year: ClusterYear,
    chair: Unit,
    by: User | None,
    vice_chair: Unit | None = None,
    chair_basis: str = ClusterYear.ChairBasis.ROTATION,
    decision_number: str = "",
    decision_date: datetime.date | None = None,
    handover_date: datetime.date | None = None,
) -> ClusterYear:
    """
    Open ``year + 1`` for the same cluster in the planning phase, with this year's
    members. The chair is chosen by the caller (the rotation policy is applied by
    the conference flow in ``awards``); the criteria set is attached by
    ``scoring.services`` around this call.
    """
    cluster_year = _locked(cluster_year)
    next_year = cluster_year.year + 1
    if ClusterYear.objects.filter(cluster=cluster_year.cluster, year=next_year).exists():
        raise ValidationError(NEXT_YEAR_EXISTS % {"year": next_year})
    members = Unit.objects.filter(memberships__cluster_year=cluster_year).order_by("name")
    return create_cluster_year(
        cluster=cluster_year.cluster,
        year=next_year,
        members=members,
        chair=chair,
        by=by,
        vice_chair=vice_chair,
        chair_basis=chair_basis,
        decision_number=decision_number,
        decision_date=decision_date,
        handover_date=handover_date,
    )
