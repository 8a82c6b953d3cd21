"""
Ranking a cluster year (Tabbycat's semantics: precedence, ties as data).

- Total = official standard points + min(bonus, the set's bonus cap)
  − min(deductions, the set's deduction cap) (``selectors.annotate_totals``).
- Order: total, descending, then the criteria set's tie-break rules in their
  order (default: higher standard subtotal, then fewer deduction points).
  Units equal on every rule share the rank ("2=") and are flagged ``tied``.
  Never random.
- Rank, tie flag, band and the neighbour's values come from the database
  (window functions ``RANK``, ``COUNT … OVER (PARTITION BY …)`` and ``LAG``);
  Python only reads the one fetched list to name the rule that separated two
  neighbours.
- Bands: Excellent ≥ 90, Good ≥ 80, Fair ≥ 65, Average ≥ 50, else Weak, with
  the thresholds stored on the criteria set.
- Before scoring is closed the ranking is provisional: approved sheets only.
  Once closed, the current ``ResultSnapshot`` is the ranking.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Sum, Value, When, Window
from django.db.models.functions import Coalesce, Lag, Rank

from django.utils.translation import gettext_lazy as _

from clusters.models import ClusterYear, Membership, Unit
from clusters.selectors import overview_clusters

from .fields import PointsField
from .models import Band, CriteriaSet, Criterion, Result, ResultSnapshot, Score, Sheet, TieBreak
from .selectors import annotate_totals, criteria_set_of

ZERO = Decimal("0.00")

# Each rule: the annotation it compares and whether a higher value ranks first.
RULES = {
    "total": ("official_total", True),
    TieBreak.STANDARD: ("official_standard", True),
    TieBreak.FEWER_DEDUCTIONS: ("official_deduction", False),
    TieBreak.BONUS: ("official_bonus", True),
}
SHARED = "shared"  # separated_by value of a unit tied with the one above


@dataclass
class RankedRow:
    unit: Unit
    standard: Decimal
    bonus: Decimal
    deduction: Decimal
    total: Decimal
    rank: int
    tied: bool
    band: str
    separated_by: str = ""  # the rule that put the unit below the one above ("" for the first)
    gap: Decimal | None = None  # points behind the unit above
    groups: dict[str, Decimal] = field(default_factory=dict)
    previous_rank: int | None = None
    sheet_id: int | None = None

    @property
    def band_label(self) -> str:
        return Band(self.band).label

    @property
    def rank_display(self) -> str:
        return f"{self.rank}=" if self.tied else str(self.rank)

    @property
    def separated_label(self) -> str:
        return separated_label(self.separated_by)

    @property
    def rank_change(self) -> int | None:
        """Places gained since last year (positive = up)."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


@dataclass
class Ranking:
    cluster_year: ClusterYear
    criteria_set: CriteriaSet | None
    rows: list[RankedRow]
    is_final: bool
    pending: int  # members without an approved sheet (provisional only)
    snapshot: ResultSnapshot | None = None
    groups: list[Criterion] = field(default_factory=list)


def band_case(total: str = "official_total", prefix: str = "criteria_set__") -> Case:
    return Case(
        When(**{f"{total}__gte": F(f"{prefix}band_excellent")}, then=Value(Band.EXCELLENT)),
        When(**{f"{total}__gte": F(f"{prefix}band_good")}, then=Value(Band.GOOD)),
        When(**{f"{total}__gte": F(f"{prefix}band_fair")}, then=Value(Band.FAIR)),
        When(**{f"{total}__gte": F(f"{prefix}band_average")}, then=Value(Band.AVERAGE)),
        default=Value(Band.WEAK),
    )


def precedence(criteria_set: CriteriaSet) -> list[str]:
    return ["total", *criteria_set.tie_break_list]


def ranked_sheets(cluster_year: ClusterYear, criteria_set: CriteriaSet) -> QuerySet[Sheet]:
    """Approved sheets with totals, rank, tie size, band and the previous row's values, in rank order."""
    keys = precedence(criteria_set)
    order = [F(RULES[k][0]).desc() if RULES[k][1] else F(RULES[k][0]).asc() for k in keys]
    lags = {f"above_{k}": Window(Lag(RULES[k][0]), order_by=order + [F("unit__name").asc()]) for k in keys}
    return (
        annotate_totals(Sheet.objects.filter(cluster_year=cluster_year, status=Sheet.Status.APPROVED))
        .select_related("unit")
        .annotate(
            rank=Window(Rank(), order_by=order),
            tie_size=Window(Count("pk"), partition_by=[F(RULES[k][0]) for k in keys]),
            band=band_case(),
            **lags,
        )
        .order_by("rank", "unit__name")
    )


