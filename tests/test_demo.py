"""
The demo (``manage.py load_demo``): the seed's story of Cụm Thi đua số 6, written
through the services, with frozen results (and two visible ties) for 2022–2024,
each year's leader acclaimed 4/4 at its conference, which opened the next year,
the award proposals of 2023 (decided by the Command) and 2024, loaded twice
without a change, and every README account.
"""

import datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from awards import awarding, documents
from awards.demo import DEMO_PASSWORD, HIGHER_AUTHORITY, load_demo
from awards.models import Candidate, Conference, Decision, Grant, OpenChoice, Participation, Proposal, Vote
from clusters.models import Cluster, ClusterYear, Membership, RoleAssignment, User
from scoring import services
from scoring.models import CriteriaSet, Criterion, Evidence, Result, ResultSnapshot, Score, ScoreEvent, Sheet
from scoring.ranking import ranking_for

ROOT = Path(__file__).resolve().parent.parent
SD301, TQS = "Sư đoàn Bộ binh 301", "Trường Quân sự Bộ Tư lệnh"
HA_THANH, PB452 = "Công ty TNHHMTV Hà Thành", "Trung đoàn Pháo binh 452"
# The conference of each closed year: day, presiding officer (place: Hà Nội).
CONFERENCES = {
    2022: (datetime.date(2022, 11, 4), "Đại diện Thủ trưởng Cục Chính trị Bộ Tư lệnh Thủ đô Hà Nội"),
    2023: (datetime.date(2023, 11, 3), "Đại diện Thủ trưởng Bộ Tư lệnh Thủ đô Hà Nội"),
    2024: (datetime.date(2024, 11, 1), "Thiếu tướng Nguyễn Quốc Toản, Phó Tư lệnh Bộ Tư lệnh Thủ đô Hà Nội"),
}
# Each closed year: its chair and the chair's cluster officer.
CHAIRS = {
    2022: (PB452, "cumtruong6pb452"),
    2023: (HA_THANH, "cumtruong6hathanh"),
    2024: (SD301, "cumtruong6"),
}

D = Decimal
# The frozen results of Cụm 6 (the current snapshot of each closed year), in rank order:
# (unit, total, rank, tied, band, separated from the unit above by).
FROZEN = {
    2022: [
        (HA_THANH, D("97.50"), 1, False, "excellent", ""),
        (SD301, D("94.75"), 2, False, "excellent", "total"),
        (PB452, D("93.75"), 3, True, "excellent", "total"),
        (TQS, D("93.75"), 3, True, "excellent", "shared"),  # equal on every rule: "3="
    ],
    2023: [
        (SD301, D("102.00"), 1, False, "excellent", ""),
        (TQS, D("98.00"), 2, False, "excellent", "total"),
        (HA_THANH, D("96.00"), 3, False, "excellent", "total"),
        (PB452, D("96.00"), 4, False, "excellent", "standard"),  # same total, lower standard subtotal
    ],
    2024: [
        (TQS, D("106.50"), 1, False, "excellent", ""),
        (SD301, D("99.75"), 2, False, "excellent", "total"),
        (PB452, D("94.00"), 3, False, "excellent", "total"),
        (HA_THANH, D("91.75"), 4, False, "excellent", "total"),
    ],
}

# The proposals of Cụm 6 made by ``awarding.propose_defaults`` after each conference: (unit, award code).
# One title and one flag per unit: the leader Đơn vị Quyết thắng (the 20% quota of 6 units) and the Command's
# flag, the company its variant, the others Đơn vị tiên tiến. Every unit has a title, so no Giấy khen.
PROPOSED = {
    2023: sorted([
        (SD301, "don-vi-quyet-thang"), (SD301, "co-thi-dua-btl"),
        (TQS, "don-vi-tien-tien"),
        (HA_THANH, "tap-the-lao-dong-xuat-sac"),
        (PB452, "don-vi-tien-tien"),
    ]),
    2024: sorted([
        (TQS, "don-vi-quyet-thang"), (TQS, "co-thi-dua-btl"),
        (SD301, "don-vi-tien-tien"),
        (HA_THANH, "tap-the-lao-dong-xuat-sac"),
        (PB452, "don-vi-tien-tien"),
    ]),
}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def evidence_in_tmp(monkeypatch, tmp_path):
    """The demo uploads evidence files: keep them out of the checkout's media folder."""
    monkeypatch.setattr(Evidence._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path))


