import datetime
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from clusters.models import ClusterYear
from scoring import selectors, services
from scoring.models import ClusterYearSet, CriteriaSet, Criterion, Evidence, Score, ScoreEvent, Sheet
from scoring.services import Decision, Entry
from tests.factories import make_criteria_set
from tests.scoring.conftest import NOW, TODAY

pytestmark = pytest.mark.django_db

FULL = {"1.1": "35,5", "1.2": "20", "2.1": "40", "3.1": "8", "3.2": "7.25", "4.1": "2", "4.2": ""}


def save(w, values: dict[str, str], *, unit="B", version=None, files=None, today=TODAY, **kwargs) -> Sheet:
    unit = w.units[unit]
    if version is None:
        sheet = Sheet.objects.filter(cluster_year=w.y6, unit=unit).first()
        version = sheet.version if sheet else 0
    entries = {w.ids[code]: Entry(points=value, note=f"ghi chú {code}") for code, value in values.items()}
    for code, upload in (files or {}).items():
        entries[w.ids[code]].files = [upload]
    return services.save_self_assessment(
        cluster_year=w.y6, unit=unit, entries=entries, version=version, by=w.users["staff_b"], now=NOW, today=today,
        **kwargs,
    )


def pdf(name="bien-ban.pdf", size=10):
    return SimpleUploadedFile(name, b"%PDF-" + b"x" * size, content_type="application/pdf")


def submit(w, sheet, unit="B"):
    return services.submit_sheet(cluster_year=w.y6, unit=w.units[unit], version=sheet.version,
                                 by=w.users["staff_b"], now=NOW, today=TODAY)


# --- totals -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # standard 95,5 + bonus min(15,25; 10) − deductions 2
        (FULL, ("95.50", "15.25", "2.00", "103.50")),
        # bonus under the cap, deductions over the cap (15)
        ({"1.1": "40", "1.2": "0", "2.1": "0,01", "3.1": "3", "4.1": "10", "4.2": "10"}, ("40.01", "3.00", "20.00", "28.01")),
        # nothing entered
        ({}, ("0.00", "0.00", "0.00", "0.00")),
    ],
)
def test_sheet_totals_apply_caps_exactly(scoring, values, expected):
    save(scoring, values)
    sheet = selectors.sheet_with_totals(scoring.y6, scoring.units["B"])
    got = (sheet.self_standard, sheet.self_bonus, sheet.self_deduction, sheet.self_total)
    assert got == tuple(D(v) for v in expected)


def test_totals_are_exact_decimals_over_many_sheets(scoring):
    """Summing hundredths never drifts: 0,01 × 3 units and 33,33 × 3 criteria."""
    for code in "BC":
        save(scoring, {"1.1": "33,33", "1.2": "0,01", "2.1": "33,33"}, unit=code)
    totals = sorted(s.self_total for s in selectors.annotate_totals(Sheet.objects.all()))
    assert totals == [D("66.67"), D("66.67")]


def test_group_subtotals_sign_deductions(scoring):
    save(scoring, FULL)
    sheet = selectors.sheet_with_totals(scoring.y6, scoring.units["B"])
    rows = selectors.sheet_rows(scoring.criteria_set, sheet)
    assert [(r.criterion.code, r.self_subtotal) for r in rows if r.criterion.is_group] == [
        ("1", D("55.50")), ("2", D("40.00")), ("3", D("15.25")), ("4", D("-2.00"))
    ]


# --- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("code", "value", "message"),
    [
        ("1.1", "40,01", "Tối đa 40 điểm cho tiêu chí này."),
        ("1.1", "-1", "Điểm không được âm."),
        ("1.1", "12,345", "Nhập một số có tối đa 2 chữ số thập phân."),
        ("1.1", "mười", "Nhập một số có tối đa 2 chữ số thập phân."),
        ("4.1", "10,5", "Chỉ được trừ tối đa 10 điểm cho mục này."),
    ],
)
def test_save_refuses_bad_points_and_writes_nothing(scoring, code, value, message):
    save(scoring, {"1.1": "10"})
    with pytest.raises(ValidationError) as error:
        save(scoring, {"2.1": "5", code: value})
    assert error.value.message_dict == {f"points_{scoring.ids[code]}": [message]}
    assert Score.objects.get(criterion_id=scoring.ids["2.1"]).self_points is None
    assert Sheet.objects.get().version == 1


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("virus.exe", b"MZ"), "virus.exe: chỉ nhận tệp PDF, ảnh, Word và Excel."),
        (SimpleUploadedFile("rong.pdf", b""), "rong.pdf không có nội dung."),
    ],
)
def test_save_refuses_bad_files(scoring, upload, message):
    with pytest.raises(ValidationError) as error:
        save(scoring, {"1.2": "20"}, files={"1.2": upload})
    assert error.value.message_dict == {f"files_{scoring.ids['1.2']}": [message]}
    assert (Sheet.objects.count(), Evidence.objects.count()) == (0, 0)


