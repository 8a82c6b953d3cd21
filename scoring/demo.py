"""
The demo, scoring part: the scoring story of Cụm Thi đua số 6 (../shared/seed).

On top of ``clusters.demo`` (units, clusters, accounts, the first cluster
years in planning) this part gives ``awards.demo``, which drives the years in
order, the scoring steps:

- ``criteria_sets``: the criteria set of Bộ Tư lệnh Thủ đô Hà Nội for 2022
  (six groups of standard criteria adding up to 100, a group of bonus items
  capped at 10, a group of deductions capped at 10), cloned for 2023, 2024 and
  2025 (the conference that opens a year gives it the clone of the year
  before);
- ``Story.score_year``: one year of Cụm 6 from planning to the conference:
  every member fills and submits its sheet as its unit staff, the cluster
  officer of the year's chair reviews (the chair unit's own sheet goes to the
  command officer ``btl``), changes a few points with a reason, approves every
  sheet and closes the scoring, which freezes the results (snapshot 1, with
  ranks, ties and bands). 2022 has a full tie for third place ("3=") and 2023
  a tie on total separated by the standard subtotal. In 2024 Trường Quân sự
  Bộ Tư lệnh leads on official points and Sư đoàn Bộ binh 301 comes second,
  as the conference of 1 November 2024 acclaimed the School and handed it the
  chair;
- ``Story.open_year``: 2025 (opened by the 2024 conference with the School as
  chair and Sư đoàn 301 as vice chair) open for self-assessment for 30 days
  from the day the demo is first loaded: Công ty Hà Thành has a draft, Sư đoàn
  301 has submitted, the two others have not started;
- ``Story.cluster_7``: Cụm 7 gets the 2023 and 2024 sets, without sheets
  (2023 closed without results).

Every write goes through ``clusters.services`` and ``scoring.services`` as the
demo account that would make it, at a time inside the year, so the trail is
real. Points are fixed (no randomness).
"""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.files.base import ContentFile
from django.utils import timezone

from clusters import demo as cluster_demo
from clusters import services as cluster_services
from clusters.demo import DEMO_PASSWORD, HA_THANH, PB452, SD301, TQS
from clusters.models import Cluster, ClusterYear, Membership, Superior, Unit, User

from . import services
from .models import CriteriaSet, Criterion, Evidence, Score, ScoreEvent, Sheet
from .services import Entry

__all__ = ["DEMO_PASSWORD", "Story", "counts", "criteria_sets", "deadlines"]

K = Criterion.Kind
D = Decimal

SET_NAME = "Tiêu chí chấm điểm thi đua các Cụm Thi đua Quyết thắng"

