"""The conference minutes (biên bản): what they read from the year, and the PDF as a reader sees it."""

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

from awards import documents, services
from awards.models import Vote
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

    # cluster year + conference, members, votes, candidates, present, next year, ranking_for (5)
    with django_assert_num_queries(11):
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
