"""
The audit log: every security-relevant action writes exactly one row naming
who did what to which object and why, inside the action's own transaction (a
refused or rolled-back action leaves none); a ballot's row names the unit that
voted, never its choice nor the moment.
"""

import datetime
import json
import uuid

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import RequestFactory
from django.urls import reverse

from awards import awarding
from awards import services as award_services
from awards.models import AwardType, Participation, Vote
from clusters import services
from clusters.audit import client_ip
from clusters.models import AuditEvent, RoleAssignment, User
from scoring.models import Sheet
from scoring.services import SCORING_CLOSED, amend_official_points
from tests.awards.conftest import FOUR, NOW, arrange_conference
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

A = AuditEvent.Action
TIED = {"A": "90", "B": "90", "C": "70", "G": "60"}


def only(action: str, **filters) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action, **filters))
    assert len(events) == 1, [str(e) for e in events]
    return events[0]


def row(event: AuditEvent) -> tuple:
    return (event.actor, event.actor_name, event.target_repr, event.reason, event.detail)


# --- services -----------------------------------------------------------------------------------


def test_a_phase_change_names_the_officer_the_year_the_reason_and_both_phases(world):
    officer = world.users["officer_a"]

    services.advance_phase(cluster_year=world.y6, by=officer, now=NOW, reason="Bắt đầu tự chấm")

    event = only(A.PHASE_CHANGED)
    assert row(event) == (
        officer, "officer_a", "Cụm 6 – 2024", "Bắt đầu tự chấm", {"from": "planning", "to": "scoring"})
    assert (event.target_type.model, event.target_id, event.when) == ("clusteryear", str(world.y6.pk), NOW)
    assert isinstance(event.pk, uuid.UUID)


def test_a_refused_or_rolled_back_action_leaves_no_row(world):
    officer = world.users["officer_a"]

    with pytest.raises(ValidationError):
        services.advance_phase(cluster_year=world.y6, by=officer, now=NOW, expected_phase="review")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.advance_phase(cluster_year=world.y6, by=officer, now=NOW)
        raise RuntimeError("the caller's transaction fails after the change")

    assert AuditEvent.objects.filter(action=A.PHASE_CHANGED).count() == 0


def test_closing_the_scoring_records_the_snapshot_and_the_phase_move(world):
    w = arrange_conference(world)

    snapshot = w.y6.snapshots.get()
    assert row(only(A.SCORING_CLOSED)) == (
        w.users["officer_a"], "officer_a", "Cụm 6 – 2024", "", {"snapshot": 1, "checksum": snapshot.checksum})
    assert row(only(A.PHASE_CHANGED)) == (
        w.users["officer_a"], "officer_a", "Cụm 6 – 2024", str(SCORING_CLOSED),
        {"from": "review", "to": "conference"})


def test_an_amendment_records_the_criterion_both_points_the_reason_and_the_new_snapshot(world):
    w = arrange_conference(world)
    sheet = Sheet.objects.get(cluster_year=w.y6, unit=w.units["A"])

    amend_official_points(sheet=sheet, criterion=w.criteria_set.criteria.get(code="1.1"), points="35",
                          reason="Sai sót khi nhập", by=w.users["command"], now=NOW)

    assert row(only(A.POINTS_AMENDED)) == (
        w.users["command"], "command", "Đơn vị A – Cụm 6 – 2024", "Sai sót khi nhập",
        {"criterion": "1.1", "old": "40", "new": "35", "snapshot": 2})


def test_a_refused_amendment_leaves_no_row(world):
    w = arrange_conference(world)
    sheet = Sheet.objects.get(cluster_year=w.y6, unit=w.units["A"])

    with pytest.raises(ValidationError):
        amend_official_points(sheet=sheet, criterion=w.criteria_set.criteria.get(code="1.1"), points="35",
                              reason="  ", by=w.users["command"], now=NOW)

    assert AuditEvent.objects.filter(action=A.POINTS_AMENDED).count() == 0


def cast_all(w, vote: Vote, marks: dict[str, str], by: dict[str, User] | None = None) -> None:
    candidate = vote.candidates.get()
    for name, choice in marks.items():
        award_services.cast_ballot(vote=vote, unit=w.units[name], choices={candidate.pk: choice},
                                   by=(by or {}).get(name))


