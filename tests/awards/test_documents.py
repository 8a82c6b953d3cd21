"""
The conference minutes (biên bản) and the proposal letter (tờ trình): what they
read from the year, and the PDFs as a reader sees them.
"""

import datetime
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from pypdf import PdfReader

from awards import awarding, documents, services
from awards.models import AwardType, Proposal, Vote
from clusters.models import ClusterYear, Membership, Unit
from scoring import services as scoring_services
from scoring.models import ResultSnapshot, Score, Sheet
from tests.factories import (
    ClusterFactory,
    ClusterYearFactory,
    MembershipFactory,
    SuperiorFactory,
    UnitFactory,
    UserFactory,
    attach,
    make_criteria_set,
)

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2024, 11, 1, 14, 0))
HELD_ON = datetime.date(2024, 11, 1)
PRESIDING = "Thiếu tướng Nguyễn Quốc Toản, Phó Tư lệnh Bộ Tư lệnh Thủ đô Hà Nội"
DIVISION, SCHOOL = "Sư đoàn Bộ binh 301", "Trường Quân sự Bộ Tư lệnh"
COMPANY, REGIMENT = "Công ty TNHHMTV Hà Thành", "Trung đoàn Pháo binh 452"
TITLE = "BIÊN BẢN HỘI NGHỊ TỔNG KẾT CÔNG TÁC THI ĐUA, KHEN THƯỞNG NĂM 2024"

# Official points per unit (SMALL_TREE): the School leads, the Division is runner-up.
SEED = [
    (SCHOOL, {"1.1": "40", "1.2": "20", "2.1": "35"}),  # 95
    (DIVISION, {"1.1": "40", "1.2": "20", "2.1": "30"}),  # 90
    (COMPANY, {"1.1": "40", "1.2": "15", "2.1": "30"}),  # 85
    (REGIMENT, {"1.1": "40", "1.2": "10", "2.1": "30"}),  # 80
]


@dataclass
class Year:
    cluster_year: ClusterYear
    units: dict[str, Unit]
    officer: object
    snapshot: ResultSnapshot
    vote: Vote | None = None


def approved(cluster_year, criteria_set, unit, points: dict[str, str]) -> Sheet:
    """An approved sheet whose official points are ``points`` (as ``tests/scoring/test_ranking.approved``)."""
    sheet = Sheet.objects.create(cluster_year=cluster_year, unit=unit, criteria_set=criteria_set,
                                 status=Sheet.Status.APPROVED)
    for criterion in criteria_set.criteria.exclude(kind="group"):
        value = D(points.get(criterion.code, "0"))
        Score.objects.create(sheet=sheet, criterion=criterion, self_points=value, official_points=value)
    return sheet


def closed_year(members: int = 4) -> Year:
    """Cụm Thi đua số 6 in 2024 with the seed's four units (and more, lower ranked), scoring closed."""
    superior = SuperiorFactory(name="Bộ Tư lệnh Thủ đô Hà Nội")
    cluster = ClusterFactory(name="Cụm Thi đua số 6", superior=superior)
    cluster_year = ClusterYearFactory(cluster=cluster, year=2024)
    criteria_set = make_criteria_set(superior=superior)
    attach(cluster_year, criteria_set)
    spec = SEED + [(f"Đơn vị {n}", {"1.1": "30", "2.1": str(40 - n)}) for n in range(5, members + 1)]
    units = {}
    for name, points in spec:
        unit = units[name] = UnitFactory(name=name, superior=superior)
        role = Membership.Role.CHAIR if name == DIVISION else Membership.Role.MEMBER
        MembershipFactory(cluster_year=cluster_year, unit=unit, role=role)
        approved(cluster_year, criteria_set, unit, points)
    ClusterYear.objects.filter(pk=cluster_year.pk).update(phase=ClusterYear.Phase.SCORING)
    officer = UserFactory(username="officer")
    snapshot = scoring_services.close_scoring(cluster_year=cluster_year, by=officer, now=NOW)
    return Year(cluster_year, units, officer, snapshot)


def voted(year: Year, choice=lambda unit: "agree") -> Year:
    """Round 1 (the rank-1 unit), one ballot per member with ``choice(unit)`` for every candidate, closed."""
    vote = services.prepare_vote(cluster_year=year.cluster_year, by=year.officer, now=NOW)
    candidates = list(vote.candidates.all())
    for unit in year.units.values():
        services.cast_ballot(vote=vote, unit=unit, choices={c.pk: choice(unit) for c in candidates})
    year.vote = services.close_vote(vote=vote, by=year.officer, now=NOW)
    return year


