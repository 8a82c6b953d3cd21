"""
The vote under real parallel requests (threads with their own database
connections, started at the same instant). SQLite serialises whole-database
writes and its in-memory test database is not shared across threads, so these
run on PostgreSQL only, like tests/scoring/test_concurrency.py.
"""

import pytest
from django.db import connection
from django.utils import timezone

from awards import services
from awards.models import Candidate, Participation, Vote
from tests.awards.conftest import arrange_conference
from tests.conftest import make_world
from tests.scoring.test_concurrency import run_together

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel connections need PostgreSQL"),
]


@pytest.fixture
def open_round():
    """Cụm 6 2024 in the conference (A 90, B 80, C 70, G 60), round 1 open with candidate A."""
    world = arrange_conference(make_world())
    world.vote = services.prepare_vote(cluster_year=world.y6, by=world.users["officer_a"], now=timezone.now())
    world.candidate = world.vote.candidates.get()
    return world


def test_the_same_unit_submitting_two_ballots_at_once_is_counted_once(open_round):
    w = open_round

    def ballot(choice):
        return lambda: services.cast_ballot(vote=w.vote, unit=w.units["B"], choices={w.candidate.pk: choice})

    results = run_together(ballot("agree"), ballot("disagree"))

    refused = [r for r in results if r is not None]
    assert results.count(None) == 1
    assert [r.messages for r in refused] == [["Đơn vị B đã bỏ phiếu trong vòng này."]]
    counted = Candidate.objects.values_list("agree", "disagree", "blank").get(pk=w.candidate.pk)
    assert counted in [(1, 0, 0), (0, 1, 0)]
    assert list(Participation.objects.values_list("vote", "unit")) == [(w.vote.pk, w.units["B"].pk)]


def test_two_officers_closing_the_same_round_at_once_close_it_once(open_round):
    w = open_round
    for unit in ("A", "B", "C"):
        services.cast_ballot(vote=w.vote, unit=w.units[unit], choices={w.candidate.pk: "agree"})

    def close(user):
        return lambda: services.close_vote(vote=w.vote, by=w.users[user], now=timezone.now())

    results = run_together(close("officer_a"), close("command"))

    closed = [r for r in results if isinstance(r, Vote)]
    refused = [r for r in results if not isinstance(r, Vote)]
    assert (len(closed), [r.messages for r in refused]) == (1, [["Vòng bỏ phiếu này đã kết thúc."]])
    vote = Vote.objects.get(pk=w.vote.pk)
    assert (vote.status, vote.outcome, vote.leader, vote.closed_by, vote.closed_at) == (
        "closed", "acclaimed", w.units["A"], closed[0].closed_by, closed[0].closed_at)
    assert vote.explanation.splitlines() == ["Đơn vị A: 3/4 đồng ý = 75% > 50% → đạt",
                                             "Đơn vị A được suy tôn là đơn vị dẫn đầu Cụm."]
    assert Candidate.objects.values_list("agree", "disagree", "blank", "passed").get(pk=w.candidate.pk) == (
        3, 0, 0, True)