def cluster_6() -> Cluster:
    return Cluster.objects.get(name="Cụm Thi đua số 6", superior__name="Bộ Tư lệnh Thủ đô Hà Nội")


def every_model_count() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def frozen(year: int) -> list[tuple]:
    """The current snapshot's results of Cụm 6 in ``year``, by rank then unit name."""
    results = Result.objects.filter(
        snapshot__cluster_year__cluster=cluster_6(),
        snapshot__cluster_year__year=year,
        snapshot__is_current=True,
    ).select_related("unit")
    rows = [(r.unit.name, r.total, r.rank, r.tied, r.band, r.separated_by) for r in results]
    return sorted(rows, key=lambda row: (row[2], row[0]))


def test_loader_is_idempotent():
    first = load_demo()
    after_first = every_model_count()
    second = load_demo()
    assert every_model_count() == after_first
    assert first == second
    assert {k: v for k, v in first.items() if k != "score events"} == {
        "units": 7,
        "clusters": 2,
        "cluster years": 6,
        "criteria sets": 4,
        "sheets": 14,
        "scores": 14 * 26,
        "evidence files": 40,
        "votes": 3,
        "conferences": 3,
        "users": 12,
    }
    assert first["score events"] == ScoreEvent.objects.count() > 14 * 26
    assert Membership.objects.count() == 4 * 4 + 2 * 3
    assert (after_first["scoring.ResultSnapshot"], after_first["scoring.Result"]) == (3, 3 * 4)
    assert after_first["clusters.PhaseChange"] == 3 * 4 + 1 + 5  # Cụm 6 2022–2025, Cụm 7 2023–2024
    # One acclaiming round per closed year of Cụm 6: one candidate, four ballots, a conference.
    awards = {label: after_first[f"awards.{label}"] for label in (
        "Vote", "Candidate", "Participation", "OpenChoice", "Conference", "VoteRules",
    )}
    assert awards == {
        "Vote": 3, "Candidate": 3, "Participation": 3 * 4, "OpenChoice": 0, "Conference": 3, "VoteRules": 0,
    }
    # The proposals of 2023 and 2024, one decision of the Command granting all of 2023 (all its own awards).
    assert (after_first["awards.Proposal"], after_first["awards.Decision"], after_first["awards.Grant"]) == (
        len(PROPOSED[2023]) + len(PROPOSED[2024]), 1, len(PROPOSED[2023]),
    )


def test_closed_years_of_cluster_6_have_frozen_results():
    load_demo()
    for year, expected in FROZEN.items():
        assert frozen(year) == expected, year


def test_each_closed_year_has_one_current_snapshot_frozen_by_its_chairs_officer():
    load_demo()
    c6 = cluster_6()
    for year, (_chair, officer) in CHAIRS.items():
        cy = c6.years.get(year=year)
        snapshots = list(cy.snapshots.all())
        assert [(s.number, s.is_current) for s in snapshots] == [(1, True)], year
        snapshot = snapshots[0]
        assert snapshot.created_by.username == officer
        assert snapshot.criteria_set == cy.criteria_link.criteria_set
        assert str(year) in snapshot.reason and len(snapshot.checksum) == 64
        # Frozen when the scoring closed, the day the year entered the conference.
        entered = cy.phase_changes.get(to_phase="conference")
        assert (entered.changed_at, entered.changed_by.username) == (snapshot.created_at, officer)
        assert ranking_for(cy).is_final
    # 2025 is still scoring; Cụm 7 closed 2023 without sheets, hence without results.
    assert not ResultSnapshot.objects.filter(cluster_year__year=2025).exists()
    assert not ResultSnapshot.objects.filter(cluster_year__cluster__name="Cụm Thi đua số 7").exists()
    c7 = Cluster.objects.get(name="Cụm Thi đua số 7")
    assert list(c7.years.order_by("year").values_list("year", "phase")) == [
        (2023, "closed"), (2024, "scoring"),
    ]


