"""
Results pages: ranking, closing, amendments, exports, the command overview,
the congress period and a unit's results: the permission matrix, content and
query counts.

In the world (tests/conftest.py), Cụm 6 2024 has A (chair), B and C with
approved sheets: A 90, B 80, C 80 (a full tie); scoring is open (review phase).
"""

import datetime
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from clusters.models import ClusterYear
from scoring import services
from scoring.models import Criterion, ResultSnapshot, Sheet
from tests.conftest import make_world
from tests.factories import MembershipFactory, UnitFactory, attach, make_criteria_set
from tests.scoring.test_ranking import approved

from tests.matrix import FORBIDDEN, HIDDEN, LOGIN, NOT_ALLOWED, OK, REDIRECT, assert_answer, cases

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2024, 11, 1, 8, 0))
A90 = {"1.1": "40", "2.1": "40", "1.2": "10"}
B80 = {"1.1": "40", "2.1": "40"}


def arrange(world, *, closed: bool):
    world.criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, world.criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="review")
    world.y6.refresh_from_db()
    for name, points in (("A", A90), ("B", B80), ("C", B80)):
        approved(world, world.units[name], points)
    if closed:
        services.close_scoring(cluster_year=world.y6, by=world.users["officer_a"], now=NOW)
        world.y6.refresh_from_db()
    return world


@pytest.fixture
def open_year(world):
    return arrange(world, closed=False)


@pytest.fixture
def closed_year(world):
    return arrange(world, closed=True)


def url(name, w, target: str = ""):
    y6, b = w.y6.pk, w.units["A" if target == "chair" else "B"].pk
    return {
        "scoring:ranking": reverse("scoring:ranking", args=[y6]),
        "scoring:close-scoring": reverse("scoring:close-scoring", args=[y6]),
        "scoring:sheet-amend": reverse("scoring:sheet-amend", args=[y6, b]),
        "scoring:results-export": reverse("scoring:results-export", args=[y6, "ranking", "csv"]),
        "scoring:overview": reverse("scoring:overview") + f"?superior={w.superior.pk}",
        "scoring:overview-export": reverse("scoring:overview-export") + f"?superior={w.superior.pk}&year=2024",
        "scoring:overview-close-scoring": reverse("scoring:overview-close-scoring") + f"?superior={w.superior.pk}&year=2024",
        "scoring:period": reverse("scoring:period") + f"?superior={w.superior.pk}",
        "scoring:unit-results": reverse("scoring:unit-results", args=[b]),
    }[name]


def post_data(name, w):
    criterion = Criterion.objects.get(criteria_set=w.criteria_set, code="1.2")
    return {
        "scoring:close-scoring": {"confirm": "on", "reason": "Hội nghị"},
        "scoring:overview-close-scoring": {"confirm": "on", "reason": "Hội nghị"},
        "scoring:sheet-amend": {"criterion": criterion.pk, "points": "5", "reason": "Bổ sung"},
    }.get(name, {})


