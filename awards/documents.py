"""
The documents of the year-end conference: the minutes (biên bản hội nghị) and
the proposal letter (tờ trình đề nghị khen thưởng).

The minutes (``minutes_context`` reads them; ``minutes_pdf`` writes them)
- Read from the frozen results (``scoring.ranking.ranking_for``), the rounds
  of the leader vote and the ``Conference`` row, in a fixed number of queries
  whatever the numbers of members, candidates and rounds: every count the
  document shows (denominators, shares, ballots cast) is worked out in Python
  from rows fetched once.
- A finished conference gives the final minutes: its date and place, the
  presiding officer, the acclaimed unit, next year's chair and vice chair
  with the basis, and the handover date (the conference day, as
  ``services.finish_conference`` records it). Before that the minutes are a
  draft: "DỰ THẢO" above the title, and the date, place, presiding officer
  and the handover are dotted blanks to fill by hand.
- Attendance: the units recorded as present in the rounds of the vote; when
  none was recorded, every member unit.
- The tally of each round: per candidate agree / disagree / blank, the share
  of agree votes against the round's denominator (all members, or those
  present) and whether the candidate passed (as stored by ``close_vote``; an
  open round is computed with the same rule), then one line per candidate
  explaining the verdict and the outcome of the round. Those lines are
  written here in Vietnamese, whatever language the round was closed in; the
  text stored on the round is kept in the context as ``recorded_lines``.
- Labels are fixed Vietnamese whatever the user's language: this is an
  administrative document, laid out like ``scoring.exports``'s PDFs (Decree
  30/2020/NĐ-CP: issuing body and "Số: …/BB-…" on the left, the national
  motto and the place and date line on the right, the centred title), with
  the sections I-VI and the signatures of the secretary and the presiding
  officer. Section V lists the active (not withdrawn) award proposals of the
  year, as the letter does; without any, it keeps the placeholder sentence.
  WeasyPrint is imported only when a PDF is made, and the renderer
  refuses every URL: the template is self-contained.

The proposal letter (``proposal_letter_context`` reads it; ``proposal_letter_pdf`` writes it)
- Sent by the chair unit of the cluster year (its membership with role
  "chair", under the superior's name in the letterhead) to the superior
  ("Kính gửi: Bộ Tư lệnh Thủ đô Hà Nội."), numbered "Số: …/TTr-…" and dated
  (dotted blanks when not given), titled "TỜ TRÌNH / Về việc đề nghị khen
  thưởng các đơn vị <cluster> năm <year>".
- The body cites the conference (its date and place from the ``Conference``
  row, dotted blanks before it is finished) and the acclaimed unit, then the
  table of the active proposals in the catalogue's order (STT | Đơn vị |
  Hình thức khen thưởng | Tóm tắt thành tích: the proposal's justification),
  "Hồ sơ kèm theo: Biên bản hội nghị …", the recipients and the signature
  block "CỤM TRƯỞNG" with the chair unit's name.
- Read in a fixed number of queries whatever the number of proposals.
"""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Prefetch
from django.template.loader import render_to_string
from django.utils import timezone

from clusters.models import Cluster, ClusterYear, Membership, Unit
from scoring.exports import BAND_LABELS, PLACE, date_line
from scoring.models import ResultSnapshot
from scoring.ranking import ranking_for
from scoring.validators import format_points

from .models import Candidate, Conference, Proposal, Vote, VoteRules

