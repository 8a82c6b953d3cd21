"""Awards in Chromium: the chair's officer reviews the proposals and the letter; the command decides; history shows it."""

import pytest
from playwright.sync_api import Page, expect

from awards.demo import load_demo
from clusters.demo import DEMO_PASSWORD
from clusters.models import ClusterYear

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("#submit")
    expect(page.locator("#welcome")).to_be_visible()


def test_proposals_letter_decision_and_history(live_server, page: Page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    load_demo()
    y2024 = ClusterYear.objects.get(cluster__name="Cụm Thi đua số 6", year=2024)

    # The 2024 chair's officer (Sư đoàn 301) reviews the generated proposals and downloads the letter.
    log_in(page, live_server.url, "cumtruong6")
    page.goto(f"{live_server.url}/cluster-years/{y2024.pk}/conference/")
    page.click("#proposals-link")
    row = page.locator("#proposals tbody tr", has_text="Cờ thi đua của Bộ Tư lệnh")
    expect(row).to_contain_text("Trường Quân sự Bộ Tư lệnh")
    expect(page.locator("#eligibility")).to_contain_text("không phải đơn vị được suy tôn dẫn đầu Cụm")
    with page.expect_download() as info:
        page.click("#letter-link")
    assert info.value.suggested_filename.startswith("to-trinh-khen-thuong-2024-")
    page.click("#logout")

    # The command officer records the Capital Command's decision for the flag.
    log_in(page, live_server.url, "btl")
    page.goto(f"{live_server.url}/overview/awards/?year=2024")
    page.fill("#id_number", "15/QĐ-BTL")
    page.fill("#id_date", "2024-12-20")
    page.fill("#id_authority", "Bộ Tư lệnh Thủ đô Hà Nội")
    page.fill("#id_signer", "Tư lệnh")
    page.locator("#decision-form label", has_text="Trường Quân sự Bộ Tư lệnh – Cờ thi đua của Bộ Tư lệnh").click()
    page.click("#record-decision")
    expect(page.locator(".alert-success")).to_have_text("Đã ghi nhận quyết định.")
    expect(page.locator(".decision").first).to_contain_text("15/QĐ-BTL")
    page.click("#logout")

    # The School's staff see it in the unit's award history.
    log_in(page, live_server.url, "tqs")
    page.click("text=Trường Quân sự Bộ Tư lệnh")
    page.click("#awards-link")
    expect(page.locator("#award-history")).to_contain_text("Cờ thi đua của Bộ Tư lệnh")
    expect(page.locator("#award-history")).to_contain_text("15/QĐ-BTL")
