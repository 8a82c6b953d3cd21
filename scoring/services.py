"""
Writes for criteria and score sheets.

Criteria
- A set's tree comes from the codes: "2.3" sits under "2"; a group has no
  maximum, every other criterion has one above 0. The standard maxima should
  add up to the set's declared scale (the admin warns when they do not).
- A set used by a cluster year that has left planning is locked: no path
  changes it (``CriteriaSet.save`` / ``Criterion.save`` refuse too).
- Next year's set is a clone of this year's; opening next year's cluster year
  attaches the clone (made on the spot if the administrator has not yet).

Sheets (one per unit per cluster year)
- The unit edits while the year is in scoring and before the self-assessment
  deadline (or until the date an officer reopened it to), and whenever the
  cluster returned the sheet; never once submitted or approved.
- Points: at most 2 places, 0..max (for a deduction, 0..max deducted). Blank
  standard criteria block submission; blank bonus and deduction items count 0.
  Criteria marked "evidence required" need a file once they carry points.
- Review: the reviewer accepts the unit's points or sets official points; a
  reason is mandatory when they differ from the unit's. Return sends comments
  to the unit, which answers and resubmits. Approval needs official points on
  every criterion and makes them final for the ranking.
- Conflict rule: nobody reviews their own unit (``permissions.can_review``).
- Every change writes a ``ScoreEvent`` (who, when, old → new, why). Every save
  states the sheet version it was prepared on; an older one is refused with
  ``SheetConflict`` and nothing is written.
"""

import copy
import datetime
import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Sum
from django.utils.translation import gettext_lazy as _

from clusters import audit
from clusters import services as cluster_services
from clusters.frozen import amendment, locked_open
from clusters.models import AuditEvent, ClusterYear, Membership, PhaseChange, Unit, User

from .ranking import live_ranking, live_rankings, new_frozen_generation
from .models import ClusterYearSet, CriteriaSet, Criterion, Evidence, Result, ResultSnapshot, Score, ScoreEvent, Sheet
from .validators import format_points, validate_evidence_file, validate_points

NO_CRITERIA_SET = _("No criteria set has been given to this cluster year yet.")
NOT_A_MEMBER = _("This unit is not a member of the cluster in that year.")
SHEET_CLOSED = _("The sheet cannot be changed now (it is submitted, approved, or past the deadline).")
SHEET_CHANGED = _("The sheet was changed meanwhile by %(user)s; your changes were not saved. Compare and save again.")
MISSING_POINTS = _("Enter the points of this criterion before submitting.")
MISSING_EVIDENCE = _("This criterion needs an evidence file.")
REASON_REQUIRED = _("Give the reason why the official points differ from the unit's.")
NOT_UNDER_REVIEW = _("Only a submitted sheet can be reviewed.")
OFFICIAL_MISSING = _("Set the official points of every criterion before approving (missing: %(codes)s).")
NOT_REOPENABLE = _("Only a draft or submitted sheet of an open year can be reopened.")
SET_IN_USE = _("This cluster year has started scoring; its criteria set can no longer be changed.")
SET_OTHER_SUPERIOR = _("The criteria set belongs to another superior.")
CLONE_EXISTS = _("A criteria set named %(name)s already exists for %(year)s.")
RETURN_NEEDS_COMMENT = _("Write a comment on at least one criterion, or a message, to return the sheet.")
ANOTHER_USER = _("another user")
NOT_CLOSABLE = _("Scoring can be closed only during self-assessment or review (now: %(phase)s).")
SHEETS_PENDING = _("Every member's sheet must be approved before closing (pending: %(units)s).")
SCORING_CLOSED = _("Scoring closed; results frozen")
NOT_AMENDABLE = _("Only the scores of a year whose scoring is closed are amended; before that, review the sheet.")
AMENDMENT_REASON = _("An amendment needs its reason.")
ZERO = Decimal("0.00")
EDITABLE_PHASES = (ClusterYear.Phase.SCORING, ClusterYear.Phase.REVIEW)


class SheetConflict(ValidationError):
    """The sheet moved on since the user loaded it; carries the sheet as saved now."""

    def __init__(self, sheet: Sheet, by_name: str):
        super().__init__(SHEET_CHANGED % {"user": by_name}, code="conflict")
        self.sheet = sheet


