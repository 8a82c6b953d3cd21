"""
Excel round-trip of a unit's score sheet: download a pre-filled template,
fill the points offline, upload it back.

The file
- A visible worksheet "Phiếu tự chấm điểm": a header block (cluster, year,
  unit) and a table Mã | Nội dung tiêu chí | Loại | Điểm tối đa | Điểm tự chấm
  | Ghi chú, one row per criterion in code order. Groups are bold rows
  without points. Only the points and note cells are unlocked; the sheet is
  protected without a password, against accidents rather than intent.
- A hidden worksheet "_meta": the cluster year, unit and criteria set the file
  was made for, and a fingerprint of the criteria (sha256 of the ordered
  (code, kind, max) rows), so an upload made on another version is refused.
- Every text cell is written as a string with Excel's quote prefix, so a title
  or a note such as "=HYPERLINK(…)" is never a formula, not even after the
  user edits the cell.

The upload
- Refused as a whole, with one ValidationError listing every problem (rows
  named by their Excel row number), and nothing written: a file that is not a
  readable .xlsx or is larger than 5 MB; a file without its "_meta" sheet, or
  made for another unit or cluster year, or on other criteria (then the rows
  are not examined: they would be checked against the wrong criteria); unknown,
  duplicated or missing codes; points on a group; points that are not numbers,
  have more than 2 decimal places, are negative or above the maximum.
- Points may be number cells or text with a comma decimal mark ("12,5"); a
  float is read through its shortest repr, so 12.345 is refused rather than
  rounded. Formulas are read as their text, hence refused as points.
- ``read_upload`` only reads: the entries go to ``services.save_self_assessment``,
  which applies the rules of the sheet (open or closed, version, trail).
"""

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, Protection
from openpyxl.utils import get_column_letter
from openpyxl.workbook.protection import WorkbookProtection

from clusters.models import ClusterYear, Unit

from . import selectors, services
from .models import CriteriaSet, Criterion, Score
from .validators import validate_points

NOT_XLSX = _("This is not an Excel (.xlsx) file, or the file is damaged.")
TOO_LARGE = _("The file is larger than %(limit)s MB.")
NO_META = _("This file is not a score sheet downloaded from this site; download the template and fill it in.")
LAYOUT_CHANGED = _("The layout of the sheet was changed; download a new template.")
OTHER_UNIT = _("This file is for %(file_unit)s, not %(unit)s.")
OTHER_YEAR = _("This file is for %(file_year)s, not %(year)s.")
OTHER_CLUSTER_YEAR = _("This file is for %(file_cluster_year)s, not %(cluster_year)s.")
CRITERIA_CHANGED = _("The criteria changed since this file was downloaded; download a new template.")
NO_CODE = _("Row %(row)s: points or a note without a criterion code.")
UNKNOWN_CODE = _("Row %(row)s: there is no criterion %(code)s.")
DUPLICATE_CODE = _("Row %(row)s: criterion %(code)s is already on row %(first)s.")
GROUP_FILLED = _("Row %(row)s: %(code)s is a group; enter points and notes on its criteria.")
NOT_A_NUMBER = _('Row %(row)s: the points "%(value)s" are not a number.')
ROW_PROBLEM = _("Row %(row)s: %(message)s")
MISSING_CODES = _("Criteria missing from the file: %(codes)s.")

MAX_UPLOAD_MB = 5
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
# A 5 MB zip can unpack to gigabytes; a real sheet unpacks to well under a megabyte.
MAX_UNPACKED_BYTES = 10 * MAX_UPLOAD_BYTES

FORMAT_VERSION = 1
SHEET_TITLE = "Phiếu tự chấm điểm"
META_TITLE = "_meta"
HEADER_LABELS = ("Cụm thi đua", "Năm", "Đơn vị")
COLUMNS = ("Mã", "Nội dung tiêu chí", "Loại", "Điểm tối đa", "Điểm tự chấm", "Ghi chú")
COLUMN_WIDTHS = (10, 60, 12, 12, 14, 45)
POINTS_COLUMN, NOTE_COLUMN = 5, 6
TABLE_HEADER_ROW = 6
FIRST_ROW = TABLE_HEADER_ROW + 1
POINTS_FORMAT = "0.00"
# Excel reads a typed value starting with these as a formula (or a DDE payload).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# --- export --------------------------------------------------------------------------------------


