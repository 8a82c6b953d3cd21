"""The project's URLs plus the benchmark's two references: ``/bench/bare/`` and ``/bench/signed-in/`` (bench only)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import engines
from django.urls import include, path

BARE = engines["django"].from_string(
    "<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{{ title }}</title></head>"
    "<body><h1>{{ title }}</h1><p>{{ text }}</p></body></html>"
)


def bare(request: HttpRequest) -> HttpResponse:
    """A small template and no query: the same middleware as every page, nothing else."""
    return HttpResponse(BARE.render({"title": "ThiĐua", "text": "Trang tham chiếu của phép đo."}, request))


SIGNED_IN = engines["django"].from_string(
    '{% extends "base.html" %}{% block content %}<h1>{{ title }}</h1><p>{{ text }}</p>{% endblock content %}'
)


@login_required
def signed_in(request: HttpRequest) -> HttpResponse:
    """
    The least a signed-in page of the application does: the session and the user (from the cache),
    the site's base template (navigation, language form, CSRF token), no query of its own.
    """
    return HttpResponse(SIGNED_IN.render({"title": "ThiĐua", "text": "Trang tham chiếu của phép đo."}, request))


urlpatterns = [
    path("bench/bare/", bare, name="bench-bare"),
    path("bench/signed-in/", signed_in, name="bench-signed-in"),
    path("", include("config.urls")),
]