def test_save_refuses_file_over_the_size_limit(scoring, settings):
    settings.EVIDENCE_MAX_MB = 1
    upload = pdf(size=1024 * 1024)
    with pytest.raises(ValidationError) as error:
        save(scoring, {"1.2": "20"}, files={"1.2": upload})
    assert error.value.messages == ["bien-ban.pdf lớn hơn 1 MB."]


def test_save_records_every_change_in_the_trail(scoring):
    save(scoring, {"1.1": "30"})
    save(scoring, {"1.1": "35,5"}, files={"1.1": pdf()})
    events = ScoreEvent.objects.filter(criterion_id=scoring.ids["1.1"]).order_by("pk")
    assert [(e.kind, e.old_value, e.new_value, e.by.username) for e in events] == [
        ("self_points", "", "30", "staff_b"),
        ("note", "", "ghi chú 1.1", "staff_b"),
        ("self_points", "30", "35,5", "staff_b"),
        ("evidence_added", "", "bien-ban.pdf", "staff_b"),
    ]


def test_save_with_an_old_version_is_refused_and_writes_nothing(scoring):
    first = save(scoring, {"1.1": "30"})
    save(scoring, {"1.1": "31"}, version=first.version)  # the other tab
    with pytest.raises(services.SheetConflict) as error:
        save(scoring, {"1.1": "32"}, version=first.version)
    assert error.value.messages == [
        "Phiếu vừa được staff_b thay đổi; thay đổi của bạn chưa được lưu. Hãy so sánh rồi lưu lại."
    ]
    assert Score.objects.get(criterion_id=scoring.ids["1.1"]).self_points == D("31")


def test_evidence_is_stored_outside_static_and_removal_is_recorded(scoring, settings):
    sheet = save(scoring, {"1.2": "20"}, files={"1.2": pdf()})
    evidence = Evidence.objects.get()
    assert evidence.file.path.startswith(str(settings.MEDIA_ROOT))
    assert not evidence.file.path.startswith(str(settings.STATIC_ROOT))
    save(scoring, {}, version=sheet.version, remove_evidence={evidence.pk})
    evidence.refresh_from_db()
    assert evidence.removed_at == NOW
    assert ScoreEvent.objects.filter(kind="evidence_removed").values_list("old_value", flat=True).get() == "bien-ban.pdf"


# --- submission and deadlines -----------------------------------------------------------------

def test_submit_needs_standard_points_and_required_evidence(scoring):
    sheet = save(scoring, {"1.1": "30", "1.2": "20"})
    with pytest.raises(ValidationError) as error:
        submit(scoring, sheet)
    assert error.value.message_dict == {
        f"files_{scoring.ids['1.2']}": ["Tiêu chí này cần tệp minh chứng."],
        f"points_{scoring.ids['2.1']}": ["Hãy nhập điểm của tiêu chí này trước khi nộp."],
    }
    assert Sheet.objects.get().status == "draft"


def test_submit_complete_sheet(scoring):
    sheet = save(scoring, FULL, files={"1.2": pdf()})
    sheet = submit(scoring, sheet)
    assert (sheet.status, sheet.submitted_at) == ("submitted", NOW)


def test_sheet_is_read_only_after_the_deadline_until_reopened(scoring):
    late = datetime.date(2024, 10, 16)
    with pytest.raises(ValidationError) as error:
        save(scoring, {"1.1": "30"}, today=late)
    assert error.value.messages == ["Không thể sửa phiếu lúc này (đã nộp, đã phê duyệt hoặc đã quá hạn)."]
    sheet = save(scoring, {"1.1": "30"})
    services.reopen_sheet(sheet=sheet, until=datetime.date(2024, 10, 20), reason="Đơn vị đi diễn tập",
                          by=scoring.users["officer_a"], now=NOW)
    assert save(scoring, {"1.1": "31"}, today=late).version == 3
    with pytest.raises(ValidationError):
        save(scoring, {"1.1": "32"}, today=datetime.date(2024, 10, 21))