MINUTES_TEMPLATE = "awards/pdf/minutes.html"
MINUTES_TITLE = "BIÊN BẢN"
MINUTES_SUBJECT = "HỘI NGHỊ TỔNG KẾT CÔNG TÁC THI ĐUA, KHEN THƯỞNG NĂM {year}"
DRAFT = "DỰ THẢO"
NUMBER_BLANK = "……/BB-CTĐ"
DOTS = "…………………………"
PROPOSALS_PLACEHOLDER = "(Phần đề nghị khen thưởng được bổ sung khi lập hồ sơ khen thưởng.)"
LETTER_TEMPLATE = "awards/pdf/proposal_letter.html"
LETTER_TITLE = "TỜ TRÌNH"
LETTER_SUBJECT = "Về việc đề nghị khen thưởng các đơn vị {cluster} năm {year}"
LETTER_NUMBER_BLANK = "……/TTr-CTĐ"
NO_PROPOSALS = "Chưa có đơn vị nào được đề nghị khen thưởng."
PERCENT = Decimal("100")

CHAIR_BASIS_LABELS = {
    ClusterYear.ChairBasis.FOUNDING: "Quyết định thành lập Cụm",
    ClusterYear.ChairBasis.ROTATION: "Luân phiên theo quy chế hoạt động của Cụm",
    ClusterYear.ChairBasis.ELECTION: "Hội nghị bầu",
    ClusterYear.ChairBasis.DECISION: "Quyết định của cấp trên",
}
CHAIR_POLICY_LABELS = {
    Cluster.ChairPolicy.LEADER: "đơn vị dẫn đầu Cụm đảm nhiệm Cụm trưởng năm sau",
    Cluster.ChairPolicy.FIXED_ORDER: "các đơn vị lần lượt đảm nhiệm Cụm trưởng theo thứ tự cố định",
    Cluster.ChairPolicy.ELECTED: "Hội nghị bầu đơn vị Cụm trưởng",
    Cluster.ChairPolicy.ASSIGNED: "cấp trên quyết định đơn vị Cụm trưởng",
}
MODE_LABELS = {Vote.Mode.ELECTRONIC: "phiếu điện tử", Vote.Mode.PAPER: "phiếu giấy"}


@dataclass
class CandidateLine:
    """One candidate of a round, with its tally."""

    candidate: Candidate
    denominator: int
    share: Decimal  # agree / denominator, in percent, 2 places
    passed: bool

    @property
    def unit(self) -> Unit:
        return self.candidate.unit

    @property
    def agree_ratio(self) -> str:
        return f"{self.candidate.agree}/{self.denominator}"

    @property
    def share_display(self) -> str:
        return f"{format_points(self.share)}%"

    @property
    def verdict(self) -> str:
        return "Đạt" if self.passed else "Không đạt"


@dataclass
class VoteRound:
    """One round of the leader vote as the minutes tell it."""

    vote: Vote
    candidates: list[CandidateLine]
    denominator: int
    ballots_cast: int  # electronic: units on the roll; paper: ballots returned
    ballots_issued: int | None
    lines: list[str]  # in Vietnamese, one per candidate, then the outcome
    recorded_lines: list[str] = field(default_factory=list)  # the explanation stored on the round

    @property
    def rule(self) -> str:
        vote = self.vote
        reach = f"từ {vote.threshold}% trở lên" if vote.threshold_inclusive else f"trên {vote.threshold}%"
        if vote.denominator == VoteRules.Denominator.PRESENT:
            against = f"số đơn vị có mặt ({self.denominator})"
        else:
            against = f"tổng số đơn vị thành viên ({self.denominator})"
        return f"ứng cử viên đạt khi có số phiếu đồng ý {reach} {against}"

    @property
    def manner(self) -> str:
        secrecy = "bỏ phiếu kín" if self.vote.secret else "biểu quyết công khai"
        return f"{secrecy}, {MODE_LABELS.get(self.vote.mode, '')}"


@dataclass
class ResultLine:
    rank: str  # "2=" for a shared rank
    unit: Unit
    total: Decimal
    band: str


def _passes(agree: int, denominator: int, threshold: int, inclusive: bool) -> bool:
    """The rule of ``services.tally``: agree / denominator above (or reaching) the threshold."""
    if denominator <= 0:
        return False
    exact, bound = Decimal(agree) * PERCENT, Decimal(threshold) * denominator
    return exact >= bound if inclusive else exact > bound


