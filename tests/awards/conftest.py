"""
The year-end conference, arranged through the services.

``arrange_conference`` takes the ``world`` (Cụm 6 2024: A chair, B vice chair,
C member; the tests add G and H as members when they need four or five units),
approves each member's sheet with the chosen total in phase "review" (the
``approved`` helper of tests/scoring/test_ranking.py) and closes the scoring
with ``scoring.services.close_scoring``: candidates, frozen totals and ranks
come from a real snapshot.
"""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from awards.models import VoteRules
from clusters.models import Cluster, ClusterYear
from scoring import services as scoring_services
from tests.factories import MembershipFactory, UnitFactory, attach, make_criteria_set
from tests.scoring.test_ranking import approved

NOW = timezone.make_aware(datetime.datetime(2024, 11, 1, 14, 0))
HELD_ON = datetime.date(2024, 11, 1)

# The usual ranking: A 90, B 80, C 70, G 60 (four members, ranks 1 to 4, no tie).
FOUR = {"A": "90", "B": "80", "C": "70", "G": "60"}


def points_for(total: str) -> dict[str, str]:
    """Official points of SMALL_TREE's standard criteria (1.1 ≤ 40, 2.1 ≤ 40, 1.2 ≤ 20) adding up to ``total``."""
    value = Decimal(total)
    return {"1.1": str(min(value, 40)), "2.1": str(min(max(value - 40, 0), 40)), "1.2": str(max(value - 80, 0))}


def arrange_conference(world, totals: dict[str, str] = FOUR, *, rules: dict | None = None,
                       chair_policy: str | None = None, vice_chair_policy: str | None = None):
    """Cụm 6 2024 in the conference: ``totals`` names every member (A, B, C and any new one) with its total."""
    world.criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, world.criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="review")
    world.y6.refresh_from_db()
    for name in totals:
        if name not in world.units:
            world.units[name] = UnitFactory(name=f"Đơn vị {name}", superior=world.superior)
            MembershipFactory(cluster_year=world.y6, unit=world.units[name])
    for name, total in totals.items():
        approved(world, world.units[name], points_for(total))
    if rules:
        VoteRules.objects.create(cluster=world.c6, **rules)
    policies = {k: v for k, v in (("chair_policy", chair_policy), ("vice_chair_policy", vice_chair_policy)) if v}
    if policies:
        Cluster.objects.filter(pk=world.c6.pk).update(**policies)
        world.c6.refresh_from_db()
    scoring_services.close_scoring(cluster_year=world.y6, by=world.users["officer_a"], now=NOW)
    world.y6.refresh_from_db()
    return world


@pytest.fixture
def conference(world):
    """Call with totals and options (see ``arrange_conference``); returns the world in the conference phase."""

    def arrange(totals: dict[str, str] = FOUR, **options):
        return arrange_conference(world, totals, **options)

    return arrange
