"""
The conference's flows: the leader vote and finishing the conference.

Leader vote (after scoring is closed; rules copied from the cluster's
``VoteRules`` when a round opens):
- candidates: the rank-1 units of the frozen ranking, plus any unit the
  conference adds with a reason;
- every member unit casts one ballot per round (agree / disagree / blank per
  candidate); with "members present" as the denominator only present units
  vote; a unit may not vote on itself when the rules say so (its choice is
  recorded as blank);
- a candidate passes when agree / denominator > threshold (or ≥ when the rules
  say "reaching is enough"); the denominator is all members or those present;
- several pass: most agree votes, then the higher frozen total; still tied:
  the cluster's rule (higher total already applied, so the superior decides);
- none passes: the round closes with outcome "runoff"; the officer opens
  round 2 among the same candidates with a reason;
- paper mode: the officer enters the counted tallies, with ballots issued and
  returned; the same rules decide;
- a closed round is never changed.

Finishing the conference: the chair and vice chair of next year follow the
cluster's policy unless the officer overrides with a reason or a decision;
next year opens with its members and criteria set, the handover is recorded,
and this year is closed.
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from clusters import audit
from clusters import services as cluster_services
from clusters.models import Cluster, ClusterYear, Membership, Unit, User
from scoring import services as scoring_services
from scoring.models import ResultSnapshot
from scoring.validators import format_points

from .models import Candidate, Conference, OpenChoice, Participation, Vote, VoteRules

NOT_CONFERENCE = _("The leader vote takes place during the conference, after scoring is closed.")
NO_RESULTS = _("The results are not frozen yet: close the scoring first.")
ROUND_OPEN = _("A round of the vote is already open.")
NOT_OPEN = _("This round of the vote is closed.")
ALREADY_VOTED = _("%(unit)s has already voted in this round.")
NOT_MEMBER = _("Only the member units of the cluster vote.")
NOT_PRESENT = _("%(unit)s is not recorded as present at the conference.")
CHOICE_MISSING = _("Choose agree, disagree or blank for every candidate.")
PAPER_ONLY = _("Tallies are entered only for a paper vote.")
ELECTRONIC_ONLY = _("Ballots in the browser are cast only in an electronic vote.")
TALLY_TOO_HIGH = _("%(unit)s: agree + disagree + blank (%(sum)s) is more than the ballots returned (%(returned)s).")
RETURNED_ABOVE_ISSUED = _("More ballots returned than issued.")
ADD_REASON = _("Give the reason for adding %(unit)s as a candidate.")
RUNOFF_REASON = _("Give the reason for the new round.")
NO_RUNOFF = _("A new round follows only a closed round without a leader.")
CONFERENCE_DONE = _("The conference of this year is already finished.")
NO_LEADER = _("The leading unit is not decided yet (close the vote, or record the superior's decision).")
CHAIR_NEEDED = _("The cluster's policy needs the new chair to be named (%(policy)s).")
DECISION_NEEDED = _("A chair assigned by the superior needs the decision number and date.")
OVERRIDE_REASON = _("Give the reason for overriding the policy's choice, or the decision number.")
NOT_SUPERIOR_CASE = _("Only a tied vote left to the superior takes its decision.")
CANDIDATE_UNKNOWN = _("%(unit)s is not a candidate of this vote.")

TIED_TOTAL = _("Equal on agree votes and frozen total: the superior decides.")
TIED_AGREE = _("Equal on agree votes: the superior decides, as the cluster's rules say.")
NEGATIVE_COUNT = _("Counts of ballots cannot be negative.")
SUPERIOR_DECISION_NEEDED = _("The superior's decision needs its number and date.")
CHAIR_WITHOUT_LEADER = _("No leading unit was acclaimed: give the reason for the chair named, or the decision number.")
PERCENT = Decimal("100")
EXPLAIN = _("%(unit)s: %(agree)s/%(total)s agree = %(share)s%% %(sign)s %(threshold)s%% → %(verdict)s")
PASSES = _("passes")
FAILS = _("does not pass")


def rules_of(cluster: Cluster) -> VoteRules:
    return VoteRules.objects.filter(cluster=cluster).first() or VoteRules(cluster=cluster)


def _current_snapshot(cluster_year: ClusterYear) -> ResultSnapshot:
    snapshot = ResultSnapshot.objects.filter(cluster_year=cluster_year, is_current=True).first()
    if snapshot is None:
        raise ValidationError(NO_RESULTS)
    return snapshot


def _lock_year(cluster_year: ClusterYear) -> ClusterYear:
    cluster_year = ClusterYear.objects.select_for_update().select_related("cluster").get(pk=cluster_year.pk)
    if cluster_year.phase != ClusterYear.Phase.CONFERENCE:
        raise ValidationError(NOT_CONFERENCE)
    return cluster_year


# --- opening a round ---------------------------------------------------------------------------


@transaction.atomic
def prepare_vote(
    *,
    cluster_year: ClusterYear,
    by: User,
    now: datetime.datetime,
    mode: str = Vote.Mode.ELECTRONIC,
    present: list[Unit] | None = None,
    extra: list[tuple[Unit, str]] = (),
) -> Vote:
    """Open round 1: the rank-1 units of the frozen results, plus ``extra`` (unit, reason) pairs."""
    cluster_year = _lock_year(cluster_year)
    if cluster_year.votes.filter(status=Vote.Status.OPEN).exists():
        raise ValidationError(ROUND_OPEN)
    if cluster_year.votes.exists():  # later rounds are runoffs (``open_runoff``, with a reason)
        raise ValidationError(NO_RUNOFF)
    snapshot = _current_snapshot(cluster_year)
    results = {r.unit_id: r for r in snapshot.results.select_related("unit")}
    errors = [ADD_REASON % {"unit": unit} for unit, reason in extra if not reason.strip()]
    if errors:
        raise ValidationError(errors)
    chosen = [(r.unit, "") for r in results.values() if r.rank == 1]
    chosen += [(unit, reason.strip()) for unit, reason in extra if all(unit != u for u, _ in chosen)]
    number = (cluster_year.votes.order_by("-round").values_list("round", flat=True).first() or 0) + 1
    return _open_round(cluster_year, number, "", chosen, results, mode=mode, present=present, by=by, now=now)


def _open_round(cluster_year, number, reason, chosen, results, *, mode, present, by, now) -> Vote:
    rules = rules_of(cluster_year.cluster)
    member_ids = set(cluster_year.memberships.values_list("unit_id", flat=True))
    if any(unit.pk not in member_ids for unit, _ in chosen):
        raise ValidationError(NOT_MEMBER)
    vote = Vote.objects.create(
        cluster_year=cluster_year, round=number, reason=reason, mode=mode, threshold=rules.threshold,
        threshold_inclusive=rules.threshold_inclusive, denominator=rules.denominator, secret=rules.secret,
        self_vote=rules.self_vote, tie_rule=rules.tie_rule, opened_by=by, opened_at=now,
    )
    vote.present.set([u for u in (present or []) if u.pk in member_ids])
    Candidate.objects.bulk_create([
        Candidate(vote=vote, unit=unit, added_reason=why, frozen_total=results[unit.pk].total,
                  frozen_rank=results[unit.pk].rank)
        for unit, why in chosen
    ])
    audit.record(by, audit.Action.VOTE_OPENED, vote, reason=reason, when=now,
                 detail={"round": number, "mode": mode, "candidates": [unit.name for unit, _why in chosen]})
    return vote


@transaction.atomic
def open_runoff(*, vote: Vote, reason: str, by: User, now: datetime.datetime) -> Vote:
    """Round n+1 among the same candidates, after a closed round in which no candidate passed."""
    vote = Vote.objects.select_for_update().get(pk=vote.pk)
    if vote.status != Vote.Status.CLOSED or vote.outcome != Vote.Outcome.RUNOFF:
        raise ValidationError(NO_RUNOFF)
    if not reason.strip():
        raise ValidationError({"reason": [str(RUNOFF_REASON)]})
    cluster_year = _lock_year(vote.cluster_year)
    if cluster_year.votes.filter(status=Vote.Status.OPEN).exists():
        raise ValidationError(ROUND_OPEN)
    if cluster_year.votes.filter(round__gt=vote.round).exists():
        raise ValidationError(NO_RUNOFF)
    results = {r.unit_id: r for r in _current_snapshot(cluster_year).results.all()}
    chosen = [(c.unit, c.added_reason) for c in vote.candidates.select_related("unit")]
    return _open_round(cluster_year, vote.round + 1, reason.strip(), chosen, results, mode=vote.mode,
                       present=list(vote.present.all()), by=by, now=now)


# --- ballots and tallies -----------------------------------------------------------------------


@transaction.atomic
def cast_ballot(*, vote: Vote, unit: Unit, choices: dict[int, str], by: User | None = None) -> None:
    """
    One ballot of ``unit``, cast by ``by``: ``choices`` maps candidate id →
    agree / disagree / blank. The unit is put on the roll (a unique row: a
    second ballot, even a concurrent one, fails) and each candidate's counter
    is incremented; in a secret vote nothing else is written but the audit
    row, which names the unit and not the choice, dated with the round's opening.
    """
    vote = Vote.objects.select_for_update().get(pk=vote.pk)
    if not vote.is_open:
        raise ValidationError(NOT_OPEN)
    if vote.mode != Vote.Mode.ELECTRONIC:
        raise ValidationError(ELECTRONIC_ONLY)
    if not vote.cluster_year.memberships.filter(unit=unit).exists():
        raise ValidationError(NOT_MEMBER)
    if vote.denominator == VoteRules.Denominator.PRESENT and not vote.present.filter(pk=unit.pk).exists():
        raise ValidationError(NOT_PRESENT % {"unit": unit})
    candidates = list(vote.candidates.all())
    if {c.pk for c in candidates} != set(choices) or any(v not in OpenChoice.Choice.values for v in choices.values()):
        raise ValidationError(CHOICE_MISSING)
    try:
        with transaction.atomic():
            Participation.objects.create(vote=vote, unit=unit)
    except IntegrityError:
        raise ValidationError(ALREADY_VOTED % {"unit": unit}) from None
    for candidate in candidates:
        choice = choices[candidate.pk]
        if candidate.unit_id == unit.pk and not vote.self_vote:
            choice = OpenChoice.Choice.BLANK
        Candidate.objects.filter(pk=candidate.pk).update(**{choice: F(choice) + 1})
        if not vote.secret:
            OpenChoice.objects.create(vote=vote, voter=unit, candidate=candidate, choice=choice)
    audit.record(by, audit.Action.BALLOT_CAST, vote, when=vote.opened_at, detail={"unit": unit.name})


@transaction.atomic
def record_paper_tally(*, vote: Vote, tallies: dict[int, tuple[int, int, int]], issued: int, returned: int,
                       by: User | None = None) -> Vote:
    """The counted paper ballots: (agree, disagree, blank) per candidate id, ballots issued and returned."""
    vote = Vote.objects.select_for_update().get(pk=vote.pk)
    if not vote.is_open:
        raise ValidationError(NOT_OPEN)
    if vote.mode != Vote.Mode.PAPER:
        raise ValidationError(PAPER_ONLY)
    errors = []
    if min(issued, returned, *(n for counts in tallies.values() for n in counts)) < 0:
        raise ValidationError(NEGATIVE_COUNT)
    if returned > issued:
        errors.append(RETURNED_ABOVE_ISSUED)
    candidates = list(vote.candidates.select_related("unit"))
    if {c.pk for c in candidates} != set(tallies):
        errors.append(CHOICE_MISSING)
    for c in candidates:
        counted = sum(tallies.get(c.pk, (0, 0, 0)))
        if counted > returned:
            errors.append(TALLY_TOO_HIGH % {"unit": c.unit, "sum": counted, "returned": returned})
    if errors:
        raise ValidationError(errors)
    for c in candidates:
        c.agree, c.disagree, c.blank = tallies[c.pk]
        c.save(update_fields=["agree", "disagree", "blank"])
    vote.ballots_issued, vote.ballots_returned = issued, returned
    vote.save(update_fields=["ballots_issued", "ballots_returned"])
    audit.record(by, audit.Action.PAPER_TALLY, vote, detail={
        "issued": issued, "returned": returned,
        "tallies": {c.unit.name: list(tallies[c.pk]) for c in candidates},
    })
    return vote


# --- closing a round ---------------------------------------------------------------------------


@dataclass
class Tally:
    candidate: Candidate
    denominator: int
    share: Decimal  # agree / denominator, in percent, 2 places
    passed: bool


def denominator_of(vote: Vote) -> int:
    if vote.denominator == VoteRules.Denominator.PRESENT:
        return vote.present.count()
    return vote.cluster_year.memberships.count()


def tally(vote: Vote) -> list[Tally]:
    """Each candidate's share of agree votes against the denominator and whether it passes the threshold."""
    denominator = denominator_of(vote)
    rows = []
    for c in vote.candidates.select_related("unit"):
        share = (Decimal(c.agree) * PERCENT / denominator).quantize(Decimal("0.01"), ROUND_HALF_UP) if denominator else Decimal(0)
        exact = Decimal(c.agree) * PERCENT
        bound = Decimal(vote.threshold) * denominator
        passed = denominator > 0 and (exact >= bound if vote.threshold_inclusive else exact > bound)
        rows.append(Tally(c, denominator, share, passed))
    return rows