def _share(agree: int, denominator: int) -> Decimal:
    if not denominator:
        return Decimal(0)
    return (Decimal(agree) * PERCENT / denominator).quantize(Decimal("0.01"), ROUND_HALF_UP)


def _candidate_line(vote: Vote, line: CandidateLine) -> str:
    if vote.threshold_inclusive:
        sign = "≥" if line.passed else "<"
    else:
        sign = ">" if line.passed else "≤"
    verdict = "đạt" if line.passed else "không đạt"
    return (f"{line.unit.name}: {line.agree_ratio} phiếu đồng ý = {line.share_display} "
            f"{sign} {vote.threshold}% → {verdict}.")


def _outcome_line(vote: Vote, cluster_name: str, year: int) -> str:
    if vote.is_open:
        return "Vòng bỏ phiếu chưa kết thúc."
    if vote.outcome == Vote.Outcome.ACCLAIMED and vote.leader is not None:
        return f"Hội nghị suy tôn {vote.leader.name} là đơn vị dẫn đầu {cluster_name} năm {year}."
    if vote.outcome == Vote.Outcome.SUPERIOR:
        text = "Các ứng cử viên bằng nhau về số phiếu đồng ý và tổng điểm: đề nghị cấp trên quyết định."
        if vote.leader is not None:
            decided = f" ngày {vote.decision_date:%d/%m/%Y}" if vote.decision_date else ""
            text += (f" Cấp trên quyết định {vote.leader.name} là đơn vị dẫn đầu"
                     f" (Quyết định số {vote.decision_number}{decided}).")
        return text
    return "Không có ứng cử viên nào đạt: Hội nghị tổ chức bỏ phiếu vòng tiếp theo."


def _rounds(votes: list[Vote], members: int, cluster_name: str, year: int) -> list[VoteRound]:
    rounds = []
    for vote in votes:
        if vote.denominator == VoteRules.Denominator.PRESENT:
            denominator = len(vote.present.all())
        else:
            denominator = members
        lines = []
        for candidate in vote.candidates.all():
            passed = candidate.passed if not vote.is_open else _passes(
                candidate.agree, denominator, vote.threshold, vote.threshold_inclusive
            )
            lines.append(CandidateLine(candidate, denominator, _share(candidate.agree, denominator), passed))
        cast = vote.ballots_returned if vote.mode == Vote.Mode.PAPER else vote.ballots_cast
        text = [_candidate_line(vote, line) for line in lines] + [_outcome_line(vote, cluster_name, year)]
        recorded = [line for line in vote.explanation.splitlines() if line.strip()]
        rounds.append(VoteRound(vote, lines, denominator, cast or 0, vote.ballots_issued, text, recorded))
    return rounds


