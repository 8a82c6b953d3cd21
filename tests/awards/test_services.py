"""
The conference's services as tables: the leader vote (threshold, denominator,
self-vote, several candidates, runoff, tie left to the superior, paper
tallies, closed rounds), the secrecy of the ballot, the chair rotation and
finishing the conference.

Arranged through the services (tests/awards/conftest.py): Cụm 6 2024 with
members A (chair), B (vice chair), C, G and, for five members, H; frozen
totals A 90, B 80, C 70, G 60 unless a test says otherwise. Messages and
explanations are compared exactly, in Vietnamese (the default language).
"""

import datetime
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError

from awards import services
from awards.models import Candidate, Conference, OpenChoice, Participation, Vote
from clusters import services as cluster_services
from clusters.models import ClusterYear, PhaseChange, RoleAssignment, Unit
from scoring import services as scoring_services
from tests.awards.conftest import FOUR, HELD_ON, NOW, arrange_conference
from tests.factories import ClusterFactory, RoleFactory, SuperiorFactory, UserFactory

pytestmark = pytest.mark.django_db

FIVE = {**FOUR, "H": "50"}
THREE = {"A": "90", "B": "80", "C": "70"}
TIED = {"A": "90", "B": "90", "C": "70", "G": "60"}
REASON = "Đề nghị của Đơn vị C"
DECISION_DATE = datetime.date(2024, 11, 20)
CHOICE = {"a": "agree", "d": "disagree", "b": "blank"}

NOT_OPEN = "Vòng bỏ phiếu này đã kết thúc."
DECISION_NEEDED = "Cụm trưởng do cấp trên chỉ định phải có số và ngày quyết định."
SUPERIOR_DECISION_NEEDED = "Quyết định của cấp trên phải có số và ngày."
OVERRIDE = "Hãy ghi lý do không theo quy chế luân phiên, hoặc số quyết định."
CHOICE_MISSING = "Hãy chọn đồng ý, không đồng ý hoặc để trống cho mỗi đơn vị được giới thiệu."
NONE_PASSED = "Không đơn vị nào đạt: cần bỏ phiếu vòng sau."
SUPERIOR = "Ngang nhau về số phiếu đồng ý và tổng điểm: cấp trên quyết định."


# --- helpers: acting through the services --------------------------------------------------------


def open_vote(w, **options) -> Vote:
    return services.prepare_vote(cluster_year=w.y6, by=w.users["officer_a"], now=NOW, **options)


def extra(w, *names: str) -> list[tuple[Unit, str]]:
    return [(w.units[name], REASON) for name in names]


def cast(w, vote: Vote, ballots: dict[str, str]) -> None:
    """``ballots``: voter → one letter per candidate in ballot order (a agree, d disagree, b blank)."""
    candidates = list(vote.candidates.all())
    for voter, marks in ballots.items():
        choices = {c.pk: CHOICE[letter] for c, letter in zip(candidates, marks, strict=True)}
        services.cast_ballot(vote=vote, unit=w.units[voter], choices=choices)


def close(w, vote: Vote, by: str = "officer_a") -> Vote:
    return services.close_vote(vote=vote, by=w.users[by], now=NOW)


def acclaim(w, name: str = "A") -> Vote:
    """Round 1 with the rank-1 unit ``name``, every member agrees, closed."""
    vote = open_vote(w)
    cast(w, vote, {m.unit.name[-1]: "a" for m in w.y6.memberships.select_related("unit")})
    vote = close(w, vote)
    assert (vote.outcome, vote.leader) == ("acclaimed", w.units[name])
    return vote


def finish(w, **options) -> ClusterYear:
    units = {k: w.units[v] for k, v in options.items() if k in ("chair", "vice_chair") and v}
    return services.finish_conference(
        cluster_year=w.y6, by=w.users["officer_a"], now=NOW, held_on=HELD_ON, place="Hà Nội",
        presiding="Thiếu tướng Nguyễn Quốc Toản", **{**options, **units},
    )


def counters(vote: Vote) -> list[tuple]:
    """(candidate, agree, disagree, blank, passed) as stored."""
    return [(c.unit.name[-1], c.agree, c.disagree, c.blank, c.passed)
            for c in Candidate.objects.filter(vote=vote).select_related("unit")]


def letters(units) -> list[str]:
    return [u.name[-1] for u in units]


def roles(cluster_year: ClusterYear) -> list[tuple[str, str]]:
    return [(m.unit.name[-1], m.role) for m in cluster_year.memberships.select_related("unit").order_by("unit__name")]


