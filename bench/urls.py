"""The project's URLs plus ``/bench/bare/``: the ceiling of the benchmark (bench only)."""

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

BARE = engines["django"].from_string(
    "<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{{ title }}</title></head>"
    "<body><h1>{{ title }}</h1><p>{{ text }}</p></body></html>"
)


def bare(request: HttpRequest) -> HttpResponse:
    """A small template and no query: the same middleware as every page, nothing else."""
    return HttpResponse(BARE.render({"title": "ThiĐua", "text": "Trang tham chiếu của phép đo."}, request))


urlpatterns = [
    path("bench/bare/", bare, name="bench-bare"),
    path("", include("config.urls")),
]
