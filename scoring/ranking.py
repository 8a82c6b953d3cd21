"""
Ranking a cluster year (Tabbycat's semantics: precedence, ties as data).

- Total = official standard points + min(bonus, the set's bonus cap)
  − min(deductions, the set's deduction cap) (``selectors.annotate_totals``).
- Order: total, descending, then the criteria set's tie-break rules in their
  order (default: higher standard subtotal, then fewer deduction points).
  Units equal on every rule share the rank ("2=") and are flagged ``tied``.
  Never random.
- Totals, rank and tie flag come from the database, one grouped query per
  ranking (window functions ``RANK`` and ``COUNT … OVER (PARTITION BY …)``);
  Python reads the one fetched list for the band and for the rule and the
  points that separated each unit from the one above. (Each SQL reference to
  a total repeats its aggregate, so every window more made the query slower
  to build and plan than the ranking itself: LAG and the band's CASE cost
  6 ms per cluster year, 3 s when the scoring of 500 clusters is closed.)
- Bands: Excellent ≥ 90, Good ≥ 80, Fair ≥ 65, Average ≥ 50, else Weak, with
  the thresholds stored on the criteria set.
- Before scoring is closed the ranking is provisional: approved sheets only.
  Once closed, the current ``ResultSnapshot`` is the ranking.
"""

import time
from dataclasses import dataclass, field
from functools import cached_property
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField, Case, Count, Exists, F, FilteredRelation, Max, OuterRef, Q, QuerySet,
    Subquery, Sum, Value, When, Window,
)
from django.db.models.functions import Cast, Coalesce, Rank
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from clusters.models import Cluster, ClusterYear, Membership, Unit
from clusters.selectors import members_ordered

from .fields import PointsField
from .models import Band, CriteriaSet, Criterion, Result, ResultSnapshot, Score, Sheet, TieBreak
from .selectors import criteria_set_of, total_expression, totals_annotations

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
    snapshots: list[ResultSnapshot] = field(default_factory=list)  # every snapshot of the year, newest first


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


def band_of(total: Decimal, criteria_set: CriteriaSet) -> str:
    """The band of a total by the set's thresholds (what ``band_case`` says in SQL)."""
    for band, threshold in (
        (Band.EXCELLENT, criteria_set.band_excellent),
        (Band.GOOD, criteria_set.band_good),
        (Band.FAIR, criteria_set.band_fair),
        (Band.AVERAGE, criteria_set.band_average),
    ):
        if total >= threshold:
            return band
    return Band.WEAK


def ranked_sheets(
    cluster_year: ClusterYear, criteria_set: CriteriaSet, *, bonus_ids=None, deduction_ids=None
) -> QuerySet[Sheet]:
    """
    Approved sheets with their official totals, rank and tie size (window
    functions over the precedence), in rank order then by name: one grouped
    query. ``bonus_ids`` and ``deduction_ids`` (the set's criteria of those
    kinds) spare PostgreSQL a subquery per sum (``selectors.totals_annotations``).
    """
    keys = precedence(criteria_set)
    order = [F(RULES[k][0]).desc() if RULES[k][1] else F(RULES[k][0]).asc() for k in keys]
    return (
        Sheet.objects.filter(cluster_year=cluster_year, status=Sheet.Status.APPROVED)
        .annotate(**totals_annotations(bonus_ids=bonus_ids, deduction_ids=deduction_ids, sides=("official",)))
        .annotate(official_total=total_expression("official"))
        .select_related("unit")
        .annotate(
            rank=Window(Rank(), order_by=order),
            tie_size=Window(Count("pk"), partition_by=[F(RULES[k][0]) for k in keys]),
        )
        .order_by("rank", "unit__name")
    )