# code, title, kind, max, evidence required, guidance
CRITERIA = [
    ("1", "Giáo dục chính trị, tuyên truyền", K.GROUP, None, False, ""),
    ("1.1", "Giáo dục chính trị; học tập, quán triệt nghị quyết, chỉ thị của cấp trên", K.STANDARD, 6, False,
     "Tổ chức đủ nội dung, thời gian theo kế hoạch giáo dục chính trị năm; tỷ lệ quân nhân đạt khá, giỏi "
     "trong kiểm tra nhận thức từ 80% trở lên: đủ điểm. Thiếu nội dung hoặc tỷ lệ thấp hơn: trừ tương ứng."),
    ("1.2", "Tuyên truyền kỷ niệm các ngày lễ lớn, sự kiện chính trị của đất nước, Quân đội và Thủ đô",
     K.STANDARD, 5, False,
     "Có kế hoạch và báo cáo kết quả đúng thời gian; hình thức phong phú (pa nô, bản tin, hội thi, "
     "sân khấu hóa)."),
    ("1.3", "Đấu tranh phòng, chống “diễn biến hòa bình”, bảo vệ nền tảng tư tưởng của Đảng", K.STANDARD, 4,
     False, "Lực lượng 47 hoạt động hiệu quả; không có quân nhân vi phạm quy định sử dụng mạng xã hội."),
    ("2", "Sẵn sàng chiến đấu, huấn luyện, diễn tập", K.GROUP, None, False, ""),
    ("2.1", "Duy trì nghiêm chế độ trực sẵn sàng chiến đấu, trực chỉ huy, trực ban", K.STANDARD, 8, False,
     "Quân số, vũ khí, trang bị trực đúng quy định; qua kiểm tra của cấp trên không có sai sót."),
    ("2.2", "Kết quả huấn luyện và kiểm tra cuối năm", K.STANDARD, 9, False,
     "Căn cứ kết quả kiểm tra của Bộ Tư lệnh: Giỏi 8–9 điểm; Khá 6,5–7,75 điểm; Đạt yêu cầu 5–6,25 điểm; "
     "không đạt 0 điểm."),
    ("2.3", "Diễn tập khu vực phòng thủ, diễn tập chiến đấu, phòng chống thiên tai – tìm kiếm cứu nạn",
     K.STANDARD, 8, True,
     "Tham gia đầy đủ các cuộc diễn tập theo kế hoạch của Bộ Tư lệnh; đính kèm biên bản hoặc nhận xét "
     "kết quả diễn tập."),
    ("3", "Xây dựng Đảng, tổ chức, dân chủ", K.GROUP, None, False, ""),
    ("3.1", "Xây dựng tổ chức đảng trong sạch, vững mạnh; công tác kiểm tra, giám sát", K.STANDARD, 8, False,
     "Tổ chức đảng được đánh giá hoàn thành tốt nhiệm vụ trở lên; thực hiện đủ chương trình kiểm tra, "
     "giám sát năm."),
    ("3.2", "Công tác tổ chức, biên chế; quản lý, bố trí cán bộ", K.STANDARD, 6, False,
     "Tổ chức, biên chế đúng quy định; quản lý quân số chặt chẽ; không để thiếu cán bộ chủ trì kéo dài."),
    ("3.3", "Thực hiện Quy chế dân chủ ở cơ sở; xây dựng đoàn kết nội bộ", K.STANDARD, 6, False,
     "Duy trì hội nghị quân nhân; Hội đồng quân nhân hoạt động đúng quy định; không có đơn thư vượt cấp."),
    ("4", "Kỷ luật, an ninh, an toàn", K.GROUP, None, False, ""),
    ("4.1", "Chấp hành pháp luật Nhà nước, kỷ luật Quân đội; quản lý bộ đội", K.STANDARD, 6, False,
     "Không có vụ việc vi phạm kỷ luật nghiêm trọng; tỷ lệ vi phạm kỷ luật dưới 0,3%: đủ điểm."),
    ("4.2", "Bảo đảm an ninh, an toàn đơn vị; bảo vệ bí mật quân sự", K.STANDARD, 5, False,
     "Không để lộ, lọt bí mật; không có vụ việc phức tạp về an ninh chính trị nội bộ."),
    ("4.3", "An toàn giao thông, an toàn huấn luyện, phòng chống cháy nổ", K.STANDARD, 4, False,
     "Không để xảy ra tai nạn, sự cố; có phương án và tổ chức luyện tập phòng chống cháy nổ."),
    ("5", "Hậu cần – kỹ thuật", K.GROUP, None, False, ""),
    ("5.1", "Bảo đảm đời sống bộ đội; tăng gia sản xuất, cải thiện bữa ăn", K.STANDARD, 5, False,
     "Bảo đảm đủ tiêu chuẩn, định lượng ăn; quân số khỏe đạt từ 98% trở lên."),
    ("5.2", "Quản lý, khai thác, bảo quản, bảo dưỡng vũ khí, trang bị kỹ thuật", K.STANDARD, 6, False,
     "Thực hiện tốt Tháng hành động bảo dưỡng vũ khí, trang bị kỹ thuật; hệ số kỹ thuật đạt chỉ tiêu; "
     "không để mất mát, hư hỏng."),
    ("5.3", "Quản lý tài chính, doanh trại, xăng dầu đúng quy định", K.STANDARD, 4, False,
     "Qua kiểm tra của cấp trên không có sai phạm; chứng từ, sổ sách đầy đủ."),
    ("6", "Công tác thi đua, khen thưởng", K.GROUP, None, False, ""),
    ("6.1", "Vận dụng luật, thông tư, hướng dẫn về thi đua, khen thưởng; kế hoạch và phát động "
     "phong trào Thi đua Quyết thắng", K.STANDARD, 3, False,
     "Có kế hoạch thi đua năm, phát động đợt thi đua cao điểm; văn bản đúng thẩm quyền."),
    ("6.2", "Theo dõi, chấm điểm, đánh giá thi đua theo quy chế của Cụm; báo cáo đúng thời gian",
     K.STANDARD, 4, False,
     "Tự chấm điểm đầy đủ, có minh chứng; báo cáo sơ kết, tổng kết đúng hạn."),
    ("6.3", "Tổ chức Đại hội Thi đua Quyết thắng, hội nghị điển hình tiên tiến; phát hiện, bồi dưỡng, "
     "nhân rộng điển hình", K.STANDARD, 3, True,
     "Đính kèm kế hoạch, báo cáo kết quả đại hội hoặc hội nghị điển hình tiên tiến."),
    ("7", "Điểm thưởng", K.GROUP, None, False, ""),
    ("7.1", "Được tặng Cờ thi đua trong năm", K.BONUS, 5, True,
     "Cờ thi đua của Bộ Quốc phòng: 5 điểm; Cờ thi đua của Bộ Tư lệnh: 3 điểm. Đính kèm quyết định."),
    ("7.2", "Được tặng Bằng khen, Giấy khen cho tập thể", K.BONUS, 3, True,
     "Bằng khen của Bộ trưởng Bộ Quốc phòng: 3 điểm; Bằng khen của Tư lệnh: 2 điểm; Giấy khen: 1 điểm "
     "(tính mức cao nhất). Đính kèm quyết định."),
    ("7.3", "Có mô hình hay, điển hình tiên tiến được cấp trên công nhận, nhân rộng", K.BONUS, 4, False,
     "Mỗi mô hình được Bộ Tư lệnh công nhận bằng văn bản: 2 điểm, tối đa 4 điểm."),
    ("7.4", "Đạt giải trong hội thi, hội thao cấp Bộ Tư lệnh trở lên", K.BONUS, 3, False,
     "Giải Nhất: 3 điểm; giải Nhì: 2 điểm; giải Ba: 1 điểm."),
    ("8", "Điểm trừ", K.GROUP, None, False, ""),
    ("8.1", "Có quân nhân vi phạm kỷ luật nghiêm trọng, bị xử lý từ cảnh cáo trở lên", K.DEDUCTION, 5, False,
     "Mỗi trường hợp trừ 2,5 điểm."),
    ("8.2", "Để xảy ra mất an toàn: tai nạn giao thông, tai nạn huấn luyện, cháy nổ", K.DEDUCTION, 5, False,
     "Mỗi vụ trừ 2 điểm; vụ có thương vong trừ 5 điểm."),
    ("8.3", "Báo cáo chậm, sai hoặc thiếu so với quy định của Cụm và Bộ Tư lệnh", K.DEDUCTION, 2, False,
     "Mỗi lần trừ 0,5 điểm."),
    ("8.4", "Bị cấp trên nhắc nhở, phê bình bằng văn bản", K.DEDUCTION, 3, False, "Mỗi lần trừ 1 điểm."),
]