def test_submitted_sheet_is_read_only_for_the_unit(scoring):
    sheet = submit(scoring, save(scoring, FULL, files={"1.2": pdf()}))
    with pytest.raises(ValidationError):
        save(scoring, {"1.1": "1"}, version=sheet.version)


@pytest.mark.parametrize(
    ("phase", "status", "today", "expected"),
    [
        ("planning", None, TODAY, False),
        ("scoring", None, TODAY, True),
        ("scoring", "draft", datetime.date(2024, 10, 15), True),
        ("scoring", "draft", datetime.date(2024, 10, 16), False),
        ("scoring", "submitted", TODAY, False),
        ("review", "draft", TODAY, False),
        ("review", "returned", datetime.date(2024, 12, 1), True),
        ("review", "approved", TODAY, False),
        ("conference", "returned", TODAY, False),
    ],
)
def test_is_open_for_unit(scoring, phase, status, today, expected):
    scoring.y6.phase = phase
    sheet = Sheet(status=status) if status else None
    assert services.is_open_for_unit(scoring.y6, sheet, today) is expected


# --- review -----------------------------------------------------------------------------------

@pytest.fixture
def submitted(scoring):
    sheet = submit(scoring, save(scoring, FULL, files={"1.2": pdf()}))
    scoring.sheet = sheet
    return scoring


def review(w, **kwargs):
    return services.review_sheet(sheet=w.sheet, by=w.users["officer_a"], now=NOW, **kwargs)


def test_official_points_need_a_reason_when_they_differ(submitted):
    cid = submitted.ids["1.1"]
    with pytest.raises(ValidationError) as error:
        review(submitted, decisions={cid: Decision("30", "")})
    assert error.value.message_dict == {f"reason_{cid}": ["Hãy ghi lý do điểm thẩm định khác điểm đơn vị tự chấm."]}
    review(submitted, decisions={cid: Decision("30", "Thiếu biên bản kiểm tra")})
    score = Score.objects.get(sheet=submitted.sheet, criterion_id=cid)
    assert (score.official_points, score.official_reason) == (D("30"), "Thiếu biên bản kiểm tra")
    assert ScoreEvent.objects.filter(kind="official_points").values_list(
        "old_value", "new_value", "reason", "by__username").get() == ("", "30", "Thiếu biên bản kiểm tra", "officer_a")


def test_accept_one_and_the_rest_then_approve(submitted):
    review(submitted, accept=Criterion.objects.get(pk=submitted.ids["1.1"]))
    assert Score.objects.get(criterion_id=submitted.ids["1.1"]).official_points == D("35.5")
    with pytest.raises(ValidationError) as error:
        review(submitted, outcome="approved")
    assert error.value.messages == [
        "Hãy nhập điểm thẩm định của mọi tiêu chí trước khi phê duyệt (còn thiếu: 1.2, 2.1, 3.1, 3.2, 4.1, 4.2)."
    ]
    sheet = review(submitted, accept_rest=True, outcome="approved")
    sheet = selectors.sheet_with_totals(submitted.y6, submitted.units["B"])
    assert (sheet.status, sheet.official_total, sheet.approved_by) == ("approved", D("103.50"), submitted.users["officer_a"])


def test_return_with_comments_then_answer_and_resubmit(submitted):
    cid = submitted.ids["2.1"]
    review(submitted, comments={cid: "Bổ sung kết quả diễn tập"}, message="Xem lại mục 2.1", outcome="returned")
    sheet = Sheet.objects.get()
    assert (sheet.status, sheet.return_message) == ("returned", "Xem lại mục 2.1")
    entries = {cid: Entry(points="38", note="ghi chú 2.1", answer="Đã bổ sung")}
    sheet = services.save_self_assessment(cluster_year=submitted.y6, unit=submitted.units["B"], entries=entries,
                                          version=sheet.version, by=submitted.users["staff_b"], now=NOW, today=TODAY)
    sheet = submit(submitted, sheet)
    score = Score.objects.get(sheet=sheet, criterion_id=cid)
    assert (sheet.status, score.self_points, score.answer, score.comment) == (
        "submitted", D("38"), "Đã bổ sung", "Bổ sung kết quả diễn tập")


def test_return_needs_a_comment(submitted):
    with pytest.raises(ValidationError) as error:
        review(submitted, outcome="returned")
    assert error.value.messages == ["Hãy ghi nhận xét cho ít nhất một tiêu chí, hoặc một lời nhắn, để trả lại phiếu."]