def _group_subtotals(sheet_ids: list[int]) -> dict[int, dict[str, Decimal]]:
    """Signed official subtotal of each top-level group, per sheet: one grouped query."""
    signed = Case(
        When(criterion__kind=Criterion.Kind.DEDUCTION, then=-F("official_points")),
        default=F("official_points"),
        output_field=PointsField(),
    )
    rows = (
        Score.objects.filter(sheet_id__in=sheet_ids)
        .values("sheet_id", "criterion__top__code")
        .annotate(subtotal=Coalesce(Sum(signed), Value(0), output_field=PointsField()))
        .order_by()
    )
    subtotals: dict[int, dict[str, Decimal]] = {}
    for row in rows:
        subtotals.setdefault(row["sheet_id"], {})[row["criterion__top__code"]] = row["subtotal"]
    return subtotals


def _previous_ranks(cluster_year: ClusterYear) -> dict[int, int]:
    return dict(
        Result.objects.filter(
            snapshot__cluster_year__cluster_id=cluster_year.cluster_id,
            snapshot__cluster_year__year=cluster_year.year - 1,
            snapshot__is_current=True,
        ).values_list("unit_id", "rank")
    )


def live_ranking(cluster_year: ClusterYear) -> Ranking:
    """The provisional ranking from approved sheets (also what closing the scoring freezes)."""
    criteria_set = criteria_set_of(cluster_year)
    if criteria_set is None:
        return Ranking(cluster_year, None, [], False, cluster_year.memberships.count())
    keys = precedence(criteria_set)
    sheets = list(ranked_sheets(cluster_year, criteria_set))
    subtotals = _group_subtotals([s.pk for s in sheets])
    previous = _previous_ranks(cluster_year)
    rows = []
    for sheet in sheets:
        separated_by, gap = "", None
        if getattr(sheet, "above_total") is not None:
            gap = sheet.above_total - sheet.official_total
            separated_by = next(
                (k for k in keys if getattr(sheet, f"above_{k}") != getattr(sheet, RULES[k][0])), SHARED
            )
        rows.append(
            RankedRow(
                unit=sheet.unit,
                standard=sheet.official_standard,
                bonus=sheet.official_bonus,
                deduction=sheet.official_deduction,
                total=sheet.official_total,
                rank=sheet.rank,
                tied=sheet.tie_size > 1,
                band=sheet.band,
                separated_by=separated_by,
                gap=gap,
                groups=subtotals.get(sheet.pk, {}),
                previous_rank=previous.get(sheet.unit_id),
                sheet_id=sheet.pk,
            )
        )
    members = cluster_year.memberships.count()
    groups = list(criteria_set.criteria.filter(depth=0).order_by("sort_key"))
    return Ranking(cluster_year, criteria_set, rows, False, members - len(rows), groups=groups)


def frozen_ranking(snapshot: ResultSnapshot) -> Ranking:
    previous = _previous_ranks(snapshot.cluster_year)
    sheets = dict(
        Sheet.objects.filter(cluster_year_id=snapshot.cluster_year_id).values_list("unit_id", "pk")
    )
    rows = [
        RankedRow(
            unit=r.unit,
            standard=r.standard,
            bonus=r.bonus,
            deduction=r.deduction,
            total=r.total,
            rank=r.rank,
            tied=r.tied,
            band=r.band,
            separated_by=r.separated_by,
            gap=r.gap,
            groups={code: Decimal(value) for code, value in r.groups.items()},
            previous_rank=previous.get(r.unit_id),
            sheet_id=sheets.get(r.unit_id),
        )
        for r in snapshot.results.select_related("unit").order_by("rank", "unit__name")
    ]
    groups = list(snapshot.criteria_set.criteria.filter(depth=0).order_by("sort_key"))
    return Ranking(snapshot.cluster_year, snapshot.criteria_set, rows, True, 0, snapshot, groups)


def ranking_for(cluster_year: ClusterYear) -> Ranking:
    """The frozen ranking once scoring is closed, else the provisional one."""
    snapshot = (
        ResultSnapshot.objects.filter(cluster_year=cluster_year, is_current=True)
        .select_related("criteria_set", "created_by", "cluster_year")
        .first()
    )
    return frozen_ranking(snapshot) if snapshot else live_ranking(cluster_year)


def pending_members(cluster_year: ClusterYear) -> QuerySet[Membership]:
    """Members whose sheet is not approved yet (or who have none)."""
    approved = Sheet.objects.filter(cluster_year=cluster_year, unit=OuterRef("unit"), status=Sheet.Status.APPROVED)
    return cluster_year.memberships.select_related("unit").filter(~Exists(approved)).order_by("unit__name")


