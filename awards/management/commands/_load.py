"""
Helpers of ``generate_load`` (issue #7): fast score writes, the frozen ranking
computed in one pass over the generated points, and the award proposals the
application's rules give.

- ``ScoreWriter`` writes score rows given as integer hundredths: ``COPY … FROM
  STDIN`` on PostgreSQL (psycopg 3), one ``executemany`` of tuples on SQLite.
  The column list comes from ``Score._meta``; columns the generator does not
  set get their model default.
- ``rank_rows`` ranks the sheets of one cluster year exactly as
  ``scoring.ranking.live_ranking`` does in SQL (total, then the set's
  tie-break rules; RANK semantics; ``tied`` when equal on every rule; band
  thresholds of the set; the rule that separated each unit from the one above,
  and the gap), so ``close_scoring``'s snapshot and checksum are reproduced
  without a query per cluster year. The tests compare both on every cluster
  year, on SQLite and PostgreSQL.
- ``AwardPlanner`` proposes, per cluster year in the catalogue's order and by
  rank, every unit for every award it qualifies for within the quotas, as
  ``awards.awarding.propose_defaults`` does (unit kinds, leader, minimum band,
  same-year titles, chains of earlier grants, one title and one flag a year,
  quotas per cluster or per superior, a certificate only for units with
  nothing else), with counters instead of a scan of every proposal; then the
  officer adds the runner-up for a Giấy khen where the rules allow it (as
  ``awarding.add_proposal``, with a reason). The tests replay both services
  on the generated years and compare.
"""

import io
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

from django.db import connection

from awards.awarding import BAND_ORDER, award_families, justification, quota_limit
from awards.models import AwardType
from scoring.models import Score
from scoring.ranking import RankedRow, SheetSums, rank_sums

COPY_CHUNK = 20_000  # rows per write to the COPY stream


def points(hundredths: int, _cache: dict[int, Decimal] = {}) -> Decimal:  # noqa: B006 - deliberate cache
    value = _cache.get(hundredths)
    if value is None:
        value = _cache[hundredths] = Decimal(hundredths).scaleb(-2).quantize(Decimal("0.01"))
    return value


# --- scores -----------------------------------------------------------------------------------


class ScoreWriter:
    """Writes (sheet_id, criterion_id, self hundredths, official hundredths) rows into ``Score``'s table."""

    GIVEN = ("sheet_id", "criterion_id", "self_points", "official_points")

    def __init__(self):
        fields = [f for f in Score._meta.concrete_fields if not f.primary_key]
        given = {f.attname: f for f in fields if f.attname in self.GIVEN}
        missing = set(self.GIVEN) - set(given)
        if missing:
            raise RuntimeError(f"Score has no column for {sorted(missing)}")
        self.table = Score._meta.db_table
        self.columns = [given[name].column for name in self.GIVEN]
        self.constants = []
        for f in fields:
            if f.attname in self.GIVEN:
                continue
            value = f.get_db_prep_save(f.get_default(), connection)
            if value is None and not f.null:
                raise RuntimeError(f"Score.{f.name} needs a value the load generator does not know how to fill")
            self.columns.append(f.column)
            self.constants.append(value)

    def write(self, rows) -> int:
        """Insert ``rows`` (an iterable, consumed once); return how many."""
        if connection.vendor == "postgresql":
            return self._copy(rows)
        return self._executemany(rows)

    def _copy(self, rows) -> int:
        def text(value) -> str:
            if value is None:
                return "\\N"
            value = str(value)
            return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")

        suffix = "".join("\t" + text(v) for v in self.constants) + "\n"
        quote = connection.ops.quote_name
        sql = f"COPY {quote(self.table)} ({', '.join(quote(c) for c in self.columns)}) FROM STDIN"
        connection.ensure_connection()
        n = 0
        with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
            buffer = io.StringIO()
            pending = 0
            for sheet, criterion, self_h, official_h in rows:
                buffer.write(f"{sheet}\t{criterion}\t{self_h}\t{official_h}{suffix}")
                pending += 1
                if pending == COPY_CHUNK:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
                    n += pending
                    pending = 0
            if pending:
                copy.write(buffer.getvalue())
                n += pending
        return n

    def _executemany(self, rows) -> int:
        quote = connection.ops.quote_name
        sql = (f"INSERT INTO {quote(self.table)} ({', '.join(quote(c) for c in self.columns)}) "
               f"VALUES ({', '.join('?' * len(self.columns))})")
        constants = tuple(self.constants)
        counter = [0]

        def counted():
            for row in rows:
                counter[0] += 1
                yield row + constants

        connection.ensure_connection()
        cursor = connection.connection.cursor()  # the raw sqlite3 cursor: no per-row wrapping
        try:
            cursor.executemany(sql, counted())
        finally:
            cursor.close()
        return counter[0]


# --- the frozen ranking -------------------------------------------------------------------------


@dataclass
class SheetTotals:
    """A sheet's official points in hundredths, accumulated while its scores are generated."""

    unit: object
    sheet_id: int
    standard: int = 0
    bonus: int = 0
    deduction: int = 0
    groups: dict[str, int] = field(default_factory=dict)


