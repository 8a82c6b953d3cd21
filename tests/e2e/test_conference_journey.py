"""The seed's conference in Chromium: four units vote, the chair's officer closes and hands over the chair."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from clusters.models import ClusterYear, RoleAssignment
from scoring import services as scoring_services
from tests.conftest import make_world
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, RoleFactory, UnitFactory, UserFactory, attach, make_criteria_set
from tests.scoring.test_ranking import approved

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}{reverse('login')}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("#submit")
    expect(page.locator("#welcome")).to_be_visible()


def test_four_units_acclaim_the_leader_and_the_chair_is_handed_over(live_server, page: Page):
    world = make_world()
    unit_e = UnitFactory(name="Đơn vị E4", superior=world.superior)
    MembershipFactory(cluster_year=world.y6, unit=unit_e)
    staff = {"A": "staff_a", "E": "staff_e"}
    RoleFactory(user=UserFactory(username="staff_a"), role=RoleAssignment.Role.UNIT_STAFF, unit=world.units["A"])
    RoleFactory(user=UserFactory(username="staff_e"), role=RoleAssignment.Role.UNIT_STAFF, unit=unit_e)
    RoleFactory(user=UserFactory(username="officer_b"), role=RoleAssignment.Role.CLUSTER_OFFICER, unit=world.units["B"])
    world.criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, world.criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="review")
    for unit, points in ((world.units["A"], {"1.1": "40", "2.1": "40"}), (world.units["B"], {"1.1": "40", "2.1": "40", "1.2": "15"}),
                         (world.units["C"], {"1.1": "30"}), (unit_e, {"1.1": "20"})):
        approved(world, unit, points)
    scoring_services.close_scoring(cluster_year=world.y6, by=world.users["officer_a"],
                                   now=timezone.make_aware(datetime.datetime(2024, 10, 30, 8, 0)))
    conference = live_server.url + reverse("awards:conference", args=[world.y6.pk])

    # The chair's officer opens the vote: the first of the frozen ranking is the candidate.
    log_in(page, live_server.url, "officer_a")
    page.goto(conference)
    expect(page.locator("#prepare-form")).to_contain_text("Đơn vị B")
    page.click("#prepare-vote")
    expect(page.locator(".alert-success")).to_have_text("Cuộc bỏ phiếu đã mở.")
    page.click("#logout")

    # Each of the four member units casts its ballot.
    for username in (staff["A"], "staff_b", "staff_c", staff["E"]):
        log_in(page, live_server.url, username)
        page.goto(conference)
        page.click("#ballot-link")
        page.locator("#ballot-form input[value=agree]").first.check()
        page.click("#cast-ballot")
        expect(page.locator("#ballot-box")).to_contain_text("đã bỏ phiếu trong vòng này")
        page.click("#logout")

    # The officer sees the turnout, closes the vote and finishes the conference.
    log_in(page, live_server.url, "officer_a")
    page.goto(conference)
    expect(page.locator("#turnout")).to_have_text("4")
    page.click("#close-vote")
    expect(page.locator(".explanation")).to_contain_text("Đơn vị B: 4/4 đồng ý = 100% > 50% → đạt")
    expect(page.locator(".leader")).to_contain_text("Đơn vị B")
    expect(page.locator("#policy-chair")).to_have_text("Đơn vị B")
    page.fill("#id_held_on", "2024-11-01")
    page.fill("#id_place", "Hà Nội")
    page.fill("#id_presiding", "Thiếu tướng Nguyễn Quốc Toản, Phó Tư lệnh")
    page.click("#finish-conference")
    expect(page.locator("h1")).to_contain_text("Cụm 6 – 2025")
    page.click("#logout")

    # The new chair's officer sees 2025 and runs it.
    log_in(page, live_server.url, "officer_b")
    next_year = ClusterYear.objects.get(cluster=world.c6, year=2025)
    page.goto(live_server.url + next_year.get_absolute_url())
    expect(page.locator("#members")).to_contain_text("Đơn vị B")
    expect(page.locator("#members tr", has_text="Đơn vị B")).to_contain_text("Cụm trưởng")
    expect(page.locator("#advance-form")).to_be_visible()
    assert next_year.handover_date == datetime.date(2024, 11, 1)
