"""
Awards after the conference as tables: the seeded catalogue (migration
awards/0003_seed_award_catalogue), every eligibility rule at its boundary
(unit kind and variants, leader only, minimum band, same-year title, chains of
consecutive years, quotas by count and by percentage, per cluster and per
superior, one title and one flag per unit and year), the default proposals
(a certificate of merit only for units that got nothing else), adding and
withdrawing, and the superior's decisions and their revocation.

Arranged through the services (tests/awards/conftest.py): Cụm 6 2024 with
members A (chair), B (vice chair), C and G, frozen totals A 90, B 80, C 70,
G 60 unless a test says otherwise, A acclaimed by a real vote. Superior S also
owns Cụm 7 (D, E), so a quota "per superior" counts 4 + 2 = 6 units; superior
S2 owns Cụm 9 (F). Bands of the criteria set: Xuất sắc from 90, Tốt from 80,
Khá from 65, Trung bình from 50.

Reasons and messages are compared exactly as produced in the site's default
language (vi), from the translations of ``awards.awarding`` in
locale/vi/LC_MESSAGES/django.po; if a translation changes, only the
constants below change.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError

from awards import awarding
from awards.models import AwardType, Decision, Proposal
from clusters.models import Membership, Unit
from tests.awards.conftest import FOUR, NOW, arrange_conference
from tests.awards.test_services import acclaim
from tests.factories import ClusterYearFactory

pytestmark = pytest.mark.django_db

DVQT, TTLDXS = "don-vi-quyet-thang", "tap-the-lao-dong-xuat-sac"
DVTT, TTLDTT = "don-vi-tien-tien", "tap-the-lao-dong-tien-tien"
CO_BTL, CO_BQP = "co-thi-dua-btl", "co-thi-dua-bqp"
BK_BQP, BK_TTG, GIAY_KHEN = "bang-khen-bqp", "bang-khen-ttg", "giay-khen"
CATALOGUE = [DVQT, TTLDXS, DVTT, TTLDTT, CO_BTL, CO_BQP, BK_BQP, BK_TTG, GIAY_KHEN]

REASON = "Hội nghị thống nhất đề nghị"


# --- the reasons, exactly as produced ------------------------------------------------------------


def wrong_kind(kind: str) -> str:
    return f"không áp dụng cho {kind}"


def band_low(band: str, needed: str) -> str:
    return f"xếp loại {band}, thấp hơn {needed}"


def missing(award: str, year: int) -> str:
    return f"không có {award} năm {year}"


def quota(limit: int) -> str:
    return f"đã hết chỉ tiêu {limit}"


def one_per_year(award: str) -> str:
    """Another award of the same kind (title or flag) already proposed for the unit this year."""
    return f"đã được đề nghị {award} trong năm"


def refusal(unit: str, award: str, reasons: str) -> str:
    return f"{unit} không thể được đề nghị {award}: {reasons}."


def justified(rank: str, total: str, band: str, *, leader: bool = False) -> str:
    """The justification of a proposal in a cluster of 4 (the points in Vietnamese format: 106,5)."""
    acclaimed = "; được suy tôn là đơn vị dẫn đầu Cụm" if leader else ""
    return f"Xếp thứ {rank}/4, {total} điểm, xếp loại {band}{acclaimed}."


MILITARY, SCHOOL, ENTERPRISE, CIVIL = "đơn vị quân đội", "nhà trường", "doanh nghiệp", "cơ quan dân sự"
NOT_LEADER = "không phải đơn vị được suy tôn dẫn đầu Cụm"
NOT_A_MEMBER = "không phải thành viên của cụm"
ALREADY = "đã được đề nghị"
Q, XS = "Đơn vị Quyết thắng", "Tập thể lao động xuất sắc"
TT, TT_XS = "Đơn vị tiên tiến", "Tập thể lao động tiên tiến"
FLAG_BTL, FLAG_BQP = "Cờ thi đua của Bộ Tư lệnh", "Cờ thi đua của Bộ Quốc phòng"
ADD_REASON = "Hãy ghi lý do thêm đề nghị này."
WITHDRAW_REASON = "Hãy ghi lý do rút đề nghị."
NOT_AFTER_CONFERENCE = "Chỉ đề nghị khen thưởng sau khi hội nghị đã suy tôn đơn vị dẫn đầu."
DECISION_EMPTY = "Quyết định phải khen thưởng ít nhất một trường hợp."
DECISION_NUMBER_USED = "Đã có quyết định mang số này."
REVOKE_REASON = "Hãy ghi lý do hủy bỏ quyết định."
ALREADY_REVOKED = "Quyết định này đã bị hủy bỏ."
BLANK = "Trường này không được để trắng."  # Django's own message, translated by Django


# --- helpers: acting through the services --------------------------------------------------------


def award(code: str) -> AwardType:
    return AwardType.objects.get(code=code)


def ready(world, totals: dict[str, str] = FOUR, *, kinds: dict[str, str] | None = None, leader: str = "A",
          superior_units: int | None = None):
    """
    Cụm 6 in the conference with ``leader`` acclaimed; ``kinds`` sets unit kinds (default military);
    ``superior_units`` 4 removes Cụm 7's members so that the superior counts only Cụm 6.
    """
    w = arrange_conference(world, totals)
    for name, kind in (kinds or {}).items():
        Unit.objects.filter(pk=w.units[name].pk).update(kind=kind)
        w.units[name].refresh_from_db()
    if superior_units is not None:
        Membership.objects.filter(cluster_year=w.y7).delete()
        assert Membership.objects.filter(superior=w.superior, year=2024).count() == superior_units
    acclaim(w, leader)
    return w


def reasons(w, name: str, code: str) -> list[str]:
    return awarding.reasons_against(awarding.context_for(w.y6), w.units[name], award(code))


def propose(w, name: str, code: str, reason: str = REASON) -> Proposal:
    return awarding.add_proposal(cluster_year=w.y6, unit=w.units[name], award=award(code), reason=reason,
                                 by=w.users["officer_a"], now=NOW)


def propose_elsewhere(w, cluster_year, name: str, code: str) -> Proposal:
    """A proposal of another cluster of the superior (that cluster's own flow is not under test here)."""
    return Proposal.objects.create(cluster_year=cluster_year, unit=w.units[name], award_type=award(code),
                                   justification="Cụm khác", created_by=w.users["command"], created_at=NOW)


def decide(w, year: int, grants: list[tuple[str, str]], number: str | None = None, superior=None) -> Decision:
    """A decision of S for ``year`` granting (unit, award code) pairs, without proposals (earlier years)."""
    return awarding.record_decision(
        superior=superior or w.superior, number=number or f"{year}/QĐ-BTL", date=datetime.date(year, 12, 20),
        authority="Bộ Tư lệnh Thủ đô Hà Nội", signer="Trung tướng Nguyễn Văn A, Tư lệnh", year=year,
        grants=[(w.units[name], award(code), None) for name, code in grants], by=w.users["command"], now=NOW,
    )


def revoke(decision: Decision, w, reason: str = "Hồ sơ không trung thực") -> Decision:
    return awarding.revoke_decision(decision=decision, reason=reason, by=w.users["command"], now=NOW)


def refused(call, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as error:
        call(**kwargs)
    return error.value


def active(w) -> list[tuple[str, str]]:
    return [(p.unit.name[-1], p.award_type.code)
            for p in Proposal.objects.filter(cluster_year=w.y6, withdrawn_at__isnull=True).order_by("pk")]


# --- the seeded catalogue --------------------------------------------------------------------------


def test_the_migration_seeds_the_army_catalogue_in_order():
    rows = [
        (a.code, a.kind, a.unit_kinds, a.variant_of.code if a.variant_of else None, a.quota_count, a.quota_percent,
         a.quota_scope, a.min_band, a.requires_leader, [n.code for n in a.requires_same_year.all()],
         a.chain_award.code if a.chain_award else None, a.chain_years)
        for a in AwardType.objects.all()
    ]

    assert rows == [
        (DVQT, "title", "military,school,civil", None, None, 20, "superior", "good", False, [], None, 0),
        (TTLDXS, "title", "enterprise", DVQT, None, 20, "superior", "good", False, [], None, 0),
        (DVTT, "title", "military,school,civil", None, None, None, "cluster", "fair", False, [], None, 0),
        (TTLDTT, "title", "enterprise", DVTT, None, None, "cluster", "fair", False, [], None, 0),
        (CO_BTL, "flag", "military,school,enterprise,civil", None, 1, None, "cluster", "", True, [DVQT], None, 0),
        (CO_BQP, "flag", "military,school,enterprise,civil", None, 1, None, "superior", "", True, [DVQT], None, 0),
        (BK_BQP, "certificate", "military,school,enterprise,civil", None, None, None, "cluster", "", False, [], DVQT, 2),
        (BK_TTG, "certificate", "military,school,enterprise,civil", None, None, None, "cluster", "", False, [], DVQT, 5),
        (GIAY_KHEN, "certificate", "military,school,enterprise,civil", None, None, None, "cluster", "good", False, [],
         None, 0),
    ]


@pytest.mark.parametrize(
    ("code", "name", "authority", "source_says"),
    [
        (DVQT, "Đơn vị Quyết thắng", "Tư lệnh Bộ Tư lệnh", ["TT 160/2014", "TT 118/2023", "not found; default"]),
        (TTLDXS, "Tập thể lao động xuất sắc", "Tư lệnh Bộ Tư lệnh", ["Biến thể", "not found; default"]),
        (DVTT, "Đơn vị tiên tiến", "Tư lệnh Bộ Tư lệnh", ["not found; default"]),
        (TTLDTT, "Tập thể lao động tiên tiến", "Tư lệnh Bộ Tư lệnh", ["not found; default"]),
        (CO_BTL, "Cờ thi đua của Bộ Tư lệnh", "Tư lệnh Bộ Tư lệnh", ["TT 151/2018", "Tập thể lao động xuất sắc"]),
        (CO_BQP, "Cờ thi đua của Bộ Quốc phòng", "Bộ trưởng Bộ Quốc phòng", ["not found; default"]),
        (BK_BQP, "Bằng khen của Bộ trưởng Bộ Quốc phòng", "Bộ trưởng Bộ Quốc phòng",
         ["tranducbk/QLKT", "chưa kiểm chứng"]),
        (BK_TTG, "Bằng khen của Thủ tướng Chính phủ", "Thủ tướng Chính phủ", ["not found; default"]),
        (GIAY_KHEN, "Giấy khen", "Tư lệnh Bộ Tư lệnh", ["not found; default"]),
    ],
)
def test_each_award_names_its_authority_and_the_source_of_its_rules(code, name, authority, source_says):
    a = award(code)

    assert (a.name, a.authority.startswith(authority)) == (name, True)
    assert [text for text in source_says if text in a.source] == source_says


# --- quota arithmetic --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "percent", "units", "limit"),
    [
        (None, 20, 4, 0),  # 0.8 rounded down
        (None, 20, 5, 1),
        (None, 20, 7, 1),  # 1.4 rounded down
        (None, 20, 9, 1),  # 1.8 rounded down
        (None, 20, 10, 2),
        (1, None, 50, 1),
        (1, 20, 10, 1),  # both: the smaller
        (None, None, 10, None),  # no quota
    ],
)
def test_quota_limit_is_the_count_or_the_percentage_rounded_down(count, percent, units, limit):
    assert awarding.quota_limit(AwardType(quota_count=count, quota_percent=percent), units) == limit


# --- unit kinds and variants -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code", "expected"),
    [
        ("military", DVQT, []),
        ("school", DVQT, []),
        ("civil", DVQT, []),
        ("enterprise", DVQT, [wrong_kind(ENTERPRISE)]),
        ("enterprise", TTLDXS, []),
        ("military", TTLDXS, [wrong_kind(MILITARY)]),
        ("school", TTLDXS, [wrong_kind(SCHOOL)]),
        ("civil", TTLDXS, [wrong_kind(CIVIL)]),
        ("military", DVTT, []),
        ("enterprise", DVTT, [wrong_kind(ENTERPRISE)]),
        ("enterprise", TTLDTT, []),
        ("military", TTLDTT, [wrong_kind(MILITARY)]),
        ("enterprise", GIAY_KHEN, []),
    ],
)
def test_unit_kind_selects_the_title_or_its_variant(world, kind, code, expected):
    w = ready(world, kinds={"B": kind})  # B: 80 points, band Tốt

    assert reasons(w, "B", code) == expected