def test_a_secret_vote_records_opening_each_ballot_and_closing_and_never_a_choice(world):
    w = arrange_conference(world, FOUR)
    opened_at = NOW + datetime.timedelta(minutes=5)
    vote = award_services.prepare_vote(cluster_year=w.y6, by=w.users["officer_a"], now=opened_at)
    assert vote.secret is True

    cast_all(w, vote, {"B": "disagree", "A": "agree", "C": "agree", "G": "agree"}, by={"B": w.users["staff_b"]})
    with pytest.raises(ValidationError):
        cast_all(w, vote, {"B": "agree"}, by={"B": w.users["staff_b"]})
    closed_at = NOW + datetime.timedelta(minutes=30)
    award_services.close_vote(vote=vote, by=w.users["officer_a"], now=closed_at)

    assert row(only(A.VOTE_OPENED)) == (
        w.users["officer_a"], "officer_a", "Cụm 6 – 2024 – 1", "",
        {"round": 1, "mode": "electronic", "candidates": ["Đơn vị A"]})
    ballots = AuditEvent.objects.filter(action=A.BALLOT_CAST)
    assert sorted(
        (e.actor_name, e.target_repr, e.reason, json.dumps(e.detail, ensure_ascii=False)) for e in ballots
    ) == [
        ("", "Cụm 6 – 2024 – 1", "", '{"unit": "Đơn vị A"}'),
        ("", "Cụm 6 – 2024 – 1", "", '{"unit": "Đơn vị C"}'),
        ("", "Cụm 6 – 2024 – 1", "", '{"unit": "Đơn vị G"}'),
        ("staff_b", "Cụm 6 – 2024 – 1", "", '{"unit": "Đơn vị B"}'),
    ]
    # Dated with the round's opening, not the moment each ballot was cast; nothing that names a choice.
    assert {e.when for e in ballots} == {opened_at}
    assert ballots.count() == Participation.objects.filter(vote=vote).count() == 4
    for event in ballots:
        text = json.dumps([str(event), event.reason, event.target_repr, event.detail], ensure_ascii=False)
        assert not any(word in text for word in ("agree", "disagree", "blank", "đồng ý", "trống")), text
    assert row(only(A.VOTE_CLOSED)) == (
        w.users["officer_a"], "officer_a", "Cụm 6 – 2024 – 1", "",
        {"round": 1, "outcome": "acclaimed", "leader": "Đơn vị A"})
    assert only(A.VOTE_CLOSED).when == closed_at


def test_a_paper_tally_records_the_counts_entered(world):
    w = arrange_conference(world, FOUR)
    vote = award_services.prepare_vote(cluster_year=w.y6, by=w.users["officer_a"], now=NOW, mode=Vote.Mode.PAPER)

    award_services.record_paper_tally(vote=vote, tallies={vote.candidates.get().pk: (3, 1, 0)}, issued=4,
                                      returned=4, by=w.users["officer_a"])

    assert row(only(A.PAPER_TALLY)) == (
        w.users["officer_a"], "officer_a", "Cụm 6 – 2024 – 1", "",
        {"issued": 4, "returned": 4, "tallies": {"Đơn vị A": [3, 1, 0]}})


def test_the_superiors_decision_on_a_tie_is_recorded(world):
    w = arrange_conference(world, TIED)
    vote = award_services.prepare_vote(cluster_year=w.y6, by=w.users["officer_a"], now=NOW)
    for name in "ABCG":
        choices = {c.pk: "agree" for c in vote.candidates.all()}
        award_services.cast_ballot(vote=vote, unit=w.units[name], choices=choices)
    vote = award_services.close_vote(vote=vote, by=w.users["officer_a"], now=NOW)

    award_services.record_superior_decision(vote=vote, unit=w.units["B"], number="15/QĐ-BTL",
                                            date=datetime.date(2024, 11, 20), by=w.users["command"])

    assert row(only(A.SUPERIOR_DECISION)) == (
        w.users["command"], "command", "Cụm 6 – 2024 – 1", "",
        {"leader": "Đơn vị B", "number": "15/QĐ-BTL", "date": "2024-11-20"})


def test_an_award_decision_and_its_revocation_are_recorded(world):
    award = AwardType.objects.order_by("position").first()
    decision = awarding.record_decision(
        superior=world.superior, number="20/QĐ-BTL", date=datetime.date(2024, 12, 20), authority="Bộ Tư lệnh S",
        signer="Tư lệnh", year=2024, grants=[(world.units["A"], award, None)], by=world.users["command"], now=NOW,
    )
    awarding.revoke_decision(decision=decision, reason="Hồ sơ không trung thực", by=world.users["command"], now=NOW)

    assert row(only(A.AWARD_DECIDED)) == (
        world.users["command"], "command", "20/QĐ-BTL (20/12/2024)", "",
        {"superior": "Bộ Tư lệnh S", "year": 2024, "grants": [["Đơn vị A", award.name]]})
    assert row(only(A.AWARD_REVOKED)) == (
        world.users["command"], "command", "20/QĐ-BTL (20/12/2024)", "Hồ sơ không trung thực", {})


# --- accounts, roles, groups --------------------------------------------------------------------