def refused(call, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as error:
        call(**kwargs)
    return error.value


# --- the threshold ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("totals", "rules", "ballots", "outcome", "passed", "explanation"),
    [
        pytest.param(FOUR, None, {"A": "a", "B": "a", "C": "d", "G": "d"}, "runoff", (2, 2, 0, False),
                     ["Đơn vị A: 2/4 đồng ý = 50% ≤ 50% → không đạt", NONE_PASSED],
                     id="more than 50%, 4 members: 2 agree is not more"),
        pytest.param(FOUR, None, {"A": "a", "B": "a", "C": "a", "G": "d"}, "acclaimed", (3, 1, 0, True),
                     ["Đơn vị A: 3/4 đồng ý = 75% > 50% → đạt", "Đơn vị A được suy tôn là đơn vị dẫn đầu Cụm."],
                     id="more than 50%, 4 members: 3 agree passes"),
        pytest.param(FOUR, None, {"A": "a", "B": "a", "C": "b", "G": "b"}, "runoff", (2, 0, 2, False),
                     ["Đơn vị A: 2/4 đồng ý = 50% ≤ 50% → không đạt", NONE_PASSED],
                     id="blank ballots are not agree"),
        pytest.param(THREE, None, {"A": "a", "B": "a", "C": "d"}, "acclaimed", (2, 1, 0, True),
                     ["Đơn vị A: 2/3 đồng ý = 66,67% > 50% → đạt", "Đơn vị A được suy tôn là đơn vị dẫn đầu Cụm."],
                     id="more than 50%, 3 members: 2 agree passes, share rounded"),
        pytest.param(FIVE, {"threshold": 80, "threshold_inclusive": True},
                     {"A": "a", "B": "a", "C": "a", "G": "a", "H": "d"}, "acclaimed", (4, 1, 0, True),
                     ["Đơn vị A: 4/5 đồng ý = 80% ≥ 80% → đạt", "Đơn vị A được suy tôn là đơn vị dẫn đầu Cụm."],
                     id="80% or more, 5 members: 4 agree reaches it"),
        pytest.param(FIVE, {"threshold": 80}, {"A": "a", "B": "a", "C": "a", "G": "a", "H": "d"}, "runoff",
                     (4, 1, 0, False), ["Đơn vị A: 4/5 đồng ý = 80% ≤ 80% → không đạt", NONE_PASSED],
                     id="more than 80%, 5 members: 4 agree is not more"),
        pytest.param(FOUR, {"threshold": 80, "threshold_inclusive": True}, {"A": "a", "B": "a", "C": "a", "G": "d"},
                     "runoff", (3, 1, 0, False), ["Đơn vị A: 3/4 đồng ý = 75% < 80% → không đạt", NONE_PASSED],
                     id="80% or more, 4 members: 3 agree falls short"),
        pytest.param(FOUR, {"threshold": 100, "threshold_inclusive": True},
                     {"A": "a", "B": "a", "C": "a", "G": "a"}, "acclaimed", (4, 0, 0, True),
                     ["Đơn vị A: 4/4 đồng ý = 100% ≥ 100% → đạt", "Đơn vị A được suy tôn là đơn vị dẫn đầu Cụm."],
                     id="unanimity"),
    ],
)
def test_threshold_at_the_boundary(conference, totals, rules, ballots, outcome, passed, explanation):
    w = conference(totals, rules=rules)
    vote = open_vote(w)
    cast(w, vote, ballots)

    vote = close(w, vote)

    assert (vote.status, vote.outcome, vote.closed_by, vote.closed_at) == ("closed", outcome, w.users["officer_a"], NOW)
    assert vote.leader == (w.units["A"] if outcome == "acclaimed" else None)
    assert counters(vote) == [("A", *passed)]
    assert vote.explanation.splitlines() == explanation


# --- the denominator and attendance ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("denominator", "outcome", "line"),
    [
        ("members", "runoff", "Đơn vị A: 2/4 đồng ý = 50% ≤ 50% → không đạt"),
        ("present", "acclaimed", "Đơn vị A: 2/3 đồng ý = 66,67% > 50% → đạt"),
    ],
)
def test_denominator_all_members_or_members_present(conference, denominator, outcome, line):
    w = conference(rules={"denominator": denominator})
    vote = open_vote(w, present=[w.units[k] for k in "ABCD"])  # D belongs to Cụm 7: not recorded
    cast(w, vote, {"A": "a", "B": "a", "C": "d"})  # G is absent

    vote = close(w, vote)

    assert letters(vote.present.order_by("name")) == ["A", "B", "C"]
    assert (vote.denominator, vote.outcome, vote.explanation.splitlines()[0]) == (denominator, outcome, line)


def test_with_members_present_as_denominator_an_absent_unit_cannot_vote(conference):
    w = conference(rules={"denominator": "present"})
    vote = open_vote(w, present=[w.units[k] for k in "ABC"])

    error = refused(cast, w=w, vote=vote, ballots={"G": "a"})

    assert error.messages == ["Đơn vị G không có tên trong danh sách dự hội nghị."]
    assert (counters(vote), Participation.objects.count()) == ([("A", 0, 0, 0, False)], 0)


# --- voting for oneself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("self_vote", "a_counters", "a_own_choice", "outcome"),
    [
        (True, ("A", 3, 1, 0, True), "agree", "acclaimed"),
        (False, ("A", 2, 1, 1, False), "blank", "runoff"),  # A's own "agree" is recorded as blank
    ],
)
def test_self_vote_forbidden_records_the_unit_s_own_choice_as_blank(conference, self_vote, a_counters,
                                                                      a_own_choice, outcome):
    w = conference(rules={"self_vote": self_vote, "secret": False})
    vote = open_vote(w)

    cast(w, vote, {"A": "a", "B": "a", "C": "a", "G": "d"})
    vote = close(w, vote)

    assert (counters(vote), vote.outcome) == ([a_counters], outcome)
    assert OpenChoice.objects.get(voter=w.units["A"]).choice == a_own_choice


# --- several candidates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("totals", "added", "ballots", "outcome", "leader", "explanation"),
    [
        pytest.param(FOUR, "B", {"A": "aa", "B": "aa", "C": "da", "G": "aa"}, "acclaimed", "B",
                     ["Đơn vị A: 3/4 đồng ý = 75% > 50% → đạt", "Đơn vị B: 4/4 đồng ý = 100% > 50% → đạt",
                      "Đơn vị B được suy tôn là đơn vị dẫn đầu Cụm."],
                     id="both pass: most agree votes, even against the better rank"),
        pytest.param(FOUR, "B", {"A": "aa", "B": "aa", "C": "aa", "G": "aa"}, "acclaimed", "A",
                     ["Đơn vị A: 4/4 đồng ý = 100% > 50% → đạt", "Đơn vị B: 4/4 đồng ý = 100% > 50% → đạt",
                      "Đơn vị A được suy tôn là đơn vị dẫn đầu Cụm."],
                     id="both pass with equal agree: the higher frozen total"),
        pytest.param(FOUR, "B", {"A": "aa", "B": "da", "C": "dd", "G": "aa"}, "acclaimed", "B",
                     ["Đơn vị A: 2/4 đồng ý = 50% ≤ 50% → không đạt", "Đơn vị B: 3/4 đồng ý = 75% > 50% → đạt",
                      "Đơn vị B được suy tôn là đơn vị dẫn đầu Cụm."],
                     id="only the added candidate passes"),
        pytest.param(TIED, None, {"A": "aa", "B": "aa", "C": "aa", "G": "aa"}, "superior", None,
                     ["Đơn vị A: 4/4 đồng ý = 100% > 50% → đạt", "Đơn vị B: 4/4 đồng ý = 100% > 50% → đạt",
                      SUPERIOR],
                     id="equal on agree and frozen total: the superior decides"),
        pytest.param(TIED, None, {"A": "ad", "B": "ad", "C": "dd", "G": "bb"}, "runoff", None,
                     ["Đơn vị A: 2/4 đồng ý = 50% ≤ 50% → không đạt",
                      "Đơn vị B: 0/4 đồng ý = 0% ≤ 50% → không đạt", NONE_PASSED],
                     id="none passes: runoff"),
    ],
)
def test_several_candidates(conference, totals, added, ballots, outcome, leader, explanation):
    w = conference(totals)
    vote = open_vote(w, extra=extra(w, added) if added else [])
    cast(w, vote, ballots)

    vote = close(w, vote)

    assert (vote.outcome, vote.leader) == (outcome, w.units[leader] if leader else None)
    assert vote.explanation.splitlines() == explanation
    assert services.decided_leader(w.y6) == vote.leader