# How far below the maxima each unit rates itself (in % of each maximum, varied per criterion by
# PATTERN), and its bonus and deduction items. Fixed numbers: the same demo on every machine.
# With the cluster's changes below they give two visible ties in the frozen results: in 2022
# Trường Quân sự and Trung đoàn 452 are equal on every rule (shared rank "3="); in 2023 Công ty
# Hà Thành and Trung đoàn 452 are equal on total (96.00) and the standard subtotal puts Hà Thành third.
PATTERN = (0, 3, -2, 5, 1, -1, 4, 2, -3, 6, 0, 2, 1, -2, 3, 0, 5, -1)


@dataclass(frozen=True)
class Profile:
    shortfall: int
    bonus: dict
    deduction: dict


PROFILES = {
    2022: {
        HA_THANH: Profile(5, {"7.2": 3, "7.3": 2}, {}),
        SD301: Profile(6, {"7.1": 3}, {}),
        TQS: Profile(6, {"7.2": 2}, {}),
        PB452: Profile(5, {"7.4": 2}, {}),
    },
    2023: {
        SD301: Profile(4, {"7.1": 5, "7.3": 4}, {}),
        TQS: Profile(5, {"7.2": 3, "7.4": 2}, {}),
        HA_THANH: Profile(2, {"7.2": 2}, {"8.2": 2}),
        PB452: Profile(6, {"7.4": 3}, {}),
    },
    2024: {
        TQS: Profile(3, {"7.1": 5, "7.2": 3, "7.3": 4}, {}),
        SD301: Profile(4, {"7.1": 3, "7.2": 3}, {}),
        PB452: Profile(6, {"7.2": 2}, {}),
        HA_THANH: Profile(8, {"7.2": 2}, {"8.3": D("0.5")}),
    },
    2025: {
        SD301: Profile(5, {"7.2": 2}, {}),
        HA_THANH: Profile(7, {}, {}),
    },
}

