"""
The load generator (issue #7): counts, determinism, the guard against real data, sound criteria sets,
frozen results equal to the application's live ranking, award proposals equal to what
``awarding.propose_defaults`` proposes, grants within the rules, accounts that log in.
"""

import datetime
import hashlib
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone

from awards import awarding
from awards.demo import HIGHER_AUTHORITY
from awards.models import AwardType, Candidate, Conference, Decision, Grant, Participation, Proposal, Vote
from clusters.models import ClusterYear, Membership, RoleAssignment, Superior, Unit, User
from clusters.permissions import is_cluster_officer_of, is_command_officer_for, units_staffed_by
from scoring.models import ClusterYearSet, CriteriaSet, Criterion, Result, ResultSnapshot, Score, Sheet
from scoring.ranking import live_ranking
from scoring.services import _checksum, close_scoring

from awards.management.commands._load import SheetTotals, rank_rows

pytestmark = pytest.mark.django_db

SIZES = ["--clusters", "3", "--units-per-cluster", "3", "--criteria", "12", "--years", "2"]
MARK = "(dữ liệu sinh tự động)"
PASSWORD = "LoadTest@2024"


def run(*extra, sizes=SIZES) -> str:
    out = io.StringIO()
    call_command("generate_load", *sizes, *extra, stdout=out)
    return out.getvalue()


def fingerprint(superior_name: str) -> str:
    rows = Score.objects.filter(sheet__cluster_year__cluster__superior__name=superior_name).order_by(
        "sheet__cluster_year__year", "sheet__cluster_year__cluster__name", "sheet__unit__name", "criterion__sort_key"
    ).values_list(
        "sheet__cluster_year__year", "sheet__cluster_year__cluster__name", "sheet__unit__name", "sheet__unit__kind",
        "criterion__code", "criterion__kind", "criterion__max_points", "self_points", "official_points",
    )
    results = Result.objects.filter(snapshot__cluster_year__cluster__superior__name=superior_name).order_by(
        "snapshot__cluster_year__year", "snapshot__cluster_year__cluster__name", "rank", "unit__name"
    ).values_list("unit__name", "total", "rank", "tied", "band")
    proposals = Proposal.objects.filter(cluster_year__cluster__superior__name=superior_name).order_by(
        "cluster_year__year", "cluster_year__cluster__name", "award_type__position", "unit__name"
    ).values_list("cluster_year__year", "unit__name", "award_type__code", "justification", "reason")
    grants = Grant.objects.filter(decision__superior__name=superior_name).order_by(
        "year", "award_type__position", "unit__name"
    ).values_list("year", "unit__name", "award_type__code", "decision__number")
    roles = RoleAssignment.objects.filter(
        Q(superior__name=superior_name) | Q(unit__superior__name=superior_name)
    ).order_by("role", "unit__name").values_list("user__username", "role", "unit__name")
    roles = [(username.split("_", 1)[1], role, unit) for username, role, unit in roles]  # without the prefix
    data = (list(rows), list(results), list(proposals), list(grants), roles)
    return hashlib.sha256(repr(data).encode()).hexdigest()


