"""
Exports of a cluster year's results: the ranking and the score summary table
(bảng tổng hợp điểm), as Excel (.xlsx), CSV and PDF. Labels are fixed
Vietnamese whatever the user's language: these are administrative documents.

The ranking (``ranking_xlsx``, ``ranking_csv``, ``ranking_pdf`` of a ``ranking.Ranking``)
- A title stating the cluster, the year and the status: "Tạm thời" for a
  provisional ranking (with the number of members not yet approved, who are
  not listed), or "Chính thức" with the snapshot number and its checksum.
- One row per ranked unit in rank order: Hạng ("2=" for a shared rank),
  Đơn vị, the official subtotal of each top-level group (signed: deductions
  count negative), Điểm thưởng and Điểm trừ (the points as scored; the caps of
  the criteria set apply in the total), Tổng điểm, Xếp loại, and Thay đổi so
  với năm trước (places gained since last year's final rank: +1, -2, 0; blank
  without a rank last year).

The score summary table (``summary_table`` reads it; ``summary_xlsx``,
``summary_csv`` and ``summary_pdf`` write it)
- One row per member unit in ranking order (``ranking.ranking_for``: the
  frozen results once scoring is closed, else the approved sheets); members
  without an approved sheet come last, by name, without total, rank or band.
- Two columns per leaf criterion in code order: the unit's points (Tự chấm)
  and the cluster's (Thẩm định), as stored on the unit's sheet (blank when
  not scored); then Tổng điểm (official, caps applied), Hạng and Xếp loại.
- Read in a fixed number of queries whatever the numbers of units and
  criteria: every score of the year's sheets comes in one query and is laid
  out in Python.

Formats
- xlsx: a title row, the header, one row per unit. Points are number cells
  formatted "0.00"; the change of rank is a number formatted "+0;-0;0". Text
  goes through ``excel._put``: always a string, never a formula, with Excel's
  quote prefix when it starts like one ("=CMD()" stays text).
- CSV: the same rows, UTF-8 with a BOM (so Excel shows the diacritics), comma
  separated. Points are written with a DOT decimal mark and 2 places ("87.50"),
  since the comma is the separator. Text from the database that a spreadsheet
  would read as a formula (starting with = + - @, a tab or a carriage return)
  is prefixed with a single quote; numbers are written as they are.
- PDF (WeasyPrint, A4, DejaVu Serif): a Vietnamese administrative document
  (the layout of Decree 30/2020/NĐ-CP). Top left the issuing body: the
  superior's name over ``issued_by`` (upper case), then "Số: …". Top right the
  national motto "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" / "Độc lập - Tự do -
  Hạnh phúc" (underlined) and the place and date line ("Hà Nội, ngày 01 tháng
  11 năm 2024"; day and months 1-2 with a leading zero; dotted blanks to fill
  by hand when no date is given, like the number). The centred bold title with
  the cluster's name and the status; the table (the summary table in blocks of
  columns, landscape when it has more than three criteria, followed by the
  criteria's titles and maxima); the recipients ("Nơi nhận") and the
  signature block on the right: "CỤM TRƯỞNG" and the chair unit of the year
  (its membership with role "chair"), with room to sign. Every page's footer
  shows "Trang X/Y" and the snapshot number and checksum, or "Kết quả tạm thời".
  WeasyPrint is imported only when a PDF is made (the app starts without
  Pango) and fetches nothing: the template is self-contained and every URL is
  refused.
"""

import csv
import datetime
import io
from dataclasses import dataclass
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from clusters.models import ClusterYear, Membership, Unit

from .excel import FORMULA_STARTS, POINTS_FORMAT, _put
from .models import Band, CriteriaSet, Criterion, ResultSnapshot, Score
from .ranking import RankedRow, Ranking, ranking_for

