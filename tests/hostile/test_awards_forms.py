"""
Hostile input to the conference and award forms, through the real views: the
ballot, the paper tally, the runoff, the superior's decision on a tie,
preparing the vote, finishing the conference, adding and withdrawing
proposals, recording (with a scan) and revoking a decision. See helpers.py
for the property.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from awards import awarding, services
from awards.models import AwardType, Candidate, Decision, Proposal, Vote
from tests.awards.test_award_views import finished
from tests.awards.test_views import arrange

from .helpers import (
    date_text,
    file_content,
    file_name,
    hostile,
    hostile_text,
    id_text,
    integer_text,
    multipart,
    post_data,
)

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2024, 11, 1, 8, 0))
CHOICES = ["agree", "disagree", "blank"]


def _ids(*querysets) -> st.SearchStrategy:
    """Ids that exist (of these rows, or of others') or not."""
    ids = [str(pk) for qs in querysets for pk in qs.values_list("pk", flat=True)]
    return st.sampled_from(ids) | id_text if ids else id_text


def _vote(world, *, mode="electronic", close=False, ballots=()):
    vote = services.prepare_vote(cluster_year=world.y6, by=world.users["officer_a"], now=NOW, mode=mode)
    for name in ballots:
        services.cast_ballot(vote=vote, unit=world.units[name], choices={c.pk: "agree" for c in vote.candidates.all()})
    if close:
        vote = services.close_vote(vote=vote, by=world.users["officer_a"], now=NOW)
    return vote


@pytest.fixture
def voting(world, private_media):
    """Round 1 open (candidate A), electronic; another cluster's vote exists too."""
    w = arrange(world, "open")
    w.other_candidates = Candidate.objects.exclude(vote=w.vote)
    return w


@hostile(examples=30)
@given(data=st.data())
def test_ballot_answers_and_writes_all_or_nothing(voting, example, data):
    w = voting
    fields = {f"candidate_{c.pk}": st.sampled_from(CHOICES) | hostile_text for c in w.vote.candidates.all()}
    fields["candidate_999999"] = st.sampled_from(CHOICES)
    posted = post_data(data.draw, fields, {f"candidate_{c.pk}": "agree" for c in w.vote.candidates.all()})
    with example.run("ballot", "staff_b"):
        response = example.client.post(reverse("awards:ballot", args=[w.vote.pk]), posted)
        if example.check(response) == "accepted":
            assert w.vote.participations.filter(unit=w.units["B"]).count() == 1


@pytest.fixture
def paper(world, private_media):
    w = arrange(world, "none")
    w.vote = _vote(w, mode="paper")
    return w


@hostile(examples=30)
@given(data=st.data())
def test_paper_tally_answers_and_writes_all_or_nothing(paper, example, data):
    w = paper
    counts = st.integers(-5, 5).map(str) | integer_text
    fields = {"issued": counts, "returned": counts}
    for c in w.vote.candidates.all():
        fields.update({f"{kind}_{c.pk}": counts for kind in CHOICES})
    valid = {"issued": "3", "returned": "3"}
    for c in w.vote.candidates.all():
        valid.update({f"agree_{c.pk}": "2", f"disagree_{c.pk}": "1", f"blank_{c.pk}": "0"})
    posted = post_data(data.draw, fields, valid)
    with example.run("paper tally", "officer_a"):
        response = example.client.post(reverse("awards:vote-paper", args=[w.vote.pk]), posted)
        if example.check(response) == "accepted":
            vote = Vote.objects.get(pk=w.vote.pk)
            assert 0 <= vote.ballots_returned <= vote.ballots_issued
            assert all(c.agree + c.disagree + c.blank <= vote.ballots_returned for c in vote.candidates.all())


@pytest.fixture
def runoff(world, private_media):
    """Round 1 closed without ballots: nobody passed, a runoff is due."""
    w = arrange(world, "none")
    w.vote = _vote(w, close=True)
    return w


@hostile(examples=15)
@given(data=st.data())
def test_runoff_answers_and_writes_all_or_nothing(runoff, example, data):
    w = runoff
    posted = post_data(data.draw, {"reason": hostile_text}, {"reason": "Vòng 2"})
    with example.run("runoff", "officer_a"):
        response = example.client.post(reverse("awards:vote-runoff", args=[w.vote.pk]), posted)
        if example.check(response) == "accepted":
            assert w.y6.votes.get(round=2).reason == str(posted["reason"] if not isinstance(posted["reason"], list)
                                                          else posted["reason"][-1]).strip()


@pytest.fixture
def tie(world, conference, private_media):
    """A and B tied on 90 and on their agree votes: the superior decides."""
    w = conference({"A": "90", "B": "90", "C": "70"})
    w.vote = _vote(w, close=True, ballots="ABC")
    assert w.vote.outcome == Vote.Outcome.SUPERIOR
    return w


@hostile(examples=25)
@given(data=st.data())
def test_superior_decision_answers_and_writes_all_or_nothing(tie, example, data):
    w = tie
    units = st.sampled_from([str(w.units[n].pk) for n in "ABCDF"]) | id_text
    posted = post_data(data.draw, {"unit": units, "number": hostile_text, "date": date_text},
                       {"unit": str(w.units["A"].pk), "number": "12/QĐ-BTL", "date": "2024-11-05"})
    with example.run("superior decision", "officer_a"):
        response = example.client.post(reverse("awards:vote-decision", args=[w.vote.pk]), posted)
        if example.check(response) == "accepted":
            assert Vote.objects.get(pk=w.vote.pk).leader_id in {w.units["A"].pk, w.units["B"].pk}


@pytest.fixture
def closed_year(world, private_media):
    return arrange(world, "none")


@hostile(examples=25)
@given(data=st.data())
def test_prepare_vote_answers_and_writes_all_or_nothing(closed_year, example, data):
    w = closed_year
    units = st.sampled_from([str(u.pk) for u in w.units.values()]) | id_text
    posted = post_data(data.draw, {
        "mode": st.sampled_from(["electronic", "paper"]) | hostile_text,
        "present": units, "extra": units, "extra_reason": hostile_text,
    }, {"mode": "electronic", "present": [str(w.units[n].pk) for n in "ABC"]})
    with example.run("prepare vote", "officer_a"):
        response = example.client.post(reverse("awards:vote-prepare", args=[w.y6.pk]), posted)
        if example.check(response) == "accepted":
            assert w.y6.votes.count() == 1


@pytest.fixture
def acclaimed(world, private_media):
    """A acclaimed the leader: the conference can finish."""
    w = arrange(world, "none")
    w.vote = _vote(w, close=True, ballots="ABC")
    return w


@hostile(examples=25)
@given(data=st.data())
def test_finish_conference_answers_and_writes_all_or_nothing(acclaimed, example, data):
    w = acclaimed
    units = st.sampled_from([str(u.pk) for u in w.units.values()]) | id_text
    posted = post_data(data.draw, {
        "held_on": date_text, "place": hostile_text, "presiding": hostile_text, "chair": units,
        "vice_chair": units, "override_reason": hostile_text, "decision_number": hostile_text,
        "decision_date": date_text,
    }, {"held_on": "2024-11-01", "place": "Hà Nội", "presiding": "Phó Tư lệnh"})
    with example.run("finish conference", "officer_a"):
        response = example.client.post(reverse("awards:conference-finish", args=[w.y6.pk]), posted)
        if example.check(response) == "accepted":
            assert w.y6.conference.place == str(posted["place"] if not isinstance(posted["place"], list)
                                                 else posted["place"][-1]).strip()


@pytest.fixture
def deciding(world, private_media):
    """The conference finished (A acclaimed); proposals made from the results; a decision grants the first."""
    return finished(world, decided=True)


@pytest.fixture
def proposing(world, private_media):
    """The conference finished (A acclaimed); proposals made from the results, the last one withdrawn."""
    w = finished(world, decided=False)
    w.withdrawn = awarding.withdraw_proposal(proposal=w.proposals[-1], reason="Rút để bổ sung", by=w.users["officer_a"],
                                             now=NOW)
    w.proposals = w.proposals[:-1]
    return w


@hostile(examples=30)
@given(data=st.data())
def test_proposal_add_answers_and_writes_all_or_nothing(proposing, example, data):
    w = proposing
    posted = post_data(data.draw, {
        "unit": st.sampled_from([str(u.pk) for u in w.units.values()]) | id_text,
        "award": _ids(AwardType.objects.all()), "reason": hostile_text,
    }, {"unit": str(w.withdrawn.unit_id), "award": str(w.withdrawn.award_type_id), "reason": "Thành tích xuất sắc"})
    with example.run("proposal add", "officer_a"):
        response = example.client.post(reverse("awards:proposal-add", args=[w.y6.pk]), posted)
        if example.check(response) == "accepted":
            assert Proposal.objects.filter(cluster_year=w.y6, withdrawn_at__isnull=True).count() == len(w.proposals) + 1


@hostile(examples=15)
@given(data=st.data())
def test_proposal_withdraw_answers_and_writes_all_or_nothing(proposing, example, data):
    w = proposing
    proposal = data.draw(st.sampled_from(w.proposals))
    posted = post_data(data.draw, {"reason": hostile_text}, {"reason": "Không đủ điều kiện"})
    with example.run("proposal withdraw", "officer_a"):
        response = example.client.post(reverse("awards:proposal-withdraw", args=[proposal.pk]), posted)
        if example.check(response) == "accepted":
            assert Proposal.objects.get(pk=proposal.pk).withdrawn_reason.strip()


@hostile(examples=30)
@given(data=st.data())
def test_decision_record_answers_and_writes_all_or_nothing(deciding, example, data):
    w = deciding
    posted = post_data(data.draw, {
        "number": hostile_text | st.just("1/QĐ-BTL"), "date": date_text, "authority": hostile_text,
        "signer": hostile_text, "proposals": _ids(Proposal.objects.all()),
    }, {"number": "2/QĐ-BTL", "date": "2024-12-21", "authority": "Bộ Tư lệnh", "signer": "Tư lệnh",
        "proposals": [str(p.pk) for p in awarding.undecided_proposals(w.superior, 2024)]})
    files = data.draw(st.lists(st.tuples(st.just("scan"), file_name, file_content), max_size=1))
    year = data.draw(st.sampled_from(["2024", "2024", "2023", "²", "99999", "-1", ""]), label="year")
    body, content_type = multipart(posted, files)
    url = reverse("awards:decisions") + f"?superior={w.superior.pk}&year={year}"
    with example.run("decision record", "command"):
        response = example.client.post(url, body, content_type=content_type)
        if example.check(response) == "accepted":
            decision = Decision.objects.exclude(pk=w.decision.pk).get()
            if decision.scan:
                path = (example.media_root / decision.scan.name).resolve()
                assert path.is_relative_to((example.media_root / "decisions").resolve())
                response = example.client.get(reverse("awards:decision-scan", args=[decision.pk]))
                assert response["Content-Disposition"].startswith("attachment;")
                assert response["X-Content-Type-Options"] == "nosniff"


@hostile(examples=15)
@given(data=st.data())
def test_decision_revoke_answers_and_writes_all_or_nothing(deciding, example, data):
    w = deciding
    posted = post_data(data.draw, {"reason": hostile_text}, {"reason": "Quyết định nhầm"})
    with example.run("decision revoke", "command"):
        response = example.client.post(reverse("awards:decision-revoke", args=[w.decision.pk]), posted)
        if example.check(response) == "accepted":
            assert Decision.objects.get(pk=w.decision.pk).revoked_at is not None