def test_counts():
    out = run()
    assert Superior.objects.get().name.endswith(MARK)
    assert Unit.objects.count() == 9
    assert ClusterYear.objects.count() == 6
    assert ClusterYear.objects.filter(phase=ClusterYear.Phase.CLOSED).count() == 3
    assert ClusterYear.objects.filter(phase=ClusterYear.Phase.REVIEW).count() == 3
    assert Membership.objects.count() == 18
    assert Membership.objects.filter(role=Membership.Role.CHAIR).count() == 6
    assert CriteriaSet.objects.count() == 2
    assert ClusterYearSet.objects.count() == 6
    assert Criterion.objects.exclude(kind=Criterion.Kind.GROUP).count() == 2 * 12
    assert Sheet.objects.count() == 18
    assert Sheet.objects.exclude(status=Sheet.Status.APPROVED).count() == 0
    assert Score.objects.count() == 3 * 3 * 12 * 2
    assert Score.objects.filter(official_points__isnull=True).count() == 0
    assert ResultSnapshot.objects.count() == 1 * 3
    assert Result.objects.count() == 1 * 3 * 3
    assert Vote.objects.filter(status=Vote.Status.CLOSED).count() == 3
    assert Candidate.objects.filter(frozen_rank=1, agree=3, passed=True).count() == 3
    assert Participation.objects.count() == 9
    assert Conference.objects.count() == 3
    # the vote's leader is the rank-1 unit of the frozen results
    for vote in Vote.objects.all():
        assert Result.objects.filter(snapshot__cluster_year=vote.cluster_year, rank=1, unit=vote.leader).exists()
    # awards: proposals of the closed year only, one decision granting those the superior decides
    assert Proposal.objects.exclude(cluster_year__phase=ClusterYear.Phase.CLOSED).count() == 0
    assert Proposal.objects.count() > 0
    decision = Decision.objects.get()
    assert (decision.year, decision.superior, decision.revoked_at) == (2016, Superior.objects.get(), None)
    assert decision.recorded_by.username == "load_command"
    decided = Proposal.objects.exclude(award_type__code__in=HIGHER_AUTHORITY)
    assert Grant.objects.count() == decided.count()
    assert set(Grant.objects.values_list("proposal", "unit", "award_type", "year")) == {
        (p.pk, p.unit_id, p.award_type_id, 2016) for p in decided
    }
    # accounts: 1 command officer, 3 cluster officers, 9 unit staff
    assert User.objects.filter(username__startswith="load_").count() == 1 + 3 + 9
    assert RoleAssignment.objects.filter(role=RoleAssignment.Role.COMMAND_OFFICER).count() == 1
    assert RoleAssignment.objects.filter(role=RoleAssignment.Role.CLUSTER_OFFICER).count() == 3
    assert RoleAssignment.objects.filter(role=RoleAssignment.Role.UNIT_STAFF).count() == 9
    # the last year is ready for the application to close its scoring
    open_year = ClusterYear.objects.filter(phase=ClusterYear.Phase.REVIEW).first()
    snapshot = close_scoring(cluster_year=open_year, by=User.objects.get(username="load_command"),
                             now=timezone.now())
    assert snapshot.results.count() == 3
    # progress: one line per year with the elapsed time, and the accounts at the end
    assert "2016 (closed):" in out and "2017 (review):" in out and "s\n" in out
    assert "load_officer_1 … load_officer_3" in out and "load_staff_1 … load_staff_9" in out and PASSWORD in out


def test_criteria_sets_are_sound():
    run()
    for criteria_set in CriteriaSet.objects.all():
        leaves = criteria_set.criteria.exclude(kind=Criterion.Kind.GROUP)
        standard = leaves.filter(kind=Criterion.Kind.STANDARD)
        assert sum(c.max_points for c in standard) == Decimal("100.00")
        assert leaves.filter(kind=Criterion.Kind.BONUS).count() == 2
        assert leaves.filter(kind=Criterion.Kind.DEDUCTION).count() == 2
        for leaf in leaves:
            assert leaf.parent_id is not None and leaf.parent.code == leaf.code.split(".")[0]
            assert leaf.top_id == leaf.parent_id
            assert leaf.depth == 1 and leaf.sort_key == Criterion.sort_key_for(leaf.code)
        groups = criteria_set.criteria.filter(kind=Criterion.Kind.GROUP)
        assert all(g.parent_id is None and g.depth == 0 for g in groups)
        assert max(g.children.count() for g in groups) <= 10
    # points stay within the maxima
    for score in Score.objects.select_related("criterion"):
        assert Decimal(0) <= score.self_points <= score.criterion.max_points
        assert Decimal(0) <= score.official_points <= score.criterion.max_points


def test_deterministic():
    run()
    first = fingerprint(Superior.objects.get().name)
    other = f"Tổng cục thứ hai {MARK}"
    run("--superior-name", other, "--account-prefix", "two")
    assert fingerprint(other) == first
    third = f"Tổng cục thứ ba {MARK}"
    run("--superior-name", third, "--seed", "2", "--account-prefix", "three")
    assert fingerprint(third) != first


def test_refuses_real_data_unless_forced():
    Superior.objects.create(name="Bộ Tư lệnh Thủ đô")
    with pytest.raises(CommandError, match="real"):
        run()
    assert Unit.objects.count() == 0
    run("--force")
    assert Score.objects.count() == 3 * 3 * 12 * 2


def test_refuses_name_without_mark_and_existing_name():
    with pytest.raises(CommandError):
        run("--superior-name", "Tổng cục thật")
    run()
    with pytest.raises(CommandError, match="already exists"):
        run()


def test_official_sums_per_year_reported():
    run()
    sums = dict(Score.objects.values_list("sheet__cluster_year__year").annotate(s=Sum("official_points"))
                .values_list("sheet__cluster_year__year", "s"))
    assert set(sums) == {2016, 2017}
    assert all(v > 0 for v in sums.values())
    assert set(Sheet.objects.values_list("cluster_year__year").annotate(n=Count("pk")).values_list("n", flat=True)) == {9}


