from django.core.cache import cache
from django.core.management.base import BaseCommand

from awards.demo import DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = (
        "Load the demo: Cụm Thi đua số 6 of the Hanoi Capital Command with its criteria, sheets, reviews, "
        "leader votes and conferences 2022–2024 and 2025 open for self-assessment, and a second cluster. "
        "Idempotent."
    )

    def handle(self, *args, **options) -> None:
        counts = load_demo()
        # The cache may hold sessions, users and rankings of a database since replaced (ids are reused).
        cache.clear()
        summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        line = f"Demo ready: {summary}. Password of every demo account: {DEMO_PASSWORD}"
        self.stdout.write(self.style.SUCCESS(line))