def export_sheet(*, cluster_year: ClusterYear, unit: Unit) -> bytes:
    """The unit's sheet as an .xlsx template, with its current points and notes (blank if no sheet yet)."""
    criteria_set = _criteria_set_of(cluster_year)
    criteria = _ordered_criteria(criteria_set)
    current = Score.objects.filter(sheet__cluster_year=cluster_year, sheet__unit=unit)
    scores = {score.criterion_id: score for score in current}
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    _write_header(sheet, cluster_year, unit)
    _write_table(sheet, criteria, scores)
    meta = workbook.create_sheet(META_TITLE)
    _write_meta(meta, cluster_year, unit, criteria_set, criteria)
    # Structure locked too: the upload needs "_meta" kept, hidden and unrenamed.
    workbook.security = WorkbookProtection(lockStructure=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _criteria_set_of(cluster_year: ClusterYear) -> CriteriaSet:
    criteria_set = selectors.criteria_set_of(cluster_year)
    if criteria_set is None:
        raise ValidationError(services.NO_CRITERIA_SET, code="no_criteria_set")
    return criteria_set


def _ordered_criteria(criteria_set: CriteriaSet) -> list[Criterion]:
    return list(criteria_set.criteria.order_by("sort_key"))


def _fingerprint(criteria: list[Criterion]) -> str:
    """Changes whenever a code, kind or maximum does; titles may be reworded freely."""
    rows = [[c.code, c.kind, None if c.max_points is None else str(c.max_points)] for c in criteria]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def _put(sheet, row: int, column: int, value):
    """Write a value; text always as a string (never a formula), quote-prefixed when it looks like one."""
    if isinstance(value, str):
        # Control characters (a note pasted from elsewhere, a name typed in the admin) are not
        # allowed in the file's XML: openpyxl refuses the cell, so they are dropped.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        # The prefix keeps it text when the user edits the cell and Excel parses the input again.
        cell.quotePrefix = value.startswith(FORMULA_STARTS)
    return cell


def _write_header(sheet, cluster_year: ClusterYear, unit: Unit) -> None:
    _put(sheet, 1, 1, SHEET_TITLE.upper()).font = Font(bold=True, size=14)
    values = (cluster_year.cluster.name, cluster_year.year, unit.name)
    for row, (label, value) in enumerate(zip(HEADER_LABELS, values, strict=True), start=2):
        _put(sheet, row, 1, label).font = Font(bold=True)
        _put(sheet, row, 2, value).alignment = Alignment(horizontal="left")


def _write_table(sheet, criteria: list[Criterion], scores: dict[int, Score]) -> None:
    for column, (title, width) in enumerate(zip(COLUMNS, COLUMN_WIDTHS, strict=True), start=1):
        _put(sheet, TABLE_HEADER_ROW, column, title).font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(column)].width = width
    for row, criterion in enumerate(criteria, start=FIRST_ROW):
        _write_criterion(sheet, row, criterion, scores.get(criterion.pk))
    sheet.freeze_panes = sheet.cell(row=FIRST_ROW, column=1)
    sheet.protection.sheet = True


def _write_criterion(sheet, row: int, criterion: Criterion, score: Score | None) -> None:
    kind = str(Criterion.Kind(criterion.kind).label)
    values = (criterion.code, criterion.title, kind, criterion.max_points)
    cells = [_put(sheet, row, column, value) for column, value in enumerate(values, start=1)]
    cells[1].alignment = Alignment(wrap_text=True, vertical="top")
    cells[3].number_format = POINTS_FORMAT
    if criterion.is_group:
        for cell in cells:
            cell.font = Font(bold=True)
        return
    points = _put(sheet, row, POINTS_COLUMN, score.self_points if score else None)
    points.number_format = POINTS_FORMAT
    note = _put(sheet, row, NOTE_COLUMN, (score.note or None) if score else None)
    note.alignment = Alignment(wrap_text=True, vertical="top")
    for cell in (points, note):
        cell.protection = Protection(locked=False)