# --- the leading unit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [CO_BTL, CO_BQP])
def test_a_flag_goes_only_to_the_acclaimed_unit(world, code):
    w = ready(world, {"A": "90", "B": "85", "C": "70", "G": "60"})
    propose(w, "A", DVQT)
    Proposal.objects.create(cluster_year=w.y6, unit=w.units["B"], award_type=award(DVQT), justification="Thử",
                            created_by=w.users["officer_a"], created_at=NOW)  # B holds the title too

    assert reasons(w, "A", code) == []
    assert reasons(w, "B", code) == [NOT_LEADER]


def test_before_a_leader_is_acclaimed_no_unit_qualifies_for_a_flag_and_nothing_can_be_proposed(world):
    w = arrange_conference(world)

    table = {(line.award.code, line.unit.name[-1]): line.reasons for line in awarding.eligibility_table(w.y6)}
    error = refused(awarding.add_proposal, cluster_year=w.y6, unit=w.units["A"], award=award(DVQT), reason=REASON,
                    by=w.users["officer_a"], now=NOW)

    assert table[(CO_BTL, "A")] == [NOT_LEADER, missing(Q, 2024)]
    assert error.messages == [NOT_AFTER_CONFERENCE]
    with pytest.raises(ValidationError, match="suy tôn đơn vị dẫn đầu"):
        awarding.propose_defaults(cluster_year=w.y6, by=w.users["officer_a"], now=NOW)


