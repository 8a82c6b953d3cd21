"""
The command's year at two sizes (issue #7): the overview, its cross-cluster
ranking and the Excel summary of every unit read in a number of queries that
does not grow with clusters, units or criteria; what they show agrees with
each cluster's own ranking; a sheet saves its changed points in one UPDATE.

The arrangement: superior S of the world in 2024 with Cụm 6 and Cụm 7 and
``extra`` more clusters, every member with an approved sheet; the first
cluster by name (Cụm 6) has its scoring closed (frozen results), the others
are provisional.
"""

import datetime
import io
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from clusters.models import ClusterYear, Membership, Unit
from scoring import exports, ranking, services
from scoring.models import Criterion, Score, ScoreEvent, Sheet
from tests.factories import ClusterFactory, ClusterYearFactory, MembershipFactory, UnitFactory, attach, make_criteria_set

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2024, 11, 1, 8, 0))


def tree(leaves: int) -> list[tuple]:
    """``leaves`` leaf criteria: standard ones (max 10) in groups of 10, then one bonus and one deduction (max 5)."""
    rows, standard = [], leaves - 2
    for g in range((standard + 9) // 10):
        rows.append((str(g + 1), "group", None, False))
        rows += [(f"{g + 1}.{i + 1}", "standard", "10", False) for i in range(min(10, standard - g * 10))]
    extra = (standard + 9) // 10
    rows += [(str(extra + 1), "group", None, False), (f"{extra + 1}.1", "bonus", "5", False),
             (str(extra + 2), "group", None, False), (f"{extra + 2}.1", "deduction", "5", False)]
    return rows


def approve(cluster_year, unit, criteria_set, leaves, seed: int) -> Sheet:
    sheet = Sheet.objects.create(cluster_year=cluster_year, unit=unit, criteria_set=criteria_set,
                                 status=Sheet.Status.APPROVED)
    Score.objects.bulk_create([
        Score(sheet=sheet, criterion=c, self_points=D((seed * 7 + i * 3) % 6), official_points=D((seed * 7 + i * 3) % 6))
        for i, c in enumerate(leaves)
    ])
    return sheet


def command_year(world, *, extra: int, units: int, leaves: int):
    """S's 2024: Cụm 6 (closed), Cụm 7 and ``extra`` clusters of ``units`` members, all sheets approved."""
    # Caps below the bonus and deduction maxima (5): they bind for some units.
    criteria_set = make_criteria_set(superior=world.superior, tree=tree(leaves), bonus_cap="3", deduction_cap="2")
    leaf_rows = list(criteria_set.criteria.exclude(kind=Criterion.Kind.GROUP).order_by("sort_key"))
    years = [world.y6, world.y7]
    for c in range(extra):
        cluster_year = ClusterYearFactory(cluster=ClusterFactory(name=f"Cụm X{c:02d}", superior=world.superior))
        for u in range(units):
            role = Membership.Role.CHAIR if u == 0 else Membership.Role.MEMBER
            MembershipFactory(cluster_year=cluster_year, role=role,
                              unit=UnitFactory(name=f"Đơn vị X{c:02d}-{u:02d}", superior=world.superior))
        years.append(cluster_year)
    seed = 0
    for cluster_year in years:
        attach(cluster_year, criteria_set)
        for membership in cluster_year.memberships.select_related("unit").order_by("unit__name"):
            seed += 1
            approve(cluster_year, membership.unit, criteria_set, leaf_rows, seed)
    ClusterYear.objects.filter(pk__in=[cy.pk for cy in years]).update(phase=ClusterYear.Phase.REVIEW)
    world.y6.refresh_from_db()
    services.close_scoring(cluster_year=world.y6, by=world.users["admin"], now=NOW)
    world.criteria_set = criteria_set
    return world


SIZES = [(1, 2, 5), (5, 6, 30)]  # (extra clusters, units each, leaf criteria)


@pytest.mark.parametrize(("extra", "units", "leaves"), SIZES)
def test_overview_query_count_is_fixed(client, django_assert_num_queries, world, monkeypatch, extra, units, leaves):
    command_year(world, extra=extra, units=units, leaves=leaves)
    monkeypatch.setattr(ranking, "CLUSTERS_PER_PAGE", 2)
    monkeypatch.setattr(ranking, "UNITS_PER_PAGE", 4)
    client.force_login(world.users["command"])
    path = reverse("scoring:overview") + "?year=2024"
    client.get(reverse("home"))  # the session and the signed-in user are now read from the cache
    # (the user and its roles from the cache) superiors (exists, first), years, clusters with their year, frozen
    # results, criteria sets,
    # bonus and deduction criteria, provisional totals and ranks, names of the units shown, members and progress
    # of the clusters shown, the superior selector
    for page in ("", "&page=2&units_page=2"):
        with django_assert_num_queries(12):
            response = client.get(path + page)
        assert response.status_code == 200
    ranked = 5 + extra * units
    assert (response.context["units"].paginator.count, response.context["summaries"].paginator.count) == (
        ranked, 2 + extra)


def test_a_year_whose_clusters_are_all_closed_reads_only_the_frozen_results(client, django_assert_num_queries, world):
    command_year(world, extra=0, units=0, leaves=5)
    services.close_scoring(cluster_year=world.y7, by=world.users["admin"], now=NOW)
    client.force_login(world.users["command"])
    # as above without the criteria sets, the bonus and deduction criteria and the provisional totals
    with django_assert_num_queries(11):
        response = client.get(reverse("scoring:overview") + "?year=2024")
    assert [s.is_final for s in response.context["summaries"]] == [True, True]


@pytest.mark.parametrize(("extra", "units", "leaves"), SIZES)
def test_overview_agrees_with_each_cluster_ranking(client, world, extra, units, leaves):
    command_year(world, extra=extra, units=units, leaves=leaves)
    client.force_login(world.users["command"])
    response = client.get(reverse("scoring:overview") + "?year=2024")
    lines = ranking.year_lines(superior=world.superior, year=2024)
    expected = []
    for cluster_year in ClusterYear.objects.filter(cluster__superior=world.superior, year=2024):
        result = ranking.ranking_for(cluster_year)
        expected += [(row.unit.name, row.rank, row.tied, row.total, row.band, result.is_final) for row in result.rows]
    names = dict(Unit.objects.values_list("pk", "name"))
    assert sorted((names[l.unit_id], l.rank, l.tied, l.total, l.band, l.is_final) for l in lines) == sorted(expected)
    # Best total first; equal totals share the position across clusters.
    order = [(-line.hundredths, line.unit_id) for line in lines]
    assert order == sorted(order)
    shown = [(line.position, line.unit.name, line.total) for line in response.context["units"]]
    assert shown[0][0] == 1
    for (p1, _n1, t1), (p2, _n2, t2) in zip(shown, shown[1:]):
        assert (p2 == p1) if t2 == t1 else (t2 < t1 and p2 > p1)
    summaries = {s.cluster.name: s for s in response.context["summaries"]}
    assert summaries["Cụm 6"].is_final and not summaries["Cụm 7"].is_final
    assert [l.unit.name for l in summaries["Cụm 6"].leaders] == [
        r.unit.name for r in ranking.ranking_for(world.y6).rows if r.rank == 1]


def test_cross_cluster_positions_share_equal_totals():
    lines = [ranking.YearLine(hundredths, unit, 1, 1, False, "good", False)
             for unit, hundredths in enumerate([9000, 8550, 8550, 8000])]
    assert ranking.positions(lines) == [1, 2, 2, 4]
    assert lines[1].total == D("85.50")


def export(client, world) -> tuple:
    response = client.get(reverse("scoring:overview-export") + f"?superior={world.superior.pk}&year=2024")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="tong-hop-diem-2024-toan-don-vi.xlsx"'
    content = b"".join(response.streaming_content)
    return response, load_workbook(io.BytesIO(content)).active


@pytest.mark.parametrize(("extra", "units", "leaves"), SIZES)
def test_export_query_count_is_fixed(client, django_assert_num_queries, world, extra, units, leaves):
    command_year(world, extra=extra, units=units, leaves=leaves)
    client.force_login(world.users["command"])
    # user, the user's roles (the session comes from the cache), superiors (exists, first), years, the criteria,
    # cluster years, frozen results, criteria sets, bonus and deduction criteria, provisional totals, members,
    # the scores (one server-side cursor)
    with django_assert_num_queries(13):
        _response, sheet = export(client, world)
    assert sheet.max_row == 3 + 5 + extra * units
    assert sheet.max_column == 3 + 2 * leaves + 4


def test_export_content(client, world):
    command_year(world, extra=1, units=2, leaves=5)
    MembershipFactory(cluster_year=world.y7, unit=UnitFactory(name="=HYPERLINK(\"x\")", superior=world.superior))
    client.force_login(world.users["command"])
    _response, sheet = export(client, world)
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Bảng tổng hợp điểm thi đua năm 2024 – Bộ Tư lệnh S"
    assert rows[1][:4] == ("STT", "Cụm thi đua", "Đơn vị", "1.1. Tiêu chí 1.1")
    assert rows[1][-4:] == ("Tổng điểm", "Hạng trong cụm", "Xếp loại", "Kết quả")
    assert rows[2][3:5] == ("Tự chấm", "Thẩm định")
    assert "D2:E2" in {str(r) for r in sheet.merged_cells.ranges}
    body = rows[3:]
    # Clusters by name, each in rank order (frozen for Cụm 6), members without an approved sheet last.
    expected = []
    for cluster_year in (world.y6, world.y7, ClusterYear.objects.get(cluster__name="Cụm X00")):
        result = ranking.ranking_for(cluster_year)
        expected += [(cluster_year.cluster.name, r.unit.name, r.total, r.rank_display, exports.BAND_LABELS[r.band],
                      "Chính thức" if result.is_final else "Tạm thời") for r in result.rows]
        if cluster_year == world.y7:
            expected.append(("Cụm 7", '=HYPERLINK("x")', None, None, None, None))
    assert [(r[1], r[2], None if r[-4] is None else D(str(r[-4])).quantize(D("0.01")), *r[-3:]) for r in body] == [
        (c, n, t, rk, b, k) for c, n, t, rk, b, k in expected]
    assert [r[0] for r in body] == list(range(1, len(body) + 1))
    # The points of each criterion as stored, self then official, as numbers formatted 0.00.
    unit = body[0][2]
    scores = Score.objects.filter(sheet__unit__name=unit, sheet__cluster_year=world.y6).order_by("criterion__sort_key")
    assert [D(str(v)) for v in body[0][3:3 + 10]] == [p for s in scores for p in (s.self_points, s.official_points)]
    points_cell = sheet.cell(row=4, column=4)
    assert points_cell.number_format == "0.00" and isinstance(points_cell.value, int | float)
    formula_like = sheet.cell(row=3 + [r[2] for r in body].index('=HYPERLINK("x")') + 1, column=3)
    assert formula_like.data_type == "s" and formula_like.quotePrefix
    assert [r[3:] for r in body if r[2] == '=HYPERLINK("x")'] == [(None,) * (len(rows[1]) - 3)]


def test_export_of_a_year_the_superior_does_not_have_is_404(client, world):
    client.force_login(world.users["command"])
    assert client.get(reverse("scoring:overview-export") + "?year=2031").status_code == 404


def test_streamed_workbook_escapes_text_and_drops_control_characters():
    file = io.BytesIO()
    book = exports.StreamedWorkbook(file, title="Thử <&>", widths=[10, 10, 10])
    book.row(["a < b & c", "tab\x01here", "+1"])
    book.row([D("1.50"), 7, None], hundredths=range(0))
    book.row([150, None, 5], hundredths=range(0, 1))
    book.close()
    sheet = load_workbook(io.BytesIO(file.getvalue())).active
    assert sheet.title == "Thử <&>"
    assert list(sheet.iter_rows(values_only=True)) == [("a < b & c", "tabhere", "+1"), (1.5, 7, None), (1.5, None, 5)]
    assert sheet["C1"].quotePrefix and not sheet["A1"].quotePrefix


@pytest.mark.parametrize("leaves", [10, 60])
def test_a_save_updates_the_changed_points_in_one_statement(django_assert_num_queries, world, leaves):
    criteria_set = make_criteria_set(superior=world.superior, tree=tree(leaves))
    attach(world.y6, criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase=ClusterYear.Phase.SCORING)
    world.y6.refresh_from_db()
    ids = list(criteria_set.criteria.exclude(kind=Criterion.Kind.GROUP).values_list("pk", flat=True))
    by, today = world.users["staff_c"], NOW.date()
    sheet = services.save_self_assessment(cluster_year=world.y6, unit=world.units["C"], version=0, by=by, now=NOW,
                                          today=today, entries={pk: services.Entry(points="1") for pk in ids})
    # savepoint, lock the year, lock the sheet, scores, one UPDATE of the points, the trail (one INSERT), the
    # version, release (the year just locked is the sheet's year, checked open: the frozen guard asks nothing)
    with django_assert_num_queries(8):
        sheet = services.save_self_assessment(cluster_year=world.y6, unit=world.units["C"], version=sheet.version,
                                              by=by, now=NOW, today=today,
                                              entries={pk: services.Entry(points="0") for pk in ids})
    assert set(Score.objects.filter(sheet=sheet).values_list("self_points", flat=True)) == {D("0")}
    assert ScoreEvent.objects.filter(sheet=sheet, kind=ScoreEvent.Kind.SELF_POINTS, new_value="0").count() == leaves


def test_export_columns_are_the_criteria_of_every_set_of_the_year_matched_by_code(client, world):
    command_year(world, extra=0, units=0, leaves=5)  # codes 1.1-1.3, bonus 2.1, deduction 3.1
    other = make_criteria_set(superior=world.superior, name="Bộ tiêu chí khác", tree=[
        ("1", "group", None, False), ("1.1", "standard", "10", False),
        ("7", "group", None, False), ("7.1", "standard", "10", False),
    ])
    cluster_year = ClusterYearFactory(cluster=ClusterFactory(name="Cụm Z", superior=world.superior))
    unit = UnitFactory(name="Đơn vị Z", superior=world.superior)
    MembershipFactory(cluster_year=cluster_year, unit=unit, role=Membership.Role.CHAIR)
    attach(cluster_year, other)
    approve(cluster_year, unit, other, list(other.criteria.exclude(kind=Criterion.Kind.GROUP).order_by("sort_key")), 1)
    client.force_login(world.users["command"])
    _response, sheet = export(client, world)
    rows = list(sheet.iter_rows(values_only=True))
    assert [cell.split(".", 2)[0] + "." + cell.split(".", 2)[1] for cell in rows[1][3:-4:2]] == [
        "1.1", "1.2", "1.3", "2.1", "3.1", "7.1"]
    z = next(row for row in rows if row[2] == "Đơn vị Z")
    scores = dict(Score.objects.filter(sheet__unit=unit).values_list("criterion__code", "official_points"))
    assert (z[1], z[4], z[6:12], z[14]) == ("Cụm Z", float(scores["1.1"]), (None,) * 6, float(scores["7.1"]))
