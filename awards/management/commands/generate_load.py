"""
Fill the database with generated load-test data (issue #7).

    python manage.py generate_load --clusters 500 --units-per-cluster 10 --criteria 60 --years 10

Everything hangs off one Superior whose name ends with ``GENERATED_MARK``; the
command refuses to run when the database holds any Superior or Unit outside a
generated superior, unless ``--force``. Every value comes from
``random.Random(seed)``, so the same options give the same data.

``--criteria`` is the number of leaf criteria per set, including the 2 bonus
and 2 deduction items (so 60 gives 56 standard criteria in groups of at most
10, whose maxima sum to exactly 100). Scores = clusters × units × criteria ×
years.

Frozen results of closed years are built with ``scoring.ranking.live_ranking``
per cluster year (the same code ``close_scoring`` freezes), so snapshots match
what the application itself would produce; Results are bulk-inserted per year.
"""

import time
from datetime import date, datetime, timezone
from decimal import Decimal
from random import Random

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from awards.models import Candidate, Conference, Participation, Vote
from clusters.models import Cluster, ClusterYear, Membership, Superior, Unit
from scoring.models import ClusterYearSet, CriteriaSet, Criterion, Result, ResultSnapshot, Score, Sheet
from scoring.ranking import live_ranking
from scoring.services import _checksum

GENERATED_MARK = "(dữ liệu sinh tự động)"
DEFAULT_SUPERIOR = f"Tổng cục Tải thử {GENERATED_MARK}"
GENERATOR_USERNAME = "generate_load"
BATCH = 5000
EXTRA_LEAVES = 4  # 2 bonus + 2 deduction
UNIT_KINDS = [k.value for k in Unit.Kind]
UNIT_PREFIX = {"military": "Trung đoàn", "school": "Trường", "enterprise": "Công ty", "civil": "Ban"}


def points(hundredths: int, _cache: dict[int, Decimal] = {}) -> Decimal:  # noqa: B006 - deliberate cache
    value = _cache.get(hundredths)
    if value is None:
        value = _cache[hundredths] = Decimal(hundredths).scaleb(-2).quantize(Decimal("0.01"))
    return value