def test_tied_ranks_are_both_candidates_with_their_frozen_totals(conference):
    w = conference(TIED)

    vote = open_vote(w)

    assert list(vote.candidates.values_list("unit__name", "frozen_total", "frozen_rank", "added_reason")) == [
        ("Đơn vị A", D("90"), 1, ""), ("Đơn vị B", D("90"), 1, ""),
    ]


# --- opening a round -------------------------------------------------------------------------------


def test_candidates_added_by_the_conference_need_a_reason(conference):
    w = conference()

    error = refused(open_vote, w=w, extra=[(w.units["B"], "  "), (w.units["C"], "")])
    assert error.messages == ["Hãy ghi lý do giới thiệu thêm Đơn vị B.",
                              "Hãy ghi lý do giới thiệu thêm Đơn vị C."]
    assert Vote.objects.count() == 0

    vote = open_vote(w, extra=[(w.units["B"], f"  {REASON}  "), (w.units["A"], "đã là ứng viên")])
    assert list(vote.candidates.values_list("unit__name", "frozen_total", "frozen_rank", "added_reason")) == [
        ("Đơn vị A", D("90"), 1, ""), ("Đơn vị B", D("80"), 2, REASON),
    ]


def test_a_round_copies_the_cluster_s_rules(conference):
    w = conference(rules={"threshold": 80, "threshold_inclusive": True, "denominator": "present", "secret": False,
                          "self_vote": False, "tie_rule": "superior"})

    vote = open_vote(w, mode="paper")

    assert (vote.round, vote.status, vote.mode, vote.threshold, vote.threshold_inclusive, vote.denominator,
            vote.secret, vote.self_vote, vote.tie_rule, vote.opened_by, vote.opened_at) == (
        1, "open", "paper", 80, True, "present", False, False, "superior", w.users["officer_a"], NOW)


def test_default_rules_more_than_half_of_all_members_secret(conference):
    w = conference()

    vote = open_vote(w)

    assert (vote.threshold, vote.threshold_inclusive, vote.denominator, vote.secret, vote.self_vote,
            vote.tie_rule) == (50, False, "members", True, True, "higher_total")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("scoring not closed", "Bỏ phiếu suy tôn diễn ra tại hội nghị, sau khi đã khóa sổ chấm điểm."),
        ("a round is open", "Đang có một vòng bỏ phiếu mở."),
        ("a round was held", "Chỉ mở vòng mới sau một vòng đã kết thúc mà chưa có đơn vị đạt."),
        ("a non-member added", "Chỉ các đơn vị thành viên của cụm được bỏ phiếu."),
    ],
)
def test_prepare_vote_refuses(world, case, message):
    options = {}
    if case != "scoring not closed":
        arrange_conference(world)
    if case == "a round is open":
        open_vote(world)
    if case == "a round was held":
        acclaim(world)
    if case == "a non-member added":
        options["extra"] = [(world.units["D"], REASON)]
    before = Vote.objects.count()

    error = refused(open_vote, w=world, **options)

    assert (error.messages, Vote.objects.count()) == ([message], before)


# --- ballots ---------------------------------------------------------------------------------------


def test_a_unit_votes_once_per_round(conference):
    w = conference()
    vote = open_vote(w)
    cast(w, vote, {"B": "a"})

    error = refused(cast, w=w, vote=vote, ballots={"B": "d"})

    assert error.messages == ["Đơn vị B đã bỏ phiếu trong vòng này."]
    assert counters(vote) == [("A", 1, 0, 0, False)]
    assert letters(Unit.objects.filter(pk__in=Participation.objects.values("unit"))) == ["B"]


@pytest.mark.parametrize(
    ("voter", "choices", "message"),
    [
        pytest.param("D", ["agree", "agree"], "Chỉ các đơn vị thành viên của cụm được bỏ phiếu.", id="not a member"),
        pytest.param("B", ["agree"], CHOICE_MISSING, id="a candidate left out"),
        pytest.param("B", ["agree", "yes"], CHOICE_MISSING, id="not a choice"),
    ],
)
def test_a_ballot_is_refused(conference, voter, choices, message):
    w = conference()
    vote = open_vote(w, extra=extra(w, "B"))
    candidates = list(vote.candidates.all())

    error = refused(services.cast_ballot, vote=vote, unit=w.units[voter],
                    choices={c.pk: choice for c, choice in zip(candidates, choices)})

    assert error.messages == [message]
    assert (Participation.objects.count(), counters(vote)) == (0, [("A", 0, 0, 0, False), ("B", 0, 0, 0, False)])


# --- runoff ----------------------------------------------------------------------------------------


