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


@pytest.fixture
def six_members():
    """Cụm 6 2024 with six members in the conference (A 90 … H 40), round 1 open with candidate A."""
    world = arrange_conference(make_world(), {"A": "90", "B": "80", "C": "70", "G": "60", "H": "50", "K": "40"})
    world.vote = services.prepare_vote(cluster_year=world.y6, by=world.users["officer_a"], now=timezone.now())
    world.candidate = world.vote.candidates.get()
    return world


CHOICES = {"A": "agree", "B": "agree", "C": "disagree", "G": "blank", "H": "agree", "K": "disagree"}


def test_six_units_voting_at_once_are_all_counted(six_members):
    w = six_members

    def ballot(unit):
        return lambda: services.cast_ballot(vote=w.vote, unit=w.units[unit], choices={w.candidate.pk: CHOICES[unit]})

    results = run_together(*(ballot(u) for u in CHOICES))

    assert results == [None] * 6
    assert Candidate.objects.values_list("agree", "disagree", "blank").get(pk=w.candidate.pk) == (3, 2, 1)
    assert Participation.objects.filter(vote=w.vote).count() == 6


def test_closing_the_round_while_ballots_arrive_counts_exactly_the_roll(six_members):
    """Each ballot is either in the count (and on the roll) or refused as late; the count is never half a ballot."""
    w = six_members

    def ballot(unit):
        return lambda: services.cast_ballot(vote=w.vote, unit=w.units[unit], choices={w.candidate.pk: CHOICES[unit]})

    def close():
        return services.close_vote(vote=w.vote, by=w.users["officer_a"], now=timezone.now())

    results = run_together(*(ballot(u) for u in CHOICES), close)

    *ballots, closed = results
    assert isinstance(closed, Vote), closed
    late = [u for u, r in zip(CHOICES, ballots) if r is not None]
    assert all(r.messages == ["Vòng bỏ phiếu này đã kết thúc."] for r in ballots if r is not None)
    voted = set(Participation.objects.filter(vote=w.vote).values_list("unit__name", flat=True))
    assert voted == {f"Đơn vị {u}" for u in CHOICES if u not in late}
    counted = Candidate.objects.get(pk=w.candidate.pk)
    expected = [sum(1 for u in CHOICES if u not in late and CHOICES[u] == k) for k in ("agree", "disagree", "blank")]
    assert [counted.agree, counted.disagree, counted.blank] == expected
    vote = Vote.objects.get(pk=w.vote.pk)
    assert vote.explanation.splitlines()[0].startswith(f"Đơn vị A: {counted.agree}/6 đồng ý")
