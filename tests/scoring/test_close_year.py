"""
Closing the scoring of a whole year in one pass (issue #7 target 4): ``close_scoring_year`` writes
exactly what ``close_scoring`` writes cluster year by cluster year (snapshots, results, phase
changes, history, audit rows), skips the cluster years not ready (as ``close_scoring`` refuses
them), and reads and writes in a number of queries that does not grow with the clusters.
"""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clusters.models import AuditEvent, ClusterYear, PhaseChange, Superior, User
from scoring.models import Result, ResultSnapshot, Score, Sheet
from scoring.ranking import SHARED
from scoring.services import close_scoring, close_scoring_year

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2026, 1, 10, 9, 0))
MARK = "(dữ liệu sinh tự động)"
YEAR = 2017  # the last of the two generated years: in review, every sheet approved


def generate(name: str, prefix: str, clusters: int) -> Superior:
    sizes = ["--clusters", str(clusters), "--units-per-cluster", "3", "--criteria", "8", "--years", "2"]
    call_command("generate_load", *sizes, "--superior-name", f"{name} {MARK}", "--account-prefix", prefix,
                 "--force", stdout=io.StringIO())
    return Superior.objects.get(name=f"{name} {MARK}")


def written(superior, since: dict) -> dict:
    """Everything closing the year writes, without ids or the history's own timestamps."""
    years = ClusterYear.objects.filter(cluster__superior=superior, year=YEAR)
    snapshots = ResultSnapshot.objects.filter(cluster_year__in=years).order_by("cluster_year", "number")
    results = Result.objects.filter(snapshot__cluster_year__in=years).order_by(
        "snapshot__cluster_year", "snapshot__number", "rank", "unit__name")
    changes = PhaseChange.objects.filter(pk__gt=since["change"]).order_by("pk")
    history = ClusterYear.history.filter(history_id__gt=since["history"]).order_by("history_id")
    # Audit rows have random ids: compared in the order of their cluster year and action.
    audit = AuditEvent.objects.exclude(pk__in=since["audit"]).values_list(
        "when", "actor", "actor_name", "action", "reason", "detail", "ip_address", "target_type", "target_id",
        "target_repr")
    return {
        "phases": list(years.order_by("pk").values_list("pk", "phase")),
        "snapshots": list(snapshots.values_list(
            "cluster_year", "criteria_set", "number", "is_current", "created_at", "created_by", "reason",
            "checksum")),
        "results": list(results.values_list(
            "snapshot__cluster_year", "snapshot__number", "unit", "standard", "bonus", "deduction", "total",
            "groups", "rank", "tied", "band", "separated_by", "gap")),
        "phase_changes": list(changes.values_list(
            "cluster_year", "from_phase", "to_phase", "changed_by", "changed_at", "reason")),
        "history": list(history.values_list("id", "phase", "history_type", "history_user",
                                            "history_change_reason")),
        "audit": sorted(audit, key=lambda row: (int(row[8]), row[3], sorted(row[5].items()))),
    }


def marks() -> dict:
    def last(qs, field="pk"):
        return qs.order_by(f"-{field}").values_list(field, flat=True).first() or 0

    return {"change": last(PhaseChange.objects), "history": last(ClusterYear.history, "history_id"),
            "audit": set(AuditEvent.objects.values_list("pk", flat=True))}


class Undo(Exception):
    pass


def test_batch_writes_what_close_scoring_writes_per_cluster():
    superior = generate("Cấp trên đóng năm", "cy", clusters=4)
    by = User.objects.get(username="cy_command")
    years = list(ClusterYear.objects.filter(cluster__superior=superior, year=YEAR).order_by("pk"))
    tied, pending, scoring, _ready = years
    # A shared rank: the second unit of the first cluster year gets the first one's official points.
    sheets = list(Sheet.objects.filter(cluster_year=tied).order_by("unit__name"))
    for score in Score.objects.filter(sheet=sheets[0]):
        Score.objects.filter(sheet=sheets[1], criterion=score.criterion).update(
            official_points=score.official_points)
    # Not ready: a sheet back under review. Two phase steps: a year in self-assessment.
    Sheet.objects.filter(pk=Sheet.objects.filter(cluster_year=pending).first().pk).update(
        status=Sheet.Status.SUBMITTED)
    ClusterYear.objects.filter(pk=scoring.pk).update(phase=ClusterYear.Phase.SCORING)

    since = marks()
    with pytest.raises(Undo), transaction.atomic():
        snapshots = close_scoring_year(superior=superior, year=YEAR, by=by, now=NOW,
                                       reason="Hội nghị cuối năm")
        batch = written(superior, since)
        raise Undo
    refused = []
    for cluster_year in years:
        try:
            close_scoring(cluster_year=cluster_year, by=by, now=NOW, reason="Hội nghị cuối năm")
        except ValidationError as error:
            refused.append((cluster_year.pk, error.messages))
    one_by_one = written(superior, since)

    assert [s.cluster_year_id for s in snapshots] == [tied.pk, scoring.pk, _ready.pk]
    assert [pk for pk, _messages in refused] == [pending.pk]
    for key in batch:
        assert batch[key] == one_by_one[key], key
    phases = dict(one_by_one["phases"])
    assert phases[pending.pk] == ClusterYear.Phase.REVIEW
    assert {phases[cy.pk] for cy in (tied, scoring, _ready)} == {ClusterYear.Phase.CONFERENCE}
    assert len(one_by_one["phase_changes"]) == 4 and len(one_by_one["history"]) == 4
    assert [a[3] for a in one_by_one["audit"]].count("scoring_closed") == 3
    first = [r for r in one_by_one["results"] if r[0] == tied.pk][:2]
    assert first[0][8] == first[1][8] == 1 and first[0][9] and first[1][11] == SHARED
    assert len(one_by_one["results"]) == 9


def test_a_closed_year_is_skipped_and_nothing_left_returns_nothing():
    superior = generate("Cấp trên đóng lại", "cz", clusters=2)
    by = User.objects.get(username="cz_command")
    first = close_scoring_year(superior=superior, year=YEAR, by=by, now=NOW)
    assert len(first) == 2
    assert close_scoring_year(superior=superior, year=YEAR, by=by, now=NOW) == []
    snapshots = ResultSnapshot.objects.filter(cluster_year__cluster__superior=superior,
                                              cluster_year__year=YEAR)
    assert snapshots.count() == 2


def test_queries_do_not_grow_with_the_clusters():
    counts = []
    for name, prefix, clusters in (("Cấp trên nhỏ", "qa", 2), ("Cấp trên lớn", "qb", 6)):
        superior = generate(name, prefix, clusters=clusters)
        by = User.objects.get(username=f"{prefix}_command")
        with CaptureQueriesContext(connection) as queries:
            closed = close_scoring_year(superior=superior, year=YEAR, by=by, now=NOW)
        assert len(closed) == clusters
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 18  # with the savepoint of the service's own transaction


def test_closing_a_year_renews_the_cached_closed_year_pages():
    """Its snapshots come by bulk_create (no post_save): the cached pages must still learn of them."""
    from scoring.ranking import frozen_generation

    superior = generate("Cấp trên bộ nhớ đệm", "cg", clusters=2)
    by = User.objects.get(username="cg_command")
    before = frozen_generation()
    assert len(close_scoring_year(superior=superior, year=YEAR, by=by, now=NOW)) == 2
    assert frozen_generation() != before
