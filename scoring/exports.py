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
import re
import tempfile
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape as xml_escape

from django.db.models import BigIntegerField, ExpressionWrapper, F
from django.template.loader import render_to_string
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from clusters.models import ClusterYear, Membership, Unit

from .excel import FORMULA_STARTS, POINTS_FORMAT, _put
from .models import Band, CriteriaSet, Criterion, ResultSnapshot, Score
from .ranking import RankedRow, Ranking, ranking_for, year_lines

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


# --- the command-wide summary: every unit of a year, streamed ------------------------------------

COMMAND_SUMMARY_TITLE = "Bảng tổng hợp điểm thi đua năm {year} – {superior}"
COMMAND_HEAD_BEFORE = ("STT", "Cụm thi đua", "Đơn vị")
COMMAND_HEAD_AFTER = ("Tổng điểm", "Hạng trong cụm", "Xếp loại", "Kết quả")
FINAL_SHORT, PROVISIONAL_SHORT = "Chính thức", "Tạm thời"
SCORE_CHUNK = 5000  # score rows fetched at a time from the server-side cursor

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_STATIC_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'
    ),
    # Styles: 0 normal, 1 points "0.00", 2 header (bold, centred, wrapped), 3 title (bold 13), 4 quoted text.
    "xl/styles.xml": (
        f'<styleSheet xmlns="{_MAIN}">'
        f'<numFmts count="1"><numFmt numFmtId="164" formatCode="{POINTS_FORMAT}"/></numFmts>'
        '<fonts count="3"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="13"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
        '<alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
        '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    ),
}
STYLE_POINTS, STYLE_HEADER, STYLE_TITLE, STYLE_QUOTED = 1, 2, 3, 4


class StreamedWorkbook:
    """
    An .xlsx of one worksheet written row by row into a zip file, so memory
    stays the same whatever the number of rows (openpyxl's write-only mode
    took 7 s for the 600,000 cells of the command-wide summary on a 2-core
    machine; this takes about 1 s). Values: ``str`` (an inline string: never
    a formula, and quote-prefixed like ``excel._put`` when it starts like
    one), ``int``, ``Decimal`` (formatted "0.00"), ``None`` (no cell).
    """

    def __init__(self, file, *, title: str, widths: list[int], frozen: tuple[int, int] = (0, 0)):
        self._zip = zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        for name, xml in _STATIC_PARTS.items():
            self._zip.writestr(name, _XML_HEAD + xml)
        self._zip.writestr("xl/workbook.xml", _XML_HEAD + (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name="{xml_escape(title)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ))
        self._part = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self._letters = [get_column_letter(i) for i in range(1, len(widths) + 1)]
        self._row = 0
        self._merges: list[str] = []
        self._buffer: list[str] = []
        rows, columns = frozen
        pane = ""
        if rows or columns:
            pane = (f'<pane xSplit="{columns}" ySplit="{rows}" topLeftCell="{get_column_letter(columns + 1)}{rows + 1}" '
                    'activePane="bottomRight" state="frozen"/>')
        cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, 1))
        self._write(
            _XML_HEAD + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
            f'<sheetViews><sheetView workbookViewId="0">{pane}</sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
        )

    def _write(self, text: str) -> None:
        self._buffer.append(text)
        if len(self._buffer) >= 500:
            self._flush()

    def _flush(self) -> None:
        self._part.write("".join(self._buffer).encode())
        self._buffer = []

    def row(self, values, *, style: int = 0, hundredths: range = range(0)) -> int:
        """
        Append a row (``style`` for its text cells: STYLE_HEADER, STYLE_TITLE) and
        return its number. The values at the indexes in ``hundredths`` are points
        as integer hundredths (``PointsField``'s column), written "0.00".
        """
        self._row += 1
        number = self._row
        letters = self._letters
        cells = []
        for index, value in enumerate(values):
            if value is None:
                continue
            ref = f"{letters[index]}{number}"
            if index in hundredths:
                cells.append(f'<c r="{ref}" s="{STYLE_POINTS}"><v>{value / 100}</v></c>')
            elif isinstance(value, str):
                text = xml_escape(_XML_INVALID.sub("", value))
                cell_style = STYLE_QUOTED if not style and value.startswith(FORMULA_STARTS) else style
                s = f' s="{cell_style}"' if cell_style else ""
                cells.append(f'<c r="{ref}" t="inlineStr"{s}><is><t xml:space="preserve">{text}</t></is></c>')
            elif isinstance(value, Decimal):
                cells.append(f'<c r="{ref}" s="{STYLE_POINTS}"><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{int(value)}</v></c>')
        self._write(f'<row r="{number}">{"".join(cells)}</row>')
        return number

    def merge(self, first_row: int, first_column: int, last_row: int, last_column: int) -> None:
        letters = self._letters
        self._merges.append(f"{letters[first_column - 1]}{first_row}:{letters[last_column - 1]}{last_row}")

    def close(self) -> None:
        merges = "".join(f'<mergeCell ref="{ref}"/>' for ref in self._merges)
        self._write("</sheetData>" + (f'<mergeCells count="{len(self._merges)}">{merges}</mergeCells>' if merges else "")
                    + '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
                    '<pageSetup paperSize="9" orientation="landscape" fitToHeight="0"/></worksheet>')
        self._flush()
        self._part.close()
        self._zip.close()


