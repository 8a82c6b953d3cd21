"""
Files in and out: evidence uploads (type and size limits, names sanitised,
stored in the private storage, served only as attachments that browsers do not
sniff) and the spreadsheets the site exports, whose text never runs as a
formula whatever the names, titles and notes hold.
"""

import csv
import io
import re
import zipfile

import pytest
from django.conf import settings
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from clusters.models import Cluster, ClusterYear, Unit
from scoring.excel import FORMULA_STARTS
from scoring.models import Criterion, Evidence, PrivateStorage, Score
from tests.factories import attach, make_criteria_set
from tests.scoring.test_ranking import approved

from .helpers import ANY_CHAR, file_content, file_name, hostile, hostile_text, multipart
from .test_scoring_forms import LEAVES, VALID, _assert_stored_safely, sheets  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


GOOD_NAMES = st.sampled_from(["bien-ban.pdf", "Ảnh hiện trường.JPG", "Báo cáo tổng kết.docx", "bang.xlsx"])
GOOD_CONTENT = st.binary(min_size=1, max_size=100)


@hostile(examples=30)
@given(files=st.lists(st.tuples(st.sampled_from(LEAVES), file_name | GOOD_NAMES, file_content | GOOD_CONTENT),
                      min_size=1, max_size=2))
def test_evidence_upload_is_checked_stored_privately_and_served_as_attachment(sheets, example, files):
    w = sheets
    fields = {"version": str(w.sheet_b.version), "save": "1", **{f"points_{w.ids[c]}": VALID[c] for c in LEAVES}}
    sent = [(f"files_{w.ids[code]}", name, content) for code, name, content in files]
    known = set(Evidence.objects.values_list("pk", flat=True))
    with example.run("evidence upload", "staff_b"):
        body, content_type = multipart(fields, sent)
        response = example.client.post(reverse("scoring:sheet", args=[w.y6.pk, w.units["B"].pk]), body,
                                       content_type=content_type)
        if example.check(response) == "refused":
            return
        for evidence in Evidence.objects.exclude(pk__in=known):
            _assert_stored_safely(evidence, example.media_root)
            assert 0 < evidence.size <= settings.EVIDENCE_MAX_MB * 1024 * 1024
            download = example.client.get(reverse("scoring:evidence-download", args=[evidence.pk]))
            assert download.status_code == 200
            assert download["Content-Disposition"].startswith("attachment;")
            assert download["X-Content-Type-Options"] == "nosniff"
            assert b"".join(download.streaming_content) in [content for _f, _n, content in sent]


def test_evidence_lives_outside_the_static_files_and_has_no_url():
    storage = PrivateStorage()
    location = (settings.BASE_DIR / storage.location).resolve()
    for static in [settings.STATIC_ROOT, *settings.STATICFILES_DIRS]:
        assert not location.is_relative_to((settings.BASE_DIR / static).resolve())
    assert location == (settings.BASE_DIR / settings.MEDIA_ROOT).resolve()
    with pytest.raises(NotImplementedError):
        storage.url("evidence/1/1/x.pdf")
    with pytest.raises(NotImplementedError):
        Evidence._meta.get_field("file").storage.url("evidence/1/1/x.pdf")


def test_evidence_of_the_limit_size_is_taken_and_one_byte_more_refused(sheets, example):
    w = sheets
    fields = {"version": str(w.sheet_b.version), "save": "1"}
    limit = settings.EVIDENCE_MAX_MB * 1024 * 1024
    for size, expected in ((limit, "accepted"), (limit + 1, "refused")):
        with example.run("evidence size", "staff_b"):
            body, content_type = multipart(fields, [(f"files_{w.ids['2.1']}", "bien-ban.pdf", b"x" * size)])
            response = example.client.post(reverse("scoring:sheet", args=[w.y6.pk, w.units["B"].pk]), body,
                                           content_type=content_type)
            assert example.check(response) == expected


# --- exports: no formula, whatever the text ------------------------------------------------------

# Text an officer or a unit can store: anything but NUL (refused by the forms, and by PostgreSQL).
stored_text = hostile_text.map(lambda text: text.replace("\x00", "")[:200]).filter(lambda text: text.strip())
formula_like = st.builds(lambda start, rest: start + rest, st.sampled_from(["=", "+", "-", "@", "\t", "\r", "=="]),
                         st.text(ANY_CHAR.filter(lambda c: c != "\x00"), max_size=20))


def _xlsx_text_cells(content: bytes) -> list:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name
    workbook = load_workbook(io.BytesIO(content))
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row
            if isinstance(cell.value, str)]


def _assert_xlsx_inert(content: bytes) -> None:
    for cell in _xlsx_text_cells(content):
        assert cell.data_type in ("s", "inlineStr")
        if cell.value.startswith(FORMULA_STARTS):
            assert cell.quotePrefix, (cell.coordinate, cell.value)


def _assert_csv_inert(content: bytes) -> None:
    for row in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")):
        for cell in row:
            # Numbers are written as they are ("-2" places); any text starting like a formula is quoted.
            assert not cell.startswith(FORMULA_STARTS) or re.fullmatch(r"[+-]\d+(\.\d+)?", cell), cell


@pytest.fixture
def provisional(world, private_media):
    """Cụm 6 2024 in review, every sheet approved (A 90, B 80, C 70): a provisional ranking."""
    world.criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, world.criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="review")
    world.y6.refresh_from_db()
    for name, points in (("A", {"1.1": "40", "2.1": "40", "1.2": "10"}), ("B", {"1.1": "40", "2.1": "40"}),
                         ("C", {"1.1": "30", "2.1": "40"})):
        approved(world, world.units[name], points)
    return world


@hostile(examples=20)
@given(unit=stored_text | formula_like, title=stored_text | formula_like, note=stored_text | formula_like,
       cluster=stored_text | formula_like)
def test_exports_never_hold_a_formula(provisional, example, unit, title, note, cluster):
    w = provisional
    with example.run("exports", "officer_a"):
        Unit.objects.filter(pk=w.units["B"].pk).update(name=unit[:200])
        Cluster.objects.filter(pk=w.c6.pk).update(name=cluster[:200])
        Criterion.objects.filter(criteria_set=w.criteria_set, code="1.1").update(title=title[:500])
        Score.objects.filter(sheet__unit=w.units["B"]).update(note=note)
        for document in ("ranking", "summary"):
            for fmt in ("xlsx", "csv"):
                response = example.client.get(reverse("scoring:results-export", args=[w.y6.pk, document, fmt]))
                assert response.status_code == 200
                assert response["Content-Disposition"].startswith("attachment;")
                (_assert_xlsx_inert if fmt == "xlsx" else _assert_csv_inert)(response.content)
        response = example.client.get(reverse("scoring:sheet-export", args=[w.y6.pk, w.units["B"].pk]))
        assert response.status_code == 200
        _assert_xlsx_inert(response.content)