def test_none_passes_then_a_runoff_with_a_reason_among_the_same_candidates(conference):
    w = conference()
    vote = open_vote(w, present=[w.units[k] for k in "ABCG"], extra=extra(w, "B"))
    cast(w, vote, {"A": "ad", "B": "da", "C": "dd", "G": "bb"})
    vote = close(w, vote)
    assert (vote.outcome, vote.leader) == ("runoff", None)

    for reason in ("", "   "):
        error = refused(services.open_runoff, vote=vote, reason=reason, by=w.users["officer_a"], now=NOW)
        assert error.message_dict == {"reason": ["Hãy ghi lý do bỏ phiếu vòng mới."]}
    second = services.open_runoff(vote=vote, reason=" Không đơn vị nào quá bán ", by=w.users["officer_a"], now=NOW)

    assert (second.round, second.status, second.reason, second.mode, second.threshold) == (
        2, "open", "Không đơn vị nào quá bán", "electronic", 50)
    assert list(second.candidates.values_list("unit__name", "added_reason", "frozen_total", "frozen_rank")) == [
        ("Đơn vị A", "", D("90"), 1), ("Đơn vị B", REASON, D("80"), 2),
    ]
    assert counters(second) == [("A", 0, 0, 0, False), ("B", 0, 0, 0, False)]
    assert letters(second.present.order_by("name")) == ["A", "B", "C", "G"]

    cast(w, second, {"A": "ad", "B": "ad", "C": "ad", "G": "da"})  # B votes again: a new round, a new roll
    second = close(w, second)
    assert (second.outcome, services.decided_leader(w.y6)) == ("acclaimed", w.units["A"])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("round still open", "Chỉ mở vòng mới sau một vòng đã kết thúc mà chưa có đơn vị đạt."),
        ("leader acclaimed", "Chỉ mở vòng mới sau một vòng đã kết thúc mà chưa có đơn vị đạt."),
        ("tie left to the superior", "Chỉ mở vòng mới sau một vòng đã kết thúc mà chưa có đơn vị đạt."),
        ("runoff already open", "Đang có một vòng bỏ phiếu mở."),
        ("runoff already held", "Chỉ mở vòng mới sau một vòng đã kết thúc mà chưa có đơn vị đạt."),
    ],
)
def test_a_runoff_follows_only_the_last_round_without_a_leader(conference, case, message):
    w = conference(TIED if case == "tie left to the superior" else FOUR)
    vote = open_vote(w)
    if case in ("leader acclaimed", "tie left to the superior"):
        cast(w, vote, {k: "a" * vote.candidates.count() for k in "ABCG"})
        close(w, vote)
    if case in ("runoff already open", "runoff already held"):
        close(w, vote)
        second = services.open_runoff(vote=vote, reason="Vòng 2", by=w.users["officer_a"], now=NOW)
        if case == "runoff already held":
            close(w, second)
    before = Vote.objects.count()

    error = refused(services.open_runoff, vote=vote, reason="Vòng mới", by=w.users["officer_a"], now=NOW)

    assert (error.messages, Vote.objects.count()) == ([message], before)


# --- the superior's decision -----------------------------------------------------------------------


@pytest.fixture
def tied_vote(conference):
    w = conference(TIED)
    vote = open_vote(w)
    cast(w, vote, {k: "aa" for k in "ABCG"})
    w.vote = close(w, vote)
    assert w.vote.outcome == "superior"
    return w


@pytest.mark.parametrize(
    ("unit", "number", "date", "message"),
    [
        ("B", "", DECISION_DATE, SUPERIOR_DECISION_NEEDED),
        ("B", "   ", DECISION_DATE, SUPERIOR_DECISION_NEEDED),
        ("B", "15/QĐ-BTL", None, SUPERIOR_DECISION_NEEDED),
        ("C", "15/QĐ-BTL", DECISION_DATE, "Đơn vị C không phải đơn vị được giới thiệu trong lần bỏ phiếu này."),
    ],
)
def test_superior_decision_refused(tied_vote, unit, number, date, message):
    w = tied_vote

    error = refused(services.record_superior_decision, vote=w.vote, unit=w.units[unit], number=number, date=date)

    w.vote.refresh_from_db()
    assert error.messages == [message]
    assert (w.vote.leader, w.vote.decision_number, w.vote.decision_date, services.decided_leader(w.y6)) == (
        None, "", None, None)


def test_superior_decision_sets_the_leader(tied_vote):
    w = tied_vote

    vote = services.record_superior_decision(vote=w.vote, unit=w.units["B"], number=" 15/QĐ-BTL ",
                                             date=DECISION_DATE)

    vote.refresh_from_db()
    assert (vote.outcome, vote.leader, vote.decision_number, vote.decision_date) == (
        "superior", w.units["B"], "15/QĐ-BTL", DECISION_DATE)
    assert vote.explanation.splitlines() == [
        "Đơn vị A: 4/4 đồng ý = 100% > 50% → đạt", "Đơn vị B: 4/4 đồng ý = 100% > 50% → đạt", SUPERIOR,
        "Cấp trên quyết định: Đơn vị B (quyết định số 15/QĐ-BTL).",
    ]
    assert services.decided_leader(w.y6) == w.units["B"]
    error = refused(services.record_superior_decision, vote=vote, unit=w.units["A"], number="16/QĐ-BTL",
                    date=DECISION_DATE)
    assert error.messages == ["Chỉ ghi quyết định của cấp trên khi kết quả bỏ phiếu ngang nhau."]
    assert Vote.objects.get(pk=vote.pk).leader == w.units["B"]


@pytest.mark.parametrize("case", ["acclaimed", "runoff", "open"])
def test_superior_decision_only_for_a_tie_left_to_the_superior(conference, case):
    w = conference()
    vote = open_vote(w)
    if case == "acclaimed":
        cast(w, vote, {k: "a" for k in "ABCG"})
    if case != "open":
        vote = close(w, vote)

    error = refused(services.record_superior_decision, vote=vote, unit=w.units["A"], number="15/QĐ-BTL",
                    date=DECISION_DATE)

    assert error.messages == ["Chỉ ghi quyết định của cấp trên khi kết quả bỏ phiếu ngang nhau."]


def test_superior_decision_refused_once_the_year_is_closed(tied_vote):
    w = tied_vote
    finish(w, chair="B", override_reason="Chờ quyết định của cấp trên")  # no leader yet: the officer names the chair

    error = refused(services.record_superior_decision, vote=w.vote, unit=w.units["B"], number="15/QĐ-BTL",
                    date=DECISION_DATE)

    assert error.messages == ["Bỏ phiếu suy tôn diễn ra tại hội nghị, sau khi đã khóa sổ chấm điểm."]
    assert (Vote.objects.get(pk=w.vote.pk).leader, Conference.objects.get().leader) == (None, None)


# --- paper ballots ---------------------------------------------------------------------------------


@pytest.fixture
def paper_vote(conference):
    """A paper round with candidates A (rank 1) and B (added)."""
    w = conference()
    w.vote = open_vote(w, mode="paper", extra=extra(w, "B"))
    w.ids = {c.unit.name[-1]: c.pk for c in w.vote.candidates.select_related("unit")}
    return w


def tally(w, tallies: dict[str, tuple], issued: int, returned: int) -> Vote:
    return services.record_paper_tally(vote=w.vote, tallies={w.ids[k]: v for k, v in tallies.items()},
                                       issued=issued, returned=returned)