def test_the_frozen_rankings_show_a_shared_rank_and_a_tie_broken_by_the_standard_subtotal():
    load_demo()
    c6 = cluster_6()
    y2022 = ranking_for(c6.years.get(year=2022)).rows
    assert [(r.unit.name, r.rank_display) for r in y2022] == [
        (HA_THANH, "1"), (SD301, "2"), (PB452, "3="), (TQS, "3="),
    ]
    assert (y2022[3].separated_by, y2022[3].gap) == ("shared", D("0.00"))
    assert (y2022[2].standard, y2022[2].deduction) == (y2022[3].standard, y2022[3].deduction)
    y2023 = ranking_for(c6.years.get(year=2023)).rows
    assert [r.rank_display for r in y2023] == ["1", "2", "3", "4"]
    third, fourth = y2023[2], y2023[3]
    assert (third.unit.name, fourth.unit.name) == (HA_THANH, PB452)
    assert third.total == fourth.total and third.standard > fourth.standard
    assert (fourth.separated_by, fourth.gap) == ("standard", D("0.00"))


def test_the_seed_story_years_chairs_and_phases():
    load_demo()
    c6 = cluster_6()
    y2024 = c6.years.get(year=2024)
    assert sorted(y2024.memberships.values_list("unit__name", "role")) == [
        (HA_THANH, "member"),
        (SD301, "chair"),
        (PB452, "member"),
        (TQS, "vice_chair"),
    ]
    assert list(c6.years.order_by("year").values_list("year", "phase")) == [
        (2022, "closed"), (2023, "closed"), (2024, "closed"), (2025, "scoring"),
    ]
    chairs = {
        cy.year: (cy.memberships.get(role="chair").unit.name, cy.memberships.get(role="vice_chair").unit.name)
        for cy in c6.years.all()
    }
    assert chairs == {
        2022: (PB452, HA_THANH), 2023: (HA_THANH, SD301), 2024: (SD301, TQS), 2025: (TQS, SD301),
    }
    y2025 = c6.years.get(year=2025)
    assert (y2025.chair_basis, y2025.handover_date) == ("rotation", datetime.date(2024, 11, 1))
    today = timezone.localdate()
    assert (y2025.self_assessment_due, y2025.review_due) == (
        today + datetime.timedelta(days=30), today + datetime.timedelta(days=45),
    )
    # Each year ran by the cluster officer of its chair; 2025 was opened by the one of the School.
    movers = {
        cy.year: set(cy.phase_changes.values_list("changed_by__username", flat=True))
        for cy in c6.years.all()
    }
    assert movers == {2022: {"cumtruong6pb452"}, 2023: {"cumtruong6hathanh"}, 2024: {"cumtruong6"},
                      2025: {"cumtruong6tqs"}}
    assert RoleAssignment.objects.get(user__username="cumtruong6").unit.name == SD301
    assert RoleAssignment.objects.get(user__username="cumtruong6tqs").unit.name == TQS
    assert list(cluster_6().years.get(year=2024).phase_changes.values_list("to_phase", flat=True)) == [
        "scoring", "review", "conference", "closed",
    ]


