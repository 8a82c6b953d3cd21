"""
The demo, awards part and the whole loader (``manage.py load_demo``).

``clusters.demo`` creates the units, the clusters, the accounts and the first
years; ``scoring.demo`` scores a year up to the conference. This part drives
Cụm Thi đua số 6 through its years in order, each conference opening the next
year:

    2022 scored → conference → 2023 opened and scored → conference → 2024 …
    → conference of 1 November 2024 → 2025 opened, in self-assessment.

Each conference, on the afternoon of its day in Hà Nội: the cluster officer of
the year's chair opens the leader vote (electronic, secret, the four members
present) among the rank-1 units of the frozen results; each member unit casts
one ballot, all four agreeing on the leader; the officer closes the vote (the
leader is acclaimed 4/4) and finishes the conference, which opens next year
with the chair and vice chair of the cluster's policy (the leader chairs, the
runner-up is vice chair), next year's criteria set and the handover on the
conference's day, and closes the year. The deadlines of the opened year are
then set by ``admin``.

2024 is the seed article: presided over by Major General Nguyễn Quốc Toản,
the conference acclaimed Trường Quân sự Bộ Tư lệnh and handed it the chair of
2025, Sư đoàn Bộ binh 301 vice chair. The 2022 and 2023 conferences (their
days and presiding officers) are invented for the demo.

Awards: after the conferences of 2023 and 2024 the officer of the year's chair
proposes, with ``awarding.propose_defaults``, every unit for every award of the
catalogue it qualifies for within the quotas (in 2024 the School, acclaimed,
for the Command's flag). The Command (``btl``) then decides 2023: decision
231/QĐ-BTL of 20 December 2023 (number and date invented), signed by the
Commander ("Tư lệnh", the role), grants every 2023 proposal of an award the
Command decides; those of the Ministry or the Government stay proposed. 2024
stays proposed. 2023 is proposed and decided before 2024 is scored, in the
order of the years, so 2024's eligibility reads the 2023 grants.

Loading is idempotent: a cluster whose years already exist is left as it is.
"""

import datetime
import importlib
from dataclasses import dataclass

from django.apps import apps as django_apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from clusters import demo as cluster_demo
from clusters.demo import CLUSTER_6, CLUSTER_7, DEMO_PASSWORD
from clusters.models import ClusterYear, RoleAssignment
from scoring import demo as scoring_demo

from . import awarding, services
from .models import AwardType, Conference, Proposal, Vote

__all__ = ["DEMO_PASSWORD", "load_demo"]

PLACE = "Hà Nội"


@dataclass(frozen=True)
class ConferenceDay:
    held_on: datetime.date
    presiding: str


CONFERENCES = {
    2022: ConferenceDay(datetime.date(2022, 11, 4),
                        "Đại diện Thủ trưởng Cục Chính trị Bộ Tư lệnh Thủ đô Hà Nội"),
    2023: ConferenceDay(datetime.date(2023, 11, 3),
                        "Đại diện Thủ trưởng Bộ Tư lệnh Thủ đô Hà Nội"),
    2024: ConferenceDay(datetime.date(2024, 11, 1),
                        "Thiếu tướng Nguyễn Quốc Toản, Phó Tư lệnh Bộ Tư lệnh Thủ đô Hà Nội"),
}
CLOSED_YEARS = tuple(CONFERENCES)  # 2022, 2023, 2024; the last conference opens 2025
PROPOSED_YEARS = (2023, 2024)  # proposals after the conference (2022 has none)


@dataclass(frozen=True)
class DecisionSpec:
    number: str
    date: datetime.date
    authority: str
    signer: str  # the signer's role, not a person


# The Command's decision on a year's proposals (invented for the demo).
DECISIONS = {
    2023: DecisionSpec("231/QĐ-BTL", datetime.date(2023, 12, 20), "Bộ Tư lệnh Thủ đô Hà Nội", "Tư lệnh"),
}
# Awards decided above the Command (the Minister, the Prime Minister): its decision does not grant them.
HIGHER_AUTHORITY = ("co-thi-dua-bqp", "bang-khen-bqp", "bang-khen-ttg")


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(day.year, day.month, day.day, hour, minute))


