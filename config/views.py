"""Pages that combine the apps: each user's home; the lockout page of the login."""

from django.conf import settings
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


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """
    What a locked-out login gets instead of the login page (django-axes'
    ``AXES_LOCKOUT_CALLABLE``): how many failures lock, for how long, whom to ask.
    """
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "registration/locked_out.html", context, status=429)
