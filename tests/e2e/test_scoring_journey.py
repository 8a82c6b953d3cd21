"""The scoring journey in Chromium: a unit fills and submits, the cluster officer reviews and approves."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from clusters.models import ClusterYear
from scoring.models import Sheet
from tests.conftest import make_world
from tests.factories import DEFAULT_PASSWORD, attach, make_criteria_set

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

POINTS = {"1.1": "35,5", "1.2": "20", "2.1": "40", "3.1": "8", "3.2": "7,25", "4.1": "2"}


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}{reverse('login')}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("#submit")
    expect(page.locator("#welcome")).to_be_visible()


def row(page: Page, code: str):
    return page.locator(f'tr[data-code="{code}"]')


def test_unit_fills_and_submits_then_officer_reviews_and_approves(live_server, page: Page, tmp_path):
    world = make_world()
    criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(
        phase="scoring", self_assessment_due=timezone.localdate() + datetime.timedelta(days=30)
    )
    sheet_url = live_server.url + reverse("scoring:sheet", args=[world.y6.pk, world.units["B"].pk])
    evidence = tmp_path / "bien-ban-kiem-tra.pdf"
    evidence.write_bytes(b"%PDF-1.4 bien ban")

    # The unit's clerk fills the sheet; the totals follow the typing.
    log_in(page, live_server.url, "staff_b")
    page.goto(sheet_url)
    expect(page.locator("h1")).to_contain_text("Phiếu chấm điểm: Đơn vị B")
    for code, value in POINTS.items():
        row(page, code).locator("input.points").fill(value)
    expect(page.locator("#self-total")).to_have_text("103,5")  # 95,5 + min(15,25; 10) − 2
    expect(page.locator('[data-subtotal="4"]')).to_have_text("-2")
    expect(page.locator("#evidence-text")).to_have_text("Thiếu minh chứng: 1")
    row(page, "1.2").locator("input[type=file]").set_input_files(str(evidence))
    expect(page.locator("#evidence-text")).to_have_text("")
    expect(page.locator("#progress-text")).to_have_text("Đã chấm: 6/7 tiêu chí")
    page.click("#submit-sheet")
    expect(page.locator(".alert-success")).to_have_text("Phiếu đã được nộp cho cụm.")
    expect(page.locator("#sheet-status")).to_have_text("Đã nộp")
    expect(row(page, "1.2")).to_contain_text("bien-ban-kiem-tra.pdf")
    page.click("#logout")

    # The cluster officer of the chair changes one score with a reason and approves.
    log_in(page, live_server.url, "officer_a")
    page.goto(sheet_url)
    page.click("#review-link")
    row(page, "2.1").locator("input.points").fill("36")
    page.click("#save-review")
    expect(row(page, "2.1")).to_contain_text("Hãy ghi lý do điểm thẩm định khác điểm đơn vị tự chấm.")
    row(page, "2.1").locator("textarea[name$='reason_%d']" % criteria_set.criteria.get(code="2.1").pk).fill(
        "Thiếu kết quả bắn đạn thật"
    )
    page.click("#save-review")
    expect(page.locator(".alert-success")).to_have_text("Đã lưu kết quả thẩm định.")
    page.click("#accept-rest")
    page.click("#approve-sheet")
    expect(page.locator("#sheet-status")).to_have_text("Đã phê duyệt")
    expect(page.locator("#official-total")).to_have_text("99,5")

    # The lineage on the sheet shows the change with its reason.
    page.goto(sheet_url)
    lineage = row(page, "2.1").locator("details.lineage")
    lineage.locator("summary").click()
    expect(lineage).to_contain_text("Điểm thẩm định: 36")
    expect(lineage).to_contain_text("Thiếu kết quả bắn đạn thật")
    expect(lineage).to_contain_text("Điểm tự chấm: 40")
    sheet = Sheet.objects.get(cluster_year=world.y6, unit=world.units["B"])
    assert (sheet.status, sheet.approved_by.username) == ("approved", "officer_a")