def finished(year: Year) -> Year:
    services.finish_conference(cluster_year=year.cluster_year, by=year.officer, now=NOW, held_on=HELD_ON,
                               place="Hà Nội", presiding=PRESIDING)
    return year


def pdf_text(path: Path, content: bytes) -> str:
    """The PDF's text with every run of whitespace as one space (a title may wrap onto two lines)."""
    path.write_bytes(content)
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


# --- the context -----------------------------------------------------------------------------------


def test_minutes_context_of_a_finished_conference():
    year = finished(voted(closed_year()))
    units = year.units

    context = documents.minutes_context(year.cluster_year)

    assert context["is_draft"] is False
    assert (context["held_on"], context["place"], context["presiding"]) == (HELD_ON, "Hà Nội", PRESIDING)
    assert (context["superior"].name, context["cluster"].name, context["chair"]) == (
        "Bộ Tư lệnh Thủ đô Hà Nội", "Cụm Thi đua số 6", units[DIVISION]
    )
    assert [u.name for u in context["present"]] == sorted([SCHOOL, DIVISION, COMPANY, REGIMENT])
    assert context["all_present"] is True
    assert [(r.rank, r.unit.name, r.total, r.band) for r in context["results"]] == [
        ("1", SCHOOL, D("95.00"), "Xuất sắc"),
        ("2", DIVISION, D("90.00"), "Xuất sắc"),
        ("3", COMPANY, D("85.00"), "Tốt"),
        ("4", REGIMENT, D("80.00"), "Tốt"),
    ]
    assert context["snapshot"] == year.snapshot
    [round_1] = context["votes"]
    assert (round_1.vote.round, round_1.denominator, round_1.ballots_cast) == (1, 4, 4)
    assert [(c.unit.name, c.candidate.agree, c.candidate.disagree, c.candidate.blank, c.share, c.passed)
            for c in round_1.candidates] == [(SCHOOL, 4, 0, 0, D("100.00"), True)]
    assert round_1.lines == [
        f"{SCHOOL}: 4/4 phiếu đồng ý = 100% > 50% → đạt.",
        f"Hội nghị suy tôn {SCHOOL} là đơn vị dẫn đầu Cụm Thi đua số 6 năm 2024.",
    ]
    assert len(round_1.recorded_lines) == 2
    assert context["leader"] == units[SCHOOL]
    assert (context["next_chair"], context["next_vice_chair"]) == (units[SCHOOL], units[DIVISION])
    assert (context["chair_basis"], context["handover_date"]) == (ClusterYear.ChairBasis.ROTATION, HELD_ON)


def test_minutes_context_tally_agrees_with_the_vote_services():
    """The leader falls short (2/4 = 50% is not more than 50%): same shares and verdicts as ``tally``."""
    year = closed_year()
    split = {SCHOOL: "agree", DIVISION: "agree", COMPANY: "disagree", REGIMENT: "blank"}
    voted(year, choice=lambda unit: split[unit.name])

    [round_1] = documents.minutes_context(year.cluster_year)["votes"]

    expected = [(t.candidate.unit.name, t.denominator, t.share, t.passed) for t in services.tally(year.vote)]
    assert [(c.unit.name, c.denominator, c.share, c.passed) for c in round_1.candidates] == expected
    tallies = [(c.candidate.agree, c.candidate.disagree, c.candidate.blank) for c in round_1.candidates]
    assert tallies == [(2, 1, 1)]
    assert round_1.lines == [
        f"{SCHOOL}: 2/4 phiếu đồng ý = 50% ≤ 50% → không đạt.",
        "Không có ứng cử viên nào đạt: Hội nghị tổ chức bỏ phiếu vòng tiếp theo.",
    ]


@pytest.mark.parametrize("members", [4, 8])
def test_minutes_context_reads_in_a_fixed_number_of_queries(members, django_assert_num_queries):
    year = finished(voted(closed_year(members)))

    # cluster year + conference, members, votes, candidates, present, next year, proposals, ranking_for (3)
    with django_assert_num_queries(10):
        context = documents.minutes_context(year.cluster_year)

    assert len(context["members"]) == len(context["results"]) == members