# --- minimum band ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "code", "expected"),
    [
        ("80", DVQT, []),  # Tốt from 80: the boundary is enough
        ("79.99", DVQT, [band_low("Khá", "Tốt")]),
        ("80", GIAY_KHEN, []),
        ("79.99", GIAY_KHEN, [band_low("Khá", "Tốt")]),
        ("65", DVTT, []),  # Khá from 65
        ("64.99", DVTT, [band_low("Trung bình", "Khá")]),
        ("49.99", DVTT, [band_low("Yếu", "Khá")]),
        ("40", CO_BTL, [NOT_LEADER, missing(Q, 2024)]),  # flags have no minimum band of their own
    ],
)
def test_minimum_band_at_the_boundary(world, total, code, expected):
    w = ready(world, {"A": "90", "B": total, "C": "70", "G": "60"})

    assert reasons(w, "B", code) == expected


# --- the title the flag needs in the same year ----------------------------------------------------------


def test_the_flag_waits_for_the_title_of_the_same_year(world):
    w = ready(world)

    before = reasons(w, "A", CO_BTL)
    error = refused(propose, w=w, name="A", code=CO_BTL)
    title = propose(w, "A", DVQT)
    after = reasons(w, "A", CO_BTL)
    flag = propose(w, "A", CO_BTL)

    assert before == [missing(Q, 2024)]
    assert error.messages == [refusal("Đơn vị A", FLAG_BTL, missing(Q, 2024))]
    assert after == []
    assert active(w) == [("A", DVQT), ("A", CO_BTL)]
    awarding.withdraw_proposal(proposal=title, reason="Chưa đủ tiêu chuẩn", by=w.users["officer_a"], now=NOW)
    # Without the title the other flag needs it again (and A already holds a flag this year).
    assert reasons(w, "A", CO_BQP) == [missing(Q, 2024), one_per_year(FLAG_BTL)]
    # The flag proposed earlier stays: withdrawing the title does not withdraw what needed it.
    assert active(w) == [("A", CO_BTL)] and flag.withdrawn_at is None


