"""The permission matrices cannot go stale: every route of the project has a row."""

from django.urls import URLPattern, URLResolver, get_resolver

from tests.awards.test_award_views import MATRIX as AWARD_PAGES_MATRIX
from tests.awards.test_views import MATRIX as AWARDS_MATRIX
from tests.clusters.test_views import MATRIX as CLUSTERS_MATRIX
from tests.scoring.test_results_views import MATRIX as RESULTS_MATRIX
from tests.scoring.test_views import MATRIX as SCORING_MATRIX

# Django's own views (auth, i18n, admin) are tested where they matter.
FRAMEWORK_ROUTES = {"login", "logout", "password_change", "password_change_done", "set_language"}


def project_route_names() -> set[str]:
    names = set()

    def walk(patterns, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.app_name == "admin":
                    continue
                walk(p.url_patterns, f"{namespace}{p.namespace}:" if p.namespace else namespace)
            elif isinstance(p, URLPattern) and p.name:
                names.add(f"{namespace}{p.name}")

    walk(get_resolver().url_patterns, "")
    return names - FRAMEWORK_ROUTES


def test_every_route_has_a_row_in_a_matrix():
    covered = set(CLUSTERS_MATRIX) | set(SCORING_MATRIX) | set(RESULTS_MATRIX) | set(AWARDS_MATRIX) | set(AWARD_PAGES_MATRIX)
    assert project_route_names() == covered
