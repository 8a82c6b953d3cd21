"""Ranking rules as tables: totals, caps, bands, every tie-break rule, full and three-way ties."""

import datetime
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from clusters.models import ClusterYear
from scoring import ranking, services
from scoring.models import Criterion, Result, ResultSnapshot, Score, ScoreEvent, Sheet
from tests.factories import MembershipFactory, UnitFactory

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2024, 11, 1, 8, 0))


def approved(world, unit, points: dict[str, str]) -> Sheet:
    """An approved sheet whose official points are ``points`` (the arrangement of a ranking test)."""
    sheet = Sheet.objects.create(cluster_year=world.y6, unit=unit, criteria_set=world.criteria_set,
                                 status=Sheet.Status.APPROVED)
    for criterion in world.criteria_set.criteria.exclude(kind="group"):
        value = D(points.get(criterion.code, "0"))
        Score.objects.create(sheet=sheet, criterion=criterion, self_points=value, official_points=value)
    return sheet


def rank(world, spec: dict[str, dict[str, str]]):
    """Members named in ``spec`` (A, B, C from the world, others created) with their official points."""
    for name, points in spec.items():
        unit = world.units.get(name)
        if unit is None:
            unit = world.units[name] = UnitFactory(name=f"Đơn vị {name}", superior=world.superior)
            MembershipFactory(cluster_year=world.y6, unit=unit)
        approved(world, unit, points)
    return ranking.live_ranking(world.y6)


def table(result):
    return [(r.unit.name[-1], r.total, r.rank_display, r.separated_by) for r in result.rows]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"A": {"1.1": "40", "2.1": "40", "1.2": "10"}, "B": {"1.1": "40", "2.1": "40"}, "C": {"1.1": "30", "2.1": "40"}},
            [("A", D("90"), "1", ""), ("B", D("80"), "2", "total"), ("C", D("70"), "3", "total")],
            id="distinct totals",
        ),
        pytest.param(
            {"A": {"1.1": "40", "2.1": "40", "1.2": "10"}, "B": {"1.1": "40", "2.1": "40", "1.2": "5", "3.1": "5"}},
            [("A", D("90"), "1", ""), ("B", D("90"), "2", "standard")],
            id="equal totals, higher standard subtotal first",
        ),
        pytest.param(
            {"A": {"1.1": "40", "2.1": "40", "1.2": "15", "4.1": "5"},
             "B": {"1.1": "40", "2.1": "40", "1.2": "15", "3.1": "5", "4.1": "10"}},
            [("A", D("90"), "1", ""), ("B", D("90"), "2", "fewer_deductions")],
            id="equal totals and standard, fewer deductions first",
        ),
        pytest.param(
            {"A": {"1.1": "40", "2.1": "40"}, "B": {"1.1": "40", "2.1": "40"}, "C": {"1.1": "10"}},
            [("A", D("80"), "1=", ""), ("B", D("80"), "1=", "shared"), ("C", D("10"), "3", "total")],
            id="full tie shares the rank",
        ),
        pytest.param(
            {"A": {"1.1": "40", "2.1": "40", "1.2": "15"}, "B": {"1.1": "40", "2.1": "40"},
             "C": {"1.1": "40", "2.1": "40"}, "D": {"1.1": "40", "2.1": "40"}, "E": {"1.1": "40", "2.1": "30"}},
            [("A", D("95"), "1", ""), ("B", D("80"), "2=", "total"), ("C", D("80"), "2=", "shared"),
             ("D", D("80"), "2=", "shared"), ("E", D("70"), "5", "total")],
            id="three-way tie, the next rank skips",
        ),
    ],
)
def test_ranking_precedence(scoring, spec, expected):
    assert table(rank(scoring, spec)) == expected


def test_custom_tie_break_order(scoring):
    scoring.criteria_set.__class__.objects.filter(pk=scoring.criteria_set.pk).update(tie_breaks="bonus,standard")
    scoring.criteria_set.refresh_from_db()
    result = rank(scoring, {"A": {"1.1": "40", "2.1": "40", "1.2": "10"}, "B": {"1.1": "40", "2.1": "40", "1.2": "5", "3.1": "5"}})
    assert table(result) == [("B", D("90"), "1", ""), ("A", D("90"), "2", "bonus")]


