from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import permissions, selectors, services
from .forms import AdvancePhaseForm


@require_GET
@login_required
def cluster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_object_or_404(permissions.clusters_visible_to(request.user).select_related("superior"), pk=pk)
    history = list(selectors.chair_history(cluster))
    current = history[0] if history else None
    members = selectors.cluster_year_members(current) if current else []
    return render(
        request,
        "clusters/cluster_detail.html",
        {"cluster": cluster, "history": history, "current": current, "members": members},
    )


@require_GET
@login_required
def clusteryear_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cluster_year = get_object_or_404(
        permissions.cluster_years_visible_to(request.user).select_related("cluster__superior"), pk=pk
    )
    manages = permissions.manages_cluster_year(request.user, cluster_year)
    can_advance = permissions.can_advance_phase(request.user, cluster_year, manages=manages)
    form = AdvancePhaseForm(initial={"expected_phase": cluster_year.phase}) if can_advance else None
    return render(
        request,
        "clusters/clusteryear_detail.html",
        {
            "cluster_year": cluster_year,
            "members": selectors.cluster_year_members(cluster_year),
            "phase_changes": cluster_year.phase_changes.select_related("changed_by"),
            "form": form,
            "is_reviewer": manages,
        },
    )


@require_POST
@login_required
def clusteryear_advance(request: HttpRequest, pk: int) -> HttpResponse:
    cluster_year = get_object_or_404(
        permissions.cluster_years_visible_to(request.user).select_related("cluster"), pk=pk
    )
    if not permissions.can_advance_phase(request.user, cluster_year):
        raise PermissionDenied
    form = AdvancePhaseForm(request.POST)
    if form.is_valid():
        try:
            cluster_year = services.advance_phase(
                cluster_year=cluster_year,
                by=request.user,
                now=timezone.now(),
                reason=form.cleaned_data["reason"],
                expected_phase=form.cleaned_data["expected_phase"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("The year moved to the phase: %(phase)s.") % {"phase": cluster_year.get_phase_display()})
    else:
        messages.error(request, _("The request was incomplete; nothing was changed."))
    return redirect(cluster_year)


@require_GET
@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_object_or_404(permissions.units_visible_to(request.user).select_related("superior"), pk=pk)
    return render(
        request,
        "clusters/unit_detail.html",
        {"unit": unit, "memberships": selectors.unit_memberships(unit)},
    )