@dataclass
class Entry:
    """What the unit typed for one criterion."""

    points: object = None  # raw: str, Decimal or None
    note: str = ""
    answer: str | None = None  # only read when the sheet was returned
    files: list = field(default_factory=list)


# --- criteria ---------------------------------------------------------------------------------


def tree_errors(rows: list[tuple[str, str, Decimal | None]]) -> dict[str, str]:
    """
    Check a set's rows (code, kind, max) as a whole: every dotted code has its
    parent, parents are groups, groups have children. Returns {code: message}.
    """
    kinds = {code: kind for code, kind, _ in rows}
    parents = {code.rsplit(".", 1)[0] for code, _, _ in rows if "." in code}
    errors = {}
    for code, kind, _max in rows:
        parent = code.rsplit(".", 1)[0] if "." in code else None
        if parent is not None and parent not in kinds:
            errors[code] = _("%(code)s has no parent %(parent)s in this set.") % {"code": code, "parent": parent}
        elif parent is not None and kinds[parent] != Criterion.Kind.GROUP:
            errors[code] = _("%(parent)s holds criteria, so it must be a group.") % {"parent": parent}
        elif kind == Criterion.Kind.GROUP and code not in parents:
            errors[code] = _("The group %(code)s has no criteria.") % {"code": code}
    return errors


def rebuild_tree(criteria_set: CriteriaSet) -> None:
    """Link each criterion to its parent and top-level group, from the codes."""
    criteria = {c.code: c for c in criteria_set.criteria.all()}
    errors = tree_errors([(c.code, c.kind, c.max_points) for c in criteria.values()])
    if errors:
        raise ValidationError(list(errors.values()))
    for criterion in criteria.values():
        parent = criteria.get(criterion.parent_code) if criterion.parent_code else None
        top = criteria[criterion.code.split(".", 1)[0]]
        if (criterion.parent_id, criterion.top_id) != (getattr(parent, "pk", None), top.pk):
            Criterion.objects.filter(pk=criterion.pk).update(parent=parent, top=top)


def standard_total(criteria_set: CriteriaSet) -> Decimal:
    total = criteria_set.criteria.filter(kind=Criterion.Kind.STANDARD).aggregate(total=Sum("max_points"))["total"]
    return total or Decimal("0.00")


@transaction.atomic
def clone_criteria_set(*, source: CriteriaSet, year: int, name: str | None = None) -> CriteriaSet:
    """Copy a set, its caps and its whole tree to ``year`` (normally next year)."""
    name = name or source.name
    if CriteriaSet.objects.filter(superior=source.superior, year=year, name=name).exists():
        raise ValidationError(CLONE_EXISTS % {"name": name, "year": year})
    clone = CriteriaSet.objects.create(
        superior=source.superior,
        year=year,
        name=name,
        scale=source.scale,
        bonus_cap=source.bonus_cap,
        deduction_cap=source.deduction_cap,
        tie_breaks=source.tie_breaks,
        band_excellent=source.band_excellent,
        band_good=source.band_good,
        band_fair=source.band_fair,
        band_average=source.band_average,
        cloned_from=source,
    )
    Criterion.objects.bulk_create(
        [
            Criterion(
                criteria_set=clone,
                code=c.code,
                title=c.title,
                guidance=c.guidance,
                kind=c.kind,
                max_points=c.max_points,
                evidence_required=c.evidence_required,
                sort_key=Criterion.sort_key_for(c.code),
                depth=c.code.count("."),
            )
            for c in source.criteria.all()
        ]
    )
    rebuild_tree(clone)
    return clone


def check_attachable(cluster_year: ClusterYear, criteria_set: CriteriaSet) -> None:
    """A set can be given to a cluster year of its superior that is still being planned."""
    if cluster_year.phase != ClusterYear.Phase.PLANNING:
        raise ValidationError(SET_IN_USE)
    if criteria_set.superior_id != cluster_year.cluster.superior_id:
        raise ValidationError(SET_OTHER_SUPERIOR)


@transaction.atomic
def attach_criteria_set(*, cluster_year: ClusterYear, criteria_set: CriteriaSet) -> ClusterYearSet:
    cluster_year = ClusterYear.objects.select_for_update().select_related("cluster").get(pk=cluster_year.pk)
    check_attachable(cluster_year, criteria_set)
    link, _created = ClusterYearSet.objects.update_or_create(
        cluster_year=cluster_year, defaults={"criteria_set": criteria_set}
    )
    return link