def _write_meta(
    sheet, cluster_year: ClusterYear, unit: Unit, criteria_set: CriteriaSet, criteria: list[Criterion]
) -> None:
    rows = {
        "format": FORMAT_VERSION,
        "cluster_year": cluster_year.pk,
        "cluster": cluster_year.cluster_id,
        "cluster_year_name": str(cluster_year),
        "year": cluster_year.year,
        "unit": unit.pk,
        "unit_name": unit.name,
        "criteria_set": criteria_set.pk,
        "fingerprint": _fingerprint(criteria),
    }
    for row, (key, value) in enumerate(rows.items(), start=1):
        _put(sheet, row, 1, key)
        _put(sheet, row, 2, value)
    sheet.sheet_state = "hidden"
    sheet.protection.sheet = True


# --- upload --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    """One table row of the upload, as plain values."""

    number: int
    code: str
    points: object
    note: str

    @property
    def is_blank(self) -> bool:
        return _is_blank(self.points) and not self.note


@dataclass(frozen=True)
class _Upload:
    meta: dict[str, object] | None
    header: tuple
    lines: list[_Line]


def read_upload(*, file, cluster_year: ClusterYear, unit: Unit) -> dict[int, services.Entry]:
    """
    Entries keyed by criterion id for every leaf criterion, ready for
    ``services.save_self_assessment``; one ValidationError listing every problem otherwise.
    """
    criteria = _ordered_criteria(_criteria_set_of(cluster_year))
    upload = _load(_read_limited(file))
    _check_identity(upload, cluster_year, unit, criteria)
    entries, errors = _read_lines(upload.lines, criteria)
    if errors:
        raise ValidationError(errors)
    return entries


def _read_limited(file) -> bytes:
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(TOO_LARGE, code="too_large", params={"limit": MAX_UPLOAD_MB})
    return data