# The cluster's official points where they differ from the unit's: (unit, code, change, reason).
ADJUSTMENTS = {
    2022: [
        (PB452, "2.2", D("-1.5"),
         "Kết quả kiểm tra huấn luyện cuối năm 2022 của Bộ Tư lệnh xếp loại Khá; "
         "đơn vị tự chấm theo mức Giỏi."),
        (TQS, "6.2", D("-1"),
         "Báo cáo sơ kết thi đua 6 tháng đầu năm gửi chậm 10 ngày so với hướng dẫn của Cụm."),
        (HA_THANH, "7.2", D("-1"),
         "Bằng khen của Tư lệnh Bộ Tư lệnh Thủ đô (2 điểm), không phải Bằng khen của Bộ trưởng Bộ Quốc phòng "
         "(3 điểm) theo hướng dẫn mục 7.2."),
        (SD301, "8.3", D("1"),
         "Báo cáo kết quả phong trào quý III và báo cáo 9 tháng gửi chậm: 2 lần × 0,5 điểm."),
    ],
    2023: [
        (HA_THANH, "5.3", D("-0.75"),
         "Kiểm tra tài chính năm 2023 của Bộ Tư lệnh còn chứng từ thanh toán chưa đầy đủ."),
        (PB452, "2.3", D("0.5"),
         "Đơn vị tự chấm thấp: diễn tập chiến đấu trong khu vực phòng thủ được Bộ Tư lệnh "
         "nhận xét đạt Giỏi."),
        (TQS, "1.2", D("-0.5"),
         "Thiếu báo cáo kết quả tuyên truyền kỷ niệm Ngày Giải phóng Thủ đô 10/10 theo hướng dẫn của Cụm."),
        (SD301, "7.3", D("-2"),
         "Chỉ một mô hình có văn bản công nhận của Bộ Tư lệnh; mô hình thứ hai chưa đủ căn cứ cộng điểm."),
    ],
    2024: [
        (SD301, "4.3", D("-1"),
         "Chưa tổ chức luyện tập phương án phòng cháy, chữa cháy tại khu kho trong quý III theo kế hoạch; "
         "chưa đủ điều kiện điểm tối đa."),
        (TQS, "2.3", D("0.25"),
         "Trường hoàn thành xuất sắc nhiệm vụ trong diễn tập khu vực phòng thủ Thành phố Hà Nội năm 2024, "
         "được Bộ Tư lệnh đánh giá Giỏi; đơn vị tự chấm thấp hơn kết quả."),
        (PB452, "5.2", D("-1"),
         "Kiểm tra Tháng hành động bảo dưỡng vũ khí, trang bị kỹ thuật năm 2024: còn 2 khí tài chưa đạt "
         "hệ số kỹ thuật."),
    ],
}


@dataclass(frozen=True)
class Return:
    """A sheet the cluster sends back: the comment, the unit's answer and its corrected points."""

    unit: tuple
    code: str
    comment: str
    message: str
    answer: str
    change: Decimal
    reason: str


