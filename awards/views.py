from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clusters.models import ClusterYear, Unit
from clusters.permissions import cluster_years_visible_to, superiors_commanded_by, units_visible_to
from clusters.selectors import is_number, years_of_superior
from scoring import ranking

from . import awarding, documents, permissions, services
from .forms import (
    AddProposalForm,
    BallotForm,
    DecisionForm,
    RevokeForm,
    WithdrawForm,
    FinishConferenceForm,
    PaperTallyForm,
    PrepareVoteForm,
    RunoffForm,
    SuperiorDecisionForm,
)
from .models import AwardType, Decision, Proposal, Vote


def _cluster_year(request: HttpRequest, pk: int) -> ClusterYear:
    return get_object_or_404(cluster_years_visible_to(request.user).select_related("cluster__superior"), pk=pk)


def _managed_year(request: HttpRequest, pk: int) -> ClusterYear:
    cluster_year = _cluster_year(request, pk)
    if not permissions.runs_conference(request.user, cluster_year):
        raise PermissionDenied
    return cluster_year


def _managed_vote(request: HttpRequest, pk: int) -> Vote:
    vote = get_object_or_404(Vote.objects.select_related("cluster_year"), pk=pk)
    _managed_year(request, vote.cluster_year_id)
    return vote


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _members(cluster_year: ClusterYear):
    return Unit.objects.filter(memberships__cluster_year=cluster_year).order_by("name")