def test_roles_granted_changed_and_revoked_in_the_admin_name_the_administrator(client_as, world):
    client = client_as("admin")
    user = UserFactory(username="newcomer")

    response = client.post(reverse("admin:clusters_roleassignment_add"),
                           {"user": user.pk, "role": "unit_staff", "unit": world.units["C"].pk, "superior": ""})
    assert response.status_code == 302
    role = RoleAssignment.objects.get(user=user)
    response = client.post(reverse("admin:clusters_roleassignment_change", args=[role.pk]),
                           {"user": user.pk, "role": "cluster_officer", "unit": world.units["C"].pk, "superior": ""})
    assert response.status_code == 302
    response = client.post(reverse("admin:clusters_roleassignment_delete", args=[role.pk]), {"post": "yes"})
    assert response.status_code == 302

    admin = world.users["admin"]
    staff = {"user": "newcomer", "role": "unit_staff", "unit": "Đơn vị C", "superior": ""}
    officer = {**staff, "role": "cluster_officer"}
    mine = {"target_repr": "newcomer"}
    assert row(only(A.ROLE_GRANTED, **mine)) == (admin, "admin", "newcomer", "", staff)
    assert row(only(A.ROLE_CHANGED, **mine)) == (admin, "admin", "newcomer", "", {"before": staff, "after": officer})
    assert row(only(A.ROLE_REVOKED, **mine)) == (admin, "admin", "newcomer", "", officer)
    assert {e.ip_address for e in AuditEvent.objects.filter(action__startswith="role_", **mine)} == {"127.0.0.1"}


def test_account_flags_are_recorded_when_they_change_and_only_then(db):
    user = UserFactory(username="thu")
    assert row(only(A.ACCOUNT_CREATED)) == (
        None, "", "thu", "", {"is_active": True, "is_staff": False, "is_superuser": False})

    user.first_name = "Thu"
    user.save()
    user.is_staff = True
    user.save()
    user.is_active = False
    user.save(update_fields=["is_active"])

    changes = [e.detail for e in AuditEvent.objects.filter(action=A.ACCOUNT_CHANGED).order_by("when")]
    assert changes == [{"is_staff": [False, True]}, {"is_active": [True, False]}]
    assert AuditEvent.objects.filter(action=A.PASSWORD_CHANGED).count() == 0  # the first password is no change


def test_an_account_changed_elsewhere_is_compared_with_the_database(db):
    UserFactory(username="thu")
    user = User.objects.get(username="thu")
    user.is_superuser = True
    user.save()

    assert only(A.ACCOUNT_CHANGED).detail == {"is_superuser": [False, True]}


def test_groups_and_permissions_given_and_taken_are_recorded(db):
    user = UserFactory(username="thu")
    group = Group.objects.create(name="Văn thư")
    permission = Permission.objects.get(codename="view_auditevent")

    user.groups.add(group)
    user.groups.remove(group)
    group.permissions.add(permission)

    events = AuditEvent.objects.filter(action=A.PERMISSIONS_CHANGED)
    assert sorted((e.target_repr, sorted(e.detail.items())) for e in events) == sorted([
        ("thu", [("added", ["Văn thư"]), ("field", "groups")]),
        ("thu", [("field", "groups"), ("removed", ["Văn thư"])]),
        ("Văn thư", [("added", [str(permission)]), ("field", "permissions")]),
    ])


def test_a_password_change_is_recorded_without_the_password(client):
    user = UserFactory(username="thu")
    client.force_login(user)

    response = client.post(reverse("password_change"), {
        "old_password": DEFAULT_PASSWORD, "new_password1": "Cum-thi-dua-6-2025",
        "new_password2": "Cum-thi-dua-6-2025",
    })

    assert response.status_code == 302
    assert row(only(A.PASSWORD_CHANGED)) == (user, "thu", "thu", "", {})


def test_logins_logouts_and_failures_through_the_form(client):
    user = UserFactory(username="thu")

    client.post(reverse("login"), {"username": "nobody", "password": "x"}, REMOTE_ADDR="10.1.2.3")
    client.post(reverse("login"), {"username": "thu", "password": "wrong"}, REMOTE_ADDR="10.1.2.3")
    client.post(reverse("login"), {"username": "thu", "password": DEFAULT_PASSWORD}, REMOTE_ADDR="10.1.2.3")
    client.post(reverse("logout"), REMOTE_ADDR="10.1.2.3")

    events = AuditEvent.objects.order_by("when").exclude(action=A.ACCOUNT_CREATED)
    assert [(e.actor, e.action, e.target_repr, e.target_id, e.ip_address) for e in events] == [
        (None, A.LOGIN_FAILED, "nobody", "", "10.1.2.3"),
        (None, A.LOGIN_FAILED, "thu", str(user.pk), "10.1.2.3"),
        (user, A.LOGIN, "thu", str(user.pk), "10.1.2.3"),
        (user, A.LOGOUT, "thu", str(user.pk), "10.1.2.3"),
    ]


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "10.0.0.5", "", "10.0.0.5"),
        (0, "10.0.0.5", "203.0.113.9", "10.0.0.5"),  # no proxy: the header is the client's word
        (1, "127.0.0.1", "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # nginx appended the last entry
        (2, "127.0.0.1", "198.51.100.1, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (1, "127.0.0.1", "", "127.0.0.1"),
        (1, "127.0.0.1", "not-an-address", None),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected
