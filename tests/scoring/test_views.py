"""
Score sheet pages: the permission matrix (personas of tests/conftest.py), the
unit's and the reviewer's journeys through the test client, and query counts.

In the matrix, B's sheet is a draft (filled by staff_b), C's is submitted (under
review), A chairs the cluster (its sheet goes to a command officer).
"""

import io
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from clusters.models import ClusterYear
from scoring import excel, services
from scoring.models import Evidence, Score, ScoreEvent, Sheet
from tests.conftest import make_world
from tests.factories import attach, big_tree, make_criteria_set

from tests.matrix import FORBIDDEN, HIDDEN, LOGIN, NOT_ALLOWED, OK, REDIRECT, assert_answer, cases

pytestmark = pytest.mark.django_db


FULL = {"1.1": "35,5", "1.2": "20", "2.1": "40", "3.1": "8", "3.2": "7,25", "4.1": "2", "4.2": ""}


def fill(w, unit: str, values=FULL, *, submit=False, user="admin"):
    entries = {w.ids[c]: services.Entry(points=v) for c, v in values.items()}
    if values.get("1.2"):
        entries[w.ids["1.2"]].files = [SimpleUploadedFile("bb.pdf", b"%PDF-1")]
    now, today = timezone.now(), timezone.localdate()
    sheet = services.save_self_assessment(cluster_year=w.y6, unit=w.units[unit], entries=entries, version=0,
                                          by=w.users[user], now=now, today=today)
    if submit:
        sheet = services.submit_sheet(cluster_year=w.y6, unit=w.units[unit], version=sheet.version,
                                      by=w.users[user], now=now, today=today)
    return sheet


@pytest.fixture
def sheets(world):
    criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="scoring")
    world.y6.refresh_from_db()
    world.criteria_set = criteria_set
    world.ids = {c.code: c.pk for c in criteria_set.criteria.all()}
    world.sheet_b = fill(world, "B", {"1.1": "30", "1.2": "20"})
    world.sheet_c = fill(world, "C", submit=True)
    world.sheet_a = fill(world, "A", submit=True)
    return world


def form_data(w, sheet, values: dict[str, str], **extra) -> dict:
    data = {"version": sheet.version if sheet else 0, **extra}
    for code, cid in w.ids.items():
        if code in values:
            data[f"points_{cid}"] = values[code]
            data[f"note_{cid}"] = ""
    return data


def xlsx_for(w, unit="B"):
    return SimpleUploadedFile("phieu.xlsx", excel.export_sheet(cluster_year=w.y6, unit=w.units[unit]))


def url(name, w, target: str = ""):
    """The route's page for B's draft (C's submitted sheet for the reviewer's pages); ``chair``: A's own sheet."""
    y6, b, c = w.y6.pk, w.units["B"].pk, w.units["C"].pk
    if target == "chair":
        b = c = w.units["A"].pk
    return {
        "scoring:sheet": reverse("scoring:sheet", args=[y6, b]),
        "scoring:sheet-review": reverse("scoring:sheet-review", args=[y6, c]),
        "scoring:sheet-reopen": reverse("scoring:sheet-reopen", args=[y6, c]),
        "scoring:sheet-export": reverse("scoring:sheet-export", args=[y6, b]),
        "scoring:sheet-import": reverse("scoring:sheet-import", args=[y6, b]),
        "scoring:review-list": reverse("scoring:review-list", args=[y6]),
        "scoring:evidence-download": reverse("scoring:evidence-download", args=[Evidence.objects.get(score__sheet=w.sheet_b).pk]),
    }[name]


def post_data(name, w, target: str = ""):
    reviewed = w.sheet_a if target == "chair" else w.sheet_c
    return {
        "scoring:sheet": lambda: form_data(w, w.sheet_b, {"1.1": "31"}, save="1"),
        "scoring:sheet-review": lambda: {"version": reviewed.version, "action": "accept_rest", "message": ""},
        "scoring:sheet-reopen": lambda: {"until": "2030-01-01", "reason": "Bổ sung minh chứng"},
        "scoring:sheet-import": lambda: {"version": w.sheet_b.version, "file": xlsx_for(w)},
    }.get(name, dict)()