BAND_LABELS = {
    Band.EXCELLENT: "Xuất sắc",
    Band.GOOD: "Tốt",
    Band.FAIR: "Khá",
    Band.AVERAGE: "Trung bình",
    Band.WEAK: "Yếu",
}
CRITERION_KINDS = {
    Criterion.Kind.STANDARD: "Chuẩn",
    Criterion.Kind.BONUS: "Thưởng",
    Criterion.Kind.DEDUCTION: "Trừ",
}
RANKING_TITLE = "Bảng xếp hạng kết quả thi đua năm {year}"
SUMMARY_TITLE = "Bảng tổng hợp điểm thi đua năm {year}"
PROVISIONAL = "Tạm thời"
PROVISIONAL_PENDING = "Tạm thời (còn {pending} đơn vị chưa được phê duyệt phiếu chấm điểm)"
FINAL = "Chính thức, bản chốt số {number}, mã kiểm tra {checksum}"
RANKING_HEAD_BEFORE = ("Hạng", "Đơn vị")
RANKING_HEAD_AFTER = ("Điểm thưởng", "Điểm trừ", "Tổng điểm", "Xếp loại", "Thay đổi so với năm trước")
SUMMARY_HEAD_BEFORE = ("STT", "Đơn vị")
SUMMARY_HEAD_AFTER = ("Tổng điểm", "Hạng", "Xếp loại")
SELF, OFFICIAL = "Tự chấm", "Thẩm định"
CHANGE_FORMAT = "+0;-0;0"
XLSX_TITLE_ROW, XLSX_HEADER_ROW = 1, 2
MINUS = "\u2212"  # the typographic minus of the PDF ("−2")

PDF_TEMPLATE = "scoring/pdf/document.html"
PLACE = "Hà Nội"
PORTRAIT_MAX_CRITERIA = 3  # more criteria than this: the summary PDF turns landscape
BLOCK_CRITERIA = {"portrait": 3, "landscape": 7}  # criteria per block of columns of the summary PDF
RANKING_PORTRAIT_MAX_GROUPS = 4


# --- the summary table (a read) ------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryCell:
    self_points: Decimal | None = None
    official_points: Decimal | None = None


@dataclass
class SummaryRow:
    unit: Unit
    cells: list[SummaryCell]  # one per criterion of the table, in its order
    total: Decimal | None = None  # None: not ranked (no approved sheet)
    rank: int | None = None
    tied: bool = False
    band: str = ""

    @property
    def is_ranked(self) -> bool:
        return self.rank is not None

    @property
    def rank_display(self) -> str:
        if self.rank is None:
            return ""
        return f"{self.rank}=" if self.tied else str(self.rank)

    @property
    def band_label(self) -> str:
        return BAND_LABELS.get(self.band, "")


@dataclass
class SummaryTable:
    cluster_year: ClusterYear  # with its cluster and the cluster's superior loaded
    criteria_set: CriteriaSet | None
    criteria: list[Criterion]  # the leaf criteria in code order
    rows: list[SummaryRow]
    is_final: bool
    snapshot: ResultSnapshot | None = None
    chair: Unit | None = None

    @property
    def pending(self) -> int:
        return sum(1 for row in self.rows if not row.is_ranked)


def summary_table(cluster_year: ClusterYear) -> SummaryTable:
    """The score summary table of the cluster year: a fixed number of queries (see the module docstring)."""
    cluster_year = ClusterYear.objects.select_related("cluster__superior").get(pk=cluster_year.pk)
    ranking = ranking_for(cluster_year)
    criteria = []
    if ranking.criteria_set is not None:
        criteria = list(ranking.criteria_set.criteria.exclude(kind=Criterion.Kind.GROUP).order_by("sort_key"))
    memberships = list(cluster_year.memberships.select_related("unit").order_by("unit__name"))
    points: dict[tuple[int, int], SummaryCell] = {
        (unit_id, criterion_id): SummaryCell(self_points, official_points)
        for unit_id, criterion_id, self_points, official_points in Score.objects.filter(
            sheet__cluster_year=cluster_year
        ).values_list("sheet__unit_id", "criterion_id", "self_points", "official_points")
    }

    def cells(unit: Unit) -> list[SummaryCell]:
        return [points.get((unit.pk, c.pk), SummaryCell()) for c in criteria]

    rows = [SummaryRow(r.unit, cells(r.unit), r.total, r.rank, r.tied, r.band) for r in ranking.rows]
    ranked = {r.unit.pk for r in ranking.rows}
    rows += [SummaryRow(m.unit, cells(m.unit)) for m in memberships if m.unit_id not in ranked]
    chair = next((m.unit for m in memberships if m.role == Membership.Role.CHAIR), None)
    return SummaryTable(
        cluster_year, ranking.criteria_set, criteria, rows, ranking.is_final, ranking.snapshot, chair
    )


# --- shared pieces -------------------------------------------------------------------------------


