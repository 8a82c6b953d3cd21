"""Browser journeys in Debian's Chromium against the live server."""

import pytest
from playwright.sync_api import Page, expect

from awards.demo import load_demo
from clusters.demo import DEMO_PASSWORD
from clusters.models import ClusterYear

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/")
    expect(page.locator("h1")).to_have_text("Đăng nhập")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("#submit")


def test_unit_staff_logs_in_and_sees_its_cluster_in_vietnamese(live_server, page: Page):
    load_demo()
    log_in(page, live_server.url, "tqs")
    expect(page.locator("#welcome")).to_have_text("Xin chào, Trợ lý thi đua Trường Quân sự")
    page.click("text=Trường Quân sự Bộ Tư lệnh")
    table = page.locator("#unit-memberships")
    due = ClusterYear.objects.get(cluster__name="Cụm Thi đua số 6", year=2025).self_assessment_due
    expect(table.locator("tbody tr").first).to_contain_text("2025")
    expect(table.locator("tbody tr").first).to_contain_text("Cụm Thi đua số 6")
    expect(table.locator("tbody tr").first).to_contain_text(f"Đang mở tự chấm điểm (hạn {due:%d/%m/%Y}).")
    page.click("#unit-memberships tbody tr >> nth=0 >> text=Cụm Thi đua số 6")
    expect(page.locator("#chair-history li").first).to_contain_text("Cụm trưởng: Trường Quân sự Bộ Tư lệnh")
    expect(page.locator("#chair-history li").nth(1)).to_contain_text("Cụm trưởng: Sư đoàn Bộ binh 301")
    # Bootstrap is served by the app itself: the navbar is styled.
    assert page.eval_on_selector("nav.navbar", "e => getComputedStyle(e).display") == "flex"


def test_language_switch_to_english_and_back(live_server, page: Page):
    load_demo()
    log_in(page, live_server.url, "btl")
    page.click("text=Bộ Tư lệnh Thủ đô Hà Nội")
    expect(page.locator("h1")).to_contain_text("Tổng quan toàn đơn vị")
    page.select_option("select[name=language]", "en")
    expect(page.locator("h1")).to_contain_text("Command overview")
    page.select_option("select[name=language]", "vi")
    expect(page.locator("h1")).to_contain_text("Tổng quan toàn đơn vị")
