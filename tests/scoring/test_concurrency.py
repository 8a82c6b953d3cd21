"""
Real parallel writers (threads with their own database connections). SQLite
serialises whole-database writes and the in-memory test database is not shared
across threads, so these run on PostgreSQL: `.ci/run` runs the suite there.
"""

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.utils import timezone

from clusters.models import ClusterYear
from scoring import ranking, services
from scoring.models import ResultSnapshot, Score, ScoreEvent, Sheet
from tests.conftest import make_world
from tests.factories import attach, make_criteria_set
from tests.scoring.test_ranking import approved

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


# --- closing the scoring while sheets are written ----------------------------------------------

def snapshot_is_consistent(cluster_year) -> ResultSnapshot:
    """The current snapshot's checksum is what its rows give, and its rows are the ranking of the sheets now."""
    snapshot = ResultSnapshot.objects.get(cluster_year=cluster_year, is_current=True)
    rows = list(snapshot.results.select_related("unit").order_by("rank", "unit__name"))
    assert services._checksum(cluster_year, snapshot.criteria_set_id, rows) == snapshot.checksum
    live = ranking.live_ranking(cluster_year)
    assert [(r.unit.pk, r.total, r.rank) for r in rows] == [(r.unit.pk, r.total, r.rank) for r in live.rows]
    return snapshot


@pytest.fixture
def in_review():
    """Cụm 6 2024 in review: A and B approved (90, 80), C submitted with 70 (its official points not yet set)."""
    world = make_world()
    world.criteria_set = make_criteria_set(superior=world.superior)
    attach(world.y6, world.criteria_set)
    ClusterYear.objects.filter(pk=world.y6.pk).update(phase="review")
    world.y6.refresh_from_db()
    for name, points in (("A", {"1.1": "40", "2.1": "40", "1.2": "10"}), ("B", {"1.1": "40", "2.1": "40"})):
        approved(world, world.units[name], points)
    world.sheet_c = Sheet.objects.create(cluster_year=world.y6, unit=world.units["C"], criteria_set=world.criteria_set,
                                         status=Sheet.Status.SUBMITTED)
    for criterion in world.criteria_set.criteria.exclude(kind="group"):
        Score.objects.create(sheet=world.sheet_c, criterion=criterion,
                             self_points=Decimal({"1.1": "30", "2.1": "40"}.get(criterion.code, "0")))
    return world


def hold_then(first, hold: threading.Event, seconds: float = 0.5):
    """Run ``first`` in a transaction and keep it open (its row locks held) a moment after saying so."""
    def call():
        with transaction.atomic():
            result = first()
            hold.set()
            time.sleep(seconds)
        return result
    return call


def after(hold: threading.Event, second):
    """Run ``second`` once the other thread holds its locks; return its result and how long it took."""
    def call():
        assert hold.wait(10)
        start = time.monotonic()
        try:
            return second(), time.monotonic() - start
        except ValidationError as error:
            return error, time.monotonic() - start
    return call


def test_closing_while_the_last_sheet_is_approved_waits_and_freezes_the_approval(in_review):
    w = in_review
    hold = threading.Event()
    approve = hold_then(lambda: services.review_sheet(sheet=w.sheet_c, accept_rest=True, outcome="approved",
                                                      by=w.users["command"], now=timezone.now()), hold)
    close = after(hold, lambda: services.close_scoring(cluster_year=w.y6, by=w.users["officer_a"], now=timezone.now()))

    approval, (snapshot, waited) = run_together(approve, close)

    assert isinstance(approval, Sheet) and isinstance(snapshot, ResultSnapshot), (approval, snapshot)
    assert waited >= 0.3  # the close queued behind the approval's lock on the year
    frozen = snapshot_is_consistent(w.y6)
    assert dict(frozen.results.values_list("unit__name", "total")) == {
        "Đơn vị A": Decimal("90"), "Đơn vị B": Decimal("80"), "Đơn vị C": Decimal("70")}


def test_a_unit_saving_while_the_year_closes_is_in_the_refusal_and_not_lost(in_review):
    """The unit's save holds the year; the close then finds the sheet not approved and says whose."""
    w = in_review
    Sheet.objects.filter(pk=w.sheet_c.pk).update(status=Sheet.Status.RETURNED)
    hold = threading.Event()
    save = hold_then(lambda: services.save_self_assessment(
        cluster_year=w.y6, unit=w.units["C"], entries={w.criteria_set.criteria.get(code="1.1").pk: services.Entry(points="33")},
        version=1, by=w.users["staff_c"], now=timezone.now(), today=datetime.date(2024, 10, 20)), hold)
    close = after(hold, lambda: services.close_scoring(cluster_year=w.y6, by=w.users["officer_a"], now=timezone.now()))

    saved, (refusal, waited) = run_together(save, close)

    assert isinstance(saved, Sheet), saved
    assert waited >= 0.3
    assert refusal.messages == [str(services.SHEETS_PENDING % {"units": "Đơn vị C"})]
    assert Score.objects.get(sheet=w.sheet_c, criterion__code="1.1").self_points == Decimal("33")
    assert (ResultSnapshot.objects.count(), ClusterYear.objects.get(pk=w.y6.pk).phase) == (0, "review")


def test_an_amendment_queued_behind_the_close_lands_after_the_snapshot(in_review):
    w = in_review
    services.review_sheet(sheet=w.sheet_c, accept_rest=True, outcome="approved", by=w.users["command"],
                          now=timezone.now())
    hold = threading.Event()
    close = hold_then(lambda: services.close_scoring(cluster_year=w.y6, by=w.users["officer_a"], now=timezone.now()),
                      hold)
    criterion = w.criteria_set.criteria.get(code="1.1")
    amend = after(hold, lambda: services.amend_official_points(
        sheet=w.sheet_c, criterion=criterion, points="20", reason="Phúc tra", by=w.users["command"],
        now=timezone.now()))

    first, (second, waited) = run_together(close, amend)

    assert (first.number, second.number) == (1, 2), (first, second)
    assert waited >= 0.3
    assert list(ResultSnapshot.objects.filter(cluster_year=w.y6).order_by("number").values_list(
        "number", "is_current")) == [(1, False), (2, True)]
    assert snapshot_is_consistent(w.y6).results.get(unit=w.units["C"]).total == Decimal("60")


def test_a_review_and_a_unit_save_of_one_sheet_never_deadlock(in_review):
    """
    Every writer of a sheet locks the year, then the sheet. (The review used to lock the sheet and the
    year in one statement, sheet first, crosswise to the unit's save: PostgreSQL then aborted one of
    them with a deadlock, a server error.)
    """
    w = in_review
    criterion = w.criteria_set.criteria.get(code="2.1")
    outcomes = []
    for round_ in range(12):
        version = Sheet.objects.get(pk=w.sheet_c.pk).version

        def review(points=str(30 + round_ % 5), version=version):
            return services.review_sheet(sheet=w.sheet_c, version=version, by=w.users["command"], now=timezone.now(),
                                         decisions={criterion.pk: services.Decision(points, "Điều chỉnh")})

        def stale_save(version=version):
            return services.save_self_assessment(
                cluster_year=w.y6, unit=w.units["C"], entries={criterion.pk: services.Entry(points="1")},
                version=version, by=w.users["staff_c"], now=timezone.now(), today=datetime.date(2024, 10, 20))

        outcomes += run_together(review, stale_save)
    unexpected = [o for o in outcomes if not isinstance(o, (Sheet, ValidationError))]
    assert unexpected == []
    assert sum(isinstance(o, Sheet) for o in outcomes) == 12  # every review landed; every unit save refused