# anonymous, staff_b, staff_c, staff_d, officer_a, officer_d, command, command2, admin
# "open": scoring not closed (provisional); "closed": results frozen; "chair": A's own sheet (conflict
# rule: officer_a, staff of A, may not amend it; the command officer does).
MATRIX = {
    "scoring:ranking": {
        "GET open": [LOGIN, FORBIDDEN, FORBIDDEN, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "GET closed": [LOGIN, OK, OK, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST closed": [NOT_ALLOWED] * 9,
    },
    "scoring:close-scoring": {
        "GET open": [NOT_ALLOWED] * 9,
        "POST open": [LOGIN, FORBIDDEN, FORBIDDEN, HIDDEN, REDIRECT, HIDDEN, REDIRECT, HIDDEN, REDIRECT],
        "POST closed": [LOGIN, FORBIDDEN, FORBIDDEN, HIDDEN, FORBIDDEN, HIDDEN, FORBIDDEN, HIDDEN, FORBIDDEN],
    },
    "scoring:sheet-amend": {
        "GET open": [LOGIN, FORBIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, FORBIDDEN, HIDDEN, FORBIDDEN],
        "GET closed": [LOGIN, FORBIDDEN, HIDDEN, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST closed": [LOGIN, FORBIDDEN, HIDDEN, HIDDEN, REDIRECT, HIDDEN, REDIRECT, HIDDEN, REDIRECT],
        "GET closed chair": [LOGIN, HIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, OK, HIDDEN, OK],
        "POST closed chair": [LOGIN, HIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, REDIRECT, HIDDEN, REDIRECT],
    },
    "scoring:results-export": {
        "GET open": [LOGIN, FORBIDDEN, FORBIDDEN, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "GET closed": [LOGIN, OK, OK, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST closed": [NOT_ALLOWED] * 9,
    },
    "scoring:overview": {
        "GET closed": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, HIDDEN, OK],
        "POST closed": [NOT_ALLOWED] * 9,
    },
    "scoring:overview-export": {
        "GET closed": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, HIDDEN, OK],
        "POST closed": [NOT_ALLOWED] * 9,
    },
    "scoring:overview-close-scoring": {
        "GET open": [NOT_ALLOWED] * 9,
        "POST open": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, REDIRECT, HIDDEN, REDIRECT],
    },
    "scoring:period": {
        "GET closed": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, HIDDEN, OK],
        "POST closed": [NOT_ALLOWED] * 9,
    },
    "scoring:unit-results": {
        "GET closed": [LOGIN, OK, HIDDEN, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST closed": [NOT_ALLOWED] * 9,
    },
}

CASES = cases(MATRIX)


@pytest.mark.parametrize(("route", "case", "persona", "expected"), CASES)
def test_permission_matrix(client_as, world, route, case, persona, expected):
    method, state, *target = case.split()
    w = arrange(world, closed=state == "closed")
    client = client_as(persona)
    target = url(route, w, *target)
    assert_answer(client, method, target, post_data(route, w) if method == "POST" else {}, persona, expected)


def test_ranking_page_provisional(client_as, open_year):
    response = client_as("officer_a").get(url("scoring:ranking", open_year))
    rows = response.context["ranking"].rows
    assert [(r.unit.name, r.rank_display, r.total, r.band, r.separated_by) for r in rows] == [
        ("Đơn vị A", "1", D("90"), "excellent", ""),
        ("Đơn vị B", "2=", D("80"), "good", "total"),
        ("Đơn vị C", "2=", D("80"), "good", "shared"),
    ]
    html = response.content.decode()
    assert "Tạm thời: chỉ tính phiếu đã phê duyệt; 0 thành viên chưa được phê duyệt." in html
    assert "2=" in html and "ngang nhau ở mọi tiêu chí: đồng hạng" in html


def test_the_command_closes_every_ready_cluster_year_from_the_overview(client_as, open_year):
    w = open_year
    overview = client_as("command").get(url("scoring:overview", w) + "&year=2024")
    assert overview.context["scoring_open"] == 1 + (w.y7.phase in ("scoring", "review"))
    assert 'id="overview-close"' in overview.content.decode()
    response = client_as("command").post(url("scoring:overview-close-scoring", w),
                                         {"confirm": "on", "reason": "Hội nghị tổng kết"}, follow=True)
    snapshot = ResultSnapshot.objects.get()
    assert (snapshot.cluster_year, snapshot.reason, snapshot.created_by) == (w.y6, "Hội nghị tổng kết", w.users["command"])
    assert [(r.unit.name, r.rank, r.tied) for r in snapshot.results.order_by("rank", "unit__name")] == [
        ("Đơn vị A", 1, False), ("Đơn vị B", 2, True), ("Đơn vị C", 2, True)]
    w.y6.refresh_from_db()
    assert w.y6.phase == "conference"
    y7_phase = w.y7.phase
    w.y7.refresh_from_db()
    assert w.y7.phase == y7_phase  # no sheets approved: left as it was
    assert response.redirect_chain[-1][0] == url("scoring:overview", w) + "&year=2024"
    assert [str(m) for m in response.context["messages"]] == [
        "Đã khóa sổ chấm điểm của 1 năm thi đua của cụm; kết quả đã được chốt."]


def test_closing_from_the_overview_needs_the_confirmation_and_says_when_nothing_is_ready(client_as, open_year):
    w = open_year
    client = client_as("command")
    response = client.post(url("scoring:overview-close-scoring", w), {"reason": "x"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Hãy đánh dấu xác nhận để khóa sổ chấm điểm."]
    assert not ResultSnapshot.objects.exists()
    Sheet.objects.filter(cluster_year=w.y6, unit=w.units["C"]).update(status=Sheet.Status.SUBMITTED)
    response = client.post(url("scoring:overview-close-scoring", w), {"confirm": "on"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Chưa có năm thi đua nào của cụm sẵn sàng để khóa sổ: mọi phiếu của các thành viên phải được phê duyệt "
        "và chưa khóa sổ chấm điểm."]
    assert not ResultSnapshot.objects.exists()
    assert client.post(reverse("scoring:overview-close-scoring") + f"?superior={w.superior.pk}&year=2031",
                       {"confirm": "on"}).status_code == 404


def test_close_scoring_from_the_ranking_page(client_as, open_year):
    client = client_as("officer_a")
    response = client.post(url("scoring:close-scoring", open_year), {"confirm": "on", "reason": "Hội nghị"}, follow=True)
    snapshot = ResultSnapshot.objects.get()
    html = response.content.decode()
    assert f"Đã khóa sổ chấm điểm; kết quả đã được chốt (mã kiểm tra {snapshot.checksum[:12]})." in html
    assert snapshot.checksum in html
    open_year.y6.refresh_from_db()
    assert open_year.y6.phase == "conference"


def test_close_scoring_without_confirmation_changes_nothing(client_as, open_year):
    response = client_as("officer_a").post(url("scoring:close-scoring", open_year), {"reason": "x"}, follow=True)
    assert "Hãy đánh dấu xác nhận để khóa sổ chấm điểm." in response.content.decode()
    assert ResultSnapshot.objects.count() == 0


def test_close_scoring_with_pending_sheets_is_refused_with_the_names(client_as, open_year):
    Sheet.objects.filter(unit=open_year.units["C"]).update(status="submitted")
    response = client_as("officer_a").post(url("scoring:close-scoring", open_year), {"confirm": "on"}, follow=True)
    assert "(còn: Đơn vị C)" in response.content.decode()
    assert ResultSnapshot.objects.count() == 0


def test_amendment_page_refreezes_and_keeps_history(client_as, closed_year):
    client = client_as("command")
    data = post_data("scoring:sheet-amend", closed_year)
    response = client.post(url("scoring:sheet-amend", closed_year), data, follow=True)
    assert [s["number"] for s in response.context["snapshots"]] == [2, 1]
    assert [(r.unit.name, r.rank_display) for r in response.context["ranking"].rows] == [
        ("Đơn vị A", "1"), ("Đơn vị B", "2"), ("Đơn vị C", "3")
    ]


def test_amendment_with_bad_points_is_shown_next_to_the_field(client_as, closed_year):
    data = {**post_data("scoring:sheet-amend", closed_year), "points": "25"}
    response = client_as("command").post(url("scoring:sheet-amend", closed_year), data)
    assert response.context["form"].errors == {"points": ["Tối đa 20 điểm cho tiêu chí này."]}
    assert ResultSnapshot.objects.count() == 1


def test_overview_progress_leader_and_bands(client_as, closed_year):
    response = client_as("command").get(url("scoring:overview", closed_year) + "&year=2024")
    summaries = response.context["summaries"]
    assert [(s.cluster.name, s.submitted, s.approved, len(s.members), [l.unit.name for l in s.leaders], s.is_final)
            for s in summaries] == [("Cụm 6", 3, 3, 3, ["Đơn vị A"], True), ("Cụm 7", 0, 0, 2, [], False)]
    assert dict(summaries[0].bands) == {"Xuất sắc": 1, "Tốt": 2, "Khá": 0, "Trung bình": 0, "Yếu": 0}
    assert [(l.unit.name, l.rank_display, l.total) for l in response.context["units"]] == [
        ("Đơn vị A", "1", D("90")), ("Đơn vị B", "2=", D("80")), ("Đơn vị C", "2=", D("80"))
    ]


def test_overview_garbage_parameters_fall_back_to_defaults(client_as, closed_year):
    response = client_as("command").get(reverse("scoring:overview") + "?superior=abc&year=xyz")
    assert (response.status_code, response.context["superior"], response.context["year"]) == (
        200, closed_year.superior, 2024)


def test_overview_year_without_records_says_not_opened(client_as, closed_year):
    response = client_as("command").get(url("scoring:overview", closed_year) + "&year=2030")
    assert "Chưa mở năm 2030." in response.content.decode()


def test_period_view_per_unit_and_cluster(client_as, closed_year):
    response = client_as("command").get(url("scoring:period", closed_year) + "&from=2023&to=2024")
    assert response.context["span"] == [2023, 2024]
    assert [(row["unit"].name, [r.rank if r else None for r in row["years"].values()])
            for row in response.context["unit_rows"]] == [
        ("Đơn vị A", [None, 1]), ("Đơn vị B", [None, 2]), ("Đơn vị C", [None, 2])
    ]
    assert [(row["cluster"].name, [[r.unit.name for r in v] for v in row["years"].values()])
            for row in response.context["cluster_rows"]] == [("Cụm 6", [[], ["Đơn vị A"]])]


def test_unit_results_chart_and_table(client_as, closed_year):
    response = client_as("staff_b").get(url("scoring:unit-results", closed_year))
    assert [(r.snapshot.cluster_year.year, r.rank, r.total) for r in response.context["results"]] == [(2024, 2, D("80"))]
    html = response.content.decode()
    assert "<svg" in html and "<circle" in html and "80" in html


def test_exports_need_the_same_rights_as_the_ranking(client_as, closed_year):
    response = client_as("staff_b").get(reverse("scoring:results-export", args=[closed_year.y6.pk, "summary", "xlsx"]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert client_as("staff_b").get(reverse("scoring:results-export", args=[closed_year.y6.pk, "other", "xlsx"])).status_code == 404


# --- query counts: 3 vs 30 units, 10 vs 60 criteria ---------------------------------------------

def ranked_world(units: int, criteria: int = 10, closed: bool = False):
    from tests.factories import big_tree

    world = make_world()
    world.criteria_set = make_criteria_set(superior=world.superior, tree=big_tree(criteria))
    attach(world.y6, world.criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="review")
    for i in range(units):
        unit = UnitFactory(superior=world.superior)
        MembershipFactory(cluster_year=world.y6, unit=unit)
        approved(world, unit, {f"1.{j + 1}": str(i % 2) for j in range(min(criteria, 10))})
    world.y6.memberships.filter(unit__name__in=["Đơn vị A", "Đơn vị B", "Đơn vị C"]).exclude(role="chair").delete()
    if closed:
        for name in ("A",):
            approved(world, world.units[name], {})
        services.close_scoring(cluster_year=world.y6, by=world.users["admin"], now=NOW)
    return world


@pytest.mark.parametrize(("units", "criteria"), [(3, 10), (30, 60)])
def test_ranking_page_query_count(client, django_assert_num_queries, units, criteria):
    world = ranked_world(units, criteria)
    client.force_login(world.users["officer_a"])
    client.get(reverse("home"))  # the signed-in user is now in the cache, as on every later page
    # cluster year, chairs this year (officer?), snapshots, criteria with their set, ranked sheets, group
    # subtotals, last year's ranks, members count, pending members (the user and its roles: from the cache)
    with django_assert_num_queries(9):
        response = client.get(reverse("scoring:ranking", args=[world.y6.pk]))
    assert response.content.decode().count("<tr data-unit=") == units


@pytest.mark.parametrize("units", [3, 30])
def test_frozen_ranking_page_query_count(client, django_assert_num_queries, units):
    world = ranked_world(units, closed=True)
    client.force_login(world.users["officer_a"])
    client.get(reverse("home"))
    # cluster year, chairs this year (officer?); then, the first time only, the snapshots, the results (with
    # last year's ranks and the sheets) and the groups (the user and its roles: from the cache)
    with django_assert_num_queries(5):
        first = client.get(reverse("scoring:ranking", args=[world.y6.pk]))
    with django_assert_num_queries(2):
        again = client.get(reverse("scoring:ranking", args=[world.y6.pk]))
    assert first.content.decode().count("<tr data-unit=") == units + 1
    assert _table(again) == _table(first)


def _table(response) -> str:
    html = response.content.decode()
    return html[html.index('<table class="table table-sm table-hover bg-white align-middle" id="ranking-table">'):
                html.index("</table>")]


@pytest.mark.parametrize("units", [3, 30])
def test_overview_query_count(client, django_assert_num_queries, units):
    world = ranked_world(units)
    client.force_login(world.users["command"])
    # session, user, superiors (exists, first), years, clusters with their year, frozen results, criteria sets,
    # bonus and deduction criteria, provisional totals and ranks, names of the units shown, members and progress
    # of the clusters shown, the superior selector
    with django_assert_num_queries(14):
        response = client.get(reverse("scoring:overview") + "?year=2024")
    assert len(response.context["units"]) == units
