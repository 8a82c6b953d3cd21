"""
Fixtures of the hostile-input tests: the private storage in a temporary folder
and the runner of one example (see helpers.py).
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from awards.models import Decision
from scoring.models import Evidence, PrivateStorage
from tests.awards.conftest import conference  # noqa: F401  (fixtures reused here)
from tests.scoring.conftest import scoring  # noqa: F401

from .helpers import ACCEPTED, RUN, Example


@pytest.fixture
def private_media(settings, tmp_path, monkeypatch):
    """Evidence and decision scans stored under a temporary MEDIA_ROOT, by the project's private storage."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EVIDENCE_MAX_MB = 1
    storage = PrivateStorage()
    monkeypatch.setattr(Evidence._meta.get_field("file"), "storage", storage)
    monkeypatch.setattr(Decision._meta.get_field("scan"), "storage", storage)
    return settings.MEDIA_ROOT


@pytest.fixture
def example(client, world, private_media):
    client.raise_request_exception = True
    return Example(client, private_media, world.users)


def pdf(name: str = "bien-ban.pdf", content: bytes = b"%PDF-1.4 minh chung") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def pytest_terminal_summary(terminalreporter):
    if RUN:
        terminalreporter.write_sep("-", "hostile input: examples run")
        for name, n in sorted(RUN.items()):
            accepted = f", {ACCEPTED[name]} accepted" if name in ACCEPTED else ""
            terminalreporter.write_line(f"{name}: {n} examples{accepted}")
        terminalreporter.write_line(f"total: {sum(RUN.values())}")