def _group_subtotals(sheet_ids: list[int], tops: dict[int, str]) -> dict[int, dict[str, Decimal]]:
    """Signed official subtotal of each top-level group (``tops``: id → code), per sheet: one grouped query."""
    signed = Case(
        When(criterion__kind=Criterion.Kind.DEDUCTION, then=-F("official_points")),
        default=F("official_points"),
        output_field=PointsField(),
    )
    rows = (
        Score.objects.filter(sheet_id__in=sheet_ids)
        .values_list("sheet_id", "criterion__top_id")
        .annotate(subtotal=Coalesce(Sum(signed), Value(0), output_field=PointsField()))
        .order_by()
    )
    subtotals: dict[int, dict[str, Decimal]] = {}
    for sheet_id, top_id, subtotal in rows:
        subtotals.setdefault(sheet_id, {})[tops.get(top_id)] = subtotal
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
    # The criteria with their set in one query; a set without criteria yet is read on its own.
    criteria = list(
        Criterion.objects.filter(criteria_set__cluster_years__cluster_year=cluster_year)
        .select_related("criteria_set")
        .order_by("sort_key")
    )
    criteria_set = criteria[0].criteria_set if criteria else criteria_set_of(cluster_year)
    if criteria_set is None:
        return Ranking(cluster_year, None, [], False, cluster_year.memberships.count())
    keys = precedence(criteria_set)
    kinds = {kind: [c.pk for c in criteria if c.kind == kind] for kind in (Criterion.Kind.BONUS, Criterion.Kind.DEDUCTION)}
    sheets = list(ranked_sheets(cluster_year, criteria_set, bonus_ids=kinds[Criterion.Kind.BONUS],
                                deduction_ids=kinds[Criterion.Kind.DEDUCTION]))
    subtotals = _group_subtotals([s.pk for s in sheets], {c.pk: c.code for c in criteria if c.depth == 0})
    previous = _previous_ranks(cluster_year)
    rows, above = [], None
    for sheet in sheets:
        separated_by, gap = "", None
        if above is not None:  # the row above in rank order, names breaking ties: the list as fetched
            gap = above.official_total - sheet.official_total
            separated_by = next(
                (k for k in keys if getattr(above, RULES[k][0]) != getattr(sheet, RULES[k][0])), SHARED
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
                band=band_of(sheet.official_total, criteria_set),
                separated_by=separated_by,
                gap=gap,
                groups=subtotals.get(sheet.pk, {}),
                previous_rank=previous.get(sheet.unit_id),
                sheet_id=sheet.pk,
            )
        )
        above = sheet
    members = cluster_year.memberships.count()
    groups = [c for c in criteria if c.depth == 0]
    return Ranking(cluster_year, criteria_set, rows, False, members - len(rows), groups=groups)


def frozen_ranking(snapshot: ResultSnapshot) -> Ranking:
    """
    The current snapshot's results, each with the unit's rank last year and its
    sheet (subqueries of the one results query), and the groups: two queries.
    """
    cluster_year = snapshot.cluster_year
    previous = Result.objects.filter(
        unit=OuterRef("unit_id"),
        snapshot__is_current=True,
        snapshot__cluster_year__cluster_id=cluster_year.cluster_id,
        snapshot__cluster_year__year=cluster_year.year - 1,
    ).values("rank")[:1]
    sheet = Sheet.objects.filter(cluster_year_id=cluster_year.pk, unit=OuterRef("unit_id")).values("pk")[:1]
    results = (
        snapshot.results.select_related("unit")
        .annotate(previous_rank=Subquery(previous), sheet_id=Subquery(sheet))
        .order_by("rank", "unit__name")
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
            previous_rank=r.previous_rank,
            sheet_id=r.sheet_id,
        )
        for r in results
    ]
    groups = list(snapshot.criteria_set.criteria.filter(depth=0).order_by("sort_key"))
    return Ranking(cluster_year, snapshot.criteria_set, rows, True, 0, snapshot, groups)