# --- the PDF ---------------------------------------------------------------------------------------


def test_minutes_pdf_of_a_finished_conference(tmp_path):
    year = finished(voted(closed_year()))

    content = documents.minutes_pdf(year.cluster_year, number="12/BB-CTĐ6")

    assert content.startswith(b"%PDF")
    text = pdf_text(tmp_path / "minutes.pdf", content)
    for line in [
        "BỘ TƯ LỆNH THỦ ĐÔ HÀ NỘI", "CỤM THI ĐUA SỐ 6", "Số: 12/BB-CTĐ6",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        "Hà Nội, ngày 01 tháng 11 năm 2024", TITLE,
        "I. THỜI GIAN, ĐỊA ĐIỂM", "Thời gian: ngày 01/11/2024", "Địa điểm: Hà Nội",
        f"Chủ trì Hội nghị: {PRESIDING}", "4/4 đơn vị thành viên",
        SCHOOL, DIVISION, COMPANY, REGIMENT, "Xuất sắc", "Tốt",
        "III. KẾT QUẢ CHẤM ĐIỂM, XẾP HẠNG", "IV. KẾT QUẢ BỎ PHIẾU SUY TÔN",
        "4/4 (100%)", f"{SCHOOL}: 4/4 phiếu đồng ý = 100% > 50% → đạt.",
        f"Hội nghị suy tôn {SCHOOL} là đơn vị dẫn đầu Cụm Thi đua số 6 năm 2024.",
        f"Đơn vị dẫn đầu Cụm Thi đua số 6 năm 2024: {SCHOOL}.",
        "V. ĐỀ NGHỊ KHEN THƯỞNG", documents.PROPOSALS_PLACEHOLDER,
        "VI. BÀN GIAO CỤM TRƯỞNG",
        f"Đơn vị Cụm trưởng năm 2025: {SCHOOL}.", f"Đơn vị Cụm phó năm 2025: {DIVISION}.",
        "Căn cứ: Luân phiên theo quy chế hoạt động của Cụm", "Ngày bàn giao: 01/11/2024",
        "THƯ KÝ", "CHỦ TRÌ HỘI NGHỊ", "Thiếu tướng Nguyễn Quốc Toản", "Trang 1/",
    ]:
        assert line in text, line
    assert year.snapshot.checksum in "".join(text.split())
    assert "DỰ THẢO" not in text


def test_minutes_pdf_before_the_conference_is_finished_is_a_draft(tmp_path):
    year = voted(closed_year())

    text = pdf_text(tmp_path / "draft.pdf", documents.minutes_pdf(year.cluster_year))

    for line in [
        "DỰ THẢO", TITLE, "Số: ……/BB-CTĐ", "ngày ..... tháng ..... năm .......",
        f"Hội nghị suy tôn {SCHOOL} là đơn vị dẫn đầu Cụm Thi đua số 6 năm 2024.",
        "Ngày bàn giao: ..... / ..... / ..........", documents.PROPOSALS_PLACEHOLDER,
    ]:
        assert line in text, line
    assert f"Đơn vị Cụm trưởng năm 2025: {SCHOOL}" not in text
    assert PRESIDING not in text


def test_minutes_pdf_without_a_vote_says_so(tmp_path):
    year = closed_year()

    text = pdf_text(tmp_path / "no-vote.pdf", documents.minutes_pdf(year.cluster_year))

    assert "Hội nghị chưa tổ chức bỏ phiếu suy tôn." in text
    assert "DỰ THẢO" in text


def test_minutes_templates_load_nothing_from_outside():
    folder = Path(settings.BASE_DIR) / "templates/awards/pdf"
    sources = "".join(path.read_text() for path in folder.glob("*.html"))
    assert [s for s in ("http", "url(", "@import", "<link", "<img", "<script", "src=") if s in sources] == []


def test_weasyprint_is_imported_only_for_a_pdf():
    code = "import django; django.setup(); import sys, awards.documents; print('weasyprint' in sys.modules)"
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.test", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=settings.BASE_DIR, env=env)
    assert done.stdout.strip() == "False"


# --- the proposals: the letter (tờ trình) and section V of the minutes ------------------------------