def split_maxima(rng: Random, count: int, total: int) -> list[int]:
    """``count`` positive integers summing to exactly ``total``, random weights."""
    weights = [rng.randint(2, 6) for _ in range(count)]
    spare = total - count
    shares = [1 + spare * w // sum(weights) for w in weights]
    for i in range(total - sum(shares)):
        shares[i % count] += 1
    return shares


class Command(BaseCommand):
    help = "Fill the database with generated load-test data (bulk inserts, deterministic with --seed)."

    def add_arguments(self, parser):
        parser.add_argument("--clusters", type=int, default=500)
        parser.add_argument("--units-per-cluster", type=int, default=10)
        parser.add_argument("--criteria", type=int, default=60,
                            help="Leaf criteria per set, including 2 bonus and 2 deduction items (min 5).")
        parser.add_argument("--years", type=int, default=10)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--first-year", type=int, default=2016)
        parser.add_argument("--superior-name", default=DEFAULT_SUPERIOR)
        parser.add_argument("--force", action="store_true",
                            help="Run even though the database holds real (non-generated) data.")

    def handle(self, *args, **opts):
        n_clusters, per, n_leaves, n_years = (
            opts["clusters"], opts["units_per_cluster"], opts["criteria"], opts["years"]
        )
        if n_clusters < 1 or per < 2 or n_years < 1 or n_leaves < EXTRA_LEAVES + 1:
            raise CommandError("Cần --clusters ≥ 1, --units-per-cluster ≥ 2, --criteria ≥ 5, --years ≥ 1. / "
                               "Need --clusters ≥ 1, --units-per-cluster ≥ 2, --criteria ≥ 5, --years ≥ 1.")
        name = opts["superior_name"]
        if not name.endswith(GENERATED_MARK):
            raise CommandError(f"Tên cấp trên phải kết thúc bằng “{GENERATED_MARK}”. / "
                               f"The superior name must end with “{GENERATED_MARK}”.")
        real = (Superior.objects.exclude(name__endswith=GENERATED_MARK).exists()
                or Unit.objects.exclude(superior__name__endswith=GENERATED_MARK).exists())
        if real and not opts["force"]:
            raise CommandError(
                "Cơ sở dữ liệu đang chứa dữ liệu thật (không phải dữ liệu sinh tự động); dùng --force nếu chắc chắn. / "
                "The database holds real (non-generated) data; pass --force to run anyway."
            )
        if Superior.objects.filter(name=name).exists():
            raise CommandError(f"Đã có cấp trên “{name}”; chọn --superior-name khác. / "
                               f"A superior named “{name}” already exists; choose another --superior-name.")

        rng = Random(opts["seed"])
        start = time.monotonic()
        first = opts["first_year"]
        years = list(range(first, first + n_years))
        user, _ = get_user_model().objects.get_or_create(
            username=GENERATOR_USERNAME, defaults={"first_name": "Dữ liệu", "last_name": "sinh tự động"}
        )

        with transaction.atomic():
            superior = Superior.objects.create(name=name, short_name="TẢI THỬ")
            units = Unit.objects.bulk_create(
                [
                    Unit(name=f"{UNIT_PREFIX[kind]} {i + 1:05d}", short_name=f"U{i + 1:05d}", kind=kind,
                         superior=superior)
                    for i, kind in enumerate(rng.choice(UNIT_KINDS) for _ in range(n_clusters * per))
                ],
                batch_size=BATCH,
            )
            clusters = Cluster.objects.bulk_create(
                [Cluster(name=f"Cụm thi đua {c + 1:04d}", superior=superior,
                         chair_policy=Cluster.ChairPolicy.LEADER) for c in range(n_clusters)],
                batch_size=BATCH,
            )
        self.stdout.write(f"superior “{name}”: {len(units)} units, {len(clusters)} clusters "
                          f"({time.monotonic() - start:.1f}s)")

        totals = {"cluster_years": 0, "sheets": 0, "scores": 0, "snapshots": 0, "results": 0, "votes": 0}
        for yi, year in enumerate(years):
            closed = yi < n_years - 1
            with transaction.atomic():
                counts = self._year(rng, superior, user, units, clusters, per, n_leaves, year, yi, closed)
            for key, value in counts.items():
                totals[key] += value
            self.stdout.write(
                f"{year} ({'closed' if closed else 'review'}): "
                + ", ".join(f"{v} {k}" for k, v in counts.items())
                + f" — {time.monotonic() - start:.1f}s"
            )
        self.stdout.write(self.style.SUCCESS(
            f"Done in {time.monotonic() - start:.1f}s: {len(units)} units, {len(clusters)} clusters, "
            + ", ".join(f"{v} {k}" for k, v in totals.items())
        ))

    def _criteria(self, rng: Random, superior, year: int, n_leaves: int):
        criteria_set = CriteriaSet.objects.create(superior=superior, year=year, name=f"Bộ tiêu chí {year}")
        n_std = n_leaves - EXTRA_LEAVES
        n_groups = -(-n_std // 10)
        # whole points when there is room for it, hundredths otherwise; always sums to exactly 100
        unit = 100 if n_std <= 100 else 1
        maxima = [m * unit for m in split_maxima(rng, n_std, 10000 // unit)]
        groups, leaves = [], []
        group_sizes = [n_std // n_groups + (1 if g < n_std % n_groups else 0) for g in range(n_groups)]
        for g in range(n_groups + 2):
            code = str(g + 1)
            title = (f"Nhóm tiêu chí {g + 1}" if g < n_groups
                     else "Điểm thưởng" if g == n_groups else "Điểm trừ")
            groups.append(Criterion(criteria_set=criteria_set, code=code, title=title, kind=Criterion.Kind.GROUP,
                                    sort_key=Criterion.sort_key_for(code), depth=0))
        groups = Criterion.objects.bulk_create(groups)
        m = 0
        for g, group in enumerate(groups):
            if g < n_groups:
                specs = []
                for _ in range(group_sizes[g]):
                    specs.append((Criterion.Kind.STANDARD, maxima[m]))
                    m += 1
            else:
                kind = Criterion.Kind.BONUS if g == n_groups else Criterion.Kind.DEDUCTION
                specs = [(kind, rng.choice([100, 200, 300, 500])) for _ in range(2)]
            for j, (kind, max_h) in enumerate(specs):
                code = f"{group.code}.{j + 1}"
                leaves.append(Criterion(
                    criteria_set=criteria_set, code=code, title=f"Tiêu chí {code}", kind=kind,
                    max_points=points(max_h), parent=group, top=group,
                    sort_key=Criterion.sort_key_for(code), depth=1, evidence_required=rng.random() < 0.2,
                ))
        leaves = Criterion.objects.bulk_create(leaves, batch_size=BATCH)
        # (pk, kind, max in hundredths) for the score loop
        return criteria_set, [(c.pk, c.kind, int(c.max_points.scaleb(2))) for c in leaves]

    def _year(self, rng, superior, user, units, clusters, per, n_leaves, year, yi, closed) -> dict[str, int]:
        moment = datetime(year, 12, 1, 8, 0, tzinfo=timezone.utc)
        phase = ClusterYear.Phase.CLOSED if closed else ClusterYear.Phase.REVIEW
        cluster_years = ClusterYear.objects.bulk_create(
            [ClusterYear(cluster=c, year=year, phase=phase, self_assessment_due=date(year, 11, 15),
                         review_due=date(year, 11, 30),
                         chair_basis=ClusterYear.ChairBasis.FOUNDING if yi == 0 else ClusterYear.ChairBasis.ROTATION)
             for c in clusters],
            batch_size=BATCH,
        )
        members = {cy.pk: units[ci * per:(ci + 1) * per] for ci, cy in enumerate(cluster_years)}
        chair_index = yi % per
        Membership.objects.bulk_create(
            [Membership(cluster_year=cy, unit=u, superior_id=superior.pk, year=year,
                        role=Membership.Role.CHAIR if ui == chair_index else Membership.Role.MEMBER)
             for cy in cluster_years for ui, u in enumerate(members[cy.pk])],
            batch_size=BATCH,
        )
        criteria_set, leaves = self._criteria(rng, superior, year, n_leaves)
        ClusterYearSet.objects.bulk_create(
            [ClusterYearSet(cluster_year=cy, criteria_set=criteria_set) for cy in cluster_years], batch_size=BATCH
        )
        sheets = Sheet.objects.bulk_create(
            [Sheet(cluster_year=cy, unit=u, criteria_set=criteria_set, status=Sheet.Status.APPROVED, version=3,
                   submitted_at=moment, approved_at=moment, approved_by=user)
             for cy in cluster_years for u in members[cy.pk]],
            batch_size=BATCH,
        )
        n_scores = self._scores(rng, sheets, leaves)
        counts = {"cluster_years": len(cluster_years), "sheets": len(sheets), "scores": n_scores}
        if closed:
            counts.update(self._freeze(rng, user, cluster_years, members, moment, year, chair_index, per))
        return counts

    def _scores(self, rng: Random, sheets, leaves) -> int:
        random = rng.random
        batch, n = [], 0
        standard, bonus = Criterion.Kind.STANDARD, Criterion.Kind.BONUS
        for sheet in sheets:
            skill = 0.55 + 0.4 * random()  # each unit has its own level for the year
            for pk, kind, max_h in leaves:
                if kind == standard:
                    self_h = min(max_h, int(max_h * (skill + 0.15 * random())))
                    official_h = max(0, self_h - int(max_h * 0.1 * random()) if random() < 0.4 else self_h)
                elif kind == bonus:
                    self_h = int(max_h * random()) if random() < 0.5 else 0
                    official_h = self_h if random() < 0.7 else self_h // 2
                else:
                    self_h = 0
                    official_h = int(max_h * random()) if random() < 0.3 else 0
                batch.append(Score(sheet_id=sheet.pk, criterion_id=pk, self_points=points(self_h),
                                   official_points=points(official_h)))
            if len(batch) >= BATCH:
                Score.objects.bulk_create(batch, batch_size=BATCH)
                n += len(batch)
                batch = []
        if batch:
            Score.objects.bulk_create(batch, batch_size=BATCH)
            n += len(batch)
        return n

    def _freeze(self, rng, user, cluster_years, members, moment, year, chair_index, per) -> dict[str, int]:
        snapshots, result_rows, votes, conferences = [], [], [], []
        rankings = []
        for cy in cluster_years:
            ranking = live_ranking(cy)
            rankings.append(ranking)
            snapshots.append(ResultSnapshot(
                cluster_year=cy, criteria_set=ranking.criteria_set, number=1, is_current=True, created_at=moment,
                created_by=user, reason="Dữ liệu sinh tự động",
                checksum=_checksum(cy, ranking.criteria_set.pk, ranking.rows),
            ))
        snapshots = ResultSnapshot.objects.bulk_create(snapshots, batch_size=BATCH)
        for snapshot, ranking in zip(snapshots, rankings, strict=True):
            result_rows.extend(
                Result(snapshot=snapshot, unit=r.unit, standard=r.standard, bonus=r.bonus, deduction=r.deduction,
                       total=r.total, groups={k: str(v) for k, v in r.groups.items()}, rank=r.rank, tied=r.tied,
                       band=r.band, separated_by=r.separated_by, gap=r.gap)
                for r in ranking.rows
            )
        Result.objects.bulk_create(result_rows, batch_size=BATCH)
        closed_at = datetime(year, 12, 20, 10, 0, tzinfo=timezone.utc)
        for cy, ranking in zip(cluster_years, rankings, strict=True):
            count = len(members[cy.pk])
            votes.append(Vote(
                cluster_year=cy, round=1, status=Vote.Status.CLOSED, mode=Vote.Mode.ELECTRONIC, threshold=50,
                threshold_inclusive=False, denominator="members", secret=True, self_vote=True,
                tie_rule="higher_total", ballots_issued=count, ballots_returned=count, opened_by=user,
                opened_at=closed_at, closed_by=user, closed_at=closed_at, outcome=Vote.Outcome.ACCLAIMED,
                leader=ranking.rows[0].unit,
            ))
        votes = Vote.objects.bulk_create(votes, batch_size=BATCH)
        candidates, participations = [], []
        for vote, cy, ranking in zip(votes, cluster_years, rankings, strict=True):
            count = len(members[cy.pk])
            candidates.append(Candidate(vote=vote, unit=ranking.rows[0].unit, frozen_total=ranking.rows[0].total,
                                        frozen_rank=1, agree=count,
                                        passed=True))
            participations.extend(Participation(vote=vote, unit=u) for u in members[cy.pk])
            unit_list = members[cy.pk]
            conferences.append(Conference(
                cluster_year=cy, held_on=closed_at.date(), place=f"Hội trường {rng.randint(1, 50)}",
                presiding=f"Đại diện {unit_list[chair_index].name}", leader=ranking.rows[0].unit,
                next_chair=unit_list[(chair_index + 1) % per], chair_basis=ClusterYear.ChairBasis.ROTATION,
                override_reason="Luân phiên theo dữ liệu sinh tự động", finished_by=user, finished_at=closed_at,
            ))
        Candidate.objects.bulk_create(candidates, batch_size=BATCH)
        Participation.objects.bulk_create(participations, batch_size=BATCH)
        Conference.objects.bulk_create(conferences, batch_size=BATCH)
        return {"snapshots": len(snapshots), "results": len(result_rows), "votes": len(votes)}
