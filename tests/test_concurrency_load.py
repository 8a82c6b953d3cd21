"""
A short load run over real HTTP on loopback: the test server (pytest-django's
``live_server``, one thread per request, each with its own PostgreSQL
connection) and 20 client threads started together.

- 8 units each save their own sheet 3 times in a row (each save on the version
  the previous one produced);
- 3 people of one unit save the same sheet at the same instant from the same
  version (two tabs and a colleague): one wins, two are told (409);
- 8 units of another cluster cast their ballots in an open secret vote, one of
  them twice at the same instant from two accounts.

Then: no server error (no 5xx), the refusals counted, and the database equal
to the expected end state — the exact points of every winning save, the
trail, the tally equal to the ballots, the turnout equal to the roll.
Bounded: about 60 requests, a few seconds; loopback only.
"""

import http.client
import secrets
import threading
import time
from collections import Counter
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from awards import services as award_services
from awards.models import Candidate, Participation
from clusters.models import ClusterYear, RoleAssignment
from scoring import services
from scoring.models import Score, ScoreEvent, Sheet
from tests.conftest import make_world
from tests.factories import MembershipFactory, RoleFactory, UnitFactory, UserFactory, attach, make_criteria_set

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel connections need PostgreSQL"),
]

SAVES_PER_UNIT = 3
SAVERS = 8
VOTERS = 8
CONTENDERS = 3
BALLOT = ["agree", "agree", "disagree", "agree", "blank", "agree", "disagree", "agree"]  # per voter unit


class Browser:
    """One signed-in person over plain HTTP: the session cookie of ``force_login`` and a CSRF token."""

    def __init__(self, live_server, user):
        client = Client()
        client.force_login(user)
        self.address = urlsplit(live_server.url)
        self.token = secrets.token_hex(16)  # 32 characters: a valid CSRF secret, sent as cookie and header
        self.cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}; " \
                      f"{settings.CSRF_COOKIE_NAME}={self.token}"

    def request(self, method: str, path: str, data: dict | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection(self.address.hostname, self.address.port, timeout=30)
        try:
            body = urlencode(data or {}, doseq=True)
            headers = {"Cookie": self.cookie, "X-CSRFToken": self.token}
            if method == "POST":
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body if method == "POST" else None, headers=headers)
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()


def staff_of(unit, name):
    return RoleFactory(user=UserFactory(username=name), role=RoleAssignment.Role.UNIT_STAFF, unit=unit).user


@pytest.fixture
def load_world():
    """Cụm 6 2024 in self-assessment with 8 more members; Cụm 7 2024 in its conference with 8 members voting."""
    w = make_world()
    w.criteria_set = make_criteria_set(superior=w.superior)
    w.ids = {c.code: c.pk for c in w.criteria_set.criteria.all()}
    attach(w.y6, w.criteria_set)
    attach(w.y7, w.criteria_set)
    ClusterYear.objects.filter(pk__in=[w.y6.pk, w.y7.pk]).update(phase="review")
    ClusterYear.objects.filter(pk=w.y6.pk).update(phase="scoring")
    w.y6.refresh_from_db()
    w.savers = []
    for i in range(SAVERS):
        unit = UnitFactory(name=f"Đơn vị S{i}", superior=w.superior)
        MembershipFactory(cluster_year=w.y6, unit=unit)
        w.savers.append((unit, staff_of(unit, f"saver{i}")))
    w.contenders = [w.users["staff_b"], *(staff_of(w.units["B"], f"staff_b{i}") for i in range(CONTENDERS - 1))]
    w.sheet_b = services.save_self_assessment(
        cluster_year=w.y6, unit=w.units["B"], entries={w.ids["1.1"]: services.Entry(points="10")}, version=0,
        by=w.users["staff_b"], now=timezone.now(), today=timezone.localdate())
    # Cụm 7: D (chair), E and six more, all approved; scoring closed; round 1 open.
    voters = [w.units["D"], w.units["E"]]
    for i in range(VOTERS - 2):
        unit = UnitFactory(name=f"Đơn vị V{i}", superior=w.superior)
        MembershipFactory(cluster_year=w.y7, unit=unit)
        voters.append(unit)
    for rank, unit in enumerate(voters):
        sheet = Sheet.objects.create(cluster_year=w.y7, unit=unit, criteria_set=w.criteria_set, status="approved")
        for criterion in w.criteria_set.criteria.exclude(kind="group"):
            points = Decimal(40 - rank) if criterion.code == "1.1" else Decimal(0)
            Score.objects.create(sheet=sheet, criterion=criterion, self_points=points, official_points=points)
    services.close_scoring(cluster_year=w.y7, by=w.users["officer_d"], now=timezone.now())
    w.vote = award_services.prepare_vote(cluster_year=w.y7, by=w.users["officer_d"], now=timezone.now())
    w.candidate = w.vote.candidates.get()
    w.voters = [(unit, w.users["staff_d"] if unit == w.units["D"] else staff_of(unit, f"voter{i}"))
                for i, unit in enumerate(voters)]
    w.second_e = staff_of(w.units["E"], "staff_e2")  # E's ballot sent twice, from two accounts
    return w


