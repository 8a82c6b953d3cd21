"""
Awards after the conference: eligibility, proposals and the superior's decisions.

Eligibility of a unit for an award in a cluster year, every rule checked and
every failure given as a reason:
- unit kind: the award applies to the unit's kind (a military unit gets Đơn
  vị Quyết thắng, an enterprise the Tập thể lao động xuất sắc variant);
- leader: flags for "the unit leading the cluster" go to the acclaimed unit;
- band: at least the award's minimum band in the frozen results;
- same year: the titles it needs that year, granted or proposed alongside;
- chain: the award held in each of the N consecutive earlier years (granted
  by a decision that is not revoked);
  for both, a variant counts as the award it is a variant of (an enterprise's
  Tập thể lao động xuất sắc stands for Đơn vị Quyết thắng), and a missing one
  is named as the variant for the unit's kind;
- quota: a count, or a percentage of the units in scope (the cluster, or every
  cluster of the superior that year), ROUNDED DOWN ("at most 20%": 20% of 7
  units allows 1); proposals already made use it up.
Proposals follow the catalogue's order, so a title proposed first counts for
the flag that needs it. A unit holds one title and one flag a year (the
higher tier comes first in the catalogue); the automatic proposals give a
certificate of merit only to units that got nothing else. A decision grants some or all proposals; revoking a
decision keeps it, marked revoked, and its grants no longer count.
"""

import datetime
import math
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from clusters import audit
from clusters.models import ClusterYear, Membership, Superior, Unit, User
from scoring.models import Band, Result, ResultSnapshot
from scoring.validators import format_points

from .models import PROPOSAL_DECIDED, AwardType, Decision, Grant, Proposal
from .services import decided_leader

BAND_ORDER = [Band.WEAK, Band.AVERAGE, Band.FAIR, Band.GOOD, Band.EXCELLENT]

WRONG_KIND = _("does not apply to a %(kind)s")
NOT_LEADER = _("not the acclaimed leading unit of the cluster")
BAND_TOO_LOW = _("band %(band)s, below %(needed)s")
NO_RESULT = _("no frozen result in %(year)s")
MISSING_TITLE = _("no %(award)s in %(year)s")
QUOTA_USED = _("quota of %(limit)s already used")
ALREADY = _("already proposed")
ONE_PER_KIND = _("already proposed for %(award)s this year")
NOT_AFTER_CONFERENCE = _("Awards are proposed after the conference has acclaimed the leading unit.")
NOT_ELIGIBLE = _("%(unit)s cannot be proposed for %(award)s: %(reasons)s.")
WITHDRAW_REASON = _("Give the reason for withdrawing the proposal.")
ADD_REASON = _("Give the reason for adding this proposal.")
DECISION_EMPTY = _("A decision grants at least one award.")
DECISION_NUMBER_USED = _("A decision with this number is already recorded.")
REVOKE_REASON = _("Give the reason for revoking the decision.")
PROPOSALS_DECIDED = _("The year is closed and the superior has decided on its proposals: they no longer change. "
                      "To change them, revoke the decision with its reason first.")
PROPOSAL_GRANTED = PROPOSAL_DECIDED  # the model refuses it too
ALREADY_REVOKED = _("This decision is already revoked.")


@dataclass
class Context:
    """Everything eligibility reads for one cluster year, fetched once."""

    cluster_year: ClusterYear
    results: dict[int, Result]
    leader: Unit | None
    members: list[Unit]
    proposals: list[Proposal]  # active proposals in the widest scope (every cluster of the superior that year)
    granted: set[tuple[int, int, int]]  # (unit, award type, year) of grants not revoked
    scope_units: dict[str, int] = field(default_factory=dict)
    families: dict[int, list[AwardType]] = field(default_factory=dict)  # award: itself and its variants


def award_families() -> dict[int, list[AwardType]]:
    """Each award of the catalogue with the awards it is the same as: its variants, or the award it varies."""
    awards = list(AwardType.objects.all())
    root = {a.pk: a.variant_of_id or a.pk for a in awards}
    groups: dict[int, list[AwardType]] = {}
    for a in awards:
        groups.setdefault(root[a.pk], []).append(a)
    return {a.pk: groups[root[a.pk]] for a in awards}


def _held(ctx: "Context", unit: Unit, award_id: int, fallback) -> tuple[set[int], AwardType]:
    """The ids that count as ``award_id`` and the one to name to ``unit`` (the variant for its kind)."""
    family = ctx.families.get(award_id) or [fallback()]
    named = next((a for a in family if unit.kind in a.unit_kind_list),
                 next(a for a in family if a.pk == award_id))
    return {a.pk for a in family}, named