@transaction.atomic
def open_next_year(*, cluster_year: ClusterYear, chair: Unit, by: User | None, **chair_fields) -> ClusterYear:
    """
    Open ``year + 1`` (members copied by ``clusters.services.open_next_year``) and
    give it next year's version of this year's criteria set, cloning it if the
    administrator has not yet.
    """
    created = cluster_services.open_next_year(cluster_year=cluster_year, chair=chair, by=by, **chair_fields)
    link = ClusterYearSet.objects.filter(cluster_year=cluster_year).select_related("criteria_set").first()
    if link is not None:
        current = link.criteria_set
        following = (
            CriteriaSet.objects.filter(cloned_from=current, year=created.year).first()
            or CriteriaSet.objects.filter(superior=current.superior, year=created.year, name=current.name).first()
            or clone_criteria_set(source=current, year=created.year)
        )
        attach_criteria_set(cluster_year=created, criteria_set=following)
    return created


# --- sheets: the unit ---------------------------------------------------------------------------


def criteria_set_for(cluster_year: ClusterYear) -> CriteriaSet | None:
    link = ClusterYearSet.objects.filter(cluster_year=cluster_year).select_related("criteria_set").first()
    return link.criteria_set if link else None


def is_open_for_unit(cluster_year: ClusterYear, sheet: Sheet | None, today: datetime.date) -> bool:
    """Whether the unit may change its sheet now (see the module docstring)."""
    if cluster_year.phase not in EDITABLE_PHASES:
        return False
    status = sheet.status if sheet is not None else Sheet.Status.DRAFT
    if status == Sheet.Status.RETURNED:
        return True
    if status != Sheet.Status.DRAFT:
        return False
    reopened = sheet.reopened_until if sheet is not None else None
    if reopened is not None and today <= reopened:
        return True
    due = cluster_year.self_assessment_due
    return cluster_year.phase == ClusterYear.Phase.SCORING and (due is None or today <= due)


def _event(sheet, kind, by, now, *, criterion=None, old="", new="", reason="") -> ScoreEvent:
    return ScoreEvent(
        sheet=sheet, criterion=criterion, kind=kind, old_value=old, new_value=new, reason=reason, by=by, at=now
    )


def _lock_sheet(cluster_year: ClusterYear, unit: Unit) -> Sheet:
    """
    The unit's sheet under a row lock, created with a blank score per leaf
    criterion if missing. The cluster year's row is locked first, so a save and
    a change of the year's phase (closing the scoring) never interleave; the
    members of one cluster queue behind each other, which is a handful of units.
    """
    cluster_year = ClusterYear.objects.select_for_update().get(pk=cluster_year.pk)
    # Only the sheet's row: the default ordering would join (and lock) its unit and cluster too.
    sheet = Sheet.objects.select_for_update(of=("self",)).filter(cluster_year=cluster_year, unit=unit).order_by().first()
    if sheet is not None:
        sheet.cluster_year = cluster_year  # the row just locked, not read again
        return sheet
    if not cluster_year.memberships.filter(unit=unit).exists():
        raise ValidationError(NOT_A_MEMBER)
    link = ClusterYearSet.objects.filter(cluster_year=cluster_year).first()
    if link is None:
        raise ValidationError(NO_CRITERIA_SET)
    sheet = Sheet.objects.create(cluster_year=cluster_year, unit=unit, criteria_set_id=link.criteria_set_id, version=0)
    leaves = link.criteria_set.criteria.exclude(kind=Criterion.Kind.GROUP)
    Score.objects.bulk_create([Score(sheet=sheet, criterion=c) for c in leaves])
    return sheet


def _check_version(sheet: Sheet, version: int) -> None:
    if sheet.version != version:
        last = sheet.events.select_related("by").order_by("-at", "-pk").first()
        raise SheetConflict(sheet, (last.by.get_full_name() or last.by.username) if last else str(ANOTHER_USER))


def _bump(sheet: Sheet, **fields) -> Sheet:
    for name, value in fields.items():
        setattr(sheet, name, value)
    sheet.version += 1
    sheet.save(update_fields=["version", *fields])
    return sheet