def test_criteria_sets_of_2022_cloned_for_each_year():
    load_demo()
    sets = {s.year: s for s in CriteriaSet.objects.filter(superior__name="Bộ Tư lệnh Thủ đô Hà Nội")}
    assert sorted(sets) == [2022, 2023, 2024, 2025]
    assert [sets[y].cloned_from for y in sorted(sets)] == [None, sets[2022], sets[2023], sets[2024]]
    base = sets[2022]
    fields = ("code", "title", "guidance", "kind", "max_points", "evidence_required")
    for year in (2023, 2024, 2025):
        assert list(sets[year].criteria.values_list(*fields)) == list(base.criteria.values_list(*fields))
    assert (base.scale, base.bonus_cap, base.deduction_cap) == (Decimal("100"), Decimal("10"), Decimal("10"))
    groups = base.criteria.filter(kind=Criterion.Kind.GROUP)
    assert list(groups.values_list("code", flat=True)) == ["1", "2", "3", "4", "5", "6", "7", "8"]
    assert groups.get(code="7").title == "Điểm thưởng" and groups.get(code="8").title == "Điểm trừ"
    standard = base.criteria.filter(kind=Criterion.Kind.STANDARD)
    assert sum(c.max_points for c in standard) == Decimal("100")
    for group in groups.filter(code__in=list("123456")):
        assert 2 <= group.children.count() <= 4
        assert set(group.children.values_list("kind", flat=True)) == {Criterion.Kind.STANDARD}
    assert set(groups.get(code="7").children.values_list("kind", flat=True)) == {Criterion.Kind.BONUS}
    assert set(groups.get(code="8").children.values_list("kind", flat=True)) == {Criterion.Kind.DEDUCTION}
    assert standard.filter(evidence_required=True).exists()
    assert standard.get(code="2.3").title.startswith("Diễn tập khu vực phòng thủ")
    # Cụm 6 uses each year's set; Cụm 7 the sets of 2023 and 2024.
    used = {(cy.cluster.name[-1], cy.year): cy.criteria_link.criteria_set for cy in ClusterYear.objects.all()}
    assert used == {("6", y): sets[y] for y in (2022, 2023, 2024, 2025)} | {
        ("7", y): sets[y] for y in (2023, 2024)
    }


def test_in_2024_the_military_school_leads_on_the_frozen_results():
    load_demo()
    assert [(name, total, rank) for name, total, rank, *_ in frozen(2024)] == [
        (TQS, Decimal("106.50"), 1),
        (SD301, Decimal("99.75"), 2),
        (PB452, Decimal("94.00"), 3),
        (HA_THANH, Decimal("91.75"), 4),
    ]


def test_the_leader_of_each_year_chairs_the_next_and_the_runner_up_vice_chairs():
    """The cluster's policy (leader becomes chair, runner-up vice chair) holds in the frozen results."""
    load_demo()
    c6 = cluster_6()
    for year in (2022, 2023, 2024):
        results = frozen(year)
        # Clear places: one leader, one runner-up, neither tied.
        assert [(rank, tied) for _n, _t, rank, tied, *_ in results[:2]] == [(1, False), (2, False)], year
        top_two = [name for name, *_ in results[:2]]
        following = c6.years.get(year=year + 1)
        assert top_two == [following.memberships.get(role=r).unit.name for r in ("chair", "vice_chair")], year