class _Change(int):
    """Places gained since last year: written "+1" / "-2" / "0"."""


def _change(row: RankedRow) -> _Change | None:
    return None if row.rank_change is None else _Change(row.rank_change)


def _status(*, is_final: bool, snapshot: ResultSnapshot | None, pending: int) -> str:
    if is_final and snapshot is not None:
        return FINAL.format(number=snapshot.number, checksum=snapshot.checksum)
    return PROVISIONAL_PENDING.format(pending=pending) if pending else PROVISIONAL


def _title_line(title: str, cluster_year: ClusterYear, status: str) -> str:
    return f"{title.format(year=cluster_year.year)} – {cluster_year.cluster.name} – {status}"


def _ranking_title(ranking: Ranking) -> str:
    status = _status(is_final=ranking.is_final, snapshot=ranking.snapshot, pending=ranking.pending)
    return _title_line(RANKING_TITLE, ranking.cluster_year, status)


def _summary_title(table: SummaryTable) -> str:
    status = _status(is_final=table.is_final, snapshot=table.snapshot, pending=table.pending)
    return _title_line(SUMMARY_TITLE, table.cluster_year, status)


def _group_label(group: Criterion) -> str:
    return f"{group.code}. {group.title}"


def _ranking_header(ranking: Ranking) -> list[str]:
    return [*RANKING_HEAD_BEFORE, *(_group_label(g) for g in ranking.groups), *RANKING_HEAD_AFTER]


def _ranking_values(ranking: Ranking, row: RankedRow) -> list:
    groups = [row.groups.get(g.code) for g in ranking.groups]
    return [
        row.rank_display, row.unit.name, *groups, row.bonus, row.deduction, row.total,
        BAND_LABELS.get(row.band, ""), _change(row),
    ]


def _summary_values(number: int, row: SummaryRow) -> list:
    points = [value for cell in row.cells for value in (cell.self_points, cell.official_points)]
    return [number, row.unit.name, *points, row.total, row.rank_display, row.band_label]


# --- xlsx ----------------------------------------------------------------------------------------


def _xlsx_cell(sheet, row: int, column: int, value):
    if isinstance(value, _Change):
        cell = _put(sheet, row, column, int(value))
        cell.number_format = CHANGE_FORMAT
        return cell
    cell = _put(sheet, row, column, value)
    if isinstance(value, Decimal):
        cell.number_format = POINTS_FORMAT
    return cell


def _xlsx_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _new_sheet(title: str, heading: str):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    _put(sheet, XLSX_TITLE_ROW, 1, heading).font = Font(bold=True, size=13)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToHeight = 0
    return workbook, sheet


def _header_cell(sheet, row: int, column: int, text: str):
    cell = _put(sheet, row, column, text)
    cell.font = Font(bold=True)
    cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    return cell


def ranking_xlsx(ranking: Ranking) -> bytes:
    """The ranking as an .xlsx workbook (see the module docstring for its rows)."""
    workbook, sheet = _new_sheet("Xếp hạng", _ranking_title(ranking))
    header = _ranking_header(ranking)
    for column, text in enumerate(header, start=1):
        _header_cell(sheet, XLSX_HEADER_ROW, column, text)
        sheet.column_dimensions[get_column_letter(column)].width = 36 if column == 2 else 14
    for number, row in enumerate(ranking.rows, start=XLSX_HEADER_ROW + 1):
        for column, value in enumerate(_ranking_values(ranking, row), start=1):
            _xlsx_cell(sheet, number, column, value)
    sheet.freeze_panes = sheet.cell(row=XLSX_HEADER_ROW + 1, column=3)
    return _xlsx_bytes(workbook)