def test_a_title_granted_for_the_year_counts_a_revoked_one_does_not(world):
    w = ready(world)
    decision = decide(w, 2024, [("A", DVQT)], number="12/QĐ-BTL")

    granted = reasons(w, "A", CO_BTL)
    revoke(decision, w)

    assert (granted, reasons(w, "A", CO_BTL)) == ([], [missing(Q, 2024)])


def test_the_title_of_another_unit_or_year_does_not_count(world):
    w = ready(world)
    propose(w, "B", DVQT)
    decide(w, 2023, [("A", DVQT)])

    assert reasons(w, "A", CO_BTL) == [missing(Q, 2024)]


def test_an_enterprise_leads_with_the_variant_title(world):
    w = ready(world, {"A": "90", "B": "80", "C": "70", "G": "60"}, kinds={"A": "enterprise"})

    before = reasons(w, "A", CO_BTL)
    propose(w, "A", TTLDXS)

    assert before == [missing(XS, 2024)]  # named as the variant for its kind
    assert (reasons(w, "A", CO_BTL), reasons(w, "A", CO_BQP)) == ([], [])
    assert reasons(w, "A", DVQT) == [wrong_kind(ENTERPRISE), one_per_year(XS)]


# --- chains over consecutive earlier years ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "granted", "revoked", "expected"),
    [
        pytest.param(BK_BQP, [2022, 2023], [], [], id="2 consecutive years"),
        pytest.param(BK_BQP, [2023], [], [missing(Q, 2022)], id="only the last year"),
        pytest.param(BK_BQP, [2021, 2023], [], [missing(Q, 2022)], id="a gap breaks the chain"),
        pytest.param(BK_BQP, [2021, 2022], [], [missing(Q, 2023)], id="the chain must reach last year"),
        pytest.param(BK_BQP, [2023, 2024], [], [missing(Q, 2022)], id="this year does not count"),
        pytest.param(BK_BQP, [], [], [missing(Q, 2022), missing(Q, 2023)], id="none"),
        pytest.param(BK_BQP, [2022, 2023], [2022], [missing(Q, 2022)], id="a revoked decision does not count"),
        pytest.param(BK_TTG, [2019, 2020, 2021, 2022, 2023], [], [], id="5 consecutive years"),
        pytest.param(BK_TTG, [2019, 2020, 2022, 2023], [], [missing(Q, 2021)], id="5 years with a gap"),
        pytest.param(BK_TTG, [2020, 2021, 2022, 2023], [], [missing(Q, 2019)], id="4 years are not 5"),
    ],
)
def test_chain_of_titles_in_consecutive_earlier_years(world, code, granted, revoked, expected):
    w = ready(world)
    decisions = {year: decide(w, year, [("B", DVQT)]) for year in granted}
    for year in revoked:
        revoke(decisions[year], w)

    assert reasons(w, "B", code) == expected


def test_the_chain_counts_the_enterprise_variant_and_only_the_unit_s_own_grants(world):
    w = ready(world, kinds={"C": "enterprise"})
    decide(w, 2022, [("C", TTLDXS), ("B", DVQT)])
    decide(w, 2023, [("C", TTLDXS)])

    assert reasons(w, "C", BK_BQP) == []
    assert reasons(w, "B", BK_BQP) == [missing(Q, 2023)]
    assert reasons(w, "G", BK_BQP) == [missing(Q, 2022), missing(Q, 2023)]


# --- quotas ---------------------------------------------------------------------------------------------------

EIGHT = {"A": "99", "B": "98", "C": "97", "G": "96", "H": "95", "I": "94", "J": "93", "K": "92"}