def test_each_conference_acclaimed_its_leader_in_one_secret_round_and_handed_over_the_chair():
    load_demo()
    c6 = cluster_6()
    members = {SD301, TQS, HA_THANH, PB452}
    for year, (held_on, presiding) in CONFERENCES.items():
        cy = c6.years.get(year=year)
        leader, runner_up = [name for name, *_ in frozen(year)[:2]]
        officer = CHAIRS[year][1]
        vote = cy.votes.get()
        assert (vote.round, vote.status, vote.outcome, vote.mode) == (1, "closed", "acclaimed", "electronic")
        assert (vote.leader.name, vote.opened_by.username, vote.closed_by.username) == (
            leader, officer, officer,
        )
        assert (vote.secret, vote.threshold, vote.threshold_inclusive, vote.denominator) == (
            True, 50, False, "members",
        )
        assert {u.name for u in vote.present.all()} == members
        assert vote.opened_at.date() == vote.closed_at.date() == held_on
        candidate = vote.candidates.get()
        assert (candidate.unit.name, candidate.frozen_rank, candidate.passed) == (leader, 1, True)
        assert (candidate.agree, candidate.disagree, candidate.blank) == (4, 0, 0)
        assert candidate.frozen_total == frozen(year)[0][1]
        assert {p.unit.name for p in Participation.objects.filter(vote=vote)} == members
        assert Participation.objects.filter(vote=vote).count() == 4
        assert not OpenChoice.objects.filter(vote=vote).exists()  # secret: no row links a unit to a choice
        assert f"{leader}: 4/4" in vote.explanation
        conference = Conference.objects.get(cluster_year=cy)
        assert (conference.held_on, conference.place, conference.presiding) == (held_on, "Hà Nội", presiding)
        assert (conference.leader.name, conference.next_chair.name, conference.next_vice_chair.name) == (
            leader, leader, runner_up,
        )
        assert (conference.chair_basis, conference.override_reason, conference.finished_by.username) == (
            "rotation", "", officer,
        )
        # The conference closed the year on its day and opened the next one with the handover.
        closing = cy.phase_changes.get(to_phase="closed")
        assert (closing.changed_at, closing.changed_by.username) == (conference.finished_at, officer)
        assert conference.finished_at.date() == held_on
        assert cy.phase == "closed"
        following = c6.years.get(year=year + 1)
        assert (following.chair_basis, following.handover_date, following.decision_number) == (
            "rotation", held_on, "",
        )
        assert following.criteria_link.criteria_set.cloned_from == cy.criteria_link.criteria_set
    # 2024 is the seed: the School acclaimed 4/4, chair of 2025, Sư đoàn 301 vice chair.
    y2024 = Conference.objects.get(cluster_year__cluster=c6, cluster_year__year=2024)
    assert (y2024.leader.name, y2024.next_chair.name, y2024.next_vice_chair.name) == (TQS, TQS, SD301)
    assert Candidate.objects.filter(vote__cluster_year__cluster=c6).count() == 3
    assert not Vote.objects.filter(cluster_year__cluster__name="Cụm Thi đua số 7").exists()
    assert not Conference.objects.filter(cluster_year__cluster__name="Cụm Thi đua số 7").exists()


def proposals_of(year: int):
    return Proposal.objects.filter(cluster_year__cluster=cluster_6(), cluster_year__year=year).select_related(
        "unit", "award_type", "created_by",
    )


def test_after_each_conference_the_chairs_officer_proposed_the_defaults():
    load_demo()
    for year, (_chair, officer) in CHAIRS.items():
        proposals = list(proposals_of(year))
        assert sorted((p.unit.name, p.award_type.code) for p in proposals) == PROPOSED.get(year, []), year
        held_on = CONFERENCES[year][0]
        for p in proposals:
            assert (p.created_by.username, timezone.localtime(p.created_at).date()) == (officer, held_on)
            assert (p.withdrawn_at, p.reason) == (None, "")
            assert p.justification
        # One title and one flag per unit; a Giấy khen only for a unit without another proposal.
        kinds = {}
        for p in proposals:
            kinds.setdefault(p.unit.name, []).append(p.award_type.kind)
        for unit, held in kinds.items():
            assert held.count("title") <= 1 and held.count("flag") <= 1, (year, unit)
            assert "certificate" not in held or len(held) == 1, (year, unit)
    # 2024: the School, acclaimed, for the Command's flag, which needs its Đơn vị Quyết thắng of the year.
    flags = proposals_of(2024).filter(award_type__code="co-thi-dua-btl")
    assert [p.unit.name for p in flags] == [TQS]
    assert proposals_of(2024).filter(unit__name=TQS, award_type__code="don-vi-quyet-thang").exists()
    assert proposals_of(2024).get(unit__name=TQS, award_type__code="don-vi-quyet-thang").justification == (
        "Xếp thứ 1/4, 106,5 điểm, xếp loại Xuất sắc; được suy tôn là đơn vị dẫn đầu Cụm."
    )
    assert not Proposal.objects.filter(cluster_year__cluster__name="Cụm Thi đua số 7").exists()