@pytest.mark.parametrize(
    ("tallies", "issued", "returned", "messages"),
    [
        pytest.param({"A": (3, 1, 0), "B": (1, 3, 0)}, 4, 5, ["Số phiếu thu về nhiều hơn số phiếu phát ra."],
                     id="returned above issued"),
        pytest.param({"A": (3, 1, 1), "B": (1, 3, 0)}, 4, 4,
                     ["Đơn vị A: đồng ý + không đồng ý + để trống (5) nhiều hơn số phiếu thu về (4)."],
                     id="a candidate's counts above returned"),
        pytest.param({"A": (3, 0, 0), "B": (2, 1, 1)}, 4, 3,
                     ["Đơn vị B: đồng ý + không đồng ý + để trống (4) nhiều hơn số phiếu thu về (3)."],
                     id="the other candidate's counts above returned"),
        pytest.param({"A": (3, 1, 0)}, 4, 4, [CHOICE_MISSING],
                     id="a candidate without counts"),
        pytest.param({"A": (4, 1, 0), "B": (4, 0, 0)}, 3, 4,
                     ["Số phiếu thu về nhiều hơn số phiếu phát ra.",
                      "Đơn vị A: đồng ý + không đồng ý + để trống (5) nhiều hơn số phiếu thu về (4)."],
                     id="every error at once"),
    ],
)
def test_paper_tally_refused(paper_vote, tallies, issued, returned, messages):
    w = paper_vote

    error = refused(tally, w=w, tallies=tallies, issued=issued, returned=returned)

    w.vote.refresh_from_db()
    assert error.messages == messages
    assert (w.vote.ballots_issued, w.vote.ballots_returned) == (None, None)
    assert counters(w.vote) == [("A", 0, 0, 0, False), ("B", 0, 0, 0, False)]


@pytest.mark.parametrize(
    ("tallies", "issued", "returned", "outcome", "leader", "explanation"),
    [
        pytest.param({"A": (3, 1, 0), "B": (1, 3, 0)}, 4, 4, "acclaimed", "A",
                     ["Đơn vị A: 3/4 đồng ý = 75% > 50% → đạt", "Đơn vị B: 1/4 đồng ý = 25% ≤ 50% → không đạt",
                      "Đơn vị A được suy tôn là đơn vị dẫn đầu Cụm."], id="one passes"),
        pytest.param({"A": (2, 1, 0), "B": (2, 0, 1)}, 4, 3, "runoff", None,
                     ["Đơn vị A: 2/4 đồng ý = 50% ≤ 50% → không đạt",
                      "Đơn vị B: 2/4 đồng ý = 50% ≤ 50% → không đạt", NONE_PASSED],
                     id="counted against all members, not the ballots returned"),
        pytest.param({"A": (3, 0, 1), "B": (4, 0, 0)}, 5, 4, "acclaimed", "B",
                     ["Đơn vị A: 3/4 đồng ý = 75% > 50% → đạt", "Đơn vị B: 4/4 đồng ý = 100% > 50% → đạt",
                      "Đơn vị B được suy tôn là đơn vị dẫn đầu Cụm."], id="most agree votes"),
        pytest.param({"A": (4, 0, 0), "B": (4, 0, 0)}, 4, 4, "acclaimed", "A",
                     ["Đơn vị A: 4/4 đồng ý = 100% > 50% → đạt", "Đơn vị B: 4/4 đồng ý = 100% > 50% → đạt",
                      "Đơn vị A được suy tôn là đơn vị dẫn đầu Cụm."], id="equal agree: higher frozen total"),
    ],
)
def test_paper_tally_decided_by_the_same_rules(paper_vote, tallies, issued, returned, outcome, leader, explanation):
    w = paper_vote
    tally(w, {"A": (0, 0, 4), "B": (0, 4, 0)}, 4, 4)  # a first count, corrected while the round is open

    tally(w, tallies, issued, returned)
    vote = close(w, w.vote)

    assert (vote.ballots_issued, vote.ballots_returned, vote.outcome) == (issued, returned, outcome)
    assert vote.leader == (w.units[leader] if leader else None)
    assert [c[:4] for c in counters(vote)] == [("A", *tallies["A"]), ("B", *tallies["B"])]
    assert vote.explanation.splitlines() == explanation
    assert Participation.objects.count() == 0


@pytest.mark.parametrize(
    ("mode", "act", "message"),
    [
        ("paper", "ballot", "Chỉ bỏ phiếu trên hệ thống khi hội nghị chọn hình thức này."),
        ("electronic", "tally", "Chỉ nhập kết quả kiểm phiếu khi bỏ phiếu giấy."),
    ],
)
def test_ballots_only_in_an_electronic_round_tallies_only_in_a_paper_round(conference, mode, act, message):
    w = conference()
    vote = open_vote(w, mode=mode)
    candidate = vote.candidates.get()

    if act == "ballot":
        error = refused(services.cast_ballot, vote=vote, unit=w.units["B"], choices={candidate.pk: "agree"})
    else:
        error = refused(services.record_paper_tally, vote=vote, tallies={candidate.pk: (3, 1, 0)}, issued=4,
                        returned=4)

    vote.refresh_from_db()
    assert error.messages == [message]
    assert (counters(vote), Participation.objects.count(), vote.ballots_issued) == ([("A", 0, 0, 0, False)], 0, None)


# --- a closed round --------------------------------------------------------------------------------


@pytest.mark.parametrize("act", ["ballot", "tally", "close"])
def test_a_closed_round_refuses_ballots_tallies_and_a_second_close(conference, act):
    w = conference()
    vote = open_vote(w, mode="paper" if act == "tally" else "electronic")
    candidate = vote.candidates.get()
    if act == "tally":
        services.record_paper_tally(vote=vote, tallies={candidate.pk: (3, 1, 0)}, issued=4, returned=4)
    else:
        cast(w, vote, {"A": "a", "B": "a", "C": "a"})
    vote = close(w, vote)
    stored = (counters(vote), vote.explanation, vote.closed_at, vote.closed_by, Participation.objects.count())
    later = datetime.timedelta(hours=1)

    if act == "ballot":
        error = refused(cast, w=w, vote=vote, ballots={"G": "a"})
    elif act == "tally":
        error = refused(services.record_paper_tally, vote=vote, tallies={candidate.pk: (1, 3, 0)}, issued=4,
                        returned=4)
    else:
        error = refused(services.close_vote, vote=vote, by=w.users["command"], now=NOW + later)

    vote.refresh_from_db()
    assert error.messages == [NOT_OPEN]
    assert (counters(vote), vote.explanation, vote.closed_at, vote.closed_by,
            Participation.objects.count()) == stored
    assert (vote.status, vote.outcome, vote.leader) == ("closed", "acclaimed", w.units["A"])