# A frozen ranking never changes, but what its page shows beside the snapshot can: a new snapshot
# (an amendment), the cluster's and units' names, last year's ranks (after last year's amendment),
# the criteria's titles, the snapshots' authors. A closed year's page is cached under the cluster
# year and a generation that any such change renews (scoring.apps, scoring.views.ranking_page).
GENERATION_KEY = "ranking:frozen-generation"


def frozen_generation() -> int:
    """The current generation of cached frozen rankings (a new one if the cache lost it)."""
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, time.time_ns(), None)
        generation = cache.get(GENERATION_KEY)
    return generation


def new_frozen_generation(**_kwargs) -> None:
    """Forget every cached frozen ranking, now and again when the current transaction commits."""
    cache.set(GENERATION_KEY, time.time_ns(), None)
    transaction.on_commit(lambda: cache.set(GENERATION_KEY, time.time_ns(), None), robust=True)


def user_saved(sender, instance, update_fields=None, **kwargs) -> None:
    """A user's name shows in the snapshots' list; a login only writes ``last_login``."""
    if update_fields is None or set(update_fields) - {"last_login"}:
        new_frozen_generation()


def snapshots_of(cluster_year: ClusterYear) -> list[ResultSnapshot]:
    """Every snapshot of the year, newest first (the current one and those an amendment replaced)."""
    return list(
        ResultSnapshot.objects.filter(cluster_year=cluster_year)
        .select_related("criteria_set", "created_by")
        .order_by("-number")
    )


def ranking_for(cluster_year: ClusterYear) -> Ranking:
    """
    The frozen ranking once scoring is closed, else the provisional one; with
    every snapshot of the year (the current one and those an amendment
    replaced), newest first, read in the same query as the current one.
    """
    snapshots = snapshots_of(cluster_year)
    current = next((s for s in snapshots if s.is_current), None)
    if current is not None:
        current.cluster_year = cluster_year
    result = frozen_ranking(current) if current else live_ranking(cluster_year)
    result.snapshots = snapshots
    return result


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

CLUSTERS_PER_PAGE = 25
UNITS_PER_PAGE = 50


class YearLine(NamedTuple):
    """
    One ranked unit of a year across the clusters, as read from the database:
    no model instance, no name (read for the lines shown only), and the total
    in integer hundredths (``PointsField``'s column) so that thousands of
    lines need no Decimal until one is shown.
    """

    hundredths: int
    unit_id: int
    cluster_year_id: int
    rank: int
    tied: bool
    band: str
    is_final: bool

    @property
    def total(self) -> Decimal:
        return Decimal(self.hundredths).scaleb(-2).quantize(Decimal("0.01"))


class Named(NamedTuple):
    """A unit or a cluster as a page shows it: no model instance for each of thousands of lines."""

    pk: int
    name: str
    url: str = ""

    def get_absolute_url(self) -> str:
        return self.url


@dataclass
class UnitLine:
    unit: Named
    cluster: Named
    rank: int
    tied: bool
    total: Decimal
    band: str
    is_final: bool
    position: int = 0  # across every cluster of the year: units with equal totals share it

    @property
    def band_label(self) -> str:
        return Band(self.band).label

    @property
    def rank_display(self) -> str:
        return f"{self.rank}=" if self.tied else str(self.rank)


def _unit_line(line: YearLine, unit: Named, cluster: Named, position: int = 0) -> UnitLine:
    return UnitLine(unit, cluster, line.rank, line.tied, line.total, line.band, line.is_final, position)


@dataclass
class MemberLine:
    unit_id: int
    name: str
    short_name: str
    role: str

    @property
    def label(self) -> str:
        return self.short_name or self.name


