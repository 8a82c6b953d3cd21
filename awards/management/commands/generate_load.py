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
years, written with COPY on PostgreSQL and one ``executemany`` on SQLite.

Every year but the last is closed: frozen results (the rows and checksum
``close_scoring`` would write, computed in one pass over the generated points,
see ``_load.rank_rows``), the leader vote (acclaimed, the rank-1 unit), the
conference, the default award proposals of the catalogue (``_load.AwardPlanner``,
as ``awarding.propose_defaults``) and one decision of the superior granting the
proposals of the awards it decides (those of the Ministry or the Government
stay proposed, as in the demo). The last year stays in review with every sheet
approved, ready for ``close_scoring``.

Accounts, all with the one ``--password`` (hashed once): ``<prefix>_command``
(command officer of the superior), ``<prefix>_officer_<n>`` (cluster officer of
the unit chairing cluster n in the last year), ``<prefix>_staff_<n>`` (unit staff
of unit n); prefix ``load`` by default.
"""

import time
from datetime import date, datetime, timezone
from random import Random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import translation

from awards.demo import HIGHER_AUTHORITY, ensure_catalogue
from awards.models import Candidate, Conference, Decision, Grant, Participation, Proposal, Vote
from clusters.models import Cluster, ClusterYear, Membership, RoleAssignment, Superior, Unit
from scoring.models import ClusterYearSet, CriteriaSet, Criterion, Result, ResultSnapshot, Sheet
from scoring.services import _checksum

from ._load import AwardPlanner, ScoreWriter, SheetTotals, points, rank_rows

GENERATED_MARK = "(dữ liệu sinh tự động)"
DEFAULT_SUPERIOR = f"Tổng cục Tải thử {GENERATED_MARK}"
GENERATOR_USERNAME = "generate_load"
DEFAULT_PASSWORD = "LoadTest@2024"
DEFAULT_PREFIX = "load"
BATCH = 5000
EXTRA_LEAVES = 4  # 2 bonus + 2 deduction
UNIT_KINDS = [k.value for k in Unit.Kind]
UNIT_PREFIX = {"military": "Trung đoàn", "school": "Trường", "enterprise": "Công ty", "civil": "Ban"}
STANDARD, BONUS, DEDUCTION = 0, 1, 2
KIND_CODE = {Criterion.Kind.STANDARD: STANDARD, Criterion.Kind.BONUS: BONUS, Criterion.Kind.DEDUCTION: DEDUCTION}
R = RoleAssignment.Role


def split_maxima(rng, count: int, total: int) -> list[int]:
    """``count`` positive integers summing to exactly ``total``, random weights."""
    weights = [rng.randint(2, 6) for _ in range(count)]
    spare = total - count
    shares = [1 + spare * w // sum(weights) for w in weights]
    for i in range(total - sum(shares)):
        shares[i % count] += 1
    return shares


def account_names(prefix: str, n_clusters: int, n_units: int) -> tuple[str, list[str], list[str]]:
    return (f"{prefix}_command", [f"{prefix}_officer_{c + 1}" for c in range(n_clusters)],
            [f"{prefix}_staff_{u + 1}" for u in range(n_units)])


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
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password of every generated account.")
        parser.add_argument("--account-prefix", default=DEFAULT_PREFIX,
                            help="Accounts are <prefix>_command, <prefix>_officer_<n>, <prefix>_staff_<n>.")
        parser.add_argument("--force", action="store_true",
                            help="Run even though the database holds real (non-generated) data.")

    def handle(self, *args, **opts):
        with translation.override(settings.LANGUAGE_CODE):  # the texts the application writes (justifications)
            self._handle(opts)
        cache.clear()  # sessions, users and rankings cached from what this database held before

    def _check(self, opts) -> None:
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
        prefix = opts["account_prefix"]
        command, officers, staff = account_names(prefix, n_clusters, n_clusters * per)
        wanted = {command, *officers, *staff}
        taken = sorted(set(get_user_model().objects.filter(username__startswith=f"{prefix}_")
                           .values_list("username", flat=True)) & wanted)
        if taken:
            raise CommandError(f"Đã có tài khoản {taken[0]}; chọn --account-prefix khác. / "
                               f"Account {taken[0]} already exists; choose another --account-prefix.")

    def _handle(self, opts):
        self._check(opts)
        n_clusters, per, n_leaves, n_years = (
            opts["clusters"], opts["units_per_cluster"], opts["criteria"], opts["years"]
        )
        name = opts["superior_name"]
        self.rng = rng = Random(opts["seed"])
        self.start = time.monotonic()
        first = opts["first_year"]
        years = list(range(first, first + n_years))
        ensure_catalogue()
        user, _ = get_user_model().objects.get_or_create(
            username=GENERATOR_USERNAME, defaults={"first_name": "Dữ liệu", "last_name": "sinh tự động"}
        )
        self.user = user
        self.writer = ScoreWriter()

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
            self.command_user, self.officers = self._accounts(
                opts["account_prefix"], opts["password"], superior, units, clusters, per, (n_years - 1) % per
            )
        self.say(f"superior “{name}”: {len(units)} units, {len(clusters)} clusters, "
                 f"{len(units) + len(clusters) + 1} accounts")

        self.planner = AwardPlanner(units_in_superior=len(units))
        totals: dict[str, int] = {}
        for yi, year in enumerate(years):
            closed = yi < n_years - 1
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    # Foreign keys checked row by row while the server ingests (in parallel with this process)
                    # rather than all at the commit.
                    with connection.cursor() as cursor:
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                counts = self._year(superior, units, clusters, per, n_leaves, year, yi, closed)
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
            summary = ", ".join(f"{v} {k}" for k, v in counts.items())
            self.say(f"{year} ({'closed' if closed else 'review'}): {summary}")
        if not connection.in_atomic_block:
            # Fresh statistics and visibility map (index-only scans) for whoever measures next.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE")
            self.say("statistics updated")
        prefix = opts["account_prefix"]
        self.stdout.write(self.style.SUCCESS(
            f"Done in {time.monotonic() - self.start:.1f}s: {len(units)} units, {len(clusters)} clusters, "
            + ", ".join(f"{v} {k}" for k, v in totals.items())
        ))
        self.stdout.write(
            f"Accounts (password “{opts['password']}”): {prefix}_command (command officer), "
            f"{prefix}_officer_1 … {prefix}_officer_{len(clusters)} (cluster officer of the unit chairing "
            f"cluster n in {years[-1]}), {prefix}_staff_1 … {prefix}_staff_{len(units)} (unit staff of unit n)."
        )

    def say(self, text: str) -> None:
        self.stdout.write(f"{text} — {time.monotonic() - self.start:.1f}s")
        self.stdout.flush()

    # --- accounts ------------------------------------------------------------------------------

    def _accounts(self, prefix, password, superior, units, clusters, per, chair_index):
        User = get_user_model()
        hashed = make_password(password)  # once: hashing is slow on purpose
        command, officers, staff = account_names(prefix, len(clusters), len(units))
        users = User.objects.bulk_create(
            [User(username=command, password=hashed, first_name="Cán bộ thi đua", last_name=superior.short_name)]
            + [User(username=username, password=hashed, first_name="Cán bộ", last_name=f"Cụm trưởng {c.name}")
               for username, c in zip(officers, clusters, strict=True)]
            + [User(username=username, password=hashed, first_name="Trợ lý thi đua", last_name=u.name)
               for username, u in zip(staff, units, strict=True)],
            batch_size=BATCH,
        )
        command_user, officer_users, staff_users = users[0], users[1:1 + len(clusters)], users[1 + len(clusters):]
        RoleAssignment.objects.bulk_create(
            [RoleAssignment(user=command_user, role=R.COMMAND_OFFICER, superior=superior)]
            + [RoleAssignment(user=officer, role=R.CLUSTER_OFFICER, unit=units[ci * per + chair_index])
               for ci, officer in enumerate(officer_users)]
            + [RoleAssignment(user=staff_user, role=R.UNIT_STAFF, unit=unit)
               for staff_user, unit in zip(staff_users, units, strict=True)],
            batch_size=BATCH,
        )
        return command_user, officer_users

    # --- one year ------------------------------------------------------------------------------

    def _criteria(self, superior, year: int, n_leaves: int):
        rng = self.rng
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
        codes = [g.code for g in groups]
        index = {g.pk: i for i, g in enumerate(groups)}
        # (pk, kind code, max in hundredths, index of its top group) for the score loop
        return criteria_set, codes, [(c.pk, KIND_CODE[c.kind], int(c.max_points.scaleb(2)), index[c.top_id])
                                     for c in leaves]

    def _year(self, superior, units, clusters, per, n_leaves, year, yi, closed) -> dict[str, int]:
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
        criteria_set, group_codes, leaves = self._criteria(superior, year, n_leaves)
        ClusterYearSet.objects.bulk_create(
            [ClusterYearSet(cluster_year=cy, criteria_set=criteria_set) for cy in cluster_years], batch_size=BATCH
        )
        sheets = Sheet.objects.bulk_create(
            [Sheet(cluster_year=cy, unit=u, criteria_set=criteria_set, status=Sheet.Status.APPROVED, version=3,
                   submitted_at=moment, approved_at=moment, approved_by=self.user)
             for cy in cluster_years for u in members[cy.pk]],
            batch_size=BATCH,
        )
        sheet_totals = [SheetTotals(unit=s.unit, sheet_id=s.pk) for s in sheets]
        n_scores = self.writer.write(self._score_rows(sheet_totals, leaves, group_codes))
        self.say(f"  {year}: {n_scores} scores")
        counts = {"cluster_years": len(cluster_years), "sheets": len(sheets), "scores": n_scores}
        if closed:
            by_year = {cy.pk: sheet_totals[i * per:(i + 1) * per] for i, cy in enumerate(cluster_years)}
            rankings = [rank_rows(by_year[cy.pk], criteria_set) for cy in cluster_years]
            counts.update(
                self._freeze(cluster_years, members, criteria_set, rankings, moment, year, chair_index, per)
            )
            counts.update(self._awards(superior, cluster_years, clusters, rankings, year, yi))
        return counts

    def _score_rows(self, sheet_totals: list[SheetTotals], leaves, group_codes):
        """Yield (sheet, criterion, self, official) in hundredths; add each sheet's official totals as it goes."""
        random = self.rng.random
        n_groups = len(group_codes)
        for totals in sheet_totals:
            sheet_id = totals.sheet_id
            skill = 0.55 + 0.4 * random()  # each unit has its own level for the year
            standard = bonus = deduction = 0
            subtotals = [0] * n_groups
            for pk, kind, max_h, group in leaves:
                if kind == STANDARD:
                    self_h = min(max_h, int(max_h * (skill + 0.15 * random())))
                    official_h = max(0, self_h - int(max_h * 0.1 * random()) if random() < 0.4 else self_h)
                    standard += official_h
                    subtotals[group] += official_h
                elif kind == BONUS:
                    self_h = int(max_h * random()) if random() < 0.5 else 0
                    official_h = self_h if random() < 0.7 else self_h // 2
                    bonus += official_h
                    subtotals[group] += official_h
                else:
                    self_h = 0
                    official_h = int(max_h * random()) if random() < 0.3 else 0
                    deduction += official_h
                    subtotals[group] -= official_h
                yield sheet_id, pk, self_h, official_h
            totals.standard, totals.bonus, totals.deduction = standard, bonus, deduction
            totals.groups = dict(zip(group_codes, subtotals, strict=True))

    def _freeze(self, cluster_years, members, criteria_set, rankings, moment, year, chair_index,
                per) -> dict[str, int]:
        rng, user = self.rng, self.user
        snapshots = ResultSnapshot.objects.bulk_create(
            [ResultSnapshot(cluster_year=cy, criteria_set=criteria_set, number=1, is_current=True,
                            created_at=moment, created_by=user, reason="Dữ liệu sinh tự động",
                            checksum=_checksum(cy, criteria_set.pk, rows))
             for cy, rows in zip(cluster_years, rankings, strict=True)],
            batch_size=BATCH,
        )
        result_rows = [
            Result(snapshot=snapshot, unit=r.unit, standard=r.standard, bonus=r.bonus, deduction=r.deduction,
                   total=r.total, groups={k: str(v) for k, v in r.groups.items()}, rank=r.rank, tied=r.tied,
                   band=r.band, separated_by=r.separated_by, gap=r.gap)
            for snapshot, rows in zip(snapshots, rankings, strict=True) for r in rows
        ]
        Result.objects.bulk_create(result_rows, batch_size=BATCH)
        self.say(f"  {year}: {len(result_rows)} frozen results")
        closed_at = datetime(year, 12, 20, 10, 0, tzinfo=timezone.utc)
        votes = []
        for cy, rows in zip(cluster_years, rankings, strict=True):
            count = len(members[cy.pk])
            votes.append(Vote(
                cluster_year=cy, round=1, status=Vote.Status.CLOSED, mode=Vote.Mode.ELECTRONIC, threshold=50,
                threshold_inclusive=False, denominator="members", secret=True, self_vote=True,
                tie_rule="higher_total", ballots_issued=count, ballots_returned=count, opened_by=user,
                opened_at=closed_at, closed_by=user, closed_at=closed_at, outcome=Vote.Outcome.ACCLAIMED,
                leader=rows[0].unit,
            ))
        votes = Vote.objects.bulk_create(votes, batch_size=BATCH)
        candidates, participations, conferences = [], [], []
        for vote, cy, rows in zip(votes, cluster_years, rankings, strict=True):
            count = len(members[cy.pk])
            candidates.append(Candidate(vote=vote, unit=rows[0].unit, frozen_total=rows[0].total, frozen_rank=1,
                                        agree=count, passed=True))
            participations.extend(Participation(vote=vote, unit=u) for u in members[cy.pk])
            unit_list = members[cy.pk]
            conferences.append(Conference(
                cluster_year=cy, held_on=closed_at.date(), place=f"Hội trường {rng.randint(1, 50)}",
                presiding=f"Đại diện {unit_list[chair_index].name}", leader=rows[0].unit,
                next_chair=unit_list[(chair_index + 1) % per], chair_basis=ClusterYear.ChairBasis.ROTATION,
                override_reason="Luân phiên theo dữ liệu sinh tự động", finished_by=user, finished_at=closed_at,
            ))
        Candidate.objects.bulk_create(candidates, batch_size=BATCH)
        Participation.objects.bulk_create(participations, batch_size=BATCH)
        Conference.objects.bulk_create(conferences, batch_size=BATCH)
        return {"snapshots": len(snapshots), "results": len(result_rows), "votes": len(votes)}

    def _awards(self, superior, cluster_years, clusters, rankings, year, yi) -> dict[str, int]:
        """The default proposals after each conference, then the superior's decision on those it decides."""
        proposed = self.planner.year(
            year, [(cy, rows, rows[0].unit) for cy, rows in zip(cluster_years, rankings, strict=True)]
        )
        officer = {c.pk: o for c, o in zip(clusters, self.officers, strict=True)}
        proposed_at = datetime(year, 12, 20, 17, 0, tzinfo=timezone.utc)
        proposals = Proposal.objects.bulk_create(
            [Proposal(cluster_year=p.cluster_year, unit=p.unit, award_type=p.award, justification=p.justification,
                      reason=p.reason, created_by=officer[p.cluster_year.cluster_id], created_at=proposed_at)
             for p in proposed],
            batch_size=BATCH,
        )
        granted = [(p, row) for p, row in zip(proposals, proposed, strict=True)
                   if row.award.code not in HIGHER_AUTHORITY]
        counts = {"proposals": len(proposals), "decisions": 0, "grants": 0}
        if granted:
            day = date(year, 12, 28)
            decision = Decision.objects.create(
                superior=superior, number=f"{101 + yi}/QĐ-TT", date=day, authority=superior.name, signer="Tư lệnh",
                year=year, recorded_by=self.command_user,
                recorded_at=datetime(year, 12, 28, 10, 0, tzinfo=timezone.utc),
            )
            Grant.objects.bulk_create(
                [Grant(decision=decision, unit=p.unit, award_type=p.award_type, year=year, proposal=p)
                 for p, _ in granted],
                batch_size=BATCH,
            )
            self.planner.grant(year, [row for _, row in granted])
            counts.update(decisions=1, grants=len(granted))
        self.say(f"  {year}: {len(proposals)} award proposals, {len(granted)} granted")
        return counts
