"""
One plain example for each bug the hostile-input properties found, so each
stays covered whatever examples hypothesis draws.
"""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from awards import awarding
from awards.models import Decision, Vote
from clusters.models import Unit
from scoring import excel
from scoring.fields import to_points
from scoring.models import Score

from .helpers import feedback
from .test_awards_forms import NOW, closed_year, deciding  # noqa: F401  (fixtures)
from .test_excel_import import _meta_values_as
from .test_scoring_forms import closed, sheets  # noqa: F401  (fixtures)
from .test_uploads_exports import provisional  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text", ["1e30", "1E27", "-1e30", "9" * 30])
def test_a_huge_number_is_refused_as_too_large(text):
    with pytest.raises(ValidationError) as refused:
        to_points(text)
    assert refused.value.messages == [_("This number is too large.")]


def test_points_typed_as_1e30_are_refused_next_to_the_field(sheets, example):
    w = sheets
    with example.run("regression", "staff_b"):
        response = example.client.post(reverse("scoring:sheet", args=[w.y6.pk, w.units["B"].pk]),
                                       {"version": w.sheet_b.version, f"points_{w.ids['1.1']}": "1e30", "save": "1"})
        assert response.status_code == 200
        assert response.context["form"].errors == {f"points_{w.ids['1.1']}": [_("This number is too large.")]}


def test_official_points_typed_as_1e30_are_refused_next_to_the_field(sheets, example):
    w = sheets
    with example.run("regression", "officer_a"):
        response = example.client.post(reverse("scoring:sheet-review", args=[w.y6.pk, w.units["C"].pk]),
                                       {"version": w.sheet_c.version, "action": "save",
                                        f"official_{w.ids['1.1']}": "1E27"})
        assert response.context["form"].errors == {f"official_{w.ids['1.1']}": [_("This number is too large.")]}


def test_an_amendment_of_1e30_points_is_refused_next_to_the_field(closed, example):
    w = closed
    with example.run("regression", "officer_a"):
        response = example.client.post(reverse("scoring:sheet-amend", args=[w.y6.pk, w.units["B"].pk]),
                                       {"criterion": w.ids["1.1"], "points": "1e30", "reason": "Sai sót"})
        assert response.context["form"].errors == {"points": [_("This number is too large.")]}


def test_an_excel_cell_of_1e30_points_is_refused_with_its_row(sheets, example):
    w = sheets
    workbook = load_workbook(io.BytesIO(excel.export_sheet(cluster_year=w.y6, unit=w.units["B"])))
    workbook.worksheets[0].cell(row=excel.FIRST_ROW + 1, column=excel.POINTS_COLUMN, value="1e30")
    buffer = io.BytesIO()
    workbook.save(buffer)
    with example.run("regression", "staff_b"):
        response = example.client.post(reverse("scoring:sheet-import", args=[w.y6.pk, w.units["B"].pk]),
                                       {"version": w.sheet_b.version, "file": SimpleUploadedFile("p.xlsx",
                                                                                                 buffer.getvalue())})
        row = excel.FIRST_ROW + 1
        assert response.context["upload_errors"] == [
            _("Row %(row)s: %(message)s") % {"row": row, "message": _("This number is too large.")}]


@pytest.mark.parametrize("action", ["delete", "accept:²", "accept:x", "accept:"])
def test_an_unknown_review_action_is_refused_next_to_the_field(sheets, example, action):
    w = sheets
    with example.run("regression", "officer_a"):
        response = example.client.post(reverse("scoring:sheet-review", args=[w.y6.pk, w.units["C"].pk]),
                                       {"version": w.sheet_c.version, "action": action})
        assert response.status_code == 200
        assert response.context["form"].errors == {"action": [_("Unknown action.")]}