@dataclass
class ClusterSummary:
    cluster: Named
    cluster_year: ClusterYear | None
    members: list[MemberLine]
    submitted: int = 0
    approved: int = 0
    lines: list[YearLine] = field(default_factory=list)  # the cluster's ranked units

    @property
    def is_final(self) -> bool:
        return bool(self.lines) and self.lines[0].is_final

    @cached_property
    def leaders(self) -> list[UnitLine]:
        names = {m.unit_id: m.name for m in self.members}
        first = [line for line in self.lines if line.rank == 1]
        return sorted((_unit_line(line, Named(line.unit_id, names.get(line.unit_id, "")), self.cluster)
                       for line in first), key=lambda line: line.unit.name)

    @cached_property
    def urls(self) -> dict[str, str]:
        """The cluster year's page and ranking (one reverse each per row, not one per leader)."""
        pk = self.cluster_year.pk
        return {"year": reverse("clusters:clusteryear-detail", args=[pk]), "ranking": reverse("scoring:ranking", args=[pk])}

    @property
    def chair(self) -> str:
        return next((m.name for m in self.members if m.role == Membership.Role.CHAIR), "")

    @property
    def vice_chair(self) -> str:
        return next((m.name for m in self.members if m.role == Membership.Role.VICE_CHAIR), "")

    @property
    def member_names(self) -> str:
        return ", ".join(m.label for m in self.members)

    @cached_property
    def bands(self) -> list[tuple[str, int]]:
        return band_counts(line.band for line in self.lines)

    @property
    def bands_shown(self) -> list[tuple[str, int]]:
        return [(label, n) for label, n in self.bands if n]


def band_counts(bands) -> list[tuple[str, int]]:
    counts = {band: 0 for band in Band.values}
    for band in bands:
        counts[band] += 1
    return [(Band(band).label, n) for band, n in counts.items()]


@dataclass
class Overview:
    summaries: Page  # of ClusterSummary, the clusters by name
    units: Page  # of UnitLine, every ranked unit of the year, best total first
    bands: list[tuple[str, int]]  # over every ranked unit
    scoring_open: int = 0  # cluster years of the year still in self-assessment or review (the command may close them)


def _frozen_lines(*, superior, year: int) -> list[tuple]:
    """The current frozen results of the year's closed cluster years: one query."""
    return list(
        Result.objects.filter(
            snapshot__is_current=True,
            snapshot__cluster_year__year=year,
            snapshot__cluster_year__cluster__superior=superior,
        )
        .annotate(hundredths=_raw("total"))
        .order_by()
        .values_list("hundredths", "unit_id", "snapshot__cluster_year_id", "rank", "tied", "band")
    )


def _raw(name: str) -> Cast:
    """A points column or total as integer hundredths, as stored (a SUM comes back as numeric on PostgreSQL)."""
    return Cast(F(name), output_field=BigIntegerField())


def _per_set(values: dict[int, object], output_field) -> Case:
    """A value of the sheet's criteria set, chosen by the set's id (read as MAX over the grouped rows)."""
    return Case(*[When(set_id=pk, then=Value(value, output_field=output_field)) for pk, value in values.items()],
                output_field=output_field)