LETTER_SUBJECT = "Về việc đề nghị khen thưởng các đơn vị Cụm Thi đua số 6 năm 2024"
# Awards of the tests' own (codes apart from the seeded catalogue), in the catalogue's order.
QUYET_THANG, XUAT_SAC = "Đơn vị Quyết thắng", "Tập thể lao động xuất sắc"
FLAG, CERTIFICATE = "Cờ thi đua của Bộ Tư lệnh Thủ đô Hà Nội", "Giấy khen của Bộ Tư lệnh"
AWARDS = [("thu-dvqt", QUYET_THANG, 901, "title"), ("thu-ttldxs", XUAT_SAC, 902, "title"),
          ("thu-co", FLAG, 903, "flag"), ("thu-giay-khen", CERTIFICATE, 904, "certificate")]
JUSTIFICATIONS = {
    SCHOOL: "Dẫn đầu Cụm, hạng 1/4 với 95,00 điểm; được Hội nghị suy tôn 4/4.",
    DIVISION: "Hạng 2/4 với 90,00 điểm, hoàn thành xuất sắc nhiệm vụ huấn luyện.",
    COMPANY: "Hạng 3/4 với 85,00 điểm, vượt chỉ tiêu sản xuất kinh doanh.",
    REGIMENT: "Hạng 4/4 với 80,00 điểm.",
}


def proposed(year: Year, *, withdraw_regiment: bool = True) -> dict[str, AwardType]:
    """The year's proposals through ``awards.awarding``; the Regiment's certificate withdrawn."""
    awards = {name: AwardType.objects.create(code=code, name=name, level="Bộ Tư lệnh",
                                             authority="Tư lệnh Bộ Tư lệnh Thủ đô Hà Nội",
                                             kind=kind, position=position)
              for code, name, position, kind in AWARDS}
    for unit, award in [(DIVISION, QUYET_THANG), (SCHOOL, QUYET_THANG), (COMPANY, XUAT_SAC), (SCHOOL, FLAG),
                        (REGIMENT, CERTIFICATE)]:
        proposal = awarding.add_proposal(
            cluster_year=year.cluster_year, unit=year.units[unit], award=awards[award],
            reason="Hội nghị thống nhất", by=year.officer, now=NOW, justification_text=JUSTIFICATIONS[unit],
        )
    if withdraw_regiment:
        awarding.withdraw_proposal(proposal=proposal, reason="Chưa đủ hồ sơ", by=year.officer, now=NOW)
    return awards


# The active proposals in the catalogue's order, then by unit name: (unit, award).
ACTIVE = [(DIVISION, QUYET_THANG), (SCHOOL, QUYET_THANG), (COMPANY, XUAT_SAC), (SCHOOL, FLAG)]


def test_proposal_letter_context_lists_the_active_proposals():
    year = finished(voted(closed_year()))
    proposed(year)

    context = documents.proposal_letter_context(year.cluster_year)

    assert [(p.unit.name, p.award_type.name) for p in context["proposals"]] == ACTIVE
    assert (context["chair"], context["leader"], context["superior"].name) == (
        year.units[DIVISION], year.units[SCHOOL], "Bộ Tư lệnh Thủ đô Hà Nội",
    )
    assert (context["held_on"], context["place"], context["units_proposed"]) == (HELD_ON, "Hà Nội", 3)


@pytest.mark.parametrize("members", [4, 8])
def test_proposal_letter_context_reads_in_a_fixed_number_of_queries(members, django_assert_num_queries):
    year = finished(voted(closed_year(members)))
    awards = proposed(year)
    for name, unit in year.units.items():
        if name.startswith("Đơn vị "):
            awarding.add_proposal(cluster_year=year.cluster_year, unit=unit, award=awards[CERTIFICATE],
                                  reason="Hội nghị thống nhất", by=year.officer, now=NOW)

    # cluster year + cluster + superior + conference, chair, proposals
    with django_assert_num_queries(3):
        context = documents.proposal_letter_context(year.cluster_year)

    assert len(context["proposals"]) == len(ACTIVE) + members - 4