def test_an_excel_file_whose_metadata_reads_as_infinity_is_not_a_score_sheet(sheets, example):
    w = sheets
    content = _meta_values_as(excel.export_sheet(cluster_year=w.y6, unit=w.units["B"]), "1E999")
    with example.run("regression", "staff_b"):
        response = example.client.post(reverse("scoring:sheet-import", args=[w.y6.pk, w.units["B"].pk]),
                                       {"version": w.sheet_b.version, "file": SimpleUploadedFile("p.xlsx", content)})
        assert response.context["upload_errors"] == [str(excel.NO_META)]


def test_a_present_unit_id_beyond_64_bits_is_refused_with_a_message(closed_year, example):
    w = closed_year
    with example.run("regression", "officer_a"):
        response = example.client.post(reverse("awards:vote-prepare", args=[w.y6.pk]),
                                       {"mode": "electronic", "present": [str(2**63)]})
        assert response.status_code == 302
        assert [level for level, _text in feedback(response)[1]] == [40]
        assert Vote.objects.count() == 0


def test_a_proposal_id_beyond_64_bits_is_refused_next_to_the_field(deciding, example):
    w = deciding
    with example.run("regression", "command"):
        response = example.client.post(
            reverse("awards:decisions") + f"?superior={w.superior.pk}&year=2024",
            {"number": "2/QĐ", "date": "2024-12-21", "authority": "BTL", "signer": "TL", "proposals": [str(2**64)]})
        assert response.status_code == 200
        assert list(response.context["form"].errors) == ["proposals"]


@pytest.mark.parametrize("query", ["year=²", "year=١", "from=²", "superior=²", "year=" + "9" * 5000])
def test_the_decisions_page_takes_any_number_in_its_query(world, example, query):
    with example.run("regression", "command"):
        assert example.client.get(reverse("awards:decisions") + "?" + query).status_code == 200


@pytest.mark.parametrize("query", ["superior=²", "year=²", "from=²&to=²", "to=" + "9" * 5000])
def test_the_command_pages_take_any_number_in_their_query(world, example, query):
    with example.run("regression", "command"):
        for name in ("scoring:overview", "scoring:period"):
            assert example.client.get(reverse(name) + "?" + query).status_code == 200


def test_control_characters_in_names_and_notes_are_dropped_from_spreadsheets(provisional, example):
    w = provisional
    with example.run("regression", "officer_a"):
        Unit.objects.filter(pk=w.units["B"].pk).update(name="Đơn vị\x01 B\x1f")
        Score.objects.filter(sheet__unit=w.units["B"], criterion__code="1.1").update(note="Ghi\x0b chú")
        ranking = example.client.get(reverse("scoring:results-export", args=[w.y6.pk, "ranking", "xlsx"]))
        sheet = example.client.get(reverse("scoring:sheet-export", args=[w.y6.pk, w.units["B"].pk]))
        assert (ranking.status_code, sheet.status_code) == (200, 200)
        names = [c.value for row in load_workbook(io.BytesIO(ranking.content)).active.iter_rows() for c in row]
        assert "Đơn vị B" in names
        table = load_workbook(io.BytesIO(sheet.content)).worksheets[0]
        assert table.cell(row=3 + 1, column=2).value == "Đơn vị B"
        notes = [row[excel.NOTE_COLUMN - 1] for row in table.iter_rows(min_row=excel.FIRST_ROW, values_only=True)]
        assert "Ghi chú" in notes


def test_a_refused_decision_leaves_no_scan_behind(deciding, private_media):
    w = deciding
    proposal = awarding.undecided_proposals(w.superior, 2024)[0]
    files = sorted(p for p in private_media.rglob("*") if p.is_file())
    with pytest.raises(ValidationError):
        awarding.record_decision(
            superior=w.superior, number="3/QĐ", date=datetime.date(2024, 12, 1), authority="  ", signer="TL",
            year=2024, grants=[(proposal.unit, proposal.award_type, proposal)], by=w.users["command"], now=NOW,
            scan=SimpleUploadedFile("qd.pdf", b"%PDF-1.4"),
        )
    assert sorted(p for p in private_media.rglob("*") if p.is_file()) == files
    assert Decision.objects.count() == 1