@pytest.mark.parametrize(
    ("points", "standard", "bonus", "deduction", "total"),
    [
        ({"1.1": "40", "3.1": "8", "3.2": "8"}, "40", "16", "0", "50"),  # bonus capped at 10
        ({"1.1": "40", "4.1": "10", "4.2": "10"}, "40", "0", "20", "25"),  # deductions capped at 15
        ({"1.1": "39,99", "1.2": "0,01", "3.1": "0,5", "4.1": "0,25"}, "40", "0.5", "0.25", "40.25"),
    ],
)
def test_totals_and_caps(scoring, points, standard, bonus, deduction, total):
    points = {k: v.replace(",", ".") for k, v in points.items()}
    row = rank(scoring, {"A": points}).rows[0]
    assert (row.standard, row.bonus, row.deduction, row.total) == (D(standard), D(bonus), D(deduction), D(total))


@pytest.mark.parametrize(
    ("total", "band"),
    [("100", "excellent"), ("90", "excellent"), ("89.99", "good"), ("80", "good"), ("79.99", "fair"),
     ("65", "fair"), ("64.99", "average"), ("50", "average"), ("49.99", "weak"), ("0", "weak")],
)
def test_bands_default_thresholds(scoring, total, band):
    value = D(total)
    points = {"1.1": str(min(value, D(40))), "2.1": str(min(max(value - 40, D(0)), D(40))),
              "1.2": str(max(value - 80, D(0)))}
    row = rank(scoring, {"A": points}).rows[0]
    assert (row.total, row.band) == (value, band)


def test_bands_follow_the_set_thresholds(scoring):
    type(scoring.criteria_set).objects.filter(pk=scoring.criteria_set.pk).update(
        band_excellent=D("95"), band_good=D("85"))
    row = rank(scoring, {"A": {"1.1": "40", "2.1": "40", "1.2": "10"}}).rows[0]
    assert (row.total, row.band) == (D("90"), "good")


def test_provisional_ranking_uses_approved_sheets_and_counts_pending(scoring):
    approved(scoring, scoring.units["A"], {"1.1": "40"})
    Sheet.objects.create(cluster_year=scoring.y6, unit=scoring.units["B"], criteria_set=scoring.criteria_set,
                         status=Sheet.Status.SUBMITTED)
    result = ranking.ranking_for(scoring.y6)
    assert ([r.unit.name for r in result.rows], result.pending, result.is_final) == (["Đơn vị A"], 2, False)
    assert [m.unit.name for m in ranking.pending_members(scoring.y6)] == ["Đơn vị B", "Đơn vị C"]


def test_group_subtotals_and_gap_to_the_unit_above(scoring):
    result = rank(scoring, {"A": {"1.1": "40", "2.1": "30", "4.1": "2"}, "B": {"1.1": "35", "2.1": "30", "3.1": "1"}})
    assert [(r.groups, r.gap) for r in result.rows] == [
        ({"1": D("40"), "2": D("30"), "3": D("0"), "4": D("-2")}, None),
        ({"1": D("35"), "2": D("30"), "3": D("1"), "4": D("0")}, D("2")),
    ]


# --- closing and amending ---------------------------------------------------------------------

def close(world, **kwargs):
    return services.close_scoring(cluster_year=world.y6, by=world.users["officer_a"], now=NOW, **kwargs)


@pytest.fixture
def all_approved(scoring):
    rank(scoring, {"A": {"1.1": "40", "2.1": "40"}, "B": {"1.1": "40", "2.1": "30"}, "C": {"1.1": "40", "2.1": "30"}})
    return scoring


def test_close_scoring_freezes_results_and_moves_to_the_conference(all_approved):
    snapshot = close(all_approved, reason="Hội nghị tổng kết")
    all_approved.y6.refresh_from_db()
    assert all_approved.y6.phase == "conference"
    assert list(snapshot.results.values_list("unit__name", "total", "rank", "tied", "band", "separated_by")) == [
        ("Đơn vị A", D("80"), 1, False, "good", ""),
        ("Đơn vị B", D("70"), 2, True, "fair", "total"),
        ("Đơn vị C", D("70"), 2, True, "fair", "shared"),
    ]
    assert (snapshot.number, snapshot.is_current, len(snapshot.checksum)) == (1, True, 64)
    final = ranking.ranking_for(all_approved.y6)
    assert (final.is_final, [r.rank_display for r in final.rows]) == (True, ["1", "2=", "2="])


def test_close_refuses_with_pending_sheets(scoring):
    approved(scoring, scoring.units["A"], {"1.1": "40"})
    with pytest.raises(ValidationError) as error:
        close(scoring)
    assert error.value.messages == [
        "Mọi phiếu của các thành viên phải được phê duyệt trước khi khóa sổ (còn: Đơn vị B, Đơn vị C)."
    ]
    assert ResultSnapshot.objects.count() == 0