def summary_xlsx(table: SummaryTable) -> bytes:
    """
    The summary table as an .xlsx workbook: row 1 the title, rows 2-3 the header
    (each criterion's code and title over its Tự chấm / Thẩm định columns), then one row per unit.
    """
    workbook, sheet = _new_sheet("Tổng hợp điểm", _summary_title(table))
    top, sub = XLSX_HEADER_ROW, XLSX_HEADER_ROW + 1
    widths = {1: 6, 2: 36}
    singles = [(1, SUMMARY_HEAD_BEFORE[0]), (2, SUMMARY_HEAD_BEFORE[1])]
    after = 3 + 2 * len(table.criteria)
    singles += [(after + i, text) for i, text in enumerate(SUMMARY_HEAD_AFTER)]
    for column, text in singles:
        _header_cell(sheet, top, column, text)
        sheet.merge_cells(start_row=top, start_column=column, end_row=sub, end_column=column)
    for index, criterion in enumerate(table.criteria):
        column = 3 + 2 * index
        _header_cell(sheet, top, column, _group_label(criterion))
        sheet.merge_cells(start_row=top, start_column=column, end_row=top, end_column=column + 1)
        _header_cell(sheet, sub, column, SELF)
        _header_cell(sheet, sub, column + 1, OFFICIAL)
    for column in range(1, after + len(SUMMARY_HEAD_AFTER)):
        sheet.column_dimensions[get_column_letter(column)].width = widths.get(column, 11)
    for number, row in enumerate(table.rows, start=1):
        for column, value in enumerate(_summary_values(number, row), start=1):
            _xlsx_cell(sheet, sub + number, column, value)
    sheet.freeze_panes = sheet.cell(row=sub + 1, column=3)
    return _xlsx_bytes(workbook)