def context_for(cluster_year: ClusterYear) -> Context:
    superior_id = cluster_year.cluster.superior_id
    snapshot = ResultSnapshot.objects.filter(cluster_year=cluster_year, is_current=True).first()
    results = {r.unit_id: r for r in snapshot.results.select_related("unit")} if snapshot else {}
    members = [m.unit for m in cluster_year.memberships.select_related("unit").order_by("unit__name")]
    proposals = list(
        Proposal.objects.filter(withdrawn_at__isnull=True, cluster_year__year=cluster_year.year,
                                cluster_year__cluster__superior_id=superior_id)
        .select_related("unit", "award_type")
    )
    granted = set(
        Grant.objects.filter(decision__revoked_at__isnull=True, unit__in=members).values_list("unit_id", "award_type_id", "year")
    )
    scope = {
        AwardType.QuotaScope.CLUSTER: len(members),
        AwardType.QuotaScope.SUPERIOR: Membership.objects.filter(superior_id=superior_id, year=cluster_year.year).count(),
    }
    return Context(cluster_year, results, decided_leader(cluster_year), members, proposals, granted, scope,
                   award_families())


def quota_limit(award: AwardType, units_in_scope: int) -> int | None:
    """The most proposals allowed: the count, or the percentage of the units in scope rounded down."""
    limits = []
    if award.quota_count is not None:
        limits.append(award.quota_count)
    if award.quota_percent is not None:
        limits.append(math.floor(award.quota_percent * units_in_scope / 100))
    return min(limits) if limits else None


def _in_scope(ctx: Context, award: AwardType, proposal: Proposal) -> bool:
    if award.quota_scope == AwardType.QuotaScope.CLUSTER:
        return proposal.cluster_year_id == ctx.cluster_year.pk
    return True


def reasons_against(ctx: Context, unit: Unit, award: AwardType, *, ignore: Proposal | None = None) -> list[str]:
    """Why ``unit`` cannot be proposed for ``award`` now; empty when it can."""
    year = ctx.cluster_year.year
    reasons = []
    if unit.kind not in award.unit_kind_list:
        reasons.append(str(WRONG_KIND % {"kind": unit.get_kind_display().lower()}))
    if award.requires_leader and (ctx.leader is None or ctx.leader.pk != unit.pk):
        reasons.append(str(NOT_LEADER))
    result = ctx.results.get(unit.pk)
    if award.min_band:
        if result is None:
            reasons.append(str(NO_RESULT % {"year": year}))
        elif BAND_ORDER.index(result.band) < BAND_ORDER.index(award.min_band):
            reasons.append(str(BAND_TOO_LOW % {"band": Band(result.band).label, "needed": Band(award.min_band).label}))
    active = [p for p in ctx.proposals if p is not ignore]
    for needed in award.requires_same_year.all():
        ids, named = _held(ctx, unit, needed.pk, lambda: needed)
        held = any((unit.pk, i, year) in ctx.granted for i in ids) or any(
            p.unit_id == unit.pk and p.award_type_id in ids and p.cluster_year_id == ctx.cluster_year.pk
            for p in active
        )
        if not held:
            reasons.append(str(MISSING_TITLE % {"award": named.name, "year": year}))
    if award.chain_award_id and award.chain_years:
        ids, named = _held(ctx, unit, award.chain_award_id, lambda: award.chain_award)
        for earlier in range(year - award.chain_years, year):
            if not any((unit.pk, i, earlier) in ctx.granted for i in ids):
                reasons.append(str(MISSING_TITLE % {"award": named.name, "year": earlier}))
    if any(p.unit_id == unit.pk and p.award_type_id == award.pk and p.cluster_year_id == ctx.cluster_year.pk
           for p in active):
        reasons.append(str(ALREADY))
    elif award.kind in (AwardType.Kind.TITLE, AwardType.Kind.FLAG):
        # One title and one flag per unit and year: one form per achievement (Law 06/2022).
        same_kind = next((p for p in active if p.unit_id == unit.pk and p.cluster_year_id == ctx.cluster_year.pk
                          and p.award_type.kind == award.kind), None)
        if same_kind is not None:
            reasons.append(str(ONE_PER_KIND % {"award": same_kind.award_type.name}))
    limit = quota_limit(award, ctx.scope_units[award.quota_scope])
    if limit is not None:
        used = sum(1 for p in active if p.award_type_id == award.pk and _in_scope(ctx, award, p))
        if used >= limit:
            reasons.append(str(QUOTA_USED % {"limit": limit}))
    return reasons


def justification(ctx: Context, unit: Unit) -> str:
    result = ctx.results.get(unit.pk)
    if result is None:
        return ""
    rank = f"{result.rank}=" if result.tied else str(result.rank)
    text = str(_("Rank %(rank)s of %(count)s, %(total)s points, %(band)s") % {
        "rank": rank, "count": len(ctx.results), "total": format_points(result.total), "band": Band(result.band).label})
    if ctx.leader is not None and ctx.leader.pk == unit.pk:
        text += "; " + str(_("acclaimed the leading unit of the cluster"))
    return text + "."


