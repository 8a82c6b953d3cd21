from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clusters.models import ClusterYear, Unit
from clusters.permissions import cluster_years_visible_to
from scoring import ranking

from . import documents, permissions, services
from .forms import (
    BallotForm,
    FinishConferenceForm,
    PaperTallyForm,
    PrepareVoteForm,
    RunoffForm,
    SuperiorDecisionForm,
)
from .models import Vote


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
            services.cast_ballot(vote=vote, unit=unit, choices=form.choices())
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
                                    returned=form.cleaned_data["returned"])
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
                                          number=form.cleaned_data["number"], date=form.cleaned_data["date"])
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