def test_accounts_log_in_with_their_roles(client):
    run("--password", "Khác@2025")
    superior = Superior.objects.get()
    command, officer, staff = (User.objects.get(username=u)
                               for u in ("load_command", "load_officer_2", "load_staff_5"))
    assert len({command.password, officer.password, staff.password}) == 1  # hashed once
    login = reverse("login")
    refused = client.post(login, {"username": "load_staff_5", "password": PASSWORD})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    response = client.post(login, {"username": "load_staff_5", "password": "Khác@2025"})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(staff.pk)
    assert is_command_officer_for(command, superior.pk)
    assert list(units_staffed_by(staff)) == [Unit.objects.get(short_name="U00005")]
    # the officer of cluster 2 runs its open (last) year: its unit chairs it
    open_year = ClusterYear.objects.get(cluster__name="Cụm thi đua 0002", phase=ClusterYear.Phase.REVIEW)
    assert is_cluster_officer_of(officer, open_year)
    theirs = Proposal.objects.filter(cluster_year__cluster__name="Cụm thi đua 0002")
    assert theirs.exists() and not theirs.exclude(created_by=officer).exists()


def test_existing_accounts_are_refused():
    run()
    with pytest.raises(CommandError, match="load_command already exists"):
        run("--superior-name", f"Tổng cục khác {MARK}")
    run("--superior-name", f"Tổng cục khác {MARK}", "--account-prefix", "other")
    assert User.objects.filter(username__startswith="other_").count() == 13


RANKED = ["--clusters", "4", "--units-per-cluster", "8", "--criteria", "5", "--years", "3"]


def test_frozen_results_are_the_live_ranking_of_every_closed_cluster_year():
    run(sizes=RANKED)
    closed = ClusterYear.objects.filter(phase=ClusterYear.Phase.CLOSED)
    assert closed.count() == 8
    for cy in closed:
        snapshot = ResultSnapshot.objects.get(cluster_year=cy)
        live = live_ranking(cy)
        assert snapshot.criteria_set == live.criteria_set
        assert snapshot.checksum == _checksum(cy, live.criteria_set.pk, live.rows)
        results = list(snapshot.results.order_by("rank", "unit__name"))
        assert [
            (r.unit_id, r.standard, r.bonus, r.deduction, r.total, {k: Decimal(v) for k, v in r.groups.items()},
             r.rank, r.tied, r.band, r.separated_by, r.gap) for r in results
        ] == [
            (r.unit.pk, r.standard, r.bonus, r.deduction, r.total, r.groups, r.rank, r.tied, r.band,
             r.separated_by, r.gap) for r in live.rows
        ]


def live_rows(cy) -> list[tuple]:
    return [(r.unit.pk, r.standard, r.bonus, r.deduction, r.total, r.groups, r.rank, r.tied, r.band, r.separated_by,
             r.gap, r.sheet_id) for r in live_ranking(cy).rows]


def totals_from_the_database(cy) -> list[SheetTotals]:
    sign = {Criterion.Kind.STANDARD: 1, Criterion.Kind.BONUS: 1, Criterion.Kind.DEDUCTION: -1}
    field = {Criterion.Kind.STANDARD: "standard", Criterion.Kind.BONUS: "bonus",
             Criterion.Kind.DEDUCTION: "deduction"}
    sheets = []
    for sheet in Sheet.objects.filter(cluster_year=cy).select_related("unit").order_by("pk"):
        totals = SheetTotals(unit=sheet.unit, sheet_id=sheet.pk)
        for score in sheet.scores.select_related("criterion__top"):
            points, kind, code = int(score.official_points * 100), score.criterion.kind, score.criterion.top.code
            setattr(totals, field[kind], getattr(totals, field[kind]) + points)
            totals.groups[code] = totals.groups.get(code, 0) + sign[kind] * points
        sheets.append(totals)
    return sheets