@dataclass
class Line:
    unit: Unit
    award: AwardType
    reasons: list[str]
    proposal: Proposal | None


def eligibility_table(cluster_year: ClusterYear) -> list[Line]:
    """Every member × every award of the catalogue: proposed, eligible, or the reasons why not."""
    ctx = context_for(cluster_year)
    awards = list(AwardType.objects.prefetch_related("requires_same_year").select_related("chain_award"))
    proposed = {(p.unit_id, p.award_type_id): p for p in ctx.proposals if p.cluster_year_id == cluster_year.pk}
    order = sorted(ctx.members, key=lambda u: (ctx.results[u.pk].rank if u.pk in ctx.results else 999, u.name))
    return [
        Line(unit, award, [] if (unit.pk, award.pk) in proposed else reasons_against(ctx, unit, award),
             proposed.get((unit.pk, award.pk)))
        for award in awards
        for unit in order
    ]


def _check_stage(cluster_year: ClusterYear) -> None:
    if cluster_year.phase not in (ClusterYear.Phase.CONFERENCE, ClusterYear.Phase.CLOSED) or decided_leader(cluster_year) is None:
        raise ValidationError(NOT_AFTER_CONFERENCE)
    # A closed year's proposals are final once the superior has decided on them (a decision in force).
    if cluster_year.phase == ClusterYear.Phase.CLOSED and Grant.objects.filter(
        proposal__cluster_year=cluster_year, decision__revoked_at__isnull=True
    ).exists():
        raise ValidationError(PROPOSALS_DECIDED)


@transaction.atomic
def propose_defaults(*, cluster_year: ClusterYear, by: User, now: datetime.datetime) -> list[Proposal]:
    """Propose, in the catalogue's order and by rank, every unit for every award it qualifies for within the quotas."""
    cluster_year = ClusterYear.objects.select_for_update().select_related("cluster").get(pk=cluster_year.pk)
    _check_stage(cluster_year)
    ctx = context_for(cluster_year)
    created = []
    awards = list(AwardType.objects.prefetch_related("requires_same_year").select_related("chain_award"))
    order = sorted(ctx.members, key=lambda u: (ctx.results[u.pk].rank if u.pk in ctx.results else 999, u.name))
    for award in awards:
        for unit in order:
            # A certificate of merit is the default only for units that got nothing else.
            has_other = any(p.unit_id == unit.pk and p.cluster_year_id == cluster_year.pk for p in ctx.proposals)
            if award.kind == AwardType.Kind.CERTIFICATE and has_other:
                continue
            if not reasons_against(ctx, unit, award):
                proposal = Proposal.objects.create(cluster_year=cluster_year, unit=unit, award_type=award,
                                                   justification=justification(ctx, unit), created_by=by, created_at=now)
                ctx.proposals.append(proposal)
                created.append(proposal)
    return created


@transaction.atomic
def add_proposal(*, cluster_year: ClusterYear, unit: Unit, award: AwardType, reason: str, by: User,
                 now: datetime.datetime, justification_text: str = "") -> Proposal:
    cluster_year = ClusterYear.objects.select_for_update().select_related("cluster").get(pk=cluster_year.pk)
    _check_stage(cluster_year)
    if not reason.strip():
        raise ValidationError({"reason": [str(ADD_REASON)]})
    ctx = context_for(cluster_year)
    if unit not in ctx.members:
        raise ValidationError(NOT_ELIGIBLE % {"unit": unit, "award": award, "reasons": _("not a member")})
    reasons = reasons_against(ctx, unit, award)
    if reasons:
        raise ValidationError(NOT_ELIGIBLE % {"unit": unit, "award": award, "reasons": "; ".join(reasons)})
    return Proposal.objects.create(cluster_year=cluster_year, unit=unit, award_type=award, reason=reason.strip(),
                                   justification=justification_text.strip() or justification(ctx, unit),
                                   created_by=by, created_at=now)


@transaction.atomic
def withdraw_proposal(*, proposal: Proposal, reason: str, by: User, now: datetime.datetime) -> Proposal:
    cluster_year = ClusterYear.objects.select_for_update().get(pk=proposal.cluster_year_id)
    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    if proposal.grants.filter(decision__revoked_at__isnull=True).exists():
        raise ValidationError(PROPOSAL_GRANTED)
    if cluster_year.phase == ClusterYear.Phase.CLOSED and Grant.objects.filter(
        proposal__cluster_year=cluster_year, decision__revoked_at__isnull=True
    ).exists():
        raise ValidationError(PROPOSALS_DECIDED)
    if not reason.strip():
        raise ValidationError({"reason": [str(WITHDRAW_REASON)]})
    proposal.withdrawn_at, proposal.withdrawn_reason = now, reason.strip()
    proposal.save(update_fields=["withdrawn_at", "withdrawn_reason"])
    return proposal