# --- csv -----------------------------------------------------------------------------------------


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, _Change):
        return f"{int(value):+d}" if value else "0"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    # A spreadsheet opening the file would run it as a formula: the quote keeps it text.
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _csv_bytes(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([[_csv_cell(value) for value in row] for row in rows])
    return buffer.getvalue().encode("utf-8-sig")


def ranking_csv(ranking: Ranking) -> bytes:
    """
    The ranking as CSV: UTF-8 with BOM, comma separated, points with a dot
    decimal mark ("87.50"). Row 1 the title, row 2 the header, then one row per unit.
    """
    rows = [[_ranking_title(ranking)], _ranking_header(ranking)]
    rows += [_ranking_values(ranking, row) for row in ranking.rows]
    return _csv_bytes(rows)


def summary_csv(table: SummaryTable) -> bytes:
    """
    The summary table as CSV: UTF-8 with BOM, comma separated, points with a
    dot decimal mark. Row 1 the title, row 2 the header (a criterion's columns
    are "<code> Tự chấm" and "<code> Thẩm định"), then one row per unit.
    """
    criteria = [f"{c.code} {side}" for c in table.criteria for side in (SELF, OFFICIAL)]
    rows = [[_summary_title(table)], [*SUMMARY_HEAD_BEFORE, *criteria, *SUMMARY_HEAD_AFTER]]
    rows += [_summary_values(number, row) for number, row in enumerate(table.rows, start=1)]
    return _csv_bytes(rows)


# --- pdf -----------------------------------------------------------------------------------------


def date_line(date: datetime.date | None) -> str:
    """ "ngày 01 tháng 11 năm 2024": the day, and months 1 and 2, with a leading zero (Decree 30/2020)."""
    if date is None:
        return "ngày ..... tháng ..... năm ......."
    month = f"{date.month:02d}" if date.month < 3 else str(date.month)
    return f"ngày {date.day:02d} tháng {month} năm {date.year}"


def _change_text(change: int | None) -> str:
    if change is None:
        return ""
    if change < 0:
        return f"{MINUS}{-change}"
    return f"+{change}" if change else "0"


def _footer(*, is_final: bool, snapshot: ResultSnapshot | None) -> str:
    if is_final and snapshot is not None:
        return f"Bản chốt số {snapshot.number} – mã kiểm tra: {snapshot.checksum}"
    return "Kết quả tạm thời"


def _subtitle(*, is_final: bool, snapshot: ResultSnapshot | None, pending: int) -> str:
    if is_final and snapshot is not None:
        frozen = timezone.localdate(snapshot.created_at)
        return f"(Kết quả chính thức theo bản chốt số {snapshot.number} ngày {frozen:%d/%m/%Y})"
    if pending:
        return f"(Kết quả tạm thời; còn {pending} đơn vị chưa được phê duyệt phiếu chấm điểm, chưa xếp hạng)"
    return "(Kết quả tạm thời)"


def _letterhead(cluster_year: ClusterYear) -> tuple[ClusterYear, Unit | None]:
    """The cluster year with its cluster and superior, and the chair unit: two queries."""
    cluster_year = ClusterYear.objects.select_related("cluster__superior").get(pk=cluster_year.pk)
    chair = (
        Membership.objects.filter(cluster_year=cluster_year, role=Membership.Role.CHAIR)
        .select_related("unit")
        .first()
    )
    return cluster_year, chair.unit if chair else None


def _render_pdf(context: dict) -> bytes:
    # Imported here: WeasyPrint needs Pango, which a machine serving only pages may lack.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_to_string(PDF_TEMPLATE, context)
    # No protocol allowed: the document is self-contained and never reaches the network or the disk.
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()


def _document(
    cluster_year: ClusterYear, chair: Unit | None, *, title: str, subtitle: str, footer: str,
    orientation: str, issued_by: str, number: str, place: str, date: datetime.date | None,
) -> dict:
    return {
        "title": title.format(year=cluster_year.year).upper(),
        "cluster": cluster_year.cluster.name,
        "superior": cluster_year.cluster.superior.name,
        "subtitle": subtitle,
        "footer": footer,
        "orientation": orientation,
        "issued_by": issued_by,
        "number": number,
        "place_and_date": f"{place}, {date_line(date)}",
        "chair": chair,
    }


def ranking_pdf(
    ranking: Ranking,
    *,
    issued_by: str,
    number: str = "",
    place: str = PLACE,
    date: datetime.date | None = None,
) -> bytes:
    """
    The ranking as a PDF administrative document (see the module docstring).
    ``issued_by`` is the issuing body shown under the superior (e.g. "Cụm Thi
    đua số 6"); ``number`` fills "Số:"; ``date`` None leaves the date to be written by hand.
    """
    cluster_year, chair = _letterhead(ranking.cluster_year)
    criteria_set = ranking.criteria_set
    rows = [
        {
            "rank": row.rank_display,
            "unit": row.unit.name,
            "groups": [row.groups.get(g.code) for g in ranking.groups],
            "bonus": row.bonus,
            "deduction": row.deduction,
            "total": row.total,
            "band": BAND_LABELS.get(row.band, ""),
            "change": _change_text(row.rank_change),
        }
        for row in ranking.rows
    ]
    context = _document(
        cluster_year, chair,
        title=RANKING_TITLE,
        subtitle=_subtitle(is_final=ranking.is_final, snapshot=ranking.snapshot, pending=ranking.pending),
        footer=_footer(is_final=ranking.is_final, snapshot=ranking.snapshot),
        orientation="portrait" if len(ranking.groups) <= RANKING_PORTRAIT_MAX_GROUPS else "landscape",
        issued_by=issued_by, number=number, place=place, date=date,
    )
    context.update(
        kind="ranking",
        groups=[_group_label(g) for g in ranking.groups],
        rows=rows,
        bonus_cap=criteria_set.bonus_cap if criteria_set else None,
        deduction_cap=criteria_set.deduction_cap if criteria_set else None,
    )
    return _render_pdf(context)


def _blocks(table: SummaryTable, size: int) -> list[dict]:
    """The table cut into blocks of at most ``size`` criteria, each listing the units; totals in the last."""
    starts = range(0, len(table.criteria), size) if table.criteria else [0]
    blocks = []
    for start in starts:
        stop = start + size
        blocks.append({
            "criteria": table.criteria[start:stop],
            "rows": [{"row": row, "cells": row.cells[start:stop]} for row in table.rows],
            "is_last": stop >= len(table.criteria),
        })
    return blocks


def summary_pdf(
    table: SummaryTable,
    *,
    issued_by: str,
    number: str = "",
    place: str = PLACE,
    date: datetime.date | None = None,
) -> bytes:
    """The summary table as a PDF administrative document (arguments as ``ranking_pdf``)."""
    orientation = "portrait" if len(table.criteria) <= PORTRAIT_MAX_CRITERIA else "landscape"
    context = _document(
        table.cluster_year, table.chair,
        title=SUMMARY_TITLE,
        subtitle=_subtitle(is_final=table.is_final, snapshot=table.snapshot, pending=table.pending),
        footer=_footer(is_final=table.is_final, snapshot=table.snapshot),
        orientation=orientation,
        issued_by=issued_by, number=number, place=place, date=date,
    )
    context.update(
        kind="summary",
        blocks=_blocks(table, BLOCK_CRITERIA[orientation]),
        legend=[
            {"code": c.code, "title": c.title, "kind": CRITERION_KINDS.get(c.kind, ""), "max": c.max_points}
            for c in table.criteria
        ],
    )
    return _render_pdf(context)
