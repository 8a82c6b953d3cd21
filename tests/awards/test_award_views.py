"""
Award pages: the permission matrix (personas of tests/conftest.py) and the
journeys: the chair's officer proposes, the command officer decides.

Cụm 6 2024 (A chair, B, C) has finished its conference: A acclaimed; the
proposals were generated from the catalogue; a decision of S grants them.
"""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from awards import awarding, services
from awards.models import AwardType, Decision, Grant, Proposal
from tests.awards.test_views import arrange

from tests.matrix import FORBIDDEN, HIDDEN, LOGIN, NOT_ALLOWED, OK, REDIRECT, assert_answer, cases

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def finished(world, *, decided: bool = True):
    w = arrange(world, "none")
    vote = services.prepare_vote(cluster_year=w.y6, by=w.users["officer_a"], now=NOW)
    for name in "ABC":
        services.cast_ballot(vote=vote, unit=w.units[name], choices={c.pk: "agree" for c in vote.candidates.all()})
    services.close_vote(vote=vote, by=w.users["officer_a"], now=NOW)
    services.finish_conference(cluster_year=w.y6, by=w.users["officer_a"], now=NOW, held_on=datetime.date(2024, 11, 1),
                               place="Hà Nội", presiding="Phó Tư lệnh")
    w.y6.refresh_from_db()
    w.proposals = awarding.propose_defaults(cluster_year=w.y6, by=w.users["officer_a"], now=NOW)
    w.decision = None
    if decided:
        w.decision = awarding.record_decision(
            superior=w.superior, number="1/QĐ-BTL", date=datetime.date(2024, 12, 20), authority="Bộ Tư lệnh",
            signer="Tư lệnh", year=2024, grants=[(p.unit, p.award_type, p) for p in w.proposals[:1]], by=w.users["command"],
            now=NOW, scan=SimpleUploadedFile("qd.pdf", b"%PDF-1.4 quyet dinh"),
        )
    return w


def url(name, w):
    return {
        "awards:proposals": lambda: reverse("awards:proposals", args=[w.y6.pk]),
        "awards:proposals-generate": lambda: reverse("awards:proposals-generate", args=[w.y6.pk]),
        "awards:proposal-add": lambda: reverse("awards:proposal-add", args=[w.y6.pk]),
        "awards:proposal-letter": lambda: reverse("awards:proposal-letter", args=[w.y6.pk]),
        "awards:proposal-withdraw": lambda: reverse("awards:proposal-withdraw", args=[w.proposals[-1].pk]),
        "awards:decisions": lambda: reverse("awards:decisions") + f"?superior={w.superior.pk}&year=2024",
        "awards:decision-revoke": lambda: reverse("awards:decision-revoke", args=[w.decision.pk]),
        "awards:decision-scan": lambda: reverse("awards:decision-scan", args=[w.decision.pk]),
        "awards:unit-awards": lambda: reverse("awards:unit-awards", args=[w.units["B"].pk]),
    }[name]()


def post_data(name, w):
    if name == "awards:proposal-add":
        award = AwardType.objects.get(code="giay-khen")
        Proposal.objects.filter(award_type=award, unit=w.units["C"]).update(withdrawn_at=NOW)
        return {"unit": w.units["C"].pk, "award": award.pk, "reason": "Thành tích đột xuất"}
    if name == "awards:decisions":
        pending = [p.pk for p in w.proposals[1:2]]
        return {"number": "2/QĐ-BTL", "date": "2024-12-21", "authority": "Bộ Tư lệnh", "signer": "Tư lệnh",
                "proposals": pending}
    return {"reason": "Theo đề nghị"}


MANAGE_GET = [LOGIN, FORBIDDEN, FORBIDDEN, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK]
PROPOSE_POST = [LOGIN, FORBIDDEN, FORBIDDEN, HIDDEN, REDIRECT, HIDDEN, FORBIDDEN, HIDDEN, FORBIDDEN]
COMMAND_ONLY = [LOGIN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, REDIRECT, HIDDEN, REDIRECT]
# anonymous, staff_b, staff_c, staff_d, officer_a, officer_d, command, command2, admin
MATRIX = {
    "awards:proposals": {"GET": MANAGE_GET, "POST": [NOT_ALLOWED] * 9},
    "awards:proposals-generate": {"GET": [NOT_ALLOWED] * 9, "POST": PROPOSE_POST},
    "awards:proposal-add": {"GET": [NOT_ALLOWED] * 9, "POST": PROPOSE_POST},
    "awards:proposal-withdraw": {"GET": [NOT_ALLOWED] * 9, "POST": PROPOSE_POST},
    "awards:proposal-letter": {"GET": MANAGE_GET, "POST": [NOT_ALLOWED] * 9},
    "awards:decisions": {
        "GET": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, HIDDEN, OK],
        "POST": [LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, REDIRECT, HIDDEN, REDIRECT],
    },
    "awards:decision-revoke": {"GET": [NOT_ALLOWED] * 9, "POST": COMMAND_ONLY},
    "awards:decision-scan": {
        "GET": [LOGIN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, OK, HIDDEN, OK],
        "POST": [NOT_ALLOWED] * 9,
    },
    "awards:unit-awards": {
        "GET": [LOGIN, OK, HIDDEN, HIDDEN, OK, HIDDEN, OK, HIDDEN, OK],
        "POST": [NOT_ALLOWED] * 9,
    },
}