def test_the_command_decided_2023_and_the_history_shows_it():
    load_demo()
    decision = Decision.objects.get()
    assert (decision.superior.name, decision.number, decision.date, decision.authority, decision.signer,
            decision.year, decision.recorded_by.username, decision.revoked_at) == (
        "Bộ Tư lệnh Thủ đô Hà Nội", "231/QĐ-BTL", datetime.date(2023, 12, 20), "Bộ Tư lệnh Thủ đô Hà Nội",
        "Tư lệnh", 2023, "btl", None,
    )
    # Every 2023 proposal of an award the Command decides: all of them (no proposal of the Ministry's flag).
    grants = list(decision.grants.select_related("unit", "award_type", "proposal"))
    expected = [row for row in PROPOSED[2023] if row[1] not in HIGHER_AUTHORITY]
    assert expected == PROPOSED[2023]
    assert sorted((g.unit.name, g.award_type.code) for g in grants) == expected
    assert all(g.year == 2023 and g.proposal.cluster_year.year == 2023 for g in grants)
    assert all((g.proposal.unit, g.proposal.award_type) == (g.unit, g.award_type) for g in grants)
    assert not Grant.objects.filter(proposal__cluster_year__year=2024).exists()
    # Sư đoàn 301's history: 2023 granted (with the Command's flag); 2024 proposed, not yet decided.
    sd301 = cluster_6().years.get(year=2024).memberships.get(unit__name=SD301).unit
    history = [(g.year, g.award_type.code, g.decision.number) for g in awarding.award_history(sd301)]
    assert sorted(history) == sorted(
        (2023, code, "231/QĐ-BTL") for unit, code in expected if unit == SD301
    )
    assert sorted(p.award_type.code for p in proposals_of(2024).filter(unit=sd301)) == [
        code for unit, code in PROPOSED[2024] if unit == SD301
    ]


def test_the_2024_proposal_letter_of_the_demo(tmp_path):
    load_demo()
    y2024 = cluster_6().years.get(year=2024)
    path = tmp_path / "letter.pdf"
    path.write_bytes(documents.proposal_letter_pdf(y2024))
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())
    for line in ["SƯ ĐOÀN BỘ BINH 301", "Kính gửi: Bộ Tư lệnh Thủ đô Hà Nội",
                 "tổ chức ngày 01/11/2024 tại Hà Nội", f"Hội nghị đã suy tôn {TQS}",
                 "Cờ thi đua của Bộ Tư lệnh", SD301, TQS, HA_THANH, PB452]:
        assert line in text, line


def test_the_closed_years_keep_the_deadlines_and_2025_is_chaired_by_the_school():
    load_demo()
    c6 = cluster_6()
    for year in (2022, 2023, 2024):
        cy = c6.years.get(year=year)
        assert (cy.self_assessment_due, cy.review_due) == (
            datetime.date(year, 10, 15), datetime.date(year, 10, 25),
        )
    y2022 = c6.years.get(year=2022)
    assert (y2022.chair_basis, y2022.decision_number) == ("decision", "1968/QĐ-BTL")
    y2025 = c6.years.get(year=2025)
    assert (y2025.memberships.get(role="chair").unit.name, y2025.chair_basis, y2025.handover_date) == (
        TQS, "rotation", datetime.date(2024, 11, 1),
    )
    assert not y2025.votes.exists() and not Conference.objects.filter(cluster_year=y2025).exists()


def test_every_sheet_of_2022_to_2024_is_approved_by_the_right_reviewer():
    load_demo()
    c6 = cluster_6()
    for year, (chair, officer) in CHAIRS.items():
        sheets = Sheet.objects.filter(cluster_year=c6.years.get(year=year)).select_related("unit")
        assert sorted((s.unit.name, s.status) for s in sheets) == sorted(
            (unit, "approved") for unit in (SD301, TQS, HA_THANH, PB452)
        )
        for sheet in sheets:
            expected = "btl" if sheet.unit.name == chair else officer
            assert sheet.approved_by.username == expected, (year, sheet.unit.name)
            review_events = sheet.events.filter(kind__in=["official_points", "comment"])
            reviewers = set(review_events.values_list("by__username", flat=True))
            assert reviewers == {expected}, (year, sheet.unit.name)
            fillers = set(sheet.events.filter(kind="self_points").values_list("by__username", flat=True))
            assert len(fillers) == 1
            assert RoleAssignment.objects.get(user__username=fillers.pop()).role == "unit_staff"
        # Nobody reviewed their own unit: the chair's officer never touched the chair's official points.
        assert not ScoreEvent.objects.filter(
            sheet__cluster_year__cluster=c6, sheet__cluster_year__year=year, sheet__unit__name=chair,
            kind="official_points", by__username=officer,
        ).exists()