def _done(request: HttpRequest, cluster_year_id: int, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect("awards:conference", cluster_year_id)


def _refused(request: HttpRequest, cluster_year_id: int, error: ValidationError) -> HttpResponse:
    messages.error(request, " ".join(error.messages))
    return redirect("awards:conference", cluster_year_id)


@require_GET
@login_required
def conference(request: HttpRequest, pk: int) -> HttpResponse:
    """The conference of a cluster year: the vote round by round, then finishing and the handover."""
    cluster_year = _cluster_year(request, pk)
    runs = permissions.runs_conference(request.user, cluster_year)
    votes = list(cluster_year.votes.prefetch_related("candidates__unit", "present").order_by("round"))
    current = votes[-1] if votes else None
    voter = permissions.voting_unit(request.user, cluster_year)
    context = {
        "cluster_year": cluster_year,
        "runs": runs,
        "votes": votes,
        "current": current,
        "voter": voter,
        "voted": bool(voter and current and current.participations.filter(unit=voter).exists()),
        "record": getattr(cluster_year, "conference", None) if cluster_year.phase == "closed" else None,
    }
    if runs:
        members = _members(cluster_year)
        leader = services.decided_leader(cluster_year)
        context.update({
            "turnout": current.participations.select_related("unit").order_by("unit__name") if current else [],
            "members": members,
            "prepare_form": PrepareVoteForm(members=members),
            "paper_form": PaperTallyForm(candidates=current.candidates.all()) if current else None,
            "runoff_form": RunoffForm(),
            "decision_form": SuperiorDecisionForm(candidates=current.candidates.all()) if current else None,
            "finish_form": FinishConferenceForm(members=members),
            "policy": services.policy_choice(cluster_year, leader) if cluster_year.phase == "conference" else None,
            "ranking": ranking.ranking_for(cluster_year),
        })
    return render(request, "awards/conference.html", context)


@require_POST
@login_required
def vote_prepare(request: HttpRequest, pk: int) -> HttpResponse:
    cluster_year = _managed_year(request, pk)
    form = PrepareVoteForm(request.POST, members=_members(cluster_year))
    if not form.is_valid():
        return _refused(request, pk, ValidationError([e for errors in form.errors.values() for e in errors]))
    data = form.cleaned_data
    extra = [(data["extra"], data["extra_reason"])] if data.get("extra") else []
    try:
        services.prepare_vote(cluster_year=cluster_year, by=request.user, now=timezone.now(), mode=data["mode"],
                              present=list(data["present"]), extra=extra)
    except ValidationError as error:
        return _refused(request, pk, error)
    return _done(request, pk, _("The vote is open."))


@require_http_methods(["GET", "POST"])
@login_required
def ballot(request: HttpRequest, pk: int) -> HttpResponse:
    """A member unit's ballot: one per round, cast by the unit's staff."""
    vote = get_object_or_404(Vote.objects.select_related("cluster_year__cluster"), pk=pk)
    cluster_year = _cluster_year(request, vote.cluster_year_id)
    unit = permissions.voting_unit(request.user, cluster_year)
    if unit is None:
        raise PermissionDenied
    candidates = list(vote.candidates.select_related("unit"))
    form = BallotForm(request.POST if request.method == "POST" else None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            services.cast_ballot(vote=vote, unit=unit, choices=form.choices(), by=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _done(request, cluster_year.pk, _("The ballot of %(unit)s was cast.") % {"unit": unit.name})
    return render(request, "awards/ballot.html", {"vote": vote, "unit": unit, "form": form,
                                                  "cluster_year": cluster_year})


@require_POST
@login_required
def vote_close(request: HttpRequest, pk: int) -> HttpResponse:
    vote = _managed_vote(request, pk)
    try:
        vote = services.close_vote(vote=vote, by=request.user, now=timezone.now())
    except ValidationError as error:
        return _refused(request, vote.cluster_year_id, error)
    return _done(request, vote.cluster_year_id, vote.get_outcome_display())


@require_POST
@login_required
def vote_paper(request: HttpRequest, pk: int) -> HttpResponse:
    vote = _managed_vote(request, pk)
    form = PaperTallyForm(request.POST, candidates=vote.candidates.select_related("unit"))
    if not form.is_valid():
        return _refused(request, vote.cluster_year_id, ValidationError([e for es in form.errors.values() for e in es]))
    try:
        services.record_paper_tally(vote=vote, tallies=form.tallies(), issued=form.cleaned_data["issued"],
                                    returned=form.cleaned_data["returned"], by=request.user)
    except ValidationError as error:
        return _refused(request, vote.cluster_year_id, error)
    return _done(request, vote.cluster_year_id, _("The counted tallies were recorded."))


@require_POST
@login_required
def vote_runoff(request: HttpRequest, pk: int) -> HttpResponse:
    vote = _managed_vote(request, pk)
    form = RunoffForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(services.RUNOFF_REASON)
        services.open_runoff(vote=vote, reason=form.cleaned_data["reason"], by=request.user, now=timezone.now())
    except ValidationError as error:
        return _refused(request, vote.cluster_year_id, error)
    return _done(request, vote.cluster_year_id, _("A new round is open."))


@require_POST
@login_required
def vote_decision(request: HttpRequest, pk: int) -> HttpResponse:
    vote = _managed_vote(request, pk)
    form = SuperiorDecisionForm(request.POST, candidates=vote.candidates.all())
    try:
        if not form.is_valid():
            raise ValidationError(services.SUPERIOR_DECISION_NEEDED)
        services.record_superior_decision(vote=vote, unit=form.cleaned_data["unit"],
                                          number=form.cleaned_data["number"], date=form.cleaned_data["date"],
                                          by=request.user)
    except ValidationError as error:
        return _refused(request, vote.cluster_year_id, error)
    return _done(request, vote.cluster_year_id, _("The superior's decision was recorded."))


@require_POST
@login_required
def conference_finish(request: HttpRequest, pk: int) -> HttpResponse:
    cluster_year = _managed_year(request, pk)
    form = FinishConferenceForm(request.POST, members=_members(cluster_year))
    try:
        if not form.is_valid():
            raise ValidationError([e for errors in form.errors.values() for e in errors])
        next_year = services.finish_conference(cluster_year=cluster_year, by=request.user, now=timezone.now(),
                                               **form.cleaned_data)
    except ValidationError as error:
        return _refused(request, pk, error)
    messages.success(request, _("The conference is finished; %(year)s is open with its new chair.")
                     % {"year": next_year.year})
    return redirect(next_year)


@require_GET
@login_required
def minutes(request: HttpRequest, pk: int) -> HttpResponse:
    cluster_year = _cluster_year(request, pk)
    if cluster_year.phase not in (ClusterYear.Phase.CONFERENCE, ClusterYear.Phase.CLOSED):
        raise PermissionDenied
    response = HttpResponse(documents.minutes_pdf(cluster_year), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="bien-ban-hoi-nghi-{cluster_year.year}-{cluster_year.pk}.pdf"'
    return response


# --- proposals (the chair's officer), decisions (the command), history --------------------------


def _proposals_year(request: HttpRequest, pk: int) -> ClusterYear:
    """The cluster year's proposals are for those who run it (its chair's officers and the command)."""
    return _managed_year(request, pk)


@require_GET
@login_required
def proposals(request: HttpRequest, pk: int) -> HttpResponse:
    """Each member × award: proposed, eligible, or why not; the proposals with their justification."""
    cluster_year = _proposals_year(request, pk)
    can_propose = permissions.can_propose(request.user, cluster_year)
    table = awarding.eligibility_table(cluster_year)
    active = cluster_year.proposals.filter(withdrawn_at__isnull=True).select_related("unit", "award_type")
    context = {
        "cluster_year": cluster_year,
        "table": table,
        "proposals": active,
        "withdrawn": cluster_year.proposals.filter(withdrawn_at__isnull=False).select_related("unit", "award_type"),
        "can_propose": can_propose,
        "add_form": AddProposalForm(members=_members(cluster_year), awards=AwardType.objects.all()) if can_propose else None,
    }
    return render(request, "awards/proposals.html", context)


def _proposing_year(request: HttpRequest, pk: int) -> ClusterYear:
    cluster_year = _proposals_year(request, pk)
    if not permissions.can_propose(request.user, cluster_year):
        raise PermissionDenied
    return cluster_year


def _to_proposals(request, pk, message=None, error=None) -> HttpResponse:
    if error is not None:
        messages.error(request, " ".join(error.messages))
    elif message:
        messages.success(request, message)
    return redirect("awards:proposals", pk)


@require_POST
@login_required
def proposals_generate(request: HttpRequest, pk: int) -> HttpResponse:
    cluster_year = _proposing_year(request, pk)
    try:
        created = awarding.propose_defaults(cluster_year=cluster_year, by=request.user, now=timezone.now())
    except ValidationError as error:
        return _to_proposals(request, pk, error=error)
    return _to_proposals(request, pk, _("%(count)s proposals were made from the results and the vote.")
                         % {"count": len(created)})


@require_POST
@login_required
def proposal_add(request: HttpRequest, pk: int) -> HttpResponse:
    cluster_year = _proposing_year(request, pk)
    form = AddProposalForm(request.POST, members=_members(cluster_year), awards=AwardType.objects.all())
    try:
        if not form.is_valid():
            raise ValidationError([e for errors in form.errors.values() for e in errors])
        awarding.add_proposal(cluster_year=cluster_year, unit=form.cleaned_data["unit"],
                              award=form.cleaned_data["award"], reason=form.cleaned_data["reason"],
                              by=request.user, now=timezone.now())
    except ValidationError as error:
        return _to_proposals(request, pk, error=error)
    return _to_proposals(request, pk, _("The proposal was added."))


@require_POST
@login_required
def proposal_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(Proposal.objects.select_related("cluster_year"), pk=pk)
    _proposing_year(request, proposal.cluster_year_id)
    form = WithdrawForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(awarding.WITHDRAW_REASON)
        awarding.withdraw_proposal(proposal=proposal, reason=form.cleaned_data["reason"], by=request.user,
                                   now=timezone.now())
    except ValidationError as error:
        return _to_proposals(request, proposal.cluster_year_id, error=error)
    return _to_proposals(request, proposal.cluster_year_id, _("The proposal was withdrawn."))


@require_GET
@login_required
def proposal_letter(request: HttpRequest, pk: int) -> HttpResponse:
    cluster_year = _proposals_year(request, pk)
    response = HttpResponse(documents.proposal_letter_pdf(cluster_year), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="to-trinh-khen-thuong-{cluster_year.year}-{cluster_year.pk}.pdf"'
    return response


def _commanded(request: HttpRequest):
    superiors = superiors_commanded_by(request.user)
    if not superiors.exists():
        raise PermissionDenied
    superior_id = request.GET.get("superior", "")
    superior = get_object_or_404(superiors, pk=superior_id) if is_number(superior_id) else superiors.first()
    return superiors, superior


@require_http_methods(["GET", "POST"])
@login_required
def decisions(request: HttpRequest) -> HttpResponse:
    """The superior's awards of a year: proposals and grants by cluster and award; recording a decision."""
    superiors, superior = _commanded(request)
    years = years_of_superior(superior)
    year = int(request.GET["year"]) if is_number(request.GET.get("year", "")) else (years[0] if years else None)
    pending = awarding.undecided_proposals(superior, year)
    form = DecisionForm(request.POST or None, request.FILES or None, proposals=pending)
    if request.method == "POST":
        if not permissions.can_decide(request.user, superior.pk):
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                awarding.record_decision(
                    superior=superior, number=data["number"], date=data["date"], authority=data["authority"],
                    signer=data["signer"], year=year, grants=[(p.unit, p.award_type, p) for p in data["proposals"]],
                    by=request.user, now=timezone.now(), scan=data.get("scan"),
                )
            except ValidationError as error:
                _add_errors(form, error)
            else:
                messages.success(request, _("The decision was recorded."))
                return redirect(f"{request.path}?superior={superior.pk}&year={year}")
    last = year or timezone.localdate().year
    first = int(request.GET["from"]) if is_number(request.GET.get("from", "")) else last - 5
    first = max(min(first, last), last - 20)
    context = {
        "superior": superior, "superiors": superiors, "year": year, "years": years, "form": form,
        "first": first, "span": list(range(first, last + 1)), "period": awarding.period_awards(superior, first, last),
        "summary": awarding.year_summary(superior, year) if year else [],
        "decisions": Decision.objects.filter(superior=superior, year=year).prefetch_related(
            "grants__unit", "grants__award_type"),
    }
    return render(request, "awards/decisions.html", context)


@require_POST
@login_required
def decision_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    decision = get_object_or_404(Decision, pk=pk)
    if not permissions.can_decide(request.user, decision.superior_id):
        raise Http404
    form = RevokeForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(awarding.REVOKE_REASON)
        awarding.revoke_decision(decision=decision, reason=form.cleaned_data["reason"], by=request.user,
                                 now=timezone.now())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The decision was revoked; its record is kept."))
    return redirect(f"{reverse('awards:decisions')}?superior={decision.superior_id}&year={decision.year}")


@require_GET
@login_required
def decision_scan(request: HttpRequest, pk: int) -> FileResponse:
    decision = get_object_or_404(Decision, pk=pk)
    if not permissions.can_decide(request.user, decision.superior_id) or not decision.scan:
        raise Http404
    return FileResponse(decision.scan.open("rb"), as_attachment=True, filename=f"{decision.number}.pdf".replace("/", "-"))


@require_GET
@login_required
def unit_awards(request: HttpRequest, unit_pk: int) -> HttpResponse:
    """The unit's awards across years (revoked decisions shown as such) and its current proposals."""
    unit = get_object_or_404(units_visible_to(request.user), pk=unit_pk)
    context = {
        "unit": unit,
        "grants": awarding.award_history(unit),
        "proposals": unit.proposals.filter(withdrawn_at__isnull=True).select_related("award_type", "cluster_year__cluster")
        .exclude(grants__isnull=False).order_by("-cluster_year__year"),
    }
    return render(request, "awards/unit_awards.html", context)