@pytest.mark.parametrize(
    ("totals", "superior_units", "accepted", "refused_unit"),
    [
        pytest.param(FOUR | {"B": "85", "C": "84", "G": "83"}, 4, [], "A", id="20% of 4 units = 0"),
        pytest.param({"A": "90", "B": "85", "C": "84"}, 5, ["A"], "B", id="20% of 5 units = 1"),
        pytest.param({"A": "90", "B": "85", "C": "84", "G": "83", "H": "82"}, 7, ["A"], "B", id="20% of 7 units = 1"),
        pytest.param(EIGHT, 10, ["A", "B"], "C", id="20% of 10 units = 2"),
    ],
)
def test_percentage_quota_per_superior_rounded_down(world, totals, superior_units, accepted, refused_unit):
    w = ready(world, totals, superior_units=superior_units if superior_units == 4 else None)
    assert Membership.objects.filter(superior=w.superior, year=2024).count() == superior_units

    for name in accepted:
        propose(w, name, DVQT)
    error = refused(propose, w=w, name=refused_unit, code=DVQT)

    limit = len(accepted)
    assert active(w) == [(name, DVQT) for name in accepted]
    assert error.messages == [refusal(f"Đơn vị {refused_unit}", Q, quota(limit))]


def test_a_title_quota_per_superior_counts_the_other_clusters_of_the_superior_only(world):
    w = ready(world)  # 6 units under S: 1 Đơn vị Quyết thắng
    s2_year = world.y9
    propose_elsewhere(w, s2_year, "F", DVQT)  # another superior: not counted
    withdrawn = propose_elsewhere(w, w.y7, "E", DVQT)
    Proposal.objects.filter(pk=withdrawn.pk).update(withdrawn_at=NOW, withdrawn_reason="Rút")  # withdrawn: not counted

    free = reasons(w, "A", DVQT)
    propose_elsewhere(w, w.y7, "D", DVQT)  # Cụm 7 of S: counted

    assert (free, reasons(w, "A", DVQT)) == ([], [quota(1)])


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param(CO_BTL, [], id="one flag per cluster: Cụm 7's flag leaves Cụm 6's"),
        pytest.param(CO_BQP, [quota(1)], id="one flag per superior: Cụm 7 used it"),
    ],
)
def test_flag_quota_by_count_per_cluster_or_per_superior(world, code, expected):
    w = ready(world, EIGHT, superior_units=None)  # 10 units under S: 2 Đơn vị Quyết thắng
    propose(w, "A", DVQT)
    propose_elsewhere(w, w.y7, "D", DVQT)
    propose_elsewhere(w, w.y7, "D", code)

    assert reasons(w, "A", code) == expected


def test_a_quota_counts_proposals_already_made_in_the_cluster(world):
    w = ready(world, EIGHT)  # B, C: 98 and 97 points, Xuất sắc
    propose(w, "A", DVQT)
    propose(w, "B", DVQT)

    assert reasons(w, "C", DVQT) == [quota(2)]
    assert reasons(w, "C", DVTT) == []  # no quota


# --- one title and one flag per unit and year -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "first", "second", "held"),
    [
        pytest.param("military", DVQT, DVTT, Q, id="Quyết thắng, then not tiên tiến"),
        pytest.param("military", DVTT, DVQT, TT, id="tiên tiến, then not Quyết thắng"),
        pytest.param("enterprise", TTLDXS, TTLDTT, XS, id="the enterprise variants"),
    ],
)
def test_a_unit_holds_one_title_a_year(world, kind, first, second, held):
    w = ready(world, {"A": "90", "B": "85", "C": "70", "G": "60"}, kinds={"A": kind})
    title = propose(w, "A", first)

    error = refused(propose, w=w, name="A", code=second)
    others = (reasons(w, "B", DVTT), reasons(w, "A", GIAY_KHEN))
    awarding.withdraw_proposal(proposal=title, reason="Đề nghị danh hiệu khác", by=w.users["officer_a"],
                               now=NOW)
    freed = reasons(w, "A", second)

    assert error.messages == [refusal("Đơn vị A", award(second).name, one_per_year(held))]
    assert others == ([], [])  # another unit keeps its title; a certificate is not a title
    assert freed == []  # the withdrawn title no longer counts
    assert active(w) == []


def test_the_leader_holds_one_flag_a_year(world):
    """A, acclaimed, with Đơn vị Quyết thắng, gets the Command's flag, then not the Ministry's as well."""
    w = ready(world)
    propose(w, "A", DVQT)
    command_flag = propose(w, "A", CO_BTL)  # a title does not count as a flag

    error = refused(propose, w=w, name="A", code=CO_BQP)
    awarding.withdraw_proposal(proposal=command_flag, reason="Đề nghị Cờ của Bộ Quốc phòng",
                               by=w.users["officer_a"], now=NOW)
    propose(w, "A", CO_BQP)

    assert error.messages == [refusal("Đơn vị A", FLAG_BQP, one_per_year(FLAG_BTL))]
    assert active(w) == [("A", DVQT), ("A", CO_BQP)]
    assert reasons(w, "A", CO_BTL) == [one_per_year(FLAG_BQP)]