SEPARATED_LABELS = {
    "total": _("higher total"),
    TieBreak.STANDARD: TieBreak.STANDARD.label,
    TieBreak.FEWER_DEDUCTIONS: TieBreak.FEWER_DEDUCTIONS.label,
    TieBreak.BONUS: TieBreak.BONUS.label,
    SHARED: _("equal on every rule: shared rank"),
}


def separated_label(key: str) -> str:
    return str(SEPARATED_LABELS.get(key, ""))


# --- the command's overview of a year ---------------------------------------------------------


@dataclass
class UnitLine:
    unit: Unit
    cluster: object
    rank: int
    tied: bool
    total: Decimal
    band: str
    is_final: bool

    @property
    def band_label(self) -> str:
        return Band(self.band).label

    @property
    def rank_display(self) -> str:
        return f"{self.rank}=" if self.tied else str(self.rank)


@dataclass
class ClusterSummary:
    cluster: object
    cluster_year: ClusterYear | None
    members: list
    submitted: int = 0
    approved: int = 0
    lines: list[UnitLine] = field(default_factory=list)

    @property
    def is_final(self) -> bool:
        return bool(self.lines) and self.lines[0].is_final

    @property
    def leaders(self) -> list[UnitLine]:
        return [line for line in self.lines if line.rank == 1]

    @property
    def bands(self) -> list[tuple[str, int]]:
        counts = {band: 0 for band in Band.values}
        for line in self.lines:
            counts[line.band] += 1
        return [(Band(band).label, n) for band, n in counts.items()]


def command_overview(*, superior, year: int) -> tuple[list[ClusterSummary], list[UnitLine]]:
    """
    Every cluster of ``superior`` in ``year``: members, progress of the sheets,
    leader and bands — frozen results where scoring is closed, else provisional
    ones from approved sheets, ranked by total, standard subtotal and fewer
    deductions (the default precedence; a cluster's own ranking page applies its
    set's rules). Plus every unit across the clusters, best total first.
    Seven queries whatever the number of clusters and units.
    """
    clusters = list(overview_clusters(superior=superior, year=year))
    years = [c.selected_years[0] for c in clusters if c.selected_years]
    ids = [cy.pk for cy in years]
    progress = {
        row["cluster_year_id"]: row
        for row in Sheet.objects.filter(cluster_year_id__in=ids).values("cluster_year_id").annotate(
            submitted=Count("pk", filter=Q(status__in=[Sheet.Status.SUBMITTED, Sheet.Status.APPROVED])),
            approved=Count("pk", filter=Q(status=Sheet.Status.APPROVED)),
        ).order_by()
    }
    lines: dict[int, list[UnitLine]] = {}
    final = Result.objects.filter(snapshot__cluster_year_id__in=ids, snapshot__is_current=True).select_related(
        "unit", "snapshot"
    )
    for r in final.order_by("rank", "unit__name"):
        lines.setdefault(r.snapshot.cluster_year_id, []).append(
            UnitLine(r.unit, None, r.rank, r.tied, r.total, r.band, True)
        )
    keys = ["official_total", "official_standard", "official_deduction"]
    order = [F(keys[0]).desc(), F(keys[1]).desc(), F(keys[2]).asc()]
    live = (
        annotate_totals(
            Sheet.objects.filter(cluster_year_id__in=[i for i in ids if i not in lines], status=Sheet.Status.APPROVED)
        )
        .select_related("unit")
        .annotate(
            rank=Window(Rank(), partition_by=[F("cluster_year_id")], order_by=order),
            tie_size=Window(Count("pk"), partition_by=[F("cluster_year_id"), *[F(k) for k in keys]]),
            band=band_case(),
        )
        .order_by("cluster_year_id", "rank", "unit__name")
    )
    for s in live:
        lines.setdefault(s.cluster_year_id, []).append(
            UnitLine(s.unit, None, s.rank, s.tie_size > 1, s.official_total, s.band, False)
        )
    summaries = []
    for cluster in clusters:
        cy = cluster.selected_years[0] if cluster.selected_years else None
        row = progress.get(cy.pk, {}) if cy else {}
        cluster_lines = lines.get(cy.pk, []) if cy else []
        for line in cluster_lines:
            line.cluster = cluster
        summaries.append(
            ClusterSummary(cluster, cy, cy.members if cy else [], row.get("submitted", 0), row.get("approved", 0),
                           cluster_lines)
        )
    everyone = sorted((line for s in summaries for line in s.lines), key=lambda l: (-l.total, l.unit.name))
    return summaries, everyone
