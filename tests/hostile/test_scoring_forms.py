"""
Hostile input to the score sheet's forms, through the real views: the unit's
save (points, notes, version, evidence files, removals), the review, reopening
and the amendment after closing. See helpers.py for the property.
"""

import datetime

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from clusters.models import ClusterYear
from scoring import services
from scoring.models import Evidence, Score, Sheet
from scoring.validators import ALLOWED_EXTENSIONS, validate_points
from tests.factories import attach, make_criteria_set
from tests.scoring.test_ranking import approved
from tests.scoring.test_views import fill

from .helpers import (
    date_text,
    file_content,
    file_name,
    hostile,
    hostile_text,
    id_text,
    integer_text,
    multipart,
    points_text,
    post_data,
)

pytestmark = pytest.mark.django_db

LEAVES = ["1.1", "1.2", "2.1", "3.1", "3.2", "4.1", "4.2"]
VALID = {"1.1": "35,5", "1.2": "20", "2.1": "40", "3.1": "8", "3.2": "7.25", "4.1": "2", "4.2": ""}


@pytest.fixture
def sheets(world, private_media):
    """Cụm 6 2024 in scoring (no deadline): B's sheet a draft with one file, C's submitted."""
    world.criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, world.criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="scoring")
    world.y6.refresh_from_db()
    world.ids = {c.code: c.pk for c in world.criteria_set.criteria.all()}
    # A criterion of another superior's set: an id that exists but is not on these sheets.
    world.other_id = make_criteria_set(superior=world.superior2).criteria.get(code="1.1").pk
    world.sheet_b = fill(world, "B", {"1.1": "30", "1.2": "20"})
    world.sheet_c = fill(world, "C", {"1.1": "35,5", "1.2": "20", "2.1": "40", "3.1": "8", "3.2": "7,25",
                                      "4.1": "2", "4.2": ""}, submit=True)
    return world


def _version(sheet) -> st.SearchStrategy:
    """Mostly the right version (so the save is reached), sometimes anything."""
    return st.one_of(st.just(str(sheet.version)), st.just(str(sheet.version)), integer_text)


@st.composite
def sheet_posts(draw, w):
    sheet = Sheet.objects.get(pk=w.sheet_b.pk)
    own = [str(pk) for pk in Evidence.objects.filter(score__sheet=sheet).values_list("pk", flat=True)]
    others = [str(pk) for pk in Evidence.objects.exclude(score__sheet=sheet).values_list("pk", flat=True)]
    fields = {"version": _version(sheet), "remove_evidence": st.sampled_from(own + others) | id_text}
    for code in LEAVES:
        fields[f"points_{w.ids[code]}"] = points_text
        fields[f"note_{w.ids[code]}"] = hostile_text
    fields[f"points_{w.other_id}"] = points_text
    fields[f"points_{w.ids['1']}"] = points_text  # a group: no field of its own
    valid = {"version": str(sheet.version), **{f"points_{w.ids[code]}": VALID[code] for code in LEAVES}}
    data = post_data(draw, fields, valid)
    data["save"] = "1"
    targets = [f"files_{w.ids[code]}" for code in LEAVES] + [f"files_{w.other_id}"]
    files = draw(st.lists(st.tuples(st.sampled_from(targets), file_name, file_content), max_size=2))
    return data, files


def _last(value):
    return value[-1] if isinstance(value, list) else value


@hostile(examples=60)
@given(data=st.data())
def test_sheet_save_answers_and_writes_all_or_nothing(sheets, example, data):
    w = sheets
    fields, files = data.draw(sheet_posts(w))
    with example.run("sheet save", "staff_b"):
        client = example.client
        body, content_type = multipart(fields, files)
        response = client.post(reverse("scoring:sheet", args=[w.y6.pk, w.units["B"].pk]), body,
                               content_type=content_type)
        if example.check(response) == "accepted":
            scores = {s.criterion.code: s for s in Score.objects.filter(sheet=w.sheet_b).select_related("criterion")}
            for code in LEAVES:
                typed = str(_last(fields.get(f"points_{w.ids[code]}", "")))
                assert scores[code].self_points == validate_points(scores[code].criterion, typed.strip())
                assert scores[code].note == str(_last(fields.get(f"note_{w.ids[code]}", ""))).strip()
            stored = {e.pk: e for e in Evidence.objects.filter(score__sheet=w.sheet_b)}
            for evidence in stored.values():
                _assert_stored_safely(evidence, example.media_root)


