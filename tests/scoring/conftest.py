import datetime

import pytest
from django.utils import timezone

from clusters.models import ClusterYear
from tests.factories import attach, make_criteria_set

NOW = timezone.make_aware(datetime.datetime(2024, 5, 1, 9, 0))
TODAY = datetime.date(2024, 5, 1)


@pytest.fixture
def scoring(world):
    """The world with a criteria set (SMALL_TREE) given to Cụm 6's 2024, now in the scoring phase."""
    criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="scoring", self_assessment_due=datetime.date(2024, 10, 15))
    world.y6.refresh_from_db()
    world.criteria_set = criteria_set
    world.ids = {c.code: c.pk for c in criteria_set.criteria.all()}
    return world