def hold_conference(story: scoring_demo.Story, cluster_year: ClusterYear) -> ClusterYear:
    """The leader vote and the conference of a year in the conference phase; returns next year."""
    day = CONFERENCES[cluster_year.year]
    officer = story.officer_of(cluster_year)
    members = [m.unit for m in cluster_year.memberships.select_related("unit").order_by("unit__name")]
    vote = services.prepare_vote(
        cluster_year=cluster_year, by=officer, now=_at(day.held_on, 14), mode=Vote.Mode.ELECTRONIC,
        present=members,
    )
    leader = vote.candidates.get()  # the one rank-1 unit of the frozen results (no tie at the top)
    for spec in scoring_demo.ORDER_6:
        # The ballot of each unit-staff account's unit: all four agree on the leader.
        staff = RoleAssignment.objects.get(user=story.user(scoring_demo.STAFF[spec]),
                                           role=RoleAssignment.Role.UNIT_STAFF)
        services.cast_ballot(vote=vote, unit=staff.unit, choices={leader.pk: "agree"}, by=staff.user)
    vote = services.close_vote(vote=vote, by=officer, now=_at(day.held_on, 14, 30))
    return services.finish_conference(
        cluster_year=cluster_year, by=officer, now=_at(day.held_on, 16), held_on=day.held_on, place=PLACE,
        presiding=day.presiding,
    )


def propose(story: scoring_demo.Story, cluster_year: ClusterYear) -> list[Proposal]:
    """The officer of the year's chair proposes the defaults, the evening of the conference."""
    day = CONFERENCES[cluster_year.year].held_on
    return awarding.propose_defaults(cluster_year=cluster_year, by=story.officer_of(cluster_year),
                                     now=_at(day, 17))


def decide(story: scoring_demo.Story, year: int, proposals: list[Proposal]):
    """The Command's decision granting the year's proposals of the awards it decides (recorded by ``btl``)."""
    spec = DECISIONS[year]
    granted = [p for p in proposals if p.award_type.code not in HIGHER_AUTHORITY]
    return awarding.record_decision(
        superior=story.demo.superior, number=spec.number, date=spec.date, authority=spec.authority,
        signer=spec.signer, year=year, grants=[(p.unit, p.award_type, p) for p in granted],
        by=story.user("btl"), now=_at(spec.date, 10),
    )


def cluster_6(story: scoring_demo.Story, first: ClusterYear, now: datetime.datetime) -> ClusterYear:
    """
    2022 → 2025 in order: score, hold the conference (which opens next year),
    propose the awards and record the Command's decision, set next year's deadlines.
    """
    cluster_year = first
    for year in CLOSED_YEARS:
        assert cluster_year.year == year, (cluster_year.year, year)
        cluster_year = story.score_year(cluster_year)
        closed = cluster_year
        cluster_year = hold_conference(story, cluster_year)
        if year in PROPOSED_YEARS:
            proposals = propose(story, closed)
            if year in DECISIONS:
                decide(story, year, proposals)
        if cluster_year.year in CLOSED_YEARS:
            cluster_year = story.schedule(cluster_year, *scoring_demo.deadlines(cluster_year.year))
    return story.open_year(cluster_year, now)


def counts() -> dict[str, int]:
    counted = scoring_demo.counts()
    users = counted.pop("users")
    return counted | {
        "votes": Vote.objects.count(),
        "conferences": Conference.objects.count(),
        "users": users,
    }


@transaction.atomic
def ensure_catalogue() -> None:
    """
    The award catalogue as migration 0003 seeds it. A database emptied after
    migrating (``flush``, or the browser tests' transactional cases) has lost
    it; the same seeding function puts it back (it updates by code).
    """
    if not AwardType.objects.exists():
        seeding = importlib.import_module("awards.migrations.0003_seed_award_catalogue")
        seeding.seed(django_apps, None)


def load_demo(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Create what is missing of the whole demo; return how many objects each kind now has."""
    # The texts the services write (vote explanations, phase reasons) in the site's language.
    with translation.override(settings.LANGUAGE_CODE):
        ensure_catalogue()
        demo = cluster_demo.load()
        new = demo.new_years
        if new:
            story = scoring_demo.Story(demo, scoring_demo.criteria_sets(demo.superior))
            if (CLUSTER_6, 2022) in new:
                cluster_6(story, new[CLUSTER_6, 2022], now or timezone.now())
            if (CLUSTER_7, 2024) in new:
                story.cluster_7({year: new[CLUSTER_7, year] for year in (2023, 2024)})
    return counts()