def test_review_of_a_draft_is_refused(scoring):
    scoring.sheet = save(scoring, {"1.1": "3"})
    with pytest.raises(ValidationError) as error:
        review(scoring, accept_rest=True)
    assert error.value.messages == ["Chỉ phiếu đã nộp mới được thẩm định."]


def test_two_reviewers_on_the_same_version_one_wins(submitted):
    version = submitted.sheet.version
    review(submitted, version=version, accept_rest=True, outcome="approved")
    with pytest.raises(ValidationError):
        review(submitted, version=version, accept_rest=True, outcome="approved")
    assert ScoreEvent.objects.filter(kind="status", new_value="approved").count() == 1


def test_review_errors_write_nothing(submitted):
    good, bad = submitted.ids["1.1"], submitted.ids["2.1"]
    with pytest.raises(ValidationError):
        review(submitted, decisions={good: Decision("30", "Lý do"), bad: Decision("41", "quá")})
    assert Score.objects.filter(sheet=submitted.sheet, official_points__isnull=False).count() == 0


# --- criteria sets ---------------------------------------------------------------------------

def test_locked_set_cannot_change_through_any_model_save(scoring):
    criterion = Criterion.objects.get(criteria_set=scoring.criteria_set, code="1.1")
    criterion.title = "Đổi"
    message = "Bộ tiêu chí này đang được dùng cho năm thi đua đã bắt đầu chấm điểm; không thể thay đổi."
    with pytest.raises(ValidationError) as error:
        criterion.save()
    assert error.value.messages == [message]
    with pytest.raises(ValidationError):
        criterion.delete()
    scoring.criteria_set.name = "Đổi"
    with pytest.raises(ValidationError):
        scoring.criteria_set.save()
    assert Criterion.objects.get(pk=criterion.pk).title == "Tiêu chí 1.1"


def test_clone_copies_the_tree(scoring):
    clone = services.clone_criteria_set(source=scoring.criteria_set, year=2025)
    got = [(c.code, c.kind, c.max_points, c.parent.code if c.parent else None, c.top.code) for c in clone.criteria.all()]
    assert got == [
        (c.code, c.kind, c.max_points, c.parent.code if c.parent else None, c.top.code)
        for c in scoring.criteria_set.criteria.all()
    ]
    assert (clone.year, clone.cloned_from, clone.is_locked) == (2025, scoring.criteria_set, False)
    with pytest.raises(ValidationError) as error:
        services.clone_criteria_set(source=scoring.criteria_set, year=2025)
    assert error.value.messages == ["Đã có bộ tiêu chí tên Bộ tiêu chí thi đua cho năm 2025."]


def test_tree_errors_name_each_problem():
    rows = [("1", "group", None), ("1.1", "standard", D(5)), ("2", "group", None), ("3.1", "standard", D(1)),
            ("1.1.1", "standard", D(1))]
    assert services.tree_errors(rows) == {
        "2": "Nhóm 2 chưa có tiêu chí nào.",
        "3.1": "3.1 không có mục cha 3 trong bộ tiêu chí.",
        "1.1.1": "1.1 có tiêu chí con nên phải là một nhóm.",
    }


def test_open_next_year_attaches_the_clone(scoring):
    ClusterYear.objects.filter(pk=scoring.y6.pk).update(phase="closed")
    created = services.open_next_year(cluster_year=scoring.y6, chair=scoring.units["C"], by=scoring.users["admin"])
    link = ClusterYearSet.objects.get(cluster_year=created)
    assert (link.criteria_set.year, link.criteria_set.cloned_from) == (2025, scoring.criteria_set)
    assert CriteriaSet.objects.count() == 2


def test_attach_refuses_a_year_that_started_scoring(scoring):
    other = make_criteria_set(superior=scoring.superior, name="Khác")
    with pytest.raises(ValidationError) as error:
        services.attach_criteria_set(cluster_year=scoring.y6, criteria_set=other)
    assert error.value.messages == ["Năm thi đua này đã bắt đầu chấm điểm; không thể đổi bộ tiêu chí."]


def test_points_sum_exactly_on_the_database(scoring):
    """999,000.00 points as 0,01-step values: SQLite would drift with DecimalField."""
    from django.db.models import Sum

    save(scoring, {"1.1": "39,99", "2.1": "39,99", "1.2": "19,99"})
    assert Score.objects.aggregate(total=Sum("self_points"))["total"] == D("99.97")
