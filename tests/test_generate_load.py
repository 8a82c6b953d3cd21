"""The load generator (issue #7): counts, determinism, the guard against real data, sound criteria sets."""

import hashlib
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Sum

from awards.models import Candidate, Conference, Participation, Vote
from clusters.models import ClusterYear, Membership, Superior, Unit
from scoring.models import ClusterYearSet, CriteriaSet, Criterion, Result, ResultSnapshot, Score, Sheet

pytestmark = pytest.mark.django_db

SIZES = ["--clusters", "3", "--units-per-cluster", "3", "--criteria", "12", "--years", "2"]
MARK = "(dữ liệu sinh tự động)"


def run(*extra):
    call_command("generate_load", *SIZES, *extra, stdout=io.StringIO())


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
    return hashlib.sha256(repr((list(rows), list(results))).encode()).hexdigest()


def test_counts():
    run()
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
    run("--superior-name", other)
    assert fingerprint(other) == first
    third = f"Tổng cục thứ ba {MARK}"
    run("--superior-name", third, "--seed", "2")
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