RETURNS = {
    2024: Return(
        HA_THANH, "1.2",
        "Đề nghị bổ sung kết quả tuyên truyền kỷ niệm 70 năm Chiến thắng Điện Biên Phủ và 70 năm Ngày Giải "
        "phóng Thủ đô; điểm tự chấm chưa có căn cứ.",
        "Đề nghị đơn vị rà soát mục 1.2 và gửi lại bảng tự chấm điểm.",
        "Đơn vị đã rà soát: chỉ tổ chức tuyên truyền bằng pa nô, bản tin nội bộ; điều chỉnh giảm 0,5 điểm.",
        D("-0.5"),
        "Rà soát lại theo ý kiến của Cụm trưởng.",
    ),
}

NOTES = {
    "2.3": "Kèm nhận xét kết quả diễn tập năm {year} của Bộ Tư lệnh.",
    "6.3": "Kèm báo cáo hội nghị điển hình tiên tiến năm {year}.",
    "7.1": "Kèm quyết định tặng Cờ thi đua năm {year}.",
    "7.2": "Kèm quyết định khen thưởng năm {year}.",
}
EVIDENCE_NAMES = {
    "2.3": "Nhận xét kết quả diễn tập {year}.pdf",
    "6.3": "Báo cáo hội nghị điển hình tiên tiến {year}.pdf",
    "7.1": "Quyết định tặng Cờ thi đua {year}.pdf",
    "7.2": "Quyết định khen thưởng {year}.pdf",
}

# The cluster officer of each chair (the role moves with the chair).
OFFICERS = {
    PB452: "cumtruong6pb452", HA_THANH: "cumtruong6hathanh", SD301: "cumtruong6", TQS: "cumtruong6tqs",
}
STAFF = {SD301: "sd301", TQS: "tqs", HA_THANH: "hathanh", PB452: "pb452"}
ORDER_6 = [SD301, TQS, HA_THANH, PB452]  # the order in which the members submit and are reviewed

PHASE_REASONS = {
    "scoring": "Triển khai tự chấm điểm thi đua năm {year} theo quy chế của Cụm.",
    "review": "Hết hạn tự chấm điểm; Cụm trưởng thẩm định bảng điểm các đơn vị.",
    "conference": "Hoàn thành thẩm định; chốt kết quả chấm điểm trình Hội nghị tổng kết công tác thi đua, "
                  "khen thưởng năm {year}.",
}
DEADLINES_REASON = "Hạn tự chấm điểm và thẩm định năm {year}."
# The day each phase began in a closed year (month, day): self-assessment is due on 15 October, the
# review on 25 October (``deadlines``), the scoring closes on 26 October and the conference follows
# in early November (its day is in ``awards.demo``; "closed" is the day of Cụm 7's placeholder close).
PHASE_DAYS = {"scoring": (1, 15), "review": (10, 16), "conference": (10, 26), "closed": (11, 5)}


def deadlines(year: int) -> tuple[datetime.date, datetime.date]:
    """Self-assessment and review due dates of a closed year (the ones ``clusters.demo`` gives 2022)."""
    return datetime.date(year, 10, 15), datetime.date(year, 10, 25)


def _at(day: datetime.date, hour: int = 8, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(day.year, day.month, day.day, hour, minute))


def _phase_at(year: int, phase: str) -> datetime.datetime:
    month, day = PHASE_DAYS[phase]
    return _at(datetime.date(year, month, day))


def _pdf(text: str) -> bytes:
    """A one-page PDF saying ``text`` (ASCII): the evidence files of the demo."""
    content = b"BT /F1 14 Tf 72 770 Td (" + text.encode("ascii") + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n" % (len(objects) + 1, xref) + b"%%EOF\n"
    return out


# --- criteria sets ------------------------------------------------------------------------------