# --- default proposals ---------------------------------------------------------------------------------

SEED = {"A": "95", "B": "90", "C": "85", "G": "80"}
SEED_KINDS = {"A": "school", "C": "enterprise"}  # A the School, B the Division, C the Company, G the Regiment


def test_propose_defaults_on_the_seed_like_cluster(world):
    """
    4 members, the School acclaimed, 6 units under the superior (Cụm 7 has 2): one Đơn vị Quyết thắng and one
    Tập thể lao động xuất sắc. In the catalogue's order each unit gets the highest title it qualifies for and,
    the School, the Command's flag; one title and one flag a year, so not Đơn vị tiên tiến nor the Ministry's
    flag as well. Every unit got a title, so nobody gets the Giấy khen by default.
    """
    w = ready(world, SEED, kinds=SEED_KINDS)

    created = awarding.propose_defaults(cluster_year=w.y6, by=w.users["officer_a"], now=NOW)
    table = {(line.award.code, line.unit.name[-1]): line.reasons for line in awarding.eligibility_table(w.y6)}

    assert [(p.unit.name[-1], p.award_type.code) for p in created] == [
        ("A", DVQT),  # B and G: quota of 1 used
        ("C", TTLDXS),
        ("B", DVTT), ("G", DVTT),  # A holds Đơn vị Quyết thắng
        # C holds Tập thể lao động xuất sắc: no Tập thể lao động tiên tiến
        ("A", CO_BTL),
        # A holds the Command's flag: not the Ministry's
    ]
    assert table[(DVTT, "A")] == [one_per_year(Q)]
    assert table[(TTLDTT, "C")] == [one_per_year(XS)]
    assert table[(CO_BQP, "A")] == [one_per_year(FLAG_BTL)]
    # Every unit is eligible for the Giấy khen; none is proposed for it, as each got a title.
    assert [table[(GIAY_KHEN, name)] for name in "ABCG"] == [[], [], [], []]
    assert created[0].justification == justified("1", "95", "Xuất sắc", leader=True)
    assert created[2].justification == justified("2", "90", "Xuất sắc")
    assert created[4].justification == justified("1", "95", "Xuất sắc", leader=True)
    assert {(p.reason, p.created_by, p.created_at) for p in created} == {("", w.users["officer_a"], NOW)}
    assert awarding.propose_defaults(cluster_year=w.y6, by=w.users["officer_a"], now=NOW) == []


def test_propose_defaults_when_the_superior_has_only_the_four_units(world):
    """20% of 4 = 0: no Đơn vị Quyết thắng, hence no flag, for the School either; Đơn vị tiên tiến for all."""
    w = ready(world, SEED, kinds=SEED_KINDS, superior_units=4)

    created = awarding.propose_defaults(cluster_year=w.y6, by=w.users["officer_a"], now=NOW)
    table = {(line.award.code, line.unit.name[-1]): line.reasons for line in awarding.eligibility_table(w.y6)}

    assert [(p.unit.name[-1], p.award_type.code) for p in created] == [
        ("A", DVTT), ("B", DVTT), ("G", DVTT), ("C", TTLDTT),
    ]
    assert table[(DVQT, "A")] == [one_per_year(TT), quota(0)]
    assert table[(CO_BTL, "A")] == [missing(Q, 2024)]
    assert table[(GIAY_KHEN, "A")] == []  # eligible, but A got a title


def test_propose_defaults_gives_the_giay_khen_only_to_units_without_another_proposal(world):
    """
    A catalogue with one Đơn vị tiên tiến per cluster: A 95 takes Đơn vị Quyết thắng and the flag, B 90 Đơn vị
    tiên tiến; C 85 (Tốt) gets no title, hence the Giấy khen; G 60 (Trung bình) is below the Giấy khen's band.
    """
    AwardType.objects.filter(code=DVTT).update(quota_count=1)
    w = ready(world, {"A": "95", "B": "90", "C": "85", "G": "60"})

    created = awarding.propose_defaults(cluster_year=w.y6, by=w.users["officer_a"], now=NOW)

    assert [(p.unit.name[-1], p.award_type.code) for p in created] == [
        ("A", DVQT), ("B", DVTT), ("A", CO_BTL), ("C", GIAY_KHEN),
    ]
    assert created[3].justification == justified("3", "85", "Tốt")
    # A and B qualify for the Giấy khen: only the default leaves it out; the officer may still add it.
    assert (reasons(w, "A", GIAY_KHEN), reasons(w, "B", GIAY_KHEN)) == ([], [])
    assert reasons(w, "G", GIAY_KHEN) == [band_low("Trung bình", "Tốt")]
    propose(w, "B", GIAY_KHEN, reason="Thành tích đột xuất")
    assert active(w)[-1] == ("B", GIAY_KHEN)