def test_proposal_letter_pdf(tmp_path):
    year = finished(voted(closed_year()))
    proposed(year)

    content = documents.proposal_letter_pdf(year.cluster_year, number="45/TTr-CTĐ6",
                                            date=datetime.date(2024, 11, 5))

    assert content.startswith(b"%PDF")
    text = pdf_text(tmp_path / "letter.pdf", content)
    for line in [
        "BỘ TƯ LỆNH THỦ ĐÔ HÀ NỘI", "SƯ ĐOÀN BỘ BINH 301", "Số: 45/TTr-CTĐ6",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
        "Hà Nội, ngày 05 tháng 11 năm 2024", "TỜ TRÌNH", LETTER_SUBJECT,
        "Kính gửi: Bộ Tư lệnh Thủ đô Hà Nội",
        "Hội nghị tổng kết công tác thi đua, khen thưởng năm 2024 của Cụm Thi đua số 6"
        " tổ chức ngày 01/11/2024 tại Hà Nội",
        f"Hội nghị đã suy tôn {SCHOOL} là đơn vị dẫn đầu Cụm Thi đua số 6 năm 2024",
        f"{DIVISION}, đơn vị Cụm trưởng Cụm Thi đua số 6 năm 2024, kính đề nghị Bộ Tư lệnh Thủ đô Hà Nội",
        "3 đơn vị (4 hình thức khen thưởng)",
        "STT", "Đơn vị", "Hình thức khen thưởng", "Tóm tắt thành tích",
        SCHOOL, DIVISION, COMPANY, QUYET_THANG, XUAT_SAC, FLAG,
        JUSTIFICATIONS[SCHOOL], JUSTIFICATIONS[DIVISION], JUSTIFICATIONS[COMPANY],
        "Hồ sơ kèm theo: Biên bản hội nghị tổng kết công tác thi đua, khen thưởng năm 2024"
        " của Cụm Thi đua số 6 ngày 01/11/2024",
        "Nơi nhận:", "CỤM TRƯỞNG SƯ ĐOÀN BỘ BINH 301", "Trang 1/",
    ]:
        assert line in text, line
    # The withdrawn proposal is not in the letter.
    assert REGIMENT not in text and CERTIFICATE not in text and JUSTIFICATIONS[REGIMENT] not in text
    # The rows in order: number, unit, award.
    rows = [f"{n} {unit} {award}" for n, (unit, award) in enumerate(ACTIVE, start=1)]
    positions = [text.find(row) for row in rows]
    assert -1 not in positions and positions == sorted(positions), rows


def test_proposal_letter_pdf_without_number_and_date_leaves_them_blank(tmp_path):
    year = voted(closed_year())  # acclaimed, the conference not yet finished
    proposed(year)

    text = pdf_text(tmp_path / "blank.pdf", documents.proposal_letter_pdf(year.cluster_year))

    for line in [
        "Số: ……/TTr-CTĐ", "Hà Nội, ngày ..... tháng ..... năm .......", "Kính gửi: Bộ Tư lệnh Thủ đô Hà Nội",
        "tổ chức ngày ..... / ..... / .......... tại …………………………",
        f"Hội nghị đã suy tôn {SCHOOL} là đơn vị dẫn đầu", QUYET_THANG, FLAG,
    ]:
        assert line in text, line


def test_minutes_pdf_lists_the_proposals_in_section_v(tmp_path):
    year = finished(voted(closed_year()))
    proposed(year)

    text = pdf_text(tmp_path / "minutes.pdf", documents.minutes_pdf(year.cluster_year))

    section = text.split("V. ĐỀ NGHỊ KHEN THƯỞNG", 1)[1].split("VI. BÀN GIAO CỤM TRƯỞNG", 1)[0]
    intro = "Hội nghị thống nhất đề nghị Bộ Tư lệnh Thủ đô Hà Nội xem xét, khen thưởng các đơn vị sau:"
    assert intro in section
    for n, (unit, award) in enumerate(ACTIVE, start=1):
        assert f"{n} {unit} {award}" in section, (unit, award)
    for unit in (SCHOOL, DIVISION, COMPANY):
        assert JUSTIFICATIONS[unit] in section
    assert documents.PROPOSALS_PLACEHOLDER not in text
    assert REGIMENT not in section and CERTIFICATE not in text


def test_minutes_keep_the_placeholder_when_every_proposal_is_withdrawn(tmp_path):
    year = finished(voted(closed_year()))
    proposed(year)
    Proposal.objects.filter(withdrawn_at__isnull=True).update(withdrawn_at=NOW,
                                                              withdrawn_reason="Làm lại hồ sơ")

    text = pdf_text(tmp_path / "minutes.pdf", documents.minutes_pdf(year.cluster_year))

    assert documents.PROPOSALS_PLACEHOLDER in text
    assert QUYET_THANG not in text and FLAG not in text
    assert documents.minutes_context(year.cluster_year)["proposals"] == []