def _explain(vote: Vote, rows: list[Tally]) -> list[str]:
    """One line per candidate, e.g. "Trường Quân sự: 4/4 đồng ý = 100% > 50% → đạt"."""
    lines = []
    for row in rows:
        if vote.threshold_inclusive:
            sign = "≥" if row.passed else "<"
        else:
            sign = ">" if row.passed else "≤"
        lines.append(str(EXPLAIN % {
            "unit": row.candidate.unit.name, "agree": row.candidate.agree, "total": row.denominator,
            "share": format_points(row.share), "sign": sign, "threshold": vote.threshold,
            "verdict": PASSES if row.passed else FAILS,
        }))
    return lines


@transaction.atomic
def close_vote(*, vote: Vote, by: User, now: datetime.datetime) -> Vote:
    """Count and decide (see the module docstring); the round is then closed for good."""
    vote = Vote.objects.select_for_update().select_related("cluster_year").get(pk=vote.pk)
    if not vote.is_open:
        raise ValidationError(NOT_OPEN)
    rows = tally(vote)
    for row in rows:
        Candidate.objects.filter(pk=row.candidate.pk).update(passed=row.passed)
    passing = sorted((r for r in rows if r.passed), key=lambda r: (-r.candidate.agree, -r.candidate.frozen_total))
    lines = _explain(vote, rows)
    leader, outcome = None, Vote.Outcome.RUNOFF
    if passing:
        best = passing[0].candidate
        # Equal on agree votes: the cluster's rule either compares the frozen totals or leaves it to the superior.
        if vote.tie_rule == VoteRules.TieRule.HIGHER_TOTAL:
            key = lambda c: (c.agree, c.frozen_total)  # noqa: E731
        else:
            key = lambda c: c.agree  # noqa: E731
        equal = [r for r in passing if key(r.candidate) == key(best)]
        if len(equal) == 1:
            leader, outcome = best.unit, Vote.Outcome.ACCLAIMED
            lines.append(str(_("%(unit)s is acclaimed the leading unit.") % {"unit": best.unit.name}))
        else:
            outcome = Vote.Outcome.SUPERIOR
            lines.append(str(TIED_TOTAL if vote.tie_rule == VoteRules.TieRule.HIGHER_TOTAL else TIED_AGREE))
    else:
        lines.append(str(_("No candidate passed: a new round is needed.")))
    vote.status, vote.outcome, vote.leader = Vote.Status.CLOSED, outcome, leader
    vote.closed_by, vote.closed_at, vote.explanation = by, now, "\n".join(lines)
    vote.save(update_fields=["status", "outcome", "leader", "closed_by", "closed_at", "explanation"])
    audit.record(by, audit.Action.VOTE_CLOSED, vote, when=now, detail={
        "round": vote.round, "outcome": outcome, "leader": leader.name if leader else None,
    })
    return vote