# --- adding and withdrawing ------------------------------------------------------------------------------


def test_add_proposal_needs_a_reason(world):
    w = ready(world)

    error = refused(propose, w=w, name="A", code=DVQT, reason="  ")

    assert error.message_dict == {"reason": [ADD_REASON]}
    assert active(w) == []


def test_add_proposal_keeps_the_reason_and_the_justification(world):
    w = ready(world)

    proposal = propose(w, "B", GIAY_KHEN, reason="  Thành tích đột xuất  ")

    assert (proposal.reason, proposal.justification) == ("Thành tích đột xuất", justified("2", "80", "Tốt"))


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        pytest.param("B", DVQT, refusal("Đơn vị B", Q, quota(1)), id="beyond the quota"),
        pytest.param("A", DVQT, refusal("Đơn vị A", Q, f"{ALREADY}; {quota(1)}"), id="twice"),
        pytest.param("G", DVQT, refusal("Đơn vị G", Q, f"{band_low('Trung bình', 'Tốt')}; {quota(1)}"),
                     id="every reason listed"),
        pytest.param("D", DVQT, refusal("Đơn vị D", Q, NOT_A_MEMBER), id="a unit of another cluster"),
    ],
)
def test_add_proposal_refused_with_the_reasons(world, name, code, message):
    w = ready(world)
    propose(w, "A", DVQT)

    error = refused(propose, w=w, name=name, code=code)

    assert error.messages == [message]
    assert active(w) == [("A", DVQT)]


def test_withdraw_proposal_needs_a_reason_and_frees_the_quota(world):
    w = ready(world)
    first = propose(w, "A", DVQT)
    refused(propose, w=w, name="B", code=DVQT)

    error = refused(awarding.withdraw_proposal, proposal=first, reason=" ", by=w.users["officer_a"], now=NOW)
    withdrawn = awarding.withdraw_proposal(proposal=first, reason=" Đơn vị A xin rút ", by=w.users["officer_a"],
                                           now=NOW)
    second = propose(w, "B", DVQT)

    assert error.message_dict == {"reason": [WITHDRAW_REASON]}
    assert (withdrawn.withdrawn_at, withdrawn.withdrawn_reason) == (NOW, "Đơn vị A xin rút")
    assert active(w) == [("B", DVQT)]
    assert Proposal.objects.filter(pk=first.pk).exists()  # kept, marked withdrawn
    assert second.pk != first.pk
    assert reasons(w, "A", DVQT) == [quota(1)]  # A again is now beyond the quota


# --- decisions ----------------------------------------------------------------------------------------------


def test_record_decision_grants_the_proposals(world):
    w = ready(world)
    title, flag = propose(w, "A", DVQT), propose(w, "A", CO_BTL)

    decision = awarding.record_decision(
        superior=w.superior, number=" 231/QĐ-BTL ", date=datetime.date(2024, 12, 20), authority="Bộ Tư lệnh",
        signer="Tư lệnh", year=2024, grants=[(p.unit, p.award_type, p) for p in (title, flag)],
        by=w.users["command"], now=NOW,
    )

    assert (decision.number, decision.recorded_by, decision.recorded_at, decision.revoked_at) == (
        "231/QĐ-BTL", w.users["command"], NOW, None)
    assert [(g.unit.name[-1], g.award_type.code, g.year, g.proposal) for g in decision.grants.order_by("pk")] == [
        ("A", DVQT, 2024, title), ("A", CO_BTL, 2024, flag)]


@pytest.mark.parametrize(
    ("number", "superior", "grants", "error"),
    [
        pytest.param("1/QĐ-BTL", "S", [("A", DVQT)], {"number": [DECISION_NUMBER_USED]}, id="number used by S"),
        pytest.param(" 1/QĐ-BTL ", "S", [("A", DVQT)], {"number": [DECISION_NUMBER_USED]}, id="same number, spaces"),
        pytest.param("1/QĐ-BTL", "S2", [("A", DVQT)], None, id="another superior may use the number"),
        pytest.param("2/QĐ-BTL", "S", [], [DECISION_EMPTY], id="no grant"),
        pytest.param("  ", "S", [("A", DVQT)], {"number": [BLANK]}, id="no number"),
    ],
)
def test_record_decision_number_unique_per_superior_and_not_empty(world, number, superior, grants, error):
    w = ready(world)
    decide(w, 2024, [("B", DVQT)], number="1/QĐ-BTL")
    superior = {"S": w.superior, "S2": w.superior2}[superior]

    def call():
        return decide(w, 2024, grants, number=number, superior=superior)

    if error is None:
        assert call().superior == w.superior2
        return
    with pytest.raises(ValidationError) as caught:
        call()
    assert (caught.value.message_dict if isinstance(error, dict) else caught.value.messages) == error
    assert Decision.objects.count() == 1