def test_the_generators_ranking_breaks_and_shares_ties_as_live_ranking_does():
    run(sizes=RANKED)
    cy = ClusterYear.objects.filter(phase=ClusterYear.Phase.REVIEW).order_by("pk").first()  # scores still open
    sheets = list(Sheet.objects.filter(cluster_year=cy).order_by("unit__name"))
    leaves = {c.kind + str(i): c for kind in Criterion.Kind for i, c in enumerate(
        cy.criteria_link.criteria_set.criteria.filter(kind=kind).order_by("sort_key"))}
    # all total 91: D (standard 92) > C (91, no deduction) > E (91, 1 deducted) > A = B (90, shared)
    wanted = {0: {"standard0": 90, "bonus0": 1}, 1: {"standard0": 90, "bonus0": 1}, 2: {"standard0": 91},
              3: {"standard0": 92, "deduction0": 1}, 4: {"standard0": 91, "bonus0": 1, "deduction0": 1}}
    for i, points in wanted.items():
        for key, leaf in leaves.items():
            Score.objects.filter(sheet=sheets[i], criterion=leaf).update(official_points=points.get(key, 0))
    criteria_set = cy.criteria_link.criteria_set
    for rules in ("standard,fewer_deductions", "bonus,fewer_deductions", ""):
        CriteriaSet.objects.filter(pk=criteria_set.pk).update(tie_breaks=rules)  # a used set is locked to save()
        criteria_set.refresh_from_db()
        rows = rank_rows(totals_from_the_database(cy), criteria_set)
        assert [(r.unit.pk, r.standard, r.bonus, r.deduction, r.total, r.groups, r.rank, r.tied, r.band,
                 r.separated_by, r.gap, r.sheet_id) for r in rows] == live_rows(cy)
        assert _checksum(cy, criteria_set.pk, rows) == _checksum(cy, criteria_set.pk, live_ranking(cy).rows)
    mine = {r.unit.pk: r for r in rank_rows(totals_from_the_database(cy), criteria_set)}
    assert mine[sheets[0].unit_id].tied and mine[sheets[1].unit_id].separated_by == "shared"
    criteria_set.tie_breaks = "standard,fewer_deductions"
    rows = rank_rows(totals_from_the_database(cy), criteria_set)
    order = [r.unit.pk for r in rows if r.total == Decimal("91.00")]
    assert order == [sheets[i].unit_id for i in (3, 2, 4, 0, 1)]


AWARDED = ["--clusters", "4", "--units-per-cluster", "5", "--criteria", "6", "--years", "5", "--seed", "2"]


def test_proposals_and_grants_are_what_the_application_makes():
    """Replay the four closed years with the application's own services and compare."""
    run(sizes=AWARDED)

    def proposals() -> set:
        return set(Proposal.objects.values_list("cluster_year", "unit", "award_type__code", "justification",
                                                "reason"))

    def grants() -> set:
        return set(Grant.objects.values_list("unit", "award_type__code", "year", "proposal__cluster_year"))

    generated, granted = proposals(), grants()
    codes = {p[2] for p in generated}
    # flags for leaders, titles, a chained Bằng khen, Giấy khen added by the officer
    assert {"co-thi-dua-btl", "don-vi-quyet-thang", "don-vi-tien-tien", "bang-khen-bqp", "giay-khen"} <= codes
    Grant.objects.all().delete()
    Decision.objects.all().delete()
    Proposal.objects.all().delete()
    superior, by = Superior.objects.get(), User.objects.get(username="load_command")
    now = timezone.make_aware(datetime.datetime(2021, 1, 5, 9))
    for year in range(2016, 2020):
        made = []
        for cy in ClusterYear.objects.filter(year=year).order_by("cluster__name"):
            made += awarding.propose_defaults(cluster_year=cy, by=by, now=now)
            for _cy, unit, code, _text, reason in sorted(p for p in generated if p[0] == cy.pk and p[4]):
                made.append(awarding.add_proposal(
                    cluster_year=cy, unit=Unit.objects.get(pk=unit), award=AwardType.objects.get(code=code),
                    reason=reason, by=by, now=now,
                ))
        awarding.record_decision(superior=superior, number=f"{year}/QĐ", date=datetime.date(year, 12, 28),
                                 authority="BTL", signer="Tư lệnh", year=year, by=by, now=now,
                                 grants=[(p.unit, p.award_type, p) for p in made
                                         if p.award_type.code not in HIGHER_AUTHORITY])
    assert proposals() == generated
    assert grants() == granted


def test_grants_hold_one_title_and_one_flag_per_unit_and_year():
    run(sizes=AWARDED)
    for kind in (AwardType.Kind.TITLE, AwardType.Kind.FLAG):
        per_unit_year = (Grant.objects.filter(award_type__kind=kind).values("unit", "year")
                         .annotate(n=Count("pk")).order_by())
        assert per_unit_year and max(row["n"] for row in per_unit_year) == 1
    # the flag of the Command goes to the acclaimed leader, who holds the title that year
    for grant in Grant.objects.filter(award_type__code="co-thi-dua-btl").select_related("proposal"):
        assert Vote.objects.get(cluster_year=grant.proposal.cluster_year).leader_id == grant.unit_id
        assert Grant.objects.filter(
            unit=grant.unit, year=grant.year, award_type__code__in=["don-vi-quyet-thang", "tap-the-lao-dong-xuat-sac"]
        ).exists()
    assert Decision.objects.count() == 4
    assert Grant.objects.count() == Proposal.objects.exclude(award_type__code__in=HIGHER_AUTHORITY).count()