def test_official_points_that_differ_from_the_units_carry_a_reason():
    load_demo()
    differing = Score.objects.filter(
        sheet__cluster_year__cluster=cluster_6(), official_points__isnull=False
    ).exclude(official_points=F("self_points"))
    assert differing.count() >= 3
    assert not differing.filter(official_reason="").exists()
    assert differing.filter(sheet__cluster_year__year=2024).count() >= 3
    events = ScoreEvent.objects.filter(kind="official_points").exclude(reason="")
    assert events.count() == differing.count()


def test_2025_has_one_draft_and_one_submitted_sheet():
    load_demo()
    y2025 = cluster_6().years.get(year=2025)
    assert sorted(Sheet.objects.filter(cluster_year=y2025).values_list("unit__name", "status")) == [
        (HA_THANH, "draft"), (SD301, "submitted"),
    ]
    draft = Sheet.objects.get(cluster_year=y2025, unit__name=HA_THANH)
    filled = draft.scores.filter(self_points__isnull=False).count()
    assert 0 < filled < draft.scores.count()
    assert not Score.objects.filter(Q(sheet__cluster_year=y2025), ~Q(official_points=None)).exists()


def test_2025_is_open_for_the_units_that_have_not_started():
    load_demo()
    y2025 = cluster_6().years.get(year=2025)
    tqs = y2025.memberships.get(unit__name=TQS).unit
    criterion = y2025.criteria_link.criteria_set.criteria.get(code="1.1")
    sheet = services.save_self_assessment(
        cluster_year=y2025, unit=tqs, entries={criterion.pk: services.Entry(points="5,75")}, version=0,
        by=User.objects.get(username="tqs"), now=timezone.now(), today=timezone.localdate(),
    )
    assert (sheet.status, sheet.scores.get(criterion=criterion).self_points) == ("draft", Decimal("5.75"))


def test_demo_command_prints_summary():
    out = StringIO()
    call_command("load_demo", stdout=out)
    events = ScoreEvent.objects.count()
    assert out.getvalue().strip() == (
        "Demo ready: 7 units, 2 clusters, 6 cluster years, 4 criteria sets, 14 sheets, 364 scores, "
        f"40 evidence files, {events} score events, 3 votes, 3 conferences, 12 users. "
        f"Password of every demo account: {DEMO_PASSWORD}"
    )


def test_dates_are_in_vietnamese_format(client):
    load_demo()
    client.force_login(User.objects.get(username="sd301"))
    cy = cluster_6().years.get(year=2025)
    page = client.get(reverse("clusters:clusteryear-detail", args=[cy.pk])).content.decode()
    assert cy.self_assessment_due.strftime("%d/%m/%Y") in page  # self-assessment due, d/m/Y
    assert "01/11/2024" in page  # handover date


def readme_accounts() -> list[tuple[str, str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| username | password | role |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip("| ").split(" | ") for line in table.strip().splitlines()[1:]]
    return [(u.strip("` "), p.strip("` "), r) for u, p, r in rows]


def test_every_readme_account_logs_in(client):
    load_demo()
    accounts = readme_accounts()
    assert len(accounts) == User.objects.count() == 12
    for username, password, _role in accounts:
        # Through the login form: the throttling backend needs the request that ``client.login`` omits.
        response = client.post(reverse("login"), {"username": username, "password": password})
        assert (response.status_code, response.get("Location")) == (302, reverse("home")), username
        assert client.get(reverse("home")).status_code == 200
        client.logout()


@pytest.mark.django_db
def test_loader_puts_back_an_emptied_award_catalogue(tmp_path, settings):
    """A flushed database (as after the browser tests' transactional cases) gets the catalogue back."""
    from awards.models import AwardType

    settings.MEDIA_ROOT = tmp_path
    AwardType.objects.all().delete()
    load_demo()
    assert AwardType.objects.count() == 9