def _year_columns(*, superior, year: int) -> tuple[list[tuple[str, str]], dict[int, int]]:
    """
    The leaf criteria of the sets used by the superior's clusters in ``year``,
    matched by code across sets, in code order: [(code, title)] and the column
    index of each criterion id. One query.
    """
    criteria = (
        Criterion.objects.filter(
            criteria_set__cluster_years__cluster_year__year=year,
            criteria_set__cluster_years__cluster_year__cluster__superior=superior,
        )
        .exclude(kind=Criterion.Kind.GROUP)
        .values_list("pk", "code", "title", "sort_key")
        .distinct()
        .order_by("sort_key", "pk")
    )
    columns: dict[str, int] = {}
    heads, index = [], {}
    for pk, code, title, _key in criteria:
        if code not in columns:
            columns[code] = len(heads)
            heads.append((code, title))
        index[pk] = columns[code]
    return heads, index


def command_summary_xlsx(*, superior, year: int):
    """
    The score summary of every member unit of the superior's clusters in
    ``year`` as an .xlsx in a temporary file (returned open, at its start, for
    a ``FileResponse``). Row 1 the title, rows 2-3 the header (each criterion's
    code and title over its Tự chấm / Thẩm định columns), then per cluster (by
    name) its ranked units in rank order and the members not ranked by name:
    STT, Cụm thi đua, Đơn vị, the points, Tổng điểm, Hạng trong cụm, Xếp loại
    and Kết quả (Chính thức once the scoring is closed, else Tạm thời).
    Memory stays bounded: the scores come through a server-side cursor in
    cluster order and the file is written as they come, one cluster held at a
    time. Eight queries whatever the numbers of units and criteria.
    """
    heads, column_of = _year_columns(superior=superior, year=year)
    years = list(
        ClusterYear.objects.filter(year=year, cluster__superior=superior)
        .order_by("cluster__name", "pk")
        .values_list("pk", "cluster__name")
    )
    lines = {line.unit_id: line for line in year_lines(superior=superior, year=year, cluster_years=[y for y, _ in years])}
    members: dict[int, list[tuple[int, str]]] = {}
    for cy, unit_id, name in (
        Membership.objects.filter(cluster_year__year=year, cluster_year__cluster__superior=superior)
        .order_by("unit__name", "unit_id")
        .values_list("cluster_year_id", "unit_id", "unit__name")
    ):
        members.setdefault(cy, []).append((unit_id, name))
    raw = {name: ExpressionWrapper(F(name), output_field=BigIntegerField()) for name in ("self_points", "official_points")}
    scores = (  # points as the stored integer hundredths: no Decimal for each of the 600,000 values
        Score.objects.filter(sheet__cluster_year__year=year, sheet__cluster_year__cluster__superior=superior)
        .annotate(self_raw=raw["self_points"], official_raw=raw["official_points"])
        .order_by("sheet__cluster_year__cluster__name", "sheet__cluster_year_id")
        .values_list("sheet__cluster_year_id", "sheet__unit_id", "criterion_id", "self_raw", "official_raw")
        .iterator(chunk_size=SCORE_CHUNK)
    )

    n = len(heads)
    file = tempfile.TemporaryFile()
    book = StreamedWorkbook(
        file, title="Tổng hợp điểm", widths=[6, 24, 30, *[11] * (2 * n), 11, 9, 11, 11], frozen=(3, 3)
    )
    book.row([COMMAND_SUMMARY_TITLE.format(year=year, superior=superior.name)], style=STYLE_TITLE)
    top = book.row([*COMMAND_HEAD_BEFORE, *[value for code, title in heads for value in (f"{code}. {title}", None)],
                    *COMMAND_HEAD_AFTER], style=STYLE_HEADER)
    sub = book.row([None] * 3 + [SELF, OFFICIAL] * n, style=STYLE_HEADER)
    after = 4 + 2 * n
    for column in [1, 2, 3, *range(after, after + len(COMMAND_HEAD_AFTER))]:
        book.merge(top, column, sub, column)
    for index in range(n):
        book.merge(top, 4 + 2 * index, top, 5 + 2 * index)

    number, blank, columns, with_total = 0, [None] * (2 * n), range(3, 3 + 2 * n), range(3, 4 + 2 * n)
    pending = next(scores, None)
    for cy, cluster_name in years:
        points: dict[int, list] = {}
        while pending is not None and pending[0] == cy:
            _cy, unit_id, criterion_id, self_points, official_points = pending
            column = column_of.get(criterion_id)
            if column is not None:
                cells = points.setdefault(unit_id, [None] * (2 * n))
                cells[2 * column], cells[2 * column + 1] = self_points, official_points
            pending = next(scores, None)
        ranked = sorted(  # members are listed by name: a stable sort keeps that order within a rank
            ((lines[unit_id], name) for unit_id, name in members.get(cy, []) if unit_id in lines),
            key=lambda item: item[0].rank,
        )
        rest = [(unit_id, name) for unit_id, name in members.get(cy, []) if unit_id not in lines]
        for line, name in ranked:
            number += 1
            book.row([number, cluster_name, name, *points.get(line.unit_id, blank), line.hundredths,
                      f"{line.rank}=" if line.tied else str(line.rank), BAND_LABELS.get(line.band, ""),
                      FINAL_SHORT if line.is_final else PROVISIONAL_SHORT], hundredths=with_total)
        for unit_id, name in rest:
            number += 1
            book.row([number, cluster_name, name, *points.get(unit_id, blank)], hundredths=columns)
    book.close()
    file.seek(0)
    return file