# --- secrecy ---------------------------------------------------------------------------------------


def every_row() -> dict[str, list[dict]]:
    """Every row of every awards table (the attendance many-to-many included), column → value."""
    return {
        model._meta.db_table: list(model.objects.order_by("pk").values())
        for model in apps.get_app_config("awards").get_models(include_auto_created=True)
    }


def changes(before: dict, after: dict) -> list[tuple]:
    """What a write did to the awards tables: rows added (without their id) and columns changed."""
    found = []
    for table in sorted(after):
        old = {row["id"]: row for row in before[table]}
        new = {row["id"]: row for row in after[table]}
        found += [(table, "added", {k: v for k, v in new[pk].items() if k != "id"})
                  for pk in sorted(new.keys() - old.keys())]
        found += [(table, "removed", pk) for pk in sorted(old.keys() - new.keys())]
        found += [(table, pk, column, old[pk][column], new[pk][column])
                  for pk in sorted(old.keys() & new.keys()) for column in sorted(new[pk])
                  if old[pk][column] != new[pk][column]]
    return found


def unit_columns() -> dict[str, list[str]]:
    """Per awards table, the columns that point to a unit."""
    return {
        model._meta.db_table: [f.attname for f in model._meta.concrete_fields if f.related_model is Unit]
        for model in apps.get_app_config("awards").get_models(include_auto_created=True)
    }


BALLOTS = {"A": "ad", "B": "ab", "C": "da", "G": "aa"}  # per voter: candidate A, candidate B


def test_a_secret_ballot_only_adds_the_voter_to_the_roll_and_increments_counters(conference):
    w = conference()
    vote = open_vote(w, present=[w.units[k] for k in "ABCG"], extra=extra(w, "B"))
    a, b = vote.candidates.order_by("frozen_rank")
    expected = {
        "A": [("agree", a, 0), ("disagree", b, 0)],
        "B": [("agree", a, 1), ("blank", b, 0)],
        "C": [("disagree", a, 0), ("agree", b, 0)],
        "G": [("agree", a, 2), ("agree", b, 1)],
    }

    for voter, marks in BALLOTS.items():
        before = every_row()
        cast(w, vote, {voter: marks})
        after = every_row()

        assert changes(before, after) == [
            *sorted(("awards_candidate", c.pk, column, n, n + 1) for column, c, n in expected[voter]),
            ("awards_participation", "added", {"vote_id": vote.pk, "unit_id": w.units[voter].pk}),
        ]


def test_after_a_secret_vote_no_row_holds_a_unit_s_choice(conference):
    w = conference()
    vote = open_vote(w, present=[w.units[k] for k in "ABCG"], extra=extra(w, "B"))
    cast(w, vote, BALLOTS)
    close(w, vote)

    tables = every_row()

    assert tables["awards_openchoice"] == []
    assert [(t, column, value) for t, rows in tables.items() for row in rows for column, value in row.items()
            if value in OpenChoice.Choice.values] == []
    # C and G are voters and not candidates: only the roll and the attendance name them, with no other column.
    columns = unit_columns()
    for voter in "CG":
        pk = w.units[voter].pk
        naming = sorted((t, sorted(row)) for t, rows in tables.items() for row in rows
                        if any(row[c] == pk for c in columns[t]))
        assert naming == [("awards_participation", ["id", "unit_id", "vote_id"]),
                          ("awards_vote_present", ["id", "unit_id", "vote_id"])]
    assert counters(vote) == [("A", 3, 1, 0, True), ("B", 2, 1, 1, False)]
    assert sorted(letters(Unit.objects.filter(pk__in=Participation.objects.filter(vote=vote).values("unit")))) == [
        "A", "B", "C", "G"]
    assert Participation.objects.filter(vote=vote).count() == len(BALLOTS)


def test_an_open_vote_records_each_voter_s_choice(conference):
    w = conference(rules={"secret": False})
    vote = open_vote(w, extra=extra(w, "B"))

    cast(w, vote, BALLOTS)

    assert list(OpenChoice.objects.filter(vote=vote).order_by("voter__name", "candidate__unit__name")
                .values_list("voter__name", "candidate__unit__name", "choice")) == [
        ("Đơn vị A", "Đơn vị A", "agree"), ("Đơn vị A", "Đơn vị B", "disagree"),
        ("Đơn vị B", "Đơn vị A", "agree"), ("Đơn vị B", "Đơn vị B", "blank"),
        ("Đơn vị C", "Đơn vị A", "disagree"), ("Đơn vị C", "Đơn vị B", "agree"),
        ("Đơn vị G", "Đơn vị A", "agree"), ("Đơn vị G", "Đơn vị B", "agree"),
    ]
    assert counters(vote) == [("A", 3, 1, 0, False), ("B", 2, 1, 1, False)]
    assert Participation.objects.filter(vote=vote).count() == 4


# --- the rotation policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chair_policy", "vice_policy", "chair_now", "leader", "expected"),
    [
        pytest.param("leader", "runner_up", "A", "A", ("A", "B"), id="leader: acclaimed chair, runner-up vice"),
        pytest.param("leader", "runner_up", "A", "B", ("B", "A"), id="leader not first: vice is the best other"),
        pytest.param("leader", "fixed_order", "A", "C", ("C", "G"), id="leader, vice next after the chair"),
        pytest.param("leader", "elected", "A", "A", ("A", None), id="leader, vice elected"),
        pytest.param("leader", "runner_up", "A", None, (None, None), id="leader not decided"),
        pytest.param("fixed_order", "runner_up", "A", None, ("B", "A"), id="fixed order: the next by name"),
        pytest.param("fixed_order", "fixed_order", "C", None, ("G", "A"), id="fixed order, vice wraps around"),
        pytest.param("fixed_order", "fixed_order", "G", None, ("A", "B"), id="fixed order, chair wraps around"),
        pytest.param("elected", "runner_up", "A", "A", (None, None), id="elected: named at the conference"),
        pytest.param("assigned", "runner_up", "A", "A", (None, None), id="assigned: named by the decision"),
    ],
)
def test_policy_choice(conference, chair_policy, vice_policy, chair_now, leader, expected):
    w = conference(chair_policy=chair_policy, vice_chair_policy=vice_policy)
    if chair_now != "A":
        cluster_services.set_chair(cluster_year=w.y6, chair=w.units[chair_now], vice_chair=None,
                                   chair_basis="rotation", by=None)

    chair, vice = services.policy_choice(w.y6, w.units[leader] if leader else None)

    assert (chair and chair.name[-1], vice and vice.name[-1]) == expected