def criteria_sets(superior: Superior) -> dict[int, CriteriaSet]:
    """The 2022 set, written once, and its clones for 2023–2025 (each cloned from the year before)."""
    sets = {}
    base = CriteriaSet.objects.filter(superior=superior, year=2022, name=SET_NAME).first()
    if base is None:
        base = CriteriaSet.objects.create(
            superior=superior, year=2022, name=SET_NAME,
            scale=D("100"), bonus_cap=D("10"), deduction_cap=D("10"),
        )
        for code, title, kind, max_points, evidence, guidance in CRITERIA:
            Criterion.objects.create(
                criteria_set=base, code=code, title=title, kind=kind, guidance=guidance,
                max_points=None if max_points is None else D(max_points), evidence_required=evidence,
            )
        services.rebuild_tree(base)
    sets[2022] = base
    for year in (2023, 2024, 2025):
        sets[year] = CriteriaSet.objects.filter(superior=superior, year=year, name=SET_NAME).first() or (
            services.clone_criteria_set(source=sets[year - 1], year=year)
        )
    return sets


# --- points -------------------------------------------------------------------------------------


def _points(criteria: list[Criterion], year: int, unit: tuple) -> dict[str, Decimal]:
    """The unit's own points per code: each standard maximum less a shortfall, to the quarter point."""
    profile = PROFILES[year][unit]
    shift = ORDER_6.index(unit) * 5 + year
    points = {}
    standard = [c for c in criteria if c.kind == K.STANDARD]
    for index, criterion in enumerate(standard):
        rate = max(profile.shortfall + PATTERN[(index + shift) % len(PATTERN)], 0)
        quarters = (criterion.max_points * rate * 4 / 100).quantize(D("1"), rounding=ROUND_HALF_UP)
        points[criterion.code] = max(criterion.max_points - quarters / 4, D("0")).quantize(D("0.01"))
    for criterion in criteria:
        if criterion.kind == K.BONUS:
            points[criterion.code] = D(profile.bonus.get(criterion.code, 0)).quantize(D("0.01"))
        elif criterion.kind == K.DEDUCTION:
            points[criterion.code] = D(profile.deduction.get(criterion.code, 0)).quantize(D("0.01"))
    return points


def _entries(criteria: list[Criterion], points: dict[str, Decimal], codes: set[str], year: int) -> dict:
    entries = {}
    for criterion in criteria:
        if criterion.code not in codes:
            continue
        value = points[criterion.code]
        files = []
        if criterion.evidence_required and value > 0:
            name = EVIDENCE_NAMES[criterion.code].format(year=year)
            text = f"Minh chung muc {criterion.code} nam {year} - du lieu mau ThiDua"
            files = [ContentFile(_pdf(text), name=name)]
        note = NOTES.get(criterion.code, "").format(year=year) if value > 0 else ""
        entries[criterion.pk] = Entry(points=value, note=note, files=files)
    return entries


# --- the cycle ----------------------------------------------------------------------------------