def minutes_context(cluster_year: ClusterYear) -> dict:
    """
    Everything the minutes show, in a fixed number of queries: the cluster year
    with its cluster, superior and conference (1), the members (1), next year's
    chair record (1, once the conference is finished), the rounds of the vote
    with their ballots cast, candidates and units present (3), the active
    proposals with their units and awards (1), and the frozen ranking
    (``ranking_for``: 5).
    """
    cluster_year = ClusterYear.objects.select_related(
        "cluster__superior", "conference__leader", "conference__next_chair", "conference__next_vice_chair",
    ).get(pk=cluster_year.pk)
    try:
        conference = cluster_year.conference
    except Conference.DoesNotExist:
        conference = None
    cluster = cluster_year.cluster
    memberships = list(cluster_year.memberships.select_related("unit").order_by("unit__name"))
    members = [m.unit for m in memberships]
    chair = next((m.unit for m in memberships if m.role == Membership.Role.CHAIR), None)
    vice_chair = next((m.unit for m in memberships if m.role == Membership.Role.VICE_CHAIR), None)

    votes = list(
        Vote.objects.filter(cluster_year=cluster_year)
        .select_related("leader")
        .annotate(ballots_cast=Count("participations"))
        .prefetch_related(
            Prefetch("candidates",
                     queryset=Candidate.objects.select_related("unit").order_by("frozen_rank", "unit__name")),
            Prefetch("present", queryset=Unit.objects.order_by("name")),
        )
        .order_by("round")
    )
    rounds = _rounds(votes, len(members), cluster.name, cluster_year.year)
    present_ids = {unit.pk for vote in votes for unit in vote.present.all()}
    present = [unit for unit in members if unit.pk in present_ids] if present_ids else members

    if conference is not None:
        leader = conference.leader
    else:
        leader = next((v.leader for v in reversed(votes) if not v.is_open and v.leader is not None), None)

    next_year = None
    if conference is not None:
        next_year = ClusterYear.objects.filter(cluster=cluster, year=cluster_year.year + 1).first()

    proposals = active_proposals(cluster_year)

    ranking = ranking_for(cluster_year)
    results = [
        ResultLine(row.rank_display, row.unit, row.total, BAND_LABELS.get(row.band, ""))
        for row in ranking.rows
    ]
    return {
        "cluster_year": cluster_year,
        "cluster": cluster,
        "superior": cluster.superior,
        "year": cluster_year.year,
        "next_year": cluster_year.year + 1,
        "members": members,
        "chair": chair,
        "vice_chair": vice_chair,
        "conference": conference,
        "is_draft": conference is None,
        "held_on": conference.held_on if conference else None,
        "place": conference.place if conference else "",
        "presiding": conference.presiding if conference else "",
        "present": present,
        "all_present": len(present) == len(members),
        "votes": rounds,
        "leader": leader,
        "next_chair": conference.next_chair if conference else None,
        "next_vice_chair": conference.next_vice_chair if conference else None,
        "chair_basis": conference.chair_basis if conference else "",
        "chair_basis_label": CHAIR_BASIS_LABELS.get(conference.chair_basis, "") if conference else "",
        "chair_policy_label": CHAIR_POLICY_LABELS.get(cluster.chair_policy, ""),
        "override_reason": conference.override_reason if conference else "",
        "decision_number": next_year.decision_number if next_year else "",
        "decision_date": next_year.decision_date if next_year else None,
        "handover_date": (next_year.handover_date if next_year and next_year.handover_date
                          else conference.held_on if conference else None),
        "ranking": ranking,
        "results": results,
        "snapshot": ranking.snapshot if ranking.is_final else None,
        "proposals": proposals,
    }


def active_proposals(cluster_year: ClusterYear) -> list[Proposal]:
    """The proposals of the year not withdrawn, in the catalogue's order then by unit name: one query."""
    return list(
        Proposal.objects.filter(cluster_year=cluster_year, withdrawn_at__isnull=True)
        .select_related("unit", "award_type")
        .order_by("award_type__position", "award_type__name", "unit__name", "pk")
    )


def _signer(presiding: str) -> str:
    """The name under the signature: rank and name, before the position ("Thiếu tướng Nguyễn Quốc Toản")."""
    return presiding.split(",")[0].strip()


def _snapshot_line(snapshot: ResultSnapshot | None) -> str:
    if snapshot is None:
        return "Kết quả tạm thời (chưa chốt kết quả chấm điểm)."
    frozen = timezone.localdate(snapshot.created_at)
    return (f"Kết quả chính thức theo bản chốt số {snapshot.number} ngày {frozen:%d/%m/%Y},"
            f" mã kiểm tra: {snapshot.checksum}.")


def _render(template: str, context: dict) -> bytes:
    # Imported here: WeasyPrint needs Pango, which a machine serving only pages may lack.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_to_string(template, context)
    # No protocol allowed: the document is self-contained and never reaches the network or the disk.
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()


