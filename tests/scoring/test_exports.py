"""Exports of a year's results: the summary table read, xlsx and csv read back cell by cell, PDFs as text."""

import codecs
import csv
import datetime
import io
import subprocess
import re
import sys
import zipfile
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from clusters.models import Cluster, ClusterYear, Superior, Unit
from scoring import exports, ranking, services
from scoring.models import Result, ResultSnapshot, Sheet
from tests.factories import ClusterYearFactory, attach, big_tree, make_criteria_set
from tests.scoring.test_ranking import approved, rank

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2024, 11, 1, 8, 0))
ISSUED = datetime.date(2024, 11, 1)
DIVISION, SCHOOL, REGIMENT = "Sư đoàn Bộ binh 301", "Trường Quân sự Bộ Tư lệnh", "Trung đoàn Pháo binh 452"
# A: 87 (bonus 2, deduction 0.5); B and C: 70 each, equal on every rule (a full tie).
POINTS = {
    "A": {"1.1": "40", "1.2": "15.5", "2.1": "30", "3.1": "2", "4.1": "0.5"},
    "B": {"1.1": "35", "1.2": "10", "2.1": "25"},
    "C": {"1.1": "35", "1.2": "10", "2.1": "25"},
}
GROUPS = ["1. Tiêu chí 1", "2. Tiêu chí 2", "3. Tiêu chí 3", "4. Tiêu chí 4"]
RANKING_HEADER = [
    "Hạng", "Đơn vị", *GROUPS, "Điểm thưởng", "Điểm trừ", "Tổng điểm", "Xếp loại",
    "Thay đổi so với năm trước",
]
LEAVES = ["1.1", "1.2", "2.1", "3.1", "3.2", "4.1", "4.2"]
CLUSTER_YEAR = "năm 2024 – Cụm Thi đua số 6"


def rename(world):
    """The real case's names: diacritics everywhere; A chairs the cluster."""
    Superior.objects.filter(pk=world.superior.pk).update(name="Bộ Tư lệnh Thủ đô Hà Nội")
    Cluster.objects.filter(pk=world.c6.pk).update(name="Cụm Thi đua số 6")
    for key, name in zip("ABC", (DIVISION, SCHOOL, REGIMENT), strict=True):
        Unit.objects.filter(pk=world.units[key].pk).update(name=name)
        world.units[key].refresh_from_db()
    world.y6 = ClusterYear.objects.get(pk=world.y6.pk)


def last_year(world, ranks: dict[str, int]) -> None:
    """Final results of 2023 with the given ranks, for the change of rank."""
    y2023 = ClusterYearFactory(cluster=world.c6, year=2023)
    snapshot = ResultSnapshot.objects.create(
        cluster_year=y2023, criteria_set=world.criteria_set, number=1, created_at=NOW,
        created_by=world.users["officer_a"], checksum="0" * 64,
    )
    for key, place in ranks.items():
        Result.objects.create(snapshot=snapshot, unit=world.units[key], standard=D("80"), bonus=D("0"),
                              deduction=D("0"), total=D("80"), rank=place, band="good")


@pytest.fixture
def provisional(scoring):
    """Every sheet approved, scoring still open; last year B was 1st and A 2nd, C was not ranked."""
    rename(scoring)
    last_year(scoring, {"A": 2, "B": 1})
    for key, points in POINTS.items():
        approved(scoring, scoring.units[key], points)
    return scoring


@pytest.fixture
def closed(provisional):
    by = provisional.users["officer_a"]
    provisional.snapshot = services.close_scoring(cluster_year=provisional.y6, by=by, now=NOW)
    return provisional


def final_title(world, title: str) -> str:
    checksum = world.snapshot.checksum
    return f"{title} {CLUSTER_YEAR} – Chính thức, bản chốt số 1, mã kiểm tra {checksum}"


def rows_of(content: bytes) -> list[tuple]:
    return list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def pdf_text(path: Path, content: bytes) -> str:
    """The PDF's text as a reader extracts it (pypdf: pure Python, so `make test` needs no poppler)."""
    path.write_bytes(content)
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


# --- the summary table ---------------------------------------------------------------------------