class Story:
    """Drives one loading: the users and units of the clusters part, the sets, the times."""

    def __init__(self, demo: cluster_demo.ClusterDemo, sets: dict[int, CriteriaSet]):
        self.demo = demo
        self.sets = sets
        self.criteria = {
            year: list(s.criteria.exclude(kind=K.GROUP).order_by("sort_key")) for year, s in sets.items()
        }

    def user(self, username: str) -> User:
        return self.demo.users[username]

    def unit(self, spec: tuple) -> Unit:
        return self.demo.units[spec]

    @staticmethod
    def advance(cluster_year: ClusterYear, by: User, when: datetime.datetime, reason: str,
                through_flow: bool = False) -> ClusterYear:
        return cluster_services.advance_phase(
            cluster_year=cluster_year, by=by, now=when, reason=reason, through_flow=through_flow
        )

    def walk_to(self, cluster_year: ClusterYear, phase: str, by: User, reason: str) -> ClusterYear:
        """Advance to ``phase``, each step on the customary day of the phase (a year without sheets)."""
        while cluster_year.phase != phase:
            when = _phase_at(cluster_year.year, cluster_year.next_phase)
            # Placeholder for Cụm 7, which has no sheets: nothing to freeze and no leader to vote on, so the
            # year goes straight through the conference (through_flow=True) instead of the awards flow.
            cluster_year = self.advance(cluster_year, by, when, reason, through_flow=True)
        return cluster_year

    def chair_of(self, cluster_year: ClusterYear) -> tuple:
        """The demo spec of the year's chair unit."""
        unit_id = cluster_year.memberships.get(role=Membership.Role.CHAIR).unit_id
        return next(spec for spec, unit in self.demo.units.items() if unit.pk == unit_id)

    def officer_of(self, cluster_year: ClusterYear) -> User:
        """The cluster officer of the year's chair: the account that runs the year."""
        return self.user(OFFICERS[self.chair_of(cluster_year)])

    def schedule(self, cluster_year: ClusterYear, self_assessment_due: datetime.date,
                 review_due: datetime.date) -> ClusterYear:
        """The deadlines of a year the conference of the year before has just opened (set by ``admin``)."""
        return cluster_services.set_deadlines(
            cluster_year=cluster_year, self_assessment_due=self_assessment_due, review_due=review_due,
            by=self.demo.admin, reason=DEADLINES_REASON.format(year=cluster_year.year),
        )

    def fill(self, cluster_year: ClusterYear, spec: tuple, *, first: datetime.datetime,
             second: datetime.datetime | None, submit: datetime.datetime | None, draft_codes=None) -> Sheet:
        """
        The unit's staff save the sheet in two sittings (groups 1–4, then the rest with the files)
        and submit it; ``draft_codes`` fills only those criteria, in one sitting.
        """
        year, staff = cluster_year.year, self.user(STAFF[spec])
        criteria = self.criteria[year]
        points = _points(criteria, year, spec)
        first_codes = {c.code for c in criteria if c.code.split(".")[0] in ("1", "2", "3", "4")}
        if draft_codes is not None:
            first_codes = draft_codes
        unit = self.unit(spec)
        sheet = services.save_self_assessment(
            cluster_year=cluster_year, unit=unit, entries=_entries(criteria, points, first_codes, year),
            version=0, by=staff, now=first, today=timezone.localdate(first),
        )
        if second is not None:
            rest = {c.code for c in criteria} - first_codes
            sheet = services.save_self_assessment(
                cluster_year=cluster_year, unit=unit, entries=_entries(criteria, points, rest, year),
                version=sheet.version, by=staff, now=second, today=timezone.localdate(second),
            )
        if submit is not None:
            sheet = services.submit_sheet(
                cluster_year=cluster_year, unit=unit, version=sheet.version, by=staff, now=submit,
                today=timezone.localdate(submit),
            )
        return sheet

    def send_back(self, sheet: Sheet, back: Return, reviewer: User, day: datetime.date) -> Sheet:
        """The reviewer returns the sheet; the unit answers, corrects its points and submits again."""
        year = sheet.cluster_year.year
        criterion = next(c for c in self.criteria[year] if c.code == back.code)
        sheet = services.return_sheet(
            sheet=sheet, comments={criterion.pk: back.comment}, message=back.message, by=reviewer,
            now=_at(day, 9),
        )
        score = Score.objects.get(sheet=sheet, criterion=criterion)
        staff, answered = self.user(STAFF[back.unit]), day + datetime.timedelta(days=1)
        entry = Entry(points=score.self_points + back.change, note=score.note, answer=back.answer)
        sheet = services.save_self_assessment(
            cluster_year=sheet.cluster_year, unit=sheet.unit, entries={criterion.pk: entry},
            version=sheet.version, by=staff, now=_at(answered, 14), today=answered, reason=back.reason,
        )
        return services.submit_sheet(
            cluster_year=sheet.cluster_year, unit=sheet.unit, version=sheet.version, by=staff,
            now=_at(answered, 15), today=answered,
        )

    def review(self, sheet: Sheet, reviewer: User, day: datetime.date) -> Sheet:
        """Official points where the cluster disagrees (with the reason), the unit's elsewhere, approval."""
        year = sheet.cluster_year.year
        spec = next(s for s, u in self.demo.units.items() if u.pk == sheet.unit_id)
        by_code = {c.code: c for c in self.criteria[year]}
        for unit_spec, code, change, reason in ADJUSTMENTS.get(year, []):
            if unit_spec != spec:
                continue
            score = Score.objects.get(sheet=sheet, criterion=by_code[code])
            sheet = services.set_official_points(
                sheet=sheet, criterion=by_code[code], points=score.self_points + change, reason=reason,
                by=reviewer, now=_at(day, 9),
            )
        sheet = services.accept_self_points(sheet=sheet, by=reviewer, now=_at(day, 9, 30))
        return services.approve_sheet(sheet=sheet, by=reviewer, now=_at(day, 10))

    # --- the clusters --------------------------------------------------------------------------

    def score_year(self, cluster_year: ClusterYear) -> ClusterYear:
        """
        One year of Cụm 6 from planning to the conference (planning → scoring → review → conference),
        with every sheet filled, reviewed and approved and the results frozen by closing the scoring.
        """
        year = cluster_year.year
        chair = self.chair_of(cluster_year)
        officer = self.user(OFFICERS[chair])
        if services.criteria_set_for(cluster_year) != self.sets[year]:
            services.attach_criteria_set(cluster_year=cluster_year, criteria_set=self.sets[year])
        cluster_year = self.advance(cluster_year, officer, _phase_at(year, "scoring"),
                                    PHASE_REASONS["scoring"].format(year=year))
        sheets = {}
        for index, spec in enumerate(ORDER_6):
            sheets[spec] = self.fill(
                cluster_year, spec,
                first=_at(datetime.date(year, 9, 20 + index), 9),
                second=_at(datetime.date(year, 10, 6 + index), 9),
                submit=_at(datetime.date(year, 10, 6 + index), 16),
            )
        cluster_year = self.advance(cluster_year, officer, _phase_at(year, "review"),
                                    PHASE_REASONS["review"].format(year=year))
        back = RETURNS.get(year)
        if back is not None:
            sheets[back.unit] = self.send_back(sheets[back.unit], back, officer, datetime.date(year, 10, 17))
        for index, spec in enumerate(ORDER_6):
            # Conflict rule: the chair unit's own sheet is reviewed by the command officer.
            reviewer = self.user("btl") if spec == chair else officer
            self.review(sheets[spec], reviewer, datetime.date(year, 10, 19 + index))
        # Closing the scoring freezes the results (snapshot 1) and moves the year to the conference.
        services.close_scoring(cluster_year=cluster_year, by=officer, now=_phase_at(year, "conference"),
                               reason=PHASE_REASONS["conference"].format(year=year))
        cluster_year.refresh_from_db()
        return cluster_year

    def open_year(self, cluster_year: ClusterYear, now: datetime.datetime) -> ClusterYear:
        """
        2025, opened by the conference of 1 November 2024: open for self-assessment for 30 days from
        ``now`` (review: 45 days); Sư đoàn 301 has submitted, Công ty Hà Thành has a draft.
        """
        today = timezone.localdate(now)
        cluster_year = self.schedule(cluster_year, today + datetime.timedelta(days=30),
                                     today + datetime.timedelta(days=45))
        officer = self.officer_of(cluster_year)
        cluster_year = self.advance(cluster_year, officer, now,
                                    PHASE_REASONS["scoring"].format(year=cluster_year.year))
        self.fill(cluster_year, SD301, first=now, second=now, submit=now)
        draft = {c.code for c in self.criteria[cluster_year.year] if c.code.split(".")[0] in ("1", "2")}
        self.fill(cluster_year, HA_THANH, first=now, second=None, submit=None, draft_codes=draft)
        return cluster_year

    def cluster_7(self, years: dict[int, ClusterYear]) -> None:
        """Cụm 7: the sets attached, 2023 closed and 2024 in self-assessment, no sheets."""
        for year, phase in ((2023, ClusterYear.Phase.CLOSED), (2024, ClusterYear.Phase.SCORING)):
            services.attach_criteria_set(cluster_year=years[year], criteria_set=self.sets[year])
            self.walk_to(years[year], phase, self.demo.admin, "Dữ liệu mẫu")


def counts() -> dict[str, int]:
    return {
        "units": Unit.objects.count(),
        "clusters": Cluster.objects.count(),
        "cluster years": ClusterYear.objects.count(),
        "criteria sets": CriteriaSet.objects.count(),
        "sheets": Sheet.objects.count(),
        "scores": Score.objects.count(),
        "evidence files": Evidence.objects.count(),
        "score events": ScoreEvent.objects.count(),
        "users": User.objects.count(),
    }
