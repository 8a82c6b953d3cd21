"""The browser journeys run under the Content-Security-Policy: any refusal Chromium reports fails the test."""

import pytest
from playwright.sync_api import Page


@pytest.fixture
def page(page: Page):
    """pytest-playwright's page, failing the test on a CSP violation reported to the console."""
    refused = []

    def listen(message) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", listen)
    yield page
    assert refused == []