def test_snapshot_cannot_be_edited_or_deleted(all_approved):
    snapshot = close(all_approved)
    result = snapshot.results.first()
    result.total = D("100")
    message = "Kết quả đã chốt không thể sửa; hãy điều chỉnh điểm kèm lý do."
    with pytest.raises(ValidationError) as error:
        result.save()
    assert error.value.messages == [message]
    with pytest.raises(ValidationError):
        snapshot.delete()
    snapshot.reason = "sửa"
    with pytest.raises(ValidationError):
        snapshot.save()
    assert Result.objects.get(pk=result.pk).total == D("80")


def test_sheets_cannot_change_once_scoring_is_closed(all_approved):
    close(all_approved)
    sheet = Sheet.objects.get(unit=all_approved.units["B"])
    with pytest.raises(ValidationError):
        services.review_sheet(sheet=sheet, by=all_approved.users["officer_a"], now=NOW, accept_rest=True)
    with pytest.raises(ValidationError):
        services.save_self_assessment(cluster_year=all_approved.y6, unit=all_approved.units["B"], entries={},
                                      version=sheet.version, by=all_approved.users["staff_b"], now=NOW,
                                      today=datetime.date(2024, 11, 1))


def test_amendment_makes_a_new_snapshot_and_keeps_the_old(all_approved):
    first = close(all_approved)
    sheet = Sheet.objects.get(unit=all_approved.units["C"])
    criterion = Criterion.objects.get(criteria_set=all_approved.criteria_set, code="1.2")
    second = services.amend_official_points(sheet=sheet, criterion=criterion, points="5",
                                            reason="Bổ sung minh chứng sau hội nghị", by=all_approved.users["command"], now=NOW)
    first.refresh_from_db()
    assert (first.is_current, second.is_current, second.number) == (False, True, 2)
    assert list(second.results.values_list("unit__name", "rank", "tied")) == [
        ("Đơn vị A", 1, False), ("Đơn vị C", 2, False), ("Đơn vị B", 3, False)
    ]
    assert list(first.results.values_list("unit__name", "rank")) == [("Đơn vị A", 1), ("Đơn vị B", 2), ("Đơn vị C", 2)]
    assert first.checksum != second.checksum
    event = ScoreEvent.objects.get(kind="amended")
    assert (event.old_value, event.new_value, event.reason, event.by.username) == (
        "0", "5", "Bổ sung minh chứng sau hội nghị", "command")


def test_amendment_needs_a_reason_and_a_closed_scoring(all_approved):
    sheet = Sheet.objects.get(unit=all_approved.units["C"])
    criterion = Criterion.objects.get(criteria_set=all_approved.criteria_set, code="1.2")
    with pytest.raises(ValidationError) as error:
        services.amend_official_points(sheet=sheet, criterion=criterion, points="5", reason="x",
                                       by=all_approved.users["command"], now=NOW)
    assert error.value.messages == [
        "Chỉ điều chỉnh điểm của năm đã khóa sổ chấm điểm; trước đó hãy thẩm định phiếu."
    ]
    close(all_approved)
    with pytest.raises(ValidationError) as error:
        services.amend_official_points(sheet=sheet, criterion=criterion, points="5", reason=" ",
                                       by=all_approved.users["command"], now=NOW)
    assert error.value.message_dict == {"reason": ["Việc điều chỉnh phải có lý do."]}
    assert ResultSnapshot.objects.count() == 1


def test_rank_change_against_the_previous_year(all_approved):
    close(all_approved)
    ClusterYear.objects.filter(pk=all_approved.y6.pk).update(phase="closed")
    nxt = services.open_next_year(cluster_year=all_approved.y6, chair=all_approved.units["A"], by=None)
    ClusterYear.objects.filter(pk=nxt.pk).update(phase="review")
    all_approved.y6 = nxt
    all_approved.criteria_set = services.criteria_set_for(nxt)
    result = rank(all_approved, {"A": {"1.1": "10"}, "B": {"1.1": "40"}, "C": {"1.1": "20"}})
    assert [(r.unit.name, r.rank, r.previous_rank, r.rank_change) for r in result.rows] == [
        ("Đơn vị B", 1, 2, 1), ("Đơn vị C", 2, 2, 0), ("Đơn vị A", 3, 1, -2)
    ]
