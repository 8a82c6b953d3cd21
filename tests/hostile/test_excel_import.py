"""
Hostile Excel files sent to the sheet import (``scoring:sheet-import``):
random bytes, truncated files, a zip bomb, a file above the size limit, and
the real template with its cells, sheets and metadata tampered with (formulas,
text, NaN, infinities, huge and negative numbers, dates and booleans in the
points; unknown and duplicated codes; another unit's metadata). See helpers.py
for the property.
"""

import datetime
import functools
import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from scoring import excel
from scoring.models import Score

from .helpers import ANY_CHAR, hostile, hostile_text, number_text
from .test_scoring_forms import sheets  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@functools.cache
def zip_bomb() -> bytes:
    """A small zip declaring a 60 MB part: above the unpacked limit, a few dozen KB sent."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    return buffer.getvalue()


@functools.cache
def too_large() -> bytes:
    return b"PK\x03\x04" + b"\0" * (excel.MAX_UPLOAD_BYTES + 1)


def _meta_values_as(content: bytes, number: str) -> bytes:
    """The template with every number of its hidden "_meta" sheet replaced in the XML (e.g. by 1E999)."""
    source, buffer = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = re.sub(rb"<v>\d+</v>", b"<v>" + number.encode() + b"</v>", data)
            target.writestr(info, data)
    return buffer.getvalue()


cell_value = st.one_of(
    number_text,
    hostile_text.map(lambda text: ILLEGAL_CHARACTERS_RE.sub("", text)),
    st.sampled_from(["=1+1", "=A1", "=SUM(E7:E20)", '=HYPERLINK("http://x","y")', "+5", "-5", "@5", "=1/0"]),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-100, max_value=100),
    st.booleans(),
    st.datetimes(min_value=datetime.datetime(1900, 3, 1), max_value=datetime.datetime(9999, 1, 1)),
    st.none(),
)


@st.composite
def tampered(draw, template: bytes, codes: list[str], other_unit: int) -> bytes:
    """The template loaded with openpyxl, changed by a few drawn edits, saved again."""
    workbook = load_workbook(io.BytesIO(template))
    table, meta = workbook.worksheets[0], workbook["_meta"]
    last = excel.FIRST_ROW + len(codes) + 3
    for _ in range(draw(st.integers(0, 6))):
        edit = draw(st.sampled_from(["points", "points", "note", "code", "duplicate", "header", "meta", "sheets"]))
        row = draw(st.integers(excel.FIRST_ROW - 1, last))
        if edit == "points":
            table.cell(row=row, column=excel.POINTS_COLUMN, value=draw(cell_value))
        elif edit == "note":
            table.cell(row=row, column=excel.NOTE_COLUMN, value=draw(cell_value))
        elif edit == "code":
            table.cell(row=row, column=1, value=draw(st.sampled_from(codes) | cell_value))
        elif edit == "duplicate":
            for column in range(1, len(excel.COLUMNS) + 1):
                table.cell(row=last + 1, column=column, value=table.cell(row=row, column=column).value)
        elif edit == "header":
            table.cell(row=excel.TABLE_HEADER_ROW, column=draw(st.integers(1, 7)), value=draw(cell_value))
        elif edit == "meta":
            key_row = draw(st.integers(1, 10))
            value = draw(st.sampled_from([other_unit, 0, -1, "", "x", 10**30, 1.5, None]) | cell_value)
            meta.cell(row=key_row, column=draw(st.sampled_from([1, 2, 2, 2])), value=value)
        elif edit == "sheets":
            action = draw(st.sampled_from(["drop meta", "rename meta", "rename table", "swap", "extra first"]))
            if action == "drop meta":
                workbook.remove(meta)
                meta = workbook.create_sheet("meta-removed")
            elif action == "rename meta":
                meta.title = draw(st.sampled_from(["_META", "meta", "_meta "]))
            elif action == "rename table":
                table.title = draw(st.text(ANY_CHAR.filter(lambda c: c not in "[]:*?/\\'") , min_size=1, max_size=20)
                                   .map(lambda t: ILLEGAL_CHARACTERS_RE.sub("", t) or "x"))
            elif action == "swap":
                workbook.move_sheet(meta, offset=-1)
            else:
                workbook.create_sheet("Sheet0", 0)["A1"] = "=1+1"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def uploads(template: bytes, codes: list[str], other_unit: int) -> st.SearchStrategy:
    return st.one_of(
        tampered(template, codes, other_unit),
        tampered(template, codes, other_unit),
        tampered(template, codes, other_unit),
        st.binary(max_size=300),
        st.integers(0, len(template) - 1).map(lambda n: template[:n]),
        st.just(zip_bomb()),
        st.just(too_large()),
        st.sampled_from(["1E999", "-1", "1.5", "99999999999999999999"]).map(lambda n: _meta_values_as(template, n)),
    )


@hostile(examples=40)
@given(data=st.data())
def test_excel_import_answers_and_writes_all_or_nothing(sheets, example, data):
    w = sheets
    # Made once: the file's dates change its compressed length, and the strategies must not change between examples.
    if not hasattr(w, "template"):
        w.template = excel.export_sheet(cluster_year=w.y6, unit=w.units["B"])
    template = w.template
    codes = [c.code for c in w.criteria_set.criteria.all()]
    content = data.draw(uploads(template, codes, w.units["C"].pk), label="file")
    name = data.draw(st.sampled_from(["phieu.xlsx", "phieu.xls", "phieu.csv", "../../phieu.xlsx", "phiếu.xlsx"]))
    version = data.draw(st.sampled_from([str(w.sheet_b.version)] * 4 + ["0", "-1", "x", ""]), label="version")
    with example.run("excel import", "staff_b"):
        response = example.client.post(
            reverse("scoring:sheet-import", args=[w.y6.pk, w.units["B"].pk]),
            {"version": version, "file": SimpleUploadedFile(name, content)},
        )
        if example.check(response) == "accepted":
            rows = load_workbook(io.BytesIO(content), read_only=True).worksheets[0].iter_rows(
                min_row=excel.FIRST_ROW, values_only=True)
            typed = {str(row[0]).strip(): row[excel.POINTS_COLUMN - 1] for row in rows if row and row[0] is not None}
            for score in Score.objects.filter(sheet=w.sheet_b).select_related("criterion"):
                value = typed[score.criterion.code]
                assert score.self_points == (None if value in (None, "") or str(value).strip() == ""
                                             else excel.validate_points(score.criterion, value))