def _live_lines(*, superior, year: int, frozen: set[int]) -> list[tuple]:
    """
    The approved sheets of the superior's cluster years of ``year`` but the
    ``frozen`` ones, ranked in their cluster by total, standard subtotal and
    fewer deductions: one pass over the scores grouped by sheet alone, with
    the window functions on top. Two small queries first read the criteria
    sets (caps and band thresholds, written into the SQL as constants chosen
    by the set's id) and the ids of their bonus and deduction criteria (so
    that the pass needs no join to the criteria).
    """
    years = Q(cluster_year__year=year, cluster_year__cluster__superior=superior)
    # The closed years as a list, not NOT EXISTS (snapshot): PostgreSQL then estimates the rows well.
    sheets = Sheet.objects.filter(years, status=Sheet.Status.APPROVED).exclude(cluster_year_id__in=sorted(frozen))
    sets = {s.pk: s for s in CriteriaSet.objects.filter(
        cluster_years__cluster_year__year=year, cluster_years__cluster_year__cluster__superior=superior
    ).distinct()}
    ids = {Criterion.Kind.BONUS: [], Criterion.Kind.DEDUCTION: []}
    for pk, kind in Criterion.objects.filter(kind__in=list(ids), criteria_set_id__in=list(sets)).values_list(
        "pk", "kind"
    ):
        ids[kind].append(pk)
    keys = ["official_total", "official_standard", "official_deduction"]
    order = [F(keys[0]).desc(), F(keys[1]).desc(), F(keys[2]).asc()]
    limits = {name: _per_set({pk: getattr(s, name) for pk, s in sets.items()}, PointsField())
              for name in ("bonus_cap", "deduction_cap", "band_excellent", "band_good", "band_fair", "band_average")}
    query = (
        sheets.annotate(**totals_annotations(
            bonus_ids=ids[Criterion.Kind.BONUS], deduction_ids=ids[Criterion.Kind.DEDUCTION], sides=("official",)
        ))
        .annotate(set_id=Max("criteria_set_id"))
        .annotate(**limits)
        .annotate(official_total=total_expression("official", caps=""))
        .annotate(
            rank=Window(Rank(), partition_by=[F("cluster_year_id")], order_by=order),
            tie_size=Window(Count("pk"), partition_by=[F("cluster_year_id"), *[F(k) for k in keys]]),
            band=band_case(prefix=""),
        )
        .annotate(hundredths=_raw("official_total"))
        .order_by()
        .values_list("hundredths", "unit_id", "cluster_year_id", "rank", "tie_size", "band")
    )
    # Integers and text only: the rows are read as the database sends them (no converter for each of thousands).
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def year_lines(*, superior, year: int, cluster_years: list[int] | None = None) -> list[YearLine]:
    """
    Every ranked unit of the superior's clusters in ``year`` (``cluster_years``:
    the ids of its cluster years, if known), best total first:
    the frozen results where the scoring is closed, else the provisional ranks
    from approved sheets by the default precedence (a cluster's own ranking page
    applies its set's tie-break rules). Equal totals are listed by unit id.
    Four queries whatever the numbers of clusters, units and criteria (one
    when ``cluster_years`` are all closed): the frozen results, the criteria
    sets, their bonus and deduction criteria, the live totals and ranks.
    """
    frozen = _frozen_lines(superior=superior, year=year)
    closed = {cy for _t, _u, cy, *_rest in frozen}
    live = []
    if cluster_years is None or set(cluster_years) - closed:
        live = _live_lines(superior=superior, year=year, frozen=closed)
    lines = [YearLine(total, unit, cy, rank, tied, band, True) for total, unit, cy, rank, tied, band in frozen]
    lines += [YearLine(total, unit, cy, rank, tie > 1, band, False) for total, unit, cy, rank, tie, band in live]
    lines.sort(key=attrgetter("unit_id"))
    lines.sort(key=attrgetter("hundredths"), reverse=True)  # stable: equal totals stay by unit
    return lines


def positions(lines: list[YearLine]) -> list[int]:
    """The rank of each line across the clusters, ``lines`` best first: equal totals share it (1, 2, 2, 4)."""
    result, previous = [], None
    for index, line in enumerate(lines):
        if line.hundredths != previous:
            rank, previous = index + 1, line.hundredths
        result.append(rank)
    return result