def test_finishing_opens_next_year_hands_over_and_closes_this_year(conference):
    w = conference()
    acclaim(w)

    following = finish(w)

    w.y6.refresh_from_db()
    assert (following.cluster, following.year, following.phase, following.chair_basis, following.handover_date,
            following.decision_number, following.decision_date) == (w.c6, 2025, "planning", "rotation", HELD_ON, "",
                                                                     None)
    assert roles(following) == [("A", "chair"), ("B", "vice_chair"), ("C", "member"), ("G", "member")]
    criteria = scoring_services.criteria_set_for(following)
    assert (criteria.year, criteria.cloned_from, criteria.name) == (2025, w.criteria_set, w.criteria_set.name)
    assert list(criteria.criteria.values_list("code", "kind", "max_points")) == list(
        w.criteria_set.criteria.values_list("code", "kind", "max_points"))
    record = Conference.objects.get(cluster_year=w.y6)
    assert (record.held_on, record.place, record.presiding, record.leader, record.next_chair, record.next_vice_chair,
            record.chair_basis, record.override_reason, record.finished_by, record.finished_at) == (
        HELD_ON, "Hà Nội", "Thiếu tướng Nguyễn Quốc Toản", w.units["A"], w.units["A"], w.units["B"], "rotation", "",
        w.users["officer_a"], NOW)
    assert w.y6.phase == "closed"
    assert list(PhaseChange.objects.filter(cluster_year=w.y6, to_phase="closed").values_list(
        "from_phase", "changed_by", "changed_at", "reason")) == [("conference", w.users["officer_a"].pk, NOW,
                                                                  "Hoàn tất hội nghị")]

    error = refused(finish, w=w)
    assert error.messages == ["Hội nghị của năm này đã hoàn tất."]
    assert (ClusterYear.objects.filter(cluster=w.c6).count(), Conference.objects.count()) == (2, 1)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("a round is open", "Đang có một vòng bỏ phiếu mở."),
        ("no vote", "Chưa xác định đơn vị dẫn đầu (hãy kết thúc bỏ phiếu, hoặc ghi quyết định của cấp trên)."),
        ("runoff", "Chưa xác định đơn vị dẫn đầu (hãy kết thúc bỏ phiếu, hoặc ghi quyết định của cấp trên)."),
        ("tie not decided", "Chưa xác định đơn vị dẫn đầu (hãy kết thúc bỏ phiếu, hoặc ghi quyết định của cấp trên)."),
    ],
)
def test_finish_refused_while_the_vote_is_not_done(conference, case, message):
    w = conference(TIED if case == "tie not decided" else FOUR)
    if case != "no vote":
        vote = open_vote(w)
        if case == "tie not decided":
            cast(w, vote, {k: "aa" for k in "ABCG"})
        if case != "a round is open":
            close(w, vote)

    error = refused(finish, w=w)

    w.y6.refresh_from_db()
    assert error.messages == [message]
    assert (w.y6.phase, Conference.objects.count(), ClusterYear.objects.filter(cluster=w.c6, year=2025).exists()) == (
        "conference", 0, False)


def test_finish_refused_before_the_conference(world):
    error = refused(finish, w=world)

    assert error.messages == ["Bỏ phiếu suy tôn diễn ra tại hội nghị, sau khi đã khóa sổ chấm điểm."]


@pytest.mark.parametrize(
    ("chair_policy", "arguments", "errors"),
    [
        pytest.param("elected", {}, {"chair": [
            "Theo quy chế của cụm, cần chỉ định Cụm trưởng mới (Bầu tại hội nghị)."]},
            id="elected: the chair must be given"),
        pytest.param("assigned", {}, {"chair": [
            "Theo quy chế của cụm, cần chỉ định Cụm trưởng mới (Do cấp trên quyết định)."]},
            id="assigned: the chair must be given"),
        pytest.param("assigned", {"chair": "C"}, {"decision_number": [DECISION_NEEDED]},
                     id="assigned: no decision"),
        pytest.param("assigned", {"chair": "C", "decision_number": "15/QĐ-BTL"}, {"decision_number": [DECISION_NEEDED]},
                     id="assigned: no decision date"),
        pytest.param("assigned", {"chair": "C", "decision_date": DECISION_DATE}, {"decision_number": [DECISION_NEEDED]},
                     id="assigned: no decision number"),
        pytest.param("leader", {"chair": "C"}, {"override_reason": [OVERRIDE]}, id="override of the chair, no reason"),
        pytest.param("leader", {"chair": "C", "override_reason": "  "}, {"override_reason": [OVERRIDE]},
                     id="override of the chair, blank reason"),
        pytest.param("leader", {"vice_chair": "G"}, {"override_reason": [OVERRIDE]},
                     id="override of the vice chair, no reason"),
        pytest.param("leader", {"chair": "C", "decision_number": "15/QĐ-BTL"}, {"decision_number": [DECISION_NEEDED]},
                     id="override by a decision without its date"),
    ],
)
def test_finish_refuses_a_chair_without_its_basis(conference, chair_policy, arguments, errors):
    w = conference(chair_policy=chair_policy)
    acclaim(w)

    error = refused(finish, w=w, **arguments)

    w.y6.refresh_from_db()
    assert error.message_dict == errors
    assert (w.y6.phase, Conference.objects.count(), ClusterYear.objects.filter(year=2025).exists()) == (
        "conference", 0, False)


