"""The conference steps from the cluster-year list in the admin, through the same services."""

import pytest
from django.urls import reverse

from awards.models import Conference, Vote, VoteRules
from clusters.models import ClusterYear
from tests.awards.test_views import arrange

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client, world):
    client.force_login(world.users["admin"])
    return client


def test_admin_closes_the_open_round(admin_client_, world):
    w = arrange(world, "open")
    url = reverse("admin:clusters_clusteryear_changelist")
    response = admin_client_.post(url, {"action": "close_open_vote", "_selected_action": [w.y6.pk, w.y7.pk]}, follow=True)
    html = response.content.decode()
    assert "Cụm 6 – 2024: Không đơn vị nào đạt: cần bỏ phiếu vòng sau" in html  # nobody voted
    assert "Cụm 7 – 2024: không có vòng bỏ phiếu nào đang mở." in html
    assert Vote.objects.get().status == "closed"


def test_admin_finish_conference_asks_for_the_date_then_reports(admin_client_, world):
    w = arrange(world, "none")
    from awards import services
    from django.utils import timezone

    vote = services.prepare_vote(cluster_year=w.y6, by=w.users["admin"], now=timezone.now())
    for name in "ABC":
        services.cast_ballot(vote=vote, unit=w.units[name], choices={c.pk: "agree" for c in vote.candidates.all()})
    services.close_vote(vote=vote, by=w.users["admin"], now=timezone.now())
    url = reverse("admin:clusters_clusteryear_changelist")
    selected = {"action": "finish_conference", "_selected_action": [w.y6.pk]}
    confirm = admin_client_.post(url, selected)
    assert confirm.status_code == 200 and "Đơn vị A" in confirm.content.decode()
    assert not Conference.objects.exists()
    data = {**selected, "confirm": "yes", "held_on": "2024-11-01", "place": "Hà Nội", "presiding": "Phó Tư lệnh"}
    response = admin_client_.post(url, data, follow=True)
    assert "Cụm 6 – 2024: đã hoàn tất hội nghị; đã mở Cụm 6 – 2025." in response.content.decode()
    assert ClusterYear.objects.get(cluster=w.c6, year=2025).memberships.get(role="chair").unit == w.units["A"]


def test_admin_edits_vote_rules_on_the_cluster(admin_client_, world):
    url = reverse("admin:clusters_cluster_change", args=[world.c6.pk])
    data = {
        "name": "Cụm 6", "superior": world.superior.pk, "chair_policy": "leader", "vice_chair_policy": "runner_up",
        "description": "",
        "vote_rules-TOTAL_FORMS": 1, "vote_rules-INITIAL_FORMS": 0,
        "vote_rules-0-threshold": 80, "vote_rules-0-threshold_inclusive": "on", "vote_rules-0-denominator": "members",
        "vote_rules-0-secret": "on", "vote_rules-0-self_vote": "on", "vote_rules-0-tie_rule": "superior",
    }
    assert admin_client_.post(url, data).status_code == 302
    rules = VoteRules.objects.get(cluster=world.c6)
    assert (rules.threshold, rules.threshold_inclusive, rules.tie_rule) == (80, True, "superior")


def test_admin_votes_and_conferences_are_read_only(admin_client_, world):
    assert admin_client_.get(reverse("admin:awards_vote_changelist")).status_code == 200
    assert admin_client_.get(reverse("admin:awards_vote_add")).status_code == 403
    assert admin_client_.get(reverse("admin:awards_conference_add")).status_code == 403


def test_admin_catalogue_lists_the_seeded_awards(admin_client_, world):
    response = admin_client_.get(reverse("admin:awards_awardtype_changelist") + "?q=Quyết thắng")
    assert response.status_code == 200
    assert "Đơn vị Quyết thắng" in response.content.decode()
    assert admin_client_.get(reverse("admin:awards_proposal_add")).status_code == 403
    assert admin_client_.get(reverse("admin:awards_decision_add")).status_code == 403