@transaction.atomic
def record_superior_decision(*, vote: Vote, unit: Unit, number: str, date: datetime.date,
                             by: User | None = None) -> Vote:
    vote = Vote.objects.select_for_update().get(pk=vote.pk)
    _lock_year(vote.cluster_year)  # a closed year is read-only
    if vote.outcome != Vote.Outcome.SUPERIOR or vote.leader_id is not None:
        raise ValidationError(NOT_SUPERIOR_CASE)
    if not number.strip() or date is None:
        raise ValidationError(SUPERIOR_DECISION_NEEDED)
    if not vote.candidates.filter(unit=unit).exists():
        raise ValidationError(CANDIDATE_UNKNOWN % {"unit": unit})
    vote.leader, vote.decision_number, vote.decision_date = unit, number.strip(), date
    vote.explanation += "\n" + str(_("Decided by the superior: %(unit)s (decision %(number)s).")
                                   % {"unit": unit.name, "number": number.strip()})
    vote.save(update_fields=["leader", "decision_number", "decision_date", "explanation"])
    audit.record(by, audit.Action.SUPERIOR_DECISION, vote,
                 detail={"leader": unit.name, "number": vote.decision_number, "date": date})
    return vote


def decided_leader(cluster_year: ClusterYear) -> Unit | None:
    vote = cluster_year.votes.filter(status=Vote.Status.CLOSED, leader__isnull=False).order_by("-round").first()
    return vote.leader if vote else None


# --- finishing the conference ------------------------------------------------------------------


def _ordered_members(cluster_year: ClusterYear) -> list[Unit]:
    return [m.unit for m in cluster_year.memberships.select_related("unit").order_by("unit__name")]


def _after(units: list[Unit], unit: Unit | None) -> Unit | None:
    if not units:
        return None
    if unit not in units:
        return units[0]
    return units[(units.index(unit) + 1) % len(units)]


def policy_choice(cluster_year: ClusterYear, leader: Unit | None) -> tuple[Unit | None, Unit | None]:
    """
    The chair and vice chair that the cluster's policy gives for next year:
    leader → the acclaimed unit; fixed order → the member after this year's
    chair in the members' order (by name); elected or assigned → none (named at
    the conference or by the decision). Vice chair: runner-up → the best-ranked
    unit other than the chair; fixed order → the member after the new chair.
    """
    cluster = cluster_year.cluster
    chair_now = Membership.objects.filter(cluster_year=cluster_year, role=Membership.Role.CHAIR).first()
    members = _ordered_members(cluster_year)
    chair = None
    if cluster.chair_policy == Cluster.ChairPolicy.LEADER:
        chair = leader
    elif cluster.chair_policy == Cluster.ChairPolicy.FIXED_ORDER:
        chair = _after(members, chair_now.unit if chair_now else None)
    vice = None
    if chair is not None and cluster.vice_chair_policy == Cluster.ViceChairPolicy.RUNNER_UP:
        snapshot = ResultSnapshot.objects.filter(cluster_year=cluster_year, is_current=True).first()
        if snapshot is not None:
            vice = next((r.unit for r in snapshot.results.select_related("unit").order_by("rank", "unit__name")
                         if r.unit_id != chair.pk), None)
    elif chair is not None and cluster.vice_chair_policy == Cluster.ViceChairPolicy.FIXED_ORDER:
        vice = _after(members, chair)
    return chair, vice