@pytest.mark.parametrize(
    ("chair_policy", "arguments", "chair", "vice", "basis", "number", "date", "reason"),
    [
        pytest.param("leader", {}, "A", "B", "rotation", "", None, "", id="leader: the acclaimed unit, runner-up vice"),
        pytest.param("fixed_order", {}, "B", "A", "rotation", "", None, "", id="fixed order: after this year's chair"),
        pytest.param("elected", {"chair": "C", "vice_chair": "G"}, "C", "G", "election", "", None, "",
                     id="elected: basis election"),
        pytest.param("assigned", {"chair": "C", "vice_chair": "B", "decision_number": " 15/QĐ-BTL ",
                                  "decision_date": DECISION_DATE}, "C", "B", "decision", "15/QĐ-BTL", DECISION_DATE, "",
                     id="assigned: basis decision"),
        pytest.param("leader", {"chair": "C", "vice_chair": "G", "override_reason": " Đơn vị A xin không nhận "},
                     "C", "G", "election", "", None, "Đơn vị A xin không nhận", id="override with a reason"),
        pytest.param("leader", {"chair": "C", "decision_number": "15/QĐ-BTL", "decision_date": DECISION_DATE},
                     "C", None, "decision", "15/QĐ-BTL", DECISION_DATE, "", id="override by a decision"),
        pytest.param("leader", {"chair": "A", "vice_chair": "B"}, "A", "B", "rotation", "", None, "",
                     id="the policy's own choice is no override"),
    ],
)
def test_finish_names_the_chair_by_the_policy_or_an_override(conference, chair_policy, arguments, chair, vice, basis,
                                                             number, date, reason):
    w = conference(chair_policy=chair_policy)
    acclaim(w)

    following = finish(w, **arguments)

    record = Conference.objects.get(cluster_year=w.y6)
    assert [(k, r) for k, r in roles(following) if r != "member"] == sorted(
        [(chair, "chair")] + ([(vice, "vice_chair")] if vice else []))
    assert (following.chair_basis, following.decision_number, following.decision_date) == (basis, number, date)
    assert (record.next_chair.name[-1], record.next_vice_chair and record.next_vice_chair.name[-1],
            record.chair_basis, record.override_reason, record.leader) == (chair, vice, basis, reason, w.units["A"])


# --- the seed's case: Cụm Thi đua số 6, Bộ Tư lệnh Thủ đô Hà Nội, 2024 ------------------------------


def test_seed_case_the_school_is_acclaimed_and_chairs_2025(db):
    superior = SuperiorFactory(name="Bộ Tư lệnh Thủ đô Hà Nội")
    cluster = ClusterFactory(name="Cụm Thi đua số 6", superior=superior)
    units = {
        key: Unit.objects.create(name=name, kind=kind, superior=superior)
        for key, name, kind in [
            ("division", "Sư đoàn Bộ binh 301", Unit.Kind.MILITARY),
            ("school", "Trường Quân sự Bộ Tư lệnh", Unit.Kind.SCHOOL),
            ("company", "Công ty TNHHMTV Hà Thành", Unit.Kind.ENTERPRISE),
            ("regiment", "Trung đoàn Pháo binh 452", Unit.Kind.MILITARY),
        ]
    }
    officer = RoleFactory(user=UserFactory(username="can_bo_f301"), role=RoleAssignment.Role.CLUSTER_OFFICER,
                          unit=units["division"]).user
    year = cluster_services.create_cluster_year(cluster=cluster, year=2024, members=list(units.values()),
                                                chair=units["division"], by=None)

    w = SimpleNamespace(superior=superior, c6=cluster, y6=year, units=units, users={"officer_a": officer})
    arrange_conference(w, {"school": "96", "division": "93", "regiment": "91", "company": "88"})
    vote = open_vote(w, present=list(units.values()))
    school = vote.candidates.get()
    for unit in units.values():
        services.cast_ballot(vote=vote, unit=unit, choices={school.pk: "agree"})
    vote = close(w, vote)

    following = services.finish_conference(cluster_year=year, by=officer, now=NOW, held_on=datetime.date(2024, 11, 1),
                                           place="Hà Nội", presiding="Thiếu tướng Nguyễn Quốc Toản, Phó Tư lệnh")

    assert (school.unit, school.frozen_rank, vote.outcome, vote.leader) == (
        units["school"], 1, "acclaimed", units["school"])
    assert vote.explanation.splitlines() == [
        "Trường Quân sự Bộ Tư lệnh: 4/4 đồng ý = 100% > 50% → đạt",
        "Trường Quân sự Bộ Tư lệnh được suy tôn là đơn vị dẫn đầu Cụm.",
    ]
    assert (following.year, following.chair_basis, following.handover_date) == (
        2025, "rotation", datetime.date(2024, 11, 1))
    assert list(following.memberships.order_by("unit__name").values_list("unit__name", "role")) == [
        ("Công ty TNHHMTV Hà Thành", "member"),
        ("Sư đoàn Bộ binh 301", "vice_chair"),
        ("Trung đoàn Pháo binh 452", "member"),
        ("Trường Quân sự Bộ Tư lệnh", "chair"),
    ]
    year.refresh_from_db()
    assert (year.phase, Conference.objects.get(cluster_year=year).leader) == ("closed", units["school"])


# --- the cluster's tie rule, negative tallies, a chair without a leader ---------------------------


@pytest.mark.parametrize(
    ("tie_rule", "outcome", "leader", "last_line"),
    [
        ("higher_total", "acclaimed", "A", "Đơn vị A được suy tôn là đơn vị dẫn đầu Cụm."),
        ("superior", "superior", None, "Ngang nhau về số phiếu đồng ý: cấp trên quyết định theo quy chế của cụm."),
    ],
)
def test_equal_agree_votes_follow_the_clusters_tie_rule(conference, tie_rule, outcome, leader, last_line):
    w = conference(rules={"tie_rule": tie_rule})
    vote = open_vote(w, extra=extra(w, "B"))
    cast(w, vote, {k: "aa" for k in "ABCG"})
    vote = close(w, vote)
    assert (vote.outcome, vote.leader) == (outcome, w.units[leader] if leader else None)
    assert vote.explanation.splitlines()[-1] == last_line


def test_negative_paper_counts_are_refused(paper_vote):
    error = refused(tally, w=paper_vote, tallies={"A": (-1, 0, 0), "B": (0, 0, 0)}, issued=4, returned=4)
    assert error.messages == ["Số phiếu không được âm."]


def test_finishing_without_a_leader_needs_a_reason_for_the_chair(tied_vote):
    error = refused(finish, w=tied_vote, chair="B")
    assert error.message_dict == {
        "override_reason": ["Chưa có đơn vị được suy tôn dẫn đầu: hãy ghi lý do chọn Cụm trưởng, hoặc số quyết định."]
    }
    assert not Conference.objects.exists()
