"""
Real parallel writers (threads with their own database connections). SQLite
serialises whole-database writes and the in-memory test database is not shared
across threads, so these run on PostgreSQL: `.ci/run` runs the suite there.
"""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone

from clusters.models import ClusterYear
from scoring import services
from scoring.models import Score, ScoreEvent, Sheet
from tests.conftest import make_world
from tests.factories import attach, make_criteria_set

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel connections need PostgreSQL"),
]


def run_together(*calls):
    """Start the calls at the same instant, each in its own thread and connection; return results or errors."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as error:  # noqa: BLE001 - the test inspects what each writer got
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


@pytest.fixture
def open_sheet():
    world = make_world()
    criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="scoring")
    world.y6.refresh_from_db()
    world.ids = {c.code: c.pk for c in criteria_set.criteria.all()}
    world.sheet = services.save_self_assessment(
        cluster_year=world.y6, unit=world.units["B"], entries={}, version=0, by=world.users["staff_b"],
        now=timezone.now(), today=datetime.date(2024, 5, 1),
    )
    return world


def test_two_saves_of_the_same_version_one_wins_the_other_is_told(open_sheet):
    w = open_sheet

    def save(points):
        return lambda: services.save_self_assessment(
            cluster_year=w.y6, unit=w.units["B"], entries={w.ids["1.1"]: services.Entry(points=points)},
            version=w.sheet.version, by=w.users["staff_b"], now=timezone.now(), today=datetime.date(2024, 5, 1),
        )

    results = run_together(save("11"), save("22"))
    winners = [r for r in results if isinstance(r, Sheet)]
    losers = [r for r in results if isinstance(r, services.SheetConflict)]
    assert (len(winners), len(losers)) == (1, 1)
    stored = Score.objects.get(sheet=w.sheet, criterion_id=w.ids["1.1"]).self_points
    recorded = list(ScoreEvent.objects.filter(kind="self_points").values_list("new_value", flat=True))
    assert (stored, recorded) in [(Decimal("11"), ["11"]), (Decimal("22"), ["22"])]
    assert Sheet.objects.get(pk=w.sheet.pk).version == w.sheet.version + 1


def test_two_officers_approving_at_once_approve_once(open_sheet):
    w = open_sheet
    now, today = timezone.now(), datetime.date(2024, 5, 1)
    entries = {w.ids[c]: services.Entry(points="1") for c in ("1.1", "2.1")}
    entries[w.ids["1.2"]] = services.Entry(points="0")  # no points, so no evidence needed
    sheet = services.save_self_assessment(cluster_year=w.y6, unit=w.units["B"], entries=entries,
                                          version=w.sheet.version, by=w.users["staff_b"], now=now, today=today)
    sheet = services.submit_sheet(cluster_year=w.y6, unit=w.units["B"], version=sheet.version,
                                  by=w.users["staff_b"], now=now, today=today)

    def approve(user):
        return lambda: services.review_sheet(sheet=sheet, version=sheet.version, accept_rest=True, outcome="approved",
                                             by=w.users[user], now=timezone.now())

    results = run_together(approve("officer_a"), approve("command"))
    assert sorted(type(r).__name__ for r in results) == ["Sheet", "SheetConflict"]
    assert ScoreEvent.objects.filter(kind="status", new_value="approved").count() == 1