@transaction.atomic
def save_self_assessment(
    *,
    cluster_year: ClusterYear,
    unit: Unit,
    entries: dict[int, Entry],
    version: int,
    by: User,
    now: datetime.datetime,
    today: datetime.date,
    remove_evidence: set[int] = frozenset(),
    reason: str = "",
) -> Sheet:
    """
    Save the unit's points, notes, answers and files, all or nothing. ``entries``
    is keyed by criterion id; criteria left out keep their values. Errors come
    back as one ValidationError keyed ``points_<id>``, ``files_<id>`` …, matching
    the form's fields.
    """
    sheet = _lock_sheet(cluster_year, unit)
    _check_version(sheet, version)
    if not is_open_for_unit(sheet.cluster_year, sheet, today):
        raise ValidationError(SHEET_CLOSED)
    # A dict: unordered, as the default ordering would join the sheet, its unit, year and cluster.
    scores = {s.criterion_id: s for s in sheet.scores.select_related("criterion").order_by()}
    errors: dict[str, list] = {}
    parsed: dict[int, Decimal | None] = {}
    for criterion_id, entry in entries.items():
        score = scores.get(criterion_id)
        if score is None:
            continue
        try:
            parsed[criterion_id] = validate_points(score.criterion, entry.points)
        except ValidationError as error:
            errors[f"points_{criterion_id}"] = error.messages
        for upload in entry.files:
            try:
                validate_evidence_file(upload)
            except ValidationError as error:
                errors.setdefault(f"files_{criterion_id}", []).extend(error.messages)
    if errors:
        raise ValidationError(errors)
    # Checked open above, under the year's lock: the frozen-year guard need not read the year again.
    with locked_open(sheet.cluster_year):
        events, updated, fields = [], [], set()
        for criterion_id, entry in entries.items():
            score = scores.get(criterion_id)
            if score is None:
                continue
            criterion = score.criterion
            changed = []
            if parsed[criterion_id] != score.self_points:
                events.append(_event(sheet, ScoreEvent.Kind.SELF_POINTS, by, now, criterion=criterion, reason=reason,
                                     old=format_points(score.self_points), new=format_points(parsed[criterion_id])))
                score.self_points = parsed[criterion_id]
                changed.append("self_points")
            if entry.note != score.note:
                events.append(_event(sheet, ScoreEvent.Kind.NOTE, by, now, criterion=criterion, old=score.note,
                                     new=entry.note, reason=reason))
                score.note = entry.note
                changed.append("note")
            if entry.answer is not None and sheet.status == Sheet.Status.RETURNED and entry.answer != score.answer:
                events.append(_event(sheet, ScoreEvent.Kind.ANSWER, by, now, criterion=criterion, old=score.answer,
                                     new=entry.answer))
                score.answer = entry.answer
                changed.append("answer")
            if changed:
                updated.append(score)
                fields.update(changed)
            for upload in entry.files:
                evidence = Evidence(score=score, original_name=upload.name[:255], size=upload.size, uploaded_by=by,
                                    uploaded_at=now)
                evidence.file.save(upload.name, upload, save=False)
                evidence.save()
                events.append(_event(sheet, ScoreEvent.Kind.EVIDENCE_ADDED, by, now, criterion=criterion,
                                     new=evidence.original_name))
        if remove_evidence:
            for evidence in Evidence.objects.filter(
                pk__in=remove_evidence, score__sheet=sheet, removed_at__isnull=True
            ).select_related("score__criterion"):
                evidence.removed_at = now
                evidence.save(update_fields=["removed_at"])
                events.append(_event(sheet, ScoreEvent.Kind.EVIDENCE_REMOVED, by, now,
                                     criterion=evidence.score.criterion, old=evidence.original_name))
        if updated:  # one UPDATE for every changed score of the sheet, not one per score
            Score.objects.bulk_update(updated, sorted(fields))
        ScoreEvent.objects.bulk_create(events)
        return _bump(sheet)


def completeness_errors(sheet: Sheet) -> dict[str, list]:
    """What stops a submission: blank standard points, missing required evidence."""
    errors = {}
    # The default ordering's order (the sheet's, then the criteria's) without joining the sheet's unit and cluster.
    scores = sheet.scores.select_related("criterion").prefetch_related("evidence").order_by("criterion__sort_key")
    for score in scores:
        criterion = score.criterion
        if score.self_points is None and criterion.kind == Criterion.Kind.STANDARD:
            errors[f"points_{criterion.pk}"] = [str(MISSING_POINTS)]
        live_files = [e for e in score.evidence.all() if e.removed_at is None]
        if criterion.evidence_required and (score.self_points or 0) > 0 and not live_files:
            errors[f"files_{criterion.pk}"] = [str(MISSING_EVIDENCE)]
    return errors