def minutes_pdf(cluster_year: ClusterYear, *, number: str = "") -> bytes:
    """
    The minutes of the year-end conference as a PDF (see the module docstring).
    ``number`` fills "Số:" (e.g. "12/BB-CTĐ6"); without it the number is left to write by hand.
    """
    context = minutes_context(cluster_year)
    held_on: datetime.date | None = context["held_on"]
    place = context["place"] or DOTS
    context.update(
        issued_by=context["cluster"].name,
        number=number or NUMBER_BLANK,
        place_and_date=f"{place}, {date_line(held_on)}",
        title=MINUTES_TITLE,
        subject=MINUTES_SUBJECT.format(year=context["year"]),
        draft_label=DRAFT,
        dots=DOTS,
        proposals_placeholder=PROPOSALS_PLACEHOLDER,
        snapshot_line=_snapshot_line(context["snapshot"]),
        signer=_signer(context["presiding"]),
        footer=(f"Biên bản hội nghị tổng kết năm {context['year']} – {context['cluster'].name}"
                + (f" – {DRAFT}" if context["is_draft"] else "")),
    )
    return _render(MINUTES_TEMPLATE, context)


# --- the proposal letter (tờ trình) ------------------------------------------------------------------


def proposal_letter_context(cluster_year: ClusterYear) -> dict:
    """
    What the letter shows, in a fixed number of queries: the cluster year with
    its cluster, superior and conference (1), the chair (1), the active
    proposals (1) and, before the conference is finished, the acclaimed unit
    of the last decided round (1).
    """
    cluster_year = ClusterYear.objects.select_related(
        "cluster__superior", "conference__leader",
    ).get(pk=cluster_year.pk)
    try:
        conference = cluster_year.conference
    except Conference.DoesNotExist:
        conference = None
    chair_of_year = cluster_year.memberships.filter(role=Membership.Role.CHAIR).select_related("unit").first()
    chair = chair_of_year.unit if chair_of_year else None
    proposals = active_proposals(cluster_year)
    if conference is not None:
        leader = conference.leader
    else:
        vote = (
            Vote.objects.filter(cluster_year=cluster_year, status=Vote.Status.CLOSED, leader__isnull=False)
            .select_related("leader").order_by("-round").first()
        )
        leader = vote.leader if vote else None
    return {
        "cluster_year": cluster_year,
        "cluster": cluster_year.cluster,
        "superior": cluster_year.cluster.superior,
        "year": cluster_year.year,
        "conference": conference,
        "held_on": conference.held_on if conference else None,
        "place": conference.place if conference else "",
        "leader": leader,
        "chair": chair,
        "proposals": proposals,
        "units_proposed": len({p.unit_id for p in proposals}),
    }


def proposal_letter_pdf(
    cluster_year: ClusterYear, *, number: str = "", date: datetime.date | None = None,
) -> bytes:
    """
    The proposal letter (tờ trình đề nghị khen thưởng) of the cluster year as a
    PDF (see the module docstring). ``number`` fills "Số:" (e.g. "45/TTr-CTĐ6");
    ``date`` None leaves the date to be written by hand, like a missing number.
    """
    context = proposal_letter_context(cluster_year)
    cluster, year = context["cluster"], context["year"]
    chair = context["chair"]
    held_on: datetime.date | None = context["held_on"]
    context.update(
        issued_by=chair.name if chair else cluster.name,
        number=number or LETTER_NUMBER_BLANK,
        place_and_date=f"{PLACE}, {date_line(date)}",
        title=LETTER_TITLE,
        subject=LETTER_SUBJECT.format(cluster=cluster.name, year=year),
        dots=DOTS,
        conference_date=f"ngày {held_on:%d/%m/%Y}" if held_on else "ngày ..... / ..... / ..........",
        conference_place=context["place"] or DOTS,
        no_proposals=NO_PROPOSALS,
        footer=f"Tờ trình đề nghị khen thưởng năm {year} – {cluster.name}",
    )
    return _render(LETTER_TEMPLATE, context)