def test_summary_table_rows_follow_the_frozen_ranking(closed):
    table = exports.summary_table(closed.y6)

    assert (table.is_final, table.snapshot, table.chair, [c.code for c in table.criteria]) == (
        True, closed.snapshot, closed.units["A"], LEAVES)
    assert [(r.unit.name, r.total, r.rank_display, r.band_label) for r in table.rows] == [
        (DIVISION, D("87.00"), "1", "Tốt"),
        (REGIMENT, D("70.00"), "2=", "Khá"),
        (SCHOOL, D("70.00"), "2=", "Khá"),
    ]
    assert [(c.self_points, c.official_points) for c in table.rows[0].cells] == [
        (D("40.00"), D("40.00")), (D("15.50"), D("15.50")), (D("30.00"), D("30.00")), (D("2.00"), D("2.00")),
        (D("0.00"), D("0.00")), (D("0.50"), D("0.50")), (D("0.00"), D("0.00")),
    ]


def test_summary_table_puts_members_without_an_approved_sheet_last_unranked(scoring):
    rename(scoring)
    approved(scoring, scoring.units["C"], POINTS["C"])
    Sheet.objects.create(cluster_year=scoring.y6, unit=scoring.units["B"], criteria_set=scoring.criteria_set,
                         status=Sheet.Status.SUBMITTED)

    table = exports.summary_table(scoring.y6)

    assert (table.is_final, table.pending) == (False, 2)
    assert [(r.unit.name, r.total, r.rank_display, r.band_label) for r in table.rows] == [
        (REGIMENT, D("70.00"), "1", "Khá"),
        (DIVISION, None, "", ""),
        (SCHOOL, None, "", ""),
    ]
    assert table.rows[1].cells == [exports.SummaryCell()] * 7
    assert csv_rows(exports.summary_csv(table))[3:] == [
        ["2", DIVISION, *[""] * 14, "", "", ""],
        ["3", SCHOOL, *[""] * 14, "", "", ""],
    ]


@pytest.mark.parametrize(("leaves", "extra_units"), [(3, 0), (30, 4)])
def test_summary_table_query_count_is_fixed(world, django_assert_num_queries, leaves, extra_units):
    world.criteria_set = make_criteria_set(superior=world.superior, tree=big_tree(leaves))
    attach(world.y6, world.criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="scoring")
    rank(world, {key: {"1.1": "1"} for key in ["A", "B", "C", *[f"X{i}" for i in range(extra_units)]]})

    with django_assert_num_queries(10):
        table = exports.summary_table(world.y6)

    shape = (len(table.rows), len(table.criteria), len(table.rows[-1].cells))
    assert shape == (3 + extra_units, leaves, leaves)


# --- the ranking: xlsx and csv -------------------------------------------------------------------


def test_ranking_xlsx_of_the_final_ranking(closed):
    content = exports.ranking_xlsx(ranking.ranking_for(closed.y6))

    rows = rows_of(content)
    assert rows[0] == (final_title(closed, "Bảng xếp hạng kết quả thi đua"), *[None] * 10)
    assert list(rows[1]) == RANKING_HEADER
    assert rows[2:] == [
        ("1", DIVISION, 55.5, 30, 2, -0.5, 2, 0.5, 87, "Tốt", 1),
        ("2=", REGIMENT, 45, 25, 0, 0, 0, 0, 70, "Khá", None),
        ("2=", SCHOOL, 45, 25, 0, 0, 0, 0, 70, "Khá", -1),
    ]
    sheet = load_workbook(io.BytesIO(content)).active
    assert [sheet.cell(row=3, column=c).number_format for c in (3, 9, 11)] == ["0.00", "0.00", "+0;-0;0"]


def test_ranking_csv_of_the_final_ranking(closed):
    content = exports.ranking_csv(ranking.ranking_for(closed.y6))

    assert csv_rows(content) == [
        [final_title(closed, "Bảng xếp hạng kết quả thi đua")],
        RANKING_HEADER,
        ["1", DIVISION, "55.50", "30.00", "2.00", "-0.50", "2.00", "0.50", "87.00", "Tốt", "+1"],
        ["2=", REGIMENT, "45.00", "25.00", "0.00", "0.00", "0.00", "0.00", "70.00", "Khá", ""],
        ["2=", SCHOOL, "45.00", "25.00", "0.00", "0.00", "0.00", "0.00", "70.00", "Khá", "-1"],
    ]