# anonymous, staff_b, staff_c, staff_d, officer_a, officer_d, command, command2, admin
# "GET chair" / "POST chair": the same route on A's own sheet. A chairs Cụm 6, so the conflict rule
# applies: officer_a (staff of A) may see A's sheet but not review or reopen it (403); the command
# officer reviews it; the other units' staff do not learn that it exists (404).
MATRIX = {
    "scoring:sheet": {
        "GET": [LOGIN, OK, HIDDEN, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST": [LOGIN, REDIRECT, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, FORBIDDEN, HIDDEN, FORBIDDEN],
    },
    "scoring:sheet-review": {
        "GET": [LOGIN, HIDDEN, FORBIDDEN, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST": [LOGIN, HIDDEN, FORBIDDEN, HIDDEN, REDIRECT, HIDDEN, REDIRECT, HIDDEN, REDIRECT],
        "GET chair": [LOGIN, HIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, OK, HIDDEN, OK],
        "POST chair": [LOGIN, HIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, REDIRECT, HIDDEN, REDIRECT],
    },
    "scoring:sheet-reopen": {
        "GET": [NOT_ALLOWED] * 9,
        "POST": [LOGIN, HIDDEN, FORBIDDEN, HIDDEN, REDIRECT, HIDDEN, REDIRECT, HIDDEN, REDIRECT],
        "POST chair": [LOGIN, HIDDEN, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, REDIRECT, HIDDEN, REDIRECT],
    },
    "scoring:sheet-export": {
        "GET": [LOGIN, OK, HIDDEN, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST": [NOT_ALLOWED] * 9,
    },
    "scoring:sheet-import": {
        "GET": [NOT_ALLOWED] * 9,
        "POST": [LOGIN, REDIRECT, HIDDEN, HIDDEN, FORBIDDEN, HIDDEN, FORBIDDEN, HIDDEN, FORBIDDEN],
    },
    "scoring:review-list": {
        "GET": [LOGIN, FORBIDDEN, FORBIDDEN, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST": [NOT_ALLOWED] * 9,
    },
    "scoring:evidence-download": {
        "GET": [LOGIN, OK, HIDDEN, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST": [NOT_ALLOWED] * 9,
    },
}

CASES = cases(MATRIX)


@pytest.mark.parametrize(("route", "case", "persona", "expected"), CASES)
def test_permission_matrix(client_as, sheets, route, case, persona, expected):
    method, _, target = case.partition(" ")
    client = client_as(persona)
    data = post_data(route, sheets, target) if method == "POST" else {}
    assert_answer(client, method, url(route, sheets, target), data, persona, expected)


@pytest.mark.parametrize(("persona", "expected"), [("officer_a", FORBIDDEN), ("command", OK), ("staff_b", HIDDEN)])
def test_conflict_rule_chair_sheet_goes_to_the_command(client_as, sheets, persona, expected):
    response = client_as(persona).get(reverse("scoring:sheet-review", args=[sheets.y6.pk, sheets.units["A"].pk]))
    assert response.status_code == expected


# --- the unit's journey -------------------------------------------------------------------------

def test_bad_points_are_shown_next_to_the_field_and_nothing_is_written(client_as, sheets):
    client = client_as("staff_b")
    response = client.post(url("scoring:sheet", sheets), form_data(sheets, sheets.sheet_b, {"1.1": "45", "2.1": "10"}, save="1"))
    assert response.status_code == 200
    assert response.context["form"].errors == {f"points_{sheets.ids['1.1']}": ["Tối đa 40 điểm cho tiêu chí này."]}
    assert "Tối đa 40 điểm cho tiêu chí này." in response.content.decode()
    assert Score.objects.get(sheet=sheets.sheet_b, criterion_id=sheets.ids["2.1"]).self_points is None


def test_save_draft_then_submit_incomplete_keeps_the_draft_and_says_why(client_as, sheets):
    client = client_as("staff_b")
    response = client.post(url("scoring:sheet", sheets), form_data(sheets, sheets.sheet_b, {"1.1": "33"}, submit="1"), follow=True)
    html = response.content.decode()
    assert "Phiếu đã được lưu nháp nhưng chưa nộp: hãy hoàn thành trước." in html
    assert "Hãy nhập điểm của tiêu chí này trước khi nộp." in html
    sheet = Sheet.objects.get(pk=sheets.sheet_b.pk)
    assert (sheet.status, Score.objects.get(sheet=sheet, criterion_id=sheets.ids["1.1"]).self_points) == ("draft", D("33"))


def test_submit_complete_sheet_through_the_page(client_as, sheets):
    client = client_as("staff_b")
    data = form_data(sheets, sheets.sheet_b, FULL, submit="1")
    response = client.post(url("scoring:sheet", sheets), data, follow=True)
    assert "Phiếu đã được nộp cho cụm." in response.content.decode()
    assert Sheet.objects.get(pk=sheets.sheet_b.pk).status == "submitted"


def test_two_tabs_the_later_save_sees_both_versions(client_as, sheets):
    client = client_as("staff_b")
    stale = form_data(sheets, sheets.sheet_b, {"1.1": "11"}, save="1")
    client.post(url("scoring:sheet", sheets), form_data(sheets, sheets.sheet_b, {"1.1": "22"}, save="1"))
    response = client.post(url("scoring:sheet", sheets), stale)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Phiếu vừa được staff_b thay đổi; thay đổi của bạn chưa được lưu." in html
    assert response.context["form"][f"points_{sheets.ids['1.1']}"].value() == "11"  # the user's input kept
    assert "đã lưu: 22" in html  # the saved version beside it
    assert Score.objects.get(sheet=sheets.sheet_b, criterion_id=sheets.ids["1.1"]).self_points == D("22")
    # Saving again from the conflict page knowingly replaces the saved version.
    again = response.context["form"].data.copy()
    client.post(url("scoring:sheet", sheets), again)
    assert Score.objects.get(sheet=sheets.sheet_b, criterion_id=sheets.ids["1.1"]).self_points == D("11")


def test_evidence_upload_and_download_as_attachment(client_as, sheets):
    client = client_as("staff_b")
    data = form_data(sheets, sheets.sheet_b, {"2.1": "5"}, save="1")
    data[f"files_{sheets.ids['2.1']}"] = [SimpleUploadedFile("Bien ban diễn tập.pdf", b"%PDF-1.4 demo")]
    client.post(url("scoring:sheet", sheets), data)
    evidence = Evidence.objects.get(score__criterion_id=sheets.ids["2.1"], score__sheet=sheets.sheet_b)
    response = client.get(reverse("scoring:evidence-download", args=[evidence.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == b"%PDF-1.4 demo"
    assert client.get("/media/" + evidence.file.name).status_code == 404


def test_bad_file_type_is_refused_next_to_the_field(client_as, sheets):
    client = client_as("staff_b")
    data = form_data(sheets, sheets.sheet_b, {"2.1": "5"}, save="1")
    data[f"files_{sheets.ids['2.1']}"] = [SimpleUploadedFile("script.html", b"<script>")]
    response = client.post(url("scoring:sheet", sheets), data)
    assert response.context["form"].errors == {
        f"files_{sheets.ids['2.1']}": ["script.html: chỉ nhận tệp PDF, ảnh, Word và Excel."]
    }
    assert Evidence.objects.filter(score__sheet=sheets.sheet_b).count() == 1


def test_excel_upload_with_errors_lists_them_and_writes_nothing(client_as, sheets):
    from openpyxl import Workbook

    workbook = Workbook()
    buffer = io.BytesIO()
    workbook.save(buffer)
    client = client_as("staff_b")
    response = client.post(url("scoring:sheet-import", sheets),
                           {"version": sheets.sheet_b.version, "file": SimpleUploadedFile("x.xlsx", buffer.getvalue())})
    assert response.status_code == 200
    assert response.context["upload_errors"]
    assert Sheet.objects.get(pk=sheets.sheet_b.pk).version == sheets.sheet_b.version


# --- the reviewer's journey ---------------------------------------------------------------------

def review_post(w, sheet, action, **fields):
    return {"version": sheet.version, "action": action, "message": "", **fields}


def test_reviewer_sets_points_with_reason_and_approves(client_as, sheets):
    client = client_as("officer_a")
    target = url("scoring:sheet-review", sheets)
    cid = sheets.ids["2.1"]
    response = client.post(target, review_post(sheets, sheets.sheet_c, "save", **{f"official_{cid}": "36"}))
    assert response.context["form"].errors == {f"reason_{cid}": ["Hãy ghi lý do điểm thẩm định khác điểm đơn vị tự chấm."]}
    client.post(target, review_post(sheets, sheets.sheet_c, "save", **{f"official_{cid}": "36", f"reason_{cid}": "Thiếu kết quả bắn đạn thật"}))
    sheet = Sheet.objects.get(pk=sheets.sheet_c.pk)
    response = client.post(target, review_post(sheets, sheet, "approve", **{f"official_{cid}": "36", f"reason_{cid}": "Thiếu kết quả bắn đạn thật"}))
    assert "Hãy nhập điểm thẩm định của mọi tiêu chí trước khi phê duyệt" in response.content.decode()
    client.post(target, review_post(sheets, sheet, "accept_rest"))
    sheet = Sheet.objects.get(pk=sheets.sheet_c.pk)
    client.post(target, review_post(sheets, sheet, "approve"))
    sheet = Sheet.objects.get(pk=sheets.sheet_c.pk)
    assert (sheet.status, sheet.approved_by.username) == ("approved", "officer_a")
    lineage = client.get(url("scoring:sheet", sheets).replace(f"/units/{sheets.units['B'].pk}/", f"/units/{sheets.units['C'].pk}/"))
    html = lineage.content.decode()
    assert "Thiếu kết quả bắn đạn thật" in html and "<del>40</del>" not in html


def test_reviewer_accepts_one_criterion_in_one_click(client_as, sheets):
    client = client_as("command")
    cid = sheets.ids["1.1"]
    client.post(url("scoring:sheet-review", sheets), review_post(sheets, sheets.sheet_c, f"accept:{cid}"))
    assert Score.objects.get(sheet=sheets.sheet_c, criterion_id=cid).official_points == D("35.5")


def test_return_then_unit_answers(client_as, sheets):
    cid = sheets.ids["2.1"]
    client_as("officer_a").post(url("scoring:sheet-review", sheets),
                                review_post(sheets, sheets.sheet_c, "return", **{f"comment_{cid}": "Thiếu minh chứng"}))
    assert Sheet.objects.get(pk=sheets.sheet_c.pk).status == "returned"


def test_review_list_shows_status_totals_and_gaps(client_as, sheets):
    services.set_official_points(sheet=sheets.sheet_c, criterion=sheets.criteria_set.criteria.get(code="2.1"), points="30",
                                 reason="Giảm", by=sheets.users["officer_a"], now=timezone.now())
    response = client_as("officer_a").get(url("scoring:review-list", sheets))
    entries = response.context["entries"]
    assert [(e["membership"].unit.name, e["sheet"].status if e["sheet"] else None) for e in entries] == [
        ("Đơn vị A", "submitted"), ("Đơn vị B", "draft"), ("Đơn vị C", "submitted")
    ]
    assert [(s.criterion.code, s.gap) for s in entries[2]["gaps"]] == [("2.1", D("-10"))]
    assert entries[2]["sheet"].self_total == D("103.50")


# --- query counts -------------------------------------------------------------------------------

def world_with_criteria(n: int):
    world = make_world()
    criteria_set = make_criteria_set(superior=world.superior, tree=big_tree(n))
    attach(world.y6, criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="scoring")
    world.y6.refresh_from_db()
    world.ids = {c.code: c.pk for c in criteria_set.criteria.all()}
    entries = {cid: services.Entry(points="1", files=[SimpleUploadedFile("a.pdf", b"%PDF")]) for cid in list(world.ids.values())}
    leaves = {cid: e for cid, e in entries.items() if "." in next(c for c, i in world.ids.items() if i == cid)}
    now, today = timezone.now(), timezone.localdate()
    sheet = services.save_self_assessment(cluster_year=world.y6, unit=world.units["C"], entries=leaves, version=0,
                                          by=world.users["admin"], now=now, today=today)
    services.submit_sheet(cluster_year=world.y6, unit=world.units["C"], version=sheet.version, by=world.users["admin"],
                          now=now, today=today)
    return world


@pytest.mark.parametrize("criteria", [10, 60])
def test_sheet_page_query_count(client, django_assert_num_queries, criteria):
    world = world_with_criteria(criteria)
    client.force_login(world.users["staff_c"])
    # user, roles (staff: may view and fill, not review), cluster year, unit, criteria set, sheet with totals,
    # criteria, scores, evidence, events
    with django_assert_num_queries(10):
        response = client.get(reverse("scoring:sheet", args=[world.y6.pk, world.units["C"].pk]))
    assert len(response.context["rows"]) == criteria + criteria // 10


@pytest.mark.parametrize("criteria", [10, 60])
def test_sheet_save_query_count(client, django_assert_num_queries, criteria):
    world = make_world()
    criteria_set = make_criteria_set(superior=world.superior, tree=big_tree(criteria))
    attach(world.y6, criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="scoring")
    leaves = list(criteria_set.criteria.exclude(kind="group").values_list("pk", flat=True))
    client.force_login(world.users["staff_c"])
    page = reverse("scoring:sheet", args=[world.y6.pk, world.units["C"].pk])
    points = {f"points_{pk}": "1" for pk in leaves}
    client.post(page, {"version": 0, **points})
    sheet = Sheet.objects.get(cluster_year=world.y6, unit=world.units["C"])
    points.update({f"points_{pk}": "0" for pk in leaves[:3]})
    # (session, user and its roles from the cache) cluster year, unit, sheet, criteria;
    # savepoint, lock the year, lock the sheet, scores, one UPDATE of the points, the trail (one INSERT), the
    # version, release: nothing per criterion, and neither the page's rows nor the totals
    with django_assert_num_queries(12):
        response = client.post(page, {"version": sheet.version, **points})
    assert response.status_code == 302
    assert ScoreEvent.objects.filter(sheet=sheet, new_value="0").count() == 3


@pytest.mark.parametrize("criteria", [10, 60])
def test_review_page_query_count(client, django_assert_num_queries, criteria):
    world = world_with_criteria(criteria)
    client.force_login(world.users["officer_a"])
    # user, roles, cluster year, unit, may view (officer of the chair?), may review (is C the chair? officer of the
    # chair?), sheet with totals, criteria, scores, evidence, events, scores of the form
    with django_assert_num_queries(13):
        response = client.get(reverse("scoring:sheet-review", args=[world.y6.pk, world.units["C"].pk]))
    assert len(response.context["rows"]) == criteria + criteria // 10


@pytest.mark.parametrize("units", [1, 3])
def test_review_list_query_count(client, django_assert_num_queries, units):
    from tests.factories import MembershipFactory, UnitFactory

    world = world_with_criteria(10)
    for _ in range(units):
        MembershipFactory(cluster_year=world.y6, unit=UnitFactory(superior=world.superior))
    client.force_login(world.users["officer_a"])
    # user, the user's roles (command officer?), cluster year, cluster officer?, members, sheets with totals,
    # gaps (the session comes from the cache)
    with django_assert_num_queries(7):
        client.get(reverse("scoring:review-list", args=[world.y6.pk]))
