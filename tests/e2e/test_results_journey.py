"""The command officer's journey in Chromium: overview → Cụm 6 in 2024 → the ranking → the Excel summary."""

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from awards.demo import load_demo
from clusters.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_command_officer_drills_into_cluster_6_2024_and_downloads_the_summary(live_server, page: Page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    load_demo()
    page.goto(f"{live_server.url}/")
    page.fill("input[name=username]", "btl")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("#submit")
    page.click("text=Bộ Tư lệnh Thủ đô Hà Nội")
    expect(page.locator("h1")).to_contain_text("Tổng quan toàn đơn vị")
    page.select_option("#overview-filter select[name=year]", "2024")
    page.click("#overview-filter button")
    row = page.locator("#overview-table tbody tr", has_text="Cụm Thi đua số 6")
    expect(row.locator(".progress-cell")).to_have_text("4 / 4 / 4")
    expect(row.locator(".leader")).to_contain_text("Trường Quân sự Bộ Tư lệnh")
    expect(row.locator(".leader")).to_contain_text("chính thức")
    row.locator(".leader a").click()

    expect(page.locator("h1")).to_have_text("Xếp hạng Cụm Thi đua số 6 năm 2024")
    first = page.locator("#ranking-table tbody tr").first
    expect(first.locator(".rank")).to_have_text("1")
    expect(first).to_contain_text("Trường Quân sự Bộ Tư lệnh")
    expect(first).to_contain_text("106,5")
    expect(page.locator("#ranking-status")).to_contain_text("Kết quả chính thức")

    with page.expect_download() as info:
        page.click("#summary-xlsx")
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    sheet = load_workbook(path).active
    values = [cell for row in sheet.iter_rows(values_only=True) for cell in row if cell]
    assert "Trường Quân sự Bộ Tư lệnh" in values
    assert download.suggested_filename.startswith("tong-hop-diem-2024-")