def test_ranking_csv_of_a_provisional_ranking_says_so(provisional):
    Sheet.objects.filter(unit=provisional.units["C"]).update(status=Sheet.Status.SUBMITTED)

    rows = csv_rows(exports.ranking_csv(ranking.ranking_for(provisional.y6)))

    assert rows[0] == [
        f"Bảng xếp hạng kết quả thi đua {CLUSTER_YEAR} – "
        "Tạm thời (còn 1 đơn vị chưa được phê duyệt phiếu chấm điểm)"
    ]
    assert [row[:2] for row in rows[2:]] == [["1", DIVISION], ["2", SCHOOL]]


# --- the summary table: xlsx and csv -------------------------------------------------------------


def test_summary_xlsx(closed):
    content = exports.summary_xlsx(exports.summary_table(closed.y6))

    rows = rows_of(content)
    assert rows[0][0] == final_title(closed, "Bảng tổng hợp điểm thi đua")
    criteria = [value for code in LEAVES for value in (f"{code}. Tiêu chí {code}", None)]
    assert rows[1] == ("STT", "Đơn vị", *criteria, "Tổng điểm", "Hạng", "Xếp loại")
    assert rows[2] == (None, None, *["Tự chấm", "Thẩm định"] * 7, None, None, None)
    assert rows[3:] == [
        (1, DIVISION, 40, 40, 15.5, 15.5, 30, 30, 2, 2, 0, 0, 0.5, 0.5, 0, 0, 87, "1", "Tốt"),
        (2, REGIMENT, 35, 35, 10, 10, 25, 25, 0, 0, 0, 0, 0, 0, 0, 0, 70, "2=", "Khá"),
        (3, SCHOOL, 35, 35, 10, 10, 25, 25, 0, 0, 0, 0, 0, 0, 0, 0, 70, "2=", "Khá"),
    ]
    sheet = load_workbook(io.BytesIO(content)).active
    assert {"A2:A3", "C2:D2", "Q2:Q3"} <= {str(r) for r in sheet.merged_cells.ranges}
    assert (sheet["C4"].number_format, sheet["Q4"].number_format) == ("0.00", "0.00")


def test_summary_csv(closed):
    rows = csv_rows(exports.summary_csv(exports.summary_table(closed.y6)))

    criteria = [f"{code} {side}" for code in LEAVES for side in ("Tự chấm", "Thẩm định")]
    zeros = ["0.00"] * 8
    assert rows == [
        [final_title(closed, "Bảng tổng hợp điểm thi đua")],
        ["STT", "Đơn vị", *criteria, "Tổng điểm", "Hạng", "Xếp loại"],
        ["1", DIVISION, "40.00", "40.00", "15.50", "15.50", "30.00", "30.00", "2.00", "2.00", "0.00", "0.00",
         "0.50", "0.50", "0.00", "0.00", "87.00", "1", "Tốt"],
        ["2", REGIMENT, "35.00", "35.00", "10.00", "10.00", "25.00", "25.00", *zeros, "70.00", "2=", "Khá"],
        ["3", SCHOOL, "35.00", "35.00", "10.00", "10.00", "25.00", "25.00", *zeros, "70.00", "2=", "Khá"],
    ]


# --- formula injection ---------------------------------------------------------------------------


def test_a_unit_named_like_a_formula_stays_text(provisional):
    Unit.objects.filter(pk=provisional.units["A"].pk).update(name="=CMD()")
    result = ranking.ranking_for(provisional.y6)
    table = exports.summary_table(provisional.y6)

    # The unit ranks first: row 3 of the ranking, row 4 of the summary (its header takes two rows).
    for content, address in [(exports.ranking_xlsx(result), "B3"), (exports.summary_xlsx(table), "B4")]:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()
        cell = load_workbook(io.BytesIO(content)).active[address]
        assert (cell.value, cell.data_type, cell.quotePrefix) == ("=CMD()", "s", True)
    assert csv_rows(exports.ranking_csv(result))[2][1] == "'=CMD()"
    assert csv_rows(exports.summary_csv(table))[2][1] == "'=CMD()"