@transaction.atomic
def record_decision(*, superior: Superior, number: str, date: datetime.date, authority: str, signer: str, year: int,
                    grants: list[tuple[Unit, AwardType, Proposal | None]], by: User, now: datetime.datetime,
                    scan=None) -> Decision:
    if not grants:
        raise ValidationError(DECISION_EMPTY)
    if Decision.objects.filter(superior=superior, number=number.strip()).exists():
        raise ValidationError({"number": [str(DECISION_NUMBER_USED)]})
    decision = Decision(superior=superior, number=number.strip(), date=date, authority=authority.strip(),
                        signer=signer.strip(), year=year, recorded_by=by, recorded_at=now)
    decision.full_clean()  # before the scan is stored: a refused decision leaves no file behind
    if scan:
        decision.scan.save(scan.name, scan, save=False)
    decision.save()
    Grant.objects.bulk_create([Grant(decision=decision, unit=u, award_type=a, year=year, proposal=p)
                               for u, a, p in grants])
    audit.record(by, audit.Action.AWARD_DECIDED, decision, when=now, detail={
        "superior": superior.name, "year": year, "grants": [[u.name, a.name] for u, a, _p in grants],
    })
    return decision


@transaction.atomic
def revoke_decision(*, decision: Decision, reason: str, by: User, now: datetime.datetime) -> Decision:
    decision = Decision.objects.select_for_update().get(pk=decision.pk)
    if decision.revoked_at is not None:
        raise ValidationError(ALREADY_REVOKED)
    if not reason.strip():
        raise ValidationError({"reason": [str(REVOKE_REASON)]})
    decision.revoked_at, decision.revoked_by, decision.revoked_reason = now, by, reason.strip()
    decision.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
    audit.record(by, audit.Action.AWARD_REVOKED, decision, reason=reason.strip(), when=now)
    return decision


def award_history(unit: Unit):
    """The unit's granted awards across years, revoked ones included and marked."""
    return Grant.objects.filter(unit=unit).select_related("award_type", "decision").order_by("-year", "award_type__position")


@dataclass
class YearCell:
    proposed: list[Proposal] = field(default_factory=list)
    granted: list[Grant] = field(default_factory=list)


def year_summary(superior: Superior, year: int) -> list[tuple]:
    """Per cluster and award of the superior's year: the units proposed and granted (two queries)."""
    proposals = Proposal.objects.filter(withdrawn_at__isnull=True, cluster_year__year=year,
                                        cluster_year__cluster__superior=superior).select_related(
        "unit", "award_type", "cluster_year__cluster")
    grants = Grant.objects.filter(year=year, decision__superior=superior, decision__revoked_at__isnull=True).select_related(
        "unit", "award_type", "proposal__cluster_year__cluster")
    table: dict[tuple, YearCell] = {}
    for p in proposals:
        table.setdefault((p.cluster_year.cluster.name, p.award_type.position, p.award_type.name), YearCell()).proposed.append(p)
    for g in grants:
        cluster = g.proposal.cluster_year.cluster.name if g.proposal else "—"
        table.setdefault((cluster, g.award_type.position, g.award_type.name), YearCell()).granted.append(g)
    return [(cluster, award, cell) for (cluster, _, award), cell in sorted(table.items())]


def undecided_proposals(superior: Superior, year: int):
    """The superior's proposals of ``year`` that no standing decision has granted yet."""
    granted = Grant.objects.filter(proposal=OuterRef("pk"), decision__revoked_at__isnull=True)
    return (
        Proposal.objects.filter(withdrawn_at__isnull=True, cluster_year__year=year,
                                cluster_year__cluster__superior=superior)
        .filter(~Exists(granted))
        .select_related("unit", "award_type", "cluster_year__cluster")
        .order_by("cluster_year__cluster__name", "award_type__position", "unit__name")
    )


def period_awards(superior: Superior, first: int, last: int) -> list[tuple]:
    """Per cluster, the awards granted each year of a period (standing decisions): one query."""
    grants = (
        Grant.objects.filter(decision__superior=superior, decision__revoked_at__isnull=True, year__gte=first,
                             year__lte=last, proposal__isnull=False)
        .select_related("unit", "award_type", "proposal__cluster_year__cluster")
        .order_by("proposal__cluster_year__cluster__name", "year", "award_type__position", "unit__name")
    )
    table: dict[str, dict[int, list[Grant]]] = {}
    for grant in grants:
        cluster = grant.proposal.cluster_year.cluster.name
        table.setdefault(cluster, {year: [] for year in range(first, last + 1)})[grant.year].append(grant)
    return list(table.items())
