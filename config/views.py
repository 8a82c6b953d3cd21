"""Pages that combine the apps: each user's home."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clusters import permissions


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Where each role starts: its units, the clusters it sees, and the command overview."""
    user = request.user
    return render(
        request,
        "home.html",
        {
            "is_administrator": permissions.is_administrator(user),
            "superiors": permissions.superiors_commanded_by(user),
            "units": permissions.units_staffed_by(user).select_related("superior"),
            "clusters": permissions.clusters_visible_to(user).select_related("superior").order_by("name")[:50],
        },
    )