@transaction.atomic
def finish_conference(
    *,
    cluster_year: ClusterYear,
    by: User,
    now: datetime.datetime,
    held_on: datetime.date,
    place: str,
    presiding: str,
    chair: Unit | None = None,
    vice_chair: Unit | None = None,
    override_reason: str = "",
    decision_number: str = "",
    decision_date: datetime.date | None = None,
) -> ClusterYear:
    """
    Record the conference, open next year with the chair and vice chair (the
    policy's, or the officer's override with a reason or a decision), hand over
    on ``held_on`` and close this year. Returns next year's cluster year.
    """
    cluster_year = ClusterYear.objects.select_for_update().select_related("cluster").get(pk=cluster_year.pk)
    if Conference.objects.filter(cluster_year=cluster_year).exists():  # before the phase, which it closed
        raise ValidationError(CONFERENCE_DONE)
    cluster_year = _lock_year(cluster_year)
    if cluster_year.votes.filter(status=Vote.Status.OPEN).exists():
        raise ValidationError(ROUND_OPEN)
    leader = decided_leader(cluster_year)
    policy_chair, policy_vice = policy_choice(cluster_year, leader)
    policy = Cluster.ChairPolicy(cluster_year.cluster.chair_policy)
    basis = {
        Cluster.ChairPolicy.LEADER: ClusterYear.ChairBasis.ROTATION,
        Cluster.ChairPolicy.FIXED_ORDER: ClusterYear.ChairBasis.ROTATION,
        Cluster.ChairPolicy.ELECTED: ClusterYear.ChairBasis.ELECTION,
        Cluster.ChairPolicy.ASSIGNED: ClusterYear.ChairBasis.DECISION,
    }[policy]
    if policy == Cluster.ChairPolicy.LEADER and leader is None and chair is None:
        raise ValidationError(NO_LEADER)
    chosen_chair = chair or policy_chair
    chosen_vice = vice_chair if (vice_chair is not None or chair is not None) else policy_vice
    if chosen_chair is None:
        raise ValidationError({"chair": [str(CHAIR_NEEDED % {"policy": policy.label})]})
    if policy == Cluster.ChairPolicy.LEADER and leader is None and not (override_reason.strip() or decision_number.strip()):
        raise ValidationError({"override_reason": [str(CHAIR_WITHOUT_LEADER)]})
    overridden = (chair is not None and policy_chair is not None and chair != policy_chair) or (
        vice_chair is not None and policy_vice is not None and vice_chair != policy_vice
    )
    if overridden and not (override_reason.strip() or decision_number.strip()):
        raise ValidationError({"override_reason": [str(OVERRIDE_REASON)]})
    if overridden or (leader is None and policy == Cluster.ChairPolicy.LEADER):
        basis = ClusterYear.ChairBasis.ELECTION  # named by the conference rather than by the rotation rule
    if decision_number.strip() or policy == Cluster.ChairPolicy.ASSIGNED:
        if not decision_number.strip() or decision_date is None:
            raise ValidationError({"decision_number": [str(DECISION_NEEDED)]})
        basis = ClusterYear.ChairBasis.DECISION
    Conference.objects.create(
        cluster_year=cluster_year, held_on=held_on, place=place, presiding=presiding, leader=leader,
        next_chair=chosen_chair, next_vice_chair=chosen_vice, chair_basis=basis,
        override_reason=override_reason.strip(), finished_by=by, finished_at=now,
    )
    next_year = scoring_services.open_next_year(
        cluster_year=cluster_year, chair=chosen_chair, vice_chair=chosen_vice, by=by, chair_basis=basis,
        decision_number=decision_number.strip(), decision_date=decision_date, handover_date=held_on,
    )
    cluster_services.advance_phase(cluster_year=cluster_year, by=by, now=now, through_flow=True,
                                   reason=str(_("Conference finished")))
    return next_year