def _assert_stored_safely(evidence: Evidence, media_root) -> None:
    name = evidence.original_name
    assert name and name.isprintable() and "/" not in name and "\\" not in name and len(name) <= 255
    path = (media_root / evidence.file.name).resolve()
    assert path.is_relative_to((media_root / "evidence").resolve())
    assert path.suffix in ALLOWED_EXTENSIONS and path.stem.isalnum()


@st.composite
def review_posts(draw, w):
    sheet = Sheet.objects.get(pk=w.sheet_c.pk)
    actions = ["save", "accept_rest", "return", "approve", *(f"accept:{w.ids[c]}" for c in LEAVES),
               f"accept:{w.other_id}", f"accept:{w.ids['1']}", "accept:²", "accept:١", "accept:", "accept:-1"]
    fields = {"version": _version(sheet), "message": hostile_text, "action": st.sampled_from(actions) | hostile_text}
    for code in LEAVES:
        fields[f"official_{w.ids[code]}"] = points_text
        fields[f"reason_{w.ids[code]}"] = hostile_text
        fields[f"comment_{w.ids[code]}"] = hostile_text
    fields[f"official_{w.other_id}"] = points_text
    valid = {"version": str(sheet.version), "action": "save", "message": "",
             f"official_{w.ids['1.1']}": "30", f"reason_{w.ids['1.1']}": "Thiếu biên bản"}
    return post_data(draw, fields, valid)


@hostile(examples=60)
@given(data=st.data())
def test_review_answers_and_writes_all_or_nothing(sheets, example, data):
    w = sheets
    fields = data.draw(review_posts(w))
    with example.run("review", "officer_a"):
        client = example.client
        response = client.post(reverse("scoring:sheet-review", args=[w.y6.pk, w.units["C"].pk]), fields)
        if example.check(response) == "accepted":
            assert Sheet.objects.get(pk=w.sheet_c.pk).version == w.sheet_c.version + 1


@hostile(examples=30)
@given(data=st.data())
def test_reopen_answers_and_writes_all_or_nothing(sheets, example, data):
    w = sheets
    fields = post_data(data.draw, {"until": date_text, "reason": hostile_text},
                       {"until": "2030-01-01", "reason": "Bổ sung minh chứng"})
    with example.run("reopen", "officer_a"):
        client = example.client
        response = client.post(reverse("scoring:sheet-reopen", args=[w.y6.pk, w.units["C"].pk]), fields)
        if example.check(response) == "accepted":
            sheet = Sheet.objects.get(pk=w.sheet_c.pk)
            assert sheet.status == Sheet.Status.DRAFT
            assert sheet.reopened_until == datetime.date.fromisoformat(str(_last(fields["until"])).strip())


@pytest.fixture
def closed(world, private_media):
    """Cụm 6 2024 with its scoring closed (A 90, B 80, C 70): B's sheet can be amended by officer_a."""
    world.criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, world.criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="review")
    world.y6.refresh_from_db()
    world.ids = {c.code: c.pk for c in world.criteria_set.criteria.all()}
    world.other_id = make_criteria_set(superior=world.superior2).criteria.get(code="1.1").pk
    for name, points in (("A", {"1.1": "40", "2.1": "40", "1.2": "10"}), ("B", {"1.1": "40", "2.1": "40"}),
                         ("C", {"1.1": "30", "2.1": "40"})):
        approved(world, world.units[name], points)
    services.close_scoring(cluster_year=world.y6, by=world.users["officer_a"],
                           now=datetime.datetime(2024, 11, 1, tzinfo=datetime.UTC))
    return world


@hostile(examples=30)
@given(data=st.data())
def test_amendment_answers_and_writes_all_or_nothing(closed, example, data):
    w = closed
    criteria = st.sampled_from([str(w.ids[c]) for c in [*LEAVES, "1"]] + [str(w.other_id)]) | id_text
    fields = post_data(data.draw, {"criterion": criteria, "points": points_text, "reason": hostile_text},
                       {"criterion": str(w.ids["1.1"]), "points": "35", "reason": "Sai sót khi nhập"})
    with example.run("amend", "officer_a"):
        client = example.client
        response = client.post(reverse("scoring:sheet-amend", args=[w.y6.pk, w.units["B"].pk]), fields)
        if example.check(response) == "accepted":
            score = Score.objects.get(sheet__unit=w.units["B"], criterion_id=int(_last(fields["criterion"])))
            assert score.official_points == validate_points(score.criterion, str(_last(fields["points"])).strip())