def _load(data: bytes) -> _Upload:
    """Everything the checks need, as plain values; the workbook is closed before any check runs."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise ValidationError(TOO_LARGE, code="too_large", params={"limit": MAX_UPLOAD_MB})
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        try:
            return _extract(workbook)
        finally:
            workbook.close()
    except ValidationError:
        raise
    # openpyxl fails on malformed input in many ways (zip, XML, KeyError on a missing part…);
    # to the user each of them means the same thing.
    except Exception:
        raise ValidationError(NOT_XLSX, code="not_xlsx") from None


def _extract(workbook) -> _Upload:
    meta = None
    if META_TITLE in workbook.sheetnames:
        rows = workbook[META_TITLE].iter_rows(max_col=2, values_only=True)
        meta = {str(key): value for key, value in rows}
    tables = [ws for ws in workbook.worksheets if ws.title != META_TITLE]
    if not tables:
        return _Upload(meta, (), [])
    rows = tables[0].iter_rows(min_row=TABLE_HEADER_ROW, max_col=len(COLUMNS), values_only=True)
    header = next(rows, ())
    lines = (
        _Line(number, _text(row[0]), row[POINTS_COLUMN - 1], _text(row[NOTE_COLUMN - 1]))
        for number, row in enumerate(rows, start=FIRST_ROW)
    )
    # Formatting can stretch a sheet over many empty rows; only rows with content are kept.
    return _Upload(meta, tuple(header), [line for line in lines if line.code or not line.is_blank])


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _meta_int(meta: dict, key: str) -> int | None:
    try:
        return int(meta[key])
    except (KeyError, TypeError, ValueError, OverflowError):  # OverflowError: a cell reading 1E999 is inf
        return None


def _check_identity(
    upload: _Upload, cluster_year: ClusterYear, unit: Unit, criteria: list[Criterion]
) -> None:
    """Refuse a file made for another unit, cluster year or version of the criteria."""
    meta = upload.meta or {}
    keys = ("format", "cluster_year", "cluster", "year", "unit", "criteria_set")
    if any(_meta_int(meta, key) is None for key in keys) or not meta.get("fingerprint"):
        raise ValidationError(NO_META, code="no_meta")
    if _meta_int(meta, "format") != FORMAT_VERSION or upload.header != COLUMNS:
        raise ValidationError(LAYOUT_CHANGED, code="layout_changed")
    errors = []
    if _meta_int(meta, "unit") != unit.pk:
        params = {"file_unit": meta.get("unit_name"), "unit": unit.name}
        errors.append(ValidationError(OTHER_UNIT, code="other_unit", params=params))
    if _meta_int(meta, "cluster_year") != cluster_year.pk:
        errors.append(_other_cluster_year(meta, cluster_year))
    elif meta["fingerprint"] != _fingerprint(criteria):
        errors.append(ValidationError(CRITERIA_CHANGED, code="criteria_changed"))
    if errors:
        raise ValidationError(errors)


def _other_cluster_year(meta: dict, cluster_year: ClusterYear) -> ValidationError:
    # Same cluster: the year is what the user got wrong, so name only the years.
    if _meta_int(meta, "cluster") == cluster_year.cluster_id:
        params = {"file_year": _meta_int(meta, "year"), "year": cluster_year.year}
        return ValidationError(OTHER_YEAR, code="other_year", params=params)
    params = {"file_cluster_year": meta.get("cluster_year_name"), "cluster_year": str(cluster_year)}
    return ValidationError(OTHER_CLUSTER_YEAR, code="other_cluster_year", params=params)


def _read_lines(lines: list[_Line], criteria: list[Criterion]) -> tuple[dict[int, services.Entry], list]:
    by_code = {c.code: c for c in criteria}
    first_row: dict[str, int] = {}
    entries: dict[int, services.Entry] = {}
    errors: list[ValidationError] = []
    for line in lines:
        criterion = _criterion_of(line, by_code, first_row, errors)
        if criterion is None or criterion.is_group:
            continue
        try:
            points = _points(line, criterion)
        except ValidationError as error:
            errors.append(error)
            continue
        entries[criterion.pk] = services.Entry(points=points, note=line.note)
    missing = [c.code for c in criteria if not c.is_group and c.code not in first_row]
    if missing:
        params = {"codes": ", ".join(missing)}
        errors.append(ValidationError(MISSING_CODES, code="missing_codes", params=params))
    return entries, errors


def _criterion_of(line: _Line, by_code: dict, first_row: dict, errors: list) -> Criterion | None:
    """The line's criterion, or None (a blank row, or a problem added to ``errors``)."""
    params = {"row": line.number, "code": line.code}
    if not line.code:
        if not line.is_blank:
            errors.append(ValidationError(NO_CODE, code="no_code", params=params))
        return None
    criterion = by_code.get(line.code)
    if criterion is None:
        errors.append(ValidationError(UNKNOWN_CODE, code="unknown_code", params=params))
        return None
    if line.code in first_row:
        params["first"] = first_row[line.code]
        errors.append(ValidationError(DUPLICATE_CODE, code="duplicate_code", params=params))
        return None
    first_row[line.code] = line.number
    if criterion.is_group and not line.is_blank:
        errors.append(ValidationError(GROUP_FILLED, code="group_filled", params=params))
    return criterion


def _points(line: _Line, criterion: Criterion) -> Decimal | None:
    """The line's points checked against the criterion; a ValidationError naming the row otherwise."""
    if _is_blank(line.points):
        return None
    if not _is_number(line.points):
        params = {"row": line.number, "value": line.points}
        raise ValidationError(NOT_A_NUMBER, code="not_a_number", params=params)
    try:
        return validate_points(criterion, line.points)
    except ValidationError as error:
        params = {"row": line.number, "message": error.messages[0]}
        raise ValidationError(ROW_PROBLEM, code=error.code, params=params) from None


def _is_number(value) -> bool:
    """A number cell, or text that reads as one with either decimal mark; never a bool or a date."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | Decimal):
        return Decimal(repr(value) if isinstance(value, float) else value).is_finite()
    if not isinstance(value, str):
        return False
    try:
        return Decimal(value.strip().replace(",", ".")).is_finite()
    except InvalidOperation:
        return False
