"""
The frozen-year guard inside ``locked_open``: a service that holds the year's
row lock writes that year's rows without the guard's query, and a year frozen
for the model is still refused (without a query either).
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from clusters.frozen import YEAR_FROZEN, locked_open
from clusters.models import ClusterYear
from scoring.models import Sheet
from tests.factories import make_criteria_set

pytestmark = pytest.mark.django_db


def sheet_in(world, phase: str) -> tuple[ClusterYear, Sheet]:
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase=phase)
    sheet = Sheet.objects.create(cluster_year=world.y6, unit=world.units["B"],
                                 criteria_set=make_criteria_set(superior=world.superior))
    with transaction.atomic():
        cluster_year = ClusterYear.objects.select_for_update().get(pk=world.y6.pk)
    return cluster_year, sheet


def test_locked_open_writes_an_open_years_rows_without_the_guards_query(world, django_assert_num_queries):
    cluster_year, sheet = sheet_in(world, "review")
    sheet.version += 1
    with transaction.atomic(), locked_open(cluster_year), django_assert_num_queries(2):  # the two UPDATEs
        sheet.save(update_fields=["version"])
        Sheet.objects.filter(pk=sheet.pk).update(status=Sheet.Status.SUBMITTED)
    assert Sheet.objects.values_list("version", "status").get(pk=sheet.pk) == (sheet.version, "submitted")


@pytest.mark.parametrize("phase", ["conference", "closed"])
def test_locked_open_still_refuses_a_frozen_years_rows(world, django_assert_num_queries, phase):
    cluster_year, sheet = sheet_in(world, phase)
    with locked_open(cluster_year), django_assert_num_queries(0):
        with pytest.raises(ValidationError) as saved:
            sheet.save(update_fields=["version"])
        with pytest.raises(ValidationError) as updated:
            Sheet.objects.filter(pk=sheet.pk).update(version=9)
    assert saved.value.messages == updated.value.messages == [str(YEAR_FROZEN)]


def test_the_guard_asks_the_database_again_outside_locked_open(world, django_assert_num_queries):
    cluster_year, sheet = sheet_in(world, "review")
    with django_assert_num_queries(2):  # is the year frozen?, UPDATE
        sheet.save(update_fields=["version"])