@transaction.atomic
def submit_sheet(*, cluster_year: ClusterYear, unit: Unit, version: int, by: User, now, today) -> Sheet:
    sheet = _lock_sheet(cluster_year, unit)
    _check_version(sheet, version)
    if not is_open_for_unit(sheet.cluster_year, sheet, today):
        raise ValidationError(SHEET_CLOSED)
    errors = completeness_errors(sheet)
    if errors:
        raise ValidationError(errors)
    old = sheet.status
    ScoreEvent.objects.create(sheet=sheet, kind=ScoreEvent.Kind.STATUS, old_value=old,
                              new_value=Sheet.Status.SUBMITTED, by=by, at=now)
    with locked_open(sheet.cluster_year):  # checked open above, under the year's lock
        return _bump(sheet, status=Sheet.Status.SUBMITTED, submitted_at=now, reopened_until=None)


# --- sheets: the review -------------------------------------------------------------------------


@dataclass
class Decision:
    """What the reviewer typed for one criterion: official points (raw) and the reason."""

    points: object = None
    reason: str = ""


def _lock_year_then_sheet(sheet: Sheet) -> Sheet:
    """
    The sheet under a row lock, its cluster year locked first: every writer of a
    sheet takes the two locks in this order (``_lock_sheet`` too), so two of them
    never wait for each other crosswise (a deadlock), and closing the scoring,
    which locks the year, waits for a review in progress or goes before it.
    """
    ClusterYear.objects.select_for_update().get(pk=sheet.cluster_year_id)  # a sheet never changes year
    return Sheet.objects.select_for_update(of=("self",)).select_related("cluster_year").get(pk=sheet.pk)


def _lock_for_review(sheet: Sheet, version: int | None) -> Sheet:
    sheet = _lock_year_then_sheet(sheet)
    if version is not None:
        _check_version(sheet, version)
    if sheet.status != Sheet.Status.SUBMITTED or sheet.cluster_year.phase not in EDITABLE_PHASES:
        raise ValidationError(NOT_UNDER_REVIEW)
    return sheet


def _set_official(sheet, score, points, reason, by, now) -> ScoreEvent | None:
    if points == score.official_points and reason == score.official_reason:
        return None
    event = _event(sheet, ScoreEvent.Kind.OFFICIAL_POINTS, by, now, criterion=score.criterion,
                   old=format_points(score.official_points), new=format_points(points), reason=reason)
    score.official_points = points
    score.official_reason = reason
    score.save(update_fields=["official_points", "official_reason"])
    return event


def _parse_decisions(scores: dict[int, Score], decisions: dict[int, Decision]) -> dict[int, tuple]:
    """Validate every typed official score at once; errors keyed ``official_<id>`` / ``reason_<id>``."""
    parsed, errors = {}, {}
    for criterion_id, decision in decisions.items():
        score = scores.get(criterion_id)
        if score is None:
            continue
        try:
            points = validate_points(score.criterion, decision.points)
        except ValidationError as error:
            errors[f"official_{criterion_id}"] = error.messages
            continue
        if points is None:
            continue  # left blank: nothing decided yet
        reason = (decision.reason or "").strip()
        if points != (score.self_points or ZERO) and not reason:
            errors[f"reason_{criterion_id}"] = [str(REASON_REQUIRED)]
            continue
        parsed[criterion_id] = (points, reason)
    if errors:
        raise ValidationError(errors)
    return parsed