def rank_rows(sheets: list[SheetTotals], criteria_set) -> list[RankedRow]:
    """The rows ``live_ranking`` gives for these (approved) sheets of one cluster year, in its order."""
    entries = [
        SheetSums(unit=s.unit, sheet_id=s.sheet_id, standard=points(s.standard), bonus=points(s.bonus),
                  deduction=points(s.deduction), groups={code: points(v) for code, v in s.groups.items()})
        for s in sorted(sheets, key=lambda s: s.unit.name)
    ]
    return rank_sums(entries, criteria_set)


# --- awards --------------------------------------------------------------------------------------


ADDED_AWARD = "giay-khen"
ADDED_REASON = "Cụm đề nghị bổ sung đơn vị xếp thứ hai (dữ liệu sinh tự động)"


@dataclass
class Proposed:
    cluster_year: object
    unit: object
    award: AwardType
    justification: str
    reason: str = ""  # set when the officer added it by hand (``awarding.add_proposal``)


class AwardPlanner:
    """The default proposals of each closed year, and the grants that later years' chains read."""

    def __init__(self, units_in_superior: int):
        self.awards = list(AwardType.objects.prefetch_related("requires_same_year").select_related("chain_award"))
        self.families = {pk: {a.pk for a in family} for pk, family in award_families().items()}
        self.by_code = {a.code: a for a in self.awards}
        self.units_in_superior = units_in_superior
        self.granted: set[tuple[int, int, int]] = set()  # (unit, award, year) of standing grants

    def _family(self, award_id: int) -> set[int]:
        return self.families.get(award_id) or {award_id}

    def year(self, year: int, cluster_years: list[tuple[object, list[RankedRow], object]]) -> list[Proposed]:
        """
        ``cluster_years``: (cluster year, its frozen rows, its acclaimed leader) in the order the
        clusters propose; every unit of a cluster year has a row.
        """
        used_superior: dict[int, int] = {}
        proposed: list[Proposed] = []
        for cluster_year, rows, leader in cluster_years:
            results = {r.unit.pk: r for r in rows}
            ctx = SimpleNamespace(results=results, leader=leader)
            order = sorted((r.unit for r in rows), key=lambda u: (results[u.pk].rank, u.name))
            mine: set[tuple[int, int]] = set()  # (unit, award) proposed in this cluster year
            kinds_held: set[tuple[int, str]] = set()  # (unit, award kind)
            has_any: set[int] = set()
            used_cluster: dict[int, int] = {}
            for award in self.awards:
                limit = quota_limit(award, len(rows) if award.quota_scope == AwardType.QuotaScope.CLUSTER
                                    else self.units_in_superior)
                used = used_cluster if award.quota_scope == AwardType.QuotaScope.CLUSTER else used_superior
                for unit in order:
                    if award.kind == AwardType.Kind.CERTIFICATE and unit.pk in has_any:
                        continue
                    if not self._eligible(unit, award, year, results, leader, mine, kinds_held, limit, used):
                        continue
                    mine.add((unit.pk, award.pk))
                    kinds_held.add((unit.pk, award.kind))
                    has_any.add(unit.pk)
                    used[award.pk] = used.get(award.pk, 0) + 1
                    proposed.append(Proposed(cluster_year, unit, award, justification(ctx, unit)))
            # Then the officer adds the runner-up for a Giấy khen when the rules allow it.
            added = self.by_code.get(ADDED_AWARD)
            if added is not None and len(order) > 1:
                unit = order[1]
                limit = quota_limit(added, len(rows) if added.quota_scope == AwardType.QuotaScope.CLUSTER
                                    else self.units_in_superior)
                used = used_cluster if added.quota_scope == AwardType.QuotaScope.CLUSTER else used_superior
                if self._eligible(unit, added, year, results, leader, mine, kinds_held, limit, used):
                    mine.add((unit.pk, added.pk))
                    used[added.pk] = used.get(added.pk, 0) + 1
                    proposed.append(Proposed(cluster_year, unit, added, justification(ctx, unit), ADDED_REASON))
        return proposed

    def _eligible(self, unit, award, year, results, leader, mine, kinds_held, limit, used) -> bool:
        if unit.kind not in award.unit_kind_list:
            return False
        if award.requires_leader and (leader is None or leader.pk != unit.pk):
            return False
        if award.min_band:
            result = results.get(unit.pk)
            if result is None or BAND_ORDER.index(result.band) < BAND_ORDER.index(award.min_band):
                return False
        for needed in award.requires_same_year.all():
            ids = self._family(needed.pk)
            if not any((unit.pk, i, year) in self.granted or (unit.pk, i) in mine for i in ids):
                return False
        if award.chain_award_id and award.chain_years:
            ids = self._family(award.chain_award_id)
            for earlier in range(year - award.chain_years, year):
                if not any((unit.pk, i, earlier) in self.granted for i in ids):
                    return False
        if (unit.pk, award.pk) in mine:
            return False
        if award.kind in (AwardType.Kind.TITLE, AwardType.Kind.FLAG) and (unit.pk, award.kind) in kinds_held:
            return False
        return limit is None or used.get(award.pk, 0) < limit

    def grant(self, year: int, granted: list[Proposed]) -> None:
        self.granted.update((p.unit.pk, p.award.pk, year) for p in granted)