def command_overview(*, superior, year: int, page=1, units_page=1) -> Overview:
    """
    Every cluster of ``superior`` in ``year`` (a page of them by name): members,
    progress of the sheets, leader and bands; and every unit across the
    clusters, best total first (a page of them), from ``year_lines``. Eight
    queries whatever the numbers of clusters, units and criteria: the
    clusters with their year, ``year_lines`` (4), the names of the units
    shown, the members and the progress of the clusters shown.
    """
    clusters = list(
        Cluster.objects.filter(superior=superior)
        .annotate(selected=FilteredRelation("years", condition=Q(years__year=year)))
        .order_by("name", "pk")
        .values_list("pk", "name", "selected__pk", "selected__phase", "selected__year")
    )
    cluster_of = {cy: Named(pk, name) for pk, name, cy, _phase, _year in clusters if cy is not None}
    lines = year_lines(superior=superior, year=year, cluster_years=list(cluster_of))

    units = Paginator(lines, UNITS_PER_PAGE).get_page(units_page)
    ranks = positions(lines)
    names = dict(Unit.objects.filter(pk__in=[line.unit_id for line in units.object_list]).values_list("pk", "name"))
    units.object_list = [
        _unit_line(line, Named(line.unit_id, names.get(line.unit_id, "")), cluster_of[line.cluster_year_id],
                   ranks[units.start_index() - 1 + i])
        for i, line in enumerate(units.object_list)
    ]

    summaries = Paginator(clusters, CLUSTERS_PER_PAGE).get_page(page)
    ids = [cy for _pk, _name, cy, _phase, _year in summaries.object_list if cy is not None]
    members: dict[int, list[MemberLine]] = {}
    for cy, unit_id, name, short_name, role in (
        members_ordered().filter(cluster_year_id__in=ids)
        .values_list("cluster_year_id", "unit_id", "unit__name", "unit__short_name", "role")
    ):
        members.setdefault(cy, []).append(MemberLine(unit_id, name, short_name, role))
    progress = {
        row["cluster_year_id"]: row
        for row in Sheet.objects.filter(cluster_year_id__in=ids).values("cluster_year_id").annotate(
            submitted=Count("pk", filter=Q(status__in=[Sheet.Status.SUBMITTED, Sheet.Status.APPROVED])),
            approved=Count("pk", filter=Q(status=Sheet.Status.APPROVED)),
        ).order_by()
    }
    shown = set(ids)
    by_year: dict[int, list[YearLine]] = {}
    for line in lines:
        if line.cluster_year_id in shown:
            by_year.setdefault(line.cluster_year_id, []).append(line)
    rows = []
    for pk, name, cy, phase, cy_year in summaries.object_list:
        cluster = Named(pk, name, reverse("clusters:cluster-detail", args=[pk]))
        cluster_year = ClusterYear(pk=cy, cluster_id=pk, year=cy_year, phase=phase) if cy else None
        row = progress.get(cy, {})
        rows.append(ClusterSummary(cluster, cluster_year, members.get(cy, []), row.get("submitted", 0),
                                   row.get("approved", 0), by_year.get(cy, [])))
    summaries.object_list = rows
    scoring_open = sum(phase in (ClusterYear.Phase.SCORING, ClusterYear.Phase.REVIEW) for *_rest, phase, _y in clusters)
    return Overview(summaries, units, band_counts(line.band for line in lines), scoring_open)


# --- the live rankings of many cluster years at once (closing the scoring of a year) -----------