@transaction.atomic
def review_sheet(
    *,
    sheet: Sheet,
    by: User,
    now: datetime.datetime,
    version: int | None = None,
    decisions: dict[int, Decision] | None = None,
    accept: Criterion | None = None,
    accept_rest: bool = False,
    comments: dict[int, str] | None = None,
    message: str = "",
    outcome: str | None = None,
) -> Sheet:
    """
    One review step, all or nothing: record the typed official points (a reason
    where they differ from the unit's), accept the unit's points for one
    criterion or for every criterion still open, then optionally end with
    ``outcome`` "returned" (comments to the unit) or "approved" (every
    criterion must have official points).
    """
    sheet = _lock_for_review(sheet, version)
    scores = {s.criterion_id: s for s in sheet.scores.select_related("criterion")}
    decisions = {cid: d for cid, d in (decisions or {}).items() if accept is None or cid != accept.pk}
    parsed = _parse_decisions(scores, decisions)
    events = [_set_official(sheet, scores[cid], points, reason, by, now) for cid, (points, reason) in parsed.items()]
    for score in scores.values():
        take = (accept is not None and score.criterion_id == accept.pk) or (
            accept_rest and score.official_points is None
        )
        if take:
            events.append(_set_official(sheet, score, score.self_points or ZERO, "", by, now))
    changes = {}
    if outcome == Sheet.Status.RETURNED:
        comments = {cid: text.strip() for cid, text in (comments or {}).items() if text.strip() and cid in scores}
        if not comments and not message.strip():
            raise ValidationError(RETURN_NEEDS_COMMENT)
        for cid, text in comments.items():
            score = scores[cid]
            if text != score.comment:
                events.append(_event(sheet, ScoreEvent.Kind.COMMENT, by, now, criterion=score.criterion,
                                     old=score.comment, new=text))
                score.comment = text
                score.save(update_fields=["comment"])
        changes = {"status": Sheet.Status.RETURNED, "return_message": message.strip()}
    elif outcome == Sheet.Status.APPROVED:
        missing = sorted(
            (s.criterion.sort_key, s.criterion.code) for s in scores.values() if s.official_points is None
        )
        if missing:
            raise ValidationError(OFFICIAL_MISSING % {"codes": ", ".join(code for _, code in missing)})
        changes = {"status": Sheet.Status.APPROVED, "approved_at": now, "approved_by": by}
    if changes:
        events.append(_event(sheet, ScoreEvent.Kind.STATUS, by, now, old=sheet.status, new=changes["status"],
                             reason=message.strip()))
    ScoreEvent.objects.bulk_create([e for e in events if e is not None])
    return _bump(sheet, **changes)


def set_official_points(*, sheet: Sheet, criterion: Criterion, points, reason: str, by: User, now) -> Sheet:
    return review_sheet(sheet=sheet, by=by, now=now, decisions={criterion.pk: Decision(points, reason)})


def accept_self_points(*, sheet: Sheet, by: User, now, criterion: Criterion | None = None) -> Sheet:
    """Take the unit's points as official: for one criterion, or for every criterion not yet set."""
    return review_sheet(sheet=sheet, by=by, now=now, accept=criterion, accept_rest=criterion is None)


def return_sheet(*, sheet: Sheet, comments: dict[int, str], message: str, by: User, now) -> Sheet:
    return review_sheet(sheet=sheet, by=by, now=now, comments=comments, message=message, outcome=Sheet.Status.RETURNED)


def approve_sheet(*, sheet: Sheet, by: User, now) -> Sheet:
    return review_sheet(sheet=sheet, by=by, now=now, outcome=Sheet.Status.APPROVED)


# --- closing the scoring: frozen results ------------------------------------------------------