def test_revoke_decision_needs_a_reason_keeps_it_and_its_grants_stop_counting(world):
    w = ready(world)
    earlier = decide(w, 2022, [("B", DVQT)])
    decide(w, 2023, [("B", DVQT)])
    eligible = reasons(w, "B", BK_BQP)

    error = refused(awarding.revoke_decision, decision=earlier, reason="", by=w.users["command"], now=NOW)
    revoked = revoke(earlier, w, reason="  Kê khai không trung thực  ")
    again = refused(awarding.revoke_decision, decision=earlier, reason="Lần hai", by=w.users["command"], now=NOW)

    assert eligible == []
    assert error.message_dict == {"reason": [REVOKE_REASON]}
    assert (revoked.revoked_at, revoked.revoked_by, revoked.revoked_reason) == (
        NOW, w.users["command"], "Kê khai không trung thực")
    assert again.messages == [ALREADY_REVOKED]
    assert Decision.objects.filter(pk=earlier.pk).exists() and earlier.grants.count() == 1  # kept
    assert [(g.year, g.decision.revoked_at is not None) for g in awarding.award_history(w.units["B"])] == [
        (2023, False), (2022, True)]
    assert reasons(w, "B", BK_BQP) == [missing(Q, 2022)]


# --- the eligibility table ---------------------------------------------------------------------------------

NO_Q = [missing(Q, y) for y in (2022, 2023)]
NO_XS = [missing(XS, y) for y in (2022, 2023)]


def test_eligibility_table_lists_every_member_for_every_award(world):
    """
    A 90 Xuất sắc (acclaimed), B 80 Tốt, C 70 Khá (an enterprise), G 60 Trung bình; A proposed for the title,
    hence for no other title this year.
    """
    w = ready(world, kinds={"C": "enterprise"})
    proposal = propose(w, "A", DVQT)

    table = [(line.award.code, line.unit.name[-1], line.reasons, line.proposal)
             for line in awarding.eligibility_table(w.y6)]

    kind_q, kind_xs = wrong_kind(ENTERPRISE), wrong_kind(MILITARY)
    kha_tot, tb_tot, tb_kha = band_low("Khá", "Tốt"), band_low("Trung bình", "Tốt"), band_low("Trung bình", "Khá")
    flag = [
        ("A", [], None),
        ("B", [NOT_LEADER, missing(Q, 2024)], None),
        ("C", [NOT_LEADER, missing(XS, 2024)], None),
        ("G", [NOT_LEADER, missing(Q, 2024)], None),
    ]
    expected = [
        (DVQT, "A", [], proposal),
        (DVQT, "B", [quota(1)], None),
        (DVQT, "C", [kind_q, kha_tot, quota(1)], None),
        (DVQT, "G", [tb_tot, quota(1)], None),
        (TTLDXS, "A", [kind_xs, one_per_year(Q)], None),
        (TTLDXS, "B", [kind_xs], None),
        (TTLDXS, "C", [kha_tot], None),
        (TTLDXS, "G", [kind_xs, tb_tot], None),
        (DVTT, "A", [one_per_year(Q)], None),
        (DVTT, "B", [], None),
        (DVTT, "C", [kind_q], None),
        (DVTT, "G", [tb_kha], None),
        (TTLDTT, "A", [kind_xs, one_per_year(Q)], None),
        (TTLDTT, "B", [kind_xs], None),
        (TTLDTT, "C", [], None),
        (TTLDTT, "G", [kind_xs, tb_kha], None),
        *[(CO_BTL, *row) for row in flag],
        *[(CO_BQP, *row) for row in flag],
        (BK_BQP, "A", NO_Q, None),
        (BK_BQP, "B", NO_Q, None),
        (BK_BQP, "C", NO_XS, None),
        (BK_BQP, "G", NO_Q, None),
        (BK_TTG, "A", [missing(Q, y) for y in range(2019, 2024)], None),
        (BK_TTG, "B", [missing(Q, y) for y in range(2019, 2024)], None),
        (BK_TTG, "C", [missing(XS, y) for y in range(2019, 2024)], None),
        (BK_TTG, "G", [missing(Q, y) for y in range(2019, 2024)], None),
        (GIAY_KHEN, "A", [], None),
        (GIAY_KHEN, "B", [], None),
        (GIAY_KHEN, "C", [kha_tot], None),
        (GIAY_KHEN, "G", [tb_tot], None),
    ]
    assert len(table) == 4 * len(CATALOGUE)
    assert table == expected


def test_eligibility_table_of_another_year_does_not_see_this_year_s_proposals(world):
    """A cluster year of 2025 of the same cluster: the 2024 proposal neither fills its quota nor its titles."""
    w = ready(world)
    propose(w, "A", DVQT)
    ctx = awarding.context_for(w.y6)
    next_year = ClusterYearFactory(cluster=w.c6, year=2025)

    assert [p.cluster_year_id for p in ctx.proposals] == [w.y6.pk]
    assert awarding.context_for(next_year).proposals == []