def live_rankings(sets: dict[int, CriteriaSet]) -> dict[int, list[RankedRow]]:
    """
    The rows ``live_ranking`` gives for each cluster year of ``sets`` (cluster
    year id → its criteria set), in its order: three queries whatever their
    number (the approved sheets with their units by name, the official points
    summed by sheet, top-level group and kind, the sets' top-level groups).
    The totals, ranks, ties and separations are computed here from those sums
    exactly as the SQL of ``ranked_sheets`` does (no previous ranks: a frozen
    result does not store them).
    """
    ids = sorted(sets)
    sheets = list(
        Sheet.objects.filter(cluster_year_id__in=ids, status=Sheet.Status.APPROVED)
        .select_related("unit").order_by("unit__name", "pk")  # the database's collation, as ``ranked_sheets``
    )
    tops = dict(Criterion.objects.filter(criteria_set_id__in={s.pk for s in sets.values()}, depth=0)
                .values_list("pk", "code"))
    sums: dict[int, dict[str, Decimal]] = {}
    groups: dict[int, dict[str, Decimal]] = {}
    for sheet_id, top_id, kind, points in (
        Score.objects.filter(sheet__cluster_year_id__in=ids, sheet__status=Sheet.Status.APPROVED)
        .values_list("sheet_id", "criterion__top_id", "criterion__kind")
        .annotate(points=Coalesce(Sum("official_points"), Value(0), output_field=PointsField()))
        .order_by()
    ):
        kinds = sums.setdefault(sheet_id, {})
        side = kind if kind in (Criterion.Kind.BONUS, Criterion.Kind.DEDUCTION) else "standard"
        kinds[side] = kinds.get(side, ZERO) + points
        code = tops.get(top_id)
        subtotals = groups.setdefault(sheet_id, {})
        # Subtract a deduction rather than negate it: −0.00 would print differently from SQL's 0.
        subtotals[code] = (subtotals.get(code, ZERO) - points if kind == Criterion.Kind.DEDUCTION
                           else subtotals.get(code, ZERO) + points)
    by_year: dict[int, list[Sheet]] = {}
    for sheet in sheets:
        by_year.setdefault(sheet.cluster_year_id, []).append(sheet)
    result = {}
    for cluster_year_id in ids:
        entries = []
        for sheet in by_year.get(cluster_year_id, []):
            kinds = sums.get(sheet.pk, {})
            entries.append(SheetSums(
                unit=sheet.unit, sheet_id=sheet.pk, standard=kinds.get("standard", ZERO),
                bonus=kinds.get(Criterion.Kind.BONUS, ZERO), deduction=kinds.get(Criterion.Kind.DEDUCTION, ZERO),
                groups=groups.get(sheet.pk, {}),
            ))
        result[cluster_year_id] = rank_sums(entries, sets[cluster_year_id])
    return result


@dataclass
class SheetSums:
    """A sheet's official points summed by kind and by top-level group, ready to be ranked."""

    unit: Unit
    sheet_id: int
    standard: Decimal
    bonus: Decimal
    deduction: Decimal
    groups: dict[str, Decimal]


def rank_sums(entries: list[SheetSums], criteria_set: CriteriaSet) -> list[RankedRow]:
    """
    The rows ``live_ranking`` gives for these approved sheets of one cluster
    year (``entries`` in the units' name order), computed from their sums
    exactly as the SQL of ``ranked_sheets`` does: capped total, the set's
    tie-break precedence, shared ranks, the rule that separated each pair of
    neighbours and the gap to the unit above.
    """
    keys = precedence(criteria_set)
    lines = []
    for entry in entries:
        total = (entry.standard + min(entry.bonus, criteria_set.bonus_cap)
                 - min(entry.deduction, criteria_set.deduction_cap))
        values = {"official_total": total, "official_standard": entry.standard,
                  "official_deduction": entry.deduction, "official_bonus": entry.bonus}
        rule_values = tuple(values[RULES[k][0]] for k in keys)
        order = tuple(-v if RULES[k][1] else v for k, v in zip(keys, rule_values, strict=True))
        lines.append((order, rule_values, total, entry))
    lines.sort(key=lambda line: line[0])  # stable: equal lines stay in name order
    tie_sizes: dict[tuple, int] = {}
    for line in lines:
        tie_sizes[line[0]] = tie_sizes.get(line[0], 0) + 1
    rows, rank, above = [], 0, None
    for index, (order, rule_values, total, entry) in enumerate(lines):
        separated_by, gap = "", None
        if above is None or order != above[0]:
            rank = index + 1
        if above is not None:
            gap = above[2] - total
            separated_by = next((k for k, a, v in zip(keys, above[1], rule_values, strict=True) if a != v), SHARED)
        rows.append(RankedRow(
            unit=entry.unit, standard=entry.standard, bonus=entry.bonus, deduction=entry.deduction, total=total,
            rank=rank, tied=tie_sizes[order] > 1, band=band_of(total, criteria_set), separated_by=separated_by,
            gap=gap, groups=entry.groups, sheet_id=entry.sheet_id,
        ))
        above = (order, rule_values, total)
    return rows