def sheet_form(w, version: int, points: str) -> dict:
    return {"version": version, "save": "1", f"points_{w.ids['1.1']}": points, f"note_{w.ids['1.1']}": "",
            f"points_{w.ids['2.1']}": points, f"note_{w.ids['2.1']}": ""}


def test_concurrent_saves_and_ballots_over_http(live_server, load_world):
    w = load_world
    statuses: dict[str, list[int]] = {"save": [], "contended": [], "ballot": []}
    contended_values: dict[int, str] = {}
    lock = threading.Lock()
    workers = []

    def record(kind, status, key=None, value=None):
        with lock:
            statuses[kind].append(status)
            if key is not None:
                contended_values[key] = value

    def saver(browser, unit):
        url = reverse("scoring:sheet", args=[w.y6.pk, unit.pk])
        for n in range(SAVES_PER_UNIT):
            status, _body = browser.request("POST", url, sheet_form(w, n, str(10 + n)))
            record("save", status)

    def contender(browser, index):
        url = reverse("scoring:sheet", args=[w.y6.pk, w.units["B"].pk])
        status, _body = browser.request("POST", url, sheet_form(w, w.sheet_b.version, str(20 + index)))
        record("contended", status, status, str(20 + index))

    def voter(browser, choice):
        status, body = browser.request("POST", reverse("awards:ballot", args=[w.vote.pk]),
                                       {f"candidate_{w.candidate.pk}": choice})
        record("ballot", status)
        return body

    # Everyone signs in first (in this thread); then only HTTP requests run in the client threads.
    browsers_ready = [(saver, (Browser(live_server, user), unit)) for unit, user in w.savers]
    browsers_ready += [(contender, (Browser(live_server, user), i)) for i, user in enumerate(w.contenders)]
    browsers_ready += [(voter, (Browser(live_server, user), BALLOT[i])) for i, (_unit, user) in enumerate(w.voters)]
    browsers_ready.append((voter, (Browser(live_server, w.second_e), BALLOT[1])))
    barrier = threading.Barrier(len(browsers_ready))
    errors = []

    def run(target, args):
        try:
            barrier.wait()
            target(*args)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    start = time.monotonic()
    for target, args in browsers_ready:
        workers.append(threading.Thread(target=run, args=(target, args)))
        workers[-1].start()
    for thread in workers:
        thread.join(timeout=60)
    elapsed = time.monotonic() - start

    assert errors == []
    every = statuses["save"] + statuses["contended"] + statuses["ballot"]
    assert len(every) == SAVERS * SAVES_PER_UNIT + CONTENDERS + VOTERS + 1
    assert [s for s in every if s >= 500] == []
    assert Counter(statuses["save"]) == {302: SAVERS * SAVES_PER_UNIT}
    assert Counter(statuses["contended"]) == {302: 1, 409: CONTENDERS - 1}
    # The duplicate ballot of E is answered on the ballot page (200) with the refusal; the others go on.
    assert Counter(statuses["ballot"]) == {302: VOTERS, 200: 1}
    assert elapsed < 30

    # Every saver's sheet holds its last save, with one trail row per changed value.
    for unit, _user in w.savers:
        sheet = Sheet.objects.get(cluster_year=w.y6, unit=unit)
        points = dict(sheet.scores.filter(criterion__code__in=["1.1", "2.1"]).values_list("criterion__code",
                                                                                          "self_points"))
        assert (sheet.version, points) == (SAVES_PER_UNIT, {"1.1": Decimal(10 + SAVES_PER_UNIT - 1),
                                                            "2.1": Decimal(10 + SAVES_PER_UNIT - 1)})
        assert sheet.events.filter(kind="self_points").count() == 2 * SAVES_PER_UNIT
    # The contended sheet holds the one winner's points, nothing of the others.
    winner = Decimal(contended_values[302])
    sheet_b = Sheet.objects.get(pk=w.sheet_b.pk)
    assert sheet_b.version == w.sheet_b.version + 1
    assert sheet_b.scores.get(criterion__code="1.1").self_points == winner
    assert list(ScoreEvent.objects.filter(sheet=sheet_b, criterion__code="1.1").order_by("pk").values_list(
        "new_value", flat=True)) == ["10", str(winner)]
    # The tally equals the ballots; the turnout equals the roll.
    counted = Candidate.objects.get(pk=w.candidate.pk)
    tally = Counter(BALLOT)
    assert (counted.agree, counted.disagree, counted.blank) == (tally["agree"], tally["disagree"], tally["blank"])
    assert set(Participation.objects.filter(vote=w.vote).values_list("unit_id", flat=True)) == set(
        w.y7.memberships.values_list("unit_id", flat=True))
