"""
Conference pages: the permission matrix (personas of tests/conftest.py) and the
journeys through the test client.

Cụm 6 2024 (A chair, B, C) has its scoring closed: A 90, B 80, C 70; in the
"open" state round 1 of the vote is open with candidate A.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from awards import services
from awards.models import Candidate, Conference, Participation, Vote
from clusters.models import ClusterYear
from scoring import services as scoring_services
from tests.factories import attach, make_criteria_set
from tests.scoring.test_ranking import approved

from tests.matrix import FORBIDDEN, HIDDEN, LOGIN, NOT_ALLOWED, OK, REDIRECT, assert_answer, cases

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2024, 11, 1, 8, 0))


def arrange(world, state: str):
    world.criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, world.criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="review")
    for name, points in (("A", {"1.1": "40", "2.1": "40", "1.2": "10"}), ("B", {"1.1": "40", "2.1": "40"}),
                         ("C", {"1.1": "30", "2.1": "40"})):
        approved(world, world.units[name], points)
    scoring_services.close_scoring(cluster_year=world.y6, by=world.users["officer_a"], now=NOW)
    world.y6.refresh_from_db()
    world.vote = None
    if state == "open":
        world.vote = services.prepare_vote(cluster_year=world.y6, by=world.users["officer_a"], now=NOW)
    return world


def url(name, w):
    y6 = w.y6.pk
    vote = w.vote.pk if w.vote else 0
    return {
        "awards:conference": reverse("awards:conference", args=[y6]),
        "awards:vote-prepare": reverse("awards:vote-prepare", args=[y6]),
        "awards:conference-finish": reverse("awards:conference-finish", args=[y6]),
        "awards:minutes": reverse("awards:minutes", args=[y6]),
        "awards:ballot": reverse("awards:ballot", args=[vote]),
        "awards:vote-close": reverse("awards:vote-close", args=[vote]),
        "awards:vote-paper": reverse("awards:vote-paper", args=[vote]),
        "awards:vote-runoff": reverse("awards:vote-runoff", args=[vote]),
        "awards:vote-decision": reverse("awards:vote-decision", args=[vote]),
    }[name]


def post_data(name, w):
    if name == "awards:ballot":
        return {f"candidate_{c.pk}": "agree" for c in w.vote.candidates.all()}
    if name == "awards:vote-prepare":
        return {"mode": "electronic", "present": [w.units[name].pk for name in "ABC"]}
    if name == "awards:conference-finish":
        return {"held_on": "2024-11-01", "place": "Hà Nội", "presiding": "Phó Tư lệnh"}
    if name == "awards:vote-runoff":
        return {"reason": "Vòng 2"}
    return {}


# anonymous, staff_b, staff_c, staff_d, officer_a, officer_d, command, command2, admin
MANAGE_POST = [LOGIN, FORBIDDEN, FORBIDDEN, HIDDEN, REDIRECT, HIDDEN, REDIRECT, HIDDEN, REDIRECT]
MATRIX = {
    "awards:conference": {
        "GET open": [LOGIN, OK, OK, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST open": [NOT_ALLOWED] * 9,
    },
    "awards:vote-prepare": {"GET none": [NOT_ALLOWED] * 9, "POST none": MANAGE_POST},
    "awards:conference-finish": {"GET none": [NOT_ALLOWED] * 9, "POST none": MANAGE_POST},
    "awards:minutes": {
        "GET open": [LOGIN, OK, OK, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST open": [NOT_ALLOWED] * 9,
    },
    "awards:ballot": {
        # The chair's officer is staff of unit A, a member: it may cast A's ballot.
        "GET open": [LOGIN, OK, OK, HIDDEN, OK, HIDDEN, FORBIDDEN, HIDDEN, FORBIDDEN],
        "POST open": [LOGIN, REDIRECT, REDIRECT, HIDDEN, REDIRECT, HIDDEN, FORBIDDEN, HIDDEN, FORBIDDEN],
    },
    "awards:vote-close": {"GET open": [NOT_ALLOWED] * 9, "POST open": MANAGE_POST},
    "awards:vote-paper": {"GET open": [NOT_ALLOWED] * 9, "POST open": MANAGE_POST},
    "awards:vote-runoff": {"GET open": [NOT_ALLOWED] * 9, "POST open": MANAGE_POST},
    "awards:vote-decision": {"GET open": [NOT_ALLOWED] * 9, "POST open": MANAGE_POST},
}

CASES = cases(MATRIX)


@pytest.mark.parametrize(("route", "case", "persona", "expected"), CASES)
def test_permission_matrix(client_as, world, route, case, persona, expected):
    method, state = case.split()
    w = arrange(world, state)
    client = client_as(persona)
    target = url(route, w)
    assert_answer(client, method, target, post_data(route, w) if method == "POST" else {}, persona, expected)


def test_outsiders_and_voters_do_not_see_turnout(client_as, world):
    w = arrange(world, "open")
    services.cast_ballot(vote=w.vote, unit=w.units["C"], choices={c.pk: "agree" for c in w.vote.candidates.all()})
    voter_page = client_as("staff_b").get(url("awards:conference", w)).content.decode()
    assert 'id="turnout"' not in voter_page
    officer_page = client_as("officer_a").get(url("awards:conference", w))
    assert [p.unit.name for p in officer_page.context["turnout"]] == ["Đơn vị C"]
    assert "agree" not in [c for c in officer_page.content.decode().split() if c == "agree"]


def test_a_unit_votes_once_through_the_page(client_as, world):
    w = arrange(world, "open")
    client = client_as("staff_b")
    client.post(url("awards:ballot", w), post_data("awards:ballot", w))
    response = client.post(url("awards:ballot", w), post_data("awards:ballot", w))
    assert "Đơn vị B đã bỏ phiếu trong vòng này." in response.content.decode()
    assert Participation.objects.filter(unit=w.units["B"]).count() == 1
    assert Candidate.objects.get(vote=w.vote).agree == 1


def test_ballot_must_choose_for_every_candidate(client_as, world):
    w = arrange(world, "open")
    response = client_as("staff_b").post(url("awards:ballot", w), {})
    assert response.status_code == 200 and response.context["form"].errors
    assert Participation.objects.count() == 0


def test_the_seed_conference_through_the_pages(client_as, world):
    """Prepare, three ballots, close, finish: A acclaimed and chair of 2025."""
    w = arrange(world, "none")
    officer = client_as("officer_a")
    officer.post(url("awards:vote-prepare", w), post_data("awards:vote-prepare", w))
    w.vote = Vote.objects.get()
    for persona in ("staff_b", "staff_c", "officer_a"):
        client_as(persona).post(url("awards:ballot", w), post_data("awards:ballot", w))
    officer = client_as("officer_a")
    officer.post(url("awards:vote-close", w))
    vote = Vote.objects.get()
    assert (vote.outcome, vote.leader) == ("acclaimed", w.units["A"])
    assert vote.explanation.splitlines()[0] == "Đơn vị A: 3/3 đồng ý = 100% > 50% → đạt"
    response = officer.post(url("awards:conference-finish", w), post_data("awards:conference-finish", w), follow=True)
    next_year = ClusterYear.objects.get(cluster=w.c6, year=2025)
    assert response.redirect_chain[-1][0] == next_year.get_absolute_url()
    roles = dict(next_year.memberships.values_list("unit__name", "role"))
    assert (roles["Đơn vị A"], roles["Đơn vị B"], next_year.handover_date) == ("chair", "vice_chair", datetime.date(2024, 11, 1))
    assert Conference.objects.get().place == "Hà Nội"
    w.y6.refresh_from_db()
    assert w.y6.phase == "closed"