# --- PDF -----------------------------------------------------------------------------------------


def test_ranking_pdf_of_the_final_ranking(closed, tmp_path):
    content = exports.ranking_pdf(ranking.ranking_for(closed.y6), issued_by="Cụm Thi đua số 6",
                                  number="15/BXH-CTĐ6", date=ISSUED)

    assert content.startswith(b"%PDF")
    text = pdf_text(tmp_path / "ranking.pdf", content)
    for line in [
        "BỘ TƯ LỆNH THỦ ĐÔ HÀ NỘI", "CỤM THI ĐUA SỐ 6", "Số: 15/BXH-CTĐ6",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        "Hà Nội, ngày 01 tháng 11 năm 2024", "BẢNG XẾP HẠNG KẾT QUẢ THI ĐUA NĂM 2024",
        "(Kết quả chính thức theo bản chốt số 1 ngày 01/11/2024)",
        DIVISION, SCHOOL, REGIMENT, "55,5", "87", "2=", "Tốt", "Khá", "+1", "−1",
        "CỤM TRƯỞNG", "SƯ ĐOÀN BỘ BINH 301",
        f"Bản chốt số 1 – mã kiểm tra: {closed.snapshot.checksum}", "Trang 1/1",
    ]:
        assert line in text, line
    assert "tạm thời" not in text


def test_ranking_pdf_of_a_provisional_ranking_says_so(provisional, tmp_path):
    content = exports.ranking_pdf(ranking.ranking_for(provisional.y6), issued_by="Cụm Thi đua số 6")

    text = pdf_text(tmp_path / "ranking.pdf", content)
    for line in ["(Kết quả tạm thời)", "Kết quả tạm thời Trang 1/1", "Hà Nội, ngày ..... tháng ..... năm .......",
                 DIVISION, SCHOOL, REGIMENT, "2="]:
        assert line in text, line
    assert re.search(r"Số:\s+/", text)
    assert "mã kiểm tra" not in text


def test_summary_pdf_is_landscape_with_every_criterion(closed, tmp_path):
    content = exports.summary_pdf(exports.summary_table(closed.y6), issued_by="Cụm Thi đua số 6", date=ISSUED)

    path = tmp_path / "summary.pdf"
    text = pdf_text(path, content)
    for line in [
        "BỘ TƯ LỆNH THỦ ĐÔ HÀ NỘI", "CỤM THI ĐUA SỐ 6", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc", "Hà Nội, ngày 01 tháng 11 năm 2024",
        "BẢNG TỔNG HỢP ĐIỂM THI ĐUA NĂM 2024", "Cụm Thi đua số 6", DIVISION, SCHOOL, REGIMENT,
        "15,5", "2=", "Khá", "Tiêu chí 4.2", "CỤM TRƯỞNG",
        f"mã kiểm tra: {closed.snapshot.checksum}",
    ]:
        assert line in text, line
    assert "Tự chấm" in text.replace("\n", " ") and "Thẩm định" in text.replace("\n", " ")
    page = PdfReader(path).pages[0]
    assert (round(float(page.mediabox.width), 2), round(float(page.mediabox.height), 2)) == (841.89, 595.28)  # A4 landscape


def test_pdf_templates_load_nothing_from_outside():
    folder = Path(settings.BASE_DIR) / "templates/scoring/pdf"
    sources = "".join(path.read_text() for path in folder.glob("*.html"))
    assert [s for s in ("http", "url(", "@import", "<link", "<img", "<script", "src=") if s in sources] == []


def test_weasyprint_is_imported_only_for_a_pdf():
    code = "import django; django.setup(); import sys, scoring.exports; print('weasyprint' in sys.modules)"
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.test", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=settings.BASE_DIR, env=env)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("date", "line"),
    [
        (datetime.date(2024, 11, 1), "ngày 01 tháng 11 năm 2024"),
        (datetime.date(2025, 2, 9), "ngày 09 tháng 02 năm 2025"),
        (datetime.date(2025, 3, 15), "ngày 15 tháng 3 năm 2025"),
        (None, "ngày ..... tháng ..... năm ......."),
    ],
)
def test_date_line(date, line):
    assert exports.date_line(date) == line