def _checksum(cluster_year: ClusterYear, criteria_set_id: int, rows: list) -> str:
    """SHA-256 of the results as canonical JSON: the documents print it, anyone can recompute it."""
    payload = {
        "cluster_year": cluster_year.pk,
        "criteria_set": criteria_set_id,
        "results": [
            [r.unit.pk, r.unit.name, str(r.standard), str(r.bonus), str(r.deduction), str(r.total),
             {k: str(v) for k, v in sorted(r.groups.items())}, r.rank, r.tied, r.band]
            for r in rows
        ],
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _freeze(cluster_year: ClusterYear, *, by: User, now, reason: str) -> ResultSnapshot:
    ranking = live_ranking(cluster_year)
    number = (cluster_year.snapshots.aggregate(n=Max("number"))["n"] or 0) + 1
    # Snapshots are never edited; superseding one is the single allowed change, made in SQL.
    cluster_year.snapshots.filter(is_current=True).supersede()
    snapshot = ResultSnapshot.objects.create(
        cluster_year=cluster_year, criteria_set=ranking.criteria_set, number=number, is_current=True,
        created_at=now, created_by=by, reason=reason,
        checksum=_checksum(cluster_year, ranking.criteria_set.pk, ranking.rows),
    )
    Result.objects.bulk_create([
        Result(snapshot=snapshot, unit=r.unit, standard=r.standard, bonus=r.bonus, deduction=r.deduction,
               total=r.total, groups={k: str(v) for k, v in r.groups.items()}, rank=r.rank, tied=r.tied,
               band=r.band, separated_by=r.separated_by, gap=r.gap)
        for r in ranking.rows
    ])
    return snapshot


@transaction.atomic
def close_scoring(*, cluster_year: ClusterYear, by: User, now, reason: str = "") -> ResultSnapshot:
    """
    Freeze the year's results and move it to the conference. Every member's
    sheet must be approved. The cluster year's row lock makes a concurrent
    sheet save either land before the snapshot or find the year closed.
    """
    cluster_year = ClusterYear.objects.select_for_update().select_related("cluster").get(pk=cluster_year.pk)
    if cluster_year.phase not in EDITABLE_PHASES:
        raise ValidationError(NOT_CLOSABLE % {"phase": cluster_year.get_phase_display()})
    if criteria_set_for(cluster_year) is None:
        raise ValidationError(NO_CRITERIA_SET)
    pending = list(
        cluster_year.memberships.exclude(
            unit__in=Sheet.objects.filter(cluster_year=cluster_year, status=Sheet.Status.APPROVED).values("unit")
        ).order_by("unit__name").values_list("unit__name", flat=True)
    )
    if pending:
        raise ValidationError(SHEETS_PENDING % {"units": ", ".join(pending)})
    snapshot = _freeze(cluster_year, by=by, now=now, reason=reason)
    while cluster_year.phase != ClusterYear.Phase.CONFERENCE:
        cluster_year = cluster_services.advance_phase(
            cluster_year=cluster_year, by=by, now=now, reason=reason or str(SCORING_CLOSED), through_flow=True
        )
    audit.record(by, audit.Action.SCORING_CLOSED, cluster_year, reason=reason, when=now,
                 detail={"snapshot": snapshot.number, "checksum": snapshot.checksum})
    return snapshot


@transaction.atomic
def close_scoring_year(*, superior, year: int, by: User, now, reason: str = "") -> list[ResultSnapshot]:
    """
    ``close_scoring`` for every cluster year of ``superior`` in ``year`` that is
    ready (in self-assessment or review, with a criteria set, every member's
    sheet approved), in one transaction and a constant number of queries: the
    same snapshots, results, phase changes with their history, and audit rows.
    The cluster years not ready are skipped, untouched (``close_scoring`` would
    refuse each of them alone; the others need not wait for them). Returns the
    new snapshots, in the order of the cluster years' ids.
    """
    years = list(
        ClusterYear.objects.select_for_update().select_related("cluster")
        .filter(cluster__superior=superior, year=year).order_by("pk")
    )
    open_years = [cy for cy in years if cy.phase in EDITABLE_PHASES]
    ids = [cy.pk for cy in open_years]
    sets = {link.cluster_year_id: link.criteria_set for link in
            ClusterYearSet.objects.filter(cluster_year_id__in=ids).select_related("criteria_set")}
    approved = Sheet.objects.filter(cluster_year_id=OuterRef("cluster_year_id"), unit_id=OuterRef("unit_id"),
                                    status=Sheet.Status.APPROVED)
    pending = set(Membership.objects.filter(cluster_year_id__in=ids).filter(~Exists(approved))
                  .values_list("cluster_year_id", flat=True).distinct())
    ready = [cy for cy in open_years if cy.pk in sets and cy.pk not in pending]
    if not ready:
        return []
    sets = {cy.pk: sets[cy.pk] for cy in ready}
    rankings = live_rankings(sets)
    numbers = dict(ResultSnapshot.objects.filter(cluster_year_id__in=list(sets)).values("cluster_year_id")
                   .annotate(n=Max("number")).order_by().values_list("cluster_year_id", "n"))
    ResultSnapshot.objects.filter(cluster_year_id__in=list(sets), is_current=True).supersede()
    snapshots = ResultSnapshot.objects.bulk_create([
        ResultSnapshot(
            cluster_year=cy, criteria_set=sets[cy.pk], number=(numbers.get(cy.pk) or 0) + 1, is_current=True,
            created_at=now, created_by=by, reason=reason,
            checksum=_checksum(cy, sets[cy.pk].pk, rankings[cy.pk]),
        )
        for cy in ready
    ])
    Result.objects.bulk_create([
        Result(snapshot=snapshot, unit=r.unit, standard=r.standard, bonus=r.bonus, deduction=r.deduction,
               total=r.total, groups={k: str(v) for k, v in r.groups.items()}, rank=r.rank, tied=r.tied,
               band=r.band, separated_by=r.separated_by, gap=r.gap)
        for snapshot in snapshots for r in rankings[snapshot.cluster_year_id]
    ])
    # bulk_create sends no post_save: the cached closed-year pages must learn of these snapshots (their
    # own year's and the next year's, which shows these ranks as last year's).
    new_frozen_generation()
    # The phase steps ``advance_phase`` takes one by one, written in bulk: trail, history, audit.
    step_reason = reason or str(SCORING_CLOSED)
    changes, states, events = [], [], []
    for cy, snapshot in zip(ready, snapshots, strict=True):
        while cy.phase != ClusterYear.Phase.CONFERENCE:
            target = cy.next_phase
            changes.append(PhaseChange(cluster_year=cy, from_phase=cy.phase, to_phase=target, changed_by=by,
                                       changed_at=now, reason=step_reason))
            events.append(audit.build(by, audit.Action.PHASE_CHANGED, cy, reason=step_reason, when=now,
                                      detail={"from": cy.phase, "to": target}))
            cy.phase = target
            states.append(copy.copy(cy))
        events.append(audit.build(by, audit.Action.SCORING_CLOSED, cy, reason=reason, when=now,
                                  detail={"snapshot": snapshot.number, "checksum": snapshot.checksum}))
    PhaseChange.objects.bulk_create(changes)
    ClusterYear.objects.filter(pk__in=list(sets)).update(phase=ClusterYear.Phase.CONFERENCE)
    ClusterYear.history.bulk_history_create(
        states, update=True, default_user=by, default_change_reason=step_reason
    )
    AuditEvent.objects.bulk_create(events)
    return snapshots


@transaction.atomic
def amend_official_points(
    *, sheet: Sheet, criterion: Criterion, points, reason: str, by: User, now
) -> ResultSnapshot:
    """
    Correct an official score after scoring was closed: the reason is mandatory,
    the change is recorded in the sheet's trail, and a new snapshot replaces the
    current one (which is kept).
    """
    sheet = _lock_year_then_sheet(sheet)
    cluster_year = sheet.cluster_year
    if cluster_year.phase not in (ClusterYear.Phase.CONFERENCE, ClusterYear.Phase.CLOSED):
        raise ValidationError(NOT_AMENDABLE)
    score = sheet.scores.select_related("criterion").get(criterion=criterion)
    try:
        official = validate_points(score.criterion, points)
    except ValidationError as error:
        raise ValidationError({"points": error.messages}) from None
    if official is None:
        raise ValidationError({"points": [str(MISSING_POINTS)]})
    if not reason.strip():
        raise ValidationError({"reason": [str(AMENDMENT_REASON)]})
    ScoreEvent.objects.create(
        sheet=sheet, criterion=score.criterion, kind=ScoreEvent.Kind.AMENDED, by=by, at=now,
        old_value=format_points(score.official_points), new_value=format_points(official), reason=reason.strip(),
    )
    old_points = score.official_points
    score.official_points = official
    score.official_reason = reason.strip()
    with amendment():  # the one writer allowed into a frozen year's scores
        score.save(update_fields=["official_points", "official_reason"])
        _bump(sheet)
    snapshot = _freeze(cluster_year, by=by, now=now, reason=reason.strip())
    audit.record(by, audit.Action.POINTS_AMENDED, sheet, reason=reason.strip(), when=now,
                 detail={"criterion": score.criterion.code, "old": format_points(old_points),
                         "new": format_points(official), "snapshot": snapshot.number})
    return snapshot


@transaction.atomic
def reopen_sheet(*, sheet: Sheet, until: datetime.date, reason: str, by: User, now) -> Sheet:
    """Let the unit edit again until ``until`` (past the deadline, or after submitting)."""
    sheet = _lock_year_then_sheet(sheet)
    if sheet.status not in (Sheet.Status.DRAFT, Sheet.Status.SUBMITTED) or sheet.cluster_year.phase not in EDITABLE_PHASES:
        raise ValidationError(NOT_REOPENABLE)
    ScoreEvent.objects.create(sheet=sheet, kind=ScoreEvent.Kind.REOPENED, old_value=sheet.status,
                              new_value=until.isoformat(), reason=reason, by=by, at=now)
    return _bump(sheet, status=Sheet.Status.DRAFT, reopened_until=until)
