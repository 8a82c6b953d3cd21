"""
Hostile input to the cluster year's forms: moving the year to its next phase
(the cluster's page) and its deadlines and chair fields (the administrator's
change form, inlines and all); and hostile query strings on the command's
pages. See helpers.py for the property.
"""

import datetime

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from clusters.models import ClusterYear

from .helpers import date_text, hostile, hostile_text, id_text, integer_text, post_data

pytestmark = pytest.mark.django_db

PHASES = [phase for phase, _label in ClusterYear.Phase.choices]


@hostile(examples=25)
@given(data=st.data())
def test_phase_advance_answers_and_writes_all_or_nothing(world, example, data):
    w = world
    posted = post_data(data.draw, {"expected_phase": st.sampled_from(PHASES) | hostile_text, "reason": hostile_text},
                       {"expected_phase": "planning", "reason": "Bắt đầu chấm điểm"})
    with example.run("phase advance", "officer_a"):
        response = example.client.post(reverse("clusters:clusteryear-advance", args=[w.y6.pk]), posted)
        if example.check(response) == "accepted":
            assert ClusterYear.objects.get(pk=w.y6.pk).phase != "planning"


def _admin_data(response) -> dict:
    """What the administrator's browser would send back unchanged from the change page."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        forms += [formset.management_form, *formset.forms]
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = value.isoformat() if isinstance(value, datetime.date) else str(value)
    return data


@hostile(examples=10)
@given(data=st.data())
def test_deadlines_in_the_admin_answer_and_write_all_or_nothing(world, example, data):
    w = world
    url = reverse("admin:clusters_clusteryear_change", args=[w.y6.pk])
    valid = {**_admin_data(example.login("admin").get(url)), "self_assessment_due": "2024-10-15",
             "review_due": "2024-10-25"}
    posted = post_data(data.draw, {
        "self_assessment_due": date_text, "review_due": date_text, "decision_number": hostile_text,
        "decision_date": date_text, "handover_date": date_text, "note": hostile_text,
        "chair_basis": st.sampled_from([c for c, _ in ClusterYear.ChairBasis.choices]) | hostile_text,
        # Ids only: Django's admin autocomplete widget re-displays any other text as an id and fails
        # (an administrator's tampered request; reported in the README, not ours to patch).
        "memberships-TOTAL_FORMS": integer_text, "memberships-0-role": hostile_text,
        "memberships-0-unit": st.integers(-(2**63), 2**63 - 1).map(str),
    }, valid)
    with example.run("deadlines (admin)", "admin"):
        response = example.client.post(url, posted)
        if example.check(response) == "accepted":
            year = ClusterYear.objects.get(pk=w.y6.pk)
            assert year.review_due is None or year.self_assessment_due is None or (
                year.review_due >= year.self_assessment_due)


query_value = st.one_of(id_text, integer_text, hostile_text.map(lambda t: t.replace("\x00", "")))


@hostile(examples=20)
@given(query=st.dictionaries(st.sampled_from(["superior", "year", "from", "to", "page", "units_page"]), query_value,
                             max_size=4))
def test_command_pages_answer_any_query_string(world, example, query):
    with example.run("query strings", "command"):
        for name in ("awards:decisions", "scoring:overview", "scoring:period"):
            response = example.client.get(reverse(name), query)
            assert response.status_code in (200, 404), (name, response.status_code)
