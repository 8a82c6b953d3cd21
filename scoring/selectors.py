"""
Reads for criteria and sheets, with totals computed in SQL.

Total of a sheet = standard points + min(bonus points, the set's bonus cap)
− min(deduction points, the set's deduction cap), for the unit's points
(``self_*``) and the cluster's (``official_*``) alike. Points are integer
hundredths in the database, so every sum is exact on SQLite and PostgreSQL.
A group's subtotal is the signed sum of the leaves under it (deductions count
negative), before caps.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Least

from clusters.models import ClusterYear, Unit
from clusters.selectors import members_ordered

from .fields import PointsField
from .models import ClusterYearSet, CriteriaSet, Criterion, Evidence, Result, Score, ScoreEvent, Sheet

ZERO = Decimal("0.00")
K = Criterion.Kind


def _kind_ids(kind: str) -> QuerySet:
    return Criterion.objects.filter(kind=kind).values("pk")


def totals_annotations(
    *, bonus_ids=None, deduction_ids=None, sides=("self", "official"), prefix: str = "scores__"
) -> dict:
    """
    The totals of a sheet as aggregates over its scores, for one GROUP BY pass:
    ``{self,official}_{standard,bonus,deduction,total}``. A sheet's scores are
    its leaf criteria, so standard = every score − bonus − deduction: one plain
    sum and two filtered ones, no join to the criteria. ``bonus_ids`` and
    ``deduction_ids`` are the criteria of those kinds (a list of ids, cheapest
    for a large tally, or by default a subquery on the kind); ``sides`` limits
    the sums to the unit's points ("self") or the cluster's ("official").
    """
    # No criterion has id 0: an empty list of a kind sums nothing (``IN ()`` is not SQL).
    bonus = _kind_ids(K.BONUS) if bonus_ids is None else (list(bonus_ids) or [0])
    deduction = _kind_ids(K.DEDUCTION) if deduction_ids is None else (list(deduction_ids) or [0])
    annotations = {}
    for side in sides:
        column = f"{prefix}{side}_points"
        every = _points(Sum(column))
        bonus_sum = _points(Sum(column, filter=Q(**{f"{prefix}criterion_id__in": bonus})))
        deduction_sum = _points(Sum(column, filter=Q(**{f"{prefix}criterion_id__in": deduction})))
        annotations[f"{side}_standard"] = _as_points(every - bonus_sum - deduction_sum)
        annotations[f"{side}_bonus"] = bonus_sum
        annotations[f"{side}_deduction"] = deduction_sum
    return annotations


def _points(aggregate) -> Coalesce:
    return Coalesce(aggregate, Value(0), output_field=PointsField())


def total_expression(side: str, caps: str = "criteria_set__") -> ExpressionWrapper:
    """standard + min(bonus, the set's bonus cap) − min(deduction, the set's deduction cap)."""
    return _as_points(
        F(f"{side}_standard")
        + Least(F(f"{side}_bonus"), F(f"{caps}bonus_cap"))
        - Least(F(f"{side}_deduction"), F(f"{caps}deduction_cap"))
    )


def annotate_totals(qs: QuerySet[Sheet], *, bonus_ids=None, deduction_ids=None) -> QuerySet[Sheet]:
    """
    Add ``{self,official}_{standard,bonus,deduction,total}`` and the ``filled``
    count (scores with the unit's points) to sheets: one grouped join of the
    scores (``totals_annotations``), whatever the number of sheets. Nothing
    joining another many-valued relation may be chained after it.
    """
    qs = qs.annotate(**totals_annotations(bonus_ids=bonus_ids, deduction_ids=deduction_ids))
    return qs.annotate(
        self_total=total_expression("self"),
        official_total=total_expression("official"),
        filled=Count("scores", filter=Q(scores__self_points__isnull=False)),
    )


def _as_points(expression) -> ExpressionWrapper:
    return ExpressionWrapper(expression, output_field=PointsField())


def criteria_set_of(cluster_year: ClusterYear) -> CriteriaSet | None:
    link = ClusterYearSet.objects.filter(cluster_year=cluster_year).select_related("criteria_set").first()
    return link.criteria_set if link else None


def leaf_criteria_of(cluster_year: ClusterYear) -> list[Criterion]:
    """The leaf criteria of the cluster year's set in order (the inputs of its sheets): one query."""
    return list(
        Criterion.objects.filter(criteria_set__cluster_years__cluster_year=cluster_year)
        .exclude(kind=K.GROUP)
        .order_by("sort_key")
    )


def sheet_of(cluster_year: ClusterYear, unit: Unit) -> Sheet | None:
    """The unit's sheet alone: no totals, and none of the joins of the default ordering (one sheet at most)."""
    return Sheet.objects.filter(cluster_year=cluster_year, unit=unit).order_by("pk").first()


def live_evidence(sheet: Sheet | None) -> QuerySet[Evidence]:
    """The sheet's files not removed, oldest first (lazy: read when iterated)."""
    if sheet is None:
        return Evidence.objects.none()
    return Evidence.objects.filter(score__sheet=sheet, removed_at__isnull=True)


@dataclass
class Row:
    """One line of a sheet as shown: a group or a leaf criterion with its score, files and trail."""

    criterion: Criterion
    score: Score | None = None
    evidence: list[Evidence] = field(default_factory=list)
    events: list[ScoreEvent] = field(default_factory=list)
    self_subtotal: Decimal = ZERO
    official_subtotal: Decimal = ZERO

    @property
    def difference(self) -> Decimal | None:
        if self.score is None or self.score.official_points is None:
            return None
        return self.score.official_points - (self.score.self_points or ZERO)


def sheet_rows(criteria_set: CriteriaSet, sheet: Sheet | None, *, trail: bool = True) -> list[Row]:
    """
    The tree in order with each leaf's score, live evidence and events, and each
    group's subtotals: four queries whatever the number of criteria (three
    without the ``trail`` of events, which a save does not show).
    """
    criteria = list(criteria_set.criteria.order_by("sort_key"))
    scores, evidence, events = {}, {}, {}
    if sheet is not None:
        scores = {s.criterion_id: s for s in Score.objects.filter(sheet=sheet).order_by()}  # a dict: no joins to order
        for item in Evidence.objects.filter(score__sheet=sheet, removed_at__isnull=True).select_related("score"):
            evidence.setdefault(item.score.criterion_id, []).append(item)
        if trail:
            for event in ScoreEvent.objects.filter(sheet=sheet, criterion__isnull=False).select_related("by"):
                events.setdefault(event.criterion_id, []).append(event)
    rows = [Row(c, scores.get(c.pk), evidence.get(c.pk, []), events.get(c.pk, [])) for c in criteria]
    by_code = {row.criterion.code: row for row in rows}
    # Subtotals over one fetched list: each leaf adds its signed points to its ancestors.
    for row in rows:
        if row.criterion.is_group or row.score is None:
            continue
        sign = -1 if row.criterion.kind == K.DEDUCTION else 1
        code = row.criterion.parent_code
        while code is not None:
            parent = by_code[code]
            parent.self_subtotal += sign * (row.score.self_points or ZERO)
            parent.official_subtotal += sign * (row.score.official_points or ZERO)
            code = parent.criterion.parent_code
    return rows


def sheet_with_totals(cluster_year: ClusterYear, unit: Unit) -> Sheet | None:
    return (
        annotate_totals(Sheet.objects.filter(cluster_year=cluster_year, unit=unit))
        .select_related("criteria_set", "approved_by")
        .first()
    )


def review_list(cluster_year: ClusterYear) -> list[dict]:
    """
    Every member of the cluster year with its sheet (or none yet), status,
    totals, and the three criteria where official and self points differ most.
    """
    members = list(members_ordered().filter(cluster_year=cluster_year))
    sheets = {
        s.unit_id: s
        for s in annotate_totals(Sheet.objects.filter(cluster_year=cluster_year)).select_related("criteria_set")
    }
    differing = (
        Score.objects.filter(sheet__cluster_year=cluster_year, official_points__isnull=False)
        .annotate(gap=_as_points(F("official_points") - Coalesce(F("self_points"), Value(0))))
        .exclude(gap=0)
        .select_related("criterion", "sheet")
        .order_by("sheet_id", "criterion__sort_key")
    )
    gaps: dict[int, list[Score]] = {}
    for score in differing:
        gaps.setdefault(score.sheet.unit_id, []).append(score)
    return [
        {
            "membership": m,
            "sheet": sheets.get(m.unit_id),
            "gaps": sorted(gaps.get(m.unit_id, []), key=lambda s: -abs(s.gap))[:3],
        }
        for m in members
    ]


# --- results across years and clusters ------------------------------------------------------------


def unit_results(unit: Unit) -> QuerySet:
    """The unit's frozen results, one per closed year (current snapshots), oldest first."""
    return (
        Result.objects.filter(unit=unit, snapshot__is_current=True)
        .select_related("snapshot__cluster_year__cluster")
        .order_by("snapshot__cluster_year__year")
    )


@dataclass
class CriterionChange:
    code: str
    title: str
    before: Decimal
    after: Decimal

    @property
    def change(self) -> Decimal:
        return self.after - self.before


def criteria_changes(unit: Unit, *, limit: int = 5) -> tuple[list[CriterionChange], list[CriterionChange], tuple]:
    """
    Between the unit's two latest approved sheets, the criteria (matched by code)
    where its official points rose most and fell most; deductions count negative.
    Returns (gains, losses, (earlier year, later year)).
    """
    sheets = list(
        Sheet.objects.filter(unit=unit, status=Sheet.Status.APPROVED)
        .select_related("cluster_year")
        .order_by("-cluster_year__year")[:2]
    )
    if len(sheets) < 2:
        return [], [], ()
    later, earlier = sheets
    points: dict[int, dict[str, tuple[str, Decimal]]] = {later.pk: {}, earlier.pk: {}}
    for score in Score.objects.filter(sheet__in=sheets).select_related("criterion"):
        sign = -1 if score.criterion.kind == K.DEDUCTION else 1
        points[score.sheet_id][score.criterion.code] = (score.criterion.title, sign * (score.official_points or ZERO))
    changes = [
        CriterionChange(code, title, points[earlier.pk][code][1], value)
        for code, (title, value) in points[later.pk].items()
        if code in points[earlier.pk] and value != points[earlier.pk][code][1]
    ]
    gains = sorted((c for c in changes if c.change > 0), key=lambda c: (-c.change, c.code))[:limit]
    losses = sorted((c for c in changes if c.change < 0), key=lambda c: (c.change, c.code))[:limit]
    return gains, losses, (earlier.cluster_year.year, later.cluster_year.year)


def period_results(superior, first: int, last: int) -> QuerySet:
    """Frozen results of every cluster of ``superior`` from ``first`` to ``last``: one query."""
    return (
        Result.objects.filter(
            snapshot__is_current=True,
            snapshot__cluster_year__cluster__superior=superior,
            snapshot__cluster_year__year__gte=first,
            snapshot__cluster_year__year__lte=last,
        )
        .select_related("unit", "snapshot__cluster_year__cluster")
        .order_by("snapshot__cluster_year__cluster__name", "snapshot__cluster_year__year", "rank", "unit__name")
    )


def period_table(results, span: list[int]) -> dict:
    """
    Arrange one fetched list of results as two tables over ``span``: per unit
    (its cluster, rank, total and band each year) and per cluster (its leader
    each year).
    """
    units: dict[int, dict] = {}
    clusters: dict[int, dict] = {}
    for r in results:
        cy = r.snapshot.cluster_year
        line = units.setdefault(r.unit_id, {"unit": r.unit, "years": {year: None for year in span}})
        line["years"][cy.year] = r
        entry = clusters.setdefault(cy.cluster_id, {"cluster": cy.cluster, "years": {year: [] for year in span}})
        if r.rank == 1:
            entry["years"][cy.year].append(r)
    by_name = lambda item: item["unit"].name if "unit" in item else item["cluster"].name  # noqa: E731
    return {
        "unit_rows": sorted(units.values(), key=by_name),
        "cluster_rows": sorted(clusters.values(), key=by_name),
    }