CASES = cases(MATRIX)


@pytest.mark.parametrize(("route", "method", "persona", "expected"), CASES)
def test_permission_matrix(client_as, world, route, method, persona, expected):
    w = finished(world)
    client = client_as(persona)
    target = url(route, w)
    assert_answer(client, method, target, post_data(route, w) if method == "POST" else {}, persona, expected)


def test_officer_generates_proposals_and_sees_reasons(client_as, world):
    w = finished(world, decided=False)
    Proposal.objects.all().delete()
    client = client_as("officer_a")
    response = client.post(url("awards:proposals-generate", w), follow=True)
    proposed = {(p.unit.name, p.award_type.code) for p in response.context["proposals"]}
    assert ("Đơn vị A", "co-thi-dua-btl") in proposed
    lines = {(l.unit.name, l.award.code): l.reasons for l in response.context["table"]}
    assert lines[("Đơn vị B", "co-thi-dua-btl")]  # not the leader: a reason is given
    assert "không phải đơn vị được suy tôn dẫn đầu Cụm" in "; ".join(lines[("Đơn vị B", "co-thi-dua-btl")])


def test_proposal_beyond_quota_is_refused_with_the_reason(client_as, world):
    w = finished(world, decided=False)
    flag = AwardType.objects.get(code="co-thi-dua-btl")
    response = client_as("officer_a").post(url("awards:proposal-add", w),
                                           {"unit": w.units["B"].pk, "award": flag.pk, "reason": "Đề nghị thêm"},
                                           follow=True)
    html = response.content.decode()
    assert "không thể được đề nghị" in html
    assert Proposal.objects.filter(award_type=flag, unit=w.units["B"]).count() == 0


def test_command_records_a_decision_and_the_history_shows_it(client_as, world):
    w = finished(world, decided=False)
    client = client_as("command")
    chosen = [p.pk for p in w.proposals]
    client.post(url("awards:decisions", w), {"number": "5/QĐ-BTL", "date": "2024-12-21", "authority": "Bộ Tư lệnh",
                                             "signer": "Tư lệnh", "proposals": chosen})
    decision = Decision.objects.get()
    assert sorted(decision.grants.values_list("unit__name", "award_type__code")) == sorted(
        (p.unit.name, p.award_type.code) for p in w.proposals)
    history = client_as("staff_b").get(url("awards:unit-awards", w)).context["grants"]
    assert [(g.year, g.decision.number) for g in history] == [
        (2024, "5/QĐ-BTL") for p in w.proposals if p.unit == w.units["B"]]


def test_revocation_keeps_the_record(client_as, world):
    w = finished(world)
    client_as("command").post(url("awards:decision-revoke", w), {"reason": "Sai đối tượng"})
    decision = Decision.objects.get(pk=w.decision.pk)
    assert (decision.revoked_reason, Grant.objects.filter(decision=decision).count()) == ("Sai đối tượng", 1)


@pytest.mark.parametrize("clusters", [1, 3])
def test_decisions_page_query_count(client, django_assert_num_queries, world, clusters):
    from tests.factories import ClusterFactory, ClusterYearFactory

    w = finished(world)
    for i in range(clusters):
        ClusterYearFactory(cluster=ClusterFactory(superior=w.superior, name=f"Cụm thêm {i}"), year=2024)
    client.force_login(w.users["command"])
    # session, user, superiors (exists, first), years, undecided proposals, summary (proposals, grants),
    # decisions with grants (3), the period's grants, the superior selector, the form's choices
    with django_assert_num_queries(15):
        client.get(url("awards:decisions", w))


def test_decisions_page_shows_the_period_by_cluster(client_as, world):
    w = finished(world)
    response = client_as("command").get(url("awards:decisions", w) + "&from=2022")
    assert response.context["span"] == [2022, 2023, 2024]
    assert [(cluster, {y: [(g.unit.name, g.award_type.code) for g in gs] for y, gs in years.items()})
            for cluster, years in response.context["period"]] == [
        ("Cụm 6", {2022: [], 2023: [], 2024: [(w.proposals[0].unit.name, w.proposals[0].award_type.code)]})
    ]
